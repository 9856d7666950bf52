//! A payout whose request dies between the record and the rail: the store has it with
//! its reservation and no rail has taken it. The payment worker (driven by hand, with
//! the injected clock) submits it once its recovery delay is over, exactly once: one
//! reservation, one submission, one final state, one callback.

mod echelon_support;
use kosh_testkit::on_both_backends;

use echelon_support::{start_without_worker, Backend, Echelon};
use kosh_core::echelon::{self, Direction, Status};
use kosh_core::ledger::{AccountKind, Balance};
use kosh_core::money::Paise;
use kosh_server::sandbox::echelon::MERCHANT_CODE;
use kosh_server::service::echelon_payments::{record_payout, UNSUBMITTED};
use kosh_store::ops::echelon::{NewPayment, Payment};
use serde_json::json;

on_both_backends!(
    a_recorded_payout_is_submitted_by_the_worker_once,
    a_recorded_payout_the_bank_refuses_is_failed_and_voided,
    a_payout_handed_over_before_its_request_died_is_not_handed_over_again,
);

async fn wallet(e: &Echelon) -> Balance {
    e.app.state.store.balance(e.sandbox_partner_id(), &AccountKind::PartnerWallet).await.unwrap()
}

/// Stores a bank-transfer payout the way a create request does, and stops there: the
/// process "dies" before the rail is asked.
async fn recorded(e: &Echelon, order_id: &str, rupees: i64) -> Payment {
    let merchant = e.app.state.store.echelon_merchant(MERCHANT_CODE).await.unwrap().expect("the sandbox merchant");
    let method = echelon::method(Direction::Payout, "BANK_TRANSFER").expect("BANK_TRANSFER");
    let amount = Paise::from_rupees(rupees).unwrap();
    let method_json = json!({
        "paymentMethodCode": "BANK_TRANSFER",
        "paymentOperatorCode": "IN_IMPS",
        "account": { "accountName": "Asha Verma", "accountNumber": "123456789012", "bankCode": "SBIN0001234" },
    });
    let new = NewPayment {
        merchant_id: merchant.id,
        partner_id: merchant.partner_id,
        direction: Direction::Payout,
        order_id: order_id.into(),
        id_payment: kosh_core::secret::new_token(20),
        amount_paise: amount,
        fee_paise: Paise::new(echelon::fee_paise(method, amount)).unwrap(),
        currency: "INR".into(),
        segment_code: None,
        exchanged_to: None,
        method_code: method.code.into(),
        rail: method.rail.into(),
        operator_code: Some("IN_IMPS".into()),
        method_json: method_json.to_string(),
        callback_url: Some("http://127.0.0.1:9/echelon-callback".into()),
        return_url: None,
        customer_ip: None,
        scenario: String::new(),
        status: Status::Processing,
        failure_code: None,
        is_test: true,
        expire_at_ms: None,
        check_at_ms: None,
    };
    record_payout(&e.app.state, new).await.expect("the payout is recorded")
}

async fn stored(e: &Echelon, p: &Payment) -> Payment {
    e.app.state.store.echelon_payment(p.merchant_id, Direction::Payout, &p.order_id).await.unwrap().expect("stored")
}

fn callback_ids(callbacks: &[serde_json::Value]) -> Vec<String> {
    callbacks.iter().map(|c| c["body"]["idEntity"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn a_recorded_payout_is_submitted_by_the_worker_once(backend: Backend) {
    let e = start_without_worker(backend).await;
    let token = e.admin_token().await;
    let before = wallet(&e).await;
    let p = recorded(&e, "PO-CRASH", 1000).await;
    let reserved = p.amount_paise.get() + p.fee_paise.get();
    assert_eq!((p.status, p.scenario.as_str()), (Status::Processing, UNSUBMITTED));
    assert_eq!(wallet(&e).await.debits_pending - before.debits_pending, reserved, "one reservation");

    // Before the recovery delay the worker leaves it alone: its request may still be running.
    assert_eq!(e.work().await, 0);
    assert_eq!(stored(&e, &p).await.scenario, UNSUBMITTED);

    e.clock.advance_ms(e.app.state.config.rail_recovery_secs as i64 * 1000);
    assert_eq!(e.work().await, 1, "the first pass submits it");
    let submitted = stored(&e, &p).await;
    assert_eq!((submitted.status, submitted.scenario.as_str()), (Status::Processing, "sandbox"), "taken by the rail");
    assert_eq!(e.work().await, 1, "the next pass asks the rail and applies its answer");
    let done = stored(&e, &p).await;
    assert_eq!((done.status, done.check_at_ms), (Status::Success, None));
    for _ in 0..3 {
        e.clock.advance_ms(e.app.state.config.rail_recovery_secs as i64 * 1000);
        assert_eq!(e.work().await, 0, "nothing is submitted or applied again");
    }
    let after = wallet(&e).await;
    assert_eq!(after.debits_pending, before.debits_pending, "the reservation is resolved");
    assert_eq!(before.posted_credit() - after.posted_credit(), reserved, "amount and fee taken once");
    assert_eq!(callback_ids(&e.callbacks().await), ["PO-CRASH"], "one callback");
    assert_eq!(e.get("/payouts/PO-CRASH", &token).await.1["process"]["status"], "SUCCESS");
    assert_eq!(e.app.state.store.ledger_limit_violations().await.unwrap(), 0);
    e.app.stop().await;
}

/// 5555: the bank is down when the worker submits. No request is waiting to be told,
/// so the payout fails, its reservation voided, with one callback.
async fn a_recorded_payout_the_bank_refuses_is_failed_and_voided(backend: Backend) {
    let e = start_without_worker(backend).await;
    let before = wallet(&e).await;
    let p = recorded(&e, "PO-DOWN", 5555).await;
    e.clock.advance_ms(e.app.state.config.rail_recovery_secs as i64 * 1000);
    assert_eq!(e.work().await, 1);
    let failed = stored(&e, &p).await;
    assert_eq!((failed.status, failed.failure_code.as_deref()), (Status::Failed, Some("PAYMENT_PROCESS_ERROR")));
    assert_eq!(e.work().await, 0);
    assert_eq!(wallet(&e).await, before, "voided, fee included");
    assert_eq!(callback_ids(&e.callbacks().await), ["PO-DOWN"], "one callback");
    e.app.stop().await;
}

/// The request recorded the payout and handed it to the bank, then died before storing
/// the answer. The worker's recovery (the payout service's, shared with Eko payouts)
/// asks the bank first: the payout finishes with the bank's answer, one reservation,
/// one callback, and the bank was handed the order once.
async fn a_payout_handed_over_before_its_request_died_is_not_handed_over_again(backend: Backend) {
    let e = start_without_worker(backend).await;
    let before = wallet(&e).await;
    let p = recorded(&e, "PO-HANDED", 1000).await;
    let rail = e.app.state.echelon.rail.clone().expect("the sandbox payout rail");
    let order = kosh_server::service::echelon_payments::order_of(&p).expect("an order");
    let now = e.app.state.now_ms();
    kosh_server::service::payouts::hand_over(rail.as_ref(), &order, now).await.expect("the bank takes it");
    assert_eq!(rail.submissions(&p.id_payment), Some(1));

    e.clock.advance_ms(e.app.state.config.rail_recovery_secs as i64 * 1000);
    assert_eq!(e.work().await, 1, "recovered: the bank's answer taken");
    assert_eq!(e.work().await, 1, "the next pass applies it");
    assert_eq!(stored(&e, &p).await.status, Status::Success);
    assert_eq!(e.work().await, 0);
    assert_eq!(rail.submissions(&p.id_payment), Some(1), "never handed over again");
    let after = wallet(&e).await;
    assert_eq!(after.debits_pending, before.debits_pending);
    assert_eq!(before.posted_credit() - after.posted_credit(), p.amount_paise.get() + p.fee_paise.get());
    assert_eq!(callback_ids(&e.callbacks().await), ["PO-HANDED"], "one callback");
    e.app.stop().await;
}
