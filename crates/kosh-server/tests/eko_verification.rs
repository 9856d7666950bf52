//! Verification (KYC) over signed HTTP on both backends: every kind of the table at its
//! path, the legacy v1/v2 shapes, fees charged once (also under concurrent duplicates)
//! and refunded when the provider fails, the Aadhaar consent flow in and out of order,
//! async kinds progressing on the injected clock, refusals without a fee, privacy.

mod eko_support;
mod verify_support;
use kosh_testkit::on_both_backends;

use eko_support::{invalid_names, onboard, sandbox, Backend};
use kosh_core::verification::{Fee, Method, Route, KINDS};
use reqwest::Method as Http;
use serde_json::json;
use verify_support::{available, call, example, post_json, start, wait_for, AGENT, V1, V2, V3};

on_both_backends!(
    legacy_pan_verify_answers_the_keys_the_sdk_checks,
    legacy_bank_account_verification_and_its_failures,
    every_kind_verifies_at_its_v3_path,
    the_same_client_ref_id_is_charged_once_even_concurrently,
    the_aadhaar_flow_in_order_and_out_of_order,
    bulk_and_digilocker_progress_on_the_clock,
    bad_input_is_refused_with_invalid_params_and_no_fee,
    pan_needs_service_4_for_an_agent,
    answers_are_stored_masked_and_purged_after_the_retention,
    a_verification_left_unanswered_is_refunded_by_the_worker,
    documents_that_do_not_exist_are_negative_answers_that_keep_the_fee,
    a_wallet_that_cannot_pay_is_refused_and_nothing_is_recorded,
);

/// `POST /ekoapi/v1/pan/verify`: rt 1255 with the SDK's keys; a missing PAN is a
/// negative answer (fee kept); a registry outage refunds the fee.
async fn legacy_pan_verify_answers_the_keys_the_sdk_checks(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V1);
    let before = available(&app).await;
    let form = [("pan_number", "VBLPZ6447L"), ("purpose", "1"), ("purpose_desc", "onboarding")];
    let ok = call(&eko, Http::POST, "/pan/verify", &form).await;
    assert_eq!(
        (&ok["status"], &ok["response_status_id"], &ok["response_type_id"]),
        (&json!(0), &json!(-1), &json!(1255)),
        "{ok}"
    );
    for key in ["pan_number", "title", "first_name", "middle_name", "last_name"] {
        assert!(ok["data"].get(key).is_some(), "{key} in {ok}");
    }
    assert_eq!(ok["data"]["last_name"], "Zaveri", "the holder's surname starts with the PAN's fifth letter");
    assert_eq!(available(&app).await, before - 250);

    let missing =
        call(&eko, Http::POST, "/pan/verify", &[("pan_number", "ABCPV0000K"), ("purpose", "1"), ("purpose_desc", "kyc")]).await;
    assert_eq!((&missing["status"], &missing["response_type_id"]), (&json!(1), &json!(1256)), "{missing}");
    assert_eq!(available(&app).await, before - 500, "a negative PAN answer keeps its fee");

    let down =
        call(&eko, Http::POST, "/pan/verify", &[("pan_number", "ABCPV5555K"), ("purpose", "1"), ("purpose_desc", "kyc")]).await;
    assert_eq!(down["status"], 1, "{down}");
    assert!(down["message"].as_str().unwrap().contains("refunded"), "{down}");
    assert_eq!(available(&app).await, before - 500, "a provider outage refunds the fee");
    app.stop().await;
}

/// `POST /ekoapi/v2/banks/{ifsc:|bank_code:}/accounts/{account}` without a
/// client_ref_id (as the vendor's SDK sends it): the penny-drop keys; closed accounts
/// and a bank that is down refund the fee; a bank that shares no name answers "Unknown".
async fn legacy_bank_account_verification_and_its_failures(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V2);
    let before = available(&app).await;
    let form = [("customer_id", "6111111111"), ("user_code", AGENT)];
    let ok = call(&eko, Http::POST, "/banks/ifsc:KKBK0000261/accounts/1711654121", &form).await;
    assert_eq!((&ok["status"], &ok["response_type_id"]), (&json!(0), &json!(61)), "{ok}");
    let keys = [
        "amount",
        "fee",
        "verification_failure_refund",
        "is_Ifsc_required",
        "tid",
        "client_ref_id",
        "bank",
        "is_name_editable",
        "user_code",
        "aadhar",
        "recipient_name",
        "account",
    ];
    for key in keys {
        assert!(ok["data"].get(key).is_some(), "{key} in {ok}");
    }
    assert_eq!((&ok["data"]["fee"], &ok["data"]["bank"]), (&json!("7.00"), &json!("Kotak Mahindra Bank")), "{ok}");
    assert_eq!(available(&app).await, before - 700);
    let again = call(&eko, Http::POST, "/banks/ifsc:KKBK0000261/accounts/1711654121", &form).await;
    assert_ne!(again["data"]["tid"], ok["data"]["tid"], "without a client_ref_id each request is its own verification");

    let by_code = call(&eko, Http::POST, "/banks/bank_code:SBIN/accounts/123456789012", &form).await;
    assert_eq!(by_code["data"]["bank"], "State Bank of India", "{by_code}");
    let v1 = call(&sandbox(&app, V1), Http::POST, "/banks/bankcode:SBIN/accounts/123456789012", &form).await;
    assert_eq!(v1["response_type_id"], 61, "{v1}");
    let spent = available(&app).await;

    let closed = call(&eko, Http::POST, "/banks/ifsc:SBIN0001234/accounts/123456781111", &form).await;
    assert_eq!((&closed["status"], &closed["response_type_id"]), (&json!(1), &json!(1796)), "{closed}");
    let down = call(&eko, Http::POST, "/banks/ifsc:SBIN0001234/accounts/123456785555", &form).await;
    assert_eq!(down["status"], 544, "{down}");
    assert_eq!(available(&app).await, spent, "closed accounts and a bank that is down refund the fee");
    let unknown = call(&eko, Http::POST, "/banks/ifsc:SBIN0001234/accounts/123456786666", &form).await;
    assert_eq!((&unknown["data"]["recipient_name"], &unknown["response_type_id"]), (&json!("Unknown"), &json!(61)), "{unknown}");
    assert_eq!(unknown["message"], "The bank did not share the recipient name this time.");
    app.stop().await;
}

/// Every kind served at a v3 path, with valid input, answers its `response_type_id`
/// and charges its price (free utilities nothing) exactly once.
async fn every_kind_verifies_at_its_v3_path(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    for (i, kind) in KINDS.iter().enumerate() {
        let Route::V3(method, path) = kind.route else { continue };
        if kind.id.starts_with("aadhaar_") || kind.id == "mobile_otp_verify" {
            continue; // flows: the_aadhaar_flow_in_order_and_out_of_order and below
        }
        let value = |name: &str| if name == "client_ref_id" { Some(format!("EVERY-{i}")) } else { example(kind.id, name) };
        let fields: Vec<(&str, String)> = kind.fields.iter().filter_map(|f| value(f.name).map(|v| (f.name, v))).collect();
        let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let http = match method {
            Method::Get => Http::GET,
            Method::Post => Http::POST,
            Method::Put => Http::PUT,
        };
        let before = available(&app).await;
        let answer = call(&eko, http, path, &form).await;
        assert_eq!(
            (&answer["status"], &answer["response_type_id"]),
            (&json!(0), &json!(kind.response_type_id)),
            "{}: {answer}",
            kind.id
        );
        let units = if kind.id.ends_with("_bulk") { 2 } else { 1 };
        assert_eq!(before - available(&app).await, Fee::of(kind, units).fee_paise, "{}: fee", kind.id);
        assert!(answer["data"]["tid"].as_str().is_some_and(|t| t.starts_with('5')), "{}: {answer}", kind.id);
    }

    let otp = call(&eko, Http::POST, "/tools/kyc/mobile/otp", &[("mobile", "9876543210")]).await;
    let (otp_ref_id, code) = (otp["data"]["otp_ref_id"].as_str().unwrap(), otp["data"]["otp"].as_str().unwrap());
    let wrong = call(
        &eko,
        Http::PUT,
        "/tools/kyc/mobile/otp/verify",
        &[("mobile", "9876543210"), ("otp", "000000"), ("otp_ref_id", otp_ref_id)],
    )
    .await;
    assert_eq!(invalid_names(&wrong), ["otp"], "{wrong}");
    let verified = call(
        &eko,
        Http::PUT,
        "/tools/kyc/mobile/otp/verify",
        &[("mobile", "9876543210"), ("otp", code), ("otp_ref_id", otp_ref_id)],
    )
    .await;
    assert_eq!(verified["response_type_id"], 1604, "{verified}");
    assert_eq!(verified["data"]["otp_verification_token"].as_str().unwrap().split('.').count(), 3, "a JWT: {verified}");

    let names = call(&eko, Http::POST, "/tools/kyc/name-match", &[("name_1", "John Doe"), ("name_2", "DOE JOHN")]).await;
    assert_eq!(names["data"]["score"], 100, "{names}");
    let gst = call(&eko, Http::POST, "/tools/kyc/gstin-with-pan", &[("pan", "AAPFU0939F")]).await;
    let listed = gst["data"]["gstin_list"][0]["gstin"].as_str().unwrap();
    assert_eq!(&listed[2..12], "AAPFU0939F", "a GSTIN of a PAN contains the PAN: {gst}");
    assert!(kosh_core::verification::ids::gstin(listed).is_ok(), "{listed} has a valid check character");
    app.stop().await;
}

/// Eight concurrent requests under one client_ref_id: one verification, one fee; the
/// same client_ref_id for another request is refused; inquiry finds it.
async fn the_same_client_ref_id_is_charged_once_even_concurrently(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let before = available(&app).await;
    let form = [("pan_number", "ABCPV1234K"), ("purpose", "1"), ("purpose_desc", "onboarding"), ("client_ref_id", "KYC-DUP-1")];
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let eko = eko.clone();
        calls.spawn(async move { call(&eko, Http::POST, "/tools/kyc/pan-basic", &form).await });
    }
    let answers = calls.join_all().await;
    let tids: std::collections::BTreeSet<String> =
        answers.iter().map(|a| a["data"]["tid"].as_str().unwrap().to_owned()).collect();
    assert_eq!(tids.len(), 1, "{answers:?}");
    assert_eq!(available(&app).await, before - 250, "one fee");
    let other = [("pan_number", "ABCPV4321K"), ("purpose", "1"), ("purpose_desc", "onboarding"), ("client_ref_id", "KYC-DUP-1")];
    let reused = call(&eko, Http::POST, "/tools/kyc/pan-basic", &other).await;
    assert_eq!(reused["message"], "Duplicate client_ref_id", "{reused}");
    assert_eq!(available(&app).await, before - 250);

    let partner = verify_support::partner_id(&app).await;
    for reference in [tids.first().unwrap().as_str(), "client_ref_id:KYC-DUP-1", "KYC-DUP-1"] {
        let found = kosh_server::eko::verification::inquiry_reply(&app.state, partner, reference).await.unwrap().expect("found");
        assert_eq!((found.response_type_id, &found.data["kind"]), (1472, &json!("pan_basic")), "{reference}");
    }
    assert!(kosh_server::eko::verification::inquiry_reply(&app.state, partner, "NOPE").await.unwrap().is_none());
    app.stop().await;
}

/// consent → OTP (read from the sandbox) → XML; steps out of order, another Aadhaar
/// number, a wrong OTP: refused with invalid_params, no fee.
async fn the_aadhaar_flow_in_order_and_out_of_order(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let aadhaar = kosh_core::aadhaar::with_check_digit("23456789012").unwrap();
    let number = aadhaar.digits();
    let ip = ("realsourceip", "203.0.113.7");
    let before = available(&app).await;

    let early = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/otp",
        &[("aadhar", number), ("is_consent", "Y"), ("access_key", "nosuchkey0123"), ("caseId", "c1"), ip],
    )
    .await;
    assert_eq!(invalid_names(&early), ["access_key"], "{early}");

    let consent = call(&eko, Http::GET, "/tools/kyc/aadhaar/consent", &[("is_consent", "Y"), ("consent_text", number), ip]).await;
    assert_eq!(consent["response_type_id"], 1617, "{consent}");
    let consent_key = consent["data"]["access_key"].as_str().unwrap().to_owned();
    assert!(!consent.to_string().contains(number), "the number is answered masked: {consent}");

    let xml_too_early = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/xml-download",
        &[("aadhar", number), ("is_consent", "Y"), ("otp", "123456"), ("access_key", &consent_key)],
    )
    .await;
    assert_eq!(invalid_names(&xml_too_early), ["access_key"], "{xml_too_early}");
    let other = kosh_core::aadhaar::with_check_digit("34567890123").unwrap();
    let wrong_number = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/otp",
        &[("aadhar", other.digits()), ("is_consent", "Y"), ("access_key", &consent_key), ("caseId", "c1"), ip],
    )
    .await;
    assert_eq!(invalid_names(&wrong_number), ["access_key"], "{wrong_number}");

    let sent = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/otp",
        &[("aadhar", number), ("is_consent", "Y"), ("access_key", &consent_key), ("caseId", "c1"), ip],
    )
    .await;
    assert_eq!(sent["response_type_id"], 1619, "{sent}");
    let otp_key = sent["data"]["access_key"].as_str().unwrap().to_owned();
    let hint = sent["hint"].as_str().unwrap();
    let mobile = hint.split("mobile=").nth(1).unwrap().split('&').next().unwrap();
    let otp = verify_support::call(
        &eko_support::root(&app),
        Http::GET,
        "/sandbox/otp",
        &[("mobile", mobile), ("purpose", "aadhaar_kyc")],
    )
    .await;
    let code = otp["data"]["otp"].as_str().unwrap().to_owned();

    let wrong = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/xml-download",
        &[("aadhar", number), ("is_consent", "Y"), ("otp", "000000"), ("access_key", &otp_key)],
    )
    .await;
    assert_eq!(invalid_names(&wrong), ["otp"], "{wrong}");
    assert_eq!(available(&app).await, before, "consent and OTP are free; refusals cost nothing");

    let xml = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/xml-download",
        &[("aadhar", number), ("is_consent", "Y"), ("otp", &code), ("share_code", "1234"), ("access_key", &otp_key)],
    )
    .await;
    assert_eq!((&xml["status"], &xml["response_type_id"]), (&json!(0), &json!(1621)), "{xml}");
    assert!(xml["data"]["name"].is_string(), "{xml}");
    assert_eq!(available(&app).await, before - 500);
    let reused = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/xml-download",
        &[("aadhar", number), ("is_consent", "Y"), ("otp", &code), ("access_key", &otp_key)],
    )
    .await;
    assert_eq!(invalid_names(&reused), ["otp"], "the OTP is single-use: {reused}");

    let v2 =
        call(&sandbox(&app, V2), Http::GET, "/tools/kyc/aadhaar/consent", &[("is_consent", "Y"), ("consent_text", number), ip])
            .await;
    assert_eq!(v2["response_type_id"], 1617, "the consent flow is served under v1/v2 too: {v2}");
    let unlinked = kosh_core::aadhaar::with_check_digit("99991234567").unwrap();
    let c2 = call(&eko, Http::GET, "/tools/kyc/aadhaar/consent", &[("is_consent", "Y"), ("consent_text", unlinked.digits()), ip])
        .await;
    let key2 = c2["data"]["access_key"].as_str().unwrap();
    let no_mobile = call(
        &eko,
        Http::POST,
        "/tools/kyc/aadhaar/otp",
        &[("aadhar", unlinked.digits()), ("is_consent", "Y"), ("access_key", key2), ("caseId", "c2"), ip],
    )
    .await;
    assert_eq!((&no_mobile["status"], &no_mobile["response_type_id"]), (&json!(1), &json!(1620)), "{no_mobile}");
    app.stop().await;
}

/// Bulk PAN: submit → status shows entries as the clock reaches them → completed;
/// DigiLocker: pending until the journey's time has passed, then the document.
async fn bulk_and_digilocker_progress_on_the_clock(backend: Backend) {
    let (app, clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let before = available(&app).await;
    let entries = json!([{ "pan": "ABCPV1234K", "name": "Asha Verma" }, { "pan": "ABCPV1111K", "name": "Asha Verma" }, { "pan": "ABCPV0000K" }]);
    let submitted = post_json(&eko, "/tools/kyc/pan/bulk", json!({ "client_ref_id": "BULK-1", "entries": entries })).await;
    assert_eq!(submitted["status"], 0, "{submitted}");
    assert_eq!(available(&app).await, before - 600, "one entry, three PANs at ₹2.00");
    let reference = submitted["data"]["reference_id"].to_string();
    let query = [("reference_id", reference.as_str())];
    let poll = || call(&eko, Http::GET, "/tools/kyc/pan/bulk/status", &query);
    let none = poll().await;
    assert_eq!((&none["data"]["count"], &none["data"]["status"]), (&json!(0), &json!("IN_PROGRESS")), "{none}");
    clock.advance_ms(10_000);
    assert_eq!(poll().await["data"]["count"], 1);
    clock.advance_ms(20_000);
    let done = poll().await;
    assert_eq!((&done["data"]["count"], &done["data"]["status"]), (&json!(3), &json!("COMPLETED")), "{done}");
    let results: Vec<&str> =
        done["data"]["entries"].as_array().unwrap().iter().map(|e| e["name_match_result"].as_str().unwrap()).collect();
    assert_eq!(results, ["Match", "No match", ""]);
    assert_eq!(done["data"]["entries"][2]["valid"], "false");
    let by_ref = call(&eko, Http::GET, "/tools/kyc/pan/bulk/status", &[("client_ref_id", "BULK-1")]).await;
    assert_eq!(by_ref["data"]["count"], 3);
    let missing = call(&eko, Http::GET, "/tools/kyc/bank-account/bulk/status", &[("bulk_reference_id", &reference)]).await;
    assert_eq!(missing["response_type_id"], 1796, "a PAN bulk is no bank bulk: {missing}");

    let link = post_json(
        &eko,
        "/tools/kyc/digilocker",
        json!({ "client_ref_id": "DL-1", "document_requested": ["AADHAAR"], "redirect_url": "https://partner.example/back" }),
    )
    .await;
    let reference = link["data"]["reference_id"].to_string();
    assert_eq!(link["data"]["redirect_url"], format!("https://partner.example/back?verification_id={reference}"), "{link}");
    let status = call(&eko, Http::GET, "/tools/kyc/digilocker/status", &[("reference_id", &reference)]).await;
    assert_eq!(status["data"]["status"], "PENDING", "{status}");
    let early = eko.get("/tools/kyc/digilocker/document/AADHAAR", &[("reference_id", &reference)]).await.unwrap().body;
    assert_eq!(early["response_type_id"], 1629, "{early}");
    clock.advance_ms(10_000);
    let status = call(&eko, Http::GET, "/tools/kyc/digilocker/status", &[("reference_id", &reference)]).await;
    assert_eq!(
        (&status["data"]["status"], &status["data"]["document_consent"]),
        (&json!("AUTHENTICATED"), &json!(["Y"])),
        "{status}"
    );
    let doc = call(&eko, Http::GET, "/tools/kyc/digilocker/document/AADHAAR", &[("reference_id", &reference)]).await;
    assert_eq!(doc["response_type_id"], 1630, "{doc}");
    assert!(doc["data"]["uid"].as_str().unwrap().starts_with("XXXXXXXX"), "stored masked: {doc}");
    app.stop().await;
}

/// Malformed identifiers of every kind, an oversized bulk request, a face-match image
/// that is not an image: invalid_params naming the field, and no fee.
async fn bad_input_is_refused_with_invalid_params_and_no_fee(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let before = available(&app).await;
    let too_many = format!("[{}]", vec![r#"{"pan":"ABCPV1234K"}"#; 101].join(","));
    let gif = "R0lGODlhAQABAAAAACw=";
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        ("/tools/kyc/pan-basic", vec![("pan_number", "ABCP1234K"), ("purpose", "1"), ("purpose_desc", "x")], "pan_number"),
        ("/tools/kyc/ifsc", vec![("client_ref_id", "B1"), ("ifsc", "SBIN1001234")], "ifsc"),
        (
            "/tools/kyc/bank-account/penny-drop",
            vec![
                ("customer_id", "9876543210"),
                ("user_code", AGENT),
                ("id_type", "ifsc"),
                ("id", "SBIN0001234"),
                ("acc_num", "12ab"),
            ],
            "acc_num",
        ),
        (
            "/tools/kyc/aadhaar/otp",
            vec![
                ("aadhar", "234567890120"),
                ("is_consent", "Y"),
                ("access_key", "abcdefgh1234"),
                ("caseId", "c"),
                ("realsourceip", "1.2.3.4"),
            ],
            "aadhar",
        ),
        ("/tools/kyc/gstin", vec![("client_ref_id", "B2"), ("GSTIN", "27AAPFU0939F1ZW"), ("business_name", "Uber")], "GSTIN"),
        ("/tools/kyc/vehicle-rc", vec![("vehicle_number", "DL01AB12345")], "vehicle_number"),
        ("/tools/kyc/driving-license", vec![("dl_number", "DL04201100123"), ("dob", "1990-01-01")], "dl_number"),
        ("/tools/kyc/passport", vec![("file_number", "123456789"), ("dob", "1990-01-01")], "file_number"),
        ("/tools/kyc/voter-id", vec![("epic_number", "AB12345678")], "epic_number"),
        ("/tools/kyc/cin", vec![("cin", "U12345DL1999PTC01234")], "cin"),
        ("/tools/kyc/pan/bulk", vec![("entries", too_many.as_str())], "entries"),
        ("/tools/kyc/face-match", vec![("image_1", gif), ("image_2", gif)], "image_1"),
        (
            "/tools/kyc/aadhaar/consent",
            vec![("is_consent", "N"), ("consent_text", "234567890124"), ("realsourceip", "1.2.3.4")],
            "is_consent",
        ),
    ];
    for (path, form, field) in cases {
        let method = if path.ends_with("consent") { Http::GET } else { Http::POST };
        let answer = call(&eko, method, path, &form).await;
        assert!(invalid_names(&answer).contains(&field.to_owned()), "{path}: {answer}");
        assert_eq!((&answer["response_status_id"], &answer["response_type_id"]), (&json!(1), &json!(-1)), "{path}: {answer}");
    }
    let missing = call(&eko, Http::POST, "/tools/kyc/gstin", &[]).await;
    assert_eq!(
        (&missing["status"], invalid_names(&missing)),
        (&json!(97), vec!["GSTIN".to_owned(), "business_name".into(), "client_ref_id".into()]),
        "{missing}"
    );
    assert_eq!(available(&app).await, before, "no refusal costs anything");
    app.stop().await;
}

/// A PAN kind named for an agent without service 4 answers "Agent not allowed"; no fee.
async fn pan_needs_service_4_for_an_agent(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let user_code = onboard(&sandbox(&app, V2), "ABCPV7777K", "9876500071").await;
    let eko = sandbox(&app, V3);
    let before = available(&app).await;
    let form = [("pan_number", "ABCPV1234K"), ("purpose", "1"), ("purpose_desc", "onboarding"), ("user_code", &user_code)];
    let refused = call(&eko, Http::POST, "/tools/kyc/pan-basic", &form).await;
    assert_eq!((&refused["status"], &refused["message"]), (&json!(346), &json!("Agent not allowed")), "{refused}");
    assert_eq!(available(&app).await, before);
    app.stop().await;
}

/// The store keeps the subject masked and hashed and the answer's identifiers masked;
/// once the retention passes the worker empties the answer.
async fn answers_are_stored_masked_and_purged_after_the_retention(backend: Backend) {
    let (app, clock) = start(backend, |c| {
        c.verification_retention_days = 1;
        c.verification_worker_tick_ms = 20;
    })
    .await;
    let eko = sandbox(&app, V3);
    let form = [("pan", "ABCPV1234K"), ("name", "Asha Verma"), ("dob", "1990-04-15"), ("client_ref_id", "KEEP-1")];
    let answer = call(&eko, Http::POST, "/tools/kyc/pan-advanced", &form).await;
    assert_eq!(answer["data"]["pan"], "ABCPV1234K", "the live answer is in clear: {answer}");
    let partner = verify_support::partner_id(&app).await;
    let stored = app.state.store.verification_by_client_ref(partner, "KEEP-1").await.unwrap().unwrap();
    assert_eq!(stored.subject_masked, "XXXXXX234K");
    assert!(!stored.result_json.contains("ABCPV1234K") && !stored.result_json.contains("1990-04-15"), "{}", stored.result_json);
    assert!(stored.result_json.contains("Asha Verma"), "names stay readable: {}", stored.result_json);
    let replay = call(&eko, Http::POST, "/tools/kyc/pan-advanced", &form).await;
    assert_eq!(replay["data"]["pan"], "XXXXXX234K", "a replay answers the stored copy: {replay}");

    clock.advance_ms(2 * 86_400_000);
    let purged = wait_for("the purge", || async {
        let v = app.state.store.verification_by_client_ref(partner, "KEEP-1").await.unwrap().unwrap();
        v.purged.then_some(v)
    })
    .await;
    assert_eq!(purged.result_json, "{}");
    let inquiry = kosh_server::eko::verification::inquiry_reply(&app.state, partner, "KEEP-1").await.unwrap().unwrap();
    assert_eq!((&inquiry.data["purged"], &inquiry.data["result"]), (&json!(true), &json!(null)));
    app.stop().await;
}

/// A verification recorded but never answered (its request died) is refunded by the
/// worker once `rail_recovery_secs` passed.
async fn a_verification_left_unanswered_is_refunded_by_the_worker(backend: Backend) {
    use kosh_store::commands::verification::{RecordVerification, Step, VerificationOutcome};
    let (app, clock) = start(backend, |c| c.verification_worker_tick_ms = 20).await;
    let partner = verify_support::partner_id(&app).await;
    let before = available(&app).await;
    let kind = kosh_core::verification::kind_by_id("pan_basic").unwrap();
    let record = RecordVerification {
        partner_id: partner,
        kind: kind.id.into(),
        client_ref_id: Some("CRASH-1".into()),
        user_code: None,
        fee: Fee::of(kind, 1),
        subject_masked: "XXXXXX234K".into(),
        subject_hash: "h".into(),
        request_digest: "d".into(),
        step: Step::Plain,
        purge_at_ms: clock.now_ms() + 86_400_000,
    };
    let VerificationOutcome::Recorded(v) = app.state.store.execute(record).await.unwrap() else { panic!("recorded") };
    assert_eq!(available(&app).await, before - 250, "the fee is reserved");
    clock.advance_ms(31_000);
    let refunded = wait_for("the refund", || async {
        let now = app.state.store.verification(partner, v.tid).await.unwrap().unwrap();
        (now.state == kosh_store::ops::verifications::State::Failed).then_some(now)
    })
    .await;
    assert!(refunded.message.contains("refunded"), "{}", refunded.message);
    assert_eq!(available(&app).await, before);
    app.stop().await;
}

/// The sandbox's "not found" magic value of each document kind: a negative answer with
/// the kind's rt; the check ran, so its fee is kept.
async fn documents_that_do_not_exist_are_negative_answers_that_keep_the_fee(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let first = "27AAPFU0000F1Z";
    let gstin = format!("{first}{}", kosh_core::verification::ids::gstin_check_char(first).unwrap());
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("vehicle_rc", vec![("vehicle_number", "DL01AB0000")]),
        ("driving_license", vec![("dl_number", "DL0420110000000"), ("dob", "1990-01-01")]),
        ("voter_id", vec![("epic_number", "ABC1230000")]),
        ("passport", vec![("file_number", "DL1061234560000"), ("dob", "1990-01-01")]),
        ("cin", vec![("cin", "U12345DL1999PTC000000")]),
        ("gstin", vec![("client_ref_id", "NEG-GST"), ("GSTIN", gstin.as_str()), ("business_name", "Nobody")]),
        ("gstin_with_pan", vec![("pan", "AAPFU0000F")]),
        ("ifsc", vec![("client_ref_id", "NEG-IFSC"), ("ifsc", "ZZZZ0001234")]),
        ("pan_lite", vec![("pan", "ABCPV0000K"), ("name", "Asha Verma"), ("dob", "1990-04-15")]),
    ];
    for (id, form) in cases {
        let kind = kosh_core::verification::kind_by_id(id).unwrap();
        let Route::V3(_, path) = kind.route else { unreachable!("v3 kinds") };
        let before = available(&app).await;
        let answer = call(&eko, Http::POST, path, &form).await;
        assert_eq!(
            (&answer["status"], &answer["response_type_id"]),
            (&json!(1), &json!(kind.negative_type_id)),
            "{id}: {answer}"
        );
        assert_eq!(before - available(&app).await, kind.price_paise, "{id}: the fee is kept");
    }
    app.stop().await;
}

/// A partner whose wallet cannot pay the fee gets 347 and nothing is recorded; a free
/// utility still answers.
async fn a_wallet_that_cannot_pay_is_refused_and_nothing_is_recorded(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let credentials = kosh_sdk::eko::Credentials {
        developer_key: "verify-empty-wallet-key".into(),
        access_key: "verify-empty-wallet-access".into(),
        initiator_id: "9000000001".into(),
    };
    let partner = eko_support::create_partner(&app, "empty wallet", &credentials).await;
    let eko = kosh_sdk::eko::Client::new(format!("{}{V3}", app.url()), credentials);
    let form = [("pan_number", "ABCPV1234K"), ("purpose", "1"), ("purpose_desc", "onboarding"), ("client_ref_id", "POOR-1")];
    let refused = call(&eko, Http::POST, "/tools/kyc/pan-basic", &form).await;
    assert_eq!(refused["status"], 347, "{refused}");
    assert!(app.state.store.verification_by_client_ref(partner.id.get(), "POOR-1").await.unwrap().is_none());
    let free = call(&eko, Http::POST, "/tools/kyc/name-match", &[("name_1", "Asha Verma"), ("name_2", "Asha Verma")]).await;
    assert_eq!(free["status"], 0, "{free}");
    app.stop().await;
}

/// The verification settings are checked at start.
#[test]
fn verification_settings_are_checked() {
    use kosh_server::config::Config;
    for bad in [
        Config { verification_retention_days: 0, ..Config::default() },
        Config { verification_retention_days: 3_651, ..Config::default() },
        Config { verification_async_step_secs: 3_601, ..Config::default() },
        Config { verification_worker_tick_ms: 60_001, ..Config::default() },
    ] {
        assert!(bad.validate().is_err());
    }
    assert!(Config::default().validate().is_ok());
}

use kosh_core::clock::Clock as _;
