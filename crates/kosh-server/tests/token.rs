//! Token cash collection end to end, on both backends: a partner issues tokens; the
//! sandbox partner's agent collects them in cash; Kosh asks the issuer's Fetch Details
//! API first and acknowledges to its Acknowledgement API afterwards (a test server on
//! 127.0.0.1 with Basic auth).

mod eko_support;
use kosh_core::ids::PartnerId;
use kosh_testkit::on_both_backends;
mod callback_support;

use callback_support::*;
use eko_support::{start_with_clock, Backend};
use kosh_core::civil::ist_datetime;
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::App;
use serde_json::{json, Value};
use std::sync::Arc;

on_both_backends!(
    token_is_fetched_paid_once_and_acknowledged,
    token_payment_stops_when_the_issuer_says_no_or_it_expired,
    the_paying_client_ref_id_is_an_idempotency_key,
    concurrent_duplicate_payments_pay_once,
    an_acknowledgement_refused_with_401_is_a_failed_attempt_retried_hourly,
);

const BASIC: (&str, &str) = ("eko", "fetch-and-ack-secret");
const AGENT: &str = "20810200";

struct World {
    app: App,
    clock: Arc<ManualClock>,
    issuer_id: PartnerId,
    issuer: Client,
    payer: Client,
    partner_server: Receiver,
}

async fn world(backend: Backend) -> World {
    // Requests are signed with the wall clock; the server's clock starts there and the
    // tolerance is wide so a test may move it forward.
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400;
        c.callbacks_tick_ms = 5;
    })
    .await;
    let credentials = Credentials {
        developer_key: "issuer-developer-key".into(),
        access_key: "issuer-access-key".into(),
        initiator_id: "9811122233".into(),
    };
    let issuer = eko_support::create_partner(&app, "issuer", &credentials).await;
    let partner_server = Receiver::start(
        clock.clone(),
        Arc::new(|r| {
            if r.header("authorization") != Some("Basic ZWtvOmZldGNoLWFuZC1hY2stc2VjcmV0") {
                return reply(401, r#"{"status":401,"status_desc":"Unauthorized"}"#);
            }
            match r.path.as_str() {
                "/fetch" if r.query.contains("client_ref_id=CR-NF") => {
                    reply(200, r#"{"status":1,"status_desc":"Failure","response_code":"01","response_code_desc":"Details not found"}"#)
                }
                "/fetch" => {
                    let reference = r.query.trim_start_matches("client_ref_id=");
                    let data = json!({"client_ref_id": reference, "amount": "1500", "customer_name": "Ram", "customer_mobile": "9400000000"});
                    reply(200, &json!({"status":0,"status_desc":"Success","response_code":"00","response_code_desc":"Details Found","data":data}).to_string())
                }
                _ => ack_ok("PTID-1"),
            }
        }),
    )
    .await;
    let store = &app.state.store;
    set_endpoint(store, issuer.id, "token_fetch", &format!("{}/fetch", partner_server.url), Some(BASIC)).await;
    set_endpoint(store, issuer.id, "token_ack", &format!("{}/ack", partner_server.url), Some(BASIC)).await;
    let issuer_client = Client::new(format!("{}/ekoapi/v3", app.url()), credentials);
    let payer = Client::new(format!("{}/ekoicici/v3", app.url()), Credentials::sandbox());
    World { app, clock, issuer_id: issuer.id, issuer: issuer_client, payer, partner_server }
}

async fn pay_as(payer: &Client, token: &str, client_ref_id: &str, user_code: &str) -> Value {
    let form = [("user_code", user_code), ("client_ref_id", client_ref_id)];
    let answer = payer.send_form(reqwest::Method::POST, &format!("/customer/payment/token/{token}/pay"), &form).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

impl World {
    async fn generate(&self, client_ref_id: &str, expires_in_ms: i64) -> Value {
        let body = json!({
            "initiator_id": "9811122233",
            "client_ref_id": client_ref_id,
            "product_code": "LOAN-EMI",
            "customer_id": "9400000000",
            "customer_name": "Ram Kumar",
            "expiry": ist_datetime(self.clock.now_ms() + expires_in_ms),
            "total": {"label": "EMI 3 of 12", "amount": {"currency": "INR", "value": "1500.00"}},
            "display_items": [{"label": "EMI", "amount": {"currency": "INR", "value": "1500.00"}}],
            "email": "ram@example.com",
        });
        let answer = self.issuer.send_json(reqwest::Method::POST, "/customer/payment/token", &body, None).await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    async fn pay(&self, token: &str, client_ref_id: &str) -> Value {
        pay_as(&self.payer, token, client_ref_id, AGENT).await
    }

    async fn token(&self, client_ref_id: &str) -> String {
        self.generate(client_ref_id, 86_400_000).await["data"]["token"].as_str().unwrap().to_owned()
    }

    /// The `token.ack` events queued for `token`.
    async fn acks_queued(&self, token: &str) -> usize {
        let events = self.app.state.store.recent_outbox(self.issuer_id, 500).await.unwrap();
        events.iter().filter(|e| e.kind == "token.ack" && e.payload["token"] == token).count()
    }

    async fn inquiry(&self, what: &str) -> Value {
        let answer = self.issuer.get(&format!("/customer/payment/token/{what}"), &[]).await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    async fn wallet(&self, partner_id: PartnerId) -> i64 {
        self.app.state.store.balance(partner_id, &AccountKind::PartnerWallet).await.unwrap().available_credit()
    }
}

async fn token_is_fetched_paid_once_and_acknowledged(backend: Backend) {
    let w = world(backend).await;
    let sandbox = partner_id(&w.app.state.store, "sandbox").await;
    let generated = w.generate("CR-OK", 86_400_000).await;
    assert_eq!((generated["status"].clone(), generated["response_type_id"].clone()), (json!(0), json!(2201)), "{generated}");
    let token = generated["data"]["token"].as_str().unwrap().to_owned();
    assert!(token.len() == 15 && token.bytes().all(|b| b.is_ascii_digit()), "{token}");
    assert_eq!(generated["data"]["token_status"], "generated");
    assert_eq!(w.generate("CR-OK", 86_400_000).await["data"]["token"], token.as_str(), "the same request answers the same token");

    let (payer_before, issuer_before) = (w.wallet(sandbox).await, w.wallet(w.issuer_id).await);
    let paid = w.pay(&token, "PAY-1").await;
    assert_eq!((paid["status"].clone(), paid["response_type_id"].clone()), (json!(0), json!(2202)), "{paid}");
    assert_eq!(paid["data"]["amount"], "1500.00");
    assert_eq!(paid["data"]["customer_name"], "Ram", "the issuer's Fetch Details answer is used");
    let tid = paid["data"]["tid"].as_str().unwrap().to_owned();
    assert_eq!((w.wallet(sandbox).await, w.wallet(w.issuer_id).await), (payer_before - 150_000, issuer_before + 150_000));

    let fetches: Vec<Received> = w.partner_server.received().into_iter().filter(|r| r.path == "/fetch").collect();
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].query, "client_ref_id=CR-OK");

    // Acknowledged at once, the partner's reference kept.
    let ack_event = w.app.state.store.recent_outbox(w.issuer_id, 1).await.unwrap()[0].id;
    wait_for(&w.app.state.store, ack_event, "delivered", |e| e.state == "delivered").await;
    let ack = w.partner_server.received().into_iter().find(|r| r.path == "/ack").expect("an acknowledgement");
    assert_eq!(ack.header("authorization"), Some("Basic ZWtvOmZldGNoLWFuZC1hY2stc2VjcmV0"));
    assert_eq!(
        ack.json(),
        json!({"client_ref_id": "CR-OK", "amount": 1500, "customer_name": "Ram", "customer_id": "9400000000", "tid": tid, "token": token})
    );
    let inquiry = w.inquiry(&token).await;
    assert_eq!(inquiry["data"]["token_status"], "acknowledged", "{inquiry}");
    assert_eq!(inquiry["data"]["partner_tid"], "PTID-1");
    assert_eq!(w.inquiry("client_ref_id:CR-OK").await["data"]["tid"], tid.as_str());

    // Paid twice: the same payment again answers it; another payment is refused.
    let again = w.pay(&token, "PAY-1").await;
    assert_eq!((again["status"].clone(), again["data"]["tid"].clone()), (json!(0), json!(tid)), "{again}");
    let twice = w.pay(&token, "PAY-2").await;
    assert_eq!((twice["status"].clone(), twice["message"].clone()), (json!(1), json!("Token already paid")), "{twice}");
    assert_eq!(w.wallet(sandbox).await, payer_before - 150_000, "paid once only");
    let totals = w.app.state.store.ledger_totals().await.unwrap();
    assert_eq!(totals.debits_posted, totals.credits_posted, "the ledger balances");
    w.app.stop().await;
}

async fn token_payment_stops_when_the_issuer_says_no_or_it_expired(backend: Backend) {
    let w = world(backend).await;
    let store = &w.app.state.store;
    let sandbox = partner_id(store, "sandbox").await;
    let before = w.wallet(sandbox).await;

    let not_found = w.generate("CR-NF", 86_400_000).await["data"]["token"].as_str().unwrap().to_owned();
    let refused = w.pay(&not_found, "PAY-NF").await;
    assert_eq!(refused["status"], 1, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("Details not found"), "{refused}");

    let wrong_basic = w.generate("CR-BASIC", 86_400_000).await["data"]["token"].as_str().unwrap().to_owned();
    set_endpoint(store, w.issuer_id, "token_fetch", &format!("{}/fetch", w.partner_server.url), Some(("eko", "wrong"))).await;
    let refused = w.pay(&wrong_basic, "PAY-BASIC").await;
    assert!(refused["message"].as_str().unwrap().contains("HTTP 401"), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("Basic credentials"), "{refused}");

    let closed = closed_port();
    let unreachable = format!("http://127.0.0.1:{}/fetch", closed.port);
    set_endpoint(store, w.issuer_id, "token_fetch", &unreachable, Some(BASIC)).await;
    let refused = w.pay(&wrong_basic, "PAY-DOWN").await;
    assert!(refused["message"].as_str().unwrap().contains("cannot connect"), "{refused}");

    let expiring = w.generate("CR-EXP", 120_000).await["data"]["token"].as_str().unwrap().to_owned();
    w.clock.advance_ms(180_000);
    assert_eq!(w.inquiry(&expiring).await["data"]["token_status"], "expired");
    let refused = w.pay(&expiring, "PAY-EXP").await;
    assert_eq!(refused["message"], "Token has expired", "{refused}");

    let unknown = w.pay("123456789012345", "PAY-X").await;
    assert_eq!(unknown["message"], "Token not found", "{unknown}");

    assert_eq!(w.wallet(sandbox).await, before, "no refused payment moved money");
    for token in [&not_found, &wrong_basic] {
        assert_eq!(w.inquiry(token).await["data"]["token_status"], "generated");
    }
    w.app.stop().await;
}

async fn the_paying_client_ref_id_is_an_idempotency_key(backend: Backend) {
    let w = world(backend).await;
    let sandbox = partner_id(&w.app.state.store, "sandbox").await;
    let (first, second) = (w.token("CR-IDEM-A").await, w.token("CR-IDEM-B").await);
    let before = w.wallet(sandbox).await;

    let paid = w.pay(&first, "PAY-IDEM").await;
    assert_eq!(paid["status"], 0, "{paid}");
    let tid = paid["data"]["tid"].clone();
    // A replay answers the first result and moves nothing.
    let again = w.pay(&first, "PAY-IDEM").await;
    assert_eq!((again["status"].clone(), again["data"]["tid"].clone()), (json!(0), tid.clone()), "{again}");
    assert_eq!(again["data"]["client_ref_id"], "PAY-IDEM");
    assert!(again["hint"].as_str().unwrap_or_default().contains("made before"), "{again}");

    // The reference for another token, or by another agent: the platform's duplicate refusal.
    let other_token = w.pay(&second, "PAY-IDEM").await;
    assert_eq!((other_token["status"].clone(), other_token["message"].clone()), (json!(1), json!("Duplicate client_ref_id")));
    let other_agent = pay_as(&w.payer, &first, "PAY-IDEM", "20810201").await;
    assert_eq!(other_agent["message"], "Duplicate client_ref_id", "{other_agent}");
    let fetched: Vec<String> = w.partner_server.received().iter().map(|r| r.query.clone()).collect();
    assert!(!fetched.contains(&"client_ref_id=CR-IDEM-B".to_owned()), "a refused reuse never reaches the issuer: {fetched:?}");

    assert_eq!(w.inquiry(&second).await["data"]["token_status"], "generated", "the second token is untouched");
    assert_eq!(w.wallet(sandbox).await, before - 150_000, "one payment");
    assert_eq!(w.acks_queued(&first).await, 1);
    // The second token pays under a fresh reference.
    assert_eq!(w.pay(&second, "PAY-IDEM-2").await["status"], 0);
    w.app.stop().await;
}

async fn concurrent_duplicate_payments_pay_once(backend: Backend) {
    let w = world(backend).await;
    let sandbox = partner_id(&w.app.state.store, "sandbox").await;
    let before = w.wallet(sandbox).await;

    // Ten copies of one request at once: one payment, every copy answers it.
    let token = w.token("CR-RACE").await;
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (payer, token) = (w.payer.clone(), token.clone());
        racing.spawn(async move { pay_as(&payer, &token, "PAY-RACE", AGENT).await });
    }
    let answers = racing.join_all().await;
    let tids: std::collections::HashSet<String> = answers.iter().map(|a| a["data"]["tid"].to_string()).collect();
    assert!(answers.iter().all(|a| a["status"] == 0), "{answers:?}");
    assert_eq!(tids.len(), 1, "every copy answers the one payment: {tids:?}");
    assert_eq!(w.wallet(sandbox).await, before - 150_000);
    assert_eq!(w.acks_queued(&token).await, 1, "one acknowledgement");

    // One reference for four tokens at once: one is paid, the others are duplicates.
    let mut tokens = Vec::new();
    for n in 0..4 {
        tokens.push(w.token(&format!("CR-RACE-{n}")).await);
    }
    let mut racing = tokio::task::JoinSet::new();
    for token in &tokens {
        let (payer, token) = (w.payer.clone(), token.clone());
        racing.spawn(async move { pay_as(&payer, &token, "PAY-RACE-2", AGENT).await });
    }
    let answers = racing.join_all().await;
    assert_eq!(answers.iter().filter(|a| a["status"] == 0).count(), 1, "{answers:?}");
    assert!(answers.iter().filter(|a| a["status"] != 0).all(|a| a["message"] == "Duplicate client_ref_id"), "{answers:?}");
    let mut generated = 0;
    for token in &tokens {
        generated += usize::from(w.inquiry(token).await["data"]["token_status"] == "generated");
    }
    assert_eq!(generated, 3, "only one token was paid");
    assert_eq!(w.wallet(sandbox).await, before - 2 * 150_000);
    let totals = w.app.state.store.ledger_totals().await.unwrap();
    assert_eq!(totals.debits_posted, totals.credits_posted, "the ledger balances");
    w.app.stop().await;
}

async fn an_acknowledgement_refused_with_401_is_a_failed_attempt_retried_hourly(backend: Backend) {
    let w = world(backend).await;
    let store = &w.app.state.store;
    let ack_url = format!("{}/ack", w.partner_server.url);
    set_endpoint(store, w.issuer_id, "token_ack", &ack_url, Some(("eko", "not-the-password"))).await;
    let token = w.token("CR-ACK401").await;
    let paid = w.pay(&token, "PAY-ACK401").await;
    assert_eq!(paid["status"], 0, "{paid}");
    let id = store.recent_outbox(w.issuer_id, 1).await.unwrap()[0].id;

    let failed = wait_for(store, id, "attempted", |e| e.attempts == 1 && e.state == "pending").await;
    let error = failed.last_error.clone().unwrap_or_default();
    assert!(error.contains("HTTP 401") && error.contains("refused Kosh's credentials"), "{error}");
    let attempt = &store.callback_attempts(id).await.unwrap()[0].attempt;
    assert_eq!((attempt.response_status, attempt.succeeded), (Some(401), false), "{attempt:?}");
    let wait = failed.due_at_ms - attempt.started_at_ms;
    assert!((3_600_000..=3_960_000).contains(&wait), "retried an hour (+ ≤ 10 % jitter) later, not {wait} ms");
    assert_eq!(w.inquiry(&token).await["data"]["token_status"], "paid", "not acknowledged yet");

    // Still refused at the next attempt; then the partner's credentials are fixed.
    w.clock.set_ms(failed.due_at_ms);
    let failed = wait_for(store, id, "attempted twice", |e| e.attempts == 2 && e.state == "pending").await;
    assert!(failed.last_error.unwrap_or_default().contains("HTTP 401"));
    set_endpoint(store, w.issuer_id, "token_ack", &ack_url, Some(BASIC)).await;
    w.clock.set_ms(failed.due_at_ms);
    let delivered = wait_for(store, id, "delivered", |e| e.state == "delivered").await;
    assert_eq!(delivered.attempts, 3);
    let statuses: Vec<u16> = w.partner_server.received().iter().filter(|r| r.path == "/ack").map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 200]);
    let inquiry = w.inquiry(&token).await;
    assert_eq!(
        (inquiry["data"]["token_status"].clone(), inquiry["data"]["partner_tid"].clone()),
        (json!("acknowledged"), json!("PTID-1"))
    );
    w.app.stop().await;
}
