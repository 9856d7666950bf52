//! What the gateway tests share: a ready sandbox agent (e-KYC done through the API), a
//! partner web server on its own port (so its origin differs from Kosh's) with the page
//! that opens the gateway by form POST, and the partner callbacks: the SDK's reference
//! one, and the broken ones real partners write.
#![allow(dead_code)]

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kosh_core::aadhaar::{with_check_digit, Aadhaar};
use kosh_core::aeps::simulated_pid;
use kosh_core::clock::{Clock, SystemClock};
use kosh_sdk::aeps_callback::AepsCallback;
use kosh_sdk::eko::Credentials;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

pub const AGENT: &str = "20810200";
pub const FINGPAY: &str = "/ekoapi/v3/user/collection/aeps-fingpay/kyc";

pub fn agent_aadhaar() -> Aadhaar {
    with_check_digit("98765432109").expect("valid")
}

pub fn customer_aadhaar() -> Aadhaar {
    with_check_digit("34567890123").expect("valid")
}

/// Sends a signed JSON request for the sandbox partner at the current time.
pub async fn call(kosh: &str, method: reqwest::Method, path: &str, mut body: Value) -> Value {
    let creds = Credentials::sandbox();
    body["initiator_id"] = json!(creds.initiator_id);
    let h = creds.sign(SystemClock.now_ms());
    let req = reqwest::Client::new()
        .request(method, format!("{kosh}{path}"))
        .header("developer_key", h.developer_key)
        .header("secret-key", h.secret_key)
        .header("secret-key-timestamp", h.secret_key_timestamp)
        .json(&body);
    let response = req.send().await.expect("kosh answers");
    response.json().await.unwrap_or(Value::Null)
}

/// Completes the sandbox agent's Fingpay e-KYC through the API; with `daily`, also its
/// daily authentication.
pub async fn ready_agent(kosh: &str, daily: bool) {
    let aadhaar = agent_aadhaar();
    let sent = call(
        kosh,
        reqwest::Method::POST,
        &format!("{FINGPAY}/otp"),
        json!({ "user_code": AGENT, "aadhar": aadhaar.digits(), "customer_id": "9962981729", "latlong": "28.45,77.02" }),
    )
    .await;
    assert_eq!(sent["response_type_id"], 1600, "{sent}");
    let creds = Credentials::sandbox();
    let h = creds.sign(SystemClock.now_ms());
    let otp: Value = reqwest::Client::new()
        .get(format!("{kosh}/sandbox/otp?mobile=9962981729&purpose=aeps_ekyc"))
        .header("developer_key", h.developer_key)
        .header("secret-key", h.secret_key)
        .header("secret-key-timestamp", h.secret_key_timestamp)
        .send()
        .await
        .expect("otp")
        .json()
        .await
        .expect("json");
    let verified = call(
        kosh,
        reqwest::Method::PUT,
        &format!("{FINGPAY}/otp/verify"),
        json!({ "user_code": AGENT, "otp": otp["data"]["otp"] }),
    )
    .await;
    assert_eq!(verified["response_type_id"], 1604, "{verified}");
    let bio = json!({ "user_code": AGENT, "aadhar": aadhaar.digits(), "piddata": simulated_pid(3), "latlong": "28.45,77.02" });
    let done = call(kosh, reqwest::Method::PUT, &format!("{FINGPAY}/biometric"), bio.clone()).await;
    assert_eq!(done["response_type_id"], 1605, "{done}");
    if daily {
        let auth = call(kosh, reqwest::Method::PUT, &format!("{FINGPAY}/biometric/daily"), bio).await;
        assert_eq!(auth["response_type_id"], 1713, "{auth}");
    }
}

/// The form fields that open the gateway, signed now.
pub fn gateway_form(callback_url: &str) -> Vec<(&'static str, String)> {
    let creds = Credentials::sandbox();
    let h = creds.sign(SystemClock.now_ms());
    vec![
        ("partner_name", "Test Partner".into()),
        ("initiator_id", creds.initiator_id.clone()),
        ("developer_key", h.developer_key),
        ("secret_key", h.secret_key),
        ("secret_key_timestamp", h.secret_key_timestamp),
        ("user_code", AGENT.into()),
        ("environment", "uat".into()),
        ("language", "en".into()),
        ("callback_url", callback_url.into()),
        ("callback_url_custom_params", r#"{"param1":"value1"}"#.into()),
    ]
}

/// How the partner's callback behaves.
#[derive(Clone)]
pub enum Callback {
    /// The SDK's reference callback.
    Reference(Arc<AepsCallback>),
    /// Answers like the reference, but without any CORS headers.
    NoCors(Arc<AepsCallback>),
    /// Signs secret_key correctly but request_hash over the fields in the wrong order.
    WrongHashOrder,
    /// Answers the debit-hook (with CORS) as the mode currently says, never with a
    /// confirmation.
    Misbehaving(Arc<AtomicU8>),
}

/// The modes of [`Callback::Misbehaving`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Misbehaviour {
    /// HTTP 200 with a body that is not JSON.
    NotJson,
    /// HTTP 200 with JSON that is not a debit-hook answer.
    WrongShape,
    /// Answers only after [`SLOW_ANSWER`]: longer than the test's callback timeout and
    /// than any wait of a test, so the page's timeout always fires first.
    Slow,
}

/// How long a [`Misbehaviour::Slow`] callback takes to answer.
pub const SLOW_ANSWER: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Clone)]
struct Partner {
    kosh: String,
    origin: String,
    callback: Callback,
}

/// Starts the partner's web server; answers its origin.
pub async fn start_partner(kosh: &str, callback: Callback) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let partner = Partner { kosh: kosh.to_owned(), origin: origin.clone(), callback: callback.clone() };
    let mut app = Router::new().route("/start", get(start_page)).with_state(partner);
    app = match callback {
        Callback::Reference(cb) => app.merge(cb.router("/callback")),
        Callback::NoCors(cb) => app.merge(Router::new().route("/callback", post(no_cors)).with_state(cb)),
        Callback::WrongHashOrder => app.route("/callback", post(wrong_hash_order).options(reference_preflight)),
        Callback::Misbehaving(mode) => {
            app.merge(Router::new().route("/callback", post(misbehaving).options(reference_preflight)).with_state(mode))
        }
    };
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("partner server");
    });
    (origin, task)
}

/// The partner's page that opens the gateway with a form POST (signed on load).
async fn start_page(State(p): State<Partner>) -> Html<String> {
    let fields: String = gateway_form(&format!("{}/callback", p.origin))
        .iter()
        .map(|(k, v)| {
            format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", v.replace('&', "&amp;").replace('"', "&quot;"))
        })
        .collect();
    Html(format!(
        "<!doctype html><html><body><form id=\"open\" method=\"POST\" action=\"{}/v2/aeps\">{fields}\
         <button type=\"submit\">Open AePS</button></form><script>document.getElementById('open').submit()</script></body></html>",
        p.kosh
    ))
}

/// The reference answer, without CORS headers (and no OPTIONS route at all).
async fn no_cors(State(cb): State<Arc<AepsCallback>>, Json(body): Json<Value>) -> Response {
    match cb.answer(&body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn reference_preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"),
        ],
    )
        .into_response()
}

async fn wrong_hash_order(Json(body): Json<Value>) -> Response {
    let creds = Credentials::sandbox();
    let now = SystemClock.now_ms();
    let data = &body["detail"]["data"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    // The mistake: amount first.
    let fields = [text(&data["amount"]), text(&data["customer_id"]), text(&data["user_code"])];
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let signed = creds.sign(now);
    let answer = json!({ "action": "go", "allow": true, "secret_key": signed.secret_key,
                         "secret_key_timestamp": signed.secret_key_timestamp, "request_hash": creds.request_hash(now, &refs) });
    ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(answer)).into_response()
}

async fn misbehaving(State(mode): State<Arc<AtomicU8>>) -> Response {
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    match mode.load(Ordering::SeqCst) {
        m if m == Misbehaviour::NotJson as u8 => (cors, "OK").into_response(),
        m if m == Misbehaviour::WrongShape as u8 => (cors, Json(json!({ "status": "success" }))).into_response(),
        _ => {
            tokio::time::sleep(SLOW_ANSWER).await;
            (cors, Json(json!({ "action": "go", "allow": false, "message": "too late" }))).into_response()
        }
    }
}
