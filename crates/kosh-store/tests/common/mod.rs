//! Helpers shared by the store's test files (each file uses a subset).
#![allow(dead_code)]

use kosh_core::clock::ManualClock;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Side};
use kosh_core::money::Paise;
use kosh_store::commands::{AccountBalance, Command, CreditWallet, LegSpec, OnboardAgent, Outcome, RecordEntry};
use kosh_store::error::{CmdResult, CommandError, Rejection};
use kosh_store::ops::agents::NewAgent;
use kosh_store::ops::partners::NewPartner;
use kosh_store::Store;
use kosh_testkit::Backend;
use std::sync::Arc;

/// The manual clock's start: 2023-11-14, a plain weekday.
pub const T0_MS: i64 = 1_700_000_000_000;

/// A fresh, migrated store on `backend` with a manual clock the test can move.
pub async fn store(backend: Backend) -> (Arc<Store>, Arc<ManualClock>) {
    let clock = ManualClock::new(T0_MS);
    let store = kosh_testkit::fresh_store(backend, clock.clone()).await;
    (Arc::new(store), clock)
}

/// Creates partner number `n` (names and ids derived from `n`, so they never collide).
pub async fn partner(store: &Store, n: u32) -> PartnerId {
    let p = NewPartner {
        name: format!("partner-{n}"),
        developer_key: format!("dk-{n}"),
        access_key: format!("ak-{n}").into(),
        initiator_id: format!("90{n:08}"),
        is_sandbox: false,
    };
    store.execute(p).await.expect("create partner").id
}

pub async fn credit(store: &Store, partner_id: PartnerId, amount_paise: i64) {
    let amount_paise = Paise::new(amount_paise).expect("a test amount");
    let cmd = Command::CreditWallet(CreditWallet { partner_id, amount_paise, reference: "test top-up".into() });
    store.execute(cmd).await.expect("credit wallet");
}

pub fn new_agent(pan: &str, mobile: &str) -> NewAgent {
    NewAgent {
        pan: pan.into(),
        mobile: mobile.into(),
        first_name: "Asha".into(),
        middle_name: String::new(),
        last_name: "Rao".into(),
        email: "asha@example.com".into(),
        dob: "1990-01-01".into(),
        shop_name: "Asha Stores".into(),
        residence_address: r#"{"line":"1 Main Rd","city":"Pune","state":"MH","pincode":"411001"}"#.into(),
    }
}

/// Onboards an agent; answers its user_code.
pub async fn agent(store: &Store, partner_id: PartnerId, pan: &str, mobile: &str) -> UserCode {
    store.execute(OnboardAgent { partner_id, agent: new_agent(pan, mobile) }).await.expect("onboard").agent.user_code
}

/// A leg on `kind` in its natural namespace.
pub fn leg(partner_id: PartnerId, kind: AccountKind, side: Side, amount_paise: i64) -> LegSpec {
    LegSpec::new(partner_id, &kind, side, amount_paise)
}

/// A wallet debit to a rail: the shape of a transfer.
pub fn debit_to_rail(partner_id: PartnerId, amount_paise: i64) -> Command {
    Command::RecordEntry(RecordEntry {
        partner_id,
        kind: "test_debit".into(),
        reference: String::new(),
        legs: vec![
            leg(partner_id, AccountKind::PartnerWallet, Side::Debit, amount_paise),
            leg(partner_id, AccountKind::RailClearing { rail: "imps" }, Side::Credit, amount_paise),
        ],
        pending: false,
    })
}

/// The rejection a command answered; panics on success or a storage error.
pub fn rejection<T: std::fmt::Debug>(result: CmdResult<T>) -> Rejection {
    match result {
        Err(CommandError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// `(entry_id, posted, balances)` of a recorded entry.
pub fn recorded(outcome: Outcome) -> (i64, bool, Vec<AccountBalance>) {
    match outcome {
        Outcome::EntryRecorded { entry_id, posted, balances } => (entry_id, posted, balances),
        other => panic!("expected EntryRecorded, got {other:?}"),
    }
}

/// Ledger-wide invariants: balanced totals, no account beyond its limit.
pub async fn assert_ledger_sound(store: &Store, context: &str) {
    let totals = store.ledger_totals().await.expect("totals");
    assert_eq!(totals.debits_posted, totals.credits_posted, "posted totals unbalanced: {context}");
    assert_eq!(totals.debits_pending, totals.credits_pending, "pending totals unbalanced: {context}");
    assert_eq!(store.ledger_limit_violations().await.expect("violations"), 0, "limit violated: {context}");
}
