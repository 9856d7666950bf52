//! What the Eko API tests share: a real server on port 0 on either backend, signed
//! clients, and agent fixtures.
#![allow(dead_code)] // each test binary uses a different part of this module

use kosh_core::clock::{Clock, SharedClock, SystemClock};
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::config::Config;
use kosh_server::App;
use kosh_store::commands::{Command, Outcome};
use kosh_store::ops::partners::{NewPartner, Partner};
pub use kosh_testkit::Backend;
use serde_json::Value;
use std::sync::Arc;

/// An Aadhaar hash key for servers started outside sandbox mode (which need one).
pub const TEST_AADHAAR_PEPPER: &str = "test-aadhaar-pepper-0123456789abcdef";

/// 2023-11-14 22:13:20Z (03:43 on the 15th in India): where the AePS tests' clocks start.
pub const T0_MS: i64 = 1_700_000_000_000;
/// Where the AePS (Fingpay) onboarding and KYC routes live.
pub const FINGPAY: &str = "/ekoapi/v3/user/collection/aeps-fingpay/kyc";
/// The agent's location AePS requests carry.
pub const LATLONG: &str = "28.4595,77.0266";
/// The customer (mobile) AePS tests transact for.
pub const CUSTOMER: &str = "9812345678";

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

/// Configures a server outside sandbox mode, with the secrets it then requires.
pub fn production(c: &mut Config) {
    c.sandbox = false;
    c.echelon_token_pepper = Some("a-test-pepper-of-at-least-32-characters".into());
    c.aeps_aadhaar_pepper = Some(TEST_AADHAAR_PEPPER.into());
}

/// Creates a partner (not a sandbox one) named `name` with `credentials`.
pub async fn create_partner(app: &App, name: &str, credentials: &Credentials) -> Partner {
    let new = NewPartner {
        name: name.into(),
        developer_key: credentials.developer_key.clone(),
        access_key: credentials.access_key.clone().into(),
        initiator_id: credentials.initiator_id.clone(),
        is_sandbox: false,
    };
    match app.state.store.execute(Command::CreatePartner(new)).await {
        Ok(Outcome::PartnerCreated(p)) => p,
        other => panic!("creating partner {name}: {other:?}"),
    }
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

/// Everything logged through `tracing` at `level` and above in this test binary, from
/// every crate (the servers run in this process), from the first call on. The first call
/// installs the binary's only subscriber, so a binary asks for one level.
pub fn captured_logs(level: tracing_subscriber::filter::LevelFilter) -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(level)
            .with_writer(move || LogSink(sink.clone()))
            .try_init()
            .expect("the only log subscriber of this test binary");
        logs
    })
    .clone()
}

struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
