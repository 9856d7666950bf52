//! Echelon auth tokens, token scoping attacks and versioning, on both backends. Every
//! answer is checked against the vendor's spec by the support client.

mod echelon_support;
use kosh_testkit::on_both_backends;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use echelon_support::{add_merchant, payin_body, spec, start, Backend};
use hmac::{Hmac, Mac};
use kosh_core::echelon::merchant::StoredSecret;
use kosh_server::echelon::MERCHANT_TTL_MS;
use kosh_server::sandbox::echelon::{MERCHANT_CODE, SECRET};
use kosh_store::commands::{Command, EchelonCommand, EchelonOutcome, Outcome, RotateSecret};
use serde_json::{json, Value};
use sha2::Sha256;

on_both_backends!(
    tokens_carry_the_documented_claims,
    a_token_opens_only_the_whole_requests_it_names,
    forged_and_broken_tokens_are_401,
    expired_tokens_are_401,
    token_requests_are_checked,
    tokens_by_action_expand_to_one_payment,
    money_restricted_tokens_create_only_that_money,
    merchants_are_isolated,
    api_version_is_required,
    a_rotated_secret_retires_the_tokens_it_signed,
    unknown_paths_and_methods_answer_in_the_spec_shape,
    a_token_without_operations_grants_nothing,
);

#[test]
fn the_spec_validator_refuses_what_it_must() {
    echelon_support::self_test();
}

fn claims(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode = |p: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON");
    (decode(parts[0]), decode(parts[1]))
}

async fn tokens_carry_the_documented_claims(backend: Backend) {
    let e = start(backend).await;
    let token = e
        .token_with(json!({ "operations": ["GET /payins/TST-1"], "validitySecs": 600, "money": { "amount": 5000, "currencyCode": "INR" } }))
        .await;
    let (header, payload) = claims(&token);
    assert_eq!(header, json!({ "alg": "HS256", "typ": "JWT" }));
    assert_eq!(payload["sub"], MERCHANT_CODE);
    assert_eq!(payload["operations"], json!(["GET /payins/TST-1"]));
    assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 600);
    assert_eq!(payload["iat"], echelon_support::T0_MS / 1000);
    assert_eq!(payload["jti"].as_str().unwrap().len(), 36);
    assert_eq!(payload["money"], json!({ "amount": 5000, "currencyCode": "INR" }));
    let default = e.token(&["GET /balances"]).await;
    let (_, payload) = claims(&default);
    assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 1800, "default validity");
    assert!(payload.get("money").is_none());
    e.app.stop().await;
}

async fn a_token_opens_only_the_whole_requests_it_names(backend: Backend) {
    let e = start(backend).await;
    let token = e.token(&["GET /payins/TST-1"]).await;
    assert_eq!(e.get("/payins/TST-1", &token).await.0, 410, "granted (and unknown)");
    for path in ["/payins/TST-12", "/payins/TST-1/accounts", "/payins/TST-", "/payouts/TST-1", "/balances"] {
        let (status, body) = e.get(path, &token).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, _) = e.post("/payins/TST-1", &token, payin_body(100, json!({ "paymentMethodCode": "UPIQR" }))).await;
    assert_eq!(status, 403, "another method on the same path");
    // A percent-escaped path is matched as the plain path it names.
    let (status, _) = e.get("/payins/TST%2D1", &token).await;
    assert_eq!(status, 410);
    let (status, _) = e.get("/payins/TST%2D12", &token).await;
    assert_eq!(status, 403);
    // Patterns are regular expressions anchored at both ends.
    let any = e.token(&["GET /payins/.*"]).await;
    assert_eq!(e.get("/payins/ANY-9", &any).await.0, 410);
    assert_eq!(e.get("/payins/ANY-9/accounts", &any).await.0, 410);
    assert_eq!(e.get("/payouts/ANY-9", &any).await.0, 403);
    let either = e.token(&["GET /payins/A|GET /payouts/B"]).await;
    assert_eq!(e.get("/payins/A", &either).await.0, 410);
    assert_eq!(e.get("/payouts/B", &either).await.0, 410);
    assert_eq!(e.get("/payins/AB", &either).await.0, 403);
    e.app.stop().await;
}

fn sign_hs256(header: &Value, payload: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

async fn forged_and_broken_tokens_are_401(backend: Backend) {
    let e = start(backend).await;
    let token = e.token(&["GET /balances"]).await;
    assert_eq!(e.get("/balances", &token).await.0, 200);
    let (_, payload) = claims(&token);
    let parts: Vec<&str> = token.split('.').collect();
    let mut widened = payload.clone();
    widened["operations"] = json!(["GET /.*"]);

    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let none_widened =
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(widened.to_string()));
    let hs512 = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#), parts[1], parts[2]);
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(widened.to_string()), parts[2]);
    // A client that signs its own token with the merchant secret gets nowhere: tokens
    // are signed with a key only the server derives.
    let self_signed = sign_hs256(&json!({ "alg": "HS256", "typ": "JWT" }), &widened, SECRET.as_bytes());
    let cases = [
        ("alg none", none),
        ("alg none, widened", none_widened),
        ("HS512 header", hs512),
        ("payload changed", tampered),
        ("signed with the merchant secret", self_signed),
        ("garbage", "abc".to_owned()),
        ("two parts", format!("{}.{}", parts[0], parts[1])),
        ("bad base64", format!("{}.{}.!!!", parts[0], parts[1])),
        ("huge", "a".repeat(40_000)),
    ];
    for (what, bad) in cases {
        let (status, body) = e.get("/balances", &bad).await;
        assert_eq!(status, 401, "{what}: {body}");
    }
    let (status, _) = e.call("GET", "/balances", None, None).await;
    assert_eq!(status, 401, "no Authorization");
    let basic = e.http.get(e.url("/balances")).header("X-API-Version", "2").header("Authorization", format!("Basic {token}"));
    assert_eq!(e.send("GET", "/balances", basic).await.0, 401, "not Bearer");
    e.app.stop().await;
}

async fn expired_tokens_are_401(backend: Backend) {
    let e = start(backend).await;
    let token = e.token_with(json!({ "operations": ["GET /balances"], "validitySecs": 60 })).await;
    e.clock.advance_ms(59_000);
    assert_eq!(e.get("/balances", &token).await.0, 200);
    e.clock.advance_ms(1_000);
    let (status, body) = e.get("/balances", &token).await;
    assert_eq!(status, 401);
    assert!(body["description"].as_str().unwrap().contains("expired"), "{body}");
    e.app.stop().await;
}

async fn token_requests_are_checked(backend: Backend) {
    let e = start(backend).await;
    let ask = |body: Value| e.call("POST", "/auth-tokens", None, Some(body));
    let creds = |extra: Value| {
        let mut b = json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET, "operations": ["GET /balances"] });
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    assert_eq!(ask(creds(json!({ "secret": "wrong" }))).await.0, 403);
    let (status, body) = ask(creds(json!({ "merchantCode": "NOBODY" }))).await;
    assert_eq!((status, body[0]["code"].as_str()), (406, Some("MERCHANT_NOT_FOUND")));
    for (what, extra) in [
        ("validity too short", json!({ "validitySecs": 59 })),
        ("validity too long", json!({ "validitySecs": 3601 })),
        ("validity not a number", json!({ "validitySecs": "60" })),
        ("no operations", json!({ "operations": [] })),
        ("operation without method", json!({ "operations": ["/balances"] })),
        ("unknown method", json!({ "operations": ["FETCH /balances"] })),
        ("operation too long", json!({ "operations": [format!("GET /{}", "a".repeat(1000))] })),
        ("huge operations list", json!({ "operations": vec!["GET /balances"; 51] })),
        ("operations of numbers", json!({ "operations": [1] })),
        ("secret too long", json!({ "secret": "s".repeat(1001) })),
        ("money with decimals", json!({ "money": { "amount": 10.5, "currencyCode": "INR" } })),
        ("money zero", json!({ "money": { "amount": 0, "currencyCode": "INR" } })),
    ] {
        let (status, body) = ask(creds(extra)).await;
        assert_eq!(status, 400, "{what}: {body}");
    }
    assert_eq!(ask(json!({ "secret": SECRET })).await.0, 400, "no merchantCode");
    let raw = e.http.post(e.url("/auth-tokens")).header("X-API-Version", "2").body("{not json");
    assert_eq!(e.send("POST", "/auth-tokens", raw).await.0, 400);
    for pattern in ["GET /payins/(", "GET /(.{1000}){1000}", &format!("GET /{}a{}", "(".repeat(40), ")".repeat(40))] {
        let (status, body) = ask(creds(json!({ "operations": [pattern] }))).await;
        assert_eq!((status, body[0]["code"].as_str()), (406, Some("OPERATION_INVALID")), "{pattern}: {body}");
    }
    e.app.stop().await;
}

async fn tokens_by_action_expand_to_one_payment(backend: Backend) {
    let e = start(backend).await;
    let by_action = |action: &str, id: &str| {
        let body = json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET, "action": action, "idPayment": id,
                           "money": { "amount": 100, "currencyCode": "INR" } });
        e.call("POST", "/auth-tokens-by-action", None, Some(body))
    };
    let (status, body) = by_action("PAYIN_CREATE", "ACT-1").await;
    assert_eq!(status, 200, "{body}");
    let create = body["token"].as_str().unwrap().to_owned();
    let upiqr = json!({ "paymentMethodCode": "UPIQR" });
    assert_eq!(
        e.post("/payins/!availablePaymentOptions", &create, json!({ "money": { "amount": 100, "currencyCode": "INR" } })).await.0,
        200
    );
    assert_eq!(e.post("/payins/ACT-2", &create, payin_body(100, upiqr.clone())).await.0, 403, "another id");
    assert_eq!(e.post("/payins/ACT-1", &create, payin_body(100, upiqr)).await.0, 201);
    assert_eq!(e.get("/payins/ACT-1", &create).await.0, 200);
    let (_, body) = by_action("PAYIN_INFO", "ACT-1").await;
    let info = body["token"].as_str().unwrap().to_owned();
    assert_eq!(e.get("/payins/ACT-1", &info).await.0, 200);
    assert_eq!(e.get("/payins/ACT-1/accounts", &info).await.0, 200);
    assert_eq!(e.post("/payins/ACT-3", &info, payin_body(100, json!({ "paymentMethodCode": "UPIQR" }))).await.0, 403);
    let (_, body) = by_action("PAYOUT_INFO", "ACT-1").await;
    let payout_info = body["token"].as_str().unwrap().to_owned();
    assert_eq!(e.get("/payins/ACT-1", &payout_info).await.0, 403);
    assert_eq!(e.get("/payouts/ACT-1", &payout_info).await.0, 410);
    assert_eq!(by_action("REFUND", "ACT-1").await.0, 400);
    assert_eq!(by_action("PAYIN_INFO", "bad id").await.0, 400);
    e.app.stop().await;
}

async fn money_restricted_tokens_create_only_that_money(backend: Backend) {
    let e = start(backend).await;
    let ops = json!(["POST /payins/.*", "POST /payouts/.*"]);
    let token = e.token_with(json!({ "operations": ops, "money": { "amount": 5000, "currencyCode": "INR" } })).await;
    let admin = e.admin_token().await;
    let upiqr = json!({ "paymentMethodCode": "UPIQR" });
    for (id, amount) in [("MR-1", 5001), ("MR-2", 4999), ("MR-3", 1)] {
        let (status, body) = e.post(&format!("/payins/{id}"), &token, payin_body(amount, upiqr.clone())).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(e.get(&format!("/payins/{id}"), &admin).await.0, 410, "nothing stored");
    }
    assert_eq!(e.post("/payouts/MR-4", &token, echelon_support::payout_body(4000)).await.0, 403);
    assert_eq!(e.post("/payins/MR-5", &token, payin_body(5000, upiqr)).await.0, 201);
    assert_eq!(e.post("/payouts/MR-6", &token, echelon_support::payout_body(5000)).await.0, 201);
    e.app.stop().await;
}

/// A second merchant (on a second partner) cannot use the sandbox merchant's secret,
/// and sees none of its payments.
async fn merchants_are_isolated(backend: Backend) {
    let e = start(backend).await;
    let other = add_merchant(&e, "OTHER-M", "other-secret-0123456789").await;
    assert!(other.get() > 0);
    let (status, _) = e
        .call(
            "POST",
            "/auth-tokens",
            None,
            Some(json!({ "merchantCode": "OTHER-M", "secret": SECRET, "operations": ["GET /payins/.*"] })),
        )
        .await;
    assert_eq!(status, 403, "another merchant's secret");
    let admin = e.admin_token().await;
    assert_eq!(e.post("/payins/ISO-1", &admin, payin_body(100, json!({ "paymentMethodCode": "UPIQR" }))).await.0, 201);
    let (_, body) = e
        .call(
            "POST",
            "/auth-tokens",
            None,
            Some(json!({ "merchantCode": "OTHER-M", "secret": "other-secret-0123456789", "operations": ["GET /payins/.*"] })),
        )
        .await;
    let other_token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(e.get("/payins/ISO-1", &other_token).await.0, 410, "not the other merchant's payin");
    // The other merchant's token with its subject switched to the sandbox merchant.
    let parts: Vec<&str> = other_token.split('.').collect();
    let (_, mut payload) = claims(&other_token);
    payload["sub"] = MERCHANT_CODE.into();
    let switched = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    assert_eq!(e.get("/payins/ISO-1", &switched).await.0, 401);
    e.app.stop().await;
}

async fn api_version_is_required(backend: Backend) {
    let e = start(backend).await;
    let token = e.token(&["GET /currencies"]).await;
    for version in [None, Some("1"), Some("3"), Some("two"), Some("")] {
        let mut req = e.http.get(e.url("/currencies")).header("Authorization", format!("Bearer {token}"));
        if let Some(v) = version {
            req = req.header("X-API-Version", v);
        }
        let (status, body) = e.send("GET", "/currencies", req).await;
        assert_eq!(status, 404, "{version:?}: {body}");
        assert!(body["description"].as_str().unwrap().contains("X-API-Version"), "{body}");
    }
    let no_version = e.http.post(e.url("/auth-tokens")).json(&json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET }));
    assert_eq!(e.send("POST", "/auth-tokens", no_version).await.0, 404, "the token endpoints too");
    let minor =
        e.http.get(e.url("/currencies")).header("X-API-Version", "2.47").header("Authorization", format!("Bearer {token}"));
    assert_eq!(e.send("GET", "/currencies", minor).await.0, 200, "a 2.x minor is compatible");
    e.app.stop().await;
}

/// `kosh merchant secret` (the store's `RotateSecret`, run here as the CLI runs it):
/// once the node's merchant cache has expired (5 s of the injected clock), tokens signed
/// with the old secret are 401 over HTTP, the old secret no longer issues tokens, and
/// the new one does.
async fn a_rotated_secret_retires_the_tokens_it_signed(backend: Backend) {
    let e = start(backend).await;
    add_merchant(&e, "ROT-M", "rotating-secret-0123456789-old").await;
    let old_token = e.merchant_token("ROT-M", "rotating-secret-0123456789-old", &["GET /currencies"]).await;
    assert_eq!(e.get("/currencies", &old_token).await.0, 200, "the merchant is cached now");

    let new_secret = "rotating-secret-0123456789-new";
    let stored = StoredSecret::derive(new_secret);
    let rotate = EchelonCommand::RotateSecret(RotateSecret {
        merchant_code: "ROT-M".into(),
        salt: stored.salt,
        verifier: stored.verifier,
        token_key: stored.token_key,
    });
    let outcome = e.app.state.store.execute(Command::Echelon(rotate)).await.unwrap();
    assert!(matches!(outcome, Outcome::Echelon(EchelonOutcome::SecretRotated)), "{outcome:?}");
    e.clock.advance_ms(MERCHANT_TTL_MS);

    let (status, body) = e.get("/currencies", &old_token).await;
    assert_eq!(status, 401, "a token of the old secret: {body}");
    let old = json!({ "merchantCode": "ROT-M", "secret": "rotating-secret-0123456789-old", "operations": ["GET /currencies"] });
    assert_eq!(e.call("POST", "/auth-tokens", None, Some(old)).await.0, 403, "the old secret issues nothing");
    let new_token = e.merchant_token("ROT-M", new_secret, &["GET /currencies"]).await;
    assert_eq!(e.get("/currencies", &new_token).await.0, 200);
    e.app.stop().await;
}

/// Paths of the Echelon dialect that no route serves, and routes called with another
/// method, answer a `BasicError` (404, 405 with `Allow`); the Eko dialect keeps its own
/// 404 and other paths Kosh's generic one.
async fn unknown_paths_and_methods_answer_in_the_spec_shape(backend: Backend) {
    let e = start(backend).await;
    let token = e.admin_token().await;
    for path in ["/payins/X-1/unknown", "/payouts/X-1/accounts", "/payins", "/balances/INR", "/echelon/nothing", "/payins/X/a/b"]
    {
        let (status, body) = e.get(path, &token).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["description"].as_str().unwrap().contains("no Echelon API is served"), "{path}: {body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "only description: {body}");
    }
    let unversioned = e.http.get(e.url("/payouts/X-1/nothing"));
    assert_eq!(e.send("GET", "/payouts/X-1/nothing", unversioned).await.0, 404);

    for (method, path, allowed) in [
        ("DELETE", "/payins/X-1", ["GET", "POST"].as_slice()),
        ("PUT", "/balances", &["GET"]),
        ("GET", "/auth-tokens", &["POST"]),
        ("PATCH", "/payouts/!availablePaymentOptions", &["POST"]),
        ("POST", "/echelon/qr/X.svg", &["GET"]),
    ] {
        let response = e
            .http
            .request(method.parse().unwrap(), e.url(path))
            .header("X-API-Version", "2")
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        for m in allowed {
            assert!(allow.contains(m), "{method} {path}: Allow {allow:?}");
        }
        let body: Value = response.json().await.expect("a JSON body");
        spec().check_response(method, path, 405, &body);
        assert!(body["description"].as_str().unwrap().contains(&format!("{method} is not served at {path}")), "{body}");
    }

    let eko = e.http.get(e.url("/ekoapi/v2/no/such/api")).send().await.unwrap();
    assert_eq!(eko.status().as_u16(), 404);
    let eko: Value = eko.json().await.unwrap();
    assert_eq!(eko["message"], "No mapping rule matched", "the Eko dialect keeps its own 404: {eko}");
    let other = e.http.get(e.url("/no-such-thing")).send().await.unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let other: Value = other.json().await.unwrap();
    assert_eq!((other["status"].as_i64(), other["message"].as_str()), (Some(404), Some("no such path: /no-such-thing")));
    e.app.stop().await;
}

/// Item 4 of issue 11: `operations` is optional in the spec's `AuthTokenRequest`, so a
/// request without it (or with `null`) gets a token. That token names no endpoint and so
/// opens none: every call is 403 and nothing is stored. An empty list is still 400
/// (`minItems: 1`).
async fn a_token_without_operations_grants_nothing(backend: Backend) {
    let e = start(backend).await;
    let admin = e.admin_token().await;
    for body in [
        json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET }),
        json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET, "operations": null, "validitySecs": 120 }),
    ] {
        let (status, answer) = e.call("POST", "/auth-tokens", None, Some(body.clone())).await;
        assert_eq!(status, 200, "{body}: {answer}");
        let token = answer["token"].as_str().unwrap().to_owned();
        let (_, payload) = claims(&token);
        assert_eq!(payload["operations"], json!([]), "{payload}");
        assert_eq!(payload["sub"], MERCHANT_CODE);
        for path in ["/balances", "/currencies", "/merchant-info", "/payins/NOOP-1"] {
            let (status, answer) = e.get(path, &token).await;
            assert_eq!(status, 403, "{path}: {answer}");
            assert!(answer["description"].as_str().unwrap().contains("grants no operations"), "{answer}");
        }
        let (status, _) = e.post("/payins/NOOP-1", &token, payin_body(100, json!({ "paymentMethodCode": "UPIQR" }))).await;
        assert_eq!(status, 403);
        let (status, _) = e.post("/payouts/NOOP-2", &token, echelon_support::payout_body(100)).await;
        assert_eq!(status, 403);
        assert_eq!(e.get("/payins/NOOP-1", &admin).await.0, 410, "nothing stored");
        assert_eq!(e.get("/payouts/NOOP-2", &admin).await.0, 410, "nothing stored");
    }
    let empty = json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET, "operations": [] });
    let (status, answer) = e.call("POST", "/auth-tokens", None, Some(empty)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["description"].as_str().unwrap().contains("at least one operation"), "{answer}");
    e.app.stop().await;
}
