//! The v3 core's wire rules and bad input, on both backends: multipart bodies (the v1
//! document upload that answered 415), the per-endpoint `request_hash` table under
//! `enforce`, the route table behind "No mapping rule matched", the common inquiry's
//! query forms and a v3 AePS transaction seen by the v2 inquiry, and the v3 user
//! management refusals.

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::{get, onboard, put, sandbox, send, signed, Backend, CUSTOMER, LATLONG};
use kosh_core::aadhaar::with_check_digit;
use kosh_core::aeps::simulated_pid;
use kosh_server::eko::served_paths;
use serde_json::{json, Value};

on_both_backends!(
    documents_upload_as_multipart_and_are_checked,
    request_hash_is_required_per_endpoint,
    every_path_in_the_route_table_is_served,
    the_common_inquiry_checks_its_reference_and_sees_every_version,
    v3_user_management_refuses_bad_input_and_changes_nothing,
    aadhaar_pay_credits_the_agents_wallet_at_its_v2_and_v3_paths,
);

const BOUNDARY: &str = "KoshTestBoundary7MA4YWxkTrZu0gW";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

/// A multipart body: one `form-data` part holding `fields` as they are, then file parts.
fn multipart(fields: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"form-data\"\r\n\r\n{fields}\r\n").into_bytes();
    for (name, filename, content) in files {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send_multipart(app: &kosh_server::App, path: &str, body: Vec<u8>) -> (u16, Value) {
    let request = reqwest::Client::new()
        .put(format!("{}{path}", app.url()))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body);
    send(signed(request)).await
}

async fn documents_upload_as_multipart_and_are_checked(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let v1 = sandbox(&app, "/ekoapi/v1");
    let user_code = onboard(&v1, "ABCPM5555M", "9876555551").await;
    let fields = format!(
        "initiator_id=9962981729&user_code={user_code}&service_code=43&modelname=MFS100&devicenumber=42&latlong={LATLONG}"
    );

    let png = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
    let big = [JPEG, &vec![0u8; 1024 * 1024]].concat();
    let (status, refused) = send_multipart(
        &app,
        "/ekoapi/v1/user/service/activate",
        multipart(&fields, &[("pan_card", "pan.png", &png), ("aadhar_front", "front.jpg", &big), ("selfie", "me.jpg", JPEG)]),
    )
    .await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(eko_support::invalid_names(&refused), ["aadhar_front", "pan_card", "selfie"], "{refused}");
    let untouched = get(&v1, &format!("/user/services/user_code:{user_code}"), &[]).await;
    assert_eq!(eko_support::service_entry(&untouched, "43"), None, "a refused upload changes nothing: {untouched}");

    let files: [(&str, &str, &[u8]); 3] =
        [("pan_card", "pan.jpg", JPEG), ("aadhar_front", "front.pdf", b"%PDF-1.4 x"), ("aadhar_back", "back.jpg", JPEG)];
    let (status, accepted) = send_multipart(&app, "/ekoapi/v1/user/service/activate", multipart(&fields, &files)).await;
    assert_eq!((status, &accepted["response_type_id"]), (200, &json!(1295)), "formerly 415: {accepted}");
    let pending = get(&v1, &format!("/user/services/user_code:{user_code}"), &[]).await;
    assert_eq!(eko_support::service_entry(&pending, "43").map(|s| s["status"].clone()), Some(json!(2)), "{pending}");

    let json_part = json!({ "initiator_id": "9962981729", "user_code": user_code, "service_code": "45" }).to_string();
    let (_, as_json) = send_multipart(
        &app,
        "/ekoapi/v3/admin/network/agent/{user_code}/service/45/activate".replace("{user_code}", &user_code).as_str(),
        multipart(&json_part, &[]),
    )
    .await;
    assert_eq!(as_json["response_type_id"], 1294, "the SDK's JSON part: {as_json}");
    let (status, broken) = send_multipart(&app, "/ekoapi/v1/user/service/activate", b"--nope\r\n".to_vec()).await;
    assert_eq!((status, &broken["status"]), (400, &json!(400)), "{broken}");
    app.stop().await;
}

fn cash_withdrawal(user_code: &str, aadhaar: &str) -> Value {
    json!({ "initiator_id": "9962981729", "user_code": user_code, "bank_code": "PUNB", "aadhar": aadhaar, "amount": "500",
            "client_ref_id": "HASH-1", "latlong": LATLONG, "piddata": simulated_pid(9), "service_type": "2", "customer_id": CUSTOMER })
}

async fn request_hash_is_required_per_endpoint(backend: Backend) {
    let app = eko_support::start(backend, |c| assert_eq!(c.request_hash, kosh_server::config::HashStrictness::Enforce)).await;
    let user_code = onboard(&sandbox(&app, "/ekoapi/v1"), "ABCPH6666H", "9876566661").await;
    let aadhaar = with_check_digit("34567890123").unwrap();
    let body = cash_withdrawal(&user_code, aadhaar.digits());
    let http = reqwest::Client::new();

    let (status, v2) = send(signed(http.post(format!("{}/ekoapi/v2/aeps", app.url()))).json(&body)).await;
    assert_eq!(
        (status, v2["message"].as_str()),
        (403, Some("Authentication for request-hash failed: request_hash header is missing"))
    );
    let v3_path = format!("{}/ekoapi/v3/customer/collection/aeps-fingpay/cash-withdrawl/{CUSTOMER}", app.url());
    let (status, v3) = send(signed(http.post(&v3_path)).json(&body)).await;
    assert_eq!((status, &v3["status"], &v3["message"]), (200, &json!(346), &json!("Agent not allowed")), "past the hash: {v3}");
    let (status, wrong) = send(signed(http.post(&v3_path)).header("request_hash", "bm90IHRoZSBoYXNo").json(&body)).await;
    assert_eq!(status, 403, "a hash that is sent is checked: {wrong}");
    let mut bad = body.clone();
    bad["aadhar"] = json!("123456789012");
    bad["amount"] = json!("10000.50");
    bad.as_object_mut().unwrap().remove("customer_id");
    let (status, bad) = send(
        signed(http.post(format!("{}/ekoapi/v3/customer/collection/aeps-fingpay/cash-withdrawl/12345", app.url()))).json(&bad),
    )
    .await;
    assert_eq!(status, 200, "{bad}");
    assert_eq!(eko_support::invalid_names(&bad), ["aadhar", "amount", "customer_id"], "every bad field at once: {bad}");
    let partner = app.state.store.find_partner("sandbox").await.unwrap().unwrap().id;
    assert_eq!(app.state.store.aeps_transaction_by_ref(partner, "HASH-1").await.unwrap(), None, "nothing recorded");
    for entry in kosh_server::eko::auth::REQUEST_HASH_TABLE {
        assert_eq!(kosh_server::eko::auth::hashed_endpoint(entry.endpoint), entry);
    }
    app.stop().await;
}

async fn every_path_in_the_route_table_is_served(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let http = reqwest::Client::new();
    for (group, path) in served_paths() {
        let prefixes: &[&str] = match group {
            "v1" => &["/ekoapi/v1", "/ekoapi/v2", "/ekoicici/v1", "/ekoicici/v2"],
            "v2" => &["/ekoapi/v2", "/ekoicici/v2"],
            _ => &["/ekoapi/v3", "/ekoicici/v3"],
        };
        let concrete: String = path.split('/').map(|s| if s.starts_with('{') { "1" } else { s }).collect::<Vec<_>>().join("/");
        for prefix in prefixes {
            let (status, body) = send(signed(http.get(format!("{}{prefix}{concrete}", app.url())))).await;
            let unrouted = status == 404 && body["hint"].as_str().is_some_and(|h| h.starts_with("no API is served at"));
            assert!(!unrouted, "{prefix}{path} is listed but not served: {body}");
        }
    }
    let (status, typo) = send(signed(http.get(format!("{}/ekoicici/v3/user/account/service", app.url())))).await;
    assert_eq!(status, 404);
    assert!(typo["hint"].as_str().unwrap().ends_with("nearest path Kosh serves is /ekoicici/v3/user/account/services"), "{typo}");
    app.stop().await;
}

async fn the_common_inquiry_checks_its_reference_and_sees_every_version(backend: Backend) {
    let app = eko_support::start(backend, |c| c.service_review_secs = 0).await;
    let v3 = sandbox(&app, "/ekoapi/v3");
    let missing = get(&v3, "/tools/reference/transaction", &[]).await;
    assert_eq!((&missing["status"], eko_support::invalid_names(&missing)), (&json!(97), vec!["tid".to_owned()]), "{missing}");
    let bad_tid = get(&v3, "/tools/reference/transaction", &[("tid", "12ab")]).await;
    assert_eq!(eko_support::invalid_names(&bad_tid), ["tid"], "{bad_tid}");
    let unknown = get(&v3, "/tools/reference/transaction/client_ref_id:NOTHING-HERE", &[]).await;
    assert_eq!((&unknown["status"], &unknown["response_type_id"]), (&json!(168), &json!(168)), "{unknown}");
    let other = eko_support::send(
        reqwest::Client::new()
            .get(format!("{}/ekoapi/v3/tools/reference/transaction/1000000001?initiator_id=9999999999", app.url())),
    )
    .await;
    assert_eq!(other.0, 402, "unsigned: {other:?}");

    // The sandbox agent (every service active) withdraws under v3; v2's inquiry sees it.
    let aadhaar = with_check_digit("45678901234").unwrap();
    let agent_aadhaar = with_check_digit("56789012345").unwrap();
    aeps_ready(&app, &v3, &agent_aadhaar).await;
    let mut body = cash_withdrawal("20810200", aadhaar.digits());
    body["client_ref_id"] = json!("V3-TO-V2");
    let path = format!("/customer/collection/aeps-fingpay/cash-withdrawl/{CUSTOMER}");
    let cw = v3.send_json(reqwest::Method::POST, &path, &body, None).await.unwrap().body;
    assert_eq!(cw["response_type_id"], 1463, "{cw}");
    let v2 = get(&sandbox(&app, "/ekoapi/v2"), "/aeps/transactions/client_ref_id:V3-TO-V2", &[]).await;
    assert_eq!((&v2["response_type_id"], &v2["data"]["tid"]), (&json!(1472), &cw["data"]["tid"]), "{v2}");
    let common = get(&v3, &format!("/tools/reference/transaction/{}", cw["data"]["tid"].as_str().unwrap()), &[]).await;
    assert_eq!(common["data"], v2["data"], "one answer for one transaction");
    app.stop().await;
}

/// Fingpay e-KYC and today's authentication for the sandbox agent.
async fn aeps_ready(app: &kosh_server::App, v3: &kosh_sdk::eko::Client, aadhaar: &kosh_core::aadhaar::Aadhaar) {
    let kyc = "/user/collection/aeps-fingpay/kyc";
    let step = json!({ "initiator_id": "9962981729", "user_code": "20810200", "aadhar": aadhaar.digits(),
                       "customer_id": "9962981729", "latlong": LATLONG });
    let sent = v3.send_json(reqwest::Method::POST, &format!("{kyc}/otp"), &step, None).await.unwrap().body;
    assert_eq!(sent["response_type_id"], 1600, "{sent}");
    let otp = get(&eko_support::root(app), "/sandbox/otp", &[("mobile", "9962981729"), ("purpose", "aeps_ekyc")]).await;
    let mut verify = step.clone();
    verify["otp"] = otp["data"]["otp"].clone();
    verify["otp_ref_id"] = sent["data"]["otp_ref_id"].clone();
    verify["reference_tid"] = sent["data"]["reference_tid"].clone();
    let verified = v3.send_json(reqwest::Method::PUT, &format!("{kyc}/otp/verify"), &verify, None).await.unwrap().body;
    assert_eq!(verified["response_type_id"], 1604, "{verified}");
    let mut bio = step;
    bio["piddata"] = json!(simulated_pid(1));
    bio["bank_code"] = json!("SBIN");
    for (path, rt) in [("biometric", 1605), ("biometric/daily", 1713)] {
        let done = v3.send_json(reqwest::Method::PUT, &format!("{kyc}/{path}"), &bio, None).await.unwrap().body;
        assert_eq!(done["response_type_id"], rt, "{done}");
    }
}

async fn v3_user_management_refuses_bad_input_and_changes_nothing(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let v3 = sandbox(&app, "/ekoapi/v3");
    let user_code = onboard(&sandbox(&app, "/ekoapi/v1"), "ABCPU7777U", "9876577771").await;
    let agent = format!("/admin/network/agent/{user_code}/service");

    let unknown_code = put(&v3, &format!("{agent}/77/activate"), &[]).await;
    assert_eq!(eko_support::invalid_names(&unknown_code), ["service_code"], "{unknown_code}");
    let nobody = put(&v3, "/admin/network/agent/29999999/service/45/activate", &[]).await;
    assert_eq!(nobody["status"], 463, "{nobody}");
    let never = put(&v3, &format!("{agent}/45/deactivate"), &[]).await;
    assert_eq!((&never["status"], &never["message"]), (&json!(1), &json!("Service is not activated for this user")), "{never}");
    let twice = put(&v3, &format!("{agent}/45/activate"), &[("service_code", "4")]).await;
    assert_eq!(eko_support::invalid_names(&twice), ["service_code"], "path and body disagree: {twice}");
    let (status, wrong_name) = send(signed(
        reqwest::Client::new().put(format!("{}/ekoapi/v3/admin/network/agent/mobile:{user_code}/service/45/activate", app.url())),
    ))
    .await;
    assert_eq!((status, &wrong_name["message"]), (404, &json!("No mapping rule matched")), "{wrong_name}");
    let enquiry = get(&v3, "/user/account/services", &[("user_code", &user_code)]).await;
    assert_eq!(enquiry["data"]["service_status_list"], json!([]), "nothing changed: {enquiry}");
    let no_user = get(&v3, "/user/account/services", &[]).await;
    assert_eq!(eko_support::invalid_names(&no_user), ["user_code"], "{no_user}");

    let other_wallet = get(&v3, "/user/account/balance/9000000000", &[("customer_id_type", "mobile_number")]).await;
    assert_eq!(other_wallet["status"], 463, "{other_wallet}");
    let bad_type = get(&v3, "/user/account/balance", &[("customer_id", "9962981729"), ("customer_id_type", "pan")]).await;
    assert_eq!(eko_support::invalid_names(&bad_type), ["customer_id_type"], "{bad_type}");
    let bad_mobile = get(&v3, "/user/account/balance", &[("customer_id", "12345")]).await;
    assert_eq!(eko_support::invalid_names(&bad_mobile), ["customer_id"], "{bad_mobile}");
    let onboard_bad =
        v3.send_json(reqwest::Method::PUT, "/user/account", &json!({ "pan_number": "NOTAPAN" }), None).await.unwrap();
    assert_eq!(onboard_bad.status, 200, "never 5xx: {}", onboard_bad.body);
    assert!(eko_support::invalid_names(&onboard_bad.body).contains(&"pan_number".to_owned()), "{}", onboard_bad.body);
    app.stop().await;
}

async fn wallets(app: &kosh_server::App) -> (i64, i64) {
    use kosh_core::ledger::AccountKind;
    let store = &app.state.store;
    let partner = store.find_partner("sandbox").await.unwrap().unwrap().id;
    let agent =
        store.balance(partner, &AccountKind::AgentWallet { user_code: kosh_core::ids::UserCode::new(20_810_200) }).await.unwrap();
    let own = store.balance(partner, &AccountKind::PartnerWallet).await.unwrap();
    (agent.available_credit(), own.available_credit())
}

async fn aadhaar_pay_credits_the_agents_wallet_at_its_v2_and_v3_paths(backend: Backend) {
    let app = eko_support::start(backend, |c| c.service_review_secs = 0).await;
    let v3 = sandbox(&app, "/ekoapi/v3");
    aeps_ready(&app, &v3, &with_check_digit("67890123456").unwrap()).await;
    let customer = with_check_digit("78901234567").unwrap();
    let path = format!("/customer/collection/aeps-fingpay/aadhaar-pay/{CUSTOMER}");
    let pay = |amount: &str, reference: &str| {
        let mut body = cash_withdrawal("20810200", customer.digits());
        body.as_object_mut().unwrap().remove("service_type");
        body.as_object_mut().unwrap().remove("customer_id");
        body["amount"] = json!(amount);
        body["client_ref_id"] = json!(reference);
        body
    };

    let off = put(&v3, "/admin/network/agent/20810200/service/51/deactivate", &[]).await;
    assert_eq!(off["response_type_id"], 1298, "{off}");
    let before = wallets(&app).await;
    let refused = v3.send_json(reqwest::Method::POST, &path, &pay("100", "AP-0"), None).await.unwrap().body;
    assert_eq!((&refused["status"], &refused["message"]), (&json!(346), &json!("Agent not allowed")), "service 51: {refused}");
    assert!(refused["hint"].as_str().unwrap().contains("service 51 (Aadhaar Pay)"), "{refused}");
    put(&v3, "/admin/network/agent/20810200/service/51/activate", &[]).await;
    let over = v3.send_json(reqwest::Method::POST, &path, &pay("10000.01", "AP-1"), None).await.unwrap().body;
    assert_eq!(eko_support::invalid_names(&over), ["amount"], "₹10,000 per transaction: {over}");
    assert_eq!(wallets(&app).await, before, "refusals move nothing");

    let paid = v3.send_json(reqwest::Method::POST, &path, &pay("10000", "AP-2"), None).await.unwrap().body;
    assert_eq!(
        (&paid["response_type_id"], &paid["data"]["tx_status"], &paid["data"]["type"]),
        (&json!(1463), &json!("0"), &json!("5")),
        "{paid}"
    );
    assert_eq!(
        wallets(&app).await,
        (before.0 + 1_000_000, before.1),
        "the agent's wallet gains the payment, the partner's nothing"
    );
    assert_eq!((&paid["data"]["balance"], &paid["data"]["commission"]), (&json!("10000.0"), &json!("0.0")), "{paid}");

    let mut v2 = pay("2500", "AP-3");
    v2["service_type"] = json!("5");
    v2["customer_id"] = json!(CUSTOMER);
    let hash = [customer.digits(), "2500", "20810200"];
    let legacy = sandbox(&app, "/ekoapi/v2").send_json(reqwest::Method::POST, "/aeps", &v2, Some(&hash)).await.unwrap().body;
    assert_eq!((&legacy["response_type_id"], &legacy["data"]["type"]), (&json!(1463), &json!("5")), "{legacy}");
    assert_eq!(wallets(&app).await, (before.0 + 1_250_000, before.1));
    let found = get(&v3, "/tools/reference/transaction/client_ref_id:AP-3", &[]).await;
    assert_eq!((&found["response_type_id"], &found["data"]["tid"]), (&json!(1472), &legacy["data"]["tid"]), "{found}");
    app.stop().await;
}
