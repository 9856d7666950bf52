//! Money transfer and the callback engine together, on both backends: a NEFT transfer
//! that settles in its batch reaches the partner's status-callback URL with the
//! platform's body; a receiver that fails is retried after the configured interval until
//! it answers HTTP 200, and every attempt is recorded.

mod eko_support;
use kosh_testkit::on_both_backends;
mod callback_support;
mod dmt_support;

use callback_support::{reply, set_endpoint, wait_for, Receiver, WAIT};
use dmt_support::{recipient, sandbox_partner, tid_of, transfer, verified_customer, AGENT};
use eko_support::{sandbox, Backend};
use kosh_core::clock::SharedClock;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(a_settled_neft_transfer_reaches_the_status_callback_url_until_it_answers_200);

const RETRY_SECS: u64 = 600;

/// Waits (at most [`WAIT`] of real time) until the receiver has `n` requests.
async fn wait_for_requests(receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + WAIT;
    while receiver.count() < n {
        assert!(Instant::now() < deadline, "the receiver got {} requests, not {n}", receiver.count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn a_settled_neft_transfer_reaches_the_status_callback_url_until_it_answers_200(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |c| {
        c.callbacks_tick_ms = 10;
        c.callbacks_tx_status_interval_secs = RETRY_SECS;
        c.callbacks_jitter_pct = 0;
    })
    .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let shared: SharedClock = clock.clone();
    let receiver = Receiver::start(
        shared,
        Arc::new(move |_| match counted.fetch_add(1, Ordering::SeqCst) {
            0 => reply(500, "not now"),
            _ => reply(200, "{}"),
        }),
    )
    .await;
    let partner_id = sandbox_partner(&app).await;
    set_endpoint(&app.state.store, partner_id, "tx_status", &format!("{}/eko/status", receiver.url), None).await;

    let eko = sandbox(&app, "/ekoapi/v1");
    verified_customer(&app, &eko, AGENT, "9123400077").await;
    let rid = recipient(&eko, AGENT, "9123400077", "5500009876", "HDFC0000123").await;
    let sent = transfer(&eko, "9123400077", &rid, "1500.00", "CB-NEFT-1", "1").await;
    assert_eq!(sent["data"]["tx_status"], "2", "NEFT awaits its batch: {sent}");
    let tid = tid_of(&sent);
    assert_eq!(receiver.count(), 0, "no callback for the initial answer");

    clock.advance_ms(61_000); // past the 60 s batch boundary: the rail worker settles it
    wait_for_requests(&receiver, 1).await;
    // The clock moves only once the attempt is recorded: moved while the attempt is in
    // flight, it would also run out the attempt's lease, and the event could be sent again.
    let store = &app.state.store;
    let event = store.recent_outbox(partner_id, 1000).await.unwrap().into_iter().find(|e| e.kind == "eko.tx_status");
    let id = event.expect("the status event").id;
    wait_for(store, id, "pending after one failed attempt", |e| e.state == "pending" && e.attempts == 1).await;
    clock.advance_ms(RETRY_SECS as i64 * 1000);
    wait_for_requests(&receiver, 2).await;
    wait_for(store, id, "delivered", |e| e.state == "delivered").await;

    let got = receiver.received();
    let body = got[0].json();
    assert_eq!((&body["tid"], &body["client_ref_id"]), (&json!(tid), &json!("CB-NEFT-1")), "{body}");
    assert_eq!((&body["tx_status"], &body["old_tx_status"]), (&json!(0), &json!(2)), "{body}");
    assert_eq!(body["txstatus_desc"], "Success");
    assert_eq!(body["amount"], json!(1500.0));
    assert_eq!(body["bank_ref_num"].as_str().map(str::len), Some(12), "{body}");
    assert_eq!(got[1].json(), body, "a retry sends the same body");
    assert_eq!(got[0].path, "/eko/status");
    assert_eq!((got[0].status, got[1].status), (500, 200));
    assert!(got[1].at_ms - got[0].at_ms >= RETRY_SECS as i64 * 1000, "the retry waited its interval");

    // Delivered: a day later nothing is due, so nothing more is sent.
    clock.advance_ms(86_400_000);
    assert!(!store.callbacks_due().await.unwrap(), "nothing is due after the HTTP 200");
    assert_eq!(receiver.count(), 2, "nothing after the HTTP 200");
    app.stop().await;
}
