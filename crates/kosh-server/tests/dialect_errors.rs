//! Every refusal is JSON in its dialect, the framework's own ones included: a path that
//! does not decode, JSON that does not parse or is not labelled, a body over the limit,
//! a request target or header block too large. Nothing here touches the store beyond
//! starting the server, so one backend is enough.

#[allow(unused_macros)] // the both-backends macro: these tests need one backend
mod eko_support;

use eko_support::{signed, Backend};
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

const ADMIN_TOKEN: &str = "admin-token-0123456789";

async fn start() -> kosh_server::App {
    eko_support::start(Backend::Sqlite, |c| {
        c.admin_token = Some(ADMIN_TOKEN.into());
        c.max_body_bytes = 1024;
    })
    .await
}

/// The status and JSON body of `req`; fails unless the answer is labelled JSON.
async fn json_answer(req: reqwest::RequestBuilder) -> (u16, Value) {
    let response = req.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let media = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("a body");
    assert_eq!(media, "application/json", "status {status}: {text:?}");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("status {status}: not JSON ({e}): {text:?}")))
}

fn assert_eko_envelope(body: &Value, status: u16) {
    for key in ["status", "response_status_id", "response_type_id", "message", "data"] {
        assert!(body.get(key).is_some(), "the Eko envelope has {key}: {body}");
    }
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["response_status_id"], 1, "{body}");
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
}

fn assert_echelon_error(body: &Value) {
    assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()), "an Echelon BasicError: {body}");
}

fn assert_admin_error(body: &Value) {
    assert!(body["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "an admin error: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "an admin error: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_an_eko_colon_path_is_an_eko_envelope() {
    let app = start().await;
    let http = reqwest::Client::new();
    let (status, body) = json_answer(signed(http.get(format!("{}/ekoapi/v1/transactions/%ff", app.url())))).await;
    assert_eq!(status, 400);
    assert_eko_envelope(&body, 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unlabelled_json_on_the_gateway_api_is_an_eko_envelope() {
    let app = start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v2/aeps/api/intents", app.url());
    let (status, body) = json_answer(http.post(&url).header(CONTENT_TYPE, "application/json").body("{\"session\":")).await;
    assert_eq!(status, 400);
    assert_eko_envelope(&body, 400);
    let (status, body) = json_answer(http.post(&url).body(r#"{"session":"x"}"#)).await;
    assert_eq!(status, 415);
    assert_eko_envelope(&body, 415);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_on_the_admin_api_is_an_admin_error() {
    let app = start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/admin/v1/partners/sandbox/wallet/credit", app.url());
    let big = format!(r#"{{"amount":"1","reference":"{}"}}"#, "x".repeat(4096));
    let req = http.post(&url).bearer_auth(ADMIN_TOKEN).header(CONTENT_TYPE, "application/json").body(big);
    let (status, body) = json_answer(req).await;
    assert_eq!(status, 413);
    assert_admin_error(&body);
    // A generic one: JSON that does not parse.
    let req = http.post(&url).bearer_auth(ADMIN_TOKEN).header(CONTENT_TYPE, "application/json").body("{");
    let (status, body) = json_answer(req).await;
    assert_eq!(status, 400);
    assert_admin_error(&body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_kb_query_is_414_in_the_dialect() {
    let app = start().await;
    let http = reqwest::Client::new();
    let query = format!("q={}", "a".repeat(20 * 1024));
    let eko = signed(http.get(format!("{}/ekoapi/v1/user/services/user_code:20810200?{query}", app.url())));
    let (status, body) = json_answer(eko).await;
    assert_eq!(status, 414);
    assert_eko_envelope(&body, 414);
    let (status, body) = json_answer(http.get(format!("{}/payouts/PO-1?{query}", app.url()))).await;
    assert_eq!(status, 414);
    assert_echelon_error(&body);
    let (status, body) = json_answer(http.get(format!("{}/admin/v1/partners/sandbox/wallet?{query}", app.url()))).await;
    assert_eq!(status, 414);
    assert_admin_error(&body);
    let (status, body) = json_answer(http.get(format!("{}/healthz?{query}", app.url()))).await;
    assert_eq!(status, 414);
    assert_eq!(body["status"], 414, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_block_too_large_is_431_in_each_dialect() {
    let app = start().await;
    let http = reqwest::Client::new();
    let paths = ["/ekoapi/v1/user/services/user_code:20810200", "/payins/PI-1", "/admin/v1/partners/sandbox/wallet", "/healthz"];
    for path in paths {
        let mut req = http.get(format!("{}{path}", app.url()));
        for i in 0..16 {
            req = req.header(format!("x-padding-{i}"), "p".repeat(8 * 1024));
        }
        let (status, body) = json_answer(req).await;
        assert_eq!(status, 431, "{path}: {body}");
        match path {
            p if p.starts_with("/ekoapi") => assert_eko_envelope(&body, 431),
            p if p.starts_with("/admin") => assert_admin_error(&body),
            p if p.starts_with("/payins") => assert_echelon_error(&body),
            _ => assert_eq!(body["status"], 431, "{body}"),
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_methods_and_json_rejections_are_in_the_dialect() {
    let app = start().await;
    let http = reqwest::Client::new();
    // Echelon: a JSON body that does not parse.
    let req = http.post(format!("{}/auth-tokens", app.url())).header("X-API-Version", "2");
    let req = req.header(CONTENT_TYPE, "application/json").body("{");
    let (status, body) = json_answer(req).await;
    assert!(status == 400 || status == 415, "{status}: {body}");
    assert_echelon_error(&body);
    // Kosh's own paths: a method the route does not serve.
    let (status, body) = json_answer(http.delete(format!("{}/healthz", app.url()))).await;
    assert_eq!(status, 405);
    assert_eq!(body["status"], 405, "{body}");
    // Eko: a method no route serves at that path.
    let (status, body) = json_answer(signed(http.patch(format!("{}/ekoapi/v1/transactions", app.url())))).await;
    assert!(status == 404 || status == 405, "{status}: {body}");
    for key in ["status", "response_status_id", "response_type_id", "message", "data"] {
        assert!(body.get(key).is_some(), "the Eko envelope has {key}: {body}");
    }
    app.stop().await;
}
