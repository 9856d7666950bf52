//! Signed callbacks (a Kosh extension, off by default, per partner).
//!
//! When a partner has a signing secret, every callback Kosh sends it carries
//! `X-Kosh-Timestamp: <ms since the epoch>` and `X-Kosh-Signature: v1=<hex>`, where the
//! hex is `HMAC-SHA256(key = secret, message = timestamp + "." + raw body)`. A receiver
//! recomputes it over the raw bytes it received (before parsing JSON), compares in
//! constant time, and refuses timestamps outside its tolerance, so a captured callback
//! cannot be replayed later. Within the tolerance, receivers dedupe by `X-Kosh-Event-Id`
//! (or the body's `tid`), as they must for retries anyway.
//!
//! The same callbacks also carry the [`standard`] Standard Webhooks headers, signed with
//! the same secret (a `whsec_` + base64 key), for receivers using that spec's libraries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub mod standard;

/// Carries the signing time (ms since the epoch), part of what is signed.
pub const TIMESTAMP_HEADER: &str = "x-kosh-timestamp";
/// Carries [`signature`] of the timestamp and body.
pub const SIGNATURE_HEADER: &str = "x-kosh-signature";
/// The outbox event id: the same on every retry of one event.
pub const EVENT_ID_HEADER: &str = "x-kosh-event-id";
/// The signature scheme's prefix in [`SIGNATURE_HEADER`].
pub const SCHEME: &str = "v1=";
/// The tolerance receivers should use unless they have a reason not to.
pub const DEFAULT_TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn signature(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(SCHEME.len() + 64);
    out.push_str(SCHEME);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Why a callback's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No timestamp header.
    #[error("the X-Kosh-Timestamp header is missing")]
    MissingTimestamp,
    /// The timestamp header is not an integer.
    #[error("the X-Kosh-Timestamp header is not milliseconds since the epoch")]
    BadTimestamp,
    /// Signed too long ago: a replay, or a slow clock.
    #[error("the callback was signed {age_ms} ms ago, beyond the tolerance (a replay, or a clock problem)")]
    Stale {
        /// How long ago it was signed, in ms.
        age_ms: i64,
    },
    /// Signed in the future: a fast clock.
    #[error("the callback is signed {ahead_ms} ms in the future, beyond the tolerance (check the clocks)")]
    Future {
        /// How far ahead the timestamp is, in ms.
        ahead_ms: i64,
    },
    /// No signature header.
    #[error("the X-Kosh-Signature header is missing")]
    MissingSignature,
    /// The signature does not match: forged, altered, or another secret.
    #[error("the signature does not match the body (forged, altered, or signed with another secret)")]
    Mismatch,
}

/// Verifies a signed callback: the headers as received, the raw body, the receiver's
/// clock and tolerance.
pub fn verify(
    secret: &str,
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    raw_body: &[u8],
    now_ms: i64,
    tolerance_ms: i64,
) -> Result<(), VerifyError> {
    let timestamp = timestamp_header.map(str::trim).filter(|t| !t.is_empty()).ok_or(VerifyError::MissingTimestamp)?;
    let timestamp_ms: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    let provided = signature_header.map(str::trim).filter(|s| !s.is_empty()).ok_or(VerifyError::MissingSignature)?;
    // Check the signature before the age, so a forged callback is reported as forged.
    if !crate::signing::constant_time_eq(provided, &signature(secret, timestamp_ms, raw_body)) {
        return Err(VerifyError::Mismatch);
    }
    let age_ms = now_ms.saturating_sub(timestamp_ms);
    if age_ms > tolerance_ms {
        return Err(VerifyError::Stale { age_ms });
    }
    if -age_ms > tolerance_ms {
        return Err(VerifyError::Future { ahead_ms: -age_ms });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec-test-0123456789'
        let sig = signature("whsec-test-0123456789", 1_700_000_000_000, br#"{"a":1}"#);
        assert!(sig.starts_with("v1=") && sig.len() == 67, "{sig}");
        assert_eq!(sig, KNOWN);
    }

    const KNOWN: &str = "v1=bf2f0e18681466fd6b19e12dbce82e82c86caca2e1956368d5db1d459db1babc";
}
