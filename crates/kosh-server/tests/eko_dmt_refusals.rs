//! Every bad input of the money-transfer issue, on both backends: each is answered with
//! the platform's code and a clear message, and changes nothing (wallet, ledger,
//! transfers, outbox, customer state and limits are compared before and after).

mod eko_support;
use kosh_core::ids::Tid;
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::{
    available, call, get, recipient, sandbox_otp, sandbox_partner, tid_of, transfer, transfer_form, verified_customer, wait_for,
    AGENT,
};
use eko_support::{onboard, sandbox, Backend};
use kosh_core::dmt::TxStatus;
use kosh_server::App;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    customer_otp_failures_change_nothing,
    transfer_refusals_change_nothing,
    refunds_of_the_wrong_transfer_change_nothing,
    recipient_rules,
    banks_are_listed_and_found,
    dmt_can_be_turned_off_for_an_agent,
);

/// Everything a refused request must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    available_paise: i64,
    ledger: kosh_core::ledger::Balance,
    transfers: Vec<(Tid, TxStatus)>,
    outbox: usize,
    customers: Vec<Value>,
}

async fn snapshot(app: &App, mobiles: &[&str]) -> Snapshot {
    let partner_id = sandbox_partner(app).await;
    let store = &app.state.store;
    let transfers =
        store.dmt_transfers(partner_id, Tid::new(0)).await.expect("transfers").iter().map(|t| (t.tid, t.tx_status)).collect();
    let mut customers = Vec::new();
    for m in mobiles {
        let c = store.dmt_customer(partner_id, m).await.expect("customer");
        customers.push(serde_json::to_value(c).expect("json"));
    }
    Snapshot {
        available_paise: available(app, partner_id).await,
        ledger: store.ledger_totals().await.expect("totals"),
        transfers,
        outbox: store.recent_outbox(partner_id, 1000).await.expect("outbox").len(),
        customers,
    }
}

fn expect(body: &Value, status: i64, message: &str) {
    assert_eq!((&body["status"], &body["message"]), (&json!(status), &json!(message)), "{body}");
    assert_eq!(body["response_status_id"], 1, "{body}");
}

async fn customer_otp_failures_change_nothing(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |c| c.otp_ttl_secs = 60).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let form = dmt_support::customer_form(AGENT);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mobile = "9223400001";
    call(&eko, Method::PUT, &format!("/customers/mobile_number:{mobile}"), &form).await;
    let otp = sandbox_otp(&app, mobile, "dmt_customer").await;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let verify = |code: String, id: &'static str| {
        let eko = eko.clone();
        async move {
            call(
                &eko,
                Method::PUT,
                &format!("/customers/verification/otp:{code}"),
                &[("user_code", AGENT), ("id_type", "mobile_number"), ("id", id)],
            )
            .await
        }
    };

    let before = snapshot(&app, &[mobile]).await;
    let body = verify(wrong.into(), mobile).await;
    expect(&body, 302, "Wrong OTP");
    assert_eq!(body["hint"], "2 attempt(s) left for this OTP");
    assert_eq!(snapshot(&app, &[mobile]).await, before, "a wrong OTP leaves the customer unverified");

    let verified = verify(otp.clone(), mobile).await;
    assert_eq!(verified["response_type_id"], 2132, "{verified}");
    let after_verify = snapshot(&app, &[mobile]).await;
    let reused = verify(otp, mobile).await;
    expect(&reused, 55, "OTP already used");
    assert_eq!(snapshot(&app, &[mobile]).await, after_verify);
    let again = call(&eko, Method::PUT, &format!("/customers/mobile_number:{mobile}"), &form).await;
    expect(&again, 17, "Customer already exists");
    let resend = call(&eko, Method::POST, &format!("/customers/mobile_number:{mobile}/otp"), &[("user_code", AGENT)]).await;
    assert_eq!(
        (&resend["status"], &resend["response_status_id"], &resend["message"]),
        (&json!(0), &json!(-1), &json!("Customer already verified"))
    );

    let late = "9223400002";
    call(&eko, Method::PUT, &format!("/customers/mobile_number:{late}"), &form).await;
    let late_otp = sandbox_otp(&app, late, "dmt_customer").await;
    clock.advance_ms(61_000);
    let before = snapshot(&app, &[mobile, late]).await;
    let expired = verify(late_otp, late).await;
    expect(&expired, 303, "OTP expired");
    assert!(expired["hint"].as_str().unwrap_or("").contains("/otp"), "says how to get a new one: {expired}");
    assert_eq!(snapshot(&app, &[mobile, late]).await, before);
    let resent = call(&eko, Method::POST, &format!("/customers/mobile_number:{late}/otp"), &[("user_code", AGENT)]).await;
    assert_eq!(
        (&resent["status"], &resent["response_status_id"], &resent["response_type_id"]),
        (&json!(0), &json!(0), &json!(2133)),
        "{resent}"
    );
    let fresh = sandbox_otp(&app, late, "dmt_customer").await;
    assert_eq!(verify(fresh, late).await["response_type_id"], 2132);

    let unknown = verify("123456".into(), "9223400099").await;
    expect(&unknown, 463, "Customer not found");
    app.stop().await;
}

async fn transfer_refusals_change_nothing(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let (a, b, unverified) = ("9223400011", "9223400012", "9223400013");
    verified_customer(&app, &eko, AGENT, a).await;
    verified_customer(&app, &eko, AGENT, b).await;
    let form = dmt_support::customer_form(AGENT);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    call(&eko, Method::PUT, &format!("/customers/mobile_number:{unverified}"), &form).await;
    let ra = recipient(&eko, AGENT, a, "123456780001", "SBIN0000001").await;
    let rb = recipient(&eko, AGENT, b, "123456780002", "SBIN0000001").await;
    let mobiles = [a, b, unverified];
    let before = snapshot(&app, &mobiles).await;

    let send = |mobile: &'static str, rid: String, amount: &'static str, channel: &'static str| {
        let eko = eko.clone();
        async move { transfer(&eko, mobile, &rid, amount, "BAD-1", channel).await }
    };
    expect(&send(a, "999999".into(), "100", "2").await, 313, "Recipient not registered");
    let others = send(a, rb.clone(), "100", "2").await;
    expect(&others, 313, "Recipient not registered");
    assert!(others["hint"].as_str().unwrap_or("").contains("another customer"), "{others}");
    let over = send(a, ra.clone(), "5000.01", "2").await;
    assert_eq!(
        (&over["status"], &over["invalid_params"]["amount"].as_str().map(|m| m.contains("5000.00"))),
        (&json!(1), &Some(true)),
        "{over}"
    );
    let decimals = send(a, ra.clone(), "10.005", "2").await;
    assert_eq!(decimals["invalid_params"]["amount"], "must have at most 2 decimal places", "{decimals}");
    let channel = send(a, ra.clone(), "100", "3").await;
    expect(&channel, 460, "Invalid channel");
    assert_eq!(channel["invalid_params"]["channel"], "must be 1 (NEFT) or 2 (IMPS)");
    expect(&send(unverified, ra.clone(), "100", "2").await, 327, "Customer enrolled; verification pending");
    expect(&send("9223400019", ra.clone(), "100", "2").await, 463, "Customer not found");
    let missing = call(&eko, Method::POST, "/transactions", &[("user_code", AGENT)]).await;
    assert_eq!(missing["status"], 97, "{missing}");
    assert_eq!(missing["invalid_params"].as_object().map(|o| o.len()), Some(9), "every missing field is named: {missing}");
    assert_eq!(snapshot(&app, &mobiles).await, before, "nothing changed");

    // The monthly limit: ₹25,000 for a customer without KYC.
    for i in 0..5 {
        let body = transfer(&eko, a, &ra, "5000", &format!("LIMIT-{i}"), "2").await;
        assert_eq!(body["data"]["tx_status"], "0", "{body}");
    }
    let before = snapshot(&app, &mobiles).await;
    let limited = transfer(&eko, a, &ra, "1", "LIMIT-5", "2").await;
    expect(&limited, 314, "Monthly limit exceeded");
    assert!(limited["hint"].as_str().unwrap_or("").contains("0.00 more"), "{limited}");
    assert_eq!(snapshot(&app, &mobiles).await, before);
    let b_still_can = transfer(&eko, b, &rb, "1", "LIMIT-B", "2").await;
    assert_eq!(b_still_can["data"]["tx_status"], "0", "limits are per customer: {b_still_can}");
    app.stop().await;
}

async fn refunds_of_the_wrong_transfer_change_nothing(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9223400021";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let ok = recipient(&eko, AGENT, mobile, "123456780021", "CNRB0000001").await;
    let late = recipient(&eko, AGENT, mobile, "123456784444", "CNRB0000001").await;
    let settled = tid_of(&transfer(&eko, mobile, &ok, "100", "RF-OK", "2").await);
    let failing = tid_of(&transfer(&eko, mobile, &late, "100", "RF-FAIL", "2").await);
    let refund = |tid: Tid, otp: String| {
        let eko = eko.clone();
        async move {
            call(
                &eko,
                Method::POST,
                &format!("/transactions/{tid}/refund"),
                &[("user_code", AGENT), ("otp", &otp), ("state", "1")],
            )
            .await
        }
    };

    let before = snapshot(&app, &[mobile]).await;
    let success = refund(settled, "123456".into()).await;
    expect(&success, 1, "Transaction is not eligible for refund");
    assert!(success["hint"].as_str().unwrap_or("").contains("Success (tx_status 0)"), "{success}");
    expect(&refund(Tid::new(999_999), "123456".into()).await, 168, "TID does not exist");
    let otp_path = call(&eko, Method::POST, &format!("/transactions/{settled}/refund/otp"), &[("user_code", AGENT)]).await;
    expect(&otp_path, 1, "Transaction is not eligible for refund");
    let not_failed_yet = refund(failing, "123456".into()).await;
    expect(&not_failed_yet, 1, "Transaction is not eligible for refund");
    assert_eq!(snapshot(&app, &[mobile]).await, before);

    clock.advance_ms(31_000);
    wait_for(&app, partner_id, failing, |t| t.tx_status == TxStatus::RefundPending).await;
    let otp = sandbox_otp(&app, mobile, &format!("dmt_refund:{failing}")).await;
    assert_eq!(refund(failing, otp.clone()).await["response_type_id"], 74);
    let before = snapshot(&app, &[mobile]).await;
    let second = refund(failing, otp).await;
    expect(&second, 1, "Transaction already refunded");
    assert_eq!(snapshot(&app, &[mobile]).await, before, "a second refund changes nothing");
    app.stop().await;
}

async fn recipient_rules(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let (mobile, other) = ("9223400031", "9223400032");
    verified_customer(&app, &eko, AGENT, mobile).await;
    verified_customer(&app, &eko, AGENT, other).await;
    let add = |segment: String| {
        let eko = eko.clone();
        async move {
            let form = [
                ("user_code", AGENT),
                ("recipient_name", "Ravi Kumar"),
                ("recipient_mobile", "9876543210"),
                ("recipient_type", "3"),
            ];
            call(&eko, Method::PUT, &format!("/customers/mobile_number:{mobile}/recipients/{segment}"), &form).await
        }
    };
    let first = recipient(&eko, AGENT, mobile, "100000000001", "PUNB0123456").await;
    let before = snapshot(&app, &[mobile]).await;
    let duplicate = add("acc_ifsc:100000000001_punb0123456".into()).await;
    expect(&duplicate, 342, "Recipient already exists");
    assert_eq!(duplicate["data"]["recipient_id"].as_i64().map(|r| r.to_string()), Some(first.clone()));
    expect(&add("acc_ifsc:100000000001_PUNB123456".into()).await, 41, "Invalid IFSC");
    expect(&add("acc_ifsc:100000000001_ZZZZ0123456".into()).await, 48, "Bank not found");
    expect(&add("acc_bankcode:100000000001_PUNB".into()).await, 44, "IFSC is required for this bank");
    expect(&add("acc_bankcode:100000000001_NOPE".into()).await, 48, "Bank not found");
    expect(&add("acc_ifsc:1234_PUNB0123456".into()).await, 102, "Invalid account number");
    expect(&add("acc_ifsc:12345678901A_PUNB0123456".into()).await, 46, "Invalid account number");
    expect(&add("acc_ifsc:100000000001".into()).await, 46, "Invalid recipient id");
    assert_eq!(snapshot(&app, &[mobile]).await, before);

    let by_code = add("acc_bankcode:100000000002_sbin".into()).await;
    assert_eq!(
        (&by_code["response_type_id"], &by_code["data"]["ifsc"], &by_code["data"]["recipient_id_type"]),
        (&json!(43), &json!("SBIN0000001"), &json!("acc_bankcode")),
        "{by_code}"
    );
    let neft_only = recipient(&eko, AGENT, mobile, "100000000003", "SRCB0000001").await;
    let imps_only = recipient(&eko, AGENT, mobile, "100000000004", "IPOS0000001").await;
    let before = snapshot(&app, &[mobile]).await;
    expect(&transfer(&eko, mobile, &neft_only, "100", "CH-1", "2").await, 344, "IMPS is not available for this bank");
    expect(&transfer(&eko, mobile, &imps_only, "100", "CH-2", "1").await, 317, "NEFT not allowed for this bank");
    assert_eq!(snapshot(&app, &[mobile]).await, before);

    let one =
        get(&eko, &format!("/customers/mobile_number:{mobile}/recipients/recipient_id:{first}"), &[("user_code", AGENT)]).await;
    assert_eq!(
        (&one["response_type_id"], &one["data"]["account"], &one["data"]["bank"]),
        (&json!(23), &json!("XXXXXXXX0001"), &json!("Punjab National Bank"))
    );
    let theirs =
        get(&eko, &format!("/customers/mobile_number:{other}/recipients/recipient_id:{first}"), &[("user_code", AGENT)]).await;
    expect(&theirs, 313, "Recipient not registered");
    let not_theirs = call(
        &eko,
        Method::DELETE,
        &format!("/customers/mobile_number:{other}/recipients/recipient_id:{first}"),
        &[("user_code", AGENT)],
    )
    .await;
    expect(&not_theirs, 313, "Recipient not registered");
    let removed = call(
        &eko,
        Method::DELETE,
        &format!("/customers/mobile_number:{mobile}/recipients/recipient_id:{first}"),
        &[("user_code", AGENT)],
    )
    .await;
    assert_eq!((&removed["status"], &removed["response_type_id"]), (&json!(0), &json!(1342)), "{removed}");
    expect(&transfer(&eko, mobile, &first, "100", "GONE-1", "2").await, 313, "Recipient not registered");

    // The maximum: 20 recipients per customer (3 exist now).
    for i in 0..17 {
        recipient(&eko, AGENT, mobile, &format!("2000000000{i:02}"), "HDFC0000001").await;
    }
    let before = snapshot(&app, &[mobile]).await;
    let full = add("acc_ifsc:300000000000_HDFC0000001".into()).await;
    expect(&full, 39, "Maximum number of recipients reached");
    assert_eq!(snapshot(&app, &[mobile]).await, before);
    let list = get(&eko, &format!("/customers/mobile_number:{mobile}/recipients"), &[("user_code", AGENT)]).await;
    assert_eq!(list["data"]["recipient_list"].as_array().map(Vec::len), Some(20));
    app.stop().await;
}

async fn banks_are_listed_and_found(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoicici/v1");
    let idfb = get(&eko, "/banks", &[("bank_code", "IDFB")]).await;
    assert_eq!(
        (&idfb["status"], &idfb["response_type_id"], &idfb["data"]["name"]),
        (&json!(0), &json!(466), &json!("IDFC First Bank")),
        "{idfb}"
    );
    assert_eq!(
        (&idfb["data"]["available_channels"], &idfb["data"]["isverificationavailable"], &idfb["data"]["ifsc_status"]),
        (&json!(0), &json!("1"), &json!(1))
    );
    let by_ifsc = get(&eko, "/banks", &[("ifsc", "SRCB0000123")]).await;
    assert_eq!((&by_ifsc["data"]["code"], &by_ifsc["data"]["available_channels"]), (&json!("SRCB"), &json!(1)));
    let all = get(&eko, "/banks", &[]).await;
    assert!(all["data"]["bank_list"].as_array().is_some_and(|l| l.len() >= 30), "{all}");
    let unknown = get(&eko, "/banks", &[("bank_code", "NOPE")]).await;
    assert_eq!((&unknown["status"], &unknown["response_type_id"]), (&json!(48), &json!(467)), "{unknown}");
    app.stop().await;
}

async fn dmt_can_be_turned_off_for_an_agent(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let user_code = onboard(&eko, "ABCPD4321K", "9876500041").await;
    let mobile = "9223400041";
    verified_customer(&app, &eko, &user_code, mobile).await; // no activation needed, as on the platform
    let rid = recipient(&eko, &user_code, mobile, "123456780041", "BARB0000001").await;
    call(&eko, Method::PUT, "/user/service/activate", &[("service_code", "10"), ("user_code", &user_code)]).await;
    call(&eko, Method::PUT, "/user/service/deactivate", &[("service_code", "10"), ("user_code", &user_code)]).await;
    let before = snapshot(&app, &[mobile]).await;
    let form = transfer_form(&user_code, mobile, &rid, "100", "OFF-1", "2");
    let off = call(&eko, Method::POST, "/transactions", &form).await;
    expect(&off, 346, "Agent not allowed");
    assert!(off["hint"].as_str().unwrap_or("").contains("service 10"), "{off}");
    let form = transfer_form("99999999", mobile, &rid, "100", "OFF-2", "2");
    expect(&call(&eko, Method::POST, "/transactions", &form).await, 463, "User not found");
    assert_eq!(snapshot(&app, &[mobile]).await, before);
    app.stop().await;
}
