//! The operator catalogue: categories, locations, operators (filtered by category and
//! location), one operator's parameters, UPPCL's districts, and the prepaid operator
//! and plans of a mobile number. `initiator_id` is checked when sent; the vendor's
//! Node SDK sends none on these reads, and the platform answers it anyway.

use super::{rt, with_top_level};
use crate::eko::auth::Authenticated;
use crate::eko::envelope::{EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use kosh_core::bbps::{self, Operator};
use kosh_core::validate::Mobile;
use serde_json::{json, Value};

/// A wrong `initiator_id` is refused (319); a missing one is not.
fn check_initiator_if_sent(params: &EkoParams, auth: &Authenticated) -> Result<(), EkoReply> {
    match params.get("initiator_id") {
        Some(_) => crate::eko::check_initiator(params, auth).map(drop),
        None => Ok(()),
    }
}

/// The catalogue operator `text` names, or an answer that says how to find one.
pub fn operator_named(text: &str) -> Result<&'static Operator, &'static str> {
    let id: i64 = text.trim().parse().map_err(|_| "must be an operator_id (a number) from the operators list")?;
    bbps::operator(id).ok_or(
        "is not an operator Kosh knows; list operators with GET /billpayments/operators (v3: /customer/payment/bbps/operators)",
    )
}

fn unknown_operator(text: &str) -> EkoReply {
    let why = operator_named(text).err().unwrap_or("is not an operator Kosh knows");
    EkoReply::invalid(vec![("operator_id".into(), why.into())])
}

/// `GET /billpayments/operators_category` (v3 `/customer/payment/bbps/categories`).
pub async fn categories(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator_if_sent(&params, &auth)?;
    let list: Vec<Value> = bbps::CATEGORIES
        .iter()
        .map(|c| {
            json!({ "operator_category_id": c.id, "operator_category_name": c.name,
                    "operator_category_group": c.group.to_string(), "status": "1" })
        })
        .collect();
    Ok(EkoReply::ok(rt::CATEGORIES, "Operator categories", Value::Array(list)))
}

/// `GET /billpayments/operators_location` (v3 `/customer/payment/bbps/locations`).
pub async fn locations(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator_if_sent(&params, &auth)?;
    let list: Vec<Value> = bbps::LOCATIONS
        .iter()
        .map(|l| json!({ "operator_location_id": l.id.to_string(), "operator_location_name": l.name, "abbreviation": l.abbreviation }))
        .collect();
    Ok(EkoReply::ok(rt::LOCATIONS, "Operator locations", Value::Array(list)))
}

/// An operator as the operators list shows it.
pub fn operator_json(o: &Operator) -> Value {
    json!({
        "operator_id": o.id,
        "name": o.name,
        "billFetchResponse": i64::from(o.bill_fetch_response),
        "high_commission_channel": i64::from(o.high_commission),
        "kyc_required": i64::from(o.kyc_required),
        "operator_category": o.category,
        "location_id": o.location,
        "fetchBill": i64::from(o.fetch_bill),
    })
}

/// An `operator_category_id` or `operator_location_id` filter, when sent.
fn filter(params: &EkoParams, name: &str, list: &str) -> Result<Option<i64>, (String, String)> {
    match params.get(name) {
        None => Ok(None),
        Some(t) => t.trim().parse().map(Some).map_err(|_| (name.to_owned(), format!("must be an id (a number) from {list}"))),
    }
}

/// `GET /billpayments/operators?category=&location=` (v3 `/customer/payment/bbps/operators`).
pub async fn operators(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator_if_sent(&params, &auth)?;
    let category = filter(&params, "category", "the categories list (operator_category_id)");
    let location = filter(&params, "location", "the locations list (operator_location_id)");
    let bad: Vec<(String, String)> = [&category, &location].into_iter().filter_map(|f| f.clone().err()).collect();
    if !bad.is_empty() {
        return Err(EkoReply::invalid(bad));
    }
    let (category, location) = (category.unwrap_or_default(), location.unwrap_or_default());
    let list: Vec<Value> = bbps::operators(category, location).map(operator_json).collect();
    Ok(EkoReply::ok(rt::OPERATORS, "Operators", Value::Array(list)))
}

/// `GET /billpayments/operators/{operator_id}` (v3 `…/operator/{operator_id}/parameters`):
/// the parameters to send, with `operator_id`, `operator_name`, `fetchBill` and `BBPS`
/// at the top level as the platform answers them.
pub async fn parameters(
    Extension(auth): Extension<Authenticated>,
    Path(operator_id): Path<String>,
    params: EkoParams,
) -> Result<Response, EkoReply> {
    check_initiator_if_sent(&params, &auth)?;
    let op = operator_named(&operator_id).map_err(|_| unknown_operator(&operator_id))?;
    let list: Vec<Value> = op
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({ "param_name": p.name, "param_label": p.label, "param_id": (i + 1).to_string(),
                    "param_type": p.param_type.wire(), "regex": p.regex, "error_message": p.error_message })
        })
        .collect();
    let reply = EkoReply::ok(rt::PARAMETERS, format!("Parameters of {}", op.name), Value::Array(list));
    let top = json!({ "operator_id": op.id, "operator_name": op.name, "fetchBill": i64::from(op.fetch_bill),
                      "BBPS": i64::from(op.bbps), "billFetchResponse": i64::from(op.bill_fetch_response) });
    Ok(with_top_level(reply, top).into_response())
}

/// `GET /customer/payment/bbps/operators/190/district-discome`: the districts UPPCL
/// bills and the discom of each.
pub async fn districts(
    Extension(auth): Extension<Authenticated>,
    Path(operator_id): Path<String>,
    params: EkoParams,
) -> EkoResult {
    check_initiator_if_sent(&params, &auth)?;
    let op = operator_named(&operator_id).map_err(|_| unknown_operator(&operator_id))?;
    if op.id != 190 {
        return Err(EkoReply::invalid(vec![(
            "operator_id".into(),
            format!("{} has no district list; only operator 190 (UPPCL) is billed by district", op.name),
        )]));
    }
    let list: Vec<Value> = bbps::UPPCL_DISTRICTS.iter().map(|d| json!({ "district": d.name, "discom": d.discom })).collect();
    Ok(EkoReply::ok(rt::DISTRICTS, "Districts and discoms", Value::Array(list)))
}

fn mobile_of(mobile: &str) -> Result<Mobile, EkoReply> {
    Mobile::parse(mobile).map_err(|m| EkoReply::invalid(vec![("mobile".into(), m.into())]))
}

/// `GET /customer/payment/bbps/recharge/{mobile}/operator`: the prepaid operator and
/// circle of a mobile number (in the sandbox, chosen by its last digit).
pub async fn recharge_operator(
    Extension(auth): Extension<Authenticated>,
    Path(mobile): Path<String>,
    params: EkoParams,
) -> EkoResult {
    check_initiator_if_sent(&params, &auth)?;
    let mobile = mobile_of(&mobile)?;
    let (op, circle) = bbps::prepaid_operator_of(mobile.as_str());
    let data = json!({ "mobile": mobile.as_str(), "operator_id": op.id, "operator_name": op.name,
                       "operator_category": op.category, "circle_id": circle.id, "circle": circle.name });
    Ok(EkoReply::ok(rt::RECHARGE_OPERATOR, "Operator found", data))
}

/// `GET /customer/payment/bbps/recharge/{mobile}/operator/plans`: that operator's plans.
pub async fn recharge_plans(
    Extension(auth): Extension<Authenticated>,
    Path(mobile): Path<String>,
    params: EkoParams,
) -> EkoResult {
    check_initiator_if_sent(&params, &auth)?;
    let mobile = mobile_of(&mobile)?;
    let (op, circle) = bbps::prepaid_operator_of(mobile.as_str());
    let plans: Vec<Value> = bbps::PLANS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({ "plan_id": format!("{}-{}", op.id, i + 1), "amount": format!("{}.00", p.amount_rupees),
                    "validity": p.validity, "description": p.description })
        })
        .collect();
    let data = json!({ "mobile": mobile.as_str(), "operator_id": op.id, "operator_name": op.name, "circle": circle.name, "plans": plans });
    Ok(EkoReply::ok(rt::RECHARGE_PLANS, "Recharge plans", data))
}
