//! Replay protection (`replay_protection`) through the real server on both backends,
//! with signed requests on a manual clock: captured AePS headers (their `request_hash`)
//! authorise one withdrawal, whichever node they are sent to; the same request retried
//! gets its stored answer; after the tolerance the use is pruned and the old timestamp
//! is refused as stale. (DMT transfers carry no `request_hash` in the vendor's API or in
//! Kosh, so there is nothing of theirs to replay-protect.)

mod eko_support;
use kosh_core::ids::PartnerId;
use kosh_testkit::on_both_backends;

use eko_support::{signed_at, Backend, CUSTOMER, FINGPAY, LATLONG, T0_MS};
use kosh_core::aadhaar::{with_check_digit, Aadhaar};
use kosh_core::aeps::simulated_pid;
use kosh_core::clock::{Clock, ManualClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::Credentials;
use kosh_server::config::{Config, HashStrictness};
use kosh_server::App;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(
    captured_headers_authorise_one_withdrawal_on_every_node,
    a_refused_withdrawal_leaves_its_request_hash_unused,
    unverified_hashes_and_reused_secret_keys_are_not_refused,
);

const USER_CODE: &str = "20810200";
/// How long a test waits for a worker to reach a stated condition.
const DEADLINE: Duration = Duration::from_secs(60);

/// A captured set of headers: the timestamp they were signed at (secret-key and
/// request_hash follow from it).
#[derive(Clone, Copy)]
struct Captured {
    timestamp_ms: i64,
}

struct Env {
    app: App,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
}

impl Env {
    async fn start(backend: Backend, configure: impl FnOnce(&mut Config)) -> Env {
        let clock = ManualClock::new(T0_MS);
        let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
            c.service_review_secs = 0;
            c.replay_protection = Some(true);
            configure(c)
        })
        .await;
        Env { app, clock, http: reqwest::Client::new() }
    }

    /// Another node on this node's database and clock.
    async fn second_node(&self) -> App {
        let config = Config { listen: "127.0.0.1:0".parse().expect("address"), ..(*self.app.state.config).clone() };
        App::start(config, self.clock.clone()).await.expect("start the second node")
    }

    /// Sends `body` (`initiator_id` added) to `node`, signed at `timestamp_ms`, with
    /// `request_hash` when given.
    async fn send(
        &self,
        node: &App,
        method: reqwest::Method,
        path: &str,
        body: Value,
        at: i64,
        hash: Option<String>,
    ) -> (u16, Value) {
        let creds = Credentials::sandbox();
        let mut body = body;
        body["initiator_id"] = json!(creds.initiator_id);
        let mut req = signed_at(self.http.request(method, format!("{}{path}", node.url())).json(&body), &creds, at);
        if let Some(hash) = hash {
            req = req.header("request_hash", hash);
        }
        eko_support::send(req).await
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let (status, body) = self.send(&self.app, method, path, body, self.clock.now_ms(), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A ₹`amount` cash withdrawal under `client_ref_id`, sent to `node` with the headers
    /// captured at `captured` (the request_hash over this withdrawal's hashed fields).
    async fn withdraw(
        &self,
        node: &App,
        captured: Captured,
        amount: &str,
        customer: &Aadhaar,
        client_ref_id: &str,
    ) -> (u16, Value) {
        let hash = Credentials::sandbox().request_hash(captured.timestamp_ms, &[customer.digits(), amount, USER_CODE]);
        let body = json!({ "service_type": "2", "user_code": USER_CODE, "customer_id": CUSTOMER, "bank_code": "PUNB",
            "amount": amount, "client_ref_id": client_ref_id, "aadhar": customer.digits(), "piddata": simulated_pid(9),
            "latlong": LATLONG });
        self.send(node, reqwest::Method::POST, "/ekoapi/v2/aeps", body, captured.timestamp_ms, Some(hash)).await
    }

    /// Headers captured now.
    fn capture(&self) -> Captured {
        Captured { timestamp_ms: self.clock.now_ms() }
    }

    async fn partner_id(&self) -> PartnerId {
        self.app.state.store.find_partner("sandbox").await.unwrap().expect("the sandbox partner").id
    }

    async fn wallet_paise(&self) -> i64 {
        self.app.state.store.balance(self.partner_id().await, &AccountKind::PartnerWallet).await.unwrap().available_credit()
    }

    /// Whether an AePS transaction exists under `client_ref_id`.
    async fn has_transaction(&self, client_ref_id: &str) -> bool {
        self.app.state.store.aeps_transaction_by_ref(self.partner_id().await, client_ref_id).await.unwrap().is_some()
    }

    /// Fingpay e-KYC and today's daily authentication for the sandbox agent.
    async fn ready_agent(&self) {
        let agent = aadhaar("98765432109");
        let sent = self
            .ok(
                reqwest::Method::POST,
                &format!("{FINGPAY}/otp"),
                json!({ "user_code": USER_CODE, "aadhar": agent.digits(), "customer_id": "9962981729", "latlong": LATLONG }),
            )
            .await;
        assert_eq!(sent["response_type_id"], 1600, "{sent}");
        let otp = self.sandbox_otp().await;
        let verified = self
            .ok(
                reqwest::Method::PUT,
                &format!("{FINGPAY}/otp/verify"),
                json!({ "user_code": USER_CODE, "otp": otp, "reference_tid": sent["data"]["reference_tid"] }),
            )
            .await;
        assert_eq!(verified["response_type_id"], 1604, "{verified}");
        let done = self.ok(reqwest::Method::PUT, &format!("{FINGPAY}/biometric"), biometric(&agent)).await;
        assert_eq!(done["response_type_id"], 1605, "{done}");
        let daily = self.ok(reqwest::Method::PUT, &format!("{FINGPAY}/biometric/daily"), biometric(&agent)).await;
        assert_eq!(daily["response_type_id"], 1713, "{daily}");
    }

    async fn sandbox_otp(&self) -> String {
        let creds = Credentials::sandbox();
        let url = format!("{}/sandbox/otp", self.app.url());
        let query = [("initiator_id", creds.initiator_id.as_str()), ("mobile", "9962981729"), ("purpose", "aeps_ekyc")];
        let (status, body) = eko_support::send(signed_at(self.http.get(url).query(&query), &creds, self.clock.now_ms())).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["otp"].as_str().expect("otp").to_owned()
    }
}

fn biometric(aadhaar: &Aadhaar) -> Value {
    json!({ "user_code": USER_CODE, "aadhar": aadhaar.digits(), "piddata": simulated_pid(1), "latlong": LATLONG, "bank_code": "SBIN" })
}

fn aadhaar(first_eleven: &str) -> Aadhaar {
    with_check_digit(first_eleven).expect("a valid Aadhaar number")
}

/// The replay refusal: 403 in the Eko envelope, saying when the hash was used.
fn assert_reuse_refused(status: u16, body: &Value, used_at: &str) {
    assert_eq!(status, 403, "{body}");
    assert_eq!((body["status"].as_i64(), body["response_status_id"].as_i64()), (Some(403), Some(1)), "{body}");
    let message = body["message"].as_str().expect("message");
    let expected = format!("this request_hash was already used at {used_at}; compute a fresh timestamp per request");
    assert!(message.contains(&expected), "{message}");
}

/// The scenario: a ₹700 withdrawal, then its captured headers under a new
/// client_ref_id (refused, on this node and on another), the same request retried
/// (its answer, one credit), and after the tolerance the pruned use and a stale refusal.
async fn captured_headers_authorise_one_withdrawal_on_every_node(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    env.ready_agent().await;
    let customer = aadhaar("34567890123");
    let before = env.wallet_paise().await;
    env.clock.advance_ms(1_000);
    let captured = env.capture();
    let (status, first) = env.withdraw(&env.app, captured, "700", &customer, "CW-1").await;
    assert_eq!((status, first["status"].as_i64(), first["data"]["tx_status"].as_str()), (200, Some(0), Some("0")), "{first}");
    let credited = env.wallet_paise().await - before;
    assert!(credited > 0, "the withdrawal credits the partner's e-value: {first}");

    // The captured headers under a new client_ref_id, a little later: refused, nothing moved.
    env.clock.advance_ms(5_000);
    let (status, reused) = env.withdraw(&env.app, captured, "700", &customer, "CW-2").await;
    assert_reuse_refused(status, &reused, "2023-11-14T22:13:21.000Z");
    assert_eq!(env.wallet_paise().await - before, credited, "the wallet is unchanged");
    assert!(!env.has_transaction("CW-2").await, "no transaction was recorded");

    // The exact same request retried: its stored answer, one credit.
    let (status, retry) = env.withdraw(&env.app, captured, "700", &customer, "CW-1").await;
    assert_eq!((status, &retry["data"]["tid"]), (200, &first["data"]["tid"]), "{retry}");
    assert_eq!(env.wallet_paise().await - before, credited, "a retry moves nothing");

    // Another node on the same database refuses the reuse as well.
    let node_b = env.second_node().await;
    let (status, on_b) = env.withdraw(&node_b, captured, "700", &customer, "CW-3").await;
    assert_reuse_refused(status, &on_b, "2023-11-14T22:13:21.000Z");
    let (status, retry_on_b) = env.withdraw(&node_b, captured, "700", &customer, "CW-1").await;
    assert_eq!((status, &retry_on_b["data"]["tid"]), (200, &first["data"]["tid"]), "{retry_on_b}");

    // The partner's next withdrawal, signed afresh, goes through on either node.
    let (status, next) = env.withdraw(&node_b, env.capture(), "700", &customer, "CW-2").await;
    assert_eq!((status, next["status"].as_i64()), (200, Some(0)), "{next}");
    assert_eq!(env.wallet_paise().await - before, 2 * credited);

    // Past the tolerance (and the pruning's clock-skew margin) the use is forgotten, and
    // the captured headers are refused as stale anyway.
    let tolerance_ms = env.app.state.config.timestamp_tolerance_secs as i64 * 1000;
    env.clock.advance_ms(tolerance_ms + kosh_server::workers::request_hashes::CLOCK_SKEW_MS + 1_000);
    let hash = Credentials::sandbox().request_hash(captured.timestamp_ms, &[customer.digits(), "700", USER_CODE]);
    wait_until_pruned(&env, &hash).await;
    for reference in ["CW-4", "CW-1"] {
        let (status, stale) = env.withdraw(&env.app, captured, "700", &customer, reference).await;
        assert_eq!(status, 403, "{stale}");
        assert!(stale["message"].as_str().unwrap().contains("s old, tolerance is 300 s"), "{stale}");
    }
    assert!(!env.has_transaction("CW-4").await);
    assert_eq!(env.wallet_paise().await - before, 2 * credited);
    node_b.stop().await;
    env.app.stop().await;
}

/// Waits (bounded) until the prune worker has deleted the use of `hash`.
async fn wait_until_pruned(env: &Env, hash: &str) {
    let partner_id = env.partner_id().await;
    let started = Instant::now();
    while env.app.state.store.request_hash_use(partner_id, hash).await.unwrap().is_some() {
        assert!(started.elapsed() < DEADLINE, "the expired request_hash use was not pruned within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A withdrawal refused before it moved money (no daily authentication yet) does not use
/// up its headers: once the agent authenticates, the same headers work once.
async fn a_refused_withdrawal_leaves_its_request_hash_unused(backend: Backend) {
    let env = Env::start(backend, |_| {}).await;
    let customer = aadhaar("45678901234");
    let captured = env.capture();
    let (status, refused) = env.withdraw(&env.app, captured, "700", &customer, "EARLY-1").await;
    assert_eq!((status, refused["response_type_id"].as_i64()), (200, Some(2136)), "no e-KYC yet: {refused}");
    env.ready_agent().await;
    let (status, done) = env.withdraw(&env.app, captured, "700", &customer, "EARLY-2").await;
    assert_eq!((status, done["status"].as_i64()), (200, Some(0)), "{done}");
    let (status, reused) = env.withdraw(&env.app, captured, "700", &customer, "EARLY-3").await;
    assert_reuse_refused(status, &reused, "2023-11-14T22:13:20.000Z");
    env.app.stop().await;
}

/// What replay protection leaves alone: a hash that did not verify in warn mode (it
/// protects nothing), `secret-key` headers reused on non-financial calls (the vendor's
/// SDKs and examples do that), and, by default in sandbox mode, reused request_hashes.
async fn unverified_hashes_and_reused_secret_keys_are_not_refused(backend: Backend) {
    let env = Env::start(backend, |c| c.request_hash = HashStrictness::Warn).await;
    env.ready_agent().await;
    let customer = aadhaar("56789012345");
    let at = env.clock.now_ms();
    for reference in ["WARN-1", "WARN-2"] {
        let body = json!({ "service_type": "3", "user_code": USER_CODE, "customer_id": CUSTOMER, "bank_code": "PUNB",
            "amount": "0", "client_ref_id": reference, "aadhar": customer.digits(), "piddata": simulated_pid(9),
            "latlong": LATLONG });
        let wrong = Some("bm90IHRoZSByZXF1ZXN0IGhhc2g=".to_owned());
        let (status, answer) = env.send(&env.app, reqwest::Method::POST, "/ekoapi/v2/aeps", body, at, wrong).await;
        assert_eq!((status, answer["status"].as_i64()), (200, Some(0)), "{answer}");
    }
    let creds = Credentials::sandbox();
    for _ in 0..2 {
        let url = format!("{}/ekoapi/v1/user/services", env.app.url());
        let req = signed_at(env.http.get(url).query(&[("initiator_id", creds.initiator_id.as_str())]), &creds, at);
        let (status, services) = eko_support::send(req).await;
        assert_eq!((status, services["response_type_id"].as_i64()), (200, Some(1280)), "{services}");
    }
    env.app.stop().await;

    // Sandbox mode's default is off: the vendor's examples send one header set for
    // several requests. Outside sandbox mode it is on.
    let sandbox = Env::start(backend, |c| c.replay_protection = None).await;
    sandbox.ready_agent().await;
    let captured = sandbox.capture();
    for reference in ["SBX-1", "SBX-2"] {
        let (status, answer) = sandbox.withdraw(&sandbox.app, captured, "700", &customer, reference).await;
        assert_eq!((status, answer["status"].as_i64()), (200, Some(0)), "{answer}");
    }
    assert!(!sandbox.app.state.config.replay_protection_on());
    assert!(Config { sandbox: false, ..Config::default() }.replay_protection_on());
    assert!(!Config { sandbox: false, replay_protection: Some(false), ..Config::default() }.replay_protection_on());
    sandbox.app.stop().await;
}
