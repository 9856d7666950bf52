//! AePS fund settlement (service 39) over signed HTTP on both backends: settlement
//! accounts (v1 and v3), the list with `unsettled_fund` and `remaining_limit` from the
//! agent's AePS business of the last 7 days, settlements inside the window, queued
//! outside it (Friday 17:05 IST waits for the next working day's 10:00, a holiday from
//! the config skipped), charges with GST, a bank decline refunded (tx_status 4), and
//! bad input refused with nothing reserved. Time is the injected clock's.
#![allow(dead_code)] // the AePS helpers are shared in shape with aeps_api.rs

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::{agent_form, signed_at, Backend, CUSTOMER, FINGPAY, LATLONG, T0_MS};
use kosh_core::aadhaar::{with_check_digit, Aadhaar};
use kosh_core::aeps::simulated_pid;
use kosh_core::civil::IST_OFFSET_MS;
use kosh_core::clock::{Clock, ManualClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::Credentials;
use kosh_server::App;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(settlement_accounts_limits_the_window_and_refunds);

const V3: &str = "/ekoapi/v3/user/payment/aeps/settlement";
const WAIT: Duration = Duration::from_secs(30);

fn captured_logs() {}

struct Env {
    app: App,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
}

impl Env {
    async fn start(backend: Backend, configure: impl FnOnce(&mut kosh_server::config::Config)) -> Env {
        captured_logs();
        let clock = ManualClock::new(T0_MS);
        let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
            c.service_review_secs = 0;
            configure(c)
        })
        .await;
        Env { app, clock, http: reqwest::Client::new() }
    }

    /// Sends `body` (JSON, `initiator_id` added) signed at the clock's time, with a
    /// `request_hash` over `hash_fields` when given.
    async fn call(&self, method: reqwest::Method, path: &str, body: Value, hash_fields: Option<&[&str]>) -> (u16, Value) {
        let creds = Credentials::sandbox();
        let now = self.clock.now_ms();
        let mut body = body;
        body["initiator_id"] = json!(creds.initiator_id);
        let mut req = signed_at(self.http.request(method, format!("{}{path}", self.app.url())).json(&body), &creds, now);
        if let Some(fields) = hash_fields {
            req = req.header("request_hash", creds.request_hash(now, fields));
        }
        eko_support::send(req).await
    }

    async fn put(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.call(reqwest::Method::PUT, path, body, None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.call(reqwest::Method::POST, path, body, None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        let creds = Credentials::sandbox();
        let url = format!("{}{path}", self.app.url());
        let req =
            signed_at(self.http.get(url).query(&[("initiator_id", creds.initiator_id.as_str())]), &creds, self.clock.now_ms());
        let (status, body) = eko_support::send(req).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Onboards an agent and activates `services`; answers its user_code.
    async fn agent(&self, pan: &str, mobile: &str, services: &[&str]) -> String {
        let form: serde_json::Map<String, Value> =
            agent_form(pan, mobile).into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
        let body = self.put("/ekoapi/v1/user/onboard", Value::Object(form)).await;
        let user_code = body["data"]["user_code"].as_str().expect("user_code").to_owned();
        for code in services {
            let answer =
                self.put("/ekoapi/v1/user/service/activate", json!({ "service_code": code, "user_code": user_code })).await;
            assert_eq!(answer["data"]["status"], 1, "{answer}");
        }
        user_code
    }

    /// The OTP the sandbox "sent" to `mobile` for the e-KYC.
    async fn sandbox_otp(&self, mobile: &str) -> String {
        let body = self.get(&format!("/sandbox/otp?mobile={mobile}&purpose=aeps_ekyc")).await;
        body["data"]["otp"].as_str().expect("otp").to_owned()
    }

    /// Runs Fingpay e-KYC to completion.
    async fn fingpay_ekyc(&self, user_code: &str, aadhaar: &Aadhaar, mobile: &str) {
        let sent = self
            .post(
                &format!("{FINGPAY}/otp"),
                json!({ "user_code": user_code, "aadhar": aadhaar.digits(), "customer_id": mobile, "latlong": LATLONG }),
            )
            .await;
        assert_eq!(sent["response_type_id"], 1600, "{sent}");
        let otp = self.sandbox_otp(mobile).await;
        let verified = self
            .put(&format!("{FINGPAY}/otp/verify"), json!({ "user_code": user_code, "otp": otp, "otp_ref_id": sent["data"]["otp_ref_id"], "reference_tid": sent["data"]["reference_tid"] }))
            .await;
        assert_eq!(verified["response_type_id"], 1604, "{verified}");
        let done = self.put(&format!("{FINGPAY}/biometric"), biometric(user_code, aadhaar)).await;
        assert_eq!(done["response_type_id"], 1605, "{done}");
    }

    async fn daily(&self, user_code: &str, aadhaar: &Aadhaar) -> Value {
        self.put(&format!("{FINGPAY}/biometric/daily"), biometric(user_code, aadhaar)).await
    }

    /// `POST /ekoapi/v2/aeps`, correctly hashed.
    async fn transact(&self, user_code: &str, kind: &str, amount: &str, aadhaar: &Aadhaar, client_ref_id: &str) -> Value {
        self.transact_for(user_code, kind, amount, aadhaar, client_ref_id, CUSTOMER).await
    }

    async fn transact_for(
        &self,
        user_code: &str,
        kind: &str,
        amount: &str,
        aadhaar: &Aadhaar,
        reference: &str,
        customer: &str,
    ) -> Value {
        let body = tx_body(user_code, kind, amount, aadhaar.digits(), reference, customer);
        let (status, body) =
            self.call(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&[aadhaar.digits(), amount, user_code])).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn wallet_paise(&self) -> i64 {
        let partner = self.app.state.store.find_partner("sandbox").await.unwrap().unwrap();
        self.app.state.store.balance(partner.id, &AccountKind::PartnerWallet).await.unwrap().available_credit()
    }

    async fn pending_credit_paise(&self) -> i64 {
        let partner = self.app.state.store.find_partner("sandbox").await.unwrap().unwrap();
        self.app.state.store.balance(partner.id, &AccountKind::PartnerWallet).await.unwrap().credits_pending
    }
}

fn biometric(user_code: &str, aadhaar: &Aadhaar) -> Value {
    json!({ "user_code": user_code, "aadhar": aadhaar.digits(), "piddata": simulated_pid(1), "latlong": LATLONG, "bank_code": "SBIN" })
}

fn tx_body(user_code: &str, kind: &str, amount: &str, aadhaar: &str, client_ref_id: &str, customer: &str) -> Value {
    json!({ "service_type": kind, "user_code": user_code, "customer_id": customer, "bank_code": "PUNB", "amount": amount,
            "client_ref_id": client_ref_id, "pipe": "0", "aadhar": aadhaar, "piddata": simulated_pid(9), "latlong": LATLONG })
}

fn aadhaar(first_eleven: &str) -> Aadhaar {
    with_check_digit(first_eleven).expect("a valid Aadhaar number")
}

/// `hh:mm` IST on the IST day of `ms`.
fn ist_at(ms: i64, hh: i64, mm: i64) -> i64 {
    let day = 86_400_000;
    (ms + IST_OFFSET_MS).div_euclid(day) * day - IST_OFFSET_MS + (hh * 60 + mm) * 60_000
}

async fn wait_for_status(env: &Env, tid: i64, tx_status: i64) {
    let partner = env.app.state.store.find_partner("sandbox").await.unwrap().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let o = env.app.state.store.payout(partner.id, tid).await.unwrap().expect("the settlement");
        if o.tx_status.code() == tx_status {
            return;
        }
        assert!(Instant::now() < deadline, "settlement {tid} did not reach tx_status {tx_status}: {o:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn partner_id(env: &Env) -> kosh_core::ids::PartnerId {
    env.app.state.store.find_partner("sandbox").await.unwrap().unwrap().id
}

/// The v1 account request as multipart/form-data, with a bank statement file part.
async fn upload_account(env: &Env, user_code: &str, account: &str, ifsc: &str) -> Value {
    let creds = Credentials::sandbox();
    let fields = [
        ("initiator_id", creds.initiator_id.as_str()),
        ("bank_id", "ICIC"),
        ("ifsc", ifsc),
        ("account", account),
        ("name", "Asha Verma"),
        ("service_code", "39"),
        ("doc_type", "8"),
    ];
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--KoshB\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").into_bytes());
    }
    body.extend(b"--KoshB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"statement.pdf\"\r\n");
    body.extend(b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n\r\n--KoshB--\r\n");
    let url = format!("{}/ekoapi/v1/agent/user_code:{user_code}/settlementaccount", env.app.url());
    let req = env.http.put(url).header("content-type", "multipart/form-data; boundary=KoshB").body(body);
    let (status, answer) = eko_support::send(signed_at(req, &creds, env.clock.now_ms())).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn tid_of(body: &Value) -> i64 {
    body["data"]["tid"].as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("a tid: {body}"))
}

fn settle(recipient_id: &Value, amount: &str, reference: &str) -> Value {
    json!({ "user_code": "20810200", "amount": amount, "recipient_id": recipient_id, "payment_mode": "5", "client_ref_id": reference })
}

async fn settlement_accounts_limits_the_window_and_refunds(backend: Backend) {
    let env = Env::start(backend, |c| {
        c.settlement_holidays = vec!["2023-11-20".into()];
        c.rail_worker_tick_ms = 10;
    })
    .await;
    // T0 is Wednesday 2023-11-15, 03:43 IST: outside the window.
    let user_code = "20810200";
    env.fingpay_ekyc(user_code, &aadhaar("98765432109"), "9962981729").await;
    env.daily(user_code, &aadhaar("98765432109")).await;
    for (n, first) in ["92345678901", "93345678901"].iter().enumerate() {
        let done = env.transact(user_code, "2", "10000", &aadhaar(first), &format!("AEPS-{n}")).await;
        assert_eq!(done["data"]["tx_status"], "0", "{done}");
    }

    let account = json!({ "user_code": user_code, "bank_id": "SBIN", "ifsc": "SBIN0001234", "account": "123456789012",
                          "service_code": "39", "name": "Asha Verma" });
    let added = env.post(&format!("{V3}/account"), account.clone()).await;
    assert_eq!((&added["status"], &added["response_type_id"]), (&json!(0), &json!(1336)), "{added}");
    let recipient = added["data"]["recipient_id"].clone();
    let again = env.post(&format!("{V3}/account"), account).await;
    assert_eq!((&again["response_type_id"], &again["data"]["recipient_id"]), (&json!(1335), &recipient), "{again}");
    let v1 = json!({ "bank_id": "HDFC", "ifsc": "HDFC0000123", "account": "5500001111", "service_code": "39", "name": "Asha Verma",
                     "doc_type": "8", "file_name": "statement.pdf" });
    let declining = env.put(&format!("/ekoapi/v1/agent/user_code:{user_code}/settlementaccount"), v1).await;
    assert_eq!(declining["response_type_id"], 1336, "{declining}");
    let declining = declining["data"]["recipient_id"].clone();

    let uploaded = upload_account(&env, user_code, "9000000077", "ICIC0000456").await;
    assert_eq!((&uploaded["status"], &uploaded["response_type_id"]), (&json!(0), &json!(1336)), "{uploaded}");
    let stored =
        env.app.state.store.settlement_accounts(partner_id(&env).await, kosh_core::ids::UserCode::new(20_810_200)).await.unwrap();
    assert_eq!(stored.last().map(|a| a.document.as_str()), Some("statement.pdf (9 bytes)"), "{stored:?}");

    let list = env.get(&format!("{V3}/accounts?user_code={user_code}")).await;
    assert_eq!((&list["response_type_id"], &list["response_status_id"]), (&json!(1321), &json!(-1)), "{list}");
    assert_eq!((&list["data"]["unsettled_fund"], &list["data"]["remaining_limit"]), (&json!("20000.00"), &json!("20000.00")));
    assert_eq!(list["data"]["fund_transfer_list"].as_array().map(Vec::len), Some(3), "{list}");

    let before = env.wallet_paise().await;
    let above = env.post(V3, settle(&recipient, "20000.01", "SET-ABOVE")).await;
    assert!(above["invalid_params"]["amount"].as_str().unwrap().contains("remaining_limit"), "{above}");
    let unknown = env.post(V3, settle(&json!(999_999), "100", "SET-UNKNOWN")).await;
    assert_eq!(unknown["message"], "Settlement account not registered", "{unknown}");
    assert_eq!(env.wallet_paise().await, before, "nothing reserved");

    let queued = env.post(V3, settle(&recipient, "5000", "SET-1")).await;
    assert_eq!(
        (&queued["status"], &queued["response_type_id"], &queued["data"]["tx_status"]),
        (&json!(0), &json!(1477), &json!("2")),
        "{queued}"
    );
    assert!(queued["message"].as_str().unwrap().contains("queued"), "{queued}");
    assert_eq!((&queued["data"]["fee"], &queued["data"]["gst"]), (&json!("5.90"), &json!("0.90")), "₹5 + GST");
    assert_eq!(env.wallet_paise().await, before - 500_590, "reserved");
    let tid = tid_of(&queued);
    let partner = env.app.state.store.find_partner("sandbox").await.unwrap().unwrap();
    let stored = env.app.state.store.payout(partner.id, tid).await.unwrap().unwrap();
    assert_eq!(stored.check_at_ms, Some(ist_at(T0_MS, 10, 0)), "waits for Wednesday 10:00 IST");
    let list = env.get(&format!("{V3}/accounts?user_code={user_code}")).await;
    assert_eq!(list["data"]["unsettled_fund"], "15000.00", "{list}");

    env.clock.set_ms(ist_at(T0_MS, 10, 0));
    wait_for_status(&env, tid, 0).await;
    assert_eq!(env.wallet_paise().await, before - 500_590, "paid once");

    let declined = env.post(V3, settle(&declining, "1000", "SET-DECL")).await;
    assert_eq!(
        (&declined["status"], &declined["data"]["tx_status"]),
        (&json!(0), &json!("4")),
        "a decline is refunded: {declined}"
    );
    assert_eq!(env.wallet_paise().await, before - 500_590, "refunded, charges included");

    // Friday 2023-11-17 17:05 IST: Monday the 20th is a holiday, so Tuesday 10:00.
    env.clock.set_ms(ist_at(T0_MS, 17, 5) + 2 * 86_400_000);
    let late = env.post(V3, settle(&recipient, "100", "SET-FRI")).await;
    assert_eq!(late["data"]["tx_status"], "2", "{late}");
    let stored = env.app.state.store.payout(partner.id, tid_of(&late)).await.unwrap().unwrap();
    assert_eq!(stored.check_at_ms, Some(ist_at(T0_MS, 10, 0) + 6 * 86_400_000), "Tuesday 10:00 IST");

    let off = env.put("/ekoapi/v1/user/service/deactivate", json!({ "user_code": user_code, "service_code": "39" })).await;
    assert_eq!(off["status"], 0, "{off}");
    let refused = env.post(V3, settle(&recipient, "100", "SET-OFF")).await;
    assert_eq!(refused["status"], 346, "{refused}");
}
