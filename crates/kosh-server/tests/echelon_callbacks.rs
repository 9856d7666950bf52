//! The Echelon dialect and the callback engine together: a payin's or payout's status
//! change reaches the merchant's `callbackUrl` as the anemic `{"idEntity": …}`, is
//! retried 2 minutes later when the merchant fails, and GET then shows the new status.
//! Schedules are checked on the injected clock and the event's recorded state, never by
//! sleeping and hoping nothing happens.

mod echelon_support;
use kosh_testkit::on_both_backends;
mod callback_support;

use callback_support::{reply, wait_for, Receiver, WAIT};
use echelon_support::{payin_body, payout_body, start_with, Backend, Echelon};
use kosh_core::clock::SharedClock;
use kosh_core::echelon::Direction;
use kosh_server::sandbox::echelon::MERCHANT_CODE;
use kosh_store::ops::callbacks::CallbackEvent;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(
    a_status_change_reaches_the_callback_url_and_is_retried_after_a_failure,
    a_payout_status_change_reaches_the_callback_url,
);

/// The retry interval of `echelon.callback` (the default, 2 minutes) and its jitter.
const INTERVAL_MS: i64 = 120_000;
const JITTER_PCT: i64 = 10;

/// Waits (at most [`WAIT`] of real time) until the receiver has `n` requests.
async fn wait_for_requests(receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + WAIT;
    while receiver.count() < n {
        assert!(Instant::now() < deadline, "the receiver got {} requests, not {n}", receiver.count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The id of the only `echelon.callback` event of the sandbox partner.
async fn only_callback_event(e: &Echelon) -> i64 {
    let events = e.app.state.store.recent_outbox(e.sandbox_partner_id(), 100).await.unwrap();
    let ids: Vec<i64> = events.iter().filter(|ev| ev.kind == "echelon.callback").map(|ev| ev.id).collect();
    assert_eq!(ids.len(), 1, "one status change, one event: {events:?}");
    ids[0]
}

/// Moves the injected clock to `at_ms` (forward only).
fn set_clock(e: &Echelon, at_ms: i64) {
    let now = e.app.state.store.now_ms();
    assert!(at_ms >= now, "the clock only moves forward");
    e.clock.advance_ms(at_ms - now);
}

async fn a_status_change_reaches_the_callback_url_and_is_retried_after_a_failure(backend: Backend) {
    let e = start_with(backend, |c| c.callbacks_tick_ms = 10).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let clock: SharedClock = e.clock.clone();
    let receiver = Receiver::start(
        clock,
        Arc::new(move |_| match counted.fetch_add(1, Ordering::SeqCst) {
            0 => reply(503, "busy"),
            _ => reply(200, "{}"),
        }),
    )
    .await;
    let token = e.admin_token().await;
    let mut body = payin_body(1000, json!({ "paymentMethodCode": "UPIQR" }));
    body["callbackUrl"] = json!(format!("{}/merchant/callback", receiver.url));
    let (status, created) = e.post("/payins/CB-1", &token, body).await;
    assert_eq!(status, 201, "{created}");

    e.clock.advance_ms(5_000);
    let detail = e.settled("/payins/CB-1", &token).await;
    assert_eq!(detail["process"]["status"], "SUCCESS", "{detail}");
    let store = &e.app.state.store;
    let id = only_callback_event(&e).await;

    // The merchant answered 503: the engine records the failure and schedules the retry
    // one interval (plus at most the jitter) after the attempt.
    let failed = wait_for(store, id, "pending after one failed attempt", |ev| ev.state == "pending" && ev.attempts == 1).await;
    let attempted_at = failed.last_attempt_at_ms.expect("the attempt is recorded");
    let wait_ms = failed.due_at_ms - attempted_at;
    assert!(
        (INTERVAL_MS..=INTERVAL_MS * (100 + JITTER_PCT) / 100).contains(&wait_ms),
        "retry due after {wait_ms} ms: {failed:?}"
    );
    let attempts = store.callback_attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!((attempts[0].attempt.response_status, attempts[0].attempt.succeeded), (Some(503), false));

    // Up to the last millisecond before the retry is due, nothing is due: the worker
    // only claims events whose due time has come on the injected clock.
    set_clock(&e, failed.due_at_ms - 1);
    assert!(!store.callbacks_due().await.unwrap(), "nothing is due before the retry interval");
    let waiting = callback_support::event(store, id).await;
    assert_eq!((waiting.state.as_str(), waiting.attempts), ("pending", 1), "{waiting:?}");
    assert_eq!(receiver.count(), 1);

    set_clock(&e, failed.due_at_ms);
    wait_for_requests(&receiver, 2).await;
    let delivered: CallbackEvent = wait_for(store, id, "delivered", |ev| ev.state == "delivered").await;
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.delivered_at_ms, Some(failed.due_at_ms), "delivered when the retry came due");

    let got = receiver.received();
    for request in &got {
        assert_eq!(request.path, "/merchant/callback");
        assert_eq!(request.json(), json!({ "idEntity": "CB-1" }), "anemic: only the id");
        assert_eq!(request.header("content-type"), Some("application/json"));
    }
    assert_eq!((got[0].status, got[1].status), (503, 200));
    assert!(got[1].at_ms - got[0].at_ms >= INTERVAL_MS, "the retry waited its interval");

    // Delivered: an hour later nothing is due, and the event stays delivered.
    e.clock.advance_ms(60 * 60_000);
    assert!(!store.callbacks_due().await.unwrap(), "nothing after the successful delivery");
    assert_eq!(callback_support::event(store, id).await.state, "delivered");
    let attempts = store.callback_attempts(id).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.attempt.response_status).collect::<Vec<_>>(), [Some(503), Some(200)]);
    e.app.stop().await;
}

/// A payout on hold (magic amount 2222) is `PROCESSING` with no callback until the
/// simulated bank answers (60 s on the injected clock); then its `SUCCESS` reaches a
/// real local receiver, and GET shows it.
async fn a_payout_status_change_reaches_the_callback_url(backend: Backend) {
    let e = start_with(backend, |c| c.callbacks_tick_ms = 10).await;
    let clock: SharedClock = e.clock.clone();
    let receiver = Receiver::start(clock, Arc::new(|_| reply(200, "{}"))).await;
    let token = e.admin_token().await;
    let mut body = payout_body(2222);
    body["callbackUrl"] = json!(format!("{}/merchant/payouts", receiver.url));
    let (status, created) = e.post("/payouts/PO-CB-1", &token, body).await;
    assert_eq!(status, 201, "{created}");
    let (_, detail) = e.get("/payouts/PO-CB-1", &token).await;
    assert_eq!(detail["process"]["status"], "PROCESSING");
    // On hold until the clock reaches the bank's answer: no status change, no event.
    let store = &e.app.state.store;
    let merchant = store.echelon_merchant(MERCHANT_CODE).await.unwrap().unwrap();
    let payout = store.echelon_payment(merchant.id, Direction::Payout, "PO-CB-1").await.unwrap().unwrap();
    assert!(payout.check_at_ms.unwrap() > store.now_ms(), "{payout:?}");
    assert!(e.callbacks().await.is_empty(), "no status change yet");

    e.clock.advance_ms(60_000);
    let done = e.settled("/payouts/PO-CB-1", &token).await;
    assert_eq!(done["process"]["status"], "SUCCESS", "{done}");
    wait_for_requests(&receiver, 1).await;
    let got = receiver.received();
    assert_eq!(got[0].path, "/merchant/payouts");
    assert_eq!(got[0].json(), json!({ "idEntity": "PO-CB-1" }));
    let id = only_callback_event(&e).await;
    let delivered = wait_for(store, id, "delivered", |ev| ev.state == "delivered").await;
    assert_eq!(delivered.attempts, 1);
    // What the merchant does on a callback: GET the payout, which shows the new status.
    let (status, after) = e.get("/payouts/PO-CB-1", &token).await;
    assert_eq!((status, &after["process"]["status"]), (200, &json!("SUCCESS")), "{after}");
    assert!(after["process"]["processedAt"].is_string(), "{after}");
    e.app.stop().await;
}
