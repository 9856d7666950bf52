//! What the verification tests share: a sandbox server on a manual clock, signed calls,
//! the sandbox wallet, and a valid example for every field of every kind.
#![allow(dead_code)] // each test binary uses a different part of this module

use crate::eko_support::{self, Backend};
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::Client;
use kosh_server::config::Config;
use kosh_server::App;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The sandbox agent, with every service active.
pub const AGENT: &str = "20810200";
pub const V1: &str = "/ekoapi/v1";
pub const V2: &str = "/ekoapi/v2";
pub const V3: &str = "/ekoapi/v3";

/// A sandbox server on a manual clock starting at the wall clock (the SDK signs with
/// the wall clock, so the tolerance covers how far tests move it), with no verification
/// worker unless `configure` sets one.
pub async fn start(backend: Backend, configure: impl FnOnce(&mut Config)) -> (App, Arc<ManualClock>) {
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400;
        c.verification_worker_tick_ms = 0;
        c.verification_async_step_secs = 10;
        configure(c);
    })
    .await;
    (app, clock)
}

pub async fn partner_id(app: &App) -> i64 {
    app.state.store.find_partner("sandbox").await.expect("read").expect("the sandbox partner").id.get()
}

/// The sandbox partner's available e-value, in paise.
pub async fn available(app: &App) -> i64 {
    let id = partner_id(app).await;
    app.state.store.balance(id, &AccountKind::PartnerWallet).await.expect("balance").available_credit()
}

/// `method path` with `form` for the sandbox partner; HTTP 200 required.
pub async fn call(client: &Client, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    let answer =
        if method == reqwest::Method::GET { client.get(path, form).await } else { client.send_form(method, path, form).await }
            .expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

/// A JSON `POST path` (with `initiator_id`); HTTP 200 required.
pub async fn post_json(client: &Client, path: &str, body: Value) -> Value {
    let mut body = body;
    body["initiator_id"] = Value::String(client.credentials().initiator_id.clone());
    let answer = client.send_json(reqwest::Method::POST, path, &body, None).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

/// A valid value for every field name the kinds use (the README's examples).
pub fn example(kind: &str, name: &str) -> Option<String> {
    let v = match name {
        "customer_id" | "mobile" | "phone" => "9876543210",
        "user_code" => AGENT,
        "id_type" => "ifsc",
        "id" | "ifsc" => "SBIN0001234",
        "acc_num" => "123456789012",
        "pan_number" | "pan" => "ABCPV1234K",
        "purpose" | "intent_id" => "1",
        "purpose_desc" => "onboarding",
        "name" | "employee_name" | "name_1" => "Asha Verma",
        "name_2" => "Asha Varma",
        "dob" => "1990-04-15",
        "entries" if kind == "bank_account_bulk" => {
            r#"[{"bank_account":"123456789012","ifsc":"SBIN0001234"},{"bank_account":"123456781111","ifsc":"SBIN0001234"}]"#
        }
        "entries" => r#"[{"pan":"ABCPV1234K","name":"Asha Verma"},{"pan":"ABCPV0000K"}]"#,
        "realsourceip" | "ip_address" => "203.0.113.7",
        "image_1" | "image_2" => "/9j/4AAQSkZJRgABAQ==",
        "GSTIN" => "27AAPFU0939F1ZV",
        "business_name" => "Uber India",
        "document_requested" => r#"["AADHAAR"]"#,
        "redirect_url" => "https://partner.example/back",
        "vehicle_number" => "DL01AB1234",
        "dl_number" => "DL0420110012345",
        "epic_number" => "ABC1234567",
        "file_number" => "DL1061234567890",
        "cin" => "U12345DL1999PTC012345",
        "latitude" => "28.4595",
        "longitude" => "77.0266",
        _ => return None,
    };
    Some(v.to_owned())
}

/// How long a test waits for a stated condition before it fails.
const WAIT: Duration = Duration::from_secs(60);

/// Polls `probe` (bounded by [`WAIT`]) until it answers `Some`.
pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut probe: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
