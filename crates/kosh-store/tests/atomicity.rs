//! Commands are atomic units on both backends: group commit batches them without
//! letting one command's failure touch another's, and outbox rows exist exactly when
//! the change they describe does.

mod common;

use common::{debit_to_rail, new_agent, partner, rejection, store};
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_store::commands::{Command, CreditWallet, Outcome, SeedSandbox};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::partners::NewPartner;
use kosh_store::stats::StoreStats;
use kosh_testkit::{Backend, BACKENDS};

/// 500 concurrent commands, every other one refused: all are answered, the refused ones
/// undo only themselves, and on SQLite they share far fewer commits than commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_batches_commands_and_isolates_failures() {
    const COMMANDS: usize = 500;
    const CREDIT_PAISE: i64 = 700;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let (rich, broke) = (partner(&store, 1).await, partner(&store, 2).await);
        let (batches_before, commands_before) =
            (StoreStats::get(&store.stats().batches), StoreStats::get(&store.stats().batched_commands));
        let tasks: Vec<_> = (0..COMMANDS)
            .map(|i| {
                let store = store.clone();
                let cmd = if i % 2 == 0 {
                    Command::CreditWallet(CreditWallet {
                        partner_id: rich,
                        amount_paise: Paise::new(CREDIT_PAISE).unwrap(),
                        reference: format!("c{i}"),
                    })
                } else {
                    debit_to_rail(broke, 100)
                };
                tokio::spawn(async move { (i, store.execute(cmd).await) })
            })
            .collect();
        for task in tasks {
            match task.await.expect("task") {
                (i, Ok(Outcome::WalletCredited { .. })) if i % 2 == 0 => {}
                (i, Err(CommandError::Rejected(Rejection::InsufficientFunds { available_paise: 0 }))) if i % 2 == 1 => {}
                (i, other) => panic!("{backend:?}: command {i} answered {other:?}"),
            }
        }
        let wallet = store.balance(rich, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!(wallet.posted_credit(), (COMMANDS / 2) as i64 * CREDIT_PAISE, "{backend:?}: every credit kept");
        let events = store.recent_outbox(rich, 1_000).await.unwrap();
        assert_eq!(events.len(), COMMANDS / 2, "{backend:?}: one event per credit");
        assert!(store.recent_outbox(broke, 10).await.unwrap().is_empty(), "{backend:?}");
        if backend == Backend::Sqlite {
            let batches = StoreStats::get(&store.stats().batches) - batches_before;
            let commands = StoreStats::get(&store.stats().batched_commands) - commands_before;
            assert_eq!(commands, COMMANDS as u64, "every command went through the writer");
            assert!(batches < commands, "{batches} batches for {commands} commands: no batching happened");
        }
        common::assert_ledger_sound(&store, &format!("{backend:?}")).await;
    }
}

/// A refused command leaves no outbox row (nor any other row); a credit leaves
/// exactly one `wallet.credited` event describing it, due at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_rows_exist_exactly_when_their_change_does() {
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        assert_eq!(rejection(store.execute(debit_to_rail(p, 1)).await), Rejection::InsufficientFunds { available_paise: 0 });
        let zero =
            Command::CreditWallet(CreditWallet { partner_id: p, amount_paise: Paise::new(0).unwrap(), reference: "r".into() });
        assert!(matches!(rejection(store.execute(zero).await), Rejection::InvalidEntry(_)), "{backend:?}");
        assert!(store.recent_outbox(p, 10).await.unwrap().is_empty(), "{backend:?}: refusals leave no event");

        clock.advance_ms(5_000);
        let Outcome::WalletCredited { entry_id, .. } = store
            .execute(Command::CreditWallet(CreditWallet {
                partner_id: p,
                amount_paise: Paise::new(12_345).unwrap(),
                reference: "topup-1".into(),
            }))
            .await
            .unwrap()
        else {
            panic!("{backend:?}")
        };
        let events = store.recent_outbox(p, 10).await.unwrap();
        assert_eq!(events.len(), 1, "{backend:?}");
        let e = &events[0];
        assert_eq!(
            (e.kind.as_str(), e.state.as_str(), e.attempts, e.due_at_ms),
            ("wallet.credited", "pending", 0, store.now_ms())
        );
        assert_eq!(e.payload["entry_id"], entry_id, "{backend:?}");
        assert_eq!(e.payload["amount_paise"], 12_345, "{backend:?}");
        assert_eq!(e.payload["reference"], "topup-1", "{backend:?}");
    }
}

fn sandbox(wallet_paise: i64) -> Command {
    Command::SeedSandbox(SeedSandbox {
        partner: NewPartner {
            name: "sandbox".into(),
            developer_key: "becbbce45f79c6f5109f848acd540567".into(),
            access_key: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30".into(),
            initiator_id: "9962981729".into(),
            is_sandbox: true,
        },
        agent: new_agent("AAAAA0000A", "9999999999"),
        wallet_paise: Paise::new(wallet_paise).unwrap(),
    })
}

/// Seeding does several writes; when its last step is refused, none of them remain.
/// Seeding raced by 10 tasks creates the partner once: on PostgreSQL the losers hit a
/// unique key, are retried whole, and leave no event behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_step_commands_are_all_or_nothing() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        assert!(matches!(rejection(store.execute(sandbox(0)).await), Rejection::InvalidEntry(_)), "{backend:?}");
        assert!(store.partners().await.unwrap().is_empty(), "{backend:?}: the refused seed left a partner");
        assert_eq!(store.ledger_totals().await.unwrap(), Default::default(), "{backend:?}");

        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.execute(sandbox(1_000_000)).await })
            })
            .collect();
        let mut created = Vec::new();
        for task in tasks {
            match task.await.expect("task").unwrap_or_else(|e| panic!("{backend:?}: {e}")) {
                Outcome::SandboxSeeded { partner_id, created: fresh } => created.push((partner_id, fresh)),
                other => panic!("{backend:?}: {other:?}"),
            }
        }
        assert_eq!(created.iter().filter(|(_, fresh)| *fresh).count(), 1, "{backend:?}: seeded once");
        let partner_id = created[0].0;
        assert!(created.iter().all(|(id, _)| *id == partner_id), "{backend:?}");
        assert_eq!(store.partners().await.unwrap().len(), 1, "{backend:?}");
        let events = store.recent_outbox(partner_id, 100).await.unwrap();
        assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["wallet.credited"], "{backend:?}");
        let wallet = store.balance(partner_id, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!(wallet.available_credit(), 1_000_000, "{backend:?}: funded once");
    }
}
