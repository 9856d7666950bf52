//! JSON bodies of the Eko dialect are taken at their wire types, on both backends: a
//! scalar parameter refuses an object, an array or a boolean (naming the field in
//! `invalid_params`), numbers keep their exact source text, and a key given twice is
//! refused. Every refusal leaves the store as it was.

mod eko_support;
use kosh_core::ids::UserCode;
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::{available, recipient, sandbox_partner, verified_customer, AGENT};
use eko_support::{sandbox, send, signed, Backend};
use kosh_sdk::eko::Credentials;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    a_transfer_refuses_a_client_ref_id_that_is_not_a_string,
    a_transfer_refuses_a_key_given_twice,
    a_token_keeps_a_numeric_name_as_sent,
    onboarding_refuses_a_boolean_name,
);

const MOBILE: &str = "9123400077";

fn transfer_body(recipient_id: &str, client_ref_id: Value) -> Value {
    json!({
        "initiator_id": Credentials::sandbox().initiator_id,
        "user_code": AGENT,
        "customer_id": MOBILE,
        "recipient_id": recipient_id,
        "amount": "500",
        "timestamp": "2026-11-21T10:00:00.000Z",
        "currency": "INR",
        "client_ref_id": client_ref_id,
        "state": "1",
        "channel": "2",
        "latlong": "28.4595,77.0266",
    })
}

fn assert_refused(body: &Value, field: &str) {
    assert_eq!(body["status"], 1, "{body}");
    assert_eq!(body["response_status_id"], 1, "{body}");
    assert!(body["invalid_params"][field].is_string(), "invalid_params names {field}: {body}");
}

async fn a_transfer_refuses_a_client_ref_id_that_is_not_a_string(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    verified_customer(&app, &eko, AGENT, MOBILE).await;
    let rid = recipient(&eko, AGENT, MOBILE, "5500001234", "HDFC0000123").await;
    let partner = sandbox_partner(&app).await;
    let before = available(&app, partner).await;
    for bad in [json!(["A1", "B2"]), json!({}), json!(true)] {
        let answer = eko.send_json(Method::POST, "/transactions", &transfer_body(&rid, bad.clone()), None).await.unwrap();
        assert_eq!(answer.status, 200, "{bad}: {}", answer.body);
        assert_refused(&answer.body, "client_ref_id");
        assert_eq!(available(&app, partner).await, before, "{backend:?}: {bad} moved no money");
    }
    // A number is a scalar the wire format allows: it is the client_ref_id, as sent.
    let answer = eko.send_json(Method::POST, "/transactions", &transfer_body(&rid, json!(7001)), None).await.unwrap();
    assert_eq!(answer.body["status"], 0, "{}", answer.body);
    assert_eq!(answer.body["data"]["client_ref_id"], "7001", "{}", answer.body);
    app.stop().await;
}

async fn a_transfer_refuses_a_key_given_twice(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    verified_customer(&app, &eko, AGENT, MOBILE).await;
    let rid = recipient(&eko, AGENT, MOBILE, "5500001234", "HDFC0000123").await;
    let partner = sandbox_partner(&app).await;
    let before = available(&app, partner).await;
    let body = transfer_body(&rid, json!("DUP-1")).to_string();
    let cases = [
        ("amount", body.replacen("\"amount\":\"500\"", "\"amount\":\"500\",\"amount\":\"5000\"", 1)),
        (
            "client_ref_id",
            body.replacen("\"client_ref_id\":\"DUP-1\"", "\"client_ref_id\":\"DUP-1\",\"client_ref_id\":\"DUP-2\"", 1),
        ),
    ];
    let http = reqwest::Client::new();
    for (field, text) in cases {
        assert_ne!(text, body, "the duplicate was written into the body");
        let req = signed(http.post(format!("{}/ekoapi/v1/transactions", app.url())));
        let (status, answer) = send(req.header("content-type", "application/json").body(text)).await;
        assert_eq!(status, 200, "{answer}");
        assert_refused(&answer, field);
        assert_eq!(available(&app, partner).await, before, "{backend:?}: a duplicate {field} moved no money");
    }
    app.stop().await;
}

async fn a_token_keeps_a_numeric_name_as_sent(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let url = format!("{}/ekoapi/v3/customer/payment/token", app.url());
    let expiry = kosh_core::civil::ist_datetime(kosh_core::clock::Clock::now_ms(&kosh_core::clock::SystemClock) + 86_400_000);
    // serde_json cannot write 1e-400 (it is below f64's range): the body is written by hand.
    let body = format!(
        r#"{{"initiator_id":"{}","client_ref_id":"TOKEN-NUM-1","product_code":"LOAN-EMI","customer_id":"9400000000",
        "customer_name":1e-400,"expiry":"{expiry}","total":{{"label":"EMI","amount":{{"currency":"INR","value":"1500.00"}}}}}}"#,
        Credentials::sandbox().initiator_id
    );
    let http = reqwest::Client::new();
    let (status, answer) = send(signed(http.post(&url)).header("content-type", "application/json").body(body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], 0, "{answer}");
    let token = answer["data"]["token"].as_str().expect("a token").to_owned();
    let eko = sandbox(&app, "/ekoapi/v3");
    let inquiry = eko.get(&format!("/customer/payment/token/{token}"), &[]).await.unwrap();
    assert_eq!(inquiry.body["data"]["customer_name"], "1e-400", "{backend:?}: {}", inquiry.body);
    let booleans = json!({ "initiator_id": Credentials::sandbox().initiator_id, "client_ref_id": "TOKEN-NUM-2",
        "product_code": "LOAN-EMI", "customer_id": "9400000000", "customer_name": false, "expiry": expiry,
        "total": {"label": "EMI", "amount": {"currency": "INR", "value": "1500.00"}} });
    let refused = eko.send_json(Method::POST, "/customer/payment/token", &booleans, None).await.unwrap();
    assert_refused(&refused.body, "customer_name");
    let missing = eko.get("/customer/payment/token/client_ref_id:TOKEN-NUM-2", &[]).await.unwrap();
    assert_ne!(missing.body["status"], 0, "{backend:?}: the refused token was not stored: {}", missing.body);
    app.stop().await;
}

async fn onboarding_refuses_a_boolean_name(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let mut body = json!({
        "initiator_id": Credentials::sandbox().initiator_id,
        "pan_number": "BBCPV1234F",
        "mobile": "9123409876",
        "first_name": true,
        "last_name": "Verma",
        "email": "asha.verma@example.com",
        "residence_address": {"line": "12 MG Road", "city": "Gurgaon", "state": "Haryana", "pincode": "122002"},
        "dob": "1990-04-15",
        "shop_name": "Asha General Store",
    });
    let refused = eko.send_json(Method::PUT, "/user/onboard", &body, None).await.unwrap();
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert_refused(&refused.body, "first_name");
    // The same request with a string name (the residence address an object) is served,
    // and the agent it makes is that request's: nothing of the refused one was kept.
    body["first_name"] = json!("Asha");
    let served = eko.send_json(Method::PUT, "/user/onboard", &body, None).await.unwrap();
    assert_eq!(served.body["response_type_id"], 1290, "{}", served.body);
    let user_code: UserCode = served.body["data"]["user_code"].as_str().and_then(|c| c.parse().ok()).expect("a user_code");
    let partner = app.state.store.find_partner("sandbox").await.unwrap().expect("the sandbox partner");
    let agent = app.state.store.agent(partner.id, user_code).await.unwrap().expect("the agent");
    assert_eq!(agent.first_name, "Asha", "{backend:?}");
    app.stop().await;
}
