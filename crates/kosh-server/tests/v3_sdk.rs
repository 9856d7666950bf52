//! The vendor's Python SDK (PyPI `eps-sdk`, pinned in `scripts/setup-sdks`) as a real
//! client of Kosh's v3 core, on both backends: `tests/sdk/v3_core.py` points
//! `EpsClient.base_url` at a local Kosh and drives user management, AePS under v3 and
//! the common inquiry end to end (a v1 DMT transfer and a Token payment made here first
//! must be found by it), asserting the docs' `status`, `response_type_id`, the keys of
//! `data` and the wallet to the paisa. Its summary is checked against the store.

mod eko_support;
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::{available, recipient, sandbox_partner, tid_of, transfer, verified_customer, AGENT};
use eko_support::Backend;
use kosh_core::aadhaar::with_check_digit;
use kosh_core::aeps::simulated_pid;
use kosh_core::civil::ist_datetime;
use kosh_core::clock::Clock;
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::App;
use serde_json::{json, Value};
use std::process::Command;

on_both_backends!(the_vendor_python_sdk_drives_the_v3_core);

/// The SDK's endpoints (slugs) this branch serves, each driven by the script.
const SDK_ENDPOINTS_SERVED: [&str; 16] = [
    "activate-aeps-fingpay",
    "activate-user-service",
    "aeps-fingpay-balance-enquiry",
    "aeps-fingpay-biometric-ekyc",
    "aeps-fingpay-cash-withdrawal",
    "aeps-fingpay-cash-withdrawal-otp",
    "aeps-fingpay-daily-auth",
    "aeps-fingpay-mini-statement",
    "aeps-fingpay-send-otp-kyc",
    "aeps-fingpay-verify-otp-kyc",
    "deactivate-user-service",
    "get-all-services",
    "get-user-services",
    "get-wallet-balance",
    "onboard-user",
    "transaction-inquiry",
];

async fn the_vendor_python_sdk_drives_the_v3_core(backend: Backend) {
    let sdk = kosh_testkit::python_sdk();
    let (app, clock) = dmt_support::start(backend, |c| c.service_review_secs = 0).await;
    let partner_id = sandbox_partner(&app).await;
    let eko = eko_support::sandbox(&app, "/ekoapi/v1");
    let mobile = "9123400031";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let rid = recipient(&eko, AGENT, mobile, "123456789012", "SBIN0001234").await;
    let sent = transfer(&eko, mobile, &rid, "1500", "V1-FOR-V3", "2").await;
    assert_eq!(sent["data"]["tx_status"], "0", "{sent}");
    let token = token_payment(&app, clock.now_ms()).await;

    let config = json!({
        "base": app.url(),
        "developer_key": Credentials::sandbox().developer_key,
        "access_key": Credentials::sandbox().access_key,
        "initiator_id": Credentials::sandbox().initiator_id,
        "agent_pan": "ABCPV3333V",
        "agent_mobile": "9876533331",
        "second_pan": "ABCPV4444V",
        "second_mobile": "9876533332",
        "agent_aadhaar": with_check_digit("23456789012").unwrap().digits(),
        "customer_aadhaar": with_check_digit("34567890123").unwrap().digits(),
        "customer": eko_support::CUSTOMER,
        "pid_ekyc": simulated_pid(1),
        "pid_tx": simulated_pid(9),
        "v1_transfer": { "tid": tid_of(&sent).to_string(), "client_ref_id": "V1-FOR-V3" },
        "token_payment": token,
    });
    let config_path = kosh_testkit::scratch_dir().join("v3_core.json");
    std::fs::write(&config_path, config.to_string()).expect("write the script's config");
    let summary = run_script(&sdk, &config_path).await;

    assert_eq!(
        summary["wallet_paise"].as_i64(),
        Some(available(&app, partner_id).await),
        "the SDK saw the store's wallet: {summary}"
    );
    let cw_tid: kosh_core::ids::Tid = summary["cw_tid"].as_str().and_then(|t| t.parse().ok()).expect("the withdrawal's tid");
    let cw = app.state.store.aeps_transaction(partner_id, cw_tid).await.expect("read").expect("the withdrawal is stored");
    assert_eq!((cw.client_ref_id.as_str(), cw.amount_paise.get(), cw.tx_status), ("V3CW1", 250_000, 0));
    let slugs: Vec<&str> = summary["slugs"].as_array().expect("slugs").iter().filter_map(Value::as_str).collect();
    assert_eq!(slugs, SDK_ENDPOINTS_SERVED, "the SDK endpoints the script drives");
    app.stop().await;
}

/// Runs the script with the SDK on PYTHONPATH; its last stdout line is its summary.
async fn run_script(sdk: &std::path::Path, config: &std::path::Path) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/v3_core.py");
    let (sdk, config) = (sdk.to_owned(), config.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(script).arg(&config).env("PYTHONPATH", &sdk).output().expect("run python3")
    })
    .await
    .expect("the script ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tests/sdk/v3_core.py failed ({}):\n{stdout}\n{stderr}", output.status);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("the script's summary {last:?}: {e}\n{stderr}"))
}

/// A token issued by another partner and paid at the sandbox agent: its payment is a
/// transaction of the sandbox partner, found by the common inquiry.
async fn token_payment(app: &App, now_ms: i64) -> Value {
    let credentials = Credentials {
        developer_key: "v3-issuer-developer-key".into(),
        access_key: "v3-issuer-access-key".into(),
        initiator_id: "9811122299".into(),
    };
    eko_support::create_partner(app, "v3-issuer", &credentials).await;
    let issuer = Client::new(format!("{}/ekoapi/v3", app.url()), credentials.clone());
    let body = json!({
        "initiator_id": credentials.initiator_id,
        "client_ref_id": "V3-TOKEN-1",
        "product_code": "LOAN-EMI",
        "customer_id": "9400000000",
        "customer_name": "Ram Kumar",
        "expiry": ist_datetime(now_ms + 86_400_000),
        "total": {"label": "EMI", "amount": {"currency": "INR", "value": "700.00"}},
        "display_items": [{"label": "EMI", "amount": {"currency": "INR", "value": "700.00"}}],
    });
    let issued = issuer.send_json(reqwest::Method::POST, "/customer/payment/token", &body, None).await.expect("issue");
    assert_eq!(issued.body["response_type_id"], 2201, "{}", issued.body);
    let number = issued.body["data"]["token"].as_str().expect("a token number").to_owned();
    let payer = eko_support::sandbox(app, "/ekoapi/v3");
    let pay = json!({ "initiator_id": Credentials::sandbox().initiator_id, "user_code": AGENT, "client_ref_id": "V3-TOKEN-PAY" });
    let paid =
        payer.send_json(reqwest::Method::POST, &format!("/customer/payment/token/{number}/pay"), &pay, None).await.expect("pay");
    assert_eq!(paid.body["response_type_id"], 2202, "{}", paid.body);
    json!({ "tid": paid.body["data"]["tid"], "client_ref_id": "V3-TOKEN-PAY", "token": number })
}
