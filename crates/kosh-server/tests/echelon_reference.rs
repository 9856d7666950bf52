//! Echelon balances, code lists and the throttle, on both backends; the throttle also
//! across two nodes sharing one PostgreSQL. Every answer is checked against the spec.

mod echelon_support;
use kosh_testkit::on_both_backends;

use echelon_support::{start, start_config, start_with, Backend, Echelon};
use kosh_server::config::Config;
use serde_json::json;
use std::sync::Arc;

on_both_backends!(
    balances_and_code_lists_answer_in_the_spec_shapes,
    the_throttle_allows_ten_a_second,
    throttled_answers_say_when_to_retry,
);

async fn balances_and_code_lists_answer_in_the_spec_shapes(backend: Backend) {
    let e = start(backend).await;
    let token = e.admin_token().await;
    let (status, all) = e.get("/balances", &token).await;
    assert_eq!(status, 200);
    let inr = &all["data"][0];
    assert_eq!(inr["currencyCode"], "INR");
    assert_eq!(inr["balance"], json!(1_000_000), "the sandbox wallet");
    assert_eq!(inr["availableBalance"], json!(1_000_000));
    assert_eq!(inr["pendingPayoutAmount"], json!(0));
    for query in ["?currencyCodes=INR,IDR", "?currencies=IDR,INR", "?currencyCodes=%20INR%20"] {
        let (_, some) = e.get(&format!("/balances{query}"), &token).await;
        assert_eq!(some["data"].as_array().unwrap().len(), 1, "{query}: unknown codes are ignored");
    }
    let (_, none) = e.get("/balances?currencyCodes=IDR", &token).await;
    assert_eq!(none["data"], json!([]));
    assert_eq!(e.get(&format!("/balances?currencyCodes={}", "I".repeat(1001)), &token).await.0, 400);

    let (_, currencies) = e.get("/currencies", &token).await;
    assert_eq!(currencies["data"], json!([{ "code": "INR" }]));
    let (_, segments) = e.get("/segments", &token).await;
    assert!(segments["data"].as_array().unwrap().contains(&json!({ "code": "VIP" })));
    let (_, methods) = e.get("/payment-methods", &token).await;
    assert_eq!(methods["data"].as_array().unwrap().len(), 7);
    let (_, operators) = e.get("/payment-operators", &token).await;
    assert!(operators["data"].as_array().unwrap().iter().any(|o| o["code"] == "IN_GPAY"));
    let (_, info) = e.get("/merchant-info", &token).await;
    assert_eq!(info["channelInfo"]["name"], "Kosh Sandbox Merchant");

    let (_, options) = e.get("/payment-options", &token).await;
    assert_eq!(options["data"].as_array().unwrap().len(), 7 * 2, "methods × segments");
    let (_, payouts) = e.get("/payment-options?paymentTypeCode=PAYOUT&segmentCodes=VIP", &token).await;
    assert_eq!(payouts["data"].as_array().unwrap().len(), 2);
    let (_, gpay) = e.get("/payment-options?paymentOperatorCodes=IN_GPAY,NOPE&segmentCodes=DEFAULT", &token).await;
    let codes: Vec<&str> = gpay["data"].as_array().unwrap().iter().map(|o| o["paymentMethodCode"].as_str().unwrap()).collect();
    assert_eq!(codes, ["UPIQR", "P2A_V2"]);
    let (_, idr) = e.get("/payment-options?currencyCodes=IDR", &token).await;
    assert_eq!(idr["data"], json!([]));
    assert_eq!(e.get("/payment-options?paymentTypeCode=REFUND", &token).await.0, 400);
    e.app.stop().await;
}

/// Fires `n` concurrent `GET /currencies` and counts the answers.
async fn burst(nodes: &[Arc<Echelon>], token: &str, n: usize) -> (usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let (node, token) = (nodes[i % nodes.len()].clone(), token.to_owned());
        tasks.push(tokio::spawn(async move { node.get("/currencies", &token).await.0 }));
    }
    let (mut ok, mut throttled) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => throttled += 1,
            other => panic!("unexpected {other}"),
        }
    }
    (ok, throttled)
}

/// With the clock held still, a burst within one second gets exactly 10 answers and
/// 429s for the rest; each following second allows 10 more. Measured over 5 windows.
async fn the_throttle_allows_ten_a_second(backend: Backend) {
    let e = Arc::new(start_with(backend, |c| c.echelon_requests_per_sec = 10).await);
    e.clock.advance_ms(1000 - echelon_support::T0_MS % 1000 + 1000);
    let token = e.admin_token().await; // one request of this window
    let (ok, throttled) = burst(std::slice::from_ref(&e), &token, 29).await;
    assert_eq!((ok, throttled), (9, 20));
    let mut total_ok = ok + 1;
    for _ in 0..4 {
        e.clock.advance_ms(1000);
        let (ok, throttled) = burst(std::slice::from_ref(&e), &token, 25).await;
        assert_eq!((ok, throttled), (10, 15));
        total_ok += ok;
    }
    assert_eq!(total_ok, 50, "10 per second over 5 seconds");
    Arc::try_unwrap(e).ok().expect("no task holds the server").app.stop().await;
}

/// Two nodes on one PostgreSQL share the merchant's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_throttle_holds_across_two_nodes_on_one_postgresql() {
    let url = kosh_testkit::fresh_database().await;
    let config = || {
        let mut c = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
        c.database_url = Some(url.clone().into());
        c.echelon_requests_per_sec = 10;
        c
    };
    let a = start_config(config()).await;
    let b = start_config(config()).await;
    // Both nodes' clocks show the same instant, as the nodes of one cluster would.
    for node in [&a, &b] {
        node.clock.advance_ms(5_000 - echelon_support::T0_MS % 1000);
    }
    let token = a.admin_token().await;
    let nodes = [Arc::new(a), Arc::new(b)];
    let (ok, throttled) = burst(&nodes, &token, 40).await;
    assert_eq!((ok, throttled), (9, 31), "one limit for both nodes");
    let [a, b] = nodes;
    for node in [a, b] {
        Arc::try_unwrap(node).ok().expect("no task holds the server").app.stop().await;
    }
}

/// Item 4 of issue 11: a 429 carries `Retry-After`, the whole seconds until the
/// merchant's window frees (windows are seconds of the injected clock, so from anywhere
/// inside one that is 1), and a request after that long is answered. Token requests are
/// throttled the same way.
async fn throttled_answers_say_when_to_retry(backend: Backend) {
    let e = start_with(backend, |c| c.echelon_requests_per_sec = 2).await;
    // 250 ms into a window; the token request is its first hit.
    e.clock.advance_ms(1000 - echelon_support::T0_MS % 1000 + 250);
    let token = e.admin_token().await;
    assert_eq!(e.get("/currencies", &token).await.0, 200);
    for (what, req) in [
        ("a token's call", e.http.get(e.url("/currencies")).header("Authorization", format!("Bearer {token}"))),
        (
            "a token request",
            e.http.post(e.url("/auth-tokens")).json(&json!({
                "merchantCode": "KOSH-SANDBOX", "secret": "kosh-sandbox-merchant-secret-0123456789", "operations": ["GET /currencies"]
            })),
        ),
    ] {
        let response = req.header("X-API-Version", "2").send().await.unwrap();
        assert_eq!(response.status().as_u16(), 429, "{what}");
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(retry_after.as_deref(), Some("1"), "{what}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["description"].as_str().unwrap().contains("retry in 1 s"), "{what}: {body}");
    }
    // 999 ms into the window: still a whole second to wait (never 0).
    e.clock.advance_ms(749);
    let response = e
        .http
        .get(e.url("/currencies"))
        .header("X-API-Version", "2")
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!((response.status().as_u16(), response.headers()["retry-after"].to_str().unwrap()), (429, "1"));
    e.clock.advance_ms(1);
    assert_eq!(e.get("/currencies", &token).await.0, 200, "answered once Retry-After has passed");
    e.app.stop().await;
}
