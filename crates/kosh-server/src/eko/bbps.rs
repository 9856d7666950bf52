//! Bill payments (BBPS, service 53), recharges and credit-card bills (service 63): the
//! v2 `/billpayments/…` paths the vendor's Node SDK calls, and the v3
//! `/customer/payment/bbps…` and `/customer/payment/credit-card-bill` paths.
//!
//! | outcome | status | response_status_id | response_type_id | data.tx_status |
//! |---|---|---|---|---|
//! | catalogue lists (categories, locations, operators, parameters) | 0 | -1 | 2457 / 2459 / 2461 / 2463 | — |
//! | district-discom list, recharge operator, plans | 0 | -1 | 2110 / 1804 / 1805 | — |
//! | bill fetched | 0 | -1 | 1052 | — |
//! | no bill due, bill already paid, biller down, operator does not fetch | 1 (544 down) | 1 | 1468 | — |
//! | bad parameter (the operator's own `error_message`), unknown operator | 1 (97 if missing) | 1 | -1 (`invalid_params`) | — |
//! | paid | 0 | 0 | 333 | "0" |
//! | awaited: offline channel (`hc_channel` 1) or slow biller | 0 | 2 | 333 | "2" |
//! | amount ≠ fetched bill (tid returned, nothing debited) | 208 | 1 | 208 | "1" |
//! | biller down at payment (nothing debited) | 544 | 1 | 544 | "1" |
//! | biller failed it after taking it (debit refunded) | 1 | 4 | 333 | "4" |
//! | never fetched where the operator fetches; the bill paid already | 1 | 1 | 1468 | — |
//! | request_hash wrong (says which mistake: developer_key as key, order, …) | HTTP 403 | 1 | -1 | — |
//! | the same `client_ref_id` again (also concurrently) | the payment's current record: one payment, one debit | | | |
//! | inquiry (here, or any product's inquiry path) | 0 | by tx_status | 1472 | any |

pub mod bills;
pub mod catalogue;
pub mod credit_card;

use super::dmt::transaction_rsid;
use super::envelope::{status, EkoReply};
use super::user::store_error;
use crate::service::bbps::BILLER_DOWN_PREFIX;
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kosh_core::bbps::BbpsRejection;
use kosh_core::dmt::TxStatus;
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::money::Paise;
use kosh_store::commands::bbps::PaymentView;
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::bbps::Payment;
use serde_json::{json, Value};

/// `response_type_id`s of bill-payment answers (catalogue §2 and §3.8).
pub mod rt {
    pub const CATEGORIES: i64 = 2457;
    pub const LOCATIONS: i64 = 2459;
    pub const OPERATORS: i64 = 2461;
    pub const PARAMETERS: i64 = 2463;
    pub const DISTRICTS: i64 = 2110;
    pub const RECHARGE_OPERATOR: i64 = 1804;
    pub const RECHARGE_PLANS: i64 = 1805;
    pub const BILL_DUE: i64 = 1052;
    pub const FETCH_FAILED: i64 = 1468;
    pub const BILL_PAID: i64 = 333;
    pub const AMOUNT_MISMATCH: i64 = 208;
    pub const INQUIRY: i64 = 1472;
}

/// `status` of a payment refused because the biller is down (the platform's "bank down").
pub const BILLER_DOWN: i64 = 544;

/// The v1/v2 routes (`/billpayments/…`), relative to a prefix.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billpayments/operators_category", get(catalogue::categories))
        .route("/billpayments/operators_location", get(catalogue::locations))
        .route("/billpayments/operators", get(catalogue::operators))
        .route("/billpayments/operators/{operator_id}", get(catalogue::parameters))
        .route("/billpayments/fetchbill", post(bills::fetch))
        .route("/billpayments/paybill", post(bills::pay))
        .route("/billpayments/transactions/{reference}", get(inquiry))
}

/// The v3 routes, relative to a v3 prefix.
pub fn v3_routes() -> Router<AppState> {
    Router::new()
        .route("/customer/payment/bbps", post(bills::pay))
        .route("/customer/payment/bbps/bill", get(bills::fetch))
        .route("/customer/payment/bbps/categories", get(catalogue::categories))
        .route("/customer/payment/bbps/locations", get(catalogue::locations))
        .route("/customer/payment/bbps/operators", get(catalogue::operators))
        .route("/customer/payment/bbps/operator/{operator_id}/parameters", get(catalogue::parameters))
        .route("/customer/payment/bbps/operators/{operator_id}/district-discome", get(catalogue::districts))
        .route("/customer/payment/bbps/recharge/{mobile}/operator", get(catalogue::recharge_operator))
        .route("/customer/payment/bbps/recharge/{mobile}/operator/plans", get(catalogue::recharge_plans))
        .route("/customer/payment/credit-card-bill", post(credit_card::pay))
        .route("/customer/payment/bbps/transactions/{reference}", get(inquiry))
}

/// `reply`'s envelope with `extra` members beside it at the top level (the operator
/// parameters answer carries `operator_id`, `operator_name`, `fetchBill` and `BBPS` there).
pub fn with_top_level(reply: EkoReply, extra: Value) -> Response {
    let mut body = reply.body();
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    (reply.http, axum::Json(body)).into_response()
}

fn java(paise: Paise) -> String {
    paise.to_java_double_string()
}

/// A payment as the pay and inquiry answers show it: the fields of the platform's
/// paybill sample (the Node SDK's), with Kosh's own beside them.
pub fn payment_json(view: &PaymentView, initiator_id: &str) -> Value {
    let p = &view.payment;
    let c = &p.charges;
    json!({
        "tx_status": p.tx_status.code().to_string(),
        "txstatus_desc": p.tx_status.desc(),
        "tid": p.tid.to_string(),
        "client_ref_id": p.client_ref_id,
        "amount": java(c.amount_paise),
        "totalamount": java(c.collectable_paise().unwrap_or(c.amount_paise)),
        "fee": java(c.fee_paise),
        "gst": java(c.gst_paise),
        "service_tax": java(c.gst_paise),
        "commission": java(c.commission_paise),
        "tds": java(c.tds_paise),
        "balance": java(Paise::new(view.balance_paise.max(0)).unwrap_or(Paise::ZERO)),
        "operator_id": p.operator_id.to_string(),
        "operator_name": p.operator_name,
        "account": p.utility_acc_no,
        "utility_acc_no": p.utility_acc_no,
        "utilitycustomername": if p.bill_customer_name.is_empty() { &p.sender_name } else { &p.bill_customer_name },
        "sender_name": p.sender_name,
        "bbpstrxnrefid": p.biller_reference,
        "sender_id": initiator_id,
        "mobile": p.customer_mobile,
        "customermobilenumber": p.customer_mobile,
        "user_code": p.user_code.to_string(),
        "hc_channel": i64::from(p.hc_channel).to_string(),
        "recipient_id": p.recipient_id.map_or_else(String::new, |id| id.to_string()),
        "state": "1",
        "timestamp": kosh_core::civil::iso_utc(p.created_at_ms),
        "reference_tid": "null",
        "discount": "",
        "customerconveniencefee": "",
        "serial_number": "",
        "payment_mode_desc": "",
        "last_used_okekey": "0",
        "billnumber": p.bill_number,
        "billdate": p.bill_date,
        "status_text": p.tx_status.desc(),
        "reason": p.reason,
    })
}

/// The answer to a payment request: the payment as it stands.
pub fn payment_reply(view: &PaymentView, initiator_id: &str) -> EkoReply {
    let p = &view.payment;
    let data = payment_json(view, initiator_id);
    let mut reply = match p.tx_status {
        TxStatus::Success => EkoReply::ok_transaction(rt::BILL_PAID, "Success Last_used_OkeyKey: 0", Value::Null),
        TxStatus::Initiated => EkoReply::ok_transaction(rt::BILL_PAID, "Transaction initiated; the biller's confirmation is awaited", Value::Null)
            .with_hint(format!(
                "{} completes this payment later (offline payments within 6 hours); the status callback or GET …/billpayments/transactions/{} tells when",
                p.operator_name, p.tid
            )),
        TxStatus::Fail if p.reason.starts_with(BILLER_DOWN_PREFIX) => {
            EkoReply::failure(BILLER_DOWN, BILLER_DOWN, "Biller is down; please try again later")
                .with_hint(format!("{}; nothing was debited", p.reason))
        }
        TxStatus::Refunded => EkoReply::failure(status::FAILED, rt::BILL_PAID, "Bill payment failed; the amount was refunded")
            .with_hint(format!("{}; the debit was returned to your e-value", p.reason)),
        _ => EkoReply::failure(status::FAILED, rt::BILL_PAID, "Bill payment failed")
            .with_hint(format!("{}; nothing was debited", p.reason)),
    };
    reply.response_status_id = transaction_rsid(p.tx_status);
    reply.with_data(data)
}

/// The answer to a payment whose amount was not the fetched bill's: 208, with the tid.
pub fn mismatch_reply(view: &PaymentView, bill_amount_paise: Paise, initiator_id: &str) -> EkoReply {
    let paid = view.payment.charges.amount_paise.to_rupees_string();
    let due = bill_amount_paise.to_rupees_string();
    EkoReply::failure(rt::AMOUNT_MISMATCH, rt::AMOUNT_MISMATCH, format!("Bill amount mismatch: amount {paid} was sent but the fetched bill is {due}"))
        .with_hint(format!(
            "{} requires paying exactly the fetched amount: send amount={due} with a new client_ref_id; nothing was debited for tid {}",
            view.payment.operator_name, view.payment.tid
        ))
        .with_data(payment_json(view, initiator_id))
}

/// The answer to a refused bill-payment command: what went wrong and what to do.
pub fn refusal(e: CommandError) -> EkoReply {
    let Some(rejection) = e.rejection() else { return store_error(e) };
    match rejection {
        Rejection::Bbps(r) => bbps_refusal(r),
        Rejection::RequestHashUsed { used_at_ms } => crate::eko::auth::request_hash_reused(*used_at_ms),
        _ => crate::eko::dmt::refusal(e),
    }
}

fn bbps_refusal(r: &BbpsRejection) -> EkoReply {
    match r {
        BbpsRejection::BillNotFetched => EkoReply::failure(status::FAILED, rt::FETCH_FAILED, "Bill not fetched")
            .with_hint("this operator requires fetching the bill first (fetchBill 1): call fetch bill for this account, then pay its amount; nothing was debited"),
        BbpsRejection::BillAlreadyPaid { tid } => EkoReply::failure(status::FAILED, rt::FETCH_FAILED, "This bill was already paid")
            .with_hint(format!("tid {tid} paid this bill; nothing was debited (fetch again once a new bill is due)")),
        BbpsRejection::UnknownBillFetchResponse => EkoReply::invalid(vec![(
            "billfetchresponse".into(),
            "does not match a bill fetched for this operator and account; send the billfetchresponse the fetch answered".into(),
        )]),
        BbpsRejection::AmountOutOfBounds(why) => EkoReply::invalid(vec![("amount".into(), (*why).into())]),
        BbpsRejection::PaymentNotFound => EkoReply::failure(168, 168, "TID does not exist"),
    }
}

/// The inquiry answer for a bill payment named by tid, `client_ref_id:REF` or a plain
/// client_ref_id; `None` when no bill payment of the partner matches (so a generic
/// inquiry can ask other products). An awaited payment whose time has come is asked
/// about first.
pub async fn inquiry_reply(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let found = match reference.strip_prefix("client_ref_id:") {
        Some(r) => app.store.bbps_payment_by_client_ref(partner_id, r).await,
        None => match reference.parse::<Tid>() {
            Ok(tid) => app.store.bbps_payment(partner_id, tid).await,
            Err(_) => app.store.bbps_payment_by_client_ref(partner_id, reference).await,
        },
    };
    let Some(payment) = found.map_err(store_error)? else { return Ok(None) };
    let initiator_id = initiator_of(app, &payment).await?;
    let view = crate::service::bbps::inquire(app, payment).await.map_err(store_error)?;
    let t = &view.payment;
    let mut reply =
        EkoReply::ok(rt::INQUIRY, format!("Transaction status: {}", t.tx_status.desc()), payment_json(&view, &initiator_id));
    reply.response_status_id = transaction_rsid(t.tx_status);
    Ok(Some(reply))
}

async fn initiator_of(app: &AppState, p: &Payment) -> Result<String, EkoReply> {
    let partner = app.store.partner(p.partner_id).await.map_err(store_error)?;
    Ok(partner.map(|p| p.initiator_id).unwrap_or_default())
}

/// `GET …/billpayments/transactions/{tid | client_ref_id:REF}`: initiator_id*.
async fn inquiry(
    axum::extract::State(app): axum::extract::State<AppState>,
    axum::Extension(auth): axum::Extension<super::auth::Authenticated>,
    axum::extract::Path(reference): axum::extract::Path<String>,
    params: super::params::EkoParams,
) -> super::envelope::EkoResult {
    super::check_initiator(&params, &auth)?;
    inquiry_reply(&app, auth.partner.id, &reference).await?.ok_or_else(|| {
        EkoReply::failure(168, 168, "TID does not exist")
            .with_hint("no bill payment of yours has this tid or client_ref_id (write client_ref_id:REF for a client_ref_id)")
    })
}
