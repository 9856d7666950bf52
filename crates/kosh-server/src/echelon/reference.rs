//! Balances and the code lists: currencies, segments, payment methods, operators,
//! payment options, merchant info. Lists are wrapped in `{"data": […]}`.

use super::error::{ApiError, ApiResult};
use super::Caller;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use kosh_core::civil::iso_utc;
use kosh_core::echelon::{amount_json, Direction, INR, METHODS, OPERATORS, SEGMENTS};
use kosh_core::ledger::AccountKind;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Longest query value read; longer lists are refused.
const MAX_QUERY_VALUE: usize = 1000;

/// A comma-separated query list (unknown values are simply not matched, as the spec's
/// "query for multiple values" says). `None` when the parameter is absent.
fn list(query: &HashMap<String, String>, names: &[&str]) -> ApiResult<Option<Vec<String>>> {
    for name in names {
        if let Some(text) = query.get(*name) {
            if text.len() > MAX_QUERY_VALUE {
                return Err(ApiError::bad_request(format!("{name} is longer than {MAX_QUERY_VALUE} characters")));
            }
            return Ok(Some(text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()));
        }
    }
    Ok(None)
}

fn wanted(filter: &Option<Vec<String>>, value: &str) -> bool {
    filter.as_ref().is_none_or(|values| values.iter().any(|v| v == value))
}

/// `GET /balances?currencyCodes=INR,IDR` (the seed's `currencies` works too): the
/// merchant's wallet in the ledger. `pendingPayoutAmount` is what the wallet has reserved
/// (payouts and transfers in flight); settlements are back-office only, so
/// `pendingSettlementAmount` is 0.
pub async fn balances(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filter = list(&query, &["currencyCodes", "currencies"])?;
    if !wanted(&filter, INR) {
        return Ok(Json(json!({ "data": [] })));
    }
    let m = &caller.merchant;
    let wallet = app.store.balance(m.partner_id, &AccountKind::PartnerWallet).await.map_err(ApiError::store)?;
    let moved = app.store.last_ledger_movement(m.partner_id).await.map_err(ApiError::store)?;
    let balance = wallet.posted_credit();
    let pending_payout = wallet.debits_pending;
    Ok(Json(json!({ "data": [{
        "currencyCode": INR,
        "balance": amount_json(balance),
        "availableBalance": amount_json(balance - pending_payout),
        "pendingSettlementAmount": 0,
        "pendingPayoutAmount": amount_json(pending_payout),
        "lastBalanceMovement": iso_utc(moved.unwrap_or(m.created_at_ms)),
    }] })))
}

pub async fn currencies() -> Json<Value> {
    Json(json!({ "data": [{ "code": INR }] }))
}

pub async fn segments() -> Json<Value> {
    Json(json!({ "data": SEGMENTS.iter().map(|code| json!({ "code": code })).collect::<Vec<_>>() }))
}

pub async fn payment_methods() -> Json<Value> {
    Json(json!({ "data": METHODS.iter().map(|m| json!({ "code": m.code })).collect::<Vec<_>>() }))
}

pub async fn payment_operators() -> Json<Value> {
    Json(json!({ "data": OPERATORS.iter().map(|(code, name)| json!({ "code": code, "name": name })).collect::<Vec<_>>() }))
}

/// `GET /payment-options`, filtered by the optional comma-separated query parameters.
pub async fn payment_options(Query(query): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let direction = match query.get("paymentTypeCode").map(String::as_str) {
        None => None,
        Some("PAYIN") => Some(Direction::Payin),
        Some("PAYOUT") => Some(Direction::Payout),
        Some(other) => return Err(ApiError::bad_request(format!("paymentTypeCode must be PAYIN or PAYOUT, not {other:?}"))),
    };
    let methods = list(&query, &["paymentMethodCodes"])?;
    let currencies = list(&query, &["currencyCodes"])?;
    let segments = list(&query, &["segmentCodes"])?;
    let operators = list(&query, &["paymentOperatorCodes"])?;
    let mut data = Vec::new();
    for m in METHODS {
        if direction.is_some_and(|d| d != m.direction) || !wanted(&methods, m.code) || !wanted(&currencies, INR) {
            continue;
        }
        let ops: Vec<Value> = m
            .operators
            .iter()
            .filter(|code| wanted(&operators, code))
            .map(|code| {
                json!({ "code": code, "name": kosh_core::echelon::operator_name(code).unwrap_or(code), "isAvailable": true,
                        "transactionAmountLimit": { "from": 1, "to": m.max_rupees } })
            })
            .collect();
        if operators.is_some() && ops.is_empty() {
            continue;
        }
        for segment in SEGMENTS.iter().filter(|s| wanted(&segments, s)) {
            data.push(json!({
                "paymentTypeCode": m.direction.type_code(),
                "paymentMethodCode": m.code,
                "currencyCode": INR,
                "segmentCode": segment,
                "transactionAmountLimit": { "from": 1, "to": m.max_rupees },
                "isAvailable": true,
                "paymentOperators": ops,
            }));
        }
    }
    Ok(Json(json!({ "data": data })))
}

pub async fn merchant_info(Extension(caller): Extension<Caller>) -> Json<Value> {
    Json(json!({ "channelInfo": { "name": caller.merchant.name } }))
}
