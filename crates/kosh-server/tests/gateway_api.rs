//! The AePS gateway's server side on both backends, without a browser: opening the page,
//! announcing transactions, and verifying partners' confirmations — tampered details,
//! replayed and stale confirmations, refusals, the partner's own client_ref_id, expiry.
//! Time comes from a manual clock; everything is signed at the clock's time.

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::{agent_form, signed_at, Backend, FINGPAY, T0_MS};
use kosh_core::aadhaar::{with_check_digit, Aadhaar};
use kosh_core::aeps::simulated_pid;
use kosh_core::clock::{Clock, ManualClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::aeps_callback::{AepsCallback, CallbackConfig, Decision};
use kosh_sdk::eko::Credentials;
use kosh_server::App;
use serde_json::{json, Value};
use std::sync::Arc;

on_both_backends!(
    opening_the_page_checks_the_partner_and_the_agent,
    the_partners_custom_callback_headers_reach_the_page,
    confirmations_are_bound_to_their_transaction,
    the_partners_own_client_ref_id_replaces_koshs,
    bad_input_readiness_and_expiry_are_explained,
    concurrent_confirmations_of_one_transaction_move_money_once,
    confirmations_are_verified_strictly_whatever_the_request_hash_setting,
    outside_sandbox_mode_there_is_no_bank_and_no_simulated_capture,
);

const CALLBACK: &str = "http://127.0.0.1:9/eko_aeps_callback";

struct Env {
    app: App,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
    /// The partner everything is signed as: the sandbox partner unless a test says otherwise.
    creds: Credentials,
}

impl Env {
    async fn start(backend: Backend) -> Env {
        Self::start_with(backend, |_| {}).await
    }

    async fn start_with(backend: Backend, configure: impl FnOnce(&mut kosh_server::config::Config)) -> Env {
        let clock = ManualClock::new(T0_MS);
        let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
            c.service_review_secs = 0;
            configure(c)
        })
        .await;
        Env { app, clock, http: reqwest::Client::new(), creds: Credentials::sandbox() }
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.api_hashed(method, path, body, None).await
    }

    /// Sends `body` signed as the env's partner, with a `request_hash` over `hash_fields` when given.
    async fn api_hashed(&self, method: reqwest::Method, path: &str, mut body: Value, hash_fields: Option<&[&str]>) -> Value {
        let creds = &self.creds;
        let now = self.clock.now_ms();
        body["initiator_id"] = json!(creds.initiator_id);
        let mut req = signed_at(self.http.request(method, format!("{}{path}", self.app.url())).json(&body), creds, now);
        if let Some(fields) = hash_fields {
            req = req.header("request_hash", creds.request_hash(now, fields));
        }
        eko_support::send(req).await.1
    }

    async fn ready_agent(&self, user_code: &str, agent_mobile: &str, aadhaar: &Aadhaar) {
        let sent = self
            .api(reqwest::Method::POST, &format!("{FINGPAY}/otp"), json!({ "user_code": user_code, "aadhar": aadhaar.digits(), "customer_id": agent_mobile, "latlong": "28.4,77.0" }))
            .await;
        assert_eq!(sent["response_type_id"], 1600, "{sent}");
        let creds = Credentials::sandbox();
        let url = format!("{}/sandbox/otp?mobile={agent_mobile}&purpose=aeps_ekyc", self.app.url());
        let otp = eko_support::send(signed_at(self.http.get(url), &creds, self.clock.now_ms())).await.1;
        let verified = self
            .api(
                reqwest::Method::PUT,
                &format!("{FINGPAY}/otp/verify"),
                json!({ "user_code": user_code, "otp": otp["data"]["otp"] }),
            )
            .await;
        assert_eq!(verified["response_type_id"], 1604, "{verified}");
        let bio = json!({ "user_code": user_code, "aadhar": aadhaar.digits(), "piddata": simulated_pid(5) });
        assert_eq!(self.api(reqwest::Method::PUT, &format!("{FINGPAY}/biometric"), bio.clone()).await["response_type_id"], 1605);
        assert_eq!(self.api(reqwest::Method::PUT, &format!("{FINGPAY}/biometric/daily"), bio).await["response_type_id"], 1713);
    }

    fn form(&self, user_code: &str) -> Vec<(&'static str, String)> {
        let creds = &self.creds;
        let h = creds.sign(self.clock.now_ms());
        vec![
            ("partner_name", "Test Partner".into()),
            ("initiator_id", creds.initiator_id.clone()),
            ("developer_key", h.developer_key),
            ("secret_key", h.secret_key),
            ("secret_key_timestamp", h.secret_key_timestamp),
            ("user_code", user_code.into()),
            ("callback_url", CALLBACK.into()),
            ("callback_url_custom_params", r#"{"param1":"value1"}"#.into()),
            ("environment", "uat".into()),
        ]
    }

    /// POSTs the form; answers the HTTP status, the CSP header and the HTML.
    async fn open_page(&self, form: &[(&'static str, String)]) -> (u16, String, String) {
        let response = self.http.post(format!("{}/v2/aeps", self.app.url())).form(form).send().await.expect("kosh answers");
        let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        (response.status().as_u16(), csp, response.text().await.expect("html"))
    }

    /// Opens the page and answers its session token.
    async fn session(&self, user_code: &str) -> String {
        let (status, _, html) = self.open_page(&self.form(user_code)).await;
        assert_eq!(status, 200, "{html}");
        session_token(&html)
    }

    async fn page_api(&self, session: &str, path: &str, body: Value) -> (u16, Value) {
        let req =
            self.http.post(format!("{}/v2/aeps/api{path}", self.app.url())).header("x-gateway-session", session).json(&body);
        eko_support::send(req).await
    }

    async fn intent(&self, session: &str, kind: &str, amount: &str, customer: &Aadhaar) -> (i64, Value) {
        let body = json!({ "type": kind, "customer_id": "9812345678", "aadhaar": customer.digits(), "bank_code": "PUNB",
                           "amount": amount, "piddata": simulated_pid(11) });
        let (status, answer) = self.page_api(session, "/intents", body).await;
        assert_eq!((status, answer["status"].as_i64()), (200, Some(0)), "{answer}");
        (answer["data"]["intent_id"].as_i64().expect("intent id"), answer["data"]["detail"].clone())
    }

    async fn confirm(&self, session: &str, intent_id: i64, confirmation: &Value) -> Value {
        self.page_api(session, &format!("/intents/{intent_id}/confirm"), json!({ "confirmation": confirmation })).await.1
    }

    fn partner(
        &self,
        policy: impl Fn(&kosh_sdk::aeps_callback::DebitHook) -> Decision + Send + Sync + 'static,
    ) -> Arc<AepsCallback> {
        let mut config = CallbackConfig::new(Credentials::sandbox(), self.app.url());
        config.clock = self.clock.clone();
        config.policy = Arc::new(policy);
        AepsCallback::new(config)
    }

    async fn wallet_paise(&self) -> i64 {
        let partner = self.app.state.store.find_partner("sandbox").await.unwrap().unwrap();
        self.app.state.store.balance(partner.id, &AccountKind::PartnerWallet).await.unwrap().available_credit()
    }
}

/// The session token in a gateway page's configuration.
fn session_token(html: &str) -> String {
    let start = html.find("id=\"gateway-config\">").expect("config") + "id=\"gateway-config\">".len();
    let end = start + html[start..].find("</script>").expect("end of config");
    let config: Value = serde_json::from_str(&html[start..end]).expect("config JSON");
    config["session"].as_str().expect("token").to_owned()
}

fn aadhaar(first_eleven: &str) -> Aadhaar {
    with_check_digit(first_eleven).expect("valid")
}

fn debit_hook(detail: &Value) -> Value {
    json!({ "action": "debit-hook", "detail": detail })
}

/// `callback_url_custom_headers` are held as a secret (never in a `{:?}`), but the page
/// must still get their real values: its script sends them to the partner's callback.
async fn the_partners_custom_callback_headers_reach_the_page(backend: Backend) {
    let env = Env::start(backend).await;
    let mut form = env.form("20810200");
    form.push(("callback_url_custom_headers", r#"{"X-Partner-Auth":"pa-7d1e0c"}"#.into()));
    let (status, _, html) = env.open_page(&form).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#""custom_headers":{"X-Partner-Auth":"pa-7d1e0c"}"#), "{html}");
    assert!(!html.contains("redacted"), "{html}");
    env.app.stop().await;
}

async fn opening_the_page_checks_the_partner_and_the_agent(backend: Backend) {
    let env = Env::start(backend).await;
    let (status, csp, html) = env.open_page(&env.form("20810200")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Customer transaction") && html.contains("Test Partner"), "{html}");
    assert!(csp.contains("connect-src 'self' http://127.0.0.1:9"), "{csp}");
    assert!(!html.contains(&Credentials::sandbox().access_key), "the access key never reaches the page");
    assert!(html.contains("id=\"capture\"") && html.contains("function simulatedPid"), "sandbox: the simulated capture");

    let mut wrong = env.form("20810200");
    wrong[3].1 = Credentials::sandbox().sign(env.clock.now_ms() - 1).secret_key;
    let (status, _, html) = env.open_page(&wrong).await;
    assert_eq!(status, 403);
    assert!(html.contains("Error in authentication"), "{html}");

    let mut stale = env.form("20810200");
    env.clock.advance_ms(301_000);
    stale.retain(|(k, _)| *k != "callback_url");
    let (status, _, html) = env.open_page(&stale).await;
    assert_eq!(status, 403, "a form signed 301 s ago is refused first: {html}");
    assert!(html.contains("301 s old"), "{html}");

    let mut no_callback = env.form("20810200");
    no_callback.retain(|(k, _)| *k != "callback_url");
    let (status, _, html) = env.open_page(&no_callback).await;
    assert_eq!(status, 400);
    assert!(html.contains("callback_url is required"), "{html}");

    // An agent without service 43: the FAQ's "Initiator access forbidden".
    let form: serde_json::Map<String, Value> =
        agent_form("ABCPG5555E", "9876555555").into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
    let onboarded = env.api(reqwest::Method::PUT, "/ekoapi/v1/user/onboard", Value::Object(form)).await;
    let user_code = onboarded["data"]["user_code"].as_str().expect("user_code").to_owned();
    let (status, _, html) = env.open_page(&env.form(&user_code)).await;
    assert_eq!(status, 403);
    assert!(html.contains("Authentication Failed...Initiator access forbidden"), "{html}");

    let get = env.http.get(format!("{}/v2/aeps", env.app.url())).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert!(get.text().await.unwrap().contains("form POST"));
    env.app.stop().await;
}

async fn confirmations_are_bound_to_their_transaction(backend: Backend) {
    let env = Env::start(backend).await;
    env.ready_agent("20810200", "9962981729", &aadhaar("98765432109")).await;
    let session = env.session("20810200").await;
    let partner = env.partner(|_| Decision::Allow { client_ref_id: None });
    let customer = aadhaar("34567890123");
    let before = env.wallet_paise().await;

    let (a, detail) = env.intent(&session, "2", "1000", &customer).await;
    assert_eq!(detail["interaction_type_id"], 344);
    assert_eq!(detail["request_hash_params"], json!(["customer_id", "amount", "user_code"]));
    assert_eq!(
        detail["data"],
        json!({ "customer_id": "9812345678", "bank_code": "PUNB", "type": "2", "user_code": "20810200", "amount": "1000" })
    );
    assert_eq!(detail["param1"], "value1", "custom params are in the debit-hook's detail");
    assert!(!detail.to_string().contains(customer.digits()), "the debit-hook never carries the Aadhaar number");

    // The detail changed on its way to the partner (amount 100): the partner signed
    // another transaction, so Kosh refuses.
    let mut tampered = detail.clone();
    tampered["data"]["amount"] = json!("100");
    let confirmation = partner.answer(&debit_hook(&tampered)).await.unwrap();
    let refused = env.confirm(&session, a, &confirmation).await;
    assert_eq!(refused["message"], "Authentication for request-hash failed", "{refused}");
    assert!(refused["hint"].as_str().unwrap().contains("detail changed"), "{refused}");

    let mut bad_key = partner.answer(&debit_hook(&detail)).await.unwrap();
    bad_key["secret_key"] = json!(Credentials::sandbox().sign(1).secret_key);
    assert_eq!(env.confirm(&session, a, &bad_key).await["message"], "Authentication for secret-key failed");
    assert_eq!(env.wallet_paise().await, before, "nothing moved");

    let confirmation = partner.answer(&debit_hook(&detail)).await.unwrap();
    let done = env.confirm(&session, a, &confirmation).await;
    assert_eq!((done["response_type_id"].as_i64(), done["data"]["tx_status"].as_str()), (Some(1463), Some("0")), "{done}");
    assert_eq!(env.wallet_paise().await - before, 100_392, "₹1,000 + ₹4 − ₹0.08");
    let retried = env.confirm(&session, a, &confirmation).await;
    assert_eq!(retried["data"]["tid"], done["data"]["tid"], "a retried confirmation answers the same transaction: {retried}");

    // The same confirmation for another transaction with the same data.
    let (b, _) = env.intent(&session, "2", "1000", &customer).await;
    let replayed = env.confirm(&session, b, &confirmation).await;
    assert_eq!(replayed["message"], "Confirmation refused: it belongs to another transaction", "{replayed}");
    assert!(replayed["hint"].as_str().unwrap().contains("already used"), "{replayed}");

    // A confirmation signed before the transaction was announced.
    let early = partner.answer(&debit_hook(&detail)).await.unwrap();
    env.clock.advance_ms(60_000);
    let (c, _) = env.intent(&session, "2", "1000", &customer).await;
    let stale = env.confirm(&session, c, &early).await;
    assert_eq!(stale["message"], "Confirmation refused: it belongs to another transaction", "{stale}");
    assert_eq!(env.wallet_paise().await - before, 100_392, "no replay moved money");

    // allow:false closes the transaction for good.
    let (d, detail_d) = env.intent(&session, "3", "0", &customer).await;
    assert!(detail_d["data"].get("amount").is_none(), "no amount for a balance enquiry");
    let (status, refused) =
        env.page_api(&session, &format!("/intents/{d}/refuse"), json!({ "message": "Customer blocked" })).await;
    assert_eq!((status, refused["data"]["message"].as_str()), (200, Some("Customer blocked")), "{refused}");
    let late = env.confirm(&session, d, &partner.answer(&debit_hook(&detail_d)).await.unwrap()).await;
    assert_eq!(late["message"], "This transaction is closed", "{late}");
    assert_eq!(env.confirm(&session, 999_999, &confirmation).await["status"], 168);
    env.app.stop().await;
}

async fn the_partners_own_client_ref_id_replaces_koshs(backend: Backend) {
    let env = Env::start(backend).await;
    env.ready_agent("20810200", "9962981729", &aadhaar("98765432109")).await;
    let session = env.session("20810200").await;
    let partner = env.partner(|_| Decision::Allow { client_ref_id: Some("PARTNER-REF-1".into()) });
    let customer = aadhaar("45678901234");
    let (a, detail) = env.intent(&session, "4", "0", &customer).await;
    let done = env.confirm(&session, a, &partner.answer(&debit_hook(&detail)).await.unwrap()).await;
    assert_eq!(
        (done["response_type_id"].as_i64(), done["data"]["client_ref_id"].as_str()),
        (Some(1527), Some("PARTNER-REF-1")),
        "{done}"
    );
    let inquiry = env.api(reqwest::Method::GET, "/ekoapi/v2/aeps/transactions/client_ref_id:PARTNER-REF-1", json!({})).await;
    assert_eq!(inquiry["data"]["tid"], done["data"]["tid"], "{inquiry}");
    // The same reference for another transaction is refused. (A confirmation is known
    // by its request_hash: identical data signed in the same millisecond would be the
    // same confirmation, so the clock moves on.)
    env.clock.advance_ms(1);
    let (b, detail_b) = env.intent(&session, "3", "0", &customer).await;
    let dup = env.confirm(&session, b, &partner.answer(&debit_hook(&detail_b)).await.unwrap()).await;
    assert_eq!(dup["message"], "Duplicate client_ref_id", "{dup}");
    env.clock.advance_ms(1);
    let long = env.partner(|_| Decision::Allow { client_ref_id: Some("X".repeat(21)) });
    let (c, detail_c) = env.intent(&session, "3", "0", &customer).await;
    let bad = env.confirm(&session, c, &long.answer(&debit_hook(&detail_c)).await.unwrap()).await;
    assert_eq!(bad["message"], "Invalid client_ref_id from the callback", "{bad}");
    env.app.stop().await;
}

async fn bad_input_readiness_and_expiry_are_explained(backend: Backend) {
    let env = Env::start(backend).await;
    env.ready_agent("20810200", "9962981729", &aadhaar("98765432109")).await;
    let session = env.session("20810200").await;
    let customer = aadhaar("56789012345");
    let mut wrong_check = customer.digits().to_owned();
    wrong_check.replace_range(11..12, if wrong_check.ends_with('0') { "1" } else { "0" });
    let body = json!({ "type": "2", "customer_id": "12345", "aadhaar": wrong_check, "bank_code": "NOPE", "amount": "10001",
                       "piddata": "<PidData><Resp errCode=\"0\" fCount=\"1\"/></PidData>" });
    let (_, invalid) = env.page_api(&session, "/intents", body).await;
    assert_eq!(eko_support::invalid_names(&invalid), ["aadhaar", "amount", "bank_code", "customer_id", "piddata"], "{invalid}");

    // Five transactions for the Aadhaar today; the sixth is refused before the debit-hook.
    let partner = env.partner(|_| Decision::Allow { client_ref_id: None });
    for _ in 0..5 {
        env.clock.advance_ms(1);
        let (id, detail) = env.intent(&session, "3", "0", &customer).await;
        assert_eq!(env.confirm(&session, id, &partner.answer(&debit_hook(&detail)).await.unwrap()).await["status"], 0);
    }
    let body = json!({ "type": "3", "customer_id": "9812345678", "aadhaar": customer.digits(), "bank_code": "PUNB", "piddata": simulated_pid(1) });
    let (_, sixth) = env.page_api(&session, "/intents", body.clone()).await;
    assert_eq!(sixth["message"], "Transaction limit exceeded for this Aadhaar", "{sixth}");

    // A new IST day: daily authentication again, which the page can do too.
    env.clock.advance_ms(86_400_000);
    let session = env.session("20810200").await;
    let mut other = body.clone();
    other["aadhaar"] = json!(aadhaar("67890123456").digits());
    let (_, not_ready) = env.page_api(&session, "/intents", other.clone()).await;
    assert_eq!(not_ready["message"], "Daily authentication pending", "{not_ready}");
    let (_, wrong_agent) =
        env.page_api(&session, "/daily-auth", json!({ "aadhaar": customer.digits(), "piddata": simulated_pid(2) })).await;
    assert_eq!(wrong_agent["message"], "Aadhaar number does not match the agent's e-KYC", "{wrong_agent}");
    let (_, daily) = env
        .page_api(&session, "/daily-auth", json!({ "aadhaar": aadhaar("98765432109").digits(), "piddata": simulated_pid(2) }))
        .await;
    assert_eq!(daily["response_type_id"], 1713, "{daily}");
    let (_, ok) = env.page_api(&session, "/intents", other).await;
    assert_eq!(ok["status"], 0, "{ok}");

    // Sessions expire after 30 minutes; unknown tokens are refused alike.
    env.clock.advance_ms(30 * 60_000);
    let (status, expired) = env.page_api(&session, "/intents", body.clone()).await;
    assert_eq!((status, expired["message"].as_str()), (401, Some("The gateway session has expired")), "{expired}");
    let (status, _) = env.page_api("not-a-session", "/intents", body).await;
    assert_eq!(status, 401);
    env.app.stop().await;
}

/// Many confirmations of one announced transaction at once, each a valid confirmation
/// with its own partner client_ref_id: exactly one transacts; the others are refused and
/// leave nothing behind (no transaction, no ledger entry, no count against the Aadhaar).
async fn concurrent_confirmations_of_one_transaction_move_money_once(backend: Backend) {
    const RACERS: usize = 12;
    let env = Env::start(backend).await;
    env.ready_agent("20810200", "9962981729", &aadhaar("98765432109")).await;
    let session = env.session("20810200").await;
    let customer = aadhaar("23456789012");
    let (id, detail) = env.intent(&session, "2", "1000", &customer).await;
    let mut confirmations = Vec::new();
    for i in 0..RACERS {
        // Each signed a millisecond apart: distinct request_hashes, all valid.
        env.clock.advance_ms(1);
        let partner = env.partner(move |_| Decision::Allow { client_ref_id: Some(format!("RACE-REF-{i}")) });
        confirmations.push(partner.answer(&debit_hook(&detail)).await.unwrap());
    }
    let before = env.wallet_paise().await;
    let url = format!("{}/v2/aeps/api/intents/{id}/confirm", env.app.url());
    let tasks: Vec<_> = confirmations
        .iter()
        .map(|c| {
            let req = env.http.post(&url).header("x-gateway-session", &session).json(&json!({ "confirmation": c }));
            tokio::spawn(eko_support::send(req))
        })
        .collect();
    let mut transacted = Vec::new();
    for task in tasks {
        let (status, answer) = task.await.expect("confirmation task");
        assert_eq!(status, 200, "{answer}");
        if answer["status"] == 0 {
            transacted.push(answer["data"]["client_ref_id"].as_str().expect("client_ref_id").to_owned());
        } else {
            assert_eq!(answer["message"], "This transaction is closed", "{answer}");
        }
    }
    assert_eq!(transacted.len(), 1, "exactly one confirmation transacts: {transacted:?}");
    assert_eq!(env.wallet_paise().await - before, 100_392, "money moved once: ₹1,000 + ₹4 − ₹0.08");
    let store = &env.app.state.store;
    let partner_id = store.find_partner("sandbox").await.unwrap().unwrap().id;
    let mut stored = 0;
    for i in 0..RACERS {
        if store.aeps_transaction_by_ref(partner_id, &format!("RACE-REF-{i}")).await.unwrap().is_some() {
            stored += 1;
        }
    }
    assert_eq!(stored, 1, "one transaction stored");
    let day = kosh_core::aeps::ist_day(env.clock.now_ms());
    let hash = customer.keyed_hash(env.app.state.config.aadhaar_pepper().expect("the sandbox key"));
    assert_eq!(store.aeps_aadhaar_day_count(&hash, day).await.unwrap(), 1, "one count against the Aadhaar");
    env.app.stop().await;
}

/// `request_hash = warn` (or off) relaxes API request headers only: a gateway
/// confirmation is always checked in full, so a replayed or tampered one moves nothing.
async fn confirmations_are_verified_strictly_whatever_the_request_hash_setting(backend: Backend) {
    let env = Env::start_with(backend, |c| c.request_hash = kosh_server::config::HashStrictness::Warn).await;
    env.ready_agent("20810200", "9962981729", &aadhaar("98765432109")).await;
    let session = env.session("20810200").await;
    let partner = env.partner(|_| Decision::Allow { client_ref_id: None });
    let customer = aadhaar("34567890123");
    let before = env.wallet_paise().await;

    // The partner confirmed a ₹100 withdrawal; that confirmation, replayed for a ₹9,000
    // one that the partner never saw, is refused.
    let (small, small_detail) = env.intent(&session, "2", "100", &customer).await;
    let confirmation = partner.answer(&debit_hook(&small_detail)).await.unwrap();
    let (big, _) = env.intent(&session, "2", "9000", &customer).await;
    let replayed = env.confirm(&session, big, &confirmation).await;
    assert_eq!(replayed["message"], "Authentication for request-hash failed", "{replayed}");

    // A detail changed on its way to the partner.
    let mut tampered = small_detail.clone();
    tampered["data"]["customer_id"] = json!("9000000000");
    let forged = env.confirm(&session, small, &partner.answer(&debit_hook(&tampered)).await.unwrap()).await;
    assert_eq!(forged["message"], "Authentication for request-hash failed", "{forged}");

    // secret_key and timestamp are checked as strictly.
    let mut bad_key = confirmation.clone();
    bad_key["secret_key"] = json!(Credentials::sandbox().sign(1).secret_key);
    assert_eq!(env.confirm(&session, small, &bad_key).await["message"], "Authentication for secret-key failed");
    let mut no_hash = confirmation.clone();
    no_hash.as_object_mut().unwrap().remove("request_hash");
    assert_eq!(env.confirm(&session, small, &no_hash).await["message"], "Authentication for secret-key failed");
    assert_eq!(env.wallet_paise().await, before, "nothing moved");

    // The genuine confirmation still works for the transaction it was made for.
    let done = env.confirm(&session, small, &confirmation).await;
    assert_eq!(done["data"]["tx_status"], "0", "{done}");
    assert_eq!(env.wallet_paise().await - before, 10_000, "₹100, no commission up to ₹100");
    env.app.stop().await;
}

/// Outside sandbox mode the sandbox bank never answers and the page has no simulated
/// fingerprint capture: transactions are refused, by the API and by the page, before
/// anything is stored.
async fn outside_sandbox_mode_there_is_no_bank_and_no_simulated_capture(backend: Backend) {
    let mut env = Env::start_with(backend, eko_support::production).await;
    env.creds = Credentials {
        developer_key: kosh_core::secret::new_developer_key(),
        access_key: kosh_core::secret::new_access_key(),
        initiator_id: "9000000001".into(),
    };
    eko_support::create_partner(&env.app, "production", &env.creds).await;
    let form: serde_json::Map<String, Value> =
        agent_form("ABCPG6666F", "9876566666").into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
    let onboarded = env.api(reqwest::Method::PUT, "/ekoapi/v1/user/onboard", Value::Object(form)).await;
    let user_code = onboarded["data"]["user_code"].as_str().expect("user_code").to_owned();
    let activated = env
        .api(reqwest::Method::PUT, "/ekoapi/v1/user/service/activate", json!({ "service_code": "43", "user_code": user_code }))
        .await;
    assert_eq!(activated["data"]["status"], 1, "{activated}");

    let (status, _, html) = env.open_page(&env.form(&user_code)).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("No AePS bank connector is configured on this server"), "{html}");
    for simulated in ["id=\"capture\"", "id=\"agent-capture\"", "simulatedPid", "sandbox simulation", "PidData"] {
        assert!(!html.contains(simulated), "no simulated capture outside sandbox mode: {simulated}");
    }
    assert!(html.contains("id=\"proceed\" disabled"), "nothing to proceed with");

    let no_bank = "No AePS bank connector is configured on this server";
    let customer = aadhaar("34567890123");
    let body = json!({ "type": "2", "customer_id": "9812345678", "aadhaar": customer.digits(), "bank_code": "PUNB",
                       "amount": "1000", "piddata": simulated_pid(11) });
    let (status, refused) = env.page_api(&session_token(&html), "/intents", body).await;
    assert_eq!((status, refused["message"].as_str()), (200, Some(no_bank)), "{refused}");
    assert!(refused["hint"].as_str().unwrap().contains("sandbox mode"), "{refused}");

    let body = json!({ "service_type": "2", "user_code": user_code, "customer_id": "9812345678", "bank_code": "PUNB",
                       "amount": "1000", "client_ref_id": "NOBANK-1", "aadhar": customer.digits(), "piddata": simulated_pid(9),
                       "latlong": "28.4,77.0" });
    let fields = [customer.digits(), "1000", user_code.as_str()];
    let refused = env.api_hashed(reqwest::Method::POST, "/ekoapi/v2/aeps", body, Some(&fields)).await;
    assert_eq!(refused["message"], no_bank, "{refused}");
    let store = &env.app.state.store;
    let partner_id = store.partner_by_developer_key(&env.creds.developer_key).await.unwrap().expect("partner").id;
    assert!(store.aeps_transaction_by_ref(partner_id, "NOBANK-1").await.unwrap().is_none(), "nothing stored");
    let day = kosh_core::aeps::ist_day(env.clock.now_ms());
    let hash = customer.keyed_hash(eko_support::TEST_AADHAAR_PEPPER);
    assert_eq!(store.aeps_aadhaar_day_count(&hash, day).await.unwrap(), 0, "nothing counted against the Aadhaar");
    env.app.stop().await;
}
