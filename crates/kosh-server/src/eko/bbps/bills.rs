//! Fetch bill (v2 `POST /billpayments/fetchbill`, v3 `GET /customer/payment/bbps/bill`)
//! and pay bill (v2 `POST /billpayments/paybill`, v3 `POST /customer/payment/bbps`).
//!
//! Both take the same fields: user_code*, client_ref_id*, utility_acc_no*,
//! confirmation_mobile_no*, sender_name*, operator_id*, source_ip*, latlong*,
//! hc_channel (0 instant, 1 offline), and the operator's own parameters (`dob`,
//! `cycle_number`, …), each checked against the operator's regex with the operator's
//! `error_message`. Paying adds amount* and, for operators with `billFetchResponse` 1,
//! billfetchresponse*; its `request_hash` is over timestamp + utility_acc_no + amount +
//! user_code, values exactly as sent.

use super::catalogue::operator_named;
use super::{mismatch_reply, payment_reply, refusal, rt, BILLER_DOWN};
use crate::eko::auth::{accept_request_hash, Authenticated};
use crate::eko::envelope::{status, EkoReply, EkoResult, MISSING};
use crate::eko::params::{Checker, EkoParams};
use crate::eko::user::{require_active_service, store_error};
use crate::service::bbps::{self as service, BbpsError, FetchRequest, Fetched, Paid};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Extension;
use kosh_core::bbps::{self, Operator, ParamProblem, BBPS_SERVICE_CODE};
use kosh_core::ids::UserCode;
use kosh_core::money::{MoneyError, Paise};
use kosh_core::signing;
use kosh_core::validate::{self, ClientRefId, Mobile, Text};
use kosh_store::commands::bbps::{BillChoice, NewBillPayment};
use kosh_store::commands::IdemKey;
use kosh_store::ops::bbps::Bill;
use kosh_store::scopes;
use serde_json::json;
use std::collections::BTreeMap;

/// Longest `sender_name` accepted, in characters.
const MAX_NAME_CHARS: usize = 50;
/// How the pay request's `request_hash` is made, as the refusal explains it.
pub const HASH_ORDER: &str = "secret-key-timestamp + utility_acc_no + amount + user_code";

/// The fields fetch and pay share, checked.
struct BillRequest {
    op: &'static Operator,
    user_code: UserCode,
    client_ref_id: String,
    account: String,
    mobile: String,
    sender_name: String,
    hc_channel: bool,
    /// The operator's parameters other than `utility_acc_no`.
    extra: BTreeMap<String, String>,
}

fn parse_hc_channel(text: &str) -> Result<bool, &'static str> {
    match text.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("must be 0 (instant) or 1 (offline, high commission)"),
    }
}

fn parse_ip(text: &str) -> Result<std::net::IpAddr, &'static str> {
    text.trim().parse().map_err(|_| "must be the agent's IP address, like 121.121.1.1")
}

/// Checks the shared fields (every bad one listed at once); `more` checks the rest.
fn bill_request(params: &EkoParams, auth: &Authenticated, more: impl FnOnce(&mut Checker)) -> Result<BillRequest, EkoReply> {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    let mobile = c.required(params, "confirmation_mobile_no", Mobile::parse);
    let sender_name = c.required(params, "sender_name", |t| Text::parse(t, MAX_NAME_CHARS));
    c.required(params, "source_ip", parse_ip);
    c.required(params, "latlong", validate::parse_latlong);
    let hc_channel = c.optional(params, "hc_channel", parse_hc_channel).unwrap_or(false);
    let op = c.required(params, "operator_id", operator_named);
    if let Some(op) = op {
        for (name, problem) in bbps::check_params(op, |n| params.get(n)) {
            match problem {
                ParamProblem::Missing => c.fail(name, MISSING),
                ParamProblem::Invalid(why) => c.fail(name, why),
            }
        }
        if hc_channel && !op.high_commission {
            c.fail("hc_channel", "this operator has no offline high-commission channel; send 0 or leave it out");
        }
    } else if params.get("utility_acc_no").is_none() {
        c.fail("utility_acc_no", MISSING);
    }
    more(&mut c);
    c.finish()?;
    let (Some(op), Some(user_code), Some(client_ref_id), Some(mobile), Some(sender_name)) =
        (op, user_code, client_ref_id, mobile, sender_name)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    let value = |name: &str| params.get(name).unwrap_or_default().trim().to_owned();
    let extra = op.params.iter().skip(1).map(|p| (p.name.to_owned(), value(p.name))).collect();
    Ok(BillRequest {
        op,
        user_code,
        client_ref_id: client_ref_id.as_str().into(),
        account: value("utility_acc_no"),
        mobile: mobile.as_str().into(),
        sender_name: sender_name.as_str().into(),
        hc_channel,
        extra,
    })
}

fn no_biller() -> EkoReply {
    EkoReply::failure(BILLER_DOWN, BILLER_DOWN, "Biller is down; please try again later").with_hint(service::NO_BILLER)
}

fn bbps_error(e: BbpsError) -> EkoReply {
    match e {
        BbpsError::NoBiller => no_biller(),
        BbpsError::BillerDown(why) => {
            EkoReply::failure(BILLER_DOWN, rt::FETCH_FAILED, "Biller is down; please try again later").with_hint(why)
        }
        BbpsError::Refused(e) => refusal(e),
        BbpsError::Store(e) => store_error(e),
    }
}

/// Fetch bill: the account's bill, stored so the payment can name it.
pub async fn fetch(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let r = bill_request(&params, &auth, |_| {})?;
    if !r.op.fetch_bill {
        return Err(EkoReply::failure(status::FAILED, rt::FETCH_FAILED, "Bill fetch is not supported for this operator")
            .with_hint(format!("{} takes payments without a bill (fetchBill 0): pay any amount with pay bill", r.op.name)));
    }
    require_active_service(&app, auth.partner.id, r.user_code, BBPS_SERVICE_CODE).await?;
    let request =
        FetchRequest { partner_id: auth.partner.id, operator_id: r.op.id, account: r.account.clone(), params: r.extra.clone() };
    match service::fetch(&app, request).await.map_err(bbps_error)? {
        Fetched::Bill(bill) => Ok(EkoReply::ok(rt::BILL_DUE, "Due Bill Amount For utility", bill_json(&bill, r.op, &params))),
        Fetched::NoBillDue => Err(EkoReply::failure(status::FAILED, rt::FETCH_FAILED, "No bill due")
            .with_hint(format!("{} has no unpaid bill for account {}", r.op.name, r.account))),
        Fetched::AlreadyPaid(tid) => Err(EkoReply::failure(status::FAILED, rt::FETCH_FAILED, "No bill due: the bill was paid")
            .with_hint(format!("the bill due on account {} was paid by tid {tid}", r.account))),
    }
}

/// A fetched bill as the fetch answers it (the platform's sample fields).
fn bill_json(bill: &Bill, op: &Operator, params: &EkoParams) -> serde_json::Value {
    json!({
        "amount": bill.amount_paise.to_rupees_string(),
        "utilitycustomername": bill.customer_name,
        "billnumber": bill.bill_number,
        "billdate": bill.bill_date,
        "billDueDate": bill.due_date,
        "duedate": bill.due_date,
        "bbpstrxnrefid": bill.biller_reference,
        "billfetchresponse": bill.fetch_token,
        "customer_id": bill.utility_acc_no,
        "utility_acc_no": bill.utility_acc_no,
        "operator_id": op.id.to_string(),
        "operator_name": op.name,
        "ifsc_status": 1,
        "postalcode": params.get("postalcode").unwrap_or_default(),
        "geocode": params.get("latlong").unwrap_or_default(),
    })
}

/// A payment amount: rupees with at most two decimals, within the bounds.
fn parse_amount(text: &str) -> Result<Paise, &'static str> {
    let amount = Paise::parse_rupees(text).map_err(|e| match e {
        MoneyError::TooManyDecimals => "must have at most 2 decimal places",
        MoneyError::Negative => "must not be negative",
        _ => "must be an amount in rupees like 100 or 100.50",
    })?;
    bbps::check_amount(amount.get())?;
    Ok(amount)
}

/// Pay bill: the payment recorded, handed to the biller, answered as it stands.
pub async fn pay(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    params: EkoParams,
) -> EkoResult {
    let mut amount = None;
    let mut token = None;
    let r = bill_request(&params, &auth, |c| {
        amount = c.required(&params, "amount", parse_amount);
        token = c.optional(&params, "billfetchresponse", |t| Text::parse(t, 64));
    })?;
    let Some(amount) = amount else { unreachable!("the checker fails when a required field is bad") };
    if r.op.bill_fetch_response && token.is_none() {
        return Err(EkoReply::invalid(vec![(
            "billfetchresponse".into(),
            format!("{MISSING}: {} needs the billfetchresponse of the fetch (billFetchResponse 1)", r.op.name),
        )]));
    }
    let request_hash = checked_request_hash(&app, &auth, &headers, &params)?;
    require_active_service(&app, auth.partner.id, r.user_code, BBPS_SERVICE_CODE).await?;
    let bill = match (r.op.fetch_bill, token) {
        (false, _) => BillChoice::NoFetch,
        (true, Some(token)) => BillChoice::Token(token.as_str().into()),
        (true, None) => BillChoice::Latest,
    };
    let pricing = if r.hc_channel { &app.config.bbps_hc_pricing } else { &app.config.bbps_pricing };
    let request = NewBillPayment {
        partner_id: auth.partner.id,
        user_code: r.user_code,
        client_ref_id: r.client_ref_id.clone(),
        kind: bbps::PaymentKind::Bill,
        operator_id: r.op.id,
        operator_name: r.op.name.into(),
        utility_acc_no: r.account,
        customer_mobile: r.mobile,
        sender_name: r.sender_name,
        recipient_id: None,
        amount_paise: amount,
        hc_channel: r.hc_channel,
        bill,
        pricing: pricing.clone(),
        recovery_ms: i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000,
    };
    let key = IdemKey { partner_id: auth.partner.id, scope: scopes::EKO_CLIENT_REF.into(), key: r.client_ref_id };
    paid_reply(service::pay(&app, key, request_hash, request).await, &auth.partner.initiator_id)
}

/// The answer to a payment: the payment, the 208 of a mismatch, or the refusal.
pub fn paid_reply(paid: Result<Paid, BbpsError>, initiator_id: &str) -> EkoResult {
    match paid.map_err(bbps_error)? {
        Paid::Payment(view) => Ok(payment_reply(&view, initiator_id)),
        Paid::Mismatch { view, bill_amount_paise } => Err(mismatch_reply(&view, bill_amount_paise, initiator_id)),
    }
}

/// The request_hash, verified under the deployment's strictness; a mismatch is
/// explained when it is a known mistake.
fn checked_request_hash(
    app: &AppState,
    auth: &Authenticated,
    headers: &HeaderMap,
    params: &EkoParams,
) -> Result<Option<kosh_store::commands::RequestHashUse>, EkoReply> {
    let raw = |name| params.get(name).unwrap_or_default().trim();
    let fields = [raw("utility_acc_no"), raw("amount"), raw("user_code")];
    accept_request_hash(app, auth, headers, &fields, HASH_ORDER).map_err(|mut reply| {
        let provided = headers.get("request_hash").and_then(|v| v.to_str().ok()).map(str::trim);
        if let Some(why) = provided.and_then(|p| diagnose_request_hash(p, auth, &fields)) {
            reply.message = format!("Authentication for request-hash failed: {why}");
        }
        reply
    })
}

/// Explains a mismatched request_hash when it is one of the mistakes partners make; only
/// called after the correct computation failed. Never reveals the expected value.
pub fn diagnose_request_hash(provided: &str, auth: &Authenticated, fields: &[&str; 3]) -> Option<String> {
    let (access, developer, ts) =
        (auth.partner.access_key.expose(), auth.partner.developer_key.as_str(), auth.timestamp.as_str());
    let is = |key: &str, ts: &str, fields: &[&str]| signing::constant_time_eq(provided, &signing::request_hash(key, ts, fields));
    if is(developer, ts, fields) {
        return Some(
            "request_hash was computed with the developer_key as the HMAC key; compute it with your access key (the key \
             secret-key is made with), as the vendor's Node SDK does not"
                .into(),
        );
    }
    let [acc, amount, user] = *fields;
    let orders = [[acc, user, amount], [amount, acc, user], [amount, user, acc], [user, acc, amount], [user, amount, acc]];
    if orders.iter().any(|o| is(access, ts, o) || is(developer, ts, o)) {
        return Some(format!("request_hash is over the right values in the wrong order; the order is {HASH_ORDER}"));
    }
    if is(access, "", fields) {
        return Some(format!("request_hash leaves out the secret-key-timestamp; the order is {HASH_ORDER}"));
    }
    let paise = Paise::parse_rupees(amount).ok()?;
    let forms = [paise.to_rupees_string(), paise.to_java_double_string(), (paise.get() / 100).to_string()];
    let form = forms.iter().find(|f| f.as_str() != amount && is(access, ts, &[acc, f.as_str(), user]))?;
    Some(format!("request_hash is over amount {form:?}, but the request sent amount {amount:?}; hash the amount exactly as sent"))
}
