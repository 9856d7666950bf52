//! The v3 money-transfer families (DMT-Fino, DMT-Levin, DMT-Airtel, PPI-DigiKhata,
//! PPI-Levin), refunds and banks, through the real server on both backends with signed
//! JSON requests: each family's whole flow, its limits, the transaction OTP's rules, bad
//! input, and v1 and v3 seeing each other's transfers.

mod eko_support;
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::{available, sandbox_partner, wait_for, AGENT};
use eko_support::{invalid_names, sandbox, Backend};
use kosh_core::aadhaar::with_check_digit;
use kosh_core::aeps::simulated_pid;
use kosh_core::dmt::TxStatus;
use kosh_core::dmt_family::FamilyId;
use kosh_core::ids::Tid;
use kosh_core::pricing::Pricing;
use kosh_sdk::eko::Client;
use kosh_server::eko::dmt::transfers::inquiry_reply;
use kosh_server::App;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    every_family_onboards_verifies_sends_fails_and_refunds,
    each_family_has_its_own_monthly_limit,
    the_transaction_otp_is_bound_to_the_amount_single_use_and_expiring,
    verification_steps_go_in_order,
    bad_input_answers_invalid_params_and_changes_nothing,
    v1_and_v3_see_each_others_transfers,
    the_same_client_ref_id_answers_the_same_transfer,
    banks_and_ifsc_under_v3,
    the_vendor_python_sdk_drives_fino_levin_and_a_refund,
    saved_transactions_are_committed_cancelled_and_scheduled_on_the_clock,
    a_scheduled_transaction_waits_for_funds_and_commits_when_they_come,
);

const V3: &str = "/ekoapi/v3";

/// A v3 JSON request with the sandbox initiator; the HTTP status must be 200.
async fn v3(eko: &Client, method: Method, path: &str, body: Value) -> Value {
    let mut body = body;
    body["initiator_id"] = json!(eko.credentials().initiator_id);
    let answer = eko.send_json(method, path, &body, None).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

async fn v3_get(eko: &Client, path: &str, query: &[(&str, &str)]) -> Value {
    let answer = eko.get(path, query).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

fn rt(body: &Value) -> (&Value, &Value) {
    (&body["status"], &body["response_type_id"])
}

fn aadhaar() -> String {
    with_check_digit("23456789012").expect("an Aadhaar").digits().to_owned()
}

fn sender(mobile: &str) -> Value {
    json!({ "user_code": AGENT, "customer_id": mobile, "name": "Asha Verma", "dob": "1990-04-15",
            "residence_address": {"line": "12 MG Road", "city": "Gurgaon", "state": "Haryana", "pincode": "122002"} })
}

async fn otp(app: &App, mobile: &str, purpose: &str) -> String {
    dmt_support::sandbox_otp(app, mobile, purpose).await
}

/// Onboards `mobile` for `slug` and takes every verification step the family asks for.
async fn verified_sender(app: &App, eko: &Client, slug: &str, mobile: &str) {
    let account = format!("/customer/account/{mobile}/{slug}");
    let done = match slug {
        "dmt-fino" => {
            let opened = v3(eko, Method::POST, &account, sender(mobile)).await;
            assert_eq!(rt(&opened), (&json!(0), &json!(300)), "{opened}");
            let ekyc = v3(
                eko,
                Method::POST,
                &format!("{account}/ekyc"),
                json!({ "user_code": AGENT, "aadhar": aadhaar(), "piddata": simulated_pid(1) }),
            )
            .await;
            assert_eq!(rt(&ekyc), (&json!(0), &json!(2129)), "{ekyc}");
            let (otp_ref_id, kyc_request_id) = (ekyc["data"]["otp_ref_id"].clone(), ekyc["data"]["kyc_request_id"].clone());
            let code = otp(app, mobile, "dmt_kyc:dmt-fino:ekyc_otp").await;
            let body = json!({ "user_code": AGENT, "otp": code, "otp_ref_id": otp_ref_id, "kyc_request_id": kyc_request_id });
            v3(eko, Method::PUT, &format!("{account}/otp/verify"), body).await
        }
        "dmt-levin" | "dmt-airtel" => {
            let opened = v3(eko, Method::POST, &account, sender(mobile)).await;
            assert_eq!(rt(&opened), (&json!(0), &json!(300)), "{opened}");
            let sent =
                v3(eko, Method::POST, &format!("{account}/aadhaar"), json!({ "user_code": AGENT, "aadhar": aadhaar() })).await;
            assert_eq!(rt(&sent), (&json!(0), &json!(2129)), "{sent}");
            let code = otp(app, mobile, &format!("dmt_kyc:{slug}:aadhaar_otp")).await;
            let body = json!({ "user_code": AGENT, "otp": code, "otp_ref_id": sent["data"]["otp_ref_id"], "intent_id": "20" });
            let verified = v3(eko, Method::POST, &format!("{account}/otp/verify"), body).await;
            assert_eq!(rt(&verified), (&json!(0), &json!(2134)), "{verified}");
            let body = json!({ "user_code": AGENT, "aadhar": aadhaar(), "piddata": simulated_pid(2), "otp_ref_id": "1" });
            v3(eko, Method::PUT, &format!("{account}/ekyc"), body).await
        }
        "ppi" | "ppi-levin" => ppi_verified(app, eko, slug, mobile).await,
        other => panic!("no flow for {other}"),
    };
    assert_eq!(rt(&done), (&json!(0), &json!(2132)), "{slug}: {done}");
    let profile = match slug {
        "ppi" => v3_get(eko, &format!("/customer/profile/{mobile}"), &[("user_code", AGENT), ("service_code", "80")]).await,
        "ppi-levin" => {
            v3_get(eko, &format!("/customer/payment/{slug}/sender/{mobile}/recipients"), &[("user_code", AGENT)]).await
        }
        _ => v3_get(eko, &format!("/customer/profile/{mobile}/{slug}"), &[("user_code", AGENT)]).await,
    };
    assert_eq!(profile["status"], 0, "{slug}: {profile}");
}

/// PPI: onboard with a mobile OTP (intent 19), then the Aadhaar OTP (intent 20), then the PAN.
async fn ppi_verified(app: &App, eko: &Client, slug: &str, mobile: &str) -> Value {
    let account = format!("/customer/account/{mobile}/{slug}");
    let started = if slug == "ppi" {
        let mut body = sender(mobile);
        body["service_code"] = json!("80");
        v3(eko, Method::POST, "/customer/account", body).await
    } else {
        let enrolled = v3(eko, Method::POST, "/customer/account", sender(mobile)).await;
        assert_eq!(rt(&enrolled), (&json!(0), &json!(327)), "{enrolled}");
        v3(eko, Method::POST, &format!("/customer/profile/{mobile}/ppi-levin/otp"), json!({ "user_code": AGENT })).await
    };
    assert_eq!(rt(&started), (&json!(0), &json!(2129)), "{started}");
    assert_eq!(started["data"]["intent_id"], 19, "{started}");
    let code = otp(app, mobile, "dmt_customer").await;
    let body = json!({ "user_code": AGENT, "otp": code, "otp_ref_id": started["data"]["otp_ref_id"], "intent_id": "19", "service_code": "80" });
    let mobile_ok = v3(eko, Method::POST, &format!("{account}/otp/verify"), body).await;
    assert_eq!(rt(&mobile_ok), (&json!(0), &json!(2136)), "{mobile_ok}");
    let sent = v3(eko, Method::POST, &format!("{account}/aadhaar"), json!({ "user_code": AGENT, "aadhar": aadhaar() })).await;
    assert_eq!((&sent["response_type_id"], &sent["data"]["intent_id"]), (&json!(2129), &json!(20)), "{sent}");
    let code = otp(app, mobile, &format!("dmt_kyc:{slug}:aadhaar_otp")).await;
    let body = json!({ "user_code": AGENT, "otp": code, "otp_ref_id": sent["data"]["otp_ref_id"], "intent_id": "20" });
    let aadhaar_ok = v3(eko, Method::POST, &format!("{account}/otp/verify"), body).await;
    assert_eq!(rt(&aadhaar_ok), (&json!(0), &json!(2147)), "{aadhaar_ok}");
    v3(eko, Method::POST, &format!("{account}/pan"), json!({ "user_code": AGENT, "pan_number": "ABCPV1234K" })).await
}

/// Adds a recipient (and registers it with the bank where the family needs it); its id.
async fn recipient(eko: &Client, slug: &str, mobile: &str, account: &str) -> String {
    let body = json!({ "user_code": AGENT, "recipient_name": "Ravi Kumar", "recipient_mobile": "9876543210",
                       "account": account, "ifsc": "SBIN0001234", "recipient_type": "3", "bank_id": "108" });
    let added = v3(eko, Method::POST, &format!("/customer/payment/{slug}/sender/{mobile}/recipient"), body).await;
    assert_eq!(rt(&added), (&json!(0), &json!(43)), "{added}");
    let id = added["data"]["recipient_id"].as_i64().expect("recipient_id").to_string();
    let register = match slug {
        "ppi" => Some(format!("/customer/payment/ppi/sender/{mobile}/bank/recipient")),
        "ppi-levin" => Some(format!("/customer/payment/ppi-levin/sender/{mobile}/recipient/bank")),
        _ => None,
    };
    if let Some(path) = register {
        let registered = v3(eko, Method::POST, &path, json!({ "user_code": AGENT, "recipient_id": id })).await;
        assert_eq!(
            (&registered["response_type_id"], &registered["data"]["beneficiary_id"]),
            (&json!(1741), &json!(id)),
            "{registered}"
        );
    }
    id
}

/// Asks for the transaction OTP for `amount` and sends it; the transfer's answer.
async fn send(app: &App, eko: &Client, slug: &str, mobile: &str, rid: &str, amount: &str, client_ref_id: &str) -> Value {
    let asked = v3(
        eko,
        Method::POST,
        &format!("/customer/payment/{slug}/otp"),
        json!({ "user_code": AGENT, "customer_id": mobile, "recipient_id": rid, "amount": amount, "beneficiary_id": rid }),
    )
    .await;
    assert_eq!(rt(&asked), (&json!(0), &json!(2133)), "{asked}");
    let paise = kosh_core::money::Paise::parse_rupees(amount).expect("an amount").get();
    let code = otp(app, mobile, &format!("dmt_txn:{slug}:{paise}")).await;
    v3(
        eko,
        Method::POST,
        &format!("/customer/payment/{slug}"),
        transfer_body(mobile, rid, amount, client_ref_id, &code, &asked["data"]["otp_ref_id"]),
    )
    .await
}

fn transfer_body(mobile: &str, rid: &str, amount: &str, client_ref_id: &str, code: &str, otp_ref_id: &Value) -> Value {
    json!({ "user_code": AGENT, "customer_id": mobile, "recipient_id": rid, "beneficiary_id": rid, "amount": amount,
            "client_ref_id": client_ref_id, "otp": code, "otp_ref_id": otp_ref_id, "timestamp": "2026-12-04T10:00:00.000Z",
            "currency": "INR", "channel": 2, "state": 1, "latlong": "28.4595,77.0266", "recipient_id_type": "1" })
}

fn tid(body: &Value) -> i64 {
    body["data"]["tid"].as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("a tid: {body}"))
}

/// Every family, end to end: onboard → verify → recipient → OTP → transfer (settled,
/// wallet debited by the family's price to the paisa) → a transfer that fails after
/// initiation → pending refunds → refund OTP → refund (wallet credited back).
async fn every_family_onboards_verifies_sends_fails_and_refunds(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let partner_id = sandbox_partner(&app).await;
    for (i, family) in kosh_core::dmt_family::FAMILIES.iter().enumerate() {
        let slug = family.slug;
        let mobile = format!("91234500{i:02}");
        verified_sender(&app, &eko, slug, &mobile).await;
        let rid = recipient(&eko, slug, &mobile, &format!("1234567{i:02}012")).await;
        let list = v3_get(&eko, &format!("/customer/payment/{slug}/sender/{mobile}/recipients"), &[("user_code", AGENT)]).await;
        assert_eq!(
            (&list["response_type_id"], &list["data"]["recipient_list"][0]["recipient_id"]),
            (&json!(23), &json!(rid.parse::<i64>().unwrap())),
            "{list}"
        );

        let before = available(&app, partner_id).await;
        let sent = send(&app, &eko, slug, &mobile, &rid, "110", &format!("V3-OK-{slug}")).await;
        assert_eq!(
            (&sent["status"], &sent["response_type_id"], &sent["data"]["tx_status"]),
            (&json!(0), &json!(325), &json!("0")),
            "{slug}: {sent}"
        );
        assert_eq!(sent["data"]["pipe"], json!(family.pipe), "{sent}");
        let charges = family.pricing(&Pricing::default()).charges(kosh_core::money::Paise::new(11_000).unwrap());
        assert_eq!(
            available(&app, partner_id).await,
            before - charges.debit_paise().unwrap().get(),
            "{slug}: the debit, to the paisa"
        );
        assert_eq!(sent["data"]["fee"], charges.fee_paise.to_java_double_string(), "{slug}");

        let late_rid = recipient(&eko, slug, &mobile, &format!("77000{i:02}4444")).await;
        let before = available(&app, partner_id).await;
        let failing = send(&app, &eko, slug, &mobile, &late_rid, "1000", &format!("V3-LATE-{slug}")).await;
        assert_eq!(failing["data"]["tx_status"], "2", "{failing}");
        let late_tid = tid(&failing);
        clock.advance_ms(31_000);
        wait_for(&app, partner_id, Tid::new(late_tid), |t| t.tx_status == TxStatus::RefundPending).await;
        let pending = v3_get(&eko, "/customer/payment/refunds", &[("user_code", AGENT), ("customer_id", &mobile)]).await;
        assert_eq!(pending["data"]["refund_list"][0]["tid"], late_tid.to_string(), "{pending}");

        let resent = v3(&eko, Method::POST, &format!("/customer/payment/refund/{late_tid}/otp"), json!({})).await;
        assert_eq!(rt(&resent), (&json!(0), &json!(2133)), "{resent}");
        let code = otp(&app, &mobile, &format!("dmt_refund:{late_tid}")).await;
        let body = json!({ "user_code": AGENT, "otp": code, "otp_ref_id": resent["data"]["otp_ref_id"], "state": "1", "service_code": "80" });
        let refunded = v3(&eko, Method::POST, &format!("/customer/payment/refund/{late_tid}"), body).await;
        assert_eq!(rt(&refunded), (&json!(0), &json!(74)), "{refunded}");
        assert_eq!(available(&app, partner_id).await, before, "{slug}: the refund returns the whole debit");
        let none = v3_get(&eko, "/customer/payment/refunds", &[("user_code", AGENT), ("customer_id", &mobile)]).await;
        assert_eq!(none["data"]["refund_list"], json!([]), "{none}");
        // The same status callbacks as v1: 2 → 3 when it failed, 3 → 4 when refunded.
        let moves: Vec<(i64, i64)> = dmt_support::status_events(&app, partner_id)
            .await
            .iter()
            .filter(|e| e["tid"] == json!(late_tid))
            .map(|e| (e["old_tx_status"].as_i64().unwrap(), e["tx_status"].as_i64().unwrap()))
            .collect();
        assert_eq!(moves, vec![(2, 3), (3, 4)], "{slug}");
    }
}

/// DMT families stop at ₹25,000 a month; PPI families at ₹50,000.
async fn each_family_has_its_own_monthly_limit(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    for (slug, mobile, limit_transfers) in [("dmt-fino", "9123460001", 5), ("ppi", "9123460002", 10)] {
        verified_sender(&app, &eko, slug, mobile).await;
        let rid = recipient(&eko, slug, mobile, "123456789012").await;
        for n in 0..limit_transfers {
            let sent = send(&app, &eko, slug, mobile, &rid, "5000", &format!("LIM-{slug}-{n}")).await;
            assert_eq!(sent["status"], 0, "{slug} transfer {n}: {sent}");
        }
        let over = send(&app, &eko, slug, mobile, &rid, "1", &format!("LIM-{slug}-over")).await;
        assert_eq!(rt(&over), (&json!(314), &json!(314)), "{slug}: {over}");
        let too_big = v3(
            &eko,
            Method::POST,
            &format!("/customer/payment/{slug}/otp"),
            json!({ "user_code": AGENT, "customer_id": mobile, "recipient_id": rid, "amount": "5000.01" }),
        )
        .await;
        assert_eq!(invalid_names(&too_big), ["amount"], "{too_big}");
    }
    let fino = FamilyId::DmtFino.family();
    let profile = v3_get(&eko, "/customer/profile/9123460001/dmt-fino", &[("user_code", AGENT)]).await;
    assert_eq!((&profile["response_type_id"], &profile["data"]["available_limit"]), (&json!(309), &json!(0.0)), "{profile}");
    assert_eq!(profile["data"]["total_limit"], json!(fino.monthly_limit_paise as f64 / 100.0));
}

/// The transaction OTP consents to one transfer of one amount, once, within its lifetime.
async fn the_transaction_otp_is_bound_to_the_amount_single_use_and_expiring(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let partner_id = sandbox_partner(&app).await;
    let (slug, mobile) = ("dmt-levin", "9123470001");
    verified_sender(&app, &eko, slug, mobile).await;
    let rid = recipient(&eko, slug, mobile, "123456789012").await;
    let ask = || {
        v3(
            &eko,
            Method::POST,
            "/customer/payment/dmt-levin/otp",
            json!({ "user_code": AGENT, "customer_id": mobile, "recipient_id": rid, "amount": "100" }),
        )
    };
    let asked = ask().await;
    let code = otp(&app, mobile, "dmt_txn:dmt-levin:10000").await;
    let before = available(&app, partner_id).await;
    let other_amount = v3(
        &eko,
        Method::POST,
        &format!("/customer/payment/{slug}"),
        transfer_body(mobile, &rid, "200", "OTP-1", &code, &asked["data"]["otp_ref_id"]),
    )
    .await;
    assert_eq!(other_amount["response_type_id"], 1325, "an OTP for ₹100 does not consent to ₹200: {other_amount}");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = v3(
        &eko,
        Method::POST,
        &format!("/customer/payment/{slug}"),
        transfer_body(mobile, &rid, "100", "OTP-2", wrong, &asked["data"]["otp_ref_id"]),
    )
    .await;
    assert_eq!(rt(&refused), (&json!(302), &json!(302)), "{refused}");
    assert_eq!(available(&app, partner_id).await, before, "refused OTPs move nothing");
    let sent = v3(
        &eko,
        Method::POST,
        &format!("/customer/payment/{slug}"),
        transfer_body(mobile, &rid, "100", "OTP-3", &code, &asked["data"]["otp_ref_id"]),
    )
    .await;
    assert_eq!(sent["status"], 0, "{sent}");
    let again = v3(
        &eko,
        Method::POST,
        &format!("/customer/payment/{slug}"),
        transfer_body(mobile, &rid, "100", "OTP-4", &code, &asked["data"]["otp_ref_id"]),
    )
    .await;
    assert_eq!(again["response_type_id"], 1323, "an OTP works once: {again}");

    let asked = ask().await;
    let code = otp(&app, mobile, "dmt_txn:dmt-levin:10000").await;
    clock.advance_ms(601_000);
    let expired = v3(
        &eko,
        Method::POST,
        &format!("/customer/payment/{slug}"),
        transfer_body(mobile, &rid, "100", "OTP-5", &code, &asked["data"]["otp_ref_id"]),
    )
    .await;
    assert_eq!(rt(&expired), (&json!(303), &json!(303)), "{expired}");
    assert!(app.state.store.dmt_transfer_by_client_ref(partner_id, "OTP-5").await.unwrap().is_none());
}

/// Steps taken out of order answer the pending step; a sender who has not finished the
/// family's verification cannot ask for a transaction OTP.
async fn verification_steps_go_in_order(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let mobile = "9123480001";
    let missing = v3_get(&eko, &format!("/customer/profile/{mobile}/dmt-airtel"), &[("user_code", AGENT)]).await;
    assert_eq!(rt(&missing), (&json!(308), &json!(308)), "{missing}");
    let account = format!("/customer/account/{mobile}/dmt-airtel");
    v3(&eko, Method::POST, &account, sender(mobile)).await;
    let profile = v3_get(&eko, &format!("/customer/profile/{mobile}/dmt-airtel"), &[("user_code", AGENT)]).await;
    assert_eq!(rt(&profile), (&json!(2136), &json!(2136)), "Aadhaar first: {profile}");
    let early =
        v3(&eko, Method::PUT, &format!("{account}/ekyc"), json!({ "user_code": AGENT, "piddata": simulated_pid(3) })).await;
    assert_eq!(rt(&early), (&json!(2136), &json!(2136)), "{early}");
    let rid = recipient(&eko, "dmt-airtel", mobile, "123456789012").await;
    let otp_early = v3(
        &eko,
        Method::POST,
        "/customer/payment/dmt-airtel/otp",
        json!({ "user_code": AGENT, "customer_id": mobile, "recipient_id": rid, "amount": "100" }),
    )
    .await;
    assert_eq!(rt(&otp_early), (&json!(2136), &json!(2136)), "{otp_early}");
    // The same customer verified for one family is not verified for another.
    verified_sender(&app, &eko, "dmt-levin", "9123480002").await;
    let other = v3_get(&eko, "/customer/profile/9123480002/dmt-fino", &[("user_code", AGENT)]).await;
    assert_eq!(other["response_type_id"], 2134, "{other}");
    let pan_first =
        v3(&eko, Method::POST, "/customer/account/9123480002/ppi/pan", json!({ "user_code": AGENT, "pan_number": "ABCPV1234K" }))
            .await;
    assert_eq!(pan_first["response_type_id"], 2136, "PPI's Aadhaar comes before its PAN: {pan_first}");
}

/// Each documented validation answers the envelope with `invalid_params`, never 5xx,
/// and changes nothing.
async fn bad_input_answers_invalid_params_and_changes_nothing(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123490001";
    verified_sender(&app, &eko, "ppi", mobile).await;
    let rid = recipient(&eko, "ppi", mobile, "123456789012").await;
    let before = available(&app, partner_id).await;
    let recipients = app.state.store.dmt_recipients(partner_id, mobile).await.unwrap().len();

    let valid = aadhaar();
    let last = valid.as_bytes()[11] - b'0';
    let bad_aadhaar = format!("{}{}", &valid[..11], (last + 1) % 10);
    let mut bad_sender = sender("12345");
    bad_sender["customer_id"] = json!("12345");
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (Method::POST, "/customer/account/12345/dmt-fino".into(), sender("12345"), "customer_id"),
        (Method::POST, "/customer/account".into(), bad_sender, "customer_id"),
        (
            Method::POST,
            format!("/customer/account/{mobile}/ppi/pan"),
            json!({ "user_code": AGENT, "pan_number": "ABC12" }),
            "pan_number",
        ),
        (
            Method::POST,
            format!("/customer/account/{mobile}/ppi/aadhaar"),
            json!({ "user_code": AGENT, "aadhar": bad_aadhaar }),
            "aadhar",
        ),
        (
            Method::POST,
            format!("/customer/account/{mobile}/ppi/otp/verify"),
            json!({ "user_code": AGENT, "otp": "12ab", "intent_id": "20" }),
            "otp",
        ),
        (
            Method::POST,
            format!("/customer/payment/ppi/sender/{mobile}/recipient"),
            json!({ "user_code": AGENT, "recipient_name": "Ravi", "recipient_mobile": "9876543210", "account": "1234", "ifsc": "SBIN0001234" }),
            "account",
        ),
        (
            Method::POST,
            format!("/customer/payment/ppi/sender/{mobile}/recipient"),
            json!({ "user_code": AGENT, "recipient_name": "Ravi", "recipient_mobile": "9876543210", "account": "123456789099", "ifsc": "SBIN001" }),
            "ifsc",
        ),
        (
            Method::POST,
            format!("/customer/payment/ppi/sender/{mobile}/recipient"),
            json!({ "user_code": AGENT, "recipient_name": "Ravi", "recipient_mobile": "98765", "account": "123456789099", "ifsc": "SBIN0001234" }),
            "recipient_mobile",
        ),
        (
            Method::POST,
            "/customer/payment/ppi/otp".into(),
            json!({ "user_code": AGENT, "customer_id": mobile, "amount": "-5" }),
            "amount",
        ),
        (
            Method::POST,
            "/customer/payment/ppi/otp".into(),
            json!({ "user_code": AGENT, "customer_id": mobile, "amount": "10.001" }),
            "amount",
        ),
        (Method::POST, "/customer/payment/ppi".into(), transfer_body(mobile, &rid, "100", "BAD-1", "1", &json!("1")), "otp"),
        (
            Method::POST,
            "/customer/payment/ppi".into(),
            transfer_body(mobile, &rid, "0", "BAD-2", "123456", &json!("1")),
            "amount",
        ),
        (
            Method::POST,
            "/customer/payment/ppi".into(),
            transfer_body("999", &rid, "100", "BAD-3", "123456", &json!("1")),
            "customer_id",
        ),
        (Method::POST, "/customer/payment/refund/abc".into(), json!({ "otp": "123456" }), "tid"),
    ];
    for (method, path, body, field) in cases {
        let answer = v3(&eko, method, &path, body).await;
        assert!(invalid_names(&answer).contains(&field.to_owned()), "{path}: {field} must be named: {answer}");
        assert_ne!(answer["status"], 0, "{answer}");
    }
    let ifsc = v3_get(&eko, "/tools/reference/banks/ifsc/SBIN01", &[]).await;
    assert_eq!((&ifsc["status"], &invalid_names(&ifsc)), (&json!(41), &vec!["ifsc".to_owned()]), "{ifsc}");
    assert_eq!(available(&app, partner_id).await, before, "no bad request moves money");
    assert_eq!(app.state.store.dmt_recipients(partner_id, mobile).await.unwrap().len(), recipients);
    assert!(app.state.store.dmt_customer(partner_id, "12345").await.unwrap().is_none());
    assert!(app.state.store.dmt_transfer_by_client_ref(partner_id, "BAD-1").await.unwrap().is_none());
}

/// One domain: a v1 transfer is refunded and listed under v3, a v3 transfer is found by
/// the v1 inquiry, and both count against the one monthly limit.
async fn v1_and_v3_see_each_others_transfers(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let v1 = sandbox(&app, "/ekoapi/v1");
    let eko = sandbox(&app, V3);
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123500001";
    dmt_support::verified_customer(&app, &v1, AGENT, mobile).await;
    let late = dmt_support::recipient(&v1, AGENT, mobile, "7700004444", "ICIC0000456").await;
    let sent = dmt_support::transfer(&v1, mobile, &late, "1000", "V1-LATE", "2").await;
    let v1_tid = tid(&sent);
    clock.advance_ms(31_000);
    wait_for(&app, partner_id, Tid::new(v1_tid), |t| t.tx_status == TxStatus::RefundPending).await;
    let pending = v3_get(&eko, "/customer/payment/refunds", &[("user_code", AGENT), ("customer_id", mobile)]).await;
    assert_eq!(pending["data"]["refund_list"][0]["client_ref_id"], "V1-LATE", "{pending}");
    let code = otp(&app, mobile, &format!("dmt_refund:{v1_tid}")).await;
    let refunded = v3(
        &eko,
        Method::POST,
        &format!("/customer/payment/refund/{v1_tid}"),
        json!({ "user_code": AGENT, "otp": code, "state": "1" }),
    )
    .await;
    assert_eq!(rt(&refunded), (&json!(0), &json!(74)), "{refunded}");

    // The v1 customer (mobile verified) still needs Fino's e-KYC; its v1 recipients serve v3.
    let account = format!("/customer/account/{mobile}/dmt-fino");
    let ekyc = v3(
        &eko,
        Method::POST,
        &format!("{account}/ekyc"),
        json!({ "user_code": AGENT, "aadhar": aadhaar(), "piddata": simulated_pid(4) }),
    )
    .await;
    let code = otp(&app, mobile, "dmt_kyc:dmt-fino:ekyc_otp").await;
    let body = json!({ "user_code": AGENT, "otp": code, "otp_ref_id": ekyc["data"]["otp_ref_id"], "kyc_request_id": ekyc["data"]["kyc_request_id"] });
    assert_eq!(v3(&eko, Method::PUT, &format!("{account}/otp/verify"), body).await["response_type_id"], 2132);
    let rid = dmt_support::recipient(&v1, AGENT, mobile, "123456789012", "SBIN0001234").await;
    let v3_sent = send(&app, &eko, "dmt-fino", mobile, &rid, "2500", "V3-SEEN-BY-V1").await;
    let inquiry = dmt_support::get(&v1, &format!("/transactions/{}", tid(&v3_sent)), &[]).await;
    assert_eq!(
        (&inquiry["response_type_id"], &inquiry["data"]["client_ref_id"]),
        (&json!(1472), &json!("V3-SEEN-BY-V1")),
        "{inquiry}"
    );
    let by_ref = dmt_support::get(&v1, "/transactions/client_ref_id:V3-SEEN-BY-V1", &[]).await;
    assert_eq!(by_ref["data"]["tid"], v3_sent["data"]["tid"]);
    // What the common v3 inquiry asks DMT: a tid, `client_ref_id:REF` or a plain reference.
    let tid_text = v3_sent["data"]["tid"].as_str().expect("tid").to_owned();
    for reference in [tid_text.as_str(), "client_ref_id:V3-SEEN-BY-V1", "V3-SEEN-BY-V1", "V1-LATE"] {
        let found = inquiry_reply(&app.state, partner_id, reference).await.expect("an answer").expect("found");
        assert_eq!((found.status, found.response_type_id), (0, 1472), "{reference}");
    }
    assert!(inquiry_reply(&app.state, partner_id, "NO-SUCH-REF").await.expect("an answer").is_none());
    let profile = dmt_support::get(&v1, &format!("/customers/mobile_number:{mobile}"), &[("user_code", AGENT)]).await;
    assert_eq!(profile["data"]["used_limit"], json!(2500.0), "the v3 transfer uses the one monthly limit: {profile}");
}

/// The same `client_ref_id` again answers the transfer without asking for a new OTP; a
/// different transfer under it is refused, under v3 and v1 alike (one idempotency scope).
async fn the_same_client_ref_id_answers_the_same_transfer(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let v1 = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123510001";
    verified_sender(&app, &eko, "dmt-airtel", mobile).await;
    let rid = recipient(&eko, "dmt-airtel", mobile, "123456789012").await;
    let first = send(&app, &eko, "dmt-airtel", mobile, &rid, "300", "SAME-1").await;
    let after = available(&app, partner_id).await;
    let body = transfer_body(mobile, &rid, "300", "SAME-1", "999999", &json!("1"));
    let again = v3(&eko, Method::POST, "/customer/payment/dmt-airtel", body).await;
    assert_eq!((&again["data"]["tid"], &again["status"]), (&first["data"]["tid"], &json!(0)), "{again}");
    assert_eq!(available(&app, partner_id).await, after, "one transfer, one debit");
    let body = transfer_body(mobile, &rid, "301", "SAME-1", "999999", &json!("1"));
    let different = v3(&eko, Method::POST, "/customer/payment/dmt-airtel", body).await;
    assert_eq!(different["message"], "Duplicate client_ref_id", "{different}");
    let v1_reuse = dmt_support::transfer(&v1, mobile, &rid, "300", "SAME-1", "2").await;
    assert_eq!(v1_reuse["message"], "Duplicate client_ref_id", "{v1_reuse}");
}

/// Banks under v3: the list, one bank by code (path or query), an IFSC (path or query).
async fn banks_and_ifsc_under_v3(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let list = v3_get(&eko, "/tools/reference/banks", &[("user_code", AGENT)]).await;
    assert_eq!(list["response_type_id"], 466, "{list}");
    assert!(list["data"]["bank_list"].as_array().is_some_and(|l| l.len() == kosh_core::banks::BANKS.len()), "{list}");
    for bank in [
        v3_get(&eko, "/tools/reference/bank/SBIN", &[]).await,
        v3_get(&eko, "/tools/reference/bank", &[("bank_code", "SBIN")]).await,
    ] {
        assert_eq!((&bank["response_type_id"], &bank["data"]["name"]), (&json!(466), &json!("State Bank of India")), "{bank}");
        for key in ["isverificationavailable", "code", "ifsc_status", "user_code", "bank_id", "name", "available_channels"] {
            assert!(bank["data"].get(key).is_some(), "{key}: {bank}");
        }
    }
    for ifsc in [
        v3_get(&eko, "/tools/reference/banks/ifsc/SBIN0001234", &[]).await,
        v3_get(&eko, "/tools/reference/banks/ifsc", &[("ifsc", "SBIN0001234")]).await,
    ] {
        assert_eq!((&ifsc["response_type_id"], &ifsc["data"]["branch"]), (&json!(414), &json!("001234")), "{ifsc}");
    }
    let unknown = v3_get(&eko, "/tools/reference/bank/ZZZZ", &[]).await;
    assert_eq!(rt(&unknown), (&json!(48), &json!(467)), "{unknown}");
}

/// Runs `tests/sdk/v3_dmt.py` with the vendor's Python SDK (EpsClient pointed at this
/// server); its asserts fail the test. Answers the JSON object it prints last.
fn python_sdk(app: &App, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/v3_dmt.py");
    let output = std::process::Command::new("python3")
        .env("PYTHONPATH", kosh_testkit::python_sdk())
        .arg(script)
        .arg(app.url())
        .args(args)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "v3_dmt.py {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("v3_dmt.py printed {last:?}: {e}"))
}

/// The vendor's own client, end to end: DMT-Fino (onboard, e-KYC, recipients, OTP,
/// settled, declined and late-failing transfers), DMT-Levin (Aadhaar OTP, biometric
/// e-KYC, transfer), then the refund of the late failure and the bank lookups.
async fn the_vendor_python_sdk_drives_fino_levin_and_a_refund(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let partner_id = sandbox_partner(&app).await;
    let before = available(&app, partner_id).await;
    let (mobile, aadhaar, pid) = ("9123520001", aadhaar(), simulated_pid(7));
    let fino = python_sdk(&app, &["fino", mobile, &aadhaar, &pid]);
    let late_tid: i64 = fino["late_tid"].as_str().and_then(|t| t.parse().ok()).expect("late_tid");
    let settled = Pricing::default().charges(kosh_core::money::Paise::new(150_000).unwrap()).debit_paise().unwrap().get();
    let late = Pricing::default().charges(kosh_core::money::Paise::new(100_000).unwrap()).debit_paise().unwrap().get();
    assert_eq!(available(&app, partner_id).await, before - settled - late, "the decline debits nothing");
    clock.advance_ms(31_000);
    wait_for(&app, partner_id, Tid::new(late_tid), |t| t.tx_status == TxStatus::RefundPending).await;
    let refund = python_sdk(&app, &["refund", mobile, &late_tid.to_string()]);
    assert!(refund["refund_tid"].is_string(), "{refund}");
    assert_eq!(available(&app, partner_id).await, before - settled, "the refund returns the late failure's debit");
    let levin = python_sdk(&app, &["levin", "9123520002", &aadhaar, &pid]);
    let tid: i64 = levin["tid"].as_str().and_then(|t| t.parse().ok()).expect("tid");
    let t = app.state.store.dmt_transfer(partner_id, Tid::new(tid)).await.unwrap().expect("the Levin transfer");
    assert_eq!((t.tx_status, t.client_ref_id.as_str()), (TxStatus::Success, "SDKLEVIN1"));
}

/// Saves a transfer (its OTP used up as consent) instead of sending it.
async fn save_for_later(app: &App, eko: &Client, mobile: &str, rid: &str, amount: &str, client_ref_id: &str) -> Value {
    let asked = v3(
        eko,
        Method::POST,
        "/customer/payment/dmt-airtel/otp",
        json!({ "user_code": AGENT, "customer_id": mobile, "recipient_id": rid, "amount": amount }),
    )
    .await;
    let paise = kosh_core::money::Paise::parse_rupees(amount).expect("an amount").get();
    let code = otp(app, mobile, &format!("dmt_txn:dmt-airtel:{paise}")).await;
    let mut body = transfer_body(mobile, rid, amount, client_ref_id, &code, &asked["data"]["otp_ref_id"]);
    body["save"] = json!("1");
    let saved = v3(eko, Method::POST, "/customer/payment/dmt-airtel", body).await;
    assert_eq!(
        (&saved["status"], &saved["response_type_id"], &saved["data"]["state"]),
        (&json!(0), &json!(1480), &json!("saved")),
        "{saved}"
    );
    saved
}

/// A saved transaction moves nothing until committed; a commit makes the transfer through
/// the family's command; a cancelled one never commits; a scheduled one is committed by
/// the worker once the server's clock reaches its time.
async fn saved_transactions_are_committed_cancelled_and_scheduled_on_the_clock(backend: Backend) {
    use kosh_core::clock::Clock;
    use kosh_store::ops::dmt_saved::SavedState;
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, V3);
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123530001";
    verified_sender(&app, &eko, "dmt-airtel", mobile).await;
    let rid = recipient(&eko, "dmt-airtel", mobile, "123456789012").await;
    let before = available(&app, partner_id).await;
    let mut tids = Vec::new();
    for (amount, reference) in [("100", "SAVE-1"), ("200", "SAVE-2"), ("300", "SAVE-3")] {
        let saved = save_for_later(&app, &eko, mobile, &rid, amount, reference).await;
        tids.push(saved["data"]["tid"].as_str().expect("tid").to_owned());
    }
    assert_eq!(available(&app, partner_id).await, before, "saving moves no money");
    let list = v3_get(&eko, "/customer/payment/saved", &[("user_code", AGENT)]).await;
    assert_eq!(
        (&list["response_type_id"], list["data"]["saved_list"].as_array().map(Vec::len)),
        (&json!(1481), Some(3)),
        "{list}"
    );

    let cancelled =
        v3(&eko, Method::DELETE, &format!("/customer/payment/saved/{}", tids[0]), json!({ "user_code": AGENT })).await;
    assert_eq!((&cancelled["response_type_id"], &cancelled["data"]["state"]), (&json!(1483), &json!("cancelled")), "{cancelled}");
    let again = v3(&eko, Method::DELETE, &format!("/customer/payment/saved/{}", tids[0]), json!({ "user_code": AGENT })).await;
    assert_eq!(again["message"], "Saved transaction is closed", "{again}");

    let committed = v3(&eko, Method::PUT, "/customer/payment/saved", json!({ "user_code": AGENT, "tid": tids[1] })).await;
    assert_eq!(committed["response_type_id"], 1484, "{committed}");
    let result = &committed["data"]["committed"][0];
    assert_eq!((&result["state"], &result["tx_status"]), (&json!("committed"), &json!("0")), "{committed}");
    let t = app.state.store.dmt_transfer_by_client_ref(partner_id, "SAVE-2").await.unwrap().expect("the committed transfer");
    assert_eq!(result["transfer_tid"], t.tid.to_string());
    let charges =
        FamilyId::DmtAirtel.family().pricing(&Pricing::default()).charges(kosh_core::money::Paise::new(20_000).unwrap());
    assert_eq!(
        available(&app, partner_id).await,
        before - charges.debit_paise().unwrap().get(),
        "the commit debits the transfer, to the paisa"
    );
    let twice = v3(&eko, Method::PUT, "/customer/payment/saved", json!({ "user_code": AGENT, "tid": tids[1] })).await;
    assert_eq!(twice["data"]["committed"], json!([]), "a committed one is not committed again: {twice}");

    let at = clock.now_ms() + 3_600_000;
    let body = json!({ "user_code": AGENT, "commit_at_ms": at.to_string() });
    let scheduled = v3(&eko, Method::PUT, &format!("/customer/payment/schedule/{}", tids[2]), body).await;
    assert_eq!((&scheduled["response_type_id"], &scheduled["data"]["state"]), (&json!(1482), &json!("scheduled")), "{scheduled}");
    let listed = v3_get(&eko, "/customer/payment/scheduled", &[("user_code", AGENT)]).await;
    assert_eq!(listed["data"]["scheduled_list"][0]["tid"], json!(tids[2]), "{listed}");
    let tid3: i64 = tids[2].parse().unwrap();
    let row = app.state.store.dmt_saved(partner_id, Tid::new(tid3)).await.unwrap().expect("saved");
    assert_eq!(row.state, SavedState::Scheduled, "not due before its time on the server's clock");
    clock.advance_ms(3_600_001);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row = app.state.store.dmt_saved(partner_id, Tid::new(tid3)).await.unwrap().expect("saved");
        if row.state == SavedState::Committed {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the worker did not commit the due saved transaction: {row:?}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let t = app.state.store.dmt_transfer_by_client_ref(partner_id, "SAVE-3").await.unwrap().expect("the scheduled transfer");
    assert_eq!(t.tx_status, TxStatus::Success);
    assert!(app.state.store.dmt_transfer_by_client_ref(partner_id, "SAVE-1").await.unwrap().is_none(), "cancelled: never sent");
}

/// Polls (bounded) until the saved transaction satisfies `done`.
async fn wait_for_saved(
    app: &App,
    partner_id: kosh_core::ids::PartnerId,
    tid: i64,
    done: impl Fn(&kosh_store::ops::dmt_saved::SavedTransfer) -> bool,
) -> kosh_store::ops::dmt_saved::SavedTransfer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row = app.state.store.dmt_saved(partner_id, Tid::new(tid)).await.unwrap().expect("saved");
        if done(&row) {
            return row;
        }
        assert!(std::time::Instant::now() < deadline, "saved transaction {tid} did not reach the expected state: {row:?}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A scheduled transaction whose wallet lacks the funds stays scheduled and is tried
/// again a minute later (on the server's clock), when the funds have come.
async fn a_scheduled_transaction_waits_for_funds_and_commits_when_they_come(backend: Backend) {
    use kosh_store::commands::{Command, CreditWallet};
    use kosh_store::ops::dmt_saved::SavedState;
    let (app, clock) = dmt_support::start(backend, |c| c.sandbox_wallet_rupees = 1).await;
    let eko = sandbox(&app, V3);
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123540001";
    verified_sender(&app, &eko, "dmt-airtel", mobile).await;
    let rid = recipient(&eko, "dmt-airtel", mobile, "123456789012").await;
    let saved = save_for_later(&app, &eko, mobile, &rid, "500", "FUNDS-1").await;
    let tid: i64 = saved["data"]["tid"].as_str().and_then(|t| t.parse().ok()).expect("tid");
    let scheduled = v3(&eko, Method::PUT, &format!("/customer/payment/schedule/{tid}"), json!({ "user_code": AGENT })).await;
    assert_eq!(scheduled["response_type_id"], 1482, "{scheduled}");
    let waiting = wait_for_saved(&app, partner_id, tid, |s| !s.reason.is_empty()).await;
    assert_eq!(waiting.state, SavedState::Scheduled, "insufficient funds: still scheduled ({})", waiting.reason);
    assert!(app.state.store.dmt_transfer_by_client_ref(partner_id, "FUNDS-1").await.unwrap().is_none());
    let credit =
        CreditWallet { partner_id, amount_paise: kosh_core::money::Paise::new(1_000_000).unwrap(), reference: "TOPUP-1".into() };
    app.state.store.execute(Command::CreditWallet(credit)).await.expect("credited");
    clock.advance_ms(kosh_server::service::dmt::SAVED_RETRY_MS + 1);
    let done = wait_for_saved(&app, partner_id, tid, |s| s.state == SavedState::Committed).await;
    let t = app.state.store.dmt_transfer(partner_id, done.transfer_tid.expect("its transfer")).await.unwrap().expect("transfer");
    assert_eq!((t.tx_status, t.client_ref_id.as_str()), (TxStatus::Success, "FUNDS-1"));
}
