//! AePS through the real server on both backends: e-KYC (Fingpay and Fino), daily
//! authentication, transactions, limits, statuses, inquiry and bad input. Time comes
//! from a manual clock, and every request is signed at the clock's time.

mod eko_support;
use kosh_core::ids::PartnerId;
use kosh_testkit::on_both_backends;

use eko_support::{agent_form, signed_at, Backend, CUSTOMER, FINGPAY, LATLONG, T0_MS};
use kosh_core::aadhaar::{with_check_digit, Aadhaar};
use kosh_core::aeps::simulated_pid;
use kosh_core::clock::{Clock, ManualClock};
use kosh_core::ledger::{AccountKind, PLATFORM};
use kosh_core::money::Paise;
use kosh_sdk::eko::Credentials;
use kosh_server::App;
use kosh_store::commands::tokens::{CreateToken, TokenCommand, TokenOutcome};
use kosh_store::commands::{Command, Outcome};
use kosh_store::ops::partners::NewPartner;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

on_both_backends!(
    fingpay_ekyc_steps_daily_authentication_and_a_withdrawal,
    fino_ekyc_stays_pending_for_the_configured_days,
    the_biometric_call_is_fino_without_an_otp_step,
    limits_and_bad_input_are_refused_with_nothing_moved,
    balance_enquiry_and_mini_statement,
    declined_and_awaited_withdrawals_resolve_through_inquiry,
    request_hash_strictness_is_honoured,
    concurrent_transactions_for_one_aadhaar_take_at_most_five,
    client_ref_ids_are_shared_with_token_payments,
);

const DAY_MS: i64 = 86_400_000;

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

fn invalid_names(body: &Value) -> Vec<String> {
    eko_support::invalid_names(body)
}

async fn fingpay_ekyc_steps_daily_authentication_and_a_withdrawal(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    let agent_aadhaar = aadhaar("23456789012");
    let customer_aadhaar = aadhaar("34567890123");
    let user_code = env.agent("ABCPK1111A", "9876511111", &[]).await;

    // No service yet: the platform's "Agent not allowed".
    let refused = env.transact(&user_code, "2", "2000", &customer_aadhaar, "CW-0").await;
    assert_eq!((refused["status"].as_i64(), refused["message"].as_str()), (Some(346), Some("Agent not allowed")), "{refused}");
    let otp_without_service = env
        .post(
            &format!("{FINGPAY}/otp"),
            json!({ "user_code": user_code, "aadhar": agent_aadhaar.digits(), "customer_id": "9876511111", "latlong": LATLONG }),
        )
        .await;
    assert_eq!(otp_without_service["status"], 346, "{otp_without_service}");
    env.put("/ekoapi/v1/user/service/activate", json!({ "service_code": "43", "user_code": user_code })).await;

    // Service active, no e-KYC: "Aadhaar updation pending".
    let refused = env.transact(&user_code, "2", "2000", &customer_aadhaar, "CW-0").await;
    assert_eq!(
        (refused["response_type_id"].as_i64(), refused["message"].as_str()),
        (Some(2136), Some("Aadhaar updation pending")),
        "{refused}"
    );

    // The biometric step before the OTP steps is out of order.
    let early = env.put(&format!("{FINGPAY}/biometric"), biometric(&user_code, &agent_aadhaar)).await;
    assert_eq!(early["message"], "e-KYC step out of order", "{early}");

    let sent = env
        .post(
            &format!("{FINGPAY}/otp"),
            json!({ "user_code": user_code, "aadhar": agent_aadhaar.digits(), "customer_id": "9876511111", "latlong": LATLONG }),
        )
        .await;
    assert_eq!((sent["status"].as_i64(), sent["response_type_id"].as_i64()), (Some(0), Some(1600)), "{sent}");
    let refused = env.transact(&user_code, "2", "2000", &customer_aadhaar, "CW-0").await;
    assert!(refused["hint"].as_str().unwrap().contains("waits for its OTP"), "{refused}");
    let otp = env.sandbox_otp("9876511111").await;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let bad = env.put(&format!("{FINGPAY}/otp/verify"), json!({ "user_code": user_code, "otp": wrong })).await;
    assert_eq!((bad["status"].as_i64(), bad["message"].as_str()), (Some(302), Some("Wrong OTP")), "{bad}");
    let bad_ref =
        env.put(&format!("{FINGPAY}/otp/verify"), json!({ "user_code": user_code, "otp": otp, "reference_tid": "1" })).await;
    assert_eq!(bad_ref["message"], "Invalid reference_tid", "{bad_ref}");
    let verified = env
        .put(
            &format!("{FINGPAY}/otp/verify"),
            json!({ "user_code": user_code, "otp": otp, "reference_tid": sent["data"]["reference_tid"] }),
        )
        .await;
    assert_eq!(verified["response_type_id"], 1604, "{verified}");

    // The biometric step with another person's Aadhaar is refused; the agent's completes.
    let other = env.put(&format!("{FINGPAY}/biometric"), biometric(&user_code, &customer_aadhaar)).await;
    assert_eq!(other["message"], "Aadhaar number does not match the agent's e-KYC", "{other}");
    let done = env.put(&format!("{FINGPAY}/biometric"), biometric(&user_code, &agent_aadhaar)).await;
    assert_eq!(
        (done["response_type_id"].as_i64(), done["data"]["ekyc_status"].as_str()),
        (Some(1605), Some("COMPLETED")),
        "{done}"
    );

    // e-KYC done, no daily authentication yet.
    let refused = env.transact(&user_code, "2", "2000", &customer_aadhaar, "CW-0").await;
    assert_eq!(
        (refused["response_type_id"].as_i64(), refused["message"].as_str()),
        (Some(1714), Some("Daily authentication pending")),
        "{refused}"
    );
    let mut broken = biometric(&user_code, &agent_aadhaar);
    broken["piddata"] = json!("<PidData><Resp errCode=\"720\" errInfo=\"Capture timed out\"/></PidData>");
    let bad_pid = env.put(&format!("{FINGPAY}/biometric/daily"), broken).await;
    assert_eq!(invalid_names(&bad_pid), ["piddata"], "{bad_pid}");
    assert!(bad_pid["invalid_params"]["piddata"].as_str().unwrap().contains("errCode 720"), "{bad_pid}");
    let daily = env.daily(&user_code, &agent_aadhaar).await;
    assert_eq!(
        (daily["response_type_id"].as_i64(), daily["message"].as_str()),
        (Some(1713), Some("Daily authentication successful")),
        "{daily}"
    );

    // The withdrawal: ₹2,000 paid out, commission 0.40% = ₹8.00, TDS 2% = ₹0.16.
    let before = env.wallet_paise().await;
    let cw = env.transact(&user_code, "2", "2000", &customer_aadhaar, "CW-1").await;
    assert_eq!(
        (cw["status"].as_i64(), cw["response_status_id"].as_i64(), cw["response_type_id"].as_i64()),
        (Some(0), Some(0), Some(1463)),
        "{cw}"
    );
    let data = &cw["data"];
    assert_eq!(
        (data["tx_status"].as_str(), data["amount"].as_str(), data["commission"].as_str(), data["tds"].as_str()),
        (Some("0"), Some("2000.0"), Some("8.0"), Some("0.16")),
        "{cw}"
    );
    assert_eq!(data["aadhar"], format!("XXXX XXXX {}", &customer_aadhaar.digits()[8..]));
    assert_eq!(data["customer_balance"], "48000.0");
    assert_eq!(data["client_ref_id"], "CW-1");
    assert_eq!(env.wallet_paise().await - before, 200_784, "cash + commission − TDS");
    let store = &env.app.state.store;
    assert_eq!(store.balance(PLATFORM, &AccountKind::TdsPayable).await.unwrap().credits_posted, 16);
    assert_eq!(store.balance(PLATFORM, &AccountKind::RailClearing { rail: "aeps" }).await.unwrap().debits_posted, 200_800);
    assert_eq!(store.ledger_totals().await.unwrap().debits_posted, store.ledger_totals().await.unwrap().credits_posted);
    assert!(!cw.to_string().contains(customer_aadhaar.digits()), "the answer never holds the Aadhaar number");

    // The same request again is the same transaction; the reference with another request is refused.
    let again = env.transact(&user_code, "2", "2000", &customer_aadhaar, "CW-1").await;
    assert_eq!(again["data"]["tid"], data["tid"], "{again}");
    assert_eq!(env.wallet_paise().await - before, 200_784, "a replay moves nothing");
    let reused = env.transact(&user_code, "2", "3000", &customer_aadhaar, "CW-1").await;
    assert_eq!(reused["message"], "Duplicate client_ref_id", "{reused}");

    // Inquiry finds it by tid and by client_ref_id.
    let by_tid = env.get(&format!("/ekoapi/v2/aeps/transactions/{}", data["tid"].as_str().unwrap())).await;
    assert_eq!((by_tid["response_type_id"].as_i64(), by_tid["data"]["tx_status"].as_str()), (Some(1472), Some("0")), "{by_tid}");
    let by_ref = env.get("/ekoapi/v3/aeps/transactions/client_ref_id:CW-1").await;
    assert_eq!(by_ref["data"]["tid"], data["tid"], "{by_ref}");

    // The next IST calendar day needs a new daily authentication.
    let next_midnight = (kosh_core::aeps::ist_day(T0_MS) + 1) * DAY_MS - kosh_core::civil::IST_OFFSET_MS;
    env.clock.advance_ms(next_midnight - T0_MS);
    let refused = env.transact(&user_code, "3", "0", &customer_aadhaar, "BE-2").await;
    assert_eq!(refused["message"], "Daily authentication pending", "{refused}");
    env.daily(&user_code, &agent_aadhaar).await;
    let be = env.transact(&user_code, "3", "0", &customer_aadhaar, "BE-2").await;
    assert_eq!(be["response_type_id"], 1466, "{be}");
    assert_no_clear_aadhaar(&env.app, &[&agent_aadhaar, &customer_aadhaar]).await;
    env.app.stop().await;
}

/// Everything logged through `tracing` in this test binary, at every level and from
/// every crate (the servers run in this process), from the first [`Env::start`] on:
/// what `kosh serve` would write to stderr at `KOSH_LOG=trace`.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    eko_support::captured_logs(tracing_subscriber::filter::LevelFilter::TRACE)
}

/// The forms a clear Aadhaar number could take in text: 12 digits, or 4-4-4 spaced.
fn clear_forms(number: &Aadhaar) -> [String; 2] {
    let d = number.digits();
    [d.to_owned(), format!("{} {} {}", &d[..4], &d[4..8], &d[8..])]
}

/// No Aadhaar number is anywhere in clear, and the key of their hashes is not stored
/// with them: not in the database (every SQLite file,
/// main and WAL, as text or as an integer; or PostgreSQL's whole `pg_dump`), nor in
/// anything logged at any level. Each scan must also find the masked form, so it is
/// known to have seen the rows.
async fn assert_no_clear_aadhaar(app: &App, numbers: &[&Aadhaar]) {
    let masked: Vec<String> = numbers.iter().map(|n| n.masked()).collect();
    let pepper = app.state.config.aadhaar_pepper().expect("a sandbox server has a key");
    match &app.state.config.database_url {
        None => {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(&app.state.config.data_dir).expect("data dir") {
                files.push(std::fs::read(entry.expect("entry").path()).expect("read a database file"));
            }
            let contains = |needle: &[u8]| files.iter().any(|f| f.windows(needle.len()).any(|w| w == needle));
            for number in numbers {
                for form in clear_forms(number) {
                    assert!(!contains(form.as_bytes()), "an Aadhaar number is stored in clear");
                }
                // SQLite keeps a 12-digit integer as 6 big-endian bytes.
                let as_integer = number.digits().parse::<i64>().expect("digits").to_be_bytes();
                assert!(!contains(&as_integer[2..]), "an Aadhaar number is stored as an integer");
            }
            assert!(masked.iter().all(|m| contains(m.as_bytes())), "the scan saw the AePS rows");
            assert!(!contains(pepper.as_bytes()), "the Aadhaar hash key is not in the database");
        }
        Some(url) => {
            let dump = kosh_testkit::pg_dump(url.expose());
            for number in numbers {
                for form in clear_forms(number) {
                    assert!(!dump.contains(&form), "an Aadhaar number is stored in clear");
                }
            }
            assert!(masked.iter().all(|m| dump.contains(m.as_str())), "the dump holds the AePS rows");
            assert!(!dump.contains(pepper), "the Aadhaar hash key is not in the database");
        }
    }
    let logs = String::from_utf8_lossy(&captured_logs().lock().expect("log buffer")).into_owned();
    assert!(logs.contains("kosh is serving"), "the server's logs are captured");
    for number in numbers {
        for form in clear_forms(number) {
            assert!(!logs.contains(&form), "an Aadhaar number is in the logs");
        }
    }
}

async fn fino_ekyc_stays_pending_for_the_configured_days(backend: Backend) {
    let env = Env::start(backend, |c| c.aeps_fino_ekyc_secs = 2 * 86_400).await;
    let agent_aadhaar = aadhaar("45678901234");
    let user_code = env.agent("ABCPK2222B", "9876522222", &["52"]).await;
    // Fino e-KYC is the vendor's "e-KYC using Biometric" alone: the standard biometric call.
    let submitted = env.put(&format!("{FINGPAY}/biometric"), biometric(&user_code, &agent_aadhaar)).await;
    assert_eq!(
        (submitted["response_type_id"].as_i64(), submitted["data"]["ekyc_status"].as_str()),
        (Some(1606), Some("PENDING")),
        "{submitted}"
    );
    // Kosh's own path is an alias: the same review, not restarted.
    let alias = env.put(FINO_ALIAS, biometric(&user_code, &agent_aadhaar)).await;
    assert_eq!((alias["response_type_id"].as_i64(), &alias["data"]["ready_at"]), (Some(1606), &submitted["data"]["ready_at"]));
    // The OTP steps are Fingpay's own: they need service 43, which this agent does not have.
    let otp = env
        .post(
            &format!("{FINGPAY}/otp"),
            json!({ "user_code": user_code, "aadhar": agent_aadhaar.digits(), "customer_id": "9876522222", "latlong": LATLONG }),
        )
        .await;
    assert_eq!(otp["status"], 346, "{otp}");

    let refused = env.daily(&user_code, &agent_aadhaar).await;
    assert_eq!(refused["message"], "Aadhaar updation pending", "{refused}");
    assert!(refused["hint"].as_str().unwrap().contains("under review until"), "{refused}");
    env.clock.advance_ms(2 * DAY_MS - 1);
    assert_eq!(env.daily(&user_code, &agent_aadhaar).await["message"], "Aadhaar updation pending");
    env.clock.advance_ms(1);
    let daily = env.daily(&user_code, &agent_aadhaar).await;
    assert_eq!(daily["response_type_id"], 1713, "{daily}");
    let cw = env.transact(&user_code, "2", "500", &aadhaar("56789012345"), "FINO-1").await;
    assert_eq!((cw["response_type_id"].as_i64(), cw["data"]["commission"].as_str()), (Some(1463), Some("2.0")), "{cw}");
    // Submitting again changes nothing: the e-KYC is complete.
    let again = env.put(&format!("{FINGPAY}/biometric"), biometric(&user_code, &agent_aadhaar)).await;
    assert_eq!(again["response_type_id"], 1605, "{again}");
    assert_eq!(env.put(FINO_ALIAS, biometric(&user_code, &agent_aadhaar)).await["response_type_id"], 1605);
    env.app.stop().await;
}

/// Kosh's alias of the biometric call for Fino e-KYC.
const FINO_ALIAS: &str = "/ekoapi/v3/user/collection/aeps-fino/kyc/biometric";

/// The biometric call is Fingpay's third step once the agent has a Fingpay OTP step in
/// progress (service 43), and Fino's whole e-KYC otherwise (service 52); the alias is
/// Fino's for any agent with service 52; an agent with neither service is not allowed.
async fn the_biometric_call_is_fino_without_an_otp_step(backend: Backend) {
    let env = Env::start(backend, |c| c.aeps_fino_ekyc_secs = 86_400).await;
    let both_fino = env.agent("ABCPK3333C", "9876533333", &["43", "52"]).await;
    let fino = env.put(&format!("{FINGPAY}/biometric"), biometric(&both_fino, &aadhaar("45678901235"))).await;
    assert_eq!(
        (fino["response_type_id"].as_i64(), fino["data"]["ekyc_status"].as_str()),
        (Some(1606), Some("PENDING")),
        "{fino}"
    );

    let both_fingpay = env.agent("ABCPK4444D", "9876544444", &["43", "52"]).await;
    env.fingpay_ekyc(&both_fingpay, &aadhaar("45678901236"), "9876544444").await;

    let alias_only = env.agent("ABCPK5555E", "9876555555", &["52"]).await;
    let alias = env.put(FINO_ALIAS, biometric(&alias_only, &aadhaar("45678901237"))).await;
    assert_eq!(alias["response_type_id"], 1606, "{alias}");

    let neither = env.agent("ABCPK6666F", "9876566666", &[]).await;
    let refused = env.put(&format!("{FINGPAY}/biometric"), biometric(&neither, &aadhaar("45678901238"))).await;
    assert_eq!((refused["status"].as_i64(), refused["message"].as_str()), (Some(346), Some("Agent not allowed")), "{refused}");
    assert!(refused["hint"].as_str().unwrap().contains("52 (Fino)"), "{refused}");
    assert_eq!(env.put(FINO_ALIAS, biometric(&neither, &aadhaar("45678901238"))).await["status"], 346);
    env.app.stop().await;
}

/// A ready agent (the sandbox's own, every service active): e-KYC and daily auth done.
async fn ready_sandbox_agent(env: &Env) -> (String, Aadhaar) {
    let user_code = "20810200".to_owned();
    let agent_aadhaar = aadhaar("98765432109");
    env.fingpay_ekyc(&user_code, &agent_aadhaar, "9962981729").await;
    assert_eq!(env.daily(&user_code, &agent_aadhaar).await["response_type_id"], 1713);
    (user_code, agent_aadhaar)
}

async fn limits_and_bad_input_are_refused_with_nothing_moved(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    let (user_code, _) = ready_sandbox_agent(&env).await;
    let customer = aadhaar("67890123456");
    let before = env.wallet_paise().await;

    let over = env.transact(&user_code, "2", "10000.01", &customer, "BAD-1").await;
    assert_eq!(invalid_names(&over), ["amount"], "{over}");
    assert!(over["invalid_params"]["amount"].as_str().unwrap().contains("10000.00"), "{over}");

    let mut wrong_check = customer.digits().to_owned();
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });
    let body = tx_body(&user_code, "2", "100", &wrong_check, "BAD-2", CUSTOMER);
    let (_, bad) = env.call(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&[&wrong_check, "100", &user_code])).await;
    assert_eq!(bad["invalid_params"]["aadhar"], "is not a valid Aadhaar number (the check digit is wrong)", "{bad}");

    let encrypted = "mQENBFvGq2kBCADKx3x4Y1u0a9Wb3m5X1qv7QzH8P0aR2d+3Jk1=";
    let body = tx_body(&user_code, "2", "100", encrypted, "BAD-3", CUSTOMER);
    let (_, bad) = env.call(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&[encrypted, "100", &user_code])).await;
    assert!(bad["invalid_params"]["aadhar"].as_str().unwrap().contains("RSA-encrypted"), "{bad}");

    let mut body = tx_body(&user_code, "2", "100", customer.digits(), "BAD-4", CUSTOMER);
    body["piddata"] = json!("<PidData><Resp errCode=\"0\" fCount=\"1\"/></PidData>");
    let (_, bad) = env.call(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&[customer.digits(), "100", &user_code])).await;
    assert_eq!(bad["invalid_params"]["piddata"], "has no <DeviceInfo> element", "{bad}");

    // A request_hash over another amount: refused with 403 under the default (enforce).
    let body = tx_body(&user_code, "2", "100", customer.digits(), "BAD-5", CUSTOMER);
    let (status, bad) =
        env.call(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&[customer.digits(), "1000", &user_code])).await;
    assert_eq!(status, 403, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("request-hash"), "{bad}");
    assert_eq!(env.wallet_paise().await, before, "nothing moved");

    // Five transactions for one Aadhaar in a day; the sixth is refused.
    for (i, (kind, amount)) in [("2", "100"), ("3", "0"), ("4", "0"), ("2", "200"), ("3", "0")].iter().enumerate() {
        let ok = env.transact(&user_code, kind, amount, &customer, &format!("LIM-{i}")).await;
        assert_eq!(ok["status"], 0, "transaction {i}: {ok}");
    }
    let after_five = env.wallet_paise().await;
    let sixth = env.transact(&user_code, "2", "100", &customer, "LIM-5").await;
    assert_eq!(sixth["message"], "Transaction limit exceeded for this Aadhaar", "{sixth}");
    assert_eq!(env.wallet_paise().await, after_five, "the sixth moved nothing");
    let other_customer = env.transact(&user_code, "3", "0", &aadhaar("78901234567"), "LIM-6").await;
    assert_eq!(other_customer["status"], 0, "another Aadhaar is not limited: {other_customer}");
    let refused_ref = env.get("/ekoapi/v2/aeps/transactions/client_ref_id:LIM-5").await;
    assert_eq!(refused_ref["status"], 168, "a refused transaction leaves no trace: {refused_ref}");
    env.app.stop().await;
}

async fn balance_enquiry_and_mini_statement(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    let (user_code, _) = ready_sandbox_agent(&env).await;
    let customer = aadhaar("89012345678");
    let before = env.wallet_paise().await;
    let be = env.transact(&user_code, "3", "0", &customer, "BE-1").await;
    assert_eq!((be["response_type_id"].as_i64(), be["data"]["customer_balance"].as_str()), (Some(1466), Some("50000.0")), "{be}");
    assert_eq!(env.wallet_paise().await, before, "a balance enquiry earns nothing");
    let not_zero = env.transact(&user_code, "3", "10", &customer, "BE-2").await;
    assert_eq!(invalid_names(&not_zero), ["amount"], "{not_zero}");
    let ms = env.transact(&user_code, "4", "0", &customer, "MS-1").await;
    assert_eq!(ms["response_type_id"], 1527, "{ms}");
    assert_eq!((ms["data"]["commission"].as_str(), ms["data"]["tds"].as_str()), (Some("0.75"), Some("0.02")), "{ms}");
    assert_eq!(ms["data"]["mini_statement_list"].as_array().map(Vec::len), Some(5), "{ms}");
    assert_eq!(env.wallet_paise().await - before, 73);
    env.app.stop().await;
}

async fn declined_and_awaited_withdrawals_resolve_through_inquiry(backend: Backend) {
    let env = Env::start(backend, |c| c.aeps_awaited_secs = 60).await;
    let (user_code, _) = ready_sandbox_agent(&env).await;
    let before = env.wallet_paise().await;

    let declined = env.transact_for(&user_code, "2", "1000", &aadhaar("91234567890"), "DEC-1", "6000000001").await;
    assert_eq!(
        (declined["status"].as_i64(), declined["response_type_id"].as_i64(), declined["data"]["tx_status"].as_str()),
        (Some(55), Some(1464), Some("1")),
        "{declined}"
    );
    assert!(declined["message"].as_str().unwrap().contains("Biometric data did not match"), "{declined}");
    let poor = env.transact(&user_code, "2", "10000", &aadhaar("92345678901"), "POOR-0").await;
    assert_eq!(poor["data"]["tx_status"], "0", "{poor}");
    assert_eq!(env.wallet_paise().await - before, 1_001_274, "10,000 + 13 − 0.26");

    let awaited = env.transact_for(&user_code, "2", "1000", &aadhaar("93456789012"), "AW-OK", "6000000002").await;
    assert_eq!(
        (
            awaited["status"].as_i64(),
            awaited["response_status_id"].as_i64(),
            awaited["response_type_id"].as_i64(),
            awaited["data"]["tx_status"].as_str()
        ),
        (Some(0), Some(2), Some(1465), Some("2")),
        "{awaited}"
    );
    let failing = env.transact_for(&user_code, "2", "500", &aadhaar("94567890123"), "AW-FAIL", "6000000003").await;
    assert_eq!(failing["data"]["tx_status"], "2", "{failing}");
    assert_eq!(env.pending_credit_paise().await, 100_400 - 8 + 50_200 - 4, "awaited credits are pending, not spendable");
    assert_eq!(env.wallet_paise().await - before, 1_001_274, "awaited credits are not spendable");

    let early = env.get("/ekoapi/v2/aeps/transactions/client_ref_id:AW-OK").await;
    assert_eq!(early["data"]["tx_status"], "2", "not due yet: {early}");
    env.clock.advance_ms(60_000);
    let ok = env.get("/ekoapi/v2/aeps/transactions/client_ref_id:AW-OK").await;
    assert_eq!((ok["response_type_id"].as_i64(), ok["data"]["tx_status"].as_str()), (Some(1472), Some("0")), "{ok}");
    let failed = env.get(&format!("/ekoapi/v2/aeps/transactions/{}", failing["data"]["tid"].as_str().unwrap())).await;
    assert_eq!(failed["data"]["tx_status"], "1", "{failed}");
    assert!(failed["data"]["reason"].as_str().unwrap().contains("No response"), "{failed}");
    assert_eq!(env.pending_credit_paise().await, 0);
    assert_eq!(env.wallet_paise().await - before, 1_001_274 + 100_392, "the approved one is credited, the failed one voided");
    let again = env.get("/ekoapi/v2/aeps/transactions/client_ref_id:AW-OK").await;
    assert_eq!(again["data"]["tx_status"], "0", "resolution happens once: {again}");
    assert_eq!(env.wallet_paise().await - before, 1_001_274 + 100_392);

    // Every sandbox customer's account opens with ₹50,000: five ₹10,000 withdrawals
    // empty it, and the next day's withdrawal is declined for insufficient funds.
    let rich = aadhaar("95678901234");
    for i in 0..5 {
        let cw = env.transact(&user_code, "2", "10000", &rich, &format!("RICH-{i}")).await;
        assert_eq!(cw["data"]["tx_status"], "0", "{cw}");
    }
    env.clock.advance_ms(DAY_MS);
    let agent_aadhaar = aadhaar("98765432109");
    env.daily(&user_code, &agent_aadhaar).await;
    let empty = env.transact(&user_code, "2", "100", &rich, "RICH-5").await;
    assert_eq!(empty["data"]["tx_status"], "1", "{empty}");
    assert!(empty["data"]["reason"].as_str().unwrap().contains("Insufficient funds"), "{empty}");
    let missing = {
        let creds = Credentials::sandbox();
        let req = signed_at(
            env.http
                .get(format!("{}/ekoapi/v2/aeps/transactions/999", env.app.url()))
                .query(&[("initiator_id", creds.initiator_id.as_str())]),
            &creds,
            env.clock.now_ms(),
        );
        eko_support::send(req).await.1
    };
    assert_eq!(missing["status"], 168, "{missing}");
    env.app.stop().await;
}

async fn request_hash_strictness_is_honoured(backend: Backend) {
    let env = Env::start(backend, |c| c.request_hash = kosh_server::config::HashStrictness::Warn).await;
    let (user_code, _) = ready_sandbox_agent(&env).await;
    let customer = aadhaar("96789012345");
    let body = tx_body(&user_code, "3", "0", customer.digits(), "WARN-1", CUSTOMER);
    let (status, answer) = env.call(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&["wrong"])).await;
    assert_eq!((status, answer["status"].as_i64()), (200, Some(0)), "warn mode proceeds: {answer}");
    env.app.stop().await;
}

async fn concurrent_transactions_for_one_aadhaar_take_at_most_five(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    let (user_code, _) = ready_sandbox_agent(&env).await;
    let customer = aadhaar("97890123456");
    let before = env.wallet_paise().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let creds = Credentials::sandbox();
        let now = env.clock.now_ms();
        let mut body = tx_body(&user_code, "2", "100", customer.digits(), &format!("RACE-{i}"), CUSTOMER);
        body["initiator_id"] = json!(creds.initiator_id);
        let req = signed_at(env.http.post(format!("{}/ekoapi/v2/aeps", env.app.url())).json(&body), &creds, now)
            .header("request_hash", creds.request_hash(now, &[customer.digits(), "100", &user_code]));
        tasks.push(tokio::spawn(eko_support::send(req)));
    }
    let mut done = 0;
    for task in tasks {
        let (status, body) = task.await.expect("request task");
        assert_eq!(status, 200, "{body}");
        match body["status"].as_i64() {
            Some(0) => done += 1,
            _ => assert_eq!(body["message"], "Transaction limit exceeded for this Aadhaar", "{body}"),
        }
    }
    assert_eq!(done, 5, "exactly five transactions for one Aadhaar in a day, whatever the interleaving");
    assert_eq!(env.wallet_paise().await - before, 5 * 10_000, "five ₹100 withdrawals (no commission up to ₹100)");
    env.app.stop().await;
}

/// A token issued by another partner, straight through the store.
async fn issue_token(env: &Env, issuer_id: PartnerId, client_ref_id: &str) -> String {
    let token = kosh_store::ops::tokens::NewToken {
        client_ref_id: client_ref_id.into(),
        product_code: String::new(),
        customer_id: "9400000000".into(),
        customer_name: "Ram".into(),
        email: String::new(),
        amount_paise: Paise::new(150_000).unwrap(),
        label: String::new(),
        display_items: "[]".into(),
        expires_at_ms: env.clock.now_ms() + DAY_MS,
    };
    let cmd = Command::Token(TokenCommand::Create(CreateToken { partner_id: issuer_id, token }));
    match env.app.state.store.execute(cmd).await.expect("issue a token") {
        Outcome::Token(outcome) => match *outcome {
            TokenOutcome::Created(t) => t.token,
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    }
}

async fn pay_token(env: &Env, user_code: &str, token: &str, reference: &str) -> Value {
    let path = format!("/ekoapi/v3/customer/payment/token/{token}/pay");
    env.post(&path, json!({ "user_code": user_code, "client_ref_id": reference })).await
}

/// Eko `client_ref_id`s of one partner are one idempotency scope across products: an
/// AePS transaction's reference cannot pay a token, nor a token payment's an AePS one.
async fn client_ref_ids_are_shared_with_token_payments(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    let (user_code, _) = ready_sandbox_agent(&env).await;
    let customer = aadhaar("67890123456");
    let new = NewPartner {
        name: "issuer".into(),
        developer_key: "issuer-dk".into(),
        access_key: "issuer-ak".into(),
        initiator_id: "9811122233".into(),
        is_sandbox: false,
    };
    let Outcome::PartnerCreated(issuer) = env.app.state.store.execute(Command::CreatePartner(new)).await.unwrap() else {
        panic!("partner")
    };
    let (first, second) = (issue_token(&env, issuer.id, "CR-1").await, issue_token(&env, issuer.id, "CR-2").await);

    let withdrawal = env.transact(&user_code, "2", "500", &customer, "SHARED-AEPS").await;
    assert_eq!(withdrawal["status"], 0, "{withdrawal}");
    let before = env.wallet_paise().await;
    let refused = pay_token(&env, &user_code, &first, "SHARED-AEPS").await;
    assert_eq!((refused["status"].clone(), refused["message"].clone()), (json!(1), json!("Duplicate client_ref_id")));
    assert_eq!(env.wallet_paise().await, before, "nothing was paid");

    let paid = pay_token(&env, &user_code, &second, "SHARED-TOKEN").await;
    assert_eq!(paid["status"], 0, "{paid}");
    let after = env.wallet_paise().await;
    let refused = env.transact(&user_code, "2", "500", &customer, "SHARED-TOKEN").await;
    assert_eq!(refused["message"], "Duplicate client_ref_id", "{refused}");
    assert_eq!(env.wallet_paise().await, after, "nothing was withdrawn");
    assert_eq!(
        pay_token(&env, &user_code, &second, "SHARED-TOKEN").await["data"]["tid"],
        paid["data"]["tid"],
        "the token payment itself replays"
    );
    env.app.stop().await;
}
