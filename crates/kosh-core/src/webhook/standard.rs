//! Standard Webhooks (<https://www.standardwebhooks.com>), so partners can verify Kosh's
//! callbacks with the spec's libraries in any language.
//!
//! A secret is `whsec_` + base64 of the key bytes. Every signed callback carries
//! `webhook-id` (the outbox event id: the same on every retry, for deduplication),
//! `webhook-timestamp` (seconds since the epoch) and `webhook-signature`: `v1,` +
//! base64 of HMAC-SHA256(key, `id.timestamp.body`). A header may list several
//! signatures separated by spaces (a receiver rotating secrets accepts any of its own).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The message id header: the same on every retry of one event.
pub const ID_HEADER: &str = "webhook-id";
/// The signing time header, in seconds since the epoch.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signatures header: space-separated `v1,<base64>` values.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The prefix of a secret's text.
pub const SECRET_PREFIX: &str = "whsec_";
/// The tolerance the spec recommends, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;

/// The key bytes of a `whsec_…` secret; `None` when the text is not one.
pub fn key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    BASE64.decode(encoded).ok().filter(|k| !k.is_empty())
}

/// A fresh secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", BASE64.encode(bytes))
}

/// `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`.
pub fn signature(key: &[u8], id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// Why a Standard Webhooks signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The secret is not `whsec_` + base64.
    #[error("the secret is not whsec_ followed by base64")]
    BadSecret,
    /// A header is missing.
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// The timestamp is not whole seconds.
    #[error("the webhook-timestamp header is not seconds since the epoch")]
    BadTimestamp,
    /// No listed signature matches.
    #[error("no signature in webhook-signature matches the body (forged, altered, or signed with another secret)")]
    Mismatch,
    /// Signed outside the tolerance: a replay, or a clock problem.
    #[error("the callback was signed {0} s from now, beyond the tolerance (a replay, or a clock problem)")]
    OutsideTolerance(i64),
}

/// The headers of one received callback, as strings.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Verifies a callback per the spec: one listed `v1` signature matches, and the
/// timestamp is within `tolerance_secs` of `now_secs`.
pub fn verify(
    secret: &str,
    received: Received<'_>,
    raw_body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let key = key(secret).ok_or(VerifyError::BadSecret)?;
    let id = received.id.ok_or(VerifyError::Missing(ID_HEADER))?;
    let timestamp = received.timestamp.ok_or(VerifyError::Missing(TIMESTAMP_HEADER))?;
    let listed = received.signature.ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let timestamp_secs: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    let expected = signature(&key, id, timestamp_secs, raw_body);
    if !listed.split(' ').any(|s| crate::signing::constant_time_eq(s, &expected)) {
        return Err(VerifyError::Mismatch);
    }
    let offset = timestamp_secs.saturating_sub(now_secs);
    if offset.abs() > tolerance_secs {
        return Err(VerifyError::OutsideTolerance(offset));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries' tests.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn received(signature: &str) -> Received<'_> {
        Received { id: Some(ID), timestamp: Some("1614265330"), signature: Some(signature) }
    }

    #[test]
    fn the_reference_example_signs_and_verifies() {
        assert_eq!(signature(&key(SECRET).unwrap(), ID, TIMESTAMP, BODY), EXPECTED);
        assert_eq!(verify(SECRET, received(EXPECTED), BODY, TIMESTAMP + 10, DEFAULT_TOLERANCE_SECS), Ok(()));
        let rotated = format!("v1,bm90LWl0 {EXPECTED}");
        assert_eq!(verify(SECRET, received(&rotated), BODY, TIMESTAMP, DEFAULT_TOLERANCE_SECS), Ok(()));
    }

    #[test]
    fn tampering_staleness_and_bad_secrets_are_refused() {
        assert_eq!(verify(SECRET, received(EXPECTED), b"{}", TIMESTAMP, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify(SECRET, received(EXPECTED), BODY, TIMESTAMP + 301, 300), Err(VerifyError::OutsideTolerance(-301)));
        assert_eq!(verify("whsec_***", received(EXPECTED), BODY, TIMESTAMP, 300), Err(VerifyError::BadSecret));
        let no_id = Received { id: None, ..received(EXPECTED) };
        assert_eq!(verify(SECRET, no_id, BODY, TIMESTAMP, 300), Err(VerifyError::Missing(ID_HEADER)));
    }

    #[test]
    fn new_secrets_are_32_byte_keys() {
        let secret = new_secret();
        assert_eq!(key(&secret).map(|k| k.len()), Some(32), "{secret}");
        assert_ne!(new_secret(), secret);
    }
}
