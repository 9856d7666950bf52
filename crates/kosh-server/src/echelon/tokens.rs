//! `POST /auth-tokens` (an explicit list of operations) and `POST /auth-tokens-by-action`
//! (a named action on one payment id). Both take the merchant's code and secret in the
//! body and answer `{"token": <HS256 JWT>}` with `sub`, `operations`, `exp`, `iat`,
//! `jti` and, when asked, the `money` restriction.
//!
//! `operations` is optional in the spec's `AuthTokenRequest`. A token issued without it
//! carries `"operations": []` and grants nothing: every call it is shown to is 403. It
//! proves the secret was known and nothing more; a token never opens an endpoint it
//! does not name, so leaving the list out cannot widen one.

use super::error::{ApiError, ApiResult};
use super::input::{self, Fields};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use kosh_core::echelon::jwt::{self, Claims, TokenMoney};
use kosh_core::echelon::merchant::secret_matches;
use kosh_core::echelon::operations::{Grants, OperationError};
use kosh_core::echelon::{amount_json, INR};
use serde_json::{json, Value};

pub const DEFAULT_VALIDITY_SECS: i64 = 1800;
const VALIDITY_SECS: std::ops::RangeInclusive<i64> = 60..=3600;

/// The actions of `/auth-tokens-by-action` and the operations each grants on payment X.
pub fn action_operations(action: &str, id: &str) -> Option<Vec<String>> {
    let ops: Vec<String> = match action {
        "PAYIN_CREATE" => vec![
            "POST /payins/!availablePaymentOptions".into(),
            format!("POST /payins/{id}"),
            format!("GET /payins/{id}"),
            format!("POST /payins/{id}/!setExternalReference"),
            "GET /merchant-info".into(),
        ],
        "PAYIN_INFO" => vec![format!("GET /payins/{id}"), format!("GET /payins/{id}/accounts")],
        "PAYOUT_CREATE" => {
            vec!["POST /payouts/!availablePaymentOptions".into(), format!("POST /payouts/{id}"), format!("GET /payouts/{id}")]
        }
        "PAYOUT_INFO" => vec![format!("GET /payouts/{id}")],
        _ => return None,
    };
    Some(ops)
}

pub async fn auth_tokens(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    issue_for(&app, &headers, body, operations).await
}

/// Reads the body both endpoints take, its common fields, then the operations
/// `granted` reads from it (in that order, so errors come in the same order), and
/// issues the token.
async fn issue_for(
    app: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    granted: impl FnOnce(&Fields) -> ApiResult<Vec<String>>,
) -> ApiResult<Json<Value>> {
    let body = input::object(headers, body)?;
    let f = body.fields();
    let common = common(&f)?;
    let operations = granted(&f)?;
    issue(app, common, operations).await
}

/// `operations`: absent is no operations; present, 1 to `MAX_OPERATIONS` strings.
fn operations(f: &Fields) -> ApiResult<Vec<String>> {
    let Some(list) = f.opt_array("operations")? else { return Ok(Vec::new()) };
    if list.is_empty() {
        return Err(ApiError::bad_request(
            "operations must list at least one operation; leave it out for a token that grants none",
        ));
    }
    let mut operations = Vec::with_capacity(list.len().min(64));
    for (i, op) in list.iter().enumerate() {
        if i >= kosh_core::echelon::operations::MAX_OPERATIONS {
            break; // Grants::compile refuses the list by its length.
        }
        let text = op.as_str().ok_or_else(|| ApiError::bad_request(format!("operations[{i}] must be a string")))?;
        operations.push(text.to_owned());
    }
    if list.len() > operations.len() {
        operations.push(String::new());
    }
    Grants::compile(&operations).map_err(|e| match e {
        OperationError::Schema(m) => ApiError::bad_request(m),
        OperationError::Invalid(m) => ApiError::rule("OPERATION_INVALID", m, Some("operations")),
    })?;
    Ok(operations)
}

pub async fn auth_tokens_by_action(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    issue_for(&app, &headers, body, action_grant).await
}

/// `action` and `idPayment`: the operations one action on one payment needs.
fn action_grant(f: &Fields) -> ApiResult<Vec<String>> {
    let action = f.req_str("action", 50)?;
    let id = f.req_str("idPayment", 250)?;
    input::entity_id("idPayment", id)?;
    action_operations(action, id).ok_or_else(|| {
        ApiError::bad_request(format!("action {action:?} is not one of PAYIN_CREATE, PAYIN_INFO, PAYOUT_CREATE, PAYOUT_INFO"))
    })
}

/// The fields both endpoints share.
struct Common {
    merchant_code: String,
    secret: String,
    validity_secs: i64,
    money: Option<TokenMoney>,
}

fn common(f: &Fields) -> ApiResult<Common> {
    let merchant_code = f.req_str("merchantCode", input::MAX_TEXT_CHARS)?.to_owned();
    let secret = f.req_str("secret", 1000)?.to_owned();
    let validity_secs = f.opt_int("validitySecs")?.unwrap_or(DEFAULT_VALIDITY_SECS);
    if !VALIDITY_SECS.contains(&validity_secs) {
        return Err(ApiError::bad_request("validitySecs must be between 60 and 3600"));
    }
    let money = match f.opt_obj("money")? {
        Some(m) => {
            let paise = input::money(&m).map_err(|e| match e {
                ApiError::NotAcceptable(p) => ApiError::bad_request(format!("money: {}", p[0].description)),
                other => other,
            })?;
            let amount = match amount_json(paise.get()) {
                Value::Number(n) => n,
                _ => unreachable!("amount_json answers a number"),
            };
            Some(TokenMoney { amount, currency_code: INR.into() })
        }
        None => None,
    };
    Ok(Common { merchant_code, secret, validity_secs, money })
}

/// Issues a token for `operations` (checked by the caller; empty grants nothing).
async fn issue(app: &AppState, c: Common, operations: Vec<String>) -> ApiResult<Json<Value>> {
    let merchant = app.echelon.merchant(&app.store, &c.merchant_code).await.map_err(ApiError::store)?.ok_or_else(|| {
        ApiError::rule(
            "MERCHANT_NOT_FOUND",
            format!("no merchant {:?}", input::shortened(&c.merchant_code)),
            Some("merchantCode"),
        )
    })?;
    super::check_mode(app, &merchant)?;
    super::auth::throttle(app, &merchant).await?;
    if !secret_matches(&merchant.secret_salt, &merchant.secret_verifier, &c.secret) {
        return Err(ApiError::forbidden("the secret is not this merchant's secret"));
    }
    if !merchant.active {
        return Err(ApiError::rule("MERCHANT_INACTIVE", "the merchant is inactive", Some("merchantCode")));
    }
    let now_s = app.now_ms().div_euclid(1000);
    let claims = Claims {
        sub: merchant.merchant_code.clone(),
        operations,
        exp: now_s + c.validity_secs,
        iat: now_s,
        jti: jwt::new_jti(),
        money: c.money,
    };
    let token = jwt::encode(&claims, &app.echelon.signing_key(&merchant));
    Ok(Json(json!({ "token": token })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_expand_to_literal_operations_on_one_id() {
        let ops = action_operations("PAYIN_CREATE", "TST-1").unwrap();
        assert!(ops.contains(&"POST /payins/TST-1".to_owned()));
        let grants = Grants::compile(&ops).unwrap();
        assert!(grants.allows("GET", "/payins/TST-1"));
        assert!(!grants.allows("GET", "/payins/TST-12"));
        assert_eq!(action_operations("PAYOUT_INFO", "X").unwrap(), vec!["GET /payouts/X".to_owned()]);
        assert!(action_operations("REFUND", "X").is_none());
    }
}
