//! Eko partner authentication, on every Eko-dialect request: `developer_key` names the
//! partner; `secret-key` must be the HMAC of `secret-key-timestamp` under the partner's
//! access key; the timestamp must be within the configured tolerance. Refusals explain
//! which check failed and why, and never reveal the expected value.
//!
//! Financial requests also carry a `request_hash`. Since `secret-key` covers only the
//! timestamp, captured headers would sign any request for the whole tolerance: under
//! `replay_protection` a verified hash is single-use ([`accept_request_hash`]), recorded
//! by the command it authorises. Reused `secret-key`s alone are not refused: the
//! vendor's SDKs and examples reuse them on non-financial calls.

use super::envelope::EkoReply;
use crate::config::HashStrictness;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kosh_core::signing;
use kosh_store::commands::RequestHashUse;
use kosh_store::ops::partners::Partner;
use std::sync::Arc;

/// The public sandbox developer_key: refused outside sandbox mode with the platform's words.
pub const SANDBOX_DEVELOPER_KEY: &str = "becbbce45f79c6f5109f848acd540567";

/// The authenticated partner, and the timestamp it signed (request hashes reuse it).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub partner: Arc<Partner>,
    pub timestamp: String,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn forbidden(message: impl Into<String>) -> EkoReply {
    EkoReply::http_error(StatusCode::FORBIDDEN, message)
}

pub async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    match check(&app, req.headers()).await {
        Ok(auth) => {
            req.extensions_mut().insert(auth);
            next.run(req).await
        }
        Err(reply) => {
            tracing::info!(status = reply.http.as_u16(), message = %reply.message, "eko authentication refused");
            reply.into_response()
        }
    }
}

pub(crate) async fn check(app: &AppState, headers: &HeaderMap) -> Result<Authenticated, EkoReply> {
    let developer_key = header(headers, "developer_key").ok_or_else(|| {
        EkoReply::http_error(StatusCode::PAYMENT_REQUIRED, "developer_key header is missing").with_hint(
            "send your developer_key in a header named developer_key (with an underscore; some proxies drop such headers)",
        )
    })?;
    let partner = app.partners.by_developer_key(&app.store, developer_key).await.map_err(|e| {
        tracing::error!(error = %e, "partner lookup failed");
        EkoReply::http_error(StatusCode::SERVICE_UNAVAILABLE, "the platform cannot check credentials right now")
    })?;
    let Some(partner) = partner else {
        if developer_key == SANDBOX_DEVELOPER_KEY && !app.config.sandbox {
            return Err(forbidden("Kindly use your production key")
                .with_hint("the public sandbox developer_key works only in sandbox mode"));
        }
        return Err(forbidden("Authentication failed: developer_key is not recognised"));
    };
    let timestamp = header(headers, "secret-key-timestamp").ok_or_else(|| {
        forbidden("Authentication failed: secret-key-timestamp header is missing")
            .with_hint("send the current time in milliseconds since the epoch, the same text you signed")
    })?;
    check_timestamp(timestamp, app.now_ms(), app.config.timestamp_tolerance_secs)?;
    let secret_key = header(headers, "secret-key").ok_or_else(|| {
        forbidden("Authentication failed: secret-key header is missing")
            .with_hint("secret-key = base64(HMAC-SHA256(key = base64(access_key), message = secret-key-timestamp))")
    })?;
    if !signing::constant_time_eq(secret_key, &signing::secret_key(partner.access_key.expose(), timestamp)) {
        let mistake = signing::diagnose_secret_key(secret_key, partner.access_key.expose(), &partner.developer_key, timestamp);
        return Err(forbidden(format!("Authentication failed: {}", mistake.explain()))
            .with_hint("`kosh sign --access-key … --timestamp …` prints the headers for a given timestamp"));
    }
    Ok(Authenticated { partner, timestamp: timestamp.to_owned() })
}

fn check_timestamp(timestamp: &str, now_ms: i64, tolerance_secs: u64) -> Result<(), EkoReply> {
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| forbidden("Authentication failed: secret-key-timestamp must be an integer: milliseconds since the epoch"))?;
    if ts < 100_000_000_000 {
        return Err(forbidden(
            "Authentication failed: secret-key-timestamp looks like seconds; it must be milliseconds since the epoch",
        ));
    }
    let tolerance_ms = i64::try_from(tolerance_secs).unwrap_or(i64::MAX / 1000) * 1000;
    let drift_ms = now_ms - ts;
    if drift_ms > tolerance_ms {
        return Err(forbidden(format!(
            "Authentication failed: secret-key-timestamp is {} s old, tolerance is {tolerance_secs} s",
            drift_ms / 1000
        ))
        .with_hint("generate a fresh timestamp and secret-key for every request"));
    }
    if -drift_ms > tolerance_ms {
        return Err(forbidden(format!(
            "Authentication failed: secret-key-timestamp is {} s in the future, tolerance is {tolerance_secs} s",
            -drift_ms / 1000
        ))
        .with_hint("check your server's clock (NTP)"));
    }
    Ok(())
}

/// Verifies a `request_hash` over `timestamp + fields` (in order) under the deployment's
/// strictness. `fields` are the values exactly as the partner sent them.
pub fn verify_request_hash(
    strictness: HashStrictness,
    auth: &Authenticated,
    headers: &HeaderMap,
    fields: &[&str],
    order_description: &str,
) -> Result<(), EkoReply> {
    verified_request_hash(strictness, auth, headers, fields, order_description).map(drop)
}

/// Verifies a `request_hash` like [`verify_request_hash`] and, under replay protection,
/// answers it as a single use for the command it authorises to record
/// ([`RequestHashUse`]): the headers can then authorise that request (and its retries)
/// only. A hash that did not verify (warn mode) or was not checked (off) is not recorded:
/// it protects nothing, and a partner sending the same wrong hash every time in warn
/// mode must not be refused for it.
pub fn accept_request_hash(
    app: &AppState,
    auth: &Authenticated,
    headers: &HeaderMap,
    fields: &[&str],
    order_description: &str,
) -> Result<Option<RequestHashUse>, EkoReply> {
    let verified = verified_request_hash(app.config.request_hash, auth, headers, fields, order_description)?;
    let Some(hash) = verified.filter(|_| app.config.replay_protection_on()) else { return Ok(None) };
    // The timestamp was checked by `check`: an integer within the tolerance.
    let timestamp_ms: i64 = auth.timestamp.parse().map_err(|_| forbidden("secret-key-timestamp must be an integer"))?;
    Ok(Some(RequestHashUse { hash, expires_at_ms: stale_from_ms(timestamp_ms, app.config.timestamp_tolerance_secs) }))
}

/// The first instant at which `timestamp_ms` is refused as stale.
fn stale_from_ms(timestamp_ms: i64, tolerance_secs: u64) -> i64 {
    let tolerance_ms = i64::try_from(tolerance_secs).unwrap_or(i64::MAX / 1000) * 1000;
    timestamp_ms.saturating_add(tolerance_ms).saturating_add(1)
}

/// The refusal of a request_hash that authorised another request already.
pub fn request_hash_reused(used_at_ms: i64) -> EkoReply {
    forbidden(format!(
        "Authentication for request-hash failed: this request_hash was already used at {}; compute a fresh timestamp per request",
        kosh_core::civil::iso_utc(used_at_ms)
    ))
    .with_hint(
        "a request_hash (with its secret-key-timestamp) authorises one request: a retry of that same request, with the same \
         client_ref_id and fields, answers its result; any other request needs a new timestamp, secret-key and request_hash",
    )
}

/// The verified hash (`None` when not checked, or mismatched in warn mode).
fn verified_request_hash(
    strictness: HashStrictness,
    auth: &Authenticated,
    headers: &HeaderMap,
    fields: &[&str],
    order_description: &str,
) -> Result<Option<String>, EkoReply> {
    if strictness == HashStrictness::Off {
        return Ok(None);
    }
    let outcome = match header(headers, "request_hash") {
        None => Err(forbidden("Authentication for request-hash failed: request_hash header is missing")),
        Some(provided) => {
            let expected = signing::request_hash(auth.partner.access_key.expose(), &auth.timestamp, fields);
            if signing::constant_time_eq(provided, &expected) {
                Ok(expected)
            } else {
                Err(forbidden("Authentication for request-hash failed: request_hash does not match")
                    .with_hint(format!("request_hash = base64(HMAC-SHA256(key = base64(access_key), message = {order_description})), concatenated without separators, values exactly as sent")))
            }
        }
    };
    match (outcome, strictness) {
        (Ok(hash), _) => Ok(Some(hash)),
        (Err(reply), HashStrictness::Warn) => {
            tracing::warn!(partner = auth.partner.id.get(), message = %reply.message, "request_hash check failed (warn mode: proceeding)");
            Ok(None)
        }
        (Err(reply), _) => Err(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::ids::PartnerId;

    #[test]
    fn timestamps_outside_tolerance_are_explained() {
        let now = 1_700_000_412_000;
        let err = check_timestamp("1700000000000", now, 300).unwrap_err();
        assert!(err.message.contains("412 s old, tolerance is 300 s"), "{}", err.message);
        let err = check_timestamp("1700000900000", 1_700_000_000_000, 300).unwrap_err();
        assert!(err.message.contains("900 s in the future"), "{}", err.message);
        assert!(check_timestamp("1700000000000", 1_700_000_299_000, 300).is_ok());
        assert!(check_timestamp("1700000000", now, 300).unwrap_err().message.contains("seconds"));
        assert!(check_timestamp("17e11", now, 300).unwrap_err().message.contains("integer"));
    }

    fn sandbox_auth() -> Authenticated {
        let partner = Partner {
            id: PartnerId::new(1),
            name: "sandbox".into(),
            developer_key: SANDBOX_DEVELOPER_KEY.into(),
            access_key: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30".into(),
            initiator_id: "9962981729".into(),
            is_sandbox: true,
            created_at_ms: 0,
        };
        Authenticated { partner: Arc::new(partner), timestamp: "1700000000000".into() }
    }

    fn with_hash(hash: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("request_hash", hash.parse().unwrap());
        headers
    }

    #[test]
    fn request_hash_is_checked_per_strictness() {
        let auth = sandbox_auth();
        let fields = ["151627591", "50", "20810200"];
        let order = "timestamp + utility_acc_no + amount + user_code";
        let good = with_hash("TO65c2+vieXFx4+yDLN50NoAHe1fnfyWfIAB2NJkiNc=");
        assert!(verify_request_hash(HashStrictness::Enforce, &auth, &good, &fields, order).is_ok());

        let reordered = ["50", "151627591", "20810200"];
        let err = verify_request_hash(HashStrictness::Enforce, &auth, &good, &reordered, order).unwrap_err();
        assert_eq!(err.http, StatusCode::FORBIDDEN);
        assert!(err.message.contains("request-hash"));
        assert!(err.hint.as_deref().unwrap().contains(order));
        assert!(!err.body().to_string().contains("TO65c2"), "the expected hash is never revealed");

        let missing = HeaderMap::new();
        assert!(verify_request_hash(HashStrictness::Enforce, &auth, &missing, &fields, order)
            .unwrap_err()
            .message
            .contains("missing"));
        assert!(verify_request_hash(HashStrictness::Warn, &auth, &missing, &fields, order).is_ok());
        assert!(verify_request_hash(HashStrictness::Warn, &auth, &good, &reordered, order).is_ok());
        assert!(verify_request_hash(HashStrictness::Off, &auth, &missing, &fields, order).is_ok());
    }
}
