//! What the Eko API tests share: a real server on port 0 on either backend, signed
//! clients, and agent fixtures.
#![allow(dead_code)] // each test binary uses a different part of this module

use kosh_core::clock::{Clock, SharedClock, SystemClock};
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::config::Config;
use kosh_server::App;
pub use kosh_testkit::Backend;
use serde_json::Value;
use std::sync::Arc;

/// An Aadhaar hash key for servers started outside sandbox mode (which need one).
pub const TEST_AADHAAR_PEPPER: &str = "test-aadhaar-pepper-0123456789abcdef";

/// The prefixes every Eko route is served under.
pub const PREFIXES: [&str; 4] = ["/ekoapi/v1", "/ekoapi/v2", "/ekoicici/v1", "/ekoicici/v2"];

/// Starts a sandbox-mode server on a fresh database of `backend`, on the wall clock.
pub async fn start(backend: Backend, configure: impl FnOnce(&mut Config)) -> App {
    start_with_clock(backend, Arc::new(SystemClock), configure).await
}

pub async fn start_with_clock(backend: Backend, clock: SharedClock, configure: impl FnOnce(&mut Config)) -> App {
    let mut config = Config { listen: "127.0.0.1:0".parse().expect("address"), ..Config::default() };
    match backend {
        Backend::Sqlite => config.data_dir = kosh_testkit::scratch_dir(),
        Backend::Postgres => config.database_url = Some(kosh_testkit::fresh_database().await.into()),
    }
    configure(&mut config);
    App::start(config, clock).await.expect("start the server")
}

/// A client for the public sandbox partner under `prefix`.
pub fn sandbox(app: &App, prefix: &str) -> Client {
    Client::new(format!("{}{prefix}", app.url()), Credentials::sandbox())
}

/// A client for the sandbox partner at the server root (for Kosh's own paths).
pub fn root(app: &App) -> Client {
    Client::new(app.url(), Credentials::sandbox())
}

/// Adds the three authentication headers for `credentials`, signed at `timestamp_ms`.
pub fn signed_at(req: reqwest::RequestBuilder, credentials: &Credentials, timestamp_ms: i64) -> reqwest::RequestBuilder {
    let h = credentials.sign(timestamp_ms);
    req.header("developer_key", h.developer_key)
        .header("secret-key", h.secret_key)
        .header("secret-key-timestamp", h.secret_key_timestamp)
}

/// Signs with the sandbox credentials at the current time.
pub fn signed(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    signed_at(req, &Credentials::sandbox(), SystemClock.now_ms())
}

/// Sends `req` and returns the HTTP status and the JSON body (`Null` when not JSON).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let response = req.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("read the body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A well-formed onboarding request (without `initiator_id`, which the SDK adds).
pub fn agent_form(pan: &str, mobile: &str) -> Vec<(&'static str, String)> {
    vec![
        ("pan_number", pan.into()),
        ("mobile", mobile.into()),
        ("first_name", "Asha".into()),
        ("middle_name", "Devi".into()),
        ("last_name", "Verma".into()),
        ("email", "asha.verma@example.com".into()),
        ("residence_address", r#"{"line":"12 MG Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#.into()),
        ("dob", "1990-04-15".into()),
        ("shop_name", "Asha General Store".into()),
    ]
}

/// `form` as the `&[(&str, &str)]` the SDK takes.
pub fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Onboards an agent through the API and returns its user_code.
pub async fn onboard(client: &Client, pan: &str, mobile: &str) -> String {
    let form = agent_form(pan, mobile);
    let answer = client.send_form(reqwest::Method::PUT, "/user/onboard", &pairs(&form)).await.expect("onboard");
    assert_eq!(answer.body["response_type_id"], 1290, "{}", answer.body);
    answer.body["data"]["user_code"].as_str().expect("user_code is a string").to_owned()
}

/// `PUT path` with `form` (and `initiator_id`) for the sandbox partner.
pub async fn put(client: &Client, path: &str, form: &[(&str, &str)]) -> Value {
    let answer = client.send_form(reqwest::Method::PUT, path, form).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// `GET path` with `query` (and `initiator_id`) for the sandbox partner.
pub async fn get(client: &Client, path: &str, query: &[(&str, &str)]) -> Value {
    let answer = client.get(path, query).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// The entry for `service_code` in an enquiry answer.
pub fn service_entry(enquiry: &Value, service_code: &str) -> Option<Value> {
    enquiry["data"]["service_status_list"].as_array()?.iter().find(|s| s["service_code"] == service_code).cloned()
}

/// The names listed in `invalid_params`, sorted.
pub fn invalid_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["invalid_params"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    names.sort();
    names
}
