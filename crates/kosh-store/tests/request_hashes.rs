//! Replay protection on both backends, through two store handles on one database (two
//! nodes): a request_hash authorises one request (and that request's retries), a
//! refused command leaves it unused, concurrent reuses across handles let exactly one
//! through, and expired uses are pruned in bounded batches.

mod common;

use common::{credit, debit_to_rail, partner, rejection, T0_MS};
use kosh_core::clock::ManualClock;
use kosh_core::ids::PartnerId;
use kosh_core::ledger::AccountKind;
use kosh_store::commands::{Command, IdemKey, Outcome, PruneRequestHashes, RequestHashUse};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::Store;
use kosh_testkit::{Backend, BACKENDS};
use std::sync::Arc;

/// The tolerance the uses below expire after.
const TOLERANCE_MS: i64 = 300_000;

fn key(partner_id: PartnerId, key: &str) -> IdemKey {
    IdemKey { partner_id, scope: kosh_store::scopes::EKO_CLIENT_REF.into(), key: key.into() }
}

fn once(hash: &str) -> Option<RequestHashUse> {
    Some(RequestHashUse { hash: hash.into(), expires_at_ms: T0_MS + TOLERANCE_MS + 1 })
}

/// Two handles ("nodes") on one fresh, migrated database, sharing a manual clock.
async fn two_nodes(backend: Backend) -> (Arc<Store>, Arc<Store>, Arc<ManualClock>) {
    let clock = ManualClock::new(T0_MS);
    let location = kosh_testkit::fresh_location(backend).await;
    let a = Store::open(location.clone(), clock.clone()).await.expect("open node a");
    a.migrate().await.expect("migrate");
    let b = Store::open(location, clock.clone()).await.expect("open node b");
    (Arc::new(a), Arc::new(b), clock)
}

async fn wallet(store: &Store, partner_id: PartnerId) -> i64 {
    store.balance(partner_id, &AccountKind::PartnerWallet).await.expect("balance").available_credit()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_hash_authorises_one_request_on_every_node() {
    for backend in BACKENDS {
        let (a, b, clock) = two_nodes(backend).await;
        let p = partner(&a, 1).await;
        credit(&a, p, 10_000).await;
        let first = a.execute_idempotent_with_hash(key(p, "ref-1"), once("H1"), debit_to_rail(p, 1_000)).await.unwrap();
        assert!(!first.replayed, "{backend:?}");

        // The captured hash under another client_ref_id: refused on the other node, nothing moved.
        clock.advance_ms(2_000);
        let reused = b.execute_idempotent_with_hash(key(p, "ref-2"), once("H1"), debit_to_rail(p, 1_000)).await;
        assert_eq!(rejection(reused), Rejection::RequestHashUsed { used_at_ms: T0_MS }, "{backend:?}");
        assert_eq!(wallet(&b, p).await, 9_000, "{backend:?}: one debit");
        assert!(!b.idempotency_key_used(&key(p, "ref-2")).await.unwrap(), "{backend:?}: the refused key stays free");

        // The same request again (same key, same command) is answered from its record,
        // with the captured hash or a fresh one; the fresh one is then bound to it too.
        let retry = b.execute_idempotent_with_hash(key(p, "ref-1"), once("H1"), debit_to_rail(p, 1_000)).await.unwrap();
        assert_eq!((retry.replayed, &retry.outcome), (true, &first.outcome), "{backend:?}");
        let fresh_retry = a.execute_idempotent_with_hash(key(p, "ref-1"), once("H2"), debit_to_rail(p, 1_000)).await.unwrap();
        assert!(fresh_retry.replayed, "{backend:?}");
        let reused = b.execute_idempotent_with_hash(key(p, "ref-3"), once("H2"), debit_to_rail(p, 1_000)).await;
        assert!(matches!(rejection(reused), Rejection::RequestHashUsed { .. }), "{backend:?}");
        assert_eq!(wallet(&a, p).await, 9_000, "{backend:?}: still one debit");

        // Another partner's hashes are its own.
        let q = partner(&a, 2).await;
        credit(&a, q, 5_000).await;
        let other = b.execute_idempotent_with_hash(key(q, "ref-2"), once("H1"), debit_to_rail(q, 1_000)).await.unwrap();
        assert!(!other.replayed, "{backend:?}");
        let record = a.request_hash_use(p, "H1").await.unwrap().expect("recorded");
        assert_eq!((record.idem_key.as_str(), record.used_at_ms), ("ref-1", T0_MS), "{backend:?}");
    }
}

/// A command the domain refuses does not use up its hash: the partner's corrected
/// request under it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_command_leaves_its_request_hash_unused() {
    for backend in BACKENDS {
        let (a, b, _clock) = two_nodes(backend).await;
        let p = partner(&a, 1).await;
        credit(&a, p, 500).await;
        let refused = a.execute_idempotent_with_hash(key(p, "big"), once("H"), debit_to_rail(p, 1_000)).await;
        assert!(matches!(rejection(refused), Rejection::InsufficientFunds { .. }), "{backend:?}");
        assert!(a.request_hash_use(p, "H").await.unwrap().is_none(), "{backend:?}: not recorded");
        let done = b.execute_idempotent_with_hash(key(p, "small"), once("H"), debit_to_rail(p, 400)).await.unwrap();
        assert!(!done.replayed, "{backend:?}");
        // A reuse of the key with another command is the idempotency conflict, as before.
        let conflict = a.execute_idempotent_with_hash(key(p, "small"), once("H"), debit_to_rail(p, 300)).await;
        assert_eq!(rejection(conflict), Rejection::IdempotencyConflict, "{backend:?}");
        assert_eq!(wallet(&a, p).await, 100, "{backend:?}");
    }
}

/// 24 requests with one hash under 24 keys, at once, half on each node: exactly one
/// is done, every other is refused for the hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reuses_across_nodes_let_exactly_one_through() {
    const TASKS: usize = 24;
    for backend in BACKENDS {
        let (a, b, _clock) = two_nodes(backend).await;
        let p = partner(&a, 1).await;
        credit(&a, p, 100_000).await;
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let node = if i % 2 == 0 { a.clone() } else { b.clone() };
                let k = key(p, &format!("race-{i}"));
                tokio::spawn(async move { node.execute_idempotent_with_hash(k, once("RACE"), debit_to_rail(p, 1_000)).await })
            })
            .collect();
        let (mut done, mut refused) = (0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Ok(executed) => {
                    assert!(!executed.replayed, "{backend:?}");
                    done += 1;
                }
                Err(CommandError::Rejected(Rejection::RequestHashUsed { .. })) => refused += 1,
                Err(e) => panic!("{backend:?}: {e}"),
            }
        }
        assert_eq!((done, refused), (1, TASKS - 1), "{backend:?}");
        assert_eq!(wallet(&a, p).await, 99_000, "{backend:?}");
    }
}

/// Uses are deleted once expired, at most `limit` per prune; unexpired ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_uses_are_pruned_in_bounded_batches() {
    for backend in BACKENDS {
        let (a, b, clock) = two_nodes(backend).await;
        let p = partner(&a, 1).await;
        credit(&a, p, 100_000).await;
        for i in 0..5 {
            let k = key(p, &format!("old-{i}"));
            a.execute_idempotent_with_hash(k, once(&format!("OLD-{i}")), debit_to_rail(p, 100)).await.unwrap();
        }
        clock.advance_ms(TOLERANCE_MS);
        let late = Some(RequestHashUse { hash: "NEW".into(), expires_at_ms: a.now_ms() + TOLERANCE_MS + 1 });
        a.execute_idempotent_with_hash(key(p, "new"), late, debit_to_rail(p, 100)).await.unwrap();
        let prune = |limit| Command::PruneRequestHashes(PruneRequestHashes { expired_by_ms: T0_MS + TOLERANCE_MS + 1, limit });
        assert_eq!(pruned(&b, prune(3)).await, 3, "{backend:?}: one bounded batch");
        assert_eq!(pruned(&a, prune(3)).await, 2, "{backend:?}: the rest");
        assert_eq!(pruned(&a, prune(3)).await, 0, "{backend:?}: nothing else is due");
        for i in 0..5 {
            assert!(a.request_hash_use(p, &format!("OLD-{i}")).await.unwrap().is_none(), "{backend:?}");
        }
        assert!(b.request_hash_use(p, "NEW").await.unwrap().is_some(), "{backend:?}: not expired, kept");
    }
}

async fn pruned(store: &Store, cmd: Command) -> u64 {
    match store.execute(cmd).await.expect("prune") {
        Outcome::RequestHashesPruned(n) => n,
        other => panic!("unexpected {other:?}"),
    }
}
