//! Idempotency keys on both backends: concurrent replays, conflicting reuse, and keys
//! whose command was refused.

mod common;

use common::{credit, debit_to_rail, partner, recorded, rejection, store};
use kosh_core::ids::{PartnerId, RecipientId, UserCode};
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_store::commands::{Executed, IdemKey};
use kosh_store::error::Rejection;
use kosh_testkit::BACKENDS;

fn key(partner_id: PartnerId, key: &str) -> IdemKey {
    IdemKey { partner_id, scope: kosh_store::scopes::EKO_CLIENT_REF.into(), key: key.into() }
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
        let other_scope = IdemKey { scope: kosh_store::scopes::EKO_TOKEN.into(), ..key(p, "k") };
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

/// Every kind of command run under a partner's key is fingerprinted by what the partner
/// sent: the server's settings (DMT pricing and recovery delay, the AePS awaited delay)
/// and what it learnt elsewhere (a token's Fetch Details answer) leave the fingerprint
/// alone, while any field the partner sent changes it.
#[test]
fn fingerprints_cover_what_the_partner_sent_and_nothing_else() {
    use kosh_core::aeps::TxType;
    use kosh_core::dmt::DmtChannel;
    use kosh_core::pricing::Pricing;
    use kosh_store::commands::aeps::{AepsCommand, NewTransaction};
    use kosh_store::commands::dmt::{DmtCommand, NewTransfer};
    use kosh_store::commands::tokens::{PayToken, TokenCommand};
    use kosh_store::commands::{Command, Guard};
    use kosh_store::ops::aeps::AadhaarRef;
    use kosh_store::ops::tokens::Payment;

    let print = |cmd: Command| Guard::new(key(PartnerId::new(1), "ref-1"), &cmd).fingerprint;
    let transfer = NewTransfer {
        partner_id: PartnerId::new(1),
        user_code: UserCode::new(20_810_200),
        client_ref_id: "ref-1".into(),
        customer_mobile: "9000000001".into(),
        recipient_id: RecipientId::new(7),
        amount_paise: Paise::new(10_000).unwrap(),
        channel: DmtChannel::Imps,
        pricing: Pricing::default(),
        recovery_ms: 30_000,
    };
    let dmt = |t: &NewTransfer| print(Command::Dmt(DmtCommand::InitiateTransfer(t.clone())));
    let repriced =
        NewTransfer { pricing: Pricing { fee_bp: 250, ..Pricing::default() }, recovery_ms: 600_000, ..transfer.clone() };
    assert_eq!(dmt(&transfer), dmt(&repriced), "pricing and recovery are the server's");
    for changed in [
        NewTransfer { amount_paise: Paise::new(10_001).unwrap(), ..transfer.clone() },
        NewTransfer { channel: DmtChannel::Neft, ..transfer.clone() },
        NewTransfer { recipient_id: RecipientId::new(8), ..transfer.clone() },
        NewTransfer { customer_mobile: "9000000002".into(), ..transfer.clone() },
        NewTransfer { user_code: UserCode::new(20_810_201), ..transfer.clone() },
    ] {
        assert_ne!(dmt(&transfer), dmt(&changed), "{changed:?}");
    }

    let withdrawal = NewTransaction {
        partner_id: PartnerId::new(1),
        client_ref_id: "ref-1".into(),
        channel: "api".into(),
        user_code: UserCode::new(20_810_200),
        tx_type: TxType::CashWithdrawal,
        amount_paise: Paise::new(70_000).unwrap(),
        customer_mobile: "9000000001".into(),
        bank_code: "SBIN".into(),
        aadhaar: AadhaarRef { masked: "XXXX XXXX 1234".into(), hash: "ab".repeat(32) },
        awaited_ms: 60_000,
    };
    let aeps = |t: &NewTransaction| print(Command::Aeps(AepsCommand::Transact(t.clone())));
    assert_eq!(aeps(&withdrawal), aeps(&NewTransaction { awaited_ms: 5_000, ..withdrawal.clone() }), "awaited is the server's");
    assert_ne!(aeps(&withdrawal), aeps(&NewTransaction { amount_paise: Paise::new(70_100).unwrap(), ..withdrawal.clone() }));
    let other_aadhaar = AadhaarRef { masked: "XXXX XXXX 1234".into(), hash: "cd".repeat(32) };
    assert_ne!(aeps(&withdrawal), aeps(&NewTransaction { aadhaar: other_aadhaar, ..withdrawal.clone() }));
    assert_ne!(aeps(&withdrawal), dmt(&transfer), "kinds never share a fingerprint");

    let payment = Payment {
        payer_partner_id: PartnerId::new(1),
        user_code: UserCode::new(20_810_200),
        pay_client_ref_id: "ref-1".into(),
        amount_paise: Paise::new(150_000).unwrap(),
        customer_name: "Asha".into(),
        customer_mobile: "9000000001".into(),
    };
    let pay =
        |token: &str, p: &Payment| print(Command::Token(TokenCommand::Pay(PayToken { token: token.into(), payment: p.clone() })));
    let details_changed =
        Payment { amount_paise: Paise::new(150_100).unwrap(), customer_name: "Asha V".into(), ..payment.clone() };
    assert_eq!(pay("100000000000001", &payment), pay("100000000000001", &details_changed), "the issuer's details");
    assert_ne!(pay("100000000000001", &payment), pay("100000000000002", &payment), "another token");
    assert_ne!(
        pay("100000000000001", &payment),
        pay("100000000000001", &Payment { user_code: UserCode::new(20_810_201), ..payment.clone() })
    );
}
