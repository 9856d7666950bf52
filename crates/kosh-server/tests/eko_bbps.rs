//! Bill payments (BBPS, recharges, credit-card bills) through the real server on both
//! backends, signed with kosh-sdk: the catalogue's shapes, fetch with valid and invalid
//! parameters, instant and offline payments with the wallet to the paisa, the 208
//! mismatch, biller failures and refunds, idempotency and concurrent duplicates, every
//! inquiry path, the status callback at a local receiver, and bad input.

mod eko_support;
use kosh_testkit::on_both_backends;
mod callback_support;
mod dmt_support;

use callback_support::{reply, set_endpoint, Receiver, WAIT};
use dmt_support::{available, recipient, sandbox_partner, status_events, verified_customer, AGENT};
use eko_support::{sandbox, send, signed_at, Backend};
use kosh_core::clock::{Clock, SharedClock, SystemClock};
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::App;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(
    the_catalogue_has_the_documented_shapes,
    fetch_checks_every_parameter_against_the_operators_rules,
    an_instant_payment_debits_the_wallet_to_the_paisa_and_every_inquiry_finds_it,
    an_offline_payment_is_awaited_then_final_by_the_status_callback,
    an_amount_mismatch_names_both_amounts_returns_a_tid_and_debits_nothing,
    a_biller_failure_after_the_debit_is_refunded,
    the_same_client_ref_id_makes_one_payment_even_concurrently,
    bad_input_is_refused_clearly_and_debits_nothing,
    a_credit_card_bill_pays_a_dmt_recipient,
    a_payment_left_unanswered_by_a_crash_is_finished_by_the_worker,
    one_bill_is_paid_once_even_by_concurrent_payments,
);

/// How long (of the manual clock) offline and slow payments stay awaited in these tests.
const AWAITED_SECS: u64 = 600;

async fn start(
    backend: Backend,
    configure: impl FnOnce(&mut kosh_server::config::Config),
) -> (App, Arc<kosh_core::clock::ManualClock>) {
    dmt_support::start(backend, |c| {
        c.bbps_awaited_secs = AWAITED_SECS;
        configure(c);
    })
    .await
}

/// A fetch or pay body for `operator` and `account` (the agent, customer and place fixed).
fn bill(operator: &str, account: &str, client_ref_id: &str) -> Value {
    json!({
        "initiator_id": Credentials::sandbox().initiator_id,
        "user_code": AGENT,
        "client_ref_id": client_ref_id,
        "utility_acc_no": account,
        "confirmation_mobile_no": "9999999999",
        "sender_name": "Kaushik",
        "operator_id": operator,
        "source_ip": "121.121.1.1",
        "latlong": "28.4595,77.0266",
    })
}

fn with(mut body: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

/// `POST /billpayments/fetchbill` (v2); HTTP 200 expected.
async fn fetch(eko: &Client, body: &Value) -> Value {
    let answer = eko.send_json(Method::POST, "/billpayments/fetchbill", body, None).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// Pays at `path` with the documented request_hash; answers the HTTP status and body.
async fn pay_at(eko: &Client, path: &str, body: &Value) -> (u16, Value) {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let (account, amount) = (text("utility_acc_no"), text("amount"));
    let fields = [account.as_str(), amount.as_str(), AGENT];
    let answer = eko.send_json(Method::POST, path, body, Some(&fields)).await.expect("the server answers");
    (answer.status, answer.body)
}

/// `POST /billpayments/paybill` (v2); HTTP 200 expected.
async fn pay(eko: &Client, body: &Value) -> Value {
    let (status, body) = pay_at(eko, "/billpayments/paybill", body).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn tid(body: &Value) -> kosh_core::ids::Tid {
    body["data"]["tid"].as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("a tid: {body}"))
}

/// An amount of paise as `Paise`.
fn money(paise: i64) -> kosh_core::money::Paise {
    kosh_core::money::Paise::new(paise).expect("an amount")
}

/// What a wallet is debited for `charges`, in paise.
fn debit(charges: &kosh_core::pricing::Charges) -> i64 {
    charges.debit_paise().expect("charges in range").get()
}

fn paise(rupees: &Value) -> i64 {
    kosh_core::money::Paise::parse_rupees(rupees.as_str().expect("an amount")).expect("rupees").get()
}

async fn the_catalogue_has_the_documented_shapes(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let v3 = sandbox(&app, "/ekoapi/v3");
    for (client, path, rt) in [(&v2, "/billpayments/operators_category", 2457), (&v3, "/customer/payment/bbps/categories", 2457)]
    {
        let body = eko_support::get(client, path, &[]).await;
        assert_eq!((&body["status"], &body["response_type_id"]), (&json!(0), &json!(rt)), "{body}");
        let list = body["data"].as_array().expect("a list");
        let names: Vec<&str> = list.iter().filter_map(|c| c["operator_category_name"].as_str()).collect();
        for wanted in [
            "Electricity",
            "Water",
            "Gas",
            "Broadband Postpaid",
            "DTH",
            "Mobile Postpaid",
            "Mobile Prepaid",
            "Insurance",
            "Loan Repayment",
            "FASTag",
            "Credit Card",
        ] {
            assert!(names.contains(&wanted), "{wanted} in {names:?}");
        }
        assert!(list[0]["operator_category_id"].is_i64() && list[0]["operator_category_group"].is_string(), "{}", list[0]);
        assert_eq!(list[0]["status"], "1");
    }
    let locations = eko_support::get(&v3, "/customer/payment/bbps/locations", &[]).await;
    let delhi = locations["data"].as_array().unwrap().iter().find(|l| l["abbreviation"] == "DL").cloned().expect("Delhi");
    assert_eq!((&delhi["operator_location_id"], &delhi["operator_location_name"]), (&json!("7"), &json!("Delhi")));

    let delhi_power = eko_support::get(&v2, "/billpayments/operators", &[("category", "8"), ("location", "7")]).await;
    assert_eq!(delhi_power["response_type_id"], 2461, "{delhi_power}");
    let ops = delhi_power["data"].as_array().unwrap();
    assert!(!ops.is_empty() && ops.iter().all(|o| o["operator_category"] == 8 && o["location_id"] == 7), "{delhi_power}");
    for key in [
        "operator_id",
        "name",
        "billFetchResponse",
        "high_commission_channel",
        "kyc_required",
        "operator_category",
        "location_id",
    ] {
        assert!(ops[0].get(key).is_some(), "{key} in {}", ops[0]);
    }
    let bad_filter = eko_support::get(&v2, "/billpayments/operators", &[("category", "gas")]).await;
    assert_eq!(
        bad_filter["invalid_params"]["category"], "must be an id (a number) from the categories list (operator_category_id)",
        "{bad_filter}"
    );

    let lic = v2.get("/billpayments/operators/110", &[]).await.unwrap().body;
    assert_eq!((&lic["operator_id"], &lic["fetchBill"], &lic["BBPS"]), (&json!(110), &json!(1), &json!(1)), "{lic}");
    assert_eq!(lic["operator_name"], "Life Insurance Corporation of India (LIC)");
    let params = lic["data"].as_array().unwrap();
    assert_eq!(params.iter().map(|p| p["param_name"].as_str().unwrap()).collect::<Vec<_>>(), ["utility_acc_no", "dob"]);
    assert_eq!((&params[1]["param_id"], &params[1]["param_type"]), (&json!("2"), &json!("Date")));
    assert!(params[1]["regex"].as_str().unwrap().starts_with('^') && params[1]["error_message"].is_string());
    let v3_params = v3.get("/customer/payment/bbps/operator/3/parameters", &[]).await.unwrap().body;
    assert_eq!((&v3_params["response_type_id"], &v3_params["data"][1]["param_name"]), (&json!(2463), &json!("cycle_number")));
    let unknown = v2.get("/billpayments/operators/9999", &[]).await.unwrap().body;
    assert!(unknown["invalid_params"]["operator_id"].as_str().unwrap().contains("not an operator"), "{unknown}");

    let districts = eko_support::get(&v3, "/customer/payment/bbps/operators/190/district-discome", &[]).await;
    assert_eq!(districts["response_type_id"], 2110);
    assert!(districts["data"].as_array().unwrap().iter().any(|d| d["district"] == "Lucknow" && d["discom"] == "MVVNL"));
    let operator = eko_support::get(&v3, "/customer/payment/bbps/recharge/9876543210/operator", &[]).await;
    assert_eq!((&operator["response_type_id"], &operator["data"]["operator_category"]), (&json!(1804), &json!(5)), "{operator}");
    let plans = eko_support::get(&v3, "/customer/payment/bbps/recharge/9876543210/operator/plans", &[]).await;
    assert_eq!(plans["data"]["operator_id"], operator["data"]["operator_id"]);
    assert!(plans["data"]["plans"].as_array().unwrap().iter().any(|p| p["amount"] == "199.00"), "{plans}");
    app.stop().await;
}

async fn fetch_checks_every_parameter_against_the_operators_rules(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let fetched = fetch(&v2, &bill("1", "151627591", "F-1")).await;
    assert_eq!(
        (&fetched["status"], &fetched["response_status_id"], &fetched["response_type_id"]),
        (&json!(0), &json!(-1), &json!(1052)),
        "{fetched}"
    );
    let data = &fetched["data"];
    assert!(paise(&data["amount"]) >= 10_000, "{data}");
    assert_eq!(data["customer_id"], "151627591");
    for key in ["utilitycustomername", "billdate", "billDueDate", "billfetchresponse", "bbpstrxnrefid"] {
        assert!(!data[key].as_str().unwrap_or_default().is_empty(), "{key}: {data}");
    }
    // The same account on v3 (a GET with query parameters) fetches the same bill.
    let v3 = sandbox(&app, "/ekoapi/v3");
    let query: Vec<(String, String)> = bill("1", "151627591", "F-2")
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "initiator_id")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let v3_fetch = eko_support::get(&v3, "/customer/payment/bbps/bill", &query).await;
    assert_eq!((&v3_fetch["response_type_id"], &v3_fetch["data"]["amount"]), (&json!(1052), &data["amount"]), "{v3_fetch}");

    // LIC needs the policy holder's date of birth: missing, then malformed.
    let missing = fetch(&v2, &bill("110", "123456789", "F-3")).await;
    assert_eq!((&missing["status"], &missing["invalid_params"]["dob"]), (&json!(97), &json!("is required")), "{missing}");
    let malformed = fetch(&v2, &with(bill("110", "12345", "F-4"), json!({ "dob": "1990-04-15" }))).await;
    assert_eq!(malformed["invalid_params"]["utility_acc_no"], "Please enter your 9 digit Policy Number", "{malformed}");
    assert_eq!(malformed["invalid_params"]["dob"], "Please enter the policy holder's date of birth as DD/MM/YYYY");
    let lic = fetch(&v2, &with(bill("110", "123456789", "F-5"), json!({ "dob": "15/04/1990" }))).await;
    assert_eq!(lic["response_type_id"], 1052, "{lic}");
    // MSEDCL: its billing unit.
    let msedcl = fetch(&v2, &with(bill("3", "123456789012", "F-6"), json!({ "cycle_number": "12" }))).await;
    assert_eq!(
        msedcl["invalid_params"]["cycle_number"], "Please enter the 4 digit Billing Unit printed on your bill",
        "{msedcl}"
    );
    let bses = fetch(&v2, &bill("1", "15162759", "F-7")).await;
    assert_eq!(bses["invalid_params"]["utility_acc_no"], "Please enter a valid 9 digit CA Number (eg. 151627591)");
    let unknown = fetch(&v2, &bill("4242", "151627591", "F-8")).await;
    assert!(unknown["invalid_params"]["operator_id"].as_str().unwrap().contains("not an operator Kosh knows"), "{unknown}");

    let none_due = fetch(&v2, &bill("1", "151621111", "F-9")).await;
    assert_eq!(
        (&none_due["status"], &none_due["response_type_id"], &none_due["message"]),
        (&json!(1), &json!(1468), &json!("No bill due"))
    );
    let down = fetch(&v2, &bill("60", "1234562222", "F-10")).await;
    assert_eq!((&down["status"], &down["response_type_id"]), (&json!(544), &json!(1468)), "{down}");
    let prepaid = fetch(&v2, &bill("100", "9876543210", "F-11")).await;
    assert_eq!(prepaid["message"], "Bill fetch is not supported for this operator", "{prepaid}");
    app.stop().await;
}

async fn an_instant_payment_debits_the_wallet_to_the_paisa_and_every_inquiry_finds_it(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let fetched = fetch(&v2, &bill("1", "151627591", "P-1")).await;
    let amount = fetched["data"]["amount"].as_str().unwrap().to_owned();
    let before = available(&app, partner_id).await;

    let paid = pay(&v2, &with(bill("1", "151627591", "P-1"), json!({ "amount": amount }))).await;
    assert_eq!(
        (&paid["status"], &paid["response_status_id"], &paid["response_type_id"]),
        (&json!(0), &json!(0), &json!(333)),
        "{paid}"
    );
    assert_eq!(paid["message"], "Success Last_used_OkeyKey: 0");
    let data = &paid["data"];
    assert_eq!(
        (&data["tx_status"], &data["txstatus_desc"], &data["operator_name"]),
        (&json!("0"), &json!("Success"), &json!("BSES Rajdhani"))
    );
    assert!(data["bbpstrxnrefid"].as_str().unwrap().starts_with("BBPS"), "{data}");
    assert_eq!(
        (&data["billnumber"], &data["billdate"]),
        (&fetched["data"]["billnumber"], &fetched["data"]["billdate"]),
        "{data}"
    );
    assert_eq!(data["utilitycustomername"], fetched["data"]["utilitycustomername"]);
    let charges = app.state.config.bbps_pricing.charges(money(paise(&fetched["data"]["amount"])));
    assert_eq!(available(&app, partner_id).await, before - debit(&charges), "amount + fee − commission + TDS, once");
    assert_eq!(data["balance"], kosh_core::money::Paise::new(before - debit(&charges)).unwrap().to_java_double_string());
    assert_eq!(data["commission"], charges.commission_paise.to_java_double_string());
    let tid = tid(&paid);
    assert!(tid.get() > 6_000_000_000, "BBPS tids come from their own counter: {tid}");

    let v3 = sandbox(&app, "/ekoapi/v3");
    let paths = [
        (&v2, format!("/billpayments/transactions/{tid}")),
        (&v2, "/billpayments/transactions/client_ref_id:P-1".to_owned()),
        (&v3, format!("/customer/payment/bbps/transactions/{tid}")),
        (&v2, format!("/transactions/{tid}")),
        (&v2, "/transactions/client_ref_id:P-1".to_owned()),
    ];
    for (client, path) in paths {
        let inquiry = eko_support::get(client, &path, &[("user_code", AGENT)]).await;
        assert_eq!((&inquiry["status"], &inquiry["response_type_id"]), (&json!(0), &json!(1472)), "{path}: {inquiry}");
        assert_eq!((&inquiry["data"]["tid"], &inquiry["data"]["tx_status"]), (&json!(tid.to_string()), &json!("0")), "{path}");
    }
    for reference in [tid.to_string(), "client_ref_id:P-1".into(), "P-1".into()] {
        let reply =
            kosh_server::eko::bbps::inquiry_reply(&app.state, partner_id, &reference).await.expect("answers").expect("found");
        assert_eq!(reply.body()["data"]["tid"], tid.to_string());
    }
    assert!(kosh_server::eko::bbps::inquiry_reply(&app.state, partner_id, "NOPE-1").await.expect("answers").is_none());

    // The bill is paid: a second payment of it (another client_ref_id) is refused, and a
    // fresh fetch finds nothing due.
    let after = available(&app, partner_id).await;
    let again = pay(&v2, &with(bill("1", "151627591", "P-2"), json!({ "amount": amount }))).await;
    assert_eq!((&again["status"], &again["message"]), (&json!(1), &json!("This bill was already paid")), "{again}");
    assert!(again["hint"].as_str().unwrap().contains(&tid.to_string()), "{again}");
    let refetch = fetch(&v2, &bill("1", "151627591", "P-3")).await;
    assert_eq!(refetch["message"], "No bill due: the bill was paid", "{refetch}");
    // A prepaid recharge needs no fetch.
    let recharge = pay(&v2, &with(bill("101", "9876543210", "P-4"), json!({ "amount": "199" }))).await;
    assert_eq!(recharge["data"]["tx_status"], "0", "{recharge}");
    let recharge_charges = app.state.config.bbps_pricing.charges(money(19_900));
    assert_eq!(available(&app, partner_id).await, after - debit(&recharge_charges));
    assert!(status_events(&app, partner_id).await.is_empty(), "instant answers are not status changes");
    let totals = app.state.store.ledger_totals().await.expect("totals");
    assert_eq!((totals.debits_posted, totals.debits_pending), (totals.credits_posted, totals.credits_pending));
    app.stop().await;
}

/// Waits (at most [`WAIT`] of real time) until the receiver has `n` requests.
async fn wait_for_requests(receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + WAIT;
    while receiver.count() < n {
        assert!(Instant::now() < deadline, "the receiver got {} requests, not {n}", receiver.count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn an_offline_payment_is_awaited_then_final_by_the_status_callback(backend: Backend) {
    let (app, clock) = start(backend, |c| {
        c.callbacks_tick_ms = 10;
        c.callbacks_jitter_pct = 0;
    })
    .await;
    let shared: SharedClock = clock.clone();
    let receiver = Receiver::start(shared, Arc::new(|_| reply(200, "{}"))).await;
    let partner_id = sandbox_partner(&app).await;
    set_endpoint(&app.state.store, partner_id, "tx_status", &format!("{}/eko/status", receiver.url), None).await;
    let v3 = sandbox(&app, "/ekoapi/v3");
    let v2 = sandbox(&app, "/ekoapi/v2");
    let fetched = fetch(&v2, &with(bill("28", "210000012345", "OFF-1"), json!({ "hc_channel": 1 }))).await;
    let amount = fetched["data"]["amount"].as_str().unwrap().to_owned();
    let before = available(&app, partner_id).await;

    let body = with(bill("28", "210000012345", "OFF-1"), json!({ "amount": amount, "hc_channel": "1" }));
    let (status, paid) = pay_at(&v3, "/customer/payment/bbps", &body).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(
        (&paid["status"], &paid["response_status_id"], &paid["data"]["tx_status"]),
        (&json!(0), &json!(2), &json!("2")),
        "{paid}"
    );
    assert_eq!(paid["data"]["hc_channel"], "1");
    let charges = app.state.config.bbps_hc_pricing.charges(money(paise(&fetched["data"]["amount"])));
    assert!(charges.commission_paise > app.state.config.bbps_pricing.charges(charges.amount_paise).commission_paise);
    assert_eq!(available(&app, partner_id).await, before - debit(&charges), "reserved while awaited");
    let tid = tid(&paid);
    assert_eq!(receiver.count(), 0, "no callback for the initial answer");

    clock.advance_ms(AWAITED_SECS as i64 * 1000 + 1_000); // the biller completes it; the worker applies it
    wait_for_requests(&receiver, 1).await;
    let body = receiver.received()[0].json();
    assert_eq!(
        (&body["tid"], &body["client_ref_id"], &body["service_code"]),
        (&json!(tid), &json!("OFF-1"), &json!("53")),
        "{body}"
    );
    assert_eq!(
        (&body["tx_status"], &body["old_tx_status"], &body["txstatus_desc"]),
        (&json!(0), &json!(2), &json!("Success")),
        "{body}"
    );
    assert_eq!(body["amount"], json!(charges.amount_paise.get() as f64 / 100.0));
    assert!(body["bank_ref_num"].as_str().unwrap().starts_with("BBPS"), "{body}");
    assert_eq!(body["operator_name"], "Mahanagar Gas");
    assert_eq!(available(&app, partner_id).await, before - debit(&charges), "posted: the same money");
    let inquiry = eko_support::get(&v2, &format!("/transactions/{tid}"), &[]).await;
    assert_eq!(inquiry["data"]["tx_status"], "0", "{inquiry}");
    assert_eq!(status_events(&app, partner_id).await.len(), 1, "one status change, one event");
    app.stop().await;
}

async fn an_amount_mismatch_names_both_amounts_returns_a_tid_and_debits_nothing(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let fetched = fetch(&v2, &bill("60", "1234567890", "MM-1")).await;
    let due = fetched["data"]["amount"].as_str().unwrap().to_owned();
    let before = available(&app, partner_id).await;
    let wrong = format!("{}.00", paise(&fetched["data"]["amount"]) / 100 + 1);
    let answer = pay(&v2, &with(bill("60", "1234567890", "MM-1"), json!({ "amount": wrong }))).await;
    assert_eq!(
        (&answer["status"], &answer["response_type_id"], &answer["response_status_id"]),
        (&json!(208), &json!(208), &json!(1)),
        "{answer}"
    );
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains(&wrong) && message.contains(&due), "both amounts in {message:?}");
    let tid = tid(&answer);
    assert_eq!(answer["data"]["tx_status"], "1");
    assert_eq!(available(&app, partner_id).await, before, "nothing debited");
    let inquiry = eko_support::get(&v2, &format!("/billpayments/transactions/{tid}"), &[]).await;
    assert_eq!(inquiry["data"]["tx_status"], "1", "{inquiry}");
    // The bill is still due: paid right, under a new client_ref_id, it goes through.
    let right = pay(&v2, &with(bill("60", "1234567890", "MM-2"), json!({ "amount": due }))).await;
    assert_eq!(right["data"]["tx_status"], "0", "{right}");
    app.stop().await;
}

async fn a_biller_failure_after_the_debit_is_refunded(backend: Backend) {
    let (app, clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let fetched = fetch(&v2, &bill("1", "151623333", "RF-1")).await;
    let amount = fetched["data"]["amount"].as_str().unwrap().to_owned();
    let before = available(&app, partner_id).await;
    let refunded = pay(&v2, &with(bill("1", "151623333", "RF-1"), json!({ "amount": amount }))).await;
    assert_eq!((&refunded["response_status_id"], &refunded["data"]["tx_status"]), (&json!(4), &json!("4")), "{refunded}");
    assert_eq!(refunded["message"], "Bill payment failed; the amount was refunded");
    assert_eq!(available(&app, partner_id).await, before, "the debit came back, to the paisa");

    // Offline: awaited (reserved), then the biller fails it: refunded, with a callback event.
    let body = with(bill("1", "151623333", "RF-2"), json!({ "amount": amount, "hc_channel": "1" }));
    let awaited = pay(&v2, &body).await;
    assert_eq!(awaited["data"]["tx_status"], "2", "{awaited} (the bill is free again after the refund)");
    let tid = tid(&awaited);
    assert!(available(&app, partner_id).await < before);
    clock.advance_ms(AWAITED_SECS as i64 * 1000 + 1_000);
    let deadline = Instant::now() + WAIT;
    loop {
        let p = app.state.store.bbps_payment(partner_id, tid).await.unwrap().expect("the payment");
        if p.tx_status == kosh_core::dmt::TxStatus::Refunded {
            break;
        }
        assert!(Instant::now() < deadline, "payment {tid} was not refunded: {p:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(available(&app, partner_id).await, before);
    let events = status_events(&app, partner_id).await;
    assert_eq!((&events[0]["tx_status"], &events[0]["old_tx_status"]), (&json!(4), &json!(2)), "{events:?}");

    // A biller that is down takes nothing (a prepaid recharge, so no fetch first).
    let down = pay(&v2, &with(bill("80", "1234562222", "RF-3"), json!({ "amount": "300" }))).await;
    assert_eq!((&down["status"], &down["data"]["tx_status"]), (&json!(544), &json!("1")), "{down}");
    assert_eq!(available(&app, partner_id).await, before);
    let totals = app.state.store.ledger_totals().await.expect("totals");
    assert_eq!((totals.debits_posted, totals.debits_pending), (totals.credits_posted, totals.credits_pending));
    app.stop().await;
}

async fn the_same_client_ref_id_makes_one_payment_even_concurrently(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let before = available(&app, partner_id).await;
    let body = with(bill("102", "9876500011", "ID-1"), json!({ "amount": "249" }));
    let first = pay(&v2, &body).await;
    let replay = pay(&v2, &body).await;
    assert_eq!((tid(&first), &replay["data"]["tx_status"]), (tid(&replay), &json!("0")), "{replay}");
    let conflict = pay(&v2, &with(body.clone(), json!({ "amount": "250" }))).await;
    assert_eq!(conflict["message"], "Duplicate client_ref_id", "{conflict}");

    let concurrent = with(bill("102", "9876500012", "ID-2"), json!({ "amount": "149" }));
    let answers = futures_join(&v2, &concurrent, 8).await;
    let tids: std::collections::BTreeSet<kosh_core::ids::Tid> = answers.iter().map(tid).collect();
    assert_eq!(tids.len(), 1, "one payment: {answers:?}");
    let charges = |a| debit(&app.state.config.bbps_pricing.charges(money(a)));
    assert_eq!(available(&app, partner_id).await, before - charges(24_900) - charges(14_900), "one debit each");
    app.stop().await;
}

/// Sends `body` `n` times at once; answers every body.
async fn futures_join(eko: &Client, body: &Value, n: usize) -> Vec<Value> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (eko, body) = (eko.clone(), body.clone());
            tokio::spawn(async move { pay(&eko, &body).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("the request task"));
    }
    out
}

async fn bad_input_is_refused_clearly_and_debits_nothing(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let before = available(&app, partner_id).await;
    let unknown = pay(&v2, &with(bill("4242", "151627591", "BAD-1"), json!({ "amount": "50" }))).await;
    assert!(unknown["invalid_params"]["operator_id"].is_string(), "{unknown}");
    let regex = pay(&v2, &with(bill("1", "15162759A", "BAD-2"), json!({ "amount": "50" }))).await;
    assert_eq!(regex["invalid_params"]["utility_acc_no"], "Please enter a valid 9 digit CA Number (eg. 151627591)");
    let missing = pay(&v2, &with(bill("110", "123456789", "BAD-3"), json!({ "amount": "50" }))).await;
    assert_eq!((&missing["status"], &missing["invalid_params"]["dob"]), (&json!(97), &json!("is required")), "{missing}");
    let decimals = pay(&v2, &with(bill("101", "9876543210", "BAD-4"), json!({ "amount": "50.505" }))).await;
    assert_eq!(decimals["invalid_params"]["amount"], "must have at most 2 decimal places", "{decimals}");
    let never_fetched = pay(&v2, &with(bill("2", "100012345", "BAD-5"), json!({ "amount": "50" }))).await;
    assert_eq!(never_fetched["message"], "Bill not fetched", "{never_fetched}");
    let no_token = pay(&v2, &with(bill("3", "123456789012", "BAD-6"), json!({ "amount": "50", "cycle_number": "1234" }))).await;
    assert!(no_token["invalid_params"]["billfetchresponse"].as_str().unwrap().starts_with("is required"), "{no_token}");

    // request_hash mistakes are named: the developer_key as the key (the Node SDK's), the order.
    let body = with(bill("101", "9876543210", "BAD-7"), json!({ "amount": "50" }));
    let creds = Credentials::sandbox();
    let ts = SystemClock.now_ms();
    let url = format!("{}/ekoapi/v2/billpayments/paybill", app.url());
    for (key, fields, says) in [
        (creds.developer_key.as_str(), ["9876543210", "50", AGENT], "developer_key"),
        (creds.access_key.as_str(), [AGENT, "50", "9876543210"], "wrong order"),
        (creds.access_key.as_str(), ["9876543210", "50.00", AGENT], "exactly as sent"),
    ] {
        let hash = kosh_core::signing::request_hash(key, &ts.to_string(), &fields);
        let req = signed_at(reqwest::Client::new().post(&url), &creds, ts).header("request_hash", hash).json(&body);
        let (status, refused) = send(req).await;
        assert_eq!(status, 403, "{refused}");
        assert!(refused["message"].as_str().unwrap().contains(says), "{says} in {refused}");
    }
    let req = signed_at(reqwest::Client::new().post(&url), &creds, ts).json(&body);
    let (status, refused) = send(req).await;
    assert_eq!((status, refused["message"].as_str().unwrap().contains("missing")), (403, true), "{refused}");
    assert_eq!(available(&app, partner_id).await, before, "nothing debited by any of them");
    assert!(app.state.store.bbps_payment_by_client_ref(partner_id, "BAD-7").await.unwrap().is_none());
    app.stop().await;
}

async fn a_credit_card_bill_pays_a_dmt_recipient(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v1 = sandbox(&app, "/ekoapi/v1");
    let v3 = sandbox(&app, "/ekoapi/v3");
    let partner_id = sandbox_partner(&app).await;
    verified_customer(&app, &v1, AGENT, "9123400088").await;
    let rid = recipient(&v1, AGENT, "9123400088", "4111000012345678", "HDFC0000123").await;
    let before = available(&app, partner_id).await;
    let body = json!({ "initiator_id": Credentials::sandbox().initiator_id, "recipient_id": rid, "amount": "2500",
                       "client_ref_id": "CC-1", "customer_id": "9123400088", "channel": "2", "user_code": AGENT });
    let answer = v3.send_json(Method::POST, "/customer/payment/credit-card-bill", &body, None).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let paid = answer.body;
    assert_eq!((&paid["status"], &paid["data"]["tx_status"]), (&json!(0), &json!("0")), "{paid}");
    assert_eq!((&paid["data"]["account"], &paid["data"]["recipient_id"]), (&json!("4111000012345678"), &json!(rid)));
    assert_eq!(paid["data"]["sender_name"], "Asha Verma");
    let charges = app.state.config.bbps_pricing.charges(money(250_000));
    assert_eq!(available(&app, partner_id).await, before - debit(&charges));
    let inquiry = eko_support::get(&sandbox(&app, "/ekoapi/v2"), "/billpayments/transactions/client_ref_id:CC-1", &[]).await;
    assert_eq!(inquiry["data"]["tid"], paid["data"]["tid"]);

    let stranger = with(body.clone(), json!({ "client_ref_id": "CC-2", "recipient_id": "999999" }));
    let refused = v3.send_json(Method::POST, "/customer/payment/credit-card-bill", &stranger, None).await.unwrap().body;
    assert_eq!(refused["status"], 313, "{refused}");
    let no_customer = with(body, json!({ "client_ref_id": "CC-3", "customer_id": "9123400099" }));
    let refused = v3.send_json(Method::POST, "/customer/payment/credit-card-bill", &no_customer, None).await.unwrap().body;
    assert_eq!(refused["status"], 463, "{refused}");
    assert_eq!(available(&app, partner_id).await, before - debit(&charges));
    app.stop().await;
}

/// A payment recorded (its debit reserved) by a request that died before asking the
/// biller: once `rail_recovery_secs` pass on the clock, the worker hands it over, applies
/// the answer and announces it, as the partner never heard one.
async fn a_payment_left_unanswered_by_a_crash_is_finished_by_the_worker(backend: Backend) {
    use kosh_store::commands::bbps::{BillChoice, NewBillPayment, PaymentRecord};
    let (app, clock) = start(backend, |_| {}).await;
    let partner_id = sandbox_partner(&app).await;
    let before = available(&app, partner_id).await;
    let pricing = app.state.config.bbps_pricing.clone();
    let recovery_ms = app.state.config.rail_recovery_secs as i64 * 1000;
    let request = NewBillPayment {
        partner_id,
        user_code: AGENT.parse().unwrap(),
        client_ref_id: "CRASH-1".into(),
        kind: kosh_core::bbps::PaymentKind::Bill,
        operator_id: 101,
        operator_name: "Jio Prepaid".into(),
        utility_acc_no: "9876543210".into(),
        customer_mobile: "9876543210".into(),
        sender_name: "Kaushik".into(),
        recipient_id: None,
        amount_paise: kosh_core::money::Paise::new(29_900).unwrap(),
        hc_channel: false,
        bill: BillChoice::NoFetch,
        pricing: pricing.clone(),
        recovery_ms,
    };
    let PaymentRecord::Recorded(view) = app.state.store.execute(request).await.expect("recorded") else {
        panic!("no bill to mismatch")
    };
    let tid = view.payment.tid;
    assert_eq!(available(&app, partner_id).await, before - debit(&pricing.charges(money(29_900))), "reserved");
    clock.advance_ms(recovery_ms + 1_000);
    let deadline = Instant::now() + WAIT;
    let paid = loop {
        let p = app.state.store.bbps_payment(partner_id, tid).await.unwrap().expect("the payment");
        if p.tx_status == kosh_core::dmt::TxStatus::Success {
            break p;
        }
        assert!(Instant::now() < deadline, "payment {tid} was not finished: {p:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(paid.biller_reference.starts_with("BBPS") && paid.check_at_ms.is_none(), "{paid:?}");
    assert_eq!(available(&app, partner_id).await, before - debit(&pricing.charges(money(29_900))), "posted once");
    let events = status_events(&app, partner_id).await;
    assert_eq!((&events[0]["tid"], &events[0]["tx_status"]), (&json!(tid), &json!(0)), "{events:?}");
    app.stop().await;
}

/// Six payments of one fetched bill at once, each under its own client_ref_id: one pays
/// it, the others are told it was paid, and the wallet is debited once.
async fn one_bill_is_paid_once_even_by_concurrent_payments(backend: Backend) {
    let (app, _clock) = start(backend, |_| {}).await;
    let v2 = sandbox(&app, "/ekoapi/v2");
    let partner_id = sandbox_partner(&app).await;
    let fetched = fetch(&v2, &bill("91", "9876512345", "ONE-0")).await;
    let amount = fetched["data"]["amount"].as_str().unwrap().to_owned();
    let before = available(&app, partner_id).await;
    let tasks: Vec<_> = (1..=6)
        .map(|i| {
            let (eko, body) = (v2.clone(), with(bill("91", "9876512345", &format!("ONE-{i}")), json!({ "amount": amount })));
            tokio::spawn(async move { pay(&eko, &body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("the request task"));
    }
    let paid: Vec<&Value> = answers.iter().filter(|a| a["data"]["tx_status"] == "0").collect();
    assert_eq!(paid.len(), 1, "{answers:?}");
    assert!(
        answers.iter().filter(|a| a["data"]["tx_status"] != "0").all(|a| a["message"] == "This bill was already paid"),
        "{answers:?}"
    );
    let charges = app.state.config.bbps_pricing.charges(money(paise(&fetched["data"]["amount"])));
    assert_eq!(available(&app, partner_id).await, before - debit(&charges), "one debit");
    app.stop().await;
}
