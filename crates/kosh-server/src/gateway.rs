//! The hosted AePS gateway page, `/v2/aeps`, as `seeds/001_*` describes it.
//!
//! 1. The partner's web app opens the page with a form POST of its configuration
//!    (`initiator_id`, `developer_key`, `secret_key`, `secret_key_timestamp`,
//!    `user_code`, `callback_url`, `callback_url_custom_params`,
//!    `callback_url_custom_headers`, `partner_name`, `initiator_logo_url`, `language`,
//!    `environment`). Kosh authenticates it like an API request, checks that the agent
//!    has service 43 ("Authentication Failed...Initiator access forbidden" otherwise),
//!    and opens a session.
//! 2. The agent picks cash withdrawal, balance enquiry or mini statement, enters the
//!    customer's mobile, Aadhaar, bank and amount, and captures the fingerprint (in
//!    sandbox, a simulated capture). The page asks Kosh to announce the transaction
//!    (an *intent*), and Kosh answers the debit-hook `detail`. Outside sandbox mode the
//!    page has no capture at all and Kosh refuses every intent: "No AePS bank connector
//!    is configured on this server" (the only bank is the sandbox simulator).
//! 3. From the browser, the page POSTs `{"action":"debit-hook","detail":…}` to the
//!    partner's `callback_url` (a CORS request: OPTIONS preflight first). The partner
//!    answers `{"action":"go","allow":true,secret_key,secret_key_timestamp,
//!    request_hash}` or `allow:false` with a message shown to the agent.
//! 4. Kosh verifies the confirmation server-side against the intent as Kosh announced
//!    it (not as the browser relays it), uses it once, and only then runs the
//!    transaction. The page then POSTs `{"action":"eko-response","detail":{…,"response":
//!    <the full envelope>}}` to the callback URL and shows the result.
//!
//! Failures use the FAQ's words: "Connection to callback server failed. Please try
//! again" (network or CORS), "Transaction verification timeout" (no answer, or not
//! JSON), "Authentication for secret-key failed", "Authentication for request-hash
//! failed".

// As in `eko`: the error *is* the answer, built once per request.
#![allow(clippy::result_large_err)]

mod api;
mod page;

use crate::eko::envelope::EkoReply;
use crate::eko::params::EkoParams;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use kosh_core::aeps::SERVICE_FINGPAY;
use kosh_core::validate;
use kosh_store::ops::aeps::{GatewaySession, NewGatewaySession};
use serde_json::{Map, Value};

/// How long a gateway page stays usable after it was opened.
pub const SESSION_MS: i64 = 30 * 60 * 1000;
/// Most transactions one page session may announce.
pub const MAX_INTENTS_PER_SESSION: i64 = 20;
/// Longest `callback_url` or logo URL.
const MAX_URL_LEN: usize = 512;
/// Most custom callback parameters or headers.
const MAX_CUSTOM_ENTRIES: usize = 10;
/// Longest custom parameter or header value.
const MAX_CUSTOM_VALUE_LEN: usize = 256;
/// The header the page sends its session token in.
pub const SESSION_HEADER: &str = "x-gateway-session";

pub fn router(_state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v2/aeps", post(open).get(open_by_get))
        .route("/v2/aeps/api/intents", post(api::create_intent))
        .route("/v2/aeps/api/intents/{intent_id}/confirm", post(api::confirm))
        .route("/v2/aeps/api/intents/{intent_id}/refuse", post(api::refuse))
        .route("/v2/aeps/api/daily-auth", post(api::daily_auth))
}

async fn open_by_get() -> Response {
    let body = page::message_page(
        "AePS Gateway",
        "Open this page with a form POST",
        "Your web app opens the AePS gateway with an HTML form that POSTs its configuration (developer_key, secret_key, secret_key_timestamp, initiator_id, user_code, callback_url, …) to this address.",
    );
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")], Html(body)).into_response()
}

/// An error page: the message the FAQ names, and what to do.
fn error_page(status: StatusCode, message: &str, hint: &str) -> Response {
    (status, Html(page::message_page("AePS Gateway", message, hint))).into_response()
}

/// `POST /v2/aeps`: authenticates the partner's form and serves the page.
async fn open(State(app): State<AppState>, params: Result<EkoParams, EkoReply>) -> Response {
    let params = match params {
        Ok(p) => p,
        Err(reply) => return error_page(reply.http, "Error in authentication", &reply.message),
    };
    match open_session(&app, &params).await {
        Ok((session, token)) => page::gateway_page(&app, &session, &token),
        Err(reply) => {
            let status = if reply.http == StatusCode::OK { StatusCode::FORBIDDEN } else { reply.http };
            error_page(status, &reply.message, reply.hint.as_deref().unwrap_or(""))
        }
    }
}

/// The form's fields authenticated and checked; a new session and its token.
async fn open_session(app: &AppState, params: &EkoParams) -> Result<(GatewaySession, String), EkoReply> {
    let mut headers = HeaderMap::new();
    for (field, name) in
        [("developer_key", "developer_key"), ("secret_key", "secret-key"), ("secret_key_timestamp", "secret-key-timestamp")]
    {
        if let Some(value) = params.get(field).and_then(|v| HeaderValue::from_str(v.trim()).ok()) {
            headers.insert(name, value);
        }
    }
    let auth = crate::eko::auth::check(app, &headers).await.map_err(|reply| {
        let why = reply.message.trim_start_matches("Authentication failed: ").to_owned();
        EkoReply::http_error(StatusCode::FORBIDDEN, "Error in authentication").with_hint(format!(
            "{why}. Generate secret_key and secret_key_timestamp on your server for every page opening, with your access key"
        ))
    })?;
    let mut c = crate::eko::checker(params, &auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let callback_url = c.required(params, "callback_url", |t| parse_url(t).map(|_| t.trim().to_owned()));
    let custom_params = c.optional(params, "callback_url_custom_params", |t| custom_object(t, false)).unwrap_or_default();
    let custom_headers = c.optional(params, "callback_url_custom_headers", |t| custom_object(t, true)).unwrap_or_default();
    let logo_url = c.optional(params, "initiator_logo_url", |t| parse_url(t).map(|_| t.trim().to_owned())).unwrap_or_default();
    let partner_name = c.optional(params, "partner_name", |t| validate::Text::parse(t, 64)).map(|t| t.as_str().to_owned());
    let language = params.get("language").filter(|l| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase())).unwrap_or("en");
    c.finish().map_err(|reply| {
        let fields: Vec<String> =
            reply.invalid_params.iter().flatten().map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or(""))).collect();
        EkoReply::http_error(StatusCode::BAD_REQUEST, "The gateway configuration is incomplete").with_hint(fields.join("; "))
    })?;
    let (Some(user_code), Some(callback_url)) = (user_code, callback_url) else { unreachable!("checked") };
    crate::eko::user::require_active_service(app, auth.partner.id, user_code, SERVICE_FINGPAY).await.map_err(|reply| {
        EkoReply::http_error(StatusCode::FORBIDDEN, "Authentication Failed...Initiator access forbidden").with_hint(format!(
            "{}; the AePS gateway needs service {SERVICE_FINGPAY} active for user_code {user_code}",
            reply.hint.unwrap_or(reply.message)
        ))
    })?;
    let token = kosh_core::secret::new_token(32);
    let new = NewGatewaySession {
        partner_id: auth.partner.id,
        token_hash: token_hash(&token),
        user_code,
        callback_url,
        custom_params: Value::Object(custom_params).to_string(),
        custom_headers: Value::Object(custom_headers).to_string().into(),
        partner_name: partner_name.unwrap_or_else(|| auth.partner.name.clone()),
        logo_url,
        language: language.to_owned(),
        expires_at_ms: app.now_ms() + SESSION_MS,
    };
    let session_id = app.store.execute(new).await.map_err(crate::eko::user::store_error)?;
    let session = app.store.aeps_gateway_session(&token_hash(&token)).await.map_err(crate::eko::user::store_error)?;
    let session = session.filter(|s| s.id == session_id).ok_or_else(|| crate::eko::user::store_error("session vanished"))?;
    Ok((session, token))
}

/// The stored form of a session token.
pub fn token_hash(token: &str) -> String {
    kosh_core::secret::hash_secret("kosh-gateway-session", token)
}

/// `scheme://host[:port]` of an http(s) URL, or why it is not one.
pub fn parse_url(text: &str) -> Result<String, &'static str> {
    let t = text.trim();
    if t.len() > MAX_URL_LEN || t.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'') {
        return Err("must be an http(s) URL of at most 512 characters");
    }
    let (scheme, rest) = t.split_once("://").ok_or("must be an http(s) URL")?;
    if scheme != "https" && scheme != "http" {
        return Err("must be an http(s) URL");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err("must be an http(s) URL with a host (and no user name)");
    }
    Ok(format!("{scheme}://{authority}"))
}

/// A JSON object of custom callback parameters (scalar values) or headers (valid
/// header names), bounded.
fn custom_object(text: &str, headers: bool) -> Result<Map<String, Value>, &'static str> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else { return Err("must be a JSON object") };
    if map.len() > MAX_CUSTOM_ENTRIES {
        return Err("has more than 10 entries");
    }
    let mut out = Map::new();
    for (key, value) in map {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err("values must be strings or numbers"),
        };
        let key_ok =
            !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !key_ok || text.len() > MAX_CUSTOM_VALUE_LEN || text.chars().any(char::is_control) {
            return Err("names must be letters, digits, _ or - (≤ 64) and values printable (≤ 256)");
        }
        if !headers && matches!(key.as_str(), "action" | "detail") {
            return Err("must not use the names action or detail");
        }
        if headers && axum::http::HeaderName::from_bytes(key.as_bytes()).is_err() {
            return Err("has an invalid header name");
        }
        out.insert(key, Value::String(text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_their_origins() {
        assert_eq!(parse_url("https://partner.example/eko/callback?x=1").unwrap(), "https://partner.example");
        assert_eq!(parse_url("http://127.0.0.1:4000/cb").unwrap(), "http://127.0.0.1:4000");
        assert!(parse_url("ftp://x/y").is_err());
        assert!(parse_url("https://user@host/").is_err());
        assert!(parse_url("https:///path").is_err());
        assert!(parse_url("javascript:alert(1)").is_err());
        assert!(parse_url("https://a\".example/").is_err());
    }

    #[test]
    fn custom_params_and_headers_are_bounded() {
        assert_eq!(custom_object(r#"{"param1":"value1","n":2}"#, false).unwrap()["n"], "2");
        assert!(custom_object(r#"{"detail":"x"}"#, false).is_err());
        assert!(custom_object(r#"{"a":{"b":1}}"#, false).is_err());
        assert!(custom_object("[1]", false).is_err());
        assert!(custom_object(r#"{"X-Partner-Token":"abc"}"#, true).is_ok());
        assert!(custom_object(r#"{"bad header":"abc"}"#, true).is_err());
        let many: Map<String, Value> = (0..11).map(|i| (format!("k{i}"), Value::from(i))).collect();
        assert!(custom_object(&Value::Object(many).to_string(), false).is_err());
    }
}
