//! Money transfer (DMT) through the real server on both backends, signed with kosh-sdk:
//! the seed's whole flow, NEFT batches with their status callback events, holds,
//! failures and refunds, idempotency, crash recovery.

mod eko_support;
use kosh_core::ids::{RecipientId, Tid, UserCode};
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::{
    available, call, get, recipient, sandbox_otp, sandbox_partner, status_events, tid_of, transfer, verified_customer, wait_for,
    AGENT,
};
use eko_support::{onboard, sandbox, Backend};
use kosh_core::dmt::TxStatus;
use kosh_core::money::Paise;
use kosh_core::pricing::Pricing;
use kosh_store::commands::dmt::{DmtCommand, NewTransfer};
use kosh_store::commands::Command;
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    the_seed_flow_end_to_end,
    neft_waits_for_its_batch_then_settles_with_a_status_event,
    a_late_failure_goes_to_refund_pending_and_refunds_with_the_otp,
    holds_resolve_on_inquiry,
    declines_and_bank_down_debit_nothing,
    the_same_client_ref_id_makes_one_transfer,
    a_transfer_left_unanswered_by_a_crash_is_finished_after_a_restart,
    a_late_failure_left_unanswered_by_a_crash_is_refund_pending_not_declined,
    a_replay_after_a_pricing_change_answers_the_original_transfer,
);

/// The seed's DMT flow, steps 1–7: onboard agent → customer lookup → create → verify →
/// add recipient → IMPS transfer → inquiry.
async fn the_seed_flow_end_to_end(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let user_code = onboard(&eko, "ABCPV1234K", "9876500001").await;
    let mobile = "9123400001";

    let missing = get(&eko, &format!("/customers/mobile_number:{mobile}"), &[("user_code", &user_code)]).await;
    assert_eq!((&missing["status"], &missing["response_type_id"]), (&json!(463), &json!(308)), "{missing}");

    let form = dmt_support::customer_form(&user_code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = call(&eko, Method::PUT, &format!("/customers/mobile_number:{mobile}"), &form).await;
    assert_eq!((&created["status"], &created["response_type_id"]), (&json!(0), &json!(327)), "{created}");
    assert_eq!(created["data"]["state"], "1");
    let otp_ref_id = created["data"]["otp_ref_id"].as_str().expect("otp_ref_id").to_owned();
    assert!(created["hint"].as_str().unwrap_or("").contains("purpose=dmt_customer"), "{created}");

    let pending = get(&eko, &format!("/customers/mobile_number:{mobile}"), &[("user_code", &user_code)]).await;
    assert_eq!((&pending["response_type_id"], &pending["data"]["state"]), (&json!(309), &json!("1")), "{pending}");

    let otp = sandbox_otp(&app, mobile, "dmt_customer").await;
    let verify_form =
        [("user_code", user_code.as_str()), ("id_type", "mobile_number"), ("id", mobile), ("otp_ref_id", &otp_ref_id)];
    let verified = call(&eko, Method::PUT, &format!("/customers/verification/otp:{otp}"), &verify_form).await;
    assert_eq!((&verified["status"], &verified["response_type_id"]), (&json!(0), &json!(2132)), "{verified}");
    assert_eq!(verified["data"]["customer_profile"]["state"], "2");

    let profile = get(&eko, &format!("/customers/mobile_number:{mobile}"), &[("user_code", &user_code)]).await;
    assert_eq!(profile["data"]["state"], "2", "{profile}");
    assert_eq!((&profile["data"]["total_limit"], &profile["data"]["available_limit"]), (&json!(25000.0), &json!(25000.0)));

    let none = get(&eko, &format!("/customers/mobile_number:{mobile}/recipients"), &[("user_code", &user_code)]).await;
    assert_eq!((&none["response_type_id"], &none["data"]["recipient_list"]), (&json!(22), &json!([])), "{none}");
    let rid = recipient(&eko, &user_code, mobile, "123456789012", "SBIN0001234").await;
    let list = get(&eko, &format!("/customers/mobile_number:{mobile}/recipients"), &[("user_code", &user_code)]).await;
    assert_eq!(list["response_type_id"], 23, "{list}");
    assert_eq!(list["data"]["recipient_list"][0]["account"], "XXXXXXXX9012");
    assert_eq!(list["data"]["recipient_list"][0]["bank"], "State Bank of India");

    let before = available(&app, partner_id).await;
    let form = dmt_support::transfer_form(&user_code, mobile, &rid, "1500", "SEED-IMPS-1", "2");
    let sent = call(&eko, Method::POST, "/transactions", &form).await;
    assert_eq!(
        (&sent["status"], &sent["response_status_id"], &sent["response_type_id"], &sent["message"]),
        (&json!(0), &json!(0), &json!(325), &json!("Transaction successful")),
        "{sent}"
    );
    let data = &sent["data"];
    assert_eq!(
        (&data["tx_status"], &data["txstatus_desc"], &data["channel_desc"]),
        (&json!("0"), &json!("Success"), &json!("IMPS"))
    );
    assert_eq!(
        (&data["amount"], &data["fee"], &data["collectable_amount"]),
        (&json!("1500.00"), &json!("15.0"), &json!("1515.0"))
    );
    assert_eq!(data["bank_ref_num"].as_str().map(str::len), Some(12), "{data}");
    let charges = Pricing::default().charges(Paise::new(150_000).unwrap());
    assert_eq!(
        available(&app, partner_id).await,
        before - charges.debit_paise().unwrap().get(),
        "one debit of amount + fee − commission + TDS"
    );
    assert_eq!(
        data["balance"],
        kosh_core::money::Paise::new(before - charges.debit_paise().unwrap().get()).unwrap().to_java_double_string()
    );

    let tid = data["tid"].as_str().expect("tid").to_owned();
    for path in [format!("/transactions/{tid}"), "/transactions/client_ref_id:SEED-IMPS-1".to_owned()] {
        let inquiry = get(&eko, &path, &[("user_code", &user_code)]).await;
        assert_eq!((&inquiry["status"], &inquiry["response_type_id"]), (&json!(0), &json!(1472)), "{inquiry}");
        assert_eq!((&inquiry["data"]["tx_status"], &inquiry["data"]["tid"]), (&json!("0"), &json!(tid)));
        assert_eq!(inquiry["data"]["bank_ref_num"], data["bank_ref_num"]);
    }
    let used = get(&eko, &format!("/customers/mobile_number:{mobile}"), &[("user_code", &user_code)]).await;
    assert_eq!((&used["data"]["used_limit"], &used["data"]["available_limit"]), (&json!(1500.0), &json!(23500.0)), "{used}");

    assert!(status_events(&app, partner_id).await.is_empty(), "the initial answer is not a status change callback");
    let totals = app.state.store.ledger_totals().await.expect("totals");
    assert_eq!((totals.debits_posted, totals.debits_pending), (totals.credits_posted, totals.credits_pending));
    app.stop().await;
}

async fn neft_waits_for_its_batch_then_settles_with_a_status_event(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    verified_customer(&app, &eko, AGENT, "9123400002").await;
    let rid = recipient(&eko, AGENT, "9123400002", "5500001234", "HDFC0000123").await;
    let before = available(&app, partner_id).await;

    let sent = transfer(&eko, "9123400002", &rid, "2000.50", "NEFT-1", "1").await;
    assert_eq!(
        (&sent["status"], &sent["response_status_id"], &sent["data"]["tx_status"]),
        (&json!(0), &json!(2), &json!("2")),
        "{sent}"
    );
    assert_eq!(sent["data"]["channel_desc"], "NEFT");
    let tid = tid_of(&sent);
    let debit = Pricing::default().charges(Paise::new(200_050).unwrap()).debit_paise().unwrap().get();
    assert_eq!(available(&app, partner_id).await, before - debit, "reserved while the batch is awaited");
    let inquiry = get(&eko, &format!("/transactions/{tid}"), &[]).await;
    assert_eq!((&inquiry["response_status_id"], &inquiry["data"]["tx_status"]), (&json!(2), &json!("2")), "{inquiry}");

    clock.advance_ms(61_000); // past the next 60 s batch boundary
    let settled = wait_for(&app, partner_id, tid, |t| t.tx_status == TxStatus::Success).await;
    assert_eq!(settled.bank_ref_num.len(), 12);
    assert_eq!(available(&app, partner_id).await, before - debit, "posted, not debited twice");
    let entry = app.state.store.ledger_entry(settled.entry_id).await.expect("read").expect("entry");
    assert_eq!(entry.state, "posted");

    let events = status_events(&app, partner_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        (&e["tx_status"], &e["txstatus_desc"], &e["old_tx_status"], &e["old_tx_status_desc"]),
        (&json!(0), &json!("Success"), &json!(2), &json!("Initiated"))
    );
    assert_eq!((&e["tid"], &e["client_ref_id"], &e["amount"]), (&json!(tid), &json!("NEFT-1"), &json!(2000.5)));
    assert_eq!((&e["payment_mode"], &e["ifsc"], &e["account"]), (&json!("4"), &json!("HDFC0000123"), &json!("5500001234")));
    assert_eq!(
        (&e["bank_ref_num"], &e["recipient_name"], &e["sender_name"]),
        (&json!(settled.bank_ref_num), &json!("Ravi Kumar"), &json!("Asha Verma"))
    );
    assert!(e["timestamp"].as_str().is_some_and(|t| t.len() == 19 && &t[10..11] == " "), "{e}");
    app.stop().await;
}

async fn a_late_failure_goes_to_refund_pending_and_refunds_with_the_otp(backend: Backend) {
    let (app, clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400003";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let rid = recipient(&eko, AGENT, mobile, "7700004444", "ICIC0000456").await;
    let before = available(&app, partner_id).await;

    let sent = transfer(&eko, mobile, &rid, "1000", "FAIL-LATER-1", "2").await;
    assert_eq!((&sent["response_status_id"], &sent["data"]["tx_status"]), (&json!(2), &json!("2")), "{sent}");
    let tid = tid_of(&sent);
    clock.advance_ms(31_000);
    let failed = wait_for(&app, partner_id, tid, |t| t.tx_status == TxStatus::RefundPending).await;
    assert!(failed.reason.contains("returned"), "{}", failed.reason);
    let charges = Pricing::default().charges(Paise::new(100_000).unwrap());
    assert_eq!(
        available(&app, partner_id).await,
        before - charges.debit_paise().unwrap().get(),
        "still reserved until the refund"
    );

    let inquiry = get(&eko, &format!("/transactions/{tid}"), &[]).await;
    assert_eq!((&inquiry["response_status_id"], &inquiry["data"]["tx_status"]), (&json!(3), &json!("3")), "{inquiry}");

    let purpose = format!("dmt_refund:{tid}");
    let otp = sandbox_otp(&app, mobile, &purpose).await;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let refused =
        call(&eko, Method::POST, &format!("/transactions/{tid}/refund"), &[("user_code", AGENT), ("otp", wrong), ("state", "1")])
            .await;
    assert_eq!((&refused["status"], &refused["message"]), (&json!(302), &json!("Wrong OTP")), "{refused}");
    assert_eq!(available(&app, partner_id).await, before - charges.debit_paise().unwrap().get(), "a wrong OTP changes nothing");

    let resent = call(&eko, Method::POST, &format!("/transactions/{tid}/refund/otp"), &[("user_code", AGENT)]).await;
    assert_eq!((&resent["status"], &resent["response_type_id"]), (&json!(0), &json!(2133)), "{resent}");
    let otp = sandbox_otp(&app, mobile, &purpose).await;
    let refunded =
        call(&eko, Method::POST, &format!("/transactions/{tid}/refund"), &[("user_code", AGENT), ("otp", &otp), ("state", "1")])
            .await;
    assert_eq!(
        (&refunded["status"], &refunded["response_type_id"], &refunded["message"]),
        (&json!(0), &json!(74), &json!("Refund done")),
        "{refunded}"
    );
    let d = &refunded["data"];
    assert_eq!((&d["refunded_amount"], &d["amount"], &d["fee"]), (&json!("1010.00"), &json!("1000.00"), &json!("10.0")));
    assert_eq!((&d["commission_reverse"], &d["tds"], &d["tx_status"]), (&json!("5.67"), &json!("0.11"), &json!("4")));
    assert!(d["refund_tid"].as_str().is_some_and(|r| r != tid.to_string()), "{d}");
    assert_eq!(available(&app, partner_id).await, before, "the e-value is back, fee and commission reversed");

    let events = status_events(&app, partner_id).await;
    let moves: Vec<(i64, i64)> =
        events.iter().map(|e| (e["old_tx_status"].as_i64().unwrap(), e["tx_status"].as_i64().unwrap())).collect();
    assert_eq!(moves, vec![(2, 3), (3, 4)], "{events:?}");
    assert_eq!(events[1]["refund_tid"].as_i64().map(|r| r.to_string()), d["refund_tid"].as_str().map(str::to_owned));

    let again = call(&eko, Method::POST, &format!("/transactions/{tid}/refund"), &[("user_code", AGENT), ("otp", &otp)]).await;
    assert_eq!((&again["status"], &again["message"]), (&json!(1), &json!("Transaction already refunded")), "{again}");
    let profile = get(&eko, &format!("/customers/mobile_number:{mobile}"), &[("user_code", AGENT)]).await;
    assert_eq!(profile["data"]["used_limit"], json!(0.0), "a refunded transfer gives its limit back: {profile}");
    app.stop().await;
}

async fn holds_resolve_on_inquiry(backend: Backend) {
    // No worker: only the inquiry asks the rail.
    let (app, clock) = dmt_support::start(backend, |c| c.rail_worker_tick_ms = 0).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400004";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let settles = recipient(&eko, AGENT, mobile, "8800002222", "UTIB0000789").await;
    let fails = recipient(&eko, AGENT, mobile, "8800003333", "UTIB0000789").await;

    let held = transfer(&eko, mobile, &settles, "300", "HOLD-OK", "2").await;
    assert_eq!(
        (&held["status"], &held["response_status_id"], &held["data"]["tx_status"]),
        (&json!(0), &json!(5), &json!("5")),
        "{held}"
    );
    let held_fail = transfer(&eko, mobile, &fails, "400", "HOLD-FAIL", "2").await;
    assert_eq!(held_fail["data"]["tx_status"], "5", "{held_fail}");

    let early = get(&eko, "/transactions/client_ref_id:HOLD-OK", &[]).await;
    assert_eq!(early["data"]["tx_status"], "5", "the hold lasts rail_hold_secs: {early}");
    clock.advance_ms(60_000);
    let resolved = get(&eko, "/transactions/client_ref_id:HOLD-OK", &[]).await;
    assert_eq!((&resolved["response_status_id"], &resolved["data"]["tx_status"]), (&json!(0), &json!("0")), "{resolved}");
    let failed = get(&eko, "/transactions/client_ref_id:HOLD-FAIL", &[]).await;
    assert_eq!((&failed["response_status_id"], &failed["data"]["tx_status"]), (&json!(3), &json!("3")), "{failed}");

    let moves: Vec<(i64, i64)> = status_events(&app, partner_id)
        .await
        .iter()
        .map(|e| (e["old_tx_status"].as_i64().unwrap(), e["tx_status"].as_i64().unwrap()))
        .collect();
    assert_eq!(moves, vec![(5, 0), (5, 3)]);
    app.stop().await;
}

async fn declines_and_bank_down_debit_nothing(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400005";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let declines = recipient(&eko, AGENT, mobile, "6600001111", "KKBK0000111").await;
    let down = recipient(&eko, AGENT, mobile, "6600005555", "KKBK0000111").await;
    let before = available(&app, partner_id).await;

    let declined = transfer(&eko, mobile, &declines, "250", "DECLINE-1", "2").await;
    assert_eq!(
        (&declined["status"], &declined["response_status_id"], &declined["message"]),
        (&json!(55), &json!(1), &json!("Transaction declined")),
        "{declined}"
    );
    assert_eq!(declined["data"]["tx_status"], "1");
    let bank_down = transfer(&eko, mobile, &down, "250", "DOWN-1", "2").await;
    assert_eq!(
        (&bank_down["status"], &bank_down["response_type_id"], &bank_down["data"]["tx_status"]),
        (&json!(544), &json!(544), &json!("1")),
        "{bank_down}"
    );
    assert!(bank_down["hint"].as_str().unwrap_or("").contains("KKBK"), "{bank_down}");

    assert_eq!(available(&app, partner_id).await, before, "nothing debited");
    let profile = get(&eko, &format!("/customers/mobile_number:{mobile}"), &[("user_code", AGENT)]).await;
    assert_eq!(profile["data"]["used_limit"], json!(0.0), "{profile}");
    let again = transfer(&eko, mobile, &down, "250", "DOWN-1", "2").await;
    assert_eq!(
        (&again["status"], &again["data"]["tid"]),
        (&json!(544), &bank_down["data"]["tid"]),
        "a replay answers the same result: {again}"
    );
    let inquiry = get(&eko, "/transactions/client_ref_id:DOWN-1", &[]).await;
    assert_eq!((&inquiry["status"], &inquiry["data"]["tx_status"]), (&json!(0), &json!("1")), "{inquiry}");
    assert!(status_events(&app, partner_id).await.is_empty());
    app.stop().await;
}

async fn the_same_client_ref_id_makes_one_transfer(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400006";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let rid = recipient(&eko, AGENT, mobile, "4400001234", "YESB0000001").await;
    let before = available(&app, partner_id).await;

    let first = transfer(&eko, mobile, &rid, "100", "IDEM-1", "2").await;
    let second = transfer(&eko, mobile, &rid, "100", "IDEM-1", "2").await;
    assert_eq!((&first["status"], &first["data"]["tid"]), (&second["status"], &second["data"]["tid"]), "{first} {second}");
    assert_eq!(second["data"]["tx_status"], "0");

    let answers = futures_join(16, |_| {
        let eko = eko.clone();
        let rid = rid.clone();
        async move { transfer(&eko, mobile, &rid, "200", "IDEM-2", "2").await }
    })
    .await;
    let tids: std::collections::BTreeSet<String> =
        answers.iter().map(|a| a["data"]["tid"].as_str().expect("tid").to_owned()).collect();
    assert_eq!(tids.len(), 1, "one transfer for one client_ref_id: {answers:?}");
    let debits = Pricing::default().charges(Paise::new(10_000).unwrap()).debit_paise().unwrap().get()
        + Pricing::default().charges(Paise::new(20_000).unwrap()).debit_paise().unwrap().get();
    assert_eq!(available(&app, partner_id).await, before - debits, "one debit per client_ref_id");
    assert_eq!(app.state.store.dmt_transfers(partner_id, Tid::new(0)).await.expect("list").len(), 2);

    let other = transfer(&eko, mobile, &rid, "300", "IDEM-1", "2").await;
    assert_eq!((&other["status"], &other["message"]), (&json!(1), &json!("Duplicate client_ref_id")), "{other}");
    assert_eq!(available(&app, partner_id).await, before - debits);
    app.stop().await;
}

/// Runs `n` futures made by `make` concurrently and collects their outputs.
async fn futures_join<F, T>(n: usize, make: impl Fn(usize) -> F) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// A request that records its transfer and dies before hearing from the rail: after a
/// restart, the worker asks the rail and finishes the transfer, with a status event.
async fn a_transfer_left_unanswered_by_a_crash_is_finished_after_a_restart(backend: Backend) {
    let clock = kosh_core::clock::ManualClock::new(kosh_core::clock::Clock::now_ms(&kosh_core::clock::SystemClock));
    let mut config = None;
    let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400;
        c.rail_worker_tick_ms = 0;
        config = Some(c.clone());
    })
    .await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400007";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let rid: RecipientId = recipient(&eko, AGENT, mobile, "3300001234", "FDRL0000001").await.parse().expect("id");
    let before = available(&app, partner_id).await;
    let recorded = NewTransfer {
        partner_id,
        user_code: UserCode::new(20_810_200),
        client_ref_id: "CRASH-1".into(),
        customer_mobile: mobile.into(),
        recipient_id: rid,
        amount_paise: Paise::new(50_000).unwrap(),
        channel: kosh_core::dmt::DmtChannel::Imps,
        pricing: Pricing::default(),
        recovery_ms: 30_000,
    };
    app.state.store.execute(Command::Dmt(DmtCommand::InitiateTransfer(recorded))).await.expect("recorded");
    let found = get(&eko, "/transactions/client_ref_id:CRASH-1", &[]).await;
    assert_eq!(
        (&found["status"], &found["data"]["tx_status"]),
        (&json!(0), &json!("2")),
        "found the instant it committed: {found}"
    );
    let tid = tid_of(&found);
    app.stop().await; // the node dies

    let mut config = config.expect("config");
    config.rail_worker_tick_ms = 10;
    clock.advance_ms(30_000);
    let restarted = kosh_server::App::start(config, clock.clone()).await.expect("restart");
    let restarted_partner = sandbox_partner(&restarted).await;
    let done = wait_for(&restarted, restarted_partner, tid, |t| t.tx_status == TxStatus::Success).await;
    assert_eq!(done.bank_ref_num.len(), 12);
    assert_eq!(
        available(&restarted, partner_id).await,
        before - Pricing::default().charges(Paise::new(50_000).unwrap()).debit_paise().unwrap().get()
    );
    let events = status_events(&restarted, partner_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((&events[0]["old_tx_status"], &events[0]["tx_status"]), (&json!(2), &json!(0)));
    restarted.stop().await;
}

/// A node records transfers to a late-failing account (`…4444`) and dies before asking
/// the rail; the worker after a restart asks only once the failure has happened. The
/// transfers follow the path of an uninterrupted one: refund pending (3), the debit kept
/// until the customer's OTP refunds it, not a decline (1) voided at once. IMPS and NEFT.
async fn a_late_failure_left_unanswered_by_a_crash_is_refund_pending_not_declined(backend: Backend) {
    let clock = kosh_core::clock::ManualClock::new(kosh_core::clock::Clock::now_ms(&kosh_core::clock::SystemClock));
    let mut config = None;
    let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400;
        c.rail_worker_tick_ms = 0; // the test runs the worker's rounds itself
        c.rail_late_failure_secs = 30;
        c.rail_recovery_secs = 30;
        config = Some(c.clone());
    })
    .await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400008";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let rid: RecipientId = recipient(&eko, AGENT, mobile, "5500004444", "ICIC0000456").await.parse().expect("id");
    let before = available(&app, partner_id).await;
    let mut tids = Vec::new();
    for (channel, reference) in
        [(kosh_core::dmt::DmtChannel::Imps, "CRASH-LATE-IMPS"), (kosh_core::dmt::DmtChannel::Neft, "CRASH-LATE-NEFT")]
    {
        let recorded = NewTransfer {
            partner_id,
            user_code: UserCode::new(20_810_200),
            client_ref_id: reference.into(),
            customer_mobile: mobile.into(),
            recipient_id: rid,
            amount_paise: Paise::new(60_000).unwrap(),
            channel,
            pricing: Pricing::default(),
            recovery_ms: 30_000,
        };
        app.state.store.execute(Command::Dmt(DmtCommand::InitiateTransfer(recorded))).await.expect("recorded");
        tids.push(tid_of(&get(&eko, &format!("/transactions/client_ref_id:{reference}"), &[]).await));
    }
    app.stop().await; // the node dies before asking the rail

    // Past the recovery delay and the late failure: the worker's first answer is the failure.
    clock.advance_ms(90_000);
    let restarted = kosh_server::App::start(config.expect("config"), clock.clone()).await.expect("restart");
    let claimed = kosh_server::workers::rail::run_once(&restarted.state).await.expect("a worker round");
    assert_eq!(claimed, 2, "{backend:?}");
    let debits = 2 * Pricing::default().charges(Paise::new(60_000).unwrap()).debit_paise().unwrap().get();
    for tid in &tids {
        let t = restarted.state.store.dmt_transfer(partner_id, *tid).await.expect("read").expect("the transfer");
        assert_eq!(t.tx_status, TxStatus::RefundPending, "{backend:?} {:?}: a late failure, not a decline", t.channel);
        assert!(t.reason.contains("returned"), "{}", t.reason);
    }
    assert_eq!(available(&restarted, partner_id).await, before - debits, "still reserved until the refunds");
    let moves: Vec<(i64, i64)> = status_events(&restarted, partner_id)
        .await
        .iter()
        .map(|e| (e["old_tx_status"].as_i64().unwrap(), e["tx_status"].as_i64().unwrap()))
        .collect();
    assert_eq!(moves, vec![(2, 3), (2, 3)], "{backend:?}");

    let eko = sandbox(&restarted, "/ekoapi/v1");
    for tid in &tids {
        let otp = sandbox_otp(&restarted, mobile, &format!("dmt_refund:{tid}")).await;
        let form = [("user_code", AGENT), ("otp", otp.as_str()), ("state", "1")];
        let refunded = call(&eko, Method::POST, &format!("/transactions/{tid}/refund"), &form).await;
        assert_eq!((&refunded["status"], &refunded["data"]["tx_status"]), (&json!(0), &json!("4")), "{refunded}");
    }
    assert_eq!(available(&restarted, partner_id).await, before, "{backend:?}: both refunded with the customer's OTP");
    restarted.stop().await;
}

/// The idempotency fingerprint covers what the partner sent, not the server's settings:
/// after a restart with another pricing table and another recovery delay, the same
/// request answers the original transfer (same tid, no second debit), while the
/// client_ref_id with another amount is still a duplicate.
async fn a_replay_after_a_pricing_change_answers_the_original_transfer(backend: Backend) {
    let mut config = None;
    let app = eko_support::start(backend, |c| config = Some(c.clone())).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let partner_id = sandbox_partner(&app).await;
    let mobile = "9123400009";
    verified_customer(&app, &eko, AGENT, mobile).await;
    let rid = recipient(&eko, AGENT, mobile, "2200001234", "HDFC0000001").await;
    let before = available(&app, partner_id).await;
    let first = transfer(&eko, mobile, &rid, "1000", "REPRICED-1", "2").await;
    assert_eq!((&first["status"], &first["data"]["tx_status"]), (&json!(0), &json!("0")), "{first}");
    let after_first = available(&app, partner_id).await;
    assert_eq!(after_first, before - Pricing::default().charges(Paise::new(100_000).unwrap()).debit_paise().unwrap().get());
    app.stop().await;

    let mut config = config.expect("config");
    let repriced = Pricing { fee_bp: 200, fee_min_paise: Paise::new(2_500).unwrap(), ..Pricing::default() };
    config.dmt_pricing = repriced.clone();
    config.rail_recovery_secs = 600;
    let restarted = kosh_server::App::start(config, std::sync::Arc::new(kosh_core::clock::SystemClock)).await.expect("restart");
    let eko = sandbox(&restarted, "/ekoapi/v1");
    let again = transfer(&eko, mobile, &rid, "1000", "REPRICED-1", "2").await;
    assert_eq!(
        (&again["status"], &again["data"]["tid"], &again["data"]["tx_status"]),
        (&json!(0), &first["data"]["tid"], &json!("0")),
        "{backend:?}: the original answer: {again}"
    );
    assert_eq!(again["data"]["fee"], first["data"]["fee"], "{again}");
    assert_eq!(available(&restarted, partner_id).await, after_first, "{backend:?}: no second debit");

    let changed = transfer(&eko, mobile, &rid, "1001", "REPRICED-1", "2").await;
    assert_eq!((&changed["status"], &changed["message"]), (&json!(1), &json!("Duplicate client_ref_id")), "{changed}");
    let fresh = transfer(&eko, mobile, &rid, "1000", "REPRICED-2", "2").await;
    assert_eq!(fresh["data"]["tx_status"], "0", "{fresh}");
    let new_debit = repriced.charges(Paise::new(100_000).unwrap()).debit_paise().unwrap().get();
    assert_ne!(new_debit, Pricing::default().charges(Paise::new(100_000).unwrap()).debit_paise().unwrap().get());
    assert_eq!(
        available(&restarted, partner_id).await,
        after_first - new_debit,
        "{backend:?}: a new transfer pays the new table"
    );
    assert_eq!(restarted.state.store.dmt_transfers(partner_id, Tid::new(0)).await.expect("list").len(), 2);
    restarted.stop().await;
}

/// The rail worker's lease is a setting, within bounds.
#[test]
fn the_rail_lease_is_configurable_within_bounds() {
    use kosh_server::config::Config;
    assert_eq!(Config::default().rail_lease_secs, 30);
    for ok in [1, 30, 3_600] {
        assert!(Config { rail_lease_secs: ok, ..Config::default() }.validate().is_ok(), "{ok}");
    }
    for bad in [0, 3_601] {
        let err = Config { rail_lease_secs: bad, ..Config::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("rail_lease_secs must be between 1 and 3600"), "{bad}: {err}");
    }
}
