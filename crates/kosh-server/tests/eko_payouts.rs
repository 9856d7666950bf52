//! Payouts (service 45 fund transfers) and UPI payments over signed HTTP on both
//! backends: IMPS, NEFT and RTGS through the payout service, declines, bank down, late
//! failures refunded, the common status callback reaching a local receiver with the
//! documented body, inquiry by tid and client_ref_id, bad input refused with nothing
//! reserved, and concurrent duplicates debiting once.

mod eko_support;
use kosh_testkit::on_both_backends;
mod callback_support;
mod dmt_support;

use callback_support::{reply, set_endpoint, Receiver, WAIT};
use dmt_support::{available, get, sandbox_partner, status_events, AGENT};
use eko_support::{sandbox, Backend};
use kosh_core::civil::IST_OFFSET_MS;
use kosh_core::clock::{Clock, ManualClock, SharedClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::Client;
use kosh_server::App;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(
    an_imps_fund_transfer_settles_at_once_and_calls_back_with_the_documented_body,
    neft_waits_for_its_batch_and_rtgs_keeps_its_rules,
    declines_and_bank_down_debit_nothing,
    a_late_failure_is_refunded_to_the_wallet_with_one_callback,
    bad_input_is_refused_with_nothing_reserved,
    concurrent_duplicates_make_one_payout_and_one_debit,
    the_v1_settlement_path_pays_out_for_an_agent_with_service_45,
    upi_payments_check_the_vpa_and_settle,
    the_settlement_account_balance_answers_the_partner_and_its_agents,
    a_payout_the_bank_reverses_after_success_is_refunded_with_a_callback,
);

const V3: &str = "/ekoapi/v3";
const DAY_MS: i64 = 86_400_000;

/// The IST noon nearest the wall clock (within 12 hours, inside the signature
/// tolerance the test servers allow), where RTGS is open.
fn nearest_ist_noon(now_ms: i64) -> i64 {
    let noon = 12 * 3_600_000;
    (now_ms + IST_OFFSET_MS - noon + DAY_MS / 2).div_euclid(DAY_MS) * DAY_MS + noon - IST_OFFSET_MS
}

async fn start(backend: Backend) -> (App, Arc<ManualClock>) {
    dmt_support::start(backend, |c| c.callbacks_tick_ms = 10).await
}

fn transfer_body(client_ref_id: &str, mode: &str, account: &str, amount: &str) -> Value {
    json!({
        "initiator_id": "9962981729", "client_ref_id": client_ref_id, "service_code": 45,
        "payment_mode": mode, "recipient_name": "Virender Singh", "account": account,
        "ifsc": "SBIN0000001", "amount": amount, "sender_name": "Flipkarti",
        "user_code": AGENT, "tag": "Grocery", "latlong": "28.78123,72.808912",
    })
}

async fn post_json(client: &Client, path: &str, body: &Value) -> Value {
    let mut body = body.clone();
    body["initiator_id"] = json!(client.credentials().initiator_id);
    let answer = client.send_json(reqwest::Method::POST, path, &body, None).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

async fn fund_transfer(client: &Client, client_ref_id: &str, mode: &str, account: &str, amount: &str) -> Value {
    post_json(client, "/user/payment/fund-transfer", &transfer_body(client_ref_id, mode, account, amount)).await
}

fn tid_of(body: &Value) -> i64 {
    body["data"]["tid"].as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("a tid: {body}"))
}

async fn pending(app: &App, partner_id: kosh_core::ids::PartnerId) -> i64 {
    app.state.store.balance(partner_id, &AccountKind::PartnerWallet).await.unwrap().debits_pending
}

/// Waits (at most [`WAIT`] of real time) until payout `tid` has `tx_status`.
async fn wait_for_status(app: &App, partner_id: kosh_core::ids::PartnerId, tid: i64, tx_status: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let o = app.state.store.payout(partner_id, tid).await.unwrap().expect("the payout");
        if o.tx_status.code() == tx_status {
            return;
        }
        assert!(Instant::now() < deadline, "payout {tid} did not reach tx_status {tx_status}: {o:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_for_requests(receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + WAIT;
    while receiver.count() < n {
        assert!(Instant::now() < deadline, "the receiver got {} requests, not {n}", receiver.count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn an_imps_fund_transfer_settles_at_once_and_calls_back_with_the_documented_body(backend: Backend) {
    let (app, clock) = start(backend).await;
    let shared: SharedClock = clock.clone();
    let receiver = Receiver::start(shared, Arc::new(|_| reply(200, "{}"))).await;
    let partner_id = sandbox_partner(&app).await;
    set_endpoint(&app.state.store, partner_id, "tx_status", &format!("{}/common", receiver.url), None).await;
    let eko = sandbox(&app, V3);
    let before = available(&app, partner_id).await;

    let sent = fund_transfer(&eko, "PO-IMPS-1", "5", "234243534", "1045").await;
    assert_eq!(
        (&sent["status"], &sent["response_status_id"], &sent["response_type_id"]),
        (&json!(0), &json!(0), &json!(1329)),
        "{sent}"
    );
    assert_eq!(
        (&sent["data"]["amount"], &sent["data"]["totalfee"], &sent["data"]["tx_status"]),
        (&json!("1045.00"), &json!("5.00"), &json!("0"))
    );
    assert_eq!(sent["data"]["bank_ref_num"].as_str().map(str::len), Some(12), "{sent}");
    let tid = tid_of(&sent);
    assert!(tid > 4_000_000_000, "payout tids come from their own counter: {tid}");
    assert_eq!(available(&app, partner_id).await, before - 105_000, "amount and fee, once");
    assert_eq!(sent["data"]["balance"], json!(format!("{}.{:02}", (before - 105_000) / 100, (before - 105_000) % 100)));

    wait_for_requests(&receiver, 1).await;
    let body = receiver.received()[0].json();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let documented = [
        "account",
        "amount",
        "bank_ref_num",
        "beneficiary_account_type",
        "client_ref_id",
        "fee",
        "gst",
        "ifsc",
        "payment_mode",
        "recipient_name",
        "sender_name",
        "tid",
        "timestamp",
        "tx_status",
        "txstatus_desc",
    ];
    assert_eq!(keys, documented, "the v3 docs' callback fields: {body}");
    assert_eq!((&body["tx_status"], &body["txstatus_desc"], &body["payment_mode"]), (&json!(0), &json!("SUCCESS"), &json!("5")));
    assert_eq!(
        (&body["tid"], &body["amount"], &body["fee"], &body["gst"]),
        (&json!(tid), &json!(1045.0), &json!(5.0), &json!(0.76))
    );
    assert_eq!(body["bank_ref_num"], sent["data"]["bank_ref_num"]);

    // Inquiry by tid (v1 path) and by client_ref_id finds it.
    let v1 = sandbox(&app, "/ekoapi/v1");
    for path in [format!("/transactions/{tid}"), "/transactions/client_ref_id:PO-IMPS-1".to_owned()] {
        let found = get(&v1, &path, &[]).await;
        assert_eq!(
            (&found["status"], &found["response_type_id"], &found["data"]["tx_status"]),
            (&json!(0), &json!(1472), &json!("0")),
            "{found}"
        );
        assert_eq!(found["data"]["tid"], json!(tid.to_string()));
    }
    assert_eq!(app.state.store.ledger_limit_violations().await.unwrap(), 0);
    app.stop().await;
}

async fn neft_waits_for_its_batch_and_rtgs_keeps_its_rules(backend: Backend) {
    let (app, clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let sent = fund_transfer(&eko, "PO-NEFT-1", "4", "234243534", "2500").await;
    assert_eq!(
        (&sent["status"], &sent["response_status_id"], &sent["data"]["tx_status"]),
        (&json!(0), &json!(2), &json!("2")),
        "{sent}"
    );
    let tid = tid_of(&sent);
    clock.advance_ms(61_000); // past the 60 s batch: the payout worker settles it
    wait_for_status(&app, partner_id, tid, 0).await;
    let events = status_events(&app, partner_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((&events[0]["tid"], &events[0]["tx_status"], &events[0]["payment_mode"]), (&json!(tid), &json!(0), &json!("4")));

    clock.set_ms(nearest_ist_noon(clock.now_ms()));
    let below = fund_transfer(&eko, "PO-RTGS-LOW", "13", "234243534", "199999.99").await;
    assert_eq!((&below["status"], &below["response_type_id"]), (&json!(1), &json!(-1)), "{below}");
    assert!(below["invalid_params"]["amount"].as_str().unwrap().contains("RTGS"), "{below}");
    let rtgs = fund_transfer(&eko, "PO-RTGS-1", "13", "234243534", "200000").await;
    assert_eq!(
        (&rtgs["status"], &rtgs["data"]["tx_status"], &rtgs["data"]["totalfee"]),
        (&json!(0), &json!("0"), &json!("10.00")),
        "{rtgs}"
    );
    clock.advance_ms(7 * 3_600_000); // 19:00 IST: RTGS is closed
    let before = pending(&app, partner_id).await;
    let closed = fund_transfer(&eko, "PO-RTGS-2", "13", "234243534", "200000").await;
    assert_eq!((&closed["status"], &closed["message"]), (&json!(1), &json!("RTGS is not available now")), "{closed}");
    assert_eq!(pending(&app, partner_id).await, before, "nothing reserved");
    app.stop().await;
}

async fn declines_and_bank_down_debit_nothing(backend: Backend) {
    let (app, _clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let before = available(&app, partner_id).await;
    let declined = fund_transfer(&eko, "PO-DECL", "5", "9000001111", "500").await;
    assert_eq!(
        (&declined["status"], &declined["response_type_id"], &declined["data"]["tx_status"]),
        (&json!(55), &json!(1329), &json!("1")),
        "{declined}"
    );
    let down = fund_transfer(&eko, "PO-DOWN", "5", "9000005555", "500").await;
    assert_eq!((&down["status"], &down["data"]["tx_status"]), (&json!(544), &json!("1")), "{down}");
    assert_eq!(available(&app, partner_id).await, before, "both voided");
    assert_eq!(pending(&app, partner_id).await, 0);
    let events = status_events(&app, partner_id).await;
    assert_eq!(events.iter().map(|e| e["tx_status"].clone()).collect::<Vec<_>>(), [json!(1), json!(1)], "{events:?}");
    app.stop().await;
}

async fn a_late_failure_is_refunded_to_the_wallet_with_one_callback(backend: Backend) {
    let (app, clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let before = available(&app, partner_id).await;
    let sent = fund_transfer(&eko, "PO-LATE", "5", "9000004444", "750").await;
    assert_eq!((&sent["status"], &sent["data"]["tx_status"]), (&json!(0), &json!("2")), "{sent}");
    assert_eq!(available(&app, partner_id).await, before - 75_500, "reserved while the bank works");
    let tid = tid_of(&sent);
    clock.advance_ms(31_000);
    wait_for_status(&app, partner_id, tid, 4).await;
    assert_eq!(available(&app, partner_id).await, before, "refunded, fee included");
    let found = get(&sandbox(&app, "/ekoapi/v1"), &format!("/transactions/{tid}"), &[]).await;
    assert_eq!((&found["data"]["tx_status"], &found["response_status_id"]), (&json!("4"), &json!(4)), "{found}");
    let events = status_events(&app, partner_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((&events[0]["tx_status"], &events[0]["txstatus_desc"]), (&json!(4), &json!("REFUNDED")));
    app.stop().await;
}

async fn bad_input_is_refused_with_nothing_reserved(backend: Backend) {
    let (app, _clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let before = available(&app, partner_id).await;
    let cases: [(&str, Value, &str); 7] = [
        ("payment_mode", json!("7"), "payment_mode"),
        ("amount", json!("100.005"), "amount"),
        ("amount", json!("0"), "amount"),
        ("amount", json!("-5"), "amount"),
        ("ifsc", json!("SBIN123"), "ifsc"),
        ("account", json!("12AB"), "account"),
        ("service_code", json!(39), "service_code"),
    ];
    for (n, (field, value, bad)) in cases.iter().enumerate() {
        let mut body = transfer_body(&format!("PO-BAD-{n}"), "5", "234243534", "100");
        body[*field] = value.clone();
        let refused = post_json(&eko, "/user/payment/fund-transfer", &body).await;
        assert_eq!((&refused["status"], &refused["response_type_id"]), (&json!(1), &json!(-1)), "{field}={value}: {refused}");
        assert!(refused["invalid_params"][bad].is_string(), "{field}={value}: {refused}");
    }
    let first = fund_transfer(&eko, "PO-REUSE", "5", "234243534", "100").await;
    assert_eq!(first["status"], 0, "{first}");
    let spent = available(&app, partner_id).await;
    let reused = fund_transfer(&eko, "PO-REUSE", "5", "234243534", "200").await;
    assert_eq!((&reused["status"], &reused["message"]), (&json!(1), &json!("Duplicate client_ref_id")), "{reused}");
    assert_eq!(available(&app, partner_id).await, spent, "nothing more reserved");
    assert_eq!(before - spent, 10_500);
    let missing = get(&sandbox(&app, "/ekoapi/v1"), "/transactions/client_ref_id:PO-BAD-0", &[]).await;
    assert_eq!(missing["status"], 168, "refused payouts leave no order: {missing}");
    app.stop().await;
}

async fn concurrent_duplicates_make_one_payout_and_one_debit(backend: Backend) {
    let (app, _clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let before = available(&app, partner_id).await;
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let eko = eko.clone();
        sends.spawn(async move { fund_transfer(&eko, "PO-DUP", "5", "234243534", "300").await });
    }
    let answers = sends.join_all().await;
    let tids: std::collections::BTreeSet<i64> = answers.iter().map(tid_of).collect();
    assert_eq!(tids.len(), 1, "one payout: {answers:?}");
    assert_eq!(available(&app, partner_id).await, before - 30_500, "one debit");
    app.stop().await;
}

async fn the_v1_settlement_path_pays_out_for_an_agent_with_service_45(backend: Backend) {
    let (app, _clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let v1 = sandbox(&app, "/ekoapi/v1");
    let form = [
        ("service_code", "45"),
        ("client_ref_id", "PO-V1-1"),
        ("payment_mode", "5"),
        ("recipient_name", "Virender Singh"),
        ("account", "234243534"),
        ("ifsc", "SBIN0000001"),
        ("amount", "120"),
        ("sender_name", "Flipkarti"),
        ("beneficiary_account_type", "1"),
    ];
    let path = format!("/agent/user_code:{AGENT}/settlement");
    let paid = dmt_support::call(&v1, reqwest::Method::POST, &path, &form).await;
    assert_eq!(
        (&paid["status"], &paid["response_type_id"], &paid["data"]["user_code"]),
        (&json!(0), &json!(1329), &json!(AGENT)),
        "{paid}"
    );
    let events = status_events(&app, partner_id).await;
    assert_eq!(events[0]["beneficiary_account_type"], 1, "{events:?}");

    let off =
        dmt_support::call(&v1, reqwest::Method::PUT, "/user/service/deactivate", &[("user_code", AGENT), ("service_code", "45")])
            .await;
    assert_eq!(off["status"], 0, "{off}");
    let before = pending(&app, partner_id).await;
    let form2: Vec<(&str, &str)> =
        form.iter().map(|&(k, v)| if k == "client_ref_id" { (k, "PO-V1-2") } else { (k, v) }).collect();
    let refused = dmt_support::call(&v1, reqwest::Method::POST, &path, &form2).await;
    assert_eq!((&refused["status"], &refused["message"]), (&json!(346), &json!("Agent not allowed")), "{refused}");
    assert_eq!(pending(&app, partner_id).await, before);
    let unknown = dmt_support::call(&v1, reqwest::Method::POST, "/agent/user_code:29999999/settlement", &form2).await;
    assert_eq!(unknown["status"], 463, "{unknown}");
    app.stop().await;
}

async fn upi_payments_check_the_vpa_and_settle(backend: Backend) {
    let (app, _clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let upi = |vpa: &str, reference: &str| {
        json!({ "user_code": AGENT, "customer_vpa": vpa, "recipient_name": "Aastha Malik", "amount": "205",
                "client_ref_id": reference, "latlong": "26.8863786,75.7393589" })
    };
    let before = available(&app, partner_id).await;
    for bad in ["aastha", "aastha@", "a a@upi", "aastha@ok-axis"] {
        let refused = post_json(&eko, "/customer/payment/upi", &upi(bad, "UPI-BAD")).await;
        assert!(refused["invalid_params"]["customer_vpa"].is_string(), "{bad}: {refused}");
    }
    let paid = post_json(&eko, "/customer/payment/upi", &upi("Aastha@okaxis", "UPI-1")).await;
    assert_eq!(
        (&paid["status"], &paid["response_type_id"], &paid["data"]["customer_vpa"]),
        (&json!(0), &json!(1982), &json!("aastha@okaxis")),
        "{paid}"
    );
    assert_eq!(paid["data"]["tx_status"], "0");
    let mobile = post_json(&eko, "/customer/payment/upi-mobile", &upi("9999999999", "UPI-2")).await;
    assert_eq!(
        (&mobile["response_type_id"], &mobile["data"]["customer_vpa"]),
        (&json!(1982), &json!("9999999999@upi")),
        "{mobile}"
    );
    let declined = post_json(&eko, "/customer/payment/upi", &upi("asha1111@upi", "UPI-3")).await;
    assert_eq!((&declined["status"], &declined["data"]["tx_status"]), (&json!(55), &json!("1")), "{declined}");
    assert_eq!(available(&app, partner_id).await, before - 2 * 21_000, "two paid, the decline voided");
    app.stop().await;
}

async fn the_settlement_account_balance_answers_the_partner_and_its_agents(backend: Backend) {
    let (app, _clock) = start(backend).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    fund_transfer(&eko, "PO-BAL-1", "5", "234243534", "100").await;
    let me = eko.credentials().initiator_id.clone();
    let mine = get(&eko, "/user/account/balance", &[("customer_id_type", "mobile_number"), ("customer_id", &me)]).await;
    let available = available(&app, partner_id).await;
    assert_eq!((&mine["status"], &mine["response_type_id"]), (&json!(0), &json!(1)), "{mine}");
    assert_eq!(mine["data"]["balance"], json!(format!("{}.{:02}", available / 100, available % 100)), "{mine}");
    // The sandbox agent shares the partner's mobile, so another agent is onboarded.
    let user_code = eko_support::onboard(&sandbox(&app, "/ekoapi/v1"), "ABCPV1234K", "9876500001").await;
    let theirs = get(&eko, "/user/account/balance", &[("customer_id", "9876500001")]).await;
    assert_eq!(
        (&theirs["status"], &theirs["data"]["user_code"], &theirs["data"]["balance"]),
        (&json!(0), &json!(user_code), &json!("0.00")),
        "{theirs}"
    );
    let nobody = get(&eko, "/user/account/balance", &[("customer_id", "9000000009")]).await;
    assert_eq!(nobody["status"], 463, "{nobody}");
    app.stop().await;
}

/// `…6666`: settled at once, then the beneficiary bank returns the money
/// `payout_reversal_secs` later: the payout worker's second look finds it, the ledger
/// gives amount and fee back (a new posted entry), `tx_status` 4, and a second status
/// event says so. An ordinary payout's second look leaves it settled.
async fn a_payout_the_bank_reverses_after_success_is_refunded_with_a_callback(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |c| c.payout_reversal_secs = 60).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = sandbox(&app, V3);
    let before = available(&app, partner_id).await;
    let reversing = fund_transfer(&eko, "PO-REV-1", "5", "9000006666", "400").await;
    let ordinary = fund_transfer(&eko, "PO-REV-2", "5", "234243534", "100").await;
    assert_eq!((&reversing["status"], &reversing["data"]["tx_status"]), (&json!(0), &json!("0")), "{reversing}");
    assert_eq!(available(&app, partner_id).await, before - 40_500 - 10_500);
    clock.advance_ms(61_000);
    let tid = tid_of(&reversing);
    wait_for_status(&app, partner_id, tid, 4).await;
    let other = app.state.store.payout(partner_id, tid_of(&ordinary)).await.unwrap().unwrap();
    let deadline = Instant::now() + WAIT;
    let mut other_done = other.check_at_ms.is_none();
    while !other_done {
        assert!(Instant::now() < deadline, "the ordinary payout was not looked at again");
        tokio::time::sleep(Duration::from_millis(10)).await;
        other_done = app.state.store.payout(partner_id, other.tid).await.unwrap().unwrap().check_at_ms.is_none();
    }
    assert_eq!(app.state.store.payout(partner_id, other.tid).await.unwrap().unwrap().tx_status.code(), 0, "still settled");
    assert_eq!(available(&app, partner_id).await, before - 10_500, "the reversed payout's amount and fee are back");
    let events: Vec<Value> = status_events(&app, partner_id).await.into_iter().filter(|e| e["tid"] == json!(tid)).collect();
    let statuses: Vec<(Value, Value)> = events.iter().map(|e| (e["tx_status"].clone(), e["txstatus_desc"].clone())).collect();
    assert_eq!(statuses, [(json!(0), json!("SUCCESS")), (json!(4), json!("REFUNDED"))], "{events:?}");
    let found = get(&sandbox(&app, "/ekoapi/v1"), &format!("/transactions/{tid}"), &[]).await;
    assert!(found["data"]["reason"].as_str().unwrap().contains("reversal"), "{found}");
    assert_eq!(app.state.store.ledger_limit_violations().await.unwrap(), 0);
    app.stop().await;
}
