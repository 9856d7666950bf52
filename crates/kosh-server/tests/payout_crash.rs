//! Payouts whose node dies mid-way, on both backends: between record and submit (the
//! bank never heard of the order) and between submit and apply (the bank has it, Kosh
//! never stored its answer). After a restart the payout worker (driven by hand, on the
//! injected clock) finishes each order: exactly one final state, one callback event, a
//! balanced ledger, and, counted by the sandbox bank the nodes share, no order handed
//! to the bank twice.

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::Backend;
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::dmt::TxStatus;
use kosh_core::ledger::{AccountKind, Balance};
use kosh_core::money::Paise;
use kosh_core::payouts::PaymentMode;
use kosh_rails::sandbox::payout::SandboxPayoutBank;
use kosh_rails::Rail;
use kosh_server::config::Config;
use kosh_server::service::payouts;
use kosh_server::workers::payouts::run_once;
use kosh_server::App;
use kosh_store::commands::payouts::NewPayout;
use kosh_store::ops::payouts::PayoutOrder;
use std::sync::Arc;

on_both_backends!(
    payouts_killed_between_record_and_submit_are_submitted_once_after_a_restart,
    payouts_killed_between_submit_and_apply_are_applied_without_a_second_submission,
);

const RECOVERY_MS: i64 = 30_000;

/// The nodes of one test: one database, one clock, one bank.
struct Cluster {
    config: Config,
    clock: Arc<ManualClock>,
    bank: Arc<SandboxPayoutBank>,
}

impl Cluster {
    async fn new(backend: Backend) -> Cluster {
        let mut config = Config { listen: "127.0.0.1:0".parse().expect("address"), ..Config::default() };
        match backend {
            Backend::Sqlite => config.data_dir = kosh_testkit::scratch_dir(),
            Backend::Postgres => config.database_url = Some(kosh_testkit::fresh_database().await.into()),
        }
        config.rail_worker_tick_ms = 0; // the test runs the payout worker's rounds itself
        config.rail_recovery_secs = 30;
        config.rail_late_failure_secs = 30;
        config.neft_batch_secs = 60;
        config.callbacks_enabled = false;
        // No second look for reversals: once final, nothing is due (eko_payouts.rs
        // covers reversals).
        config.payout_reversal_secs = 0;
        let bank = Arc::new(SandboxPayoutBank::new(config.sandbox_rail(), config.payout_reversal_ms()));
        // A second past a NEFT batch boundary, so the recovery delay ends before the
        // next batch and the test's own step passes it.
        let start = SystemClock.now_ms().div_euclid(60_000) * 60_000 + 1_000;
        Cluster { config, clock: ManualClock::new(start), bank }
    }

    async fn boot(&self) -> App {
        let store = kosh_server::open_store(&self.config, self.clock.clone()).await.expect("the store opens");
        let rail: Arc<dyn Rail> = self.bank.clone();
        App::start_with_payout_rail(self.config.clone(), Arc::new(store), Some(rail)).await.expect("the node starts")
    }
}

async fn partner(app: &App) -> kosh_core::ids::PartnerId {
    app.state.store.find_partner("sandbox").await.unwrap().expect("the sandbox partner").id
}

async fn wallet(app: &App, partner_id: kosh_core::ids::PartnerId) -> Balance {
    app.state.store.balance(partner_id, &AccountKind::PartnerWallet).await.unwrap()
}

fn request(app: &App, partner_id: kosh_core::ids::PartnerId, reference: &str, mode: PaymentMode, account: &str) -> NewPayout {
    NewPayout {
        partner_id,
        user_code: kosh_core::ids::UserCode::new(20_810_200),
        service_code: 45,
        client_ref_id: reference.into(),
        mode,
        amount_paise: Paise::from_rupees(1_000).unwrap(),
        recipient_name: "Virender Singh".into(),
        account: account.into(),
        ifsc: "SBIN0000001".into(),
        sender_name: "Flipkarti".into(),
        tag: String::new(),
        account_type: None,
        settlement: None,
        pricing: app.state.config.payout_pricing.clone(),
        recovery_ms: RECOVERY_MS,
    }
}

async fn recorded(
    app: &App,
    partner_id: kosh_core::ids::PartnerId,
    reference: &str,
    mode: PaymentMode,
    account: &str,
) -> PayoutOrder {
    let (view, replayed) =
        payouts::record(&app.state, request(app, partner_id, reference, mode, account)).await.expect("recorded");
    assert!(!replayed);
    view.order
}

async fn stored(app: &App, o: &PayoutOrder) -> PayoutOrder {
    app.state.store.payout(o.partner_id, o.tid).await.unwrap().expect("stored")
}

async fn payout_events(app: &App, partner_id: kosh_core::ids::PartnerId) -> Vec<serde_json::Value> {
    let events = app.state.store.recent_outbox(partner_id, 1000).await.unwrap();
    events.into_iter().filter(|e| e.payload["kind"] == "payout.status_changed.v1").map(|e| e.payload).collect()
}

/// Rounds after everything is final change nothing and submit nothing.
async fn quiet_afterwards(cluster: &Cluster, app: &App, orders: &[&PayoutOrder]) {
    for _ in 0..3 {
        cluster.clock.advance_ms(RECOVERY_MS * 10);
        assert_eq!(run_once(&app.state).await.unwrap(), 0, "nothing is due any more");
    }
    for o in orders {
        assert_eq!(cluster.bank.submissions(&o.tid.to_string()), 1, "order {} reached the bank once", o.tid);
    }
}

async fn payouts_killed_between_record_and_submit_are_submitted_once_after_a_restart(backend: Backend) {
    let cluster = Cluster::new(backend).await;
    let first = cluster.boot().await;
    let partner_id = partner(&first).await;
    let before = wallet(&first, partner_id).await;
    let imps = recorded(&first, partner_id, "CRASH-REC-1", PaymentMode::Imps, "234243534").await;
    let late = recorded(&first, partner_id, "CRASH-REC-2", PaymentMode::Imps, "9000004444").await;
    assert_eq!(wallet(&first, partner_id).await.debits_pending - before.debits_pending, 2 * 100_500, "both reserved");
    first.stop().await; // the node dies before the bank is asked

    let second = cluster.boot().await;
    assert_eq!(run_once(&second.state).await.unwrap(), 0, "before the recovery delay its request may still be running");
    assert_eq!(cluster.bank.submissions(&imps.tid.to_string()), 0);
    cluster.clock.advance_ms(RECOVERY_MS);
    assert_eq!(run_once(&second.state).await.unwrap(), 2, "the bank knows neither order: both are submitted now");
    let (imps_done, late_done) = (stored(&second, &imps).await, stored(&second, &late).await);
    assert_eq!((imps_done.tx_status, imps_done.check_at_ms), (TxStatus::Success, None));
    assert_eq!(imps_done.bank_ref_num.len(), 12);
    assert_eq!(late_done.tx_status, TxStatus::Refunded, "the bank took it and returned it: refunded, not declined");
    quiet_afterwards(&cluster, &second, &[&imps, &late]).await;

    let after = wallet(&second, partner_id).await;
    assert_eq!(after.debits_pending, before.debits_pending, "every reservation resolved");
    assert_eq!(before.posted_credit() - after.posted_credit(), 100_500, "only the settled payout paid, once");
    let events = payout_events(&second, partner_id).await;
    assert_eq!(events.len(), 2, "one status event per order: {events:?}");
    assert_eq!(second.state.store.ledger_limit_violations().await.unwrap(), 0);
    second.stop().await;
}

async fn payouts_killed_between_submit_and_apply_are_applied_without_a_second_submission(backend: Backend) {
    let cluster = Cluster::new(backend).await;
    let first = cluster.boot().await;
    let partner_id = partner(&first).await;
    let before = wallet(&first, partner_id).await;
    let imps = recorded(&first, partner_id, "CRASH-SUB-1", PaymentMode::Imps, "234243534").await;
    let neft = recorded(&first, partner_id, "CRASH-SUB-2", PaymentMode::Neft, "234243534").await;
    for o in [&imps, &neft] {
        payouts::submit(&first.state, o).await.expect("the bank takes it");
    }
    first.stop().await; // the node dies before the bank's answers are stored
    assert_eq!(stored_in_new_node(&cluster, &imps).await.tx_status, TxStatus::Initiated, "no answer was applied");

    let second = cluster.boot().await;
    cluster.clock.advance_ms(RECOVERY_MS);
    assert_eq!(run_once(&second.state).await.unwrap(), 2);
    assert_eq!(stored(&second, &imps).await.tx_status, TxStatus::Success, "the bank's answer, asked for, not resubmitted");
    cluster.clock.advance_ms(60_000); // past the NEFT batch
    assert_eq!(run_once(&second.state).await.unwrap(), 1);
    assert_eq!(stored(&second, &neft).await.tx_status, TxStatus::Success);
    quiet_afterwards(&cluster, &second, &[&imps, &neft]).await;

    let after = wallet(&second, partner_id).await;
    assert_eq!(after.debits_pending, before.debits_pending);
    assert_eq!(before.posted_credit() - after.posted_credit(), 2 * 100_500, "each paid once");
    assert_eq!(payout_events(&second, partner_id).await.len(), 2);
    assert_eq!(second.state.store.ledger_limit_violations().await.unwrap(), 0);
    second.stop().await;
}

async fn stored_in_new_node(cluster: &Cluster, o: &PayoutOrder) -> PayoutOrder {
    let node = cluster.boot().await;
    let found = stored(&node, o).await;
    node.stop().await;
    found
}
