//! The Echelon dialect on a server outside sandbox mode, on both backends: nothing that
//! exists for the sandbox works there. The database is one an earlier sandbox run left
//! behind (the sandbox partner and merchant seeded as `kosh serve` seeds them), so the
//! refusals are the server's, not the data's. Every answer is checked against the spec.

mod echelon_support;
use kosh_testkit::on_both_backends;

use echelon_support::{add_merchant, payin_body, payout_body, start_with, Backend, Echelon};
use kosh_core::clock::SystemClock;
use kosh_core::echelon::jwt::{self, Claims};
use kosh_core::ledger::AccountKind;
use kosh_server::config::Config;
use kosh_server::sandbox::echelon::{MERCHANT_CODE, SECRET};
use kosh_server::{App, StartError};
use serde_json::json;
use std::sync::Arc;

on_both_backends!(
    the_sandbox_merchant_is_refused_outside_sandbox_mode,
    payouts_are_refused_without_a_rail_and_store_nothing,
    callback_urls_must_be_public_outside_sandbox_mode,
);

const PEPPER: &str = "production-pepper-for-tests-0123456789";
const MERCHANT: &str = "PROD-M";
const MERCHANT_SECRET: &str = "production-merchant-secret-0123456789";

/// A server outside sandbox mode, on a database an earlier sandbox run seeded, with a
/// merchant of its own (`PROD-M`).
async fn production(backend: Backend) -> Echelon {
    let e = start_with(backend, |c| {
        c.sandbox = false;
        c.echelon_token_pepper = Some(PEPPER.into());
        c.aeps_aadhaar_pepper = Some("an-aadhaar-pepper-of-at-least-32-characters".into());
    })
    .await;
    let store = &e.app.state.store;
    store.execute(kosh_server::sandbox::seed_command(1_000_000)).await.expect("seed the sandbox partner");
    store.execute(kosh_server::sandbox::echelon::seed_command()).await.expect("seed the sandbox merchant");
    let merchant = store.echelon_merchant(MERCHANT_CODE).await.unwrap().expect("the sandbox merchant is in the database");
    assert!(merchant.is_sandbox && merchant.active);
    add_merchant(&e, MERCHANT, MERCHANT_SECRET).await;
    e
}

#[tokio::test]
async fn a_server_outside_sandbox_mode_does_not_start_without_a_pepper() {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: kosh_testkit::scratch_dir(),
        sandbox: false,
        ..Config::default()
    };
    match App::start(config, Arc::new(SystemClock)).await {
        Err(StartError::Config(e)) => assert!(e.to_string().contains("echelon_token_pepper is required"), "{e}"),
        Err(other) => panic!("not a configuration error: {other}"),
        Ok(app) => {
            app.stop().await;
            panic!("started with the documented default pepper outside sandbox mode");
        }
    }
}

async fn the_sandbox_merchant_is_refused_outside_sandbox_mode(backend: Backend) {
    let e = production(backend).await;
    let request = json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET, "operations": ["GET /currencies"] });
    let (status, body) = e.call("POST", "/auth-tokens", None, Some(request)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["description"].as_str().unwrap().contains("only on a server in sandbox mode"), "{body}");
    let by_action = json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET, "action": "PAYIN_INFO", "idPayment": "P-1" });
    assert_eq!(e.call("POST", "/auth-tokens-by-action", None, Some(by_action)).await.0, 401);

    // A token for the sandbox merchant, correctly signed with this server's own key (as
    // one issued before the server left sandbox mode would be), is refused too.
    let merchant = e.app.state.store.echelon_merchant(MERCHANT_CODE).await.unwrap().unwrap();
    let now_s = e.app.state.store.now_ms() / 1000;
    let claims = Claims {
        sub: MERCHANT_CODE.into(),
        operations: vec!["GET /.*".into()],
        exp: now_s + 600,
        iat: now_s,
        jti: jwt::new_jti(),
        money: None,
    };
    let token = jwt::encode(&claims, &e.app.state.echelon.signing_key(&merchant));
    let (status, body) = e.get("/currencies", &token).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["description"].as_str().unwrap().contains("sandbox merchant"), "{body}");

    // The server's own merchants work.
    let own = e.merchant_token(MERCHANT, MERCHANT_SECRET, &["GET /currencies"]).await;
    assert_eq!(e.get("/currencies", &own).await.0, 200);
    e.app.stop().await;
}

async fn payouts_are_refused_without_a_rail_and_store_nothing(backend: Backend) {
    let e = production(backend).await;
    assert!(e.app.state.echelon.rail.is_none(), "no rail outside sandbox mode until a connector is configured");
    let token = e.merchant_token(MERCHANT, MERCHANT_SECRET, &["POST /payouts/.*", "GET /payouts/.*"]).await;
    let merchant = e.app.state.store.echelon_merchant(MERCHANT).await.unwrap().unwrap();
    let wallet = || async { e.app.state.store.balance(merchant.partner_id, &AccountKind::PartnerWallet).await.unwrap() };
    let before = wallet().await;
    // 1000 would settle and 1111 decline on the sandbox rail: here nothing is simulated.
    for (id, amount) in [("PO-1", 1000), ("PO-2", 1111), ("PO-3", 5555)] {
        let mut body = payout_body(amount);
        body["callbackUrl"] = json!("https://shop.example.com/cb");
        let (status, answer) = e.post(&format!("/payouts/{id}"), &token, body).await;
        assert_eq!((status, answer[0]["code"].as_str()), (406, Some("PAYMENT_CHANNEL_NO_ACTIVE_FOUND")), "{answer}");
        assert!(answer[0]["description"].as_str().unwrap().contains("no bank connector"), "{answer}");
        assert_eq!(e.get(&format!("/payouts/{id}"), &token).await.0, 410, "nothing stored");
    }
    assert_eq!(wallet().await, before, "nothing reserved");
    let outbox = e.app.state.store.recent_outbox(merchant.partner_id, 100).await.unwrap();
    assert!(outbox.is_empty(), "no callback: {outbox:?}");
    // Bad input is still answered as bad input first.
    let (status, _) = e.post("/payouts/PO-4", &token, json!({ "paymentRequested": {} })).await;
    assert_eq!(status, 400);
    e.app.stop().await;
}

async fn callback_urls_must_be_public_outside_sandbox_mode(backend: Backend) {
    let e = production(backend).await;
    let token = e.merchant_token(MERCHANT, MERCHANT_SECRET, &["POST /payins/.*", "GET /payins/.*", "POST /payouts/.*"]).await;
    let upiqr = json!({ "paymentMethodCode": "UPIQR" });
    let internal = [
        "http://127.0.0.1:9/cb",
        "http://localhost:8080/cb",
        "http://10.1.2.3/cb",
        "http://192.168.0.10/cb",
        "http://172.20.0.5:8080/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/cb",
        "http://[fd00::5]/cb",
        "http://[::ffff:10.0.0.1]/cb",
        "http://2130706433/cb",
        "http://0x7f.1/cb",
        "http://metadata/computeMetadata/v1",
        "http://db.internal/cb",
        "ftp://shop.example.com/cb",
    ];
    for url in internal {
        let mut body = payin_body(500, upiqr.clone());
        body["callbackUrl"] = json!(url);
        let (status, answer) = e.post("/payins/CB-1", &token, body).await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert!(answer["description"].as_str().unwrap().starts_with("callbackUrl "), "{url}: {answer}");
        let mut payout = payout_body(500);
        payout["callbackUrl"] = json!(url);
        assert_eq!(e.post("/payouts/CB-2", &token, payout).await.0, 400, "{url}: the payout's callbackUrl too");
    }
    assert_eq!(e.get("/payins/CB-1", &token).await.0, 410, "nothing stored");

    let mut body = payin_body(500, upiqr);
    body["callbackUrl"] = json!("https://shop.example.com/echelon/callback");
    let (status, created) = e.post("/payins/CB-1", &token, body).await;
    assert_eq!(status, 201, "a public callbackUrl: {created}");
    let (_, detail) = e.get("/payins/CB-1", &token).await;
    assert_eq!(detail["process"]["isTest"], false);
    e.app.stop().await;
}
