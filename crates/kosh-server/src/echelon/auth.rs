//! What every Echelon request passes before its handler, in this order:
//!
//! 1. `X-API-Version`: major `2` (a `2.x` minor is accepted as compatible); missing or
//!    anything else is 404, as the vendor documents.
//! 2. `Authorization: Bearer <JWT>` (all but the two token endpoints): a missing,
//!    malformed, forged, expired or `alg: none` token, or one of an unknown or inactive
//!    merchant, or of the sandbox merchant on a server outside sandbox mode, is 401.
//! 3. The throttle: `echelon_requests_per_sec` per merchant, counted in the database so
//!    that every node sharing it enforces one limit; above it, 429 with `Retry-After`
//!    (the whole seconds until the window frees).
//! 4. The token's operations must match the whole `METHOD /path` (percent-decoded): 403.

use super::error::{ApiError, ApiResult};
use super::Caller;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kosh_core::echelon::jwt;
use kosh_store::commands::ThrottleHit;
use kosh_store::ops::echelon::Merchant;
use std::sync::Arc;

/// The major API version served.
pub const API_VERSION: &str = "2";

pub async fn require_version(req: Request, next: Next) -> Response {
    match check_version(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn check_version(headers: &HeaderMap) -> ApiResult<()> {
    let Some(value) = headers.get("x-api-version") else {
        return Err(ApiError::not_found("the X-API-Version header is missing; send X-API-Version: 2"));
    };
    let text = value.to_str().unwrap_or("").trim();
    let major = text.split_once('.').map_or(text, |(major, minor)| {
        if !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()) {
            major
        } else {
            text
        }
    });
    if major == API_VERSION {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("API version {text:?} is not supported; send X-API-Version: 2")))
    }
}

pub async fn require_token(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    // Owned pieces: a borrowed request held across an await would make this future !Send.
    let token = bearer(req.headers()).map(str::to_owned);
    let (method, path) = (req.method().as_str().to_owned(), req.uri().path().to_owned());
    match authorize(&app, token, &method, &path).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn authorize(app: &AppState, token: ApiResult<String>, method: &str, raw_path: &str) -> ApiResult<Caller> {
    let token = token?;
    let (merchant, claims) = verify_token(app, &token).await?;
    throttle(app, &merchant).await?;
    let path = decoded_path(raw_path)?;
    if claims.operations.is_empty() {
        return Err(ApiError::forbidden(format!(
            "the token grants no operations (it was issued without any), so not \"{method} {path}\" either; \
             issue a token whose operations include it"
        )));
    }
    let grants = app.echelon.grants(&token, &claims.operations)?;
    if !grants.allows(method, &path) {
        return Err(ApiError::forbidden(format!(
            "the token does not grant \"{method} {path}\"; issue a token whose operations include it"
        )));
    }
    Ok(Caller { merchant, money: claims.money })
}

fn bearer(headers: &HeaderMap) -> ApiResult<&str> {
    let Some(value) = headers.get("authorization") else {
        return Err(ApiError::unauthorized("the Authorization header is missing; send Authorization: Bearer <token>"));
    };
    let text = value.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::unauthorized("the Authorization header must be Bearer <token>")),
    }
}

/// Verifies a token against the key of the merchant it names.
async fn verify_token(app: &AppState, token: &str) -> ApiResult<(Arc<Merchant>, jwt::Claims)> {
    let refused = |e: jwt::JwtError| ApiError::unauthorized(format!("invalid token: {e}"));
    let sub = jwt::unverified_subject(token).map_err(refused)?;
    let merchant = app
        .echelon
        .merchant(&app.store, &sub)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::unauthorized("invalid token: its signature does not verify"))?;
    super::check_mode(app, &merchant)?;
    let key = app.echelon.signing_key(&merchant);
    let claims = jwt::verify(token, &key, app.now_ms().div_euclid(1000)).map_err(refused)?;
    if !merchant.active {
        return Err(ApiError::unauthorized("the merchant is inactive"));
    }
    Ok((merchant, claims))
}

/// Counts the request in the merchant's one-second window (in the database, shared by
/// every node). A node that has seen the window full answers 429 without asking again:
/// a window's count only grows.
pub async fn throttle(app: &AppState, merchant: &Merchant) -> ApiResult<()> {
    let now_ms = app.now_ms();
    let window_s = now_ms.div_euclid(1000);
    if app.echelon.known_full(merchant.id, window_s) {
        return Err(too_many(app, now_ms));
    }
    let hits = app.store.execute(ThrottleHit { merchant_id: merchant.id, window_s }).await.map_err(ApiError::store)?;
    if hits > i64::from(app.config.echelon_requests_per_sec) {
        app.echelon.mark_full(merchant.id, window_s);
        return Err(too_many(app, now_ms));
    }
    Ok(())
}

/// 429 for the window of `now_ms`, with the whole seconds until it ends (at least 1).
fn too_many(app: &AppState, now_ms: i64) -> ApiError {
    let retry_after_secs = (1000 - now_ms.rem_euclid(1000) + 999) / 1000;
    ApiError::too_many(
        format!(
            "too many requests: at most {} per second per merchant; retry in {retry_after_secs} s",
            app.config.echelon_requests_per_sec
        ),
        retry_after_secs as u64,
    )
}

/// The request path with percent-escapes decoded, so that an escaped path cannot slip
/// past a pattern written for the plain one.
pub fn decoded_path(path: &str) -> ApiResult<String> {
    if !path.contains('%') {
        return Ok(path.to_owned());
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ApiError::bad_request("the path has an invalid percent-escape"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ApiError::bad_request("the path is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn version(v: Option<&str>) -> ApiResult<()> {
        let mut h = HeaderMap::new();
        if let Some(v) = v {
            h.insert("x-api-version", HeaderValue::from_str(v).unwrap());
        }
        check_version(&h)
    }

    #[test]
    fn versions() {
        assert!(version(Some("2")).is_ok());
        assert!(version(Some("2.47")).is_ok());
        assert!(version(None).is_err());
        assert!(version(Some("1")).is_err());
        assert!(version(Some("3")).is_err());
        assert!(version(Some("2.x")).is_err());
        assert!(version(Some("22")).is_err());
    }

    #[test]
    fn decodes_paths() {
        assert_eq!(decoded_path("/payins/TST%2D1").unwrap(), "/payins/TST-1");
        assert_eq!(decoded_path("/payins/%21availablePaymentOptions").unwrap(), "/payins/!availablePaymentOptions");
        assert!(decoded_path("/payins/%zz").is_err());
        assert!(decoded_path("/payins/%ff").is_err());
    }
}
