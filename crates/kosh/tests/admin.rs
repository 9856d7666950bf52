//! The operator API under `/admin/v1`, served by `kosh_server::App`, on both backends.

mod common;

use kosh_core::clock::SystemClock;
use kosh_server::config::Config;
use kosh_server::App;
use kosh_testkit::{Backend, BACKENDS};
use serde_json::{json, Value};
use std::sync::Arc;

const TOKEN: &str = "admin-token-for-tests-0123456789";
/// The sandbox partner's opening balance in these tests, in rupees.
const OPENING_RUPEES: i64 = 1000;

async fn start(backend: Backend, admin_token: Option<&str>) -> App {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_token: admin_token.map(Into::into),
        sandbox_wallet_rupees: OPENING_RUPEES,
        ..Config::default()
    };
    match backend {
        Backend::Sqlite => config.data_dir = kosh_testkit::scratch_dir(),
        Backend::Postgres => config.database_url = Some(common::fresh_database().await.into()),
    }
    App::start(config, Arc::new(SystemClock)).await.expect("start kosh")
}

/// Sends a request and returns its status, one header and its JSON body.
async fn send(req: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, replayed, body)
}

fn credit(app: &App, partner: &str, body: Value) -> reqwest::RequestBuilder {
    reqwest::Client::new().post(format!("{}/admin/v1/partners/{partner}/wallet/credit", app.url())).bearer_auth(TOKEN).json(&body)
}

fn wallet(app: &App, partner: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().get(format!("{}/admin/v1/partners/{partner}/wallet", app.url())).bearer_auth(TOKEN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_is_absent_without_a_token() {
    for backend in BACKENDS {
        let app = start(backend, None).await;
        let (status, _, body) = send(wallet(&app, "sandbox")).await;
        assert_eq!(status, 404, "{backend:?}: {body}");
        let (status, _, _) = send(credit(&app, "sandbox", json!({ "amount": "1.00" }))).await;
        assert_eq!(status, 404, "{backend:?}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_refuses_a_missing_or_wrong_token() {
    for backend in BACKENDS {
        let app = start(backend, Some(TOKEN)).await;
        let url = format!("{}/admin/v1/partners/sandbox/wallet", app.url());
        let http = reqwest::Client::new();
        for req in [
            http.get(&url),
            http.get(&url).bearer_auth("admin-token-for-tests-0123456780"),
            http.get(&url).bearer_auth("short"),
            http.get(&url).basic_auth("admin", Some(TOKEN)),
        ] {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{backend:?}");
            assert!(res.headers().contains_key("www-authenticate"));
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        }
        let wrong = http.post(format!("{}/admin/v1/partners/sandbox/wallet/credit", app.url())).bearer_auth("nope");
        let (status, _, body) = send(wrong.json(&json!({ "amount": "1.00" }))).await;
        assert_eq!(status, 401, "{body}");
        let (_, _, after) = send(wallet(&app, "sandbox")).await;
        assert_eq!(after["balance_paise"], OPENING_RUPEES * 100, "a refused credit wrote nothing");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_credit_posts_to_the_ledger_and_answers_the_balance() {
    for backend in BACKENDS {
        let app = start(backend, Some(TOKEN)).await;
        let (status, _, body) = send(wallet(&app, "sandbox")).await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(body["balance"], "1000.00");
        let partner_id = body["partner_id"].as_i64().unwrap();

        let (status, replayed, body) = send(credit(&app, "sandbox", json!({ "amount": "100.25", "reference": "NEFT 1" }))).await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(replayed, None);
        assert_eq!(body["amount"], "100.25");
        assert_eq!(body["balance"], "1100.25");
        assert_eq!(body["balance_paise"], 110_025);
        assert_eq!(body["replayed"], false);
        assert!(body["entry_id"].as_i64().unwrap() > 0);

        // By numeric id too, and the amount may be a JSON number.
        let (status, _, body) = send(credit(&app, &partner_id.to_string(), json!({ "amount": 0.75 }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["balance"], "1101.00");
        let (_, _, body) = send(wallet(&app, &partner_id.to_string())).await;
        assert_eq!((body["balance"].as_str(), body["available"].as_str()), (Some("1101.00"), Some("1101.00")));

        for (amount, message) in [
            (json!("1.005"), "amount has more than 2 decimal places"),
            (json!("-1"), "amount must not be negative"),
            (json!("0"), "amount must be greater than zero"),
            (json!(null), "amount must be a string of rupees"),
        ] {
            let (status, _, body) = send(credit(&app, "sandbox", json!({ "amount": amount }))).await;
            assert_eq!(status, 422, "{amount}: {body}");
            assert_eq!(body["error"]["code"], "invalid_amount");
            assert!(body["error"]["message"].as_str().unwrap().starts_with(message), "{body}");
        }
        let (status, _, body) = send(credit(&app, "nobody", json!({ "amount": "1" }))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("partner_not_found")), "{body}");
        let raw = reqwest::Client::new()
            .post(format!("{}/admin/v1/partners/sandbox/wallet/credit", app.url()))
            .bearer_auth(TOKEN)
            .body("amount=1");
        let (status, _, body) = send(raw).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_json")), "{body}");
        let (status, _, body) =
            send(reqwest::Client::new().get(format!("{}/admin/v1/partners/sandbox/wallet/credit", app.url())).bearer_auth(TOKEN))
                .await;
        assert_eq!(status, 405, "{body}");

        let (_, _, body) = send(wallet(&app, "sandbox")).await;
        assert_eq!(body["balance"], "1101.00", "refused credits wrote nothing");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_credit_with_an_idempotency_key_is_applied_once() {
    for backend in BACKENDS {
        let app = start(backend, Some(TOKEN)).await;
        let body = json!({ "amount": "50.00", "reference": "top-up 7" });
        let keyed = |body: &Value, key: &str| credit(&app, "sandbox", body.clone()).header("Idempotency-Key", key);

        let (status, replayed, first) = send(keyed(&body, "load-7")).await;
        assert_eq!(status, 200, "{backend:?}: {first}");
        assert_eq!((replayed, &first["replayed"]), (None, &json!(false)));
        assert_eq!(first["balance"], "1050.00");

        let (status, replayed, again) = send(keyed(&body, "load-7")).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(replayed.as_deref(), Some("true"));
        assert_eq!(again["replayed"], true);
        assert_eq!(again["entry_id"], first["entry_id"], "the replay answers the first credit");
        assert_eq!(again["balance"], "1050.00");

        let (status, _, conflict) = send(keyed(&json!({ "amount": "60.00", "reference": "top-up 7" }), "load-7")).await;
        assert_eq!(status, 409, "{conflict}");
        assert_eq!(conflict["error"]["code"], "idempotency_conflict");

        let (status, _, other) = send(keyed(&body, "load-8")).await;
        assert_eq!(status, 200, "{other}");
        assert_ne!(other["entry_id"], first["entry_id"]);

        let (status, _, bad) = send(keyed(&body, &"k".repeat(65))).await;
        assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("invalid_idempotency_key")), "{bad}");

        let (_, _, balance) = send(wallet(&app, "sandbox")).await;
        assert_eq!(balance["balance"], "1100.00", "two distinct keys credited twice; the replay and the conflict not at all");
        app.stop().await;
    }
}

/// The partner callback settings take the CMS debit-hook URL and the common status
/// callback URL (issue 17, item 4); an unknown kind is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cms_debit_hook_and_status_callback_urls_are_set_through_the_admin_api() {
    for backend in BACKENDS {
        let app = start(backend, Some(TOKEN)).await;
        let http = reqwest::Client::new();
        let url = |kind: &str| format!("{}/admin/v1/partners/sandbox/callbacks/{kind}", app.url());
        for (kind, target) in
            [("cms_debit_hook", "https://acme.example/cms/debit-hook"), ("tx_status", "https://acme.example/status")]
        {
            let (status, _, body) =
                send(http.put(url(kind)).bearer_auth(TOKEN).json(&json!({ "url": target, "headers": { "X-Key": "k1" } }))).await;
            assert_eq!(status, 200, "{backend:?} {kind}: {body}");
        }
        let (_, _, listed) =
            send(http.get(format!("{}/admin/v1/partners/sandbox/callbacks", app.url())).bearer_auth(TOKEN)).await;
        let text = listed.to_string();
        assert!(text.contains("https://acme.example/cms/debit-hook") && text.contains("https://acme.example/status"), "{listed}");
        let partner = app.state.store.find_partner("sandbox").await.unwrap().unwrap();
        let hook = app.state.store.callback_endpoint(partner.id, "cms_debit_hook").await.unwrap().expect("stored");
        assert_eq!(hook.url, "https://acme.example/cms/debit-hook");
        let (status, _, body) =
            send(http.put(url("cms_hook")).bearer_auth(TOKEN).json(&json!({ "url": "https://x.example" }))).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains("cms_debit_hook"), "the refusal lists the kinds: {body}");
        app.stop().await;
    }
}
