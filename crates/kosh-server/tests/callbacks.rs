//! The callback engine end to end: a real server with a manual clock, real receivers on
//! 127.0.0.1, on both backends. Schedules that span days run in milliseconds.

mod eko_support;
use kosh_testkit::on_both_backends;
mod callback_support;

use callback_support::*;
use eko_support::{start_with_clock, Backend};
use kosh_core::clock::{Clock, ManualClock, SharedClock};
use kosh_server::App;
use kosh_store::ops::callbacks::{ECHELON_CALLBACK, TOKEN_ACK, TX_STATUS};
use serde_json::json;
use std::sync::Arc;

const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

on_both_backends!(
    a_receiver_failing_for_two_days_gets_hourly_attempts_then_exactly_one_success,
    a_receiver_that_never_answers_200_is_given_up_at_three_days_and_replay_works,
    bad_receivers_are_recorded_failures_retried_per_policy_without_blocking_the_worker,
    an_event_without_a_configured_url_waits_for_configuration_and_replay,
    signed_callbacks_verify_with_the_sdk,
    a_slow_partner_does_not_starve_the_others,
    the_operator_api_lists_shows_and_configures_callbacks,
    the_worker_prunes_attempts_past_their_retention,
);

/// Attempts get generous timeouts: a local receiver that answers must never count as
/// a timeout because the machine is busy.
async fn start(backend: Backend, clock: &Arc<ManualClock>, jitter_pct: u32) -> App {
    start_timing_out_after(backend, clock, jitter_pct, 30_000).await
}

async fn start_timing_out_after(backend: Backend, clock: &Arc<ManualClock>, jitter_pct: u32, timeout_ms: u64) -> App {
    start_with_clock(backend, clock.clone(), |c| {
        c.callbacks_tick_ms = 5;
        c.callbacks_jitter_pct = jitter_pct;
        c.callbacks_timeout_ms = timeout_ms;
        c.callbacks_connect_timeout_ms = 10_000;
        c.admin_token = Some(ADMIN_TOKEN.into());
    })
    .await
}

/// Waits (bounded) until `/metrics` shows every one of `lines`, and answers the text: a
/// worker counts an outcome just after recording it, so the store shows it first.
async fn metrics_showing(app: &App, lines: &[&str]) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let metrics = reqwest::get(format!("{}/metrics", app.url())).await.unwrap().text().await.unwrap();
        if lines.iter().all(|l| metrics.contains(l)) {
            return metrics;
        }
        assert!(std::time::Instant::now() < deadline, "/metrics never showed {lines:?}:\n{metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Moves the manual clock to each retry of `id` as it falls due, until `stop` says so;
/// bounded to `max` attempts.
async fn drive(
    app: &App,
    clock: &ManualClock,
    id: i64,
    max: i64,
    stop: impl Fn(&kosh_store::ops::callbacks::CallbackEvent) -> bool,
) {
    let store = &app.state.store;
    for n in 1..=max {
        let e = wait_for(store, id, &format!("attempted {n} times"), |e| e.attempts >= n && e.state != "delivering").await;
        if stop(&e) {
            return;
        }
        assert_eq!(e.state, "pending", "{e:?}");
        clock.set_ms(e.due_at_ms);
    }
    panic!("event {id} was still being retried after {max} attempts");
}

async fn a_receiver_failing_for_two_days_gets_hourly_attempts_then_exactly_one_success(backend: Backend) {
    let clock = ManualClock::new(T0);
    let shared: SharedClock = clock.clone();
    let app = start(backend, &clock, 0).await;
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let two_days_later = T0 + 48 * HOUR;
    let receiver = Receiver::start(
        shared.clone(),
        Arc::new(move |r| if r.at_ms < two_days_later { reply(503, "busy") } else { ack_ok("P-77") }),
    )
    .await;
    set_endpoint(store, partner, "token_ack", &format!("{}/ack", receiver.url), Some(("eko", "s3cret"))).await;
    let payload =
        json!({"client_ref_id":"CR1","amount":1500,"customer_name":"Ram","customer_id":"9400000000","tid":"1","token":"9"});
    let id = enqueue(store, partner, TOKEN_ACK, payload.clone()).await;

    drive(&app, &clock, id, 60, |e| e.state == "delivered").await;

    let got = receiver.received();
    assert_eq!(got.len(), 49, "attempts at 0 h, 1 h, …, 48 h");
    assert_eq!(got.iter().filter(|r| r.status == 200).count(), 1, "exactly one success");
    assert_eq!(got.last().unwrap().status, 200);
    for pair in got.windows(2) {
        assert_eq!(pair[1].at_ms - pair[0].at_ms, HOUR, "hourly spacing (jitter 0)");
    }
    for r in &got {
        assert_eq!(r.json(), payload, "the body is the payload, unchanged");
        assert_eq!(r.header("authorization"), Some("Basic ZWtvOnMzY3JldA=="), "Basic eko:s3cret");
        assert_eq!(r.header("x-partner-tag"), Some("kosh-test"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-kosh-event-id"), Some(id.to_string().as_str()));
        assert_eq!(r.header("x-kosh-signature"), None, "signing is off by default");
    }
    let attempts = store.callback_attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 49);
    assert!(attempts[..48].iter().all(|a| a.attempt.response_status == Some(503) && !a.attempt.succeeded));
    assert_eq!(attempts[48].attempt.response_status, Some(200));
    assert!(attempts[48].attempt.response_excerpt.as_deref().unwrap().contains("P-77"));

    // Nothing after success: days later, a newer event is delivered and the first is
    // not sent again.
    clock.advance_ms(5 * 24 * HOUR);
    let sentinel = enqueue(store, partner, TOKEN_ACK, json!({"token": "sentinel"})).await;
    wait_for(store, sentinel, "delivered", |e| e.state == "delivered").await;
    let ids: Vec<String> = receiver.received().iter().map(|r| r.header("x-kosh-event-id").unwrap().to_owned()).collect();
    assert_eq!(ids.iter().filter(|i| **i == id.to_string()).count(), 49, "the delivered event was not re-sent");
    assert_eq!(event(store, id).await.attempts, 49);
    metrics_showing(
        &app,
        &[
            "kosh_callback_outcomes_total{kind=\"token.ack\",outcome=\"retry\"} 48",
            "kosh_callback_outcomes_total{kind=\"token.ack\",outcome=\"delivered\"} 2",
        ],
    )
    .await;
    app.stop().await;
}

async fn a_receiver_that_never_answers_200_is_given_up_at_three_days_and_replay_works(backend: Backend) {
    let clock = ManualClock::new(T0);
    let app = start(backend, &clock, 10).await;
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(500, "down"))).await;
    set_endpoint(store, partner, "token_ack", &format!("{}/ack", receiver.url), None).await;
    let id = enqueue(store, partner, TOKEN_ACK, json!({"token": "1"})).await;

    drive(&app, &clock, id, 100, |e| e.state == "failed").await;
    let failed = event(store, id).await;
    assert!(failed.last_error.as_deref().unwrap().contains("gave up after"), "{failed:?}");
    let times: Vec<i64> = receiver.received().iter().map(|r| r.at_ms).collect();
    assert!((60..=73).contains(&times.len()), "hourly (plus up to 10% jitter) for 3 days: {} attempts", times.len());
    assert!(*times.last().unwrap() <= T0 + 72 * HOUR, "no attempt after the 3-day horizon");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((HOUR..=HOUR + HOUR / 10).contains(&gap), "spacing {gap} ms is an hour plus at most 10% jitter");
    }
    // Days later, still nothing more.
    clock.advance_ms(10 * 24 * HOUR);
    let sentinel_receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    let sentinel =
        enqueue(store, partner, ECHELON_CALLBACK, json!({"url": sentinel_receiver.url, "body": {"idEntity": "X"}})).await;
    wait_for(store, sentinel, "delivered", |e| e.state == "delivered").await;
    assert_eq!(receiver.count(), times.len(), "a given-up event is not retried");

    // Replay through the operator API: a fresh cycle, delivered once the receiver heals.
    receiver.answer_with(Arc::new(|_| ack_ok("P-1")));
    let url = format!("{}/admin/v1/callbacks/{id}/replay", app.url());
    let res = reqwest::Client::new().post(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let replayed: serde_json::Value = res.json().await.unwrap();
    assert_eq!(replayed["event"]["state"], "pending", "{replayed}");
    let delivered = wait_for(store, id, "delivered", |e| e.state == "delivered").await;
    assert_eq!(delivered.attempts, times.len() as i64 + 1);
    app.stop().await;
}

async fn bad_receivers_are_recorded_failures_retried_per_policy_without_blocking_the_worker(backend: Backend) {
    let clock = ManualClock::new(T0);
    // Long enough for every answering receiver on a busy machine; the slow-loris one never
    // finishes its answer (it would take 100 s), so it always times out.
    let app = start_timing_out_after(backend, &clock, 10, 5_000).await;
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let huge = "x".repeat(1024 * 1024);
    let receiver = Receiver::start(
        clock.clone(),
        Arc::new(move |r| match r.path.as_str() {
            "/not-json" => (200, vec![("content-type", "text/html".into())], "<html>It works!</html>".into()),
            "/redirect" => (302, vec![("location", "https://example.invalid/elsewhere".into())], String::new()),
            "/huge" => (200, vec![], huge.clone()),
            _ => reply(200, "{}"),
        }),
    )
    .await;
    let (slow_url, _slow) = slow_loris().await;
    let (tls_url, tls_handshakes, _tls) = self_signed_tls_receiver().await;
    let closed = closed_port();
    set_endpoint(store, partner, "token_ack", &format!("{}/not-json", receiver.url), None).await;
    let echelon = |url: String| json!({"url": url, "body": {"idEntity": "ORDER-1"}});
    let cases = [
        (enqueue(store, partner, TOKEN_ACK, json!({"token": "1"})).await, "not a JSON object"),
        (
            enqueue(store, partner, ECHELON_CALLBACK, echelon(format!("{}/redirect", receiver.url))).await,
            "HTTP 302: redirect to https://example.invalid/elsewhere",
        ),
        (enqueue(store, partner, ECHELON_CALLBACK, echelon(format!("{}/huge", receiver.url))).await, "larger than 65536 bytes"),
        (enqueue(store, partner, ECHELON_CALLBACK, echelon(slow_url)).await, "did not arrive within 5000 ms"),
        (
            enqueue(store, partner, ECHELON_CALLBACK, echelon(receiver.url.replace("http://", "https://"))).await,
            "TLS handshake failed",
        ),
        (
            enqueue(store, partner, ECHELON_CALLBACK, echelon(format!("http://127.0.0.1:{}/cb", closed.port))).await,
            "cannot connect",
        ),
        (
            enqueue(store, partner, ECHELON_CALLBACK, echelon(tls_url)).await,
            "TLS handshake failed: the receiver's certificate is invalid or untrusted",
        ),
    ];
    // A healthy callback queued behind them is delivered while the slow one hangs.
    let good = enqueue(store, partner, ECHELON_CALLBACK, echelon(format!("{}/ok", receiver.url))).await;
    wait_for(store, good, "delivered", |e| e.state == "delivered").await;

    for (id, reason) in cases {
        let e = wait_for(store, id, "attempted", |e| e.attempts == 1 && e.state == "pending").await;
        let error = e.last_error.clone().unwrap_or_default();
        assert!(error.contains(reason), "event {id}: expected {reason:?} in {error:?}");
        let attempt = &store.callback_attempts(id).await.unwrap()[0].attempt;
        assert!(!attempt.succeeded && attempt.error.as_deref() == Some(error.as_str()), "{attempt:?}");
        let interval = if e.kind == TOKEN_ACK { HOUR } else { 120_000 };
        let wait = e.due_at_ms - attempt.started_at_ms;
        assert!((interval..=interval + interval / 10).contains(&wait), "retry per policy: {wait} ms for {}", e.kind);
    }
    // Every one is tried again when due.
    clock.advance_ms(HOUR + HOUR / 10);
    for (id, _) in cases {
        wait_for(store, id, "attempted twice", |e| e.attempts == 2 && e.state != "delivering").await;
    }
    assert!(tls_handshakes.load(std::sync::atomic::Ordering::SeqCst) >= 2, "Kosh reached the https receiver each time");
    let tls_error = event(store, cases[6].0).await.last_error.unwrap_or_default();
    assert!(tls_error.contains("UnknownIssuer"), "the reason names the certificate problem: {tls_error}");
    let huge_excerpt = store.callback_attempts(cases[2].0).await.unwrap()[0].attempt.response_excerpt.clone().unwrap();
    assert_eq!(huge_excerpt.len(), 1024, "only a bounded excerpt of an answer is kept");
    app.stop().await;
}

async fn an_event_without_a_configured_url_waits_for_configuration_and_replay(backend: Backend) {
    let clock = ManualClock::new(T0);
    let app = start(backend, &clock, 0).await;
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let body = json!({"tx_status": 0, "txstatus_desc": "Success", "tid": 2001, "client_ref_id": "R1"});
    let id = enqueue(store, partner, TX_STATUS, body.clone()).await;
    let e = wait_for(store, id, "unconfigured", |e| e.state == "unconfigured").await;
    assert!(e.last_error.unwrap().contains("has no tx_status callback URL"));
    assert_eq!(e.attempts, 0, "no attempt was made");

    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "OK"))).await;
    set_endpoint(store, partner, "tx_status", &format!("{}/status", receiver.url), None).await;
    let url = format!("{}/admin/v1/callbacks/{id}/replay", app.url());
    assert_eq!(reqwest::Client::new().post(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(), 200);
    wait_for(store, id, "delivered", |e| e.state == "delivered").await;
    assert_eq!(receiver.received()[0].json(), body, "a plain-text 200 acknowledges a status callback");
    app.stop().await;
}

async fn signed_callbacks_verify_with_the_sdk(backend: Backend) {
    let clock = ManualClock::new(T0);
    let app = start(backend, &clock, 0).await;
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let secret = "whsec-0123456789abcdef";
    let cmd = kosh_store::commands::callbacks::CallbackCommand::SetSigning(kosh_store::commands::callbacks::SetSigning {
        partner_id: partner,
        secret: Some(secret.into()),
    });
    store.execute(kosh_store::commands::Command::Callbacks(cmd)).await.unwrap();
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    set_endpoint(store, partner, "tx_status", &format!("{}/status", receiver.url), None).await;
    let id = enqueue(store, partner, TX_STATUS, json!({"tx_status": 1, "tid": 7})).await;
    wait_for(store, id, "delivered", |e| e.state == "delivered").await;
    let got = &receiver.received()[0];
    assert_eq!(got.header("x-kosh-timestamp"), Some(clock.now_ms().to_string().as_str()));
    assert_eq!(kosh_sdk::callbacks::verify(secret, &got.headers, &got.body, clock.now_ms()), Ok(()));
    assert_eq!(
        kosh_sdk::callbacks::verify("not-the-secret-0123", &got.headers, &got.body, clock.now_ms()),
        Err(kosh_sdk::callbacks::VerifyError::Mismatch)
    );
    app.stop().await;
}

async fn a_slow_partner_does_not_starve_the_others(backend: Backend) {
    const PER_PARTNER: usize = 2;
    let clock = ManualClock::new(T0);
    let app = start_with_clock(backend, clock.clone(), |c| {
        c.callbacks_tick_ms = 5;
        // Longer than the slow receiver ever holds a request (and than any wait of the
        // test): no attempt times out, so only the per-partner bound limits what is in
        // flight, however slow the machine.
        c.callbacks_timeout_ms = 300_000;
        c.callbacks_concurrency = 8;
        c.callbacks_per_partner_concurrency = PER_PARTNER;
    })
    .await;
    let store = &app.state.store;
    let slow = partner_id(store, "sandbox").await;
    let new = kosh_store::ops::partners::NewPartner {
        name: "quick".into(),
        developer_key: "quick-dk".into(),
        access_key: "quick-ak".into(),
        initiator_id: "9800000001".into(),
        is_sandbox: false,
    };
    let kosh_store::commands::Outcome::PartnerCreated(quick) =
        store.execute(kosh_store::commands::Command::CreatePartner(new)).await.unwrap()
    else {
        panic!()
    };
    let slow_receiver = HoldingReceiver::start(std::time::Duration::from_secs(290)).await;
    set_endpoint(store, slow, "tx_status", &slow_receiver.url, None).await;
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    set_endpoint(store, quick.id, "tx_status", &format!("{}/status", receiver.url), None).await;
    // The slow partner's backlog is older: without a per-partner bound it would fill
    // every slot first.
    let mut slow_events = Vec::new();
    for n in 0..30 {
        slow_events.push(enqueue(store, slow, TX_STATUS, json!({"tid": n})).await);
    }
    let mut quick_events = Vec::new();
    for n in 0..5 {
        quick_events.push(enqueue(store, quick.id, TX_STATUS, json!({"tid": 100 + n})).await);
    }

    wait_until("the slow partner holds its share of deliveries", || slow_receiver.in_flight() >= PER_PARTNER).await;
    for id in quick_events {
        wait_for(store, id, "delivered", |e| e.state == "delivered").await;
    }
    // While the slow partner held its deliveries, the quick partner got all of its own
    // and no third delivery reached the slow one.
    assert_eq!(receiver.count(), 5);
    assert_eq!(slow_receiver.total(), PER_PARTNER, "only the bound's worth of the slow backlog was sent");
    assert_eq!(slow_receiver.in_flight(), PER_PARTNER);

    slow_receiver.release();
    for id in &slow_events {
        wait_for(store, *id, "delivered", |e| e.state == "delivered").await;
    }
    assert_eq!(slow_receiver.total(), 30);
    assert_eq!(
        slow_receiver.most_in_flight(),
        PER_PARTNER,
        "never more than callbacks_per_partner_concurrency deliveries in flight to the slow partner"
    );
    app.stop().await;
}

/// An operator API call: status, JSON body (Null when not JSON) and raw text.
async fn admin(
    app: &App,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value, String) {
    let mut req = reqwest::Client::new().request(method, format!("{}/admin/v1{path}", app.url())).bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), text)
}

fn ids(listing: &serde_json::Value) -> Vec<i64> {
    listing["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

async fn the_operator_api_lists_shows_and_configures_callbacks(backend: Backend) {
    use base64::Engine;
    use reqwest::Method;
    let clock = ManualClock::new(T0);
    let app = start(backend, &clock, 0).await;
    let store = &app.state.store;
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    let unauthorised = reqwest::get(format!("{}/admin/v1/callbacks", app.url())).await.unwrap();
    assert_eq!(unauthorised.status(), 401, "only with the admin token");

    // Secrets go in; answers mask the password and every extra header's value.
    let url = format!("{}/status", receiver.url);
    let endpoint =
        json!({"url": url, "basic_user": "eko", "basic_password": "pa55-word", "headers": {"X-Api-Key": "key-0123456789"}});
    let (status, put, put_text) = admin(&app, Method::PUT, "/partners/sandbox/callbacks/tx_status", Some(endpoint)).await;
    assert_eq!(status, 200, "{put_text}");
    let masked =
        json!({"kind": "tx_status", "url": url, "basic_user": "eko", "basic_password": "***", "headers": {"X-Api-Key": "***"}});
    assert_eq!(put, masked);
    let (status, shown, shown_text) = admin(&app, Method::GET, "/partners/sandbox/callbacks", None).await;
    assert_eq!(status, 200, "{shown_text}");
    assert_eq!((shown["endpoints"].clone(), shown["signing"].clone()), (json!([masked]), json!(false)));
    for text in [&put_text, &shown_text] {
        assert!(!text.contains("pa55-word") && !text.contains("key-0123456789"), "a secret leaked: {text}");
    }
    let refusals = [
        ("/partners/sandbox/callbacks/status", Some(json!({"url": url})), 422, "unknown callback kind"),
        (
            "/partners/sandbox/callbacks/tx_status",
            Some(json!({"url": url, "headers": {"Authorization": "x"}})),
            422,
            "set by Kosh itself",
        ),
        ("/partners/sandbox/callbacks/tx_status", Some(json!({"url": "ftp://x.example"})), 422, "http:// or https://"),
        ("/partners/sandbox/callbacks/tx_status", Some(json!({"link": url})), 400, "the body must be JSON like"),
        ("/partners/nobody/callbacks/tx_status", Some(json!({"url": url})), 404, "nobody"),
    ];
    for (path, body, expected, message) in refusals {
        let (status, _, text) = admin(&app, Method::PUT, path, body).await;
        assert_eq!(status, expected, "PUT {path}: {text}");
        assert!(text.contains(message), "PUT {path}: expected {message:?} in {text}");
    }

    // A test callback is queued as a producer would and sent with the real secrets.
    let (status, queued, text) =
        admin(&app, Method::POST, "/partners/sandbox/callbacks/test", Some(json!({"kind": TX_STATUS}))).await;
    assert_eq!(status, 201, "{text}");
    let first = queued["id"].as_i64().unwrap();
    wait_for(store, first, "delivered", |e| e.state == "delivered").await;
    let got = &receiver.received()[0];
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("eko:pa55-word"));
    assert_eq!((got.header("authorization"), got.header("x-api-key")), (Some(basic.as_str()), Some("key-0123456789")));
    assert_eq!(got.json()["txstatus_desc"], "Success", "a sample status callback");
    let body = Some(json!({"kind": TX_STATUS, "payload": {"tid": 42, "tx_status": 0}}));
    let (status, queued, _) = admin(&app, Method::POST, "/partners/sandbox/callbacks/test", body).await;
    assert_eq!(status, 201);
    let second = queued["id"].as_i64().unwrap();
    wait_for(store, second, "delivered", |e| e.state == "delivered").await;
    assert_eq!(receiver.received()[1].json(), json!({"tid": 42, "tx_status": 0}));
    for (body, expected, message) in [
        (json!({"kind": ECHELON_CALLBACK}), 400, "give a payload"),
        (json!({"kind": "wallet.credited", "payload": {}}), 422, "not a deliverable kind"),
        (json!({"kind": TX_STATUS, "payload": "text"}), 422, "must be a JSON object"),
    ] {
        let (status, _, text) = admin(&app, Method::POST, "/partners/sandbox/callbacks/test", Some(body)).await;
        assert_eq!(status, expected, "{text}");
        assert!(text.contains(message), "expected {message:?} in {text}");
    }

    // The log: newest first, filtered, paged; internal events only with all=true.
    let credit = Some(json!({"amount": "1.00"}));
    assert_eq!(admin(&app, Method::POST, "/partners/sandbox/wallet/credit", credit).await.0, 200);
    let (status, listing, text) =
        admin(&app, Method::GET, "/callbacks?partner=sandbox&state=delivered&kind=eko.tx_status", None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(ids(&listing), [second, first]);
    let event = &listing["events"][1];
    assert_eq!(
        (event["state"].clone(), event["attempts"].clone(), event["due_at"].clone()),
        (json!("delivered"), json!(1), json!(null))
    );
    assert!(event["delivered_at"].is_string() && event["payload"]["txstatus_desc"] == "Success", "{event}");
    assert_eq!(ids(&admin(&app, Method::GET, "/callbacks?limit=1", None).await.1), [second]);
    assert_eq!(ids(&admin(&app, Method::GET, &format!("/callbacks?before={second}"), None).await.1), [first]);
    assert_eq!(ids(&admin(&app, Method::GET, "/callbacks?state=failed", None).await.1), Vec::<i64>::new());
    let everything = admin(&app, Method::GET, "/callbacks?all=true&limit=500", None).await.1;
    let internal: Vec<&serde_json::Value> =
        everything["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "wallet.credited").collect();
    assert!(!internal.is_empty() && internal.iter().all(|e| e["state"] == "internal"), "{everything}");
    let deliverable = admin(&app, Method::GET, "/callbacks?limit=500", None).await.1;
    assert!(deliverable["events"].as_array().unwrap().iter().all(|e| e["kind"] != "wallet.credited"), "{deliverable}");
    assert_eq!(admin(&app, Method::GET, "/callbacks?limit=many", None).await.0, 400);
    assert_eq!(admin(&app, Method::GET, "/callbacks?partner=nobody", None).await.0, 404);

    // One event with every attempt.
    let (status, shown, text) = admin(&app, Method::GET, &format!("/callbacks/{first}"), None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(shown["event"]["id"], first);
    let attempts = shown["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{shown}");
    let a = &attempts[0];
    assert_eq!((a["attempt"].clone(), a["url"].clone(), a["response_status"].clone()), (json!(1), json!(url), json!(200)));
    assert_eq!((a["succeeded"].clone(), a["error"].clone()), (json!(true), json!(null)));
    assert!(a["request_body"].as_str().unwrap().contains("Success"), "{a}");
    assert!(!text.contains("pa55-word") && !text.contains("key-0123456789"), "{text}");
    let (status, _, text) = admin(&app, Method::GET, "/callbacks/999999", None).await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("callback_not_found"));
    let (status, _, text) = admin(&app, Method::POST, &format!("/callbacks/{first}/replay"), None).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("delivered already"), "{text}");

    // DELETE removes the endpoint (once).
    let (status, removed, _) = admin(&app, Method::DELETE, "/partners/sandbox/callbacks/tx_status", None).await;
    assert_eq!((status, removed), (200, json!({"kind": "tx_status", "removed": true})));
    assert_eq!(admin(&app, Method::DELETE, "/partners/sandbox/callbacks/tx_status", None).await.1["removed"], false);
    assert_eq!(admin(&app, Method::GET, "/partners/sandbox/callbacks", None).await.1["endpoints"], json!([]));
    app.stop().await;
}

async fn the_worker_prunes_attempts_past_their_retention(backend: Backend) {
    const DAY: i64 = 24 * HOUR;
    let clock = ManualClock::new(T0);
    let app = start(backend, &clock, 0).await;
    assert_eq!(app.state.config.callbacks_attempts_retention_days, 30, "the default");
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    set_endpoint(store, partner, "tx_status", &format!("{}/status", receiver.url), None).await;
    let deliver = |n: i64| async move {
        let id = enqueue(store, partner, TX_STATUS, json!({"tid": n})).await;
        wait_for(store, id, "delivered", |e| e.state == "delivered").await;
        id
    };
    let mut old = Vec::new();
    for n in 0..3 {
        old.push(deliver(n).await);
    }
    clock.set_ms(T0 + 29 * DAY);
    let younger = deliver(10).await;
    clock.set_ms(T0 + 31 * DAY);
    let newest = deliver(11).await;

    let deadline = std::time::Instant::now() + WAIT;
    for id in &old {
        while !store.callback_attempts(*id).await.unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "the attempts of event {id} (31 days old) were never pruned");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    for id in [younger, newest] {
        assert_eq!(store.callback_attempts(id).await.unwrap().len(), 1, "event {id}'s attempt is within the retention");
    }
    let first = event(store, old[0]).await;
    assert_eq!((first.state.as_str(), first.attempts), ("delivered", 1), "the event itself is kept");
    metrics_showing(&app, &["kosh_callback_attempts_pruned_total 3"]).await;
    app.stop().await;
}
