//! What the money-transfer tests share: enrolling and verifying customers, adding
//! recipients and sending transfers through the signed API, and reading the ledger.
#![allow(dead_code)] // each test binary uses a different part of this module

use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::Client;
use kosh_server::config::Config;
use kosh_server::App;
use kosh_store::ops::dmt_transfers::Transfer;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

use crate::eko_support::{self, Backend};

/// The sandbox agent, onboarded with every service.
pub const AGENT: &str = "20810200";

/// A sandbox server on a manual clock that starts at the wall clock (the SDK signs with
/// the wall clock, so the tolerance covers how far tests move the manual clock), with
/// quick sandbox rail timings and a fast rail worker.
pub async fn start(backend: Backend, configure: impl FnOnce(&mut Config)) -> (App, Arc<ManualClock>) {
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400;
        c.neft_batch_secs = 60;
        c.rail_hold_secs = 60;
        c.rail_late_failure_secs = 30;
        c.rail_worker_tick_ms = 10;
        configure(c);
    })
    .await;
    (app, clock)
}

/// `method path` with `form` (and initiator_id); the HTTP status must be 200.
pub async fn call(client: &Client, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    let answer = client.send_form(method, path, form).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

pub async fn get(client: &Client, path: &str, query: &[(&str, &str)]) -> Value {
    let answer = client.get(path, query).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

/// The latest usable sandbox OTP for `mobile` and `purpose`.
pub async fn sandbox_otp(app: &App, mobile: &str, purpose: &str) -> String {
    let body = get(&eko_support::root(app), "/sandbox/otp", &[("mobile", mobile), ("purpose", purpose)]).await;
    body["data"]["otp"].as_str().unwrap_or_else(|| panic!("an OTP for {mobile} ({purpose}): {body}")).to_owned()
}

/// The latest usable OTP of `client`'s partner, read from the store (sandbox mode keeps
/// it readable); works for any partner, not only the public sandbox one.
pub async fn stored_otp(app: &App, client: &Client, mobile: &str, purpose: &str) -> String {
    let store = &app.state.store;
    let partner = store.partner_by_developer_key(&client.credentials().developer_key).await.expect("read").expect("partner");
    let found = store.sandbox_otp(partner.id, purpose, mobile).await.expect("read");
    found.unwrap_or_else(|| panic!("no OTP for {mobile} ({purpose})")).1
}

pub fn customer_form(user_code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("user_code", user_code.into()),
        ("name", "Asha Verma".into()),
        ("dob", "1990-04-15".into()),
        ("residence_address", r#"{"line":"12 MG Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#.into()),
    ]
}

/// Enrols `mobile` and verifies it with the sandbox OTP.
pub async fn verified_customer(app: &App, client: &Client, user_code: &str, mobile: &str) {
    let form = customer_form(user_code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = call(client, reqwest::Method::PUT, &format!("/customers/mobile_number:{mobile}"), &form).await;
    assert_eq!(created["response_type_id"], 327, "{created}");
    let otp = stored_otp(app, client, mobile, "dmt_customer").await;
    let verified = call(
        client,
        reqwest::Method::PUT,
        &format!("/customers/verification/otp:{otp}"),
        &[("user_code", user_code), ("id_type", "mobile_number"), ("id", mobile)],
    )
    .await;
    assert_eq!(verified["response_type_id"], 2132, "{verified}");
}

/// Adds a recipient with `account` at `ifsc` and returns its recipient_id.
pub async fn recipient(client: &Client, user_code: &str, mobile: &str, account: &str, ifsc: &str) -> String {
    let path = format!("/customers/mobile_number:{mobile}/recipients/acc_ifsc:{account}_{ifsc}");
    let form =
        [("user_code", user_code), ("recipient_name", "Ravi Kumar"), ("recipient_mobile", "9876543210"), ("recipient_type", "3")];
    let body = call(client, reqwest::Method::PUT, &path, &form).await;
    assert_eq!(body["response_type_id"], 43, "{body}");
    body["data"]["recipient_id"].as_i64().expect("recipient_id").to_string()
}

/// The form of a transfer, as the seed lists its fields.
pub fn transfer_form<'a>(
    user_code: &'a str,
    mobile: &'a str,
    recipient_id: &'a str,
    amount: &'a str,
    client_ref_id: &'a str,
    channel: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("user_code", user_code),
        ("customer_id", mobile),
        ("recipient_id", recipient_id),
        ("amount", amount),
        ("timestamp", "2026-11-21T10:00:00.000Z"),
        ("currency", "INR"),
        ("client_ref_id", client_ref_id),
        ("state", "1"),
        ("channel", channel),
        ("latlong", "28.4595,77.0266"),
        ("hold_timeout", "10"),
    ]
}

pub async fn transfer(
    client: &Client,
    mobile: &str,
    recipient_id: &str,
    amount: &str,
    client_ref_id: &str,
    channel: &str,
) -> Value {
    call(
        client,
        reqwest::Method::POST,
        "/transactions",
        &transfer_form(AGENT, mobile, recipient_id, amount, client_ref_id, channel),
    )
    .await
}

/// The sandbox partner's id.
pub async fn sandbox_partner(app: &App) -> PartnerId {
    app.state.store.find_partner("sandbox").await.expect("read").expect("the sandbox partner").id
}

/// The partner's available e-value, in paise.
pub async fn available(app: &App, partner_id: PartnerId) -> i64 {
    app.state.store.balance(partner_id, &AccountKind::PartnerWallet).await.expect("balance").available_credit()
}

/// How long a test waits for a stated condition before it fails: generous, since it only
/// bounds a failure and a busy machine may be slow.
const WAIT: Duration = Duration::from_secs(60);

/// Waits (bounded by [`WAIT`]) until transfer `tid` satisfies `done`, and returns it.
pub async fn wait_for(app: &App, partner_id: PartnerId, tid: Tid, done: impl Fn(&Transfer) -> bool) -> Transfer {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let t = app.state.store.dmt_transfer(partner_id, tid).await.expect("read").expect("the transfer exists");
        if done(&t) {
            return t;
        }
        assert!(std::time::Instant::now() < deadline, "transfer {tid} did not reach the expected state within {WAIT:?}: {t:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn tid_of(body: &Value) -> Tid {
    body["data"]["tid"].as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("a tid: {body}"))
}

/// The `eko.tx_status` callback bodies of a partner's events (as the callback engine
/// renders them), oldest first.
pub async fn status_events(app: &App, partner_id: PartnerId) -> Vec<Value> {
    let mut events: Vec<Value> = app
        .state
        .store
        .recent_outbox(partner_id, 1000)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|e| e.kind == "eko.tx_status")
        .map(|e| rendered_body(&e.kind, &e.payload))
        .collect();
    events.reverse();
    events
}

/// The body the callback engine sends for a stored outbox payload.
pub fn rendered_body(kind: &str, payload: &Value) -> Value {
    let delivery = kosh_server::workers::callbacks::render(kind, &payload.to_string()).expect("a deliverable payload");
    serde_json::from_slice(&delivery.body.body).expect("a JSON body")
}
