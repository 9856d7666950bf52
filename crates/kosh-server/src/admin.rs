//! The operator API under `/admin/v1`, for the people who run the platform.
//!
//! It exists only when `admin_token` is configured; without it every `/admin` path is
//! 404, so nothing about it can be probed. Each request must carry
//! `Authorization: Bearer <admin_token>`, compared in constant time; anything else is
//! 401. Answers and errors are JSON: errors are `{"error": {"code", "message"}}`.
//!
//! - `GET  /admin/v1/partners/{partner}/wallet`: the wallet balance.
//! - `POST /admin/v1/partners/{partner}/wallet/credit`, body
//!   `{"amount": "100.00", "reference": "…"}`: loads e-value from the funding account
//!   (a durable ledger entry). With an `Idempotency-Key` header, a retry of the same
//!   request answers the first result (and `Idempotent-Replayed: true`) instead of
//!   crediting twice; the same key with a different request is 409.
//!
//! `{partner}` is a partner's numeric id or its name. Callback delivery and partner
//! callback endpoints: see [`callbacks`].

pub mod callbacks;

use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kosh_core::ledger::{AccountKind, Balance};
use kosh_core::money::Paise;
use kosh_core::secret::Secret;
use kosh_core::signing::constant_time_eq;
use kosh_store::commands::{CreditWallet, Executed, IdemKey, WalletCredit, MAX_REFERENCE_LEN};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::partners::Partner;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Longest `Idempotency-Key`, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;
/// The ledger reference of a credit whose request names none.
const DEFAULT_REFERENCE: &str = "operator credit (admin API)";

/// The `/admin/v1` routes, or none at all when no admin token is configured.
pub fn router(state: AppState) -> Router<AppState> {
    if state.config.admin_token.is_none() {
        return Router::new();
    }
    let api = Router::new()
        .route("/partners/{partner}/wallet", get(wallet_balance))
        .route("/partners/{partner}/wallet/credit", post(wallet_credit))
        .merge(callbacks::routes())
        .route_layer(from_fn_with_state(state, require_token))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new().nest("/admin/v1", api)
}

/// An error answer: an HTTP status, a stable code and a message that says what to fix.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError { status, code, message: message.into() }
    }

    fn unprocessable(code: &'static str, message: impl Into<String>) -> AdminError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn store(e: impl std::fmt::Display) -> AdminError {
        tracing::error!(error = %e, "admin API store failure");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the store cannot answer right now; retry")
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code, "message": self.message } }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kosh admin\""));
        }
        response
    }
}

async fn require_token(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = app.config.admin_token.as_ref().map(Secret::expose) else {
        return AdminError::new(StatusCode::NOT_FOUND, "not_found", "the admin API is off").into_response();
    };
    let provided = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    match provided {
        Some(token) if constant_time_eq(token, expected) => next.run(req).await,
        Some(_) => {
            tracing::warn!(path = %req.uri().path(), "admin API refused a wrong bearer token");
            AdminError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the bearer token is not the admin token").into_response()
        }
        None => AdminError::new(StatusCode::UNAUTHORIZED, "unauthorized", "send the header Authorization: Bearer <admin token>")
            .into_response(),
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn method_not_allowed(method: Method) -> AdminError {
    AdminError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not allowed here"))
}

async fn find_partner(app: &AppState, id_or_name: &str) -> Result<Partner, AdminError> {
    app.store.find_partner(id_or_name).await.map_err(AdminError::store)?.ok_or_else(|| {
        AdminError::new(StatusCode::NOT_FOUND, "partner_not_found", format!("no partner with id or name {id_or_name:?}"))
    })
}

/// Paise as rupees with two decimals, negative amounts included.
fn rupees(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    let abs = paise.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn balance_json(partner: &Partner, balance: &Balance) -> Map<String, Value> {
    let fields = [
        ("partner_id", json!(partner.id)),
        ("partner", json!(partner.name)),
        ("balance", json!(rupees(balance.posted_credit()))),
        ("balance_paise", json!(balance.posted_credit())),
        ("available", json!(rupees(balance.available_credit()))),
        ("available_paise", json!(balance.available_credit())),
    ];
    fields.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// `GET /admin/v1/partners/{partner}/wallet`.
async fn wallet_balance(State(app): State<AppState>, Path(partner): Path<String>) -> Result<Json<Value>, AdminError> {
    let partner = find_partner(&app, &partner).await?;
    let balance = app.store.balance(partner.id, &AccountKind::PartnerWallet).await.map_err(AdminError::store)?;
    Ok(Json(Value::Object(balance_json(&partner, &balance))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditRequest {
    /// Rupees with at most two decimals; a string (`"100.00"`) or a JSON number.
    amount: Value,
    reference: Option<String>,
}

/// `POST /admin/v1/partners/{partner}/wallet/credit`.
async fn wallet_credit(
    State(app): State<AppState>,
    Path(partner): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let request: CreditRequest = serde_json::from_slice(&body).map_err(|e| {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body must be JSON like {{\"amount\": \"100.00\", \"reference\": \"…\"}}: {e}"),
        )
    })?;
    let amount = parse_amount(&request.amount)?;
    let reference = parse_reference(request.reference.as_deref())?;
    let key = idempotency_key(&headers)?;
    let partner = find_partner(&app, &partner).await?;
    let cmd = CreditWallet { partner_id: partner.id, amount_paise: amount, reference };
    let executed = match key {
        Some(key) => {
            let key = IdemKey { partner_id: partner.id, scope: kosh_store::scopes::ADMIN_WALLET_CREDIT.into(), key };
            app.store.execute_idempotent(key, cmd).await
        }
        None => app.store.execute(cmd).await.map(|outcome| Executed { outcome, replayed: false }),
    }
    .map_err(command_error)?;
    let WalletCredit { entry_id, balance } = executed.outcome;
    tracing::debug!(
        partner_id = partner.id.get(),
        entry_id,
        amount_paise = amount.get(),
        replayed = executed.replayed,
        "admin credit"
    );
    let mut body = balance_json(&partner, &balance);
    body.insert("entry_id".into(), entry_id.into());
    body.insert("amount".into(), amount.to_rupees_string().into());
    body.insert("amount_paise".into(), amount.get().into());
    body.insert("replayed".into(), executed.replayed.into());
    let mut response = Json(Value::Object(body)).into_response();
    if executed.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn parse_amount(value: &Value) -> Result<Paise, AdminError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(AdminError::unprocessable("invalid_amount", "amount must be a string of rupees like \"100.00\"")),
    };
    let amount = Paise::parse_rupees(&text).map_err(|e| AdminError::unprocessable("invalid_amount", e.to_string()))?;
    if amount.is_zero() {
        return Err(AdminError::unprocessable("invalid_amount", "amount must be greater than zero"));
    }
    Ok(amount)
}

fn parse_reference(reference: Option<&str>) -> Result<String, AdminError> {
    let reference = reference.map(str::trim).filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REFERENCE);
    if reference.chars().count() > MAX_REFERENCE_LEN {
        return Err(AdminError::unprocessable(
            "invalid_reference",
            format!("reference is longer than {MAX_REFERENCE_LEN} characters"),
        ));
    }
    if reference.chars().any(char::is_control) {
        return Err(AdminError::unprocessable("invalid_reference", "reference must not contain control characters"));
    }
    Ok(reference.to_owned())
}

/// The `Idempotency-Key` header: absent, or 1 to 64 printable ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AdminError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AdminError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters without spaces"),
        ));
    }
    Ok(Some(key.to_owned()))
}

fn command_error(e: CommandError) -> AdminError {
    match e {
        CommandError::Rejected(Rejection::PartnerNotFound) => {
            AdminError::new(StatusCode::NOT_FOUND, "partner_not_found", "the partner no longer exists")
        }
        CommandError::Rejected(Rejection::CallbackNotFound) => {
            AdminError::new(StatusCode::NOT_FOUND, "callback_not_found", "no such outbox event")
        }
        CommandError::Rejected(r @ Rejection::CallbackNotReplayable(_)) => {
            AdminError::new(StatusCode::CONFLICT, "not_replayable", r.to_string())
        }
        CommandError::Rejected(r @ Rejection::InvalidCallbackConfig(_)) => {
            AdminError::unprocessable("invalid_callback", r.to_string())
        }
        CommandError::Rejected(Rejection::IdempotencyConflict) => AdminError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this Idempotency-Key was used before with a different request; use a new key for a new credit",
        ),
        CommandError::Rejected(rejection) => AdminError::unprocessable("rejected", rejection.to_string()),
        e @ (CommandError::Sql(_) | CommandError::UnexpectedOutcome(_)) => AdminError::store(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn amounts_are_exact_positive_rupees() {
        assert_eq!(parse_amount(&json!("100.00")).unwrap().get(), 10_000);
        assert_eq!(parse_amount(&json!(100.5)).unwrap().get(), 10_050);
        assert_eq!(parse_amount(&json!("1.005")).unwrap_err().message, "amount has more than 2 decimal places");
        assert_eq!(parse_amount(&json!("0")).unwrap_err().message, "amount must be greater than zero");
        assert_eq!(parse_amount(&json!(true)).unwrap_err().code, "invalid_amount");
    }

    #[test]
    fn references_are_bounded() {
        assert_eq!(parse_reference(None).unwrap(), DEFAULT_REFERENCE);
        assert_eq!(parse_reference(Some(" NEFT 123 ")).unwrap(), "NEFT 123");
        assert!(parse_reference(Some(&"x".repeat(MAX_REFERENCE_LEN + 1))).is_err());
    }
}
