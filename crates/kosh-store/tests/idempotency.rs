//! Idempotency keys on both backends: concurrent replays, conflicting reuse, and keys
//! whose command was refused.

mod common;

use common::{credit, debit_to_rail, partner, recorded, rejection, store};
use kosh_core::ledger::AccountKind;
use kosh_store::commands::{Executed, IdemKey};
use kosh_store::error::Rejection;
use kosh_testkit::BACKENDS;

fn key(partner_id: i64, key: &str) -> IdemKey {
    IdemKey { partner_id, scope: "eko".into(), key: key.into() }
}

/// 50 tasks send the same command under the same key at once: it runs once, and the
/// other 49 answer the identical outcome as replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_run_the_command_once() {
    const TASKS: usize = 50;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        credit(&store, p, 100_000).await;
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.execute_idempotent(key(p, "ref-1"), debit_to_rail(p, 2_500)).await })
            })
            .collect();
        let mut answers: Vec<Executed> = Vec::new();
        for task in tasks {
            answers.push(task.await.expect("task").unwrap_or_else(|e| panic!("{backend:?}: {e}")));
        }
        let fresh: Vec<&Executed> = answers.iter().filter(|e| !e.replayed).collect();
        assert_eq!(fresh.len(), 1, "{backend:?}: exactly one run");
        assert!(answers.iter().all(|e| e.outcome == fresh[0].outcome), "{backend:?}: every replay answers the same outcome");
        let (entry_id, _, _) = recorded(fresh[0].outcome.clone());
        assert!(store.ledger_entry(entry_id).await.unwrap().is_some());
        let wallet = store.balance(p, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!(wallet.available_credit(), 97_500, "{backend:?}: debited once");
        let events = store.recent_outbox(p, 100).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "ledger.entry_recorded").count(), 1, "{backend:?}");
        // A replay after the fact answers the stored outcome, even though the balance moved.
        credit(&store, p, 1).await;
        let later = store.execute_idempotent(key(p, "ref-1"), debit_to_rail(p, 2_500)).await.unwrap();
        assert_eq!(later, Executed { outcome: fresh[0].outcome.clone(), replayed: true }, "{backend:?}");
    }
}

/// The same key with a different command is refused and changes nothing; keys are
/// per partner and per scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_reused_for_another_command_conflicts() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let (p, q) = (partner(&store, 1).await, partner(&store, 2).await);
        credit(&store, p, 10_000).await;
        credit(&store, q, 10_000).await;
        store.execute_idempotent(key(p, "k"), debit_to_rail(p, 1_000)).await.unwrap();
        let conflict = store.execute_idempotent(key(p, "k"), debit_to_rail(p, 1_001)).await;
        assert_eq!(rejection(conflict), Rejection::IdempotencyConflict, "{backend:?}");
        assert_eq!(store.balance(p, &AccountKind::PartnerWallet).await.unwrap().available_credit(), 9_000, "{backend:?}");
        // Another partner's key space, and another scope, are separate.
        let other_partner = store.execute_idempotent(key(q, "k"), debit_to_rail(q, 1_001)).await.unwrap();
        assert!(!other_partner.replayed, "{backend:?}");
        let other_scope = IdemKey { scope: "echelon".into(), ..key(p, "k") };
        assert!(!store.execute_idempotent(other_scope, debit_to_rail(p, 1_001)).await.unwrap().replayed, "{backend:?}");
    }
}

/// A refused command stores nothing under its key: the same command later runs fresh,
/// and so does a different one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_command_leaves_its_key_free() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        credit(&store, p, 500).await;
        let refused = store.execute_idempotent(key(p, "same"), debit_to_rail(p, 1_000)).await;
        assert_eq!(rejection(refused), Rejection::InsufficientFunds { available_paise: 500 }, "{backend:?}");
        let refused = store.execute_idempotent(key(p, "other"), debit_to_rail(p, 2_000)).await;
        assert!(matches!(rejection(refused), Rejection::InsufficientFunds { .. }), "{backend:?}");
        credit(&store, p, 1_000).await;
        let same = store.execute_idempotent(key(p, "same"), debit_to_rail(p, 1_000)).await.unwrap();
        assert!(!same.replayed, "{backend:?}: the same command runs fresh once funded");
        let different = store.execute_idempotent(key(p, "other"), debit_to_rail(p, 300)).await.unwrap();
        assert!(!different.replayed, "{backend:?}: a different command may take the key");
        assert_eq!(store.balance(p, &AccountKind::PartnerWallet).await.unwrap().available_credit(), 200, "{backend:?}");
    }
}
