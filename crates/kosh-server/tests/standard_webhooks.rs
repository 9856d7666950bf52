//! Signed callbacks follow the Standard Webhooks spec: a receiver verifying with its
//! own implementation of the spec (written here from the spec's text, sharing no code
//! with Kosh) accepts them. Both backends.

mod eko_support;
use kosh_testkit::on_both_backends;
mod callback_support;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use callback_support::*;
use eko_support::{start_with_clock, Backend};
use hmac::{Hmac, Mac};
use kosh_core::clock::{Clock, ManualClock};
use kosh_store::commands::callbacks::{CallbackCommand, SetSigning};
use kosh_store::ops::callbacks::TX_STATUS;
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;

const T0: i64 = 1_700_000_000_000;

on_both_backends!(callbacks_verify_under_an_independent_standard_webhooks_verifier);

/// The spec's verification: the key is the base64 after `whsec_`; the signed content
/// is `id.timestamp.body`; the header lists `v1,<base64>` signatures separated by spaces.
fn spec_verify(secret: &str, id: &str, timestamp: &str, signatures: &str, body: &[u8]) -> bool {
    let key = BASE64.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    signatures.split(' ').any(|s| s == expected)
}

async fn callbacks_verify_under_an_independent_standard_webhooks_verifier(backend: Backend) {
    let clock = ManualClock::new(T0);
    let app = start_with_clock(backend, clock.clone(), |c| c.callbacks_tick_ms = 5).await;
    let store = &app.state.store;
    let partner = partner_id(store, "sandbox").await;
    let secret = kosh_core::webhook::standard::new_secret();
    let signing = SetSigning { partner_id: partner, secret: Some(secret.clone().into()) };
    store.execute(kosh_store::commands::Command::Callbacks(CallbackCommand::SetSigning(signing))).await.unwrap();
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    set_endpoint(store, partner, "tx_status", &format!("{}/status", receiver.url), None).await;
    let id = enqueue(store, partner, TX_STATUS, json!({"tx_status": 0, "tid": 9})).await;
    wait_for(store, id, "delivered", |e| e.state == "delivered").await;

    let got = &receiver.received()[0];
    let header = |name: &str| got.header(name).unwrap_or_else(|| panic!("no {name} header")).to_owned();
    let (msg_id, timestamp, signatures) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    assert_eq!(msg_id, id.to_string(), "the id is the event's, the same on every retry");
    assert_eq!(timestamp, (clock.now_ms() / 1000).to_string(), "seconds since the epoch");
    assert!(spec_verify(&secret, &msg_id, &timestamp, &signatures, &got.body), "{signatures}");
    assert!(!spec_verify(&secret, &msg_id, &timestamp, &signatures, b"{\"tx_status\":1}"), "a changed body fails");
    let other = kosh_core::webhook::standard::new_secret();
    assert!(!spec_verify(&other, &msg_id, &timestamp, &signatures, &got.body), "another secret fails");
    // Kosh's own verifier agrees, and its own headers are still sent.
    let received =
        kosh_core::webhook::standard::Received { id: Some(&msg_id), timestamp: Some(&timestamp), signature: Some(&signatures) };
    let now_secs = clock.now_ms() / 1000;
    assert_eq!(kosh_core::webhook::standard::verify(&secret, received, &got.body, now_secs, 300), Ok(()));
    assert!(got.header("x-kosh-signature").is_some());
    app.stop().await;
}
