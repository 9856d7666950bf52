//! The Eko dialect at the HTTP level, through the real server on both backends:
//! prefixes, authentication refusals that explain themselves without revealing the
//! expected secret-key, and malformed requests (415, 400, 413, 405, 404).

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::{agent_form, get, pairs, put, sandbox, send, signed, signed_at, Backend, PREFIXES};
use kosh_core::clock::{Clock, SystemClock};
use kosh_core::signing;
use kosh_sdk::eko::Credentials;
use serde_json::json;

on_both_backends!(
    all_four_prefixes_answer_the_same,
    authentication_refusals_explain_what_is_wrong,
    no_refusal_reveals_the_expected_secret_key,
    malformed_requests_are_explained,
    unknown_paths_and_versions_answer_no_mapping_rule_matched,
);

async fn all_four_prefixes_answer_the_same(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let mut catalogue = Vec::new();
    for prefix in PREFIXES {
        catalogue.push(get(&sandbox(&app, prefix), "/user/services", &[]).await);
    }
    assert_eq!(catalogue[0]["response_type_id"], 1280, "{}", catalogue[0]);
    assert!(catalogue.iter().all(|body| *body == catalogue[0]), "{catalogue:?}");

    let form = agent_form("ABCPM1234K", "9876500200");
    let mut user_codes = Vec::new();
    for (i, prefix) in PREFIXES.iter().enumerate() {
        let body = put(&sandbox(&app, prefix), "/user/onboard", &pairs(&form)).await;
        assert_eq!(body["response_type_id"], if i == 0 { 1290 } else { 1307 }, "{prefix}: {body}");
        user_codes.push(body["data"]["user_code"].clone());
    }
    assert!(user_codes.iter().all(|uc| *uc == user_codes[0]), "{user_codes:?}");

    let uc = user_codes[0].as_str().expect("user_code").to_owned();
    for prefix in PREFIXES {
        let activated =
            put(&sandbox(&app, prefix), "/user/service/activate", &[("service_code", "45"), ("user_code", &uc)]).await;
        assert_eq!(activated["response_type_id"], 1294, "{prefix}: {activated}");
    }
    let mut enquiries = Vec::new();
    for prefix in PREFIXES {
        enquiries.push(get(&sandbox(&app, prefix), &format!("/user/services/user_code:{uc}"), &[]).await);
        let balance = get(&sandbox(&app, prefix), "/customers/mobile_number:9962981729/balance", &[]).await;
        assert_eq!(balance["data"]["balance"], "1000000.00", "{prefix}: {balance}");
    }
    assert!(enquiries.iter().all(|e| *e == enquiries[0]), "{enquiries:?}");
    assert_eq!(enquiries[0]["data"]["service_status_list"].as_array().map(Vec::len), Some(1));
    app.stop().await;
}

async fn authentication_refusals_explain_what_is_wrong(backend: Backend) {
    // The server's clock stands still, so a timestamp signed 412 s before it is exactly
    // 412 s old however long the requests before it take.
    let now = SystemClock.now_ms();
    let app = eko_support::start_with_clock(backend, kosh_core::clock::ManualClock::new(now), |_| {}).await;
    let url = format!("{}/ekoapi/v1/user/services?initiator_id=9962981729", app.url());
    let http = reqwest::Client::new();
    let sandbox = Credentials::sandbox();

    let (status, body) = send(http.get(&url)).await;
    assert_eq!(
        (status, &body["status"], &body["message"]),
        (402, &json!(402), &json!("developer_key header is missing")),
        "{body}"
    );

    let stranger = Credentials { developer_key: "0123456789abcdef0123456789abcdef".into(), ..sandbox.clone() };
    let (status, body) = send(signed_at(http.get(&url), &stranger, now)).await;
    assert_eq!((status, &body["message"]), (403, &json!("Authentication failed: developer_key is not recognised")), "{body}");

    let (status, body) = send(signed_at(http.get(&url), &sandbox, now - 412_000)).await;
    assert_eq!(status, 403, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.starts_with("Authentication failed: secret-key-timestamp is 412"), "{message}");
    assert!(message.ends_with(" s old, tolerance is 300 s"), "{message}");

    let with_developer_key = Credentials { access_key: sandbox.developer_key.clone(), ..sandbox.clone() };
    let (status, body) = send(signed_at(http.get(&url), &with_developer_key, now)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap_or("").contains("must be computed with the access key, not the developer_key"),
        "{body}"
    );

    let h = sandbox.sign(now);
    let no_secret =
        http.get(&url).header("developer_key", &h.developer_key).header("secret-key-timestamp", &h.secret_key_timestamp);
    let (status, body) = send(no_secret).await;
    assert_eq!((status, &body["message"]), (403, &json!("Authentication failed: secret-key header is missing")), "{body}");

    let no_timestamp = http.get(&url).header("developer_key", &h.developer_key).header("secret-key", &h.secret_key);
    let (status, body) = send(no_timestamp).await;
    assert_eq!((status, &body["message"]), (403, &json!("Authentication failed: secret-key-timestamp header is missing")));

    let (status, body) = send(signed_at(http.get(&url), &sandbox, now)).await;
    assert_eq!((status, &body["status"]), (200, &json!(0)), "correctly signed: {body}");
    app.stop().await;
}

async fn no_refusal_reveals_the_expected_secret_key(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let url = format!("{}/ekoapi/v1/user/onboard", app.url());
    let http = reqwest::Client::new();
    let sandbox = Credentials::sandbox();
    let now = SystemClock.now_ms();
    let ts = now.to_string();
    let expected = signing::secret_key(&sandbox.access_key, &ts);
    let wrong_keys = [
        signing::secret_key(&sandbox.developer_key, &ts),
        signing::secret_key("some-other-access-key", &ts),
        signing::secret_key(&sandbox.access_key, &(now / 1000).to_string()),
        "not-a-signature".to_owned(),
    ];
    for wrong in wrong_keys {
        let req = http
            .put(&url)
            .header("developer_key", &sandbox.developer_key)
            .header("secret-key-timestamp", &ts)
            .header("secret-key", &wrong)
            .form(&[("initiator_id", "9962981729")]);
        let response = req.send().await.expect("answer");
        assert_eq!(response.status().as_u16(), 403);
        let text = response.text().await.expect("body");
        assert!(text.contains("Authentication failed"), "{text}");
        assert!(!text.contains(&expected), "a 403 must not reveal the expected secret-key: {text}");
        assert!(!text.contains(&sandbox.access_key), "a 403 must not reveal the access key: {text}");
    }
    app.stop().await;
}

async fn malformed_requests_are_explained(backend: Backend) {
    let app = eko_support::start(backend, |c| c.max_body_bytes = 1024).await;
    let url = format!("{}/ekoapi/v1/user/onboard", app.url());
    let http = reqwest::Client::new();

    let text = signed(http.put(&url)).header("content-type", "text/plain").body("initiator_id=9962981729");
    let (status, body) = send(text).await;
    assert_eq!((status, &body["status"]), (415, &json!(415)), "{body}");
    assert!(body["message"].as_str().unwrap_or("").contains("text/plain"), "{body}");

    let broken = signed(http.put(&url)).header("content-type", "application/json").body(r#"{"initiator_id": "9962981729","#);
    let (status, body) = send(broken).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap_or("").starts_with("the body is not valid JSON"), "{body}");

    let not_object = signed(http.put(&url)).header("content-type", "application/json").body("[1,2]");
    let (status, body) = send(not_object).await;
    assert_eq!((status, &body["message"]), (400, &json!("the JSON body must be an object")));

    let big = format!("initiator_id=9962981729&shop_name={}", "x".repeat(2048));
    let oversized = signed(http.put(&url)).header("content-type", "application/x-www-form-urlencoded").body(big);
    let (status, body) = send(oversized).await;
    assert_eq!((status, &body["status"]), (413, &json!(413)), "{body}");
    assert!(body["hint"].as_str().unwrap_or("").contains("max_body_bytes"), "{body}");

    let (status, body) = send(signed(http.get(&url))).await;
    assert_eq!((status, &body["status"]), (405, &json!(405)), "{body}");
    assert_eq!(body["message"], "Method GET is not allowed on /ekoapi/v1/user/onboard");
    let (status, _) = send(signed(http.post(format!("{}/ekoicici/v2/user/service/activate", app.url())))).await;
    assert_eq!(status, 405);
    let (status, _) = send(signed(http.put(format!("{}/ekoapi/v1/customers/mobile_number:9962981729/balance", app.url())))).await;
    assert_eq!(status, 405);

    let form = agent_form("ABCPN1234K", "9876500300");
    let ok = put(&sandbox(&app, "/ekoapi/v1"), "/user/onboard", &pairs(&form)).await;
    assert_eq!(ok["response_type_id"], 1290, "a normal request still works: {ok}");
    app.stop().await;
}

async fn unknown_paths_and_versions_answer_no_mapping_rule_matched(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let http = reqwest::Client::new();
    for path in ["/ekoapi/v3/user/onboard", "/ekoicici/v3/user/services", "/ekoapi/v1/user/no-such-thing", "/ekoapi/v9/x"] {
        let (status, body) = send(signed(http.put(format!("{}{path}", app.url())))).await;
        assert_eq!((status, &body["message"]), (404, &json!("No mapping rule matched")), "{path}: {body}");
        assert!(body["hint"].as_str().is_some_and(|h| !h.is_empty()), "{path}: {body}");
    }
    let (_, v3) = send(signed(http.get(format!("{}/ekoapi/v3/user/services", app.url())))).await;
    assert!(v3["hint"].as_str().unwrap_or("").contains("v1 and v2"), "{v3}");
    let (status, body) = send(http.get(format!("{}/no/such/path", app.url()))).await;
    assert_eq!((status, &body["message"]), (404, &json!("no such path: /no/such/path")));
    app.stop().await;
}
