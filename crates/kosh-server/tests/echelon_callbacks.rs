//! The Echelon dialect and the callback engine together: a payin's status change reaches
//! the merchant's `callbackUrl` as the anemic `{"idEntity": …}`, is retried 2 minutes
//! later when the merchant fails, and GET then shows the new status.

#[macro_use]
mod echelon_support;
mod callback_support;

use callback_support::{reply, Receiver};
use echelon_support::{payin_body, start_with, Backend};
use kosh_core::clock::SharedClock;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(a_status_change_reaches_the_callback_url_and_is_retried_after_a_failure);

/// Waits (at most 20 s of real time) until the receiver has `n` requests.
async fn wait_for_requests(receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.count() < n {
        assert!(Instant::now() < deadline, "the receiver got {} requests, not {n}", receiver.count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
    wait_for_requests(&receiver, 1).await;

    // The merchant answered 503: nothing more until the 2-minute retry interval passes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.count(), 1, "no retry before its interval");
    e.clock.advance_ms(2 * 60_000 + 15_000);
    wait_for_requests(&receiver, 2).await;

    let got = receiver.received();
    for request in &got {
        assert_eq!(request.path, "/merchant/callback");
        assert_eq!(request.json(), json!({ "idEntity": "CB-1" }), "anemic: only the id");
        assert_eq!(request.header("content-type"), Some("application/json"));
    }
    assert_eq!((got[0].status, got[1].status), (503, 200));
    assert!(got[1].at_ms - got[0].at_ms >= 2 * 60_000, "the retry waited its interval");

    // Delivered: further time brings no more requests.
    e.clock.advance_ms(60 * 60_000);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.count(), 2, "nothing after the successful delivery");
    e.app.stop().await;
}
