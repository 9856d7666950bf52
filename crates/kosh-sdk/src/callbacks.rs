//! Receiving Kosh's callbacks: verify a signed callback before trusting it.
//!
//! ```no_run
//! # fn handle(headers: &reqwest::header::HeaderMap, raw_body: &[u8], secret: &str, now_ms: i64) {
//! match kosh_sdk::callbacks::verify(secret, headers, raw_body, now_ms) {
//!     Ok(()) => { /* parse raw_body as JSON, dedupe by X-Kosh-Event-Id or tid, act */ }
//!     Err(refusal) => { /* answer 401; log refusal */ let _ = refusal; }
//! }
//! # }
//! ```
//!
//! Verify over the raw bytes exactly as received: re-serialised JSON differs. The
//! timestamp tolerance ([`DEFAULT_TOLERANCE_MS`], 5 minutes) refuses replays of old
//! captured callbacks; within it, dedupe by event id, as retries require anyway.

/// Standard Webhooks verification (`standard::verify`), for the `webhook-*` headers.
pub use kosh_core::webhook::standard;
pub use kosh_core::webhook::{
    signature, verify as verify_parts, VerifyError, DEFAULT_TOLERANCE_MS, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use reqwest::header::HeaderMap;

/// Verifies a signed callback from its headers and raw body, with the default tolerance.
pub fn verify(secret: &str, headers: &HeaderMap, raw_body: &[u8], now_ms: i64) -> Result<(), VerifyError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    verify_parts(secret, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), raw_body, now_ms, DEFAULT_TOLERANCE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec-test-0123456789";
    const T0: i64 = 1_700_000_000_000;
    const BODY: &[u8] = br#"{"tx_status":0,"tid":12345}"#;

    fn headers(timestamp_ms: i64, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, timestamp_ms.to_string().parse().unwrap());
        h.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        h
    }

    #[test]
    fn a_genuine_callback_verifies() {
        let h = headers(T0, &signature(SECRET, T0, BODY));
        assert_eq!(verify(SECRET, &h, BODY, T0 + 1_000), Ok(()));
    }

    #[test]
    fn forged_or_altered_callbacks_are_refused() {
        let h = headers(T0, &signature("another-secret-0123456789", T0, BODY));
        assert_eq!(verify(SECRET, &h, BODY, T0), Err(VerifyError::Mismatch));
        let h = headers(T0, &signature(SECRET, T0, BODY));
        assert_eq!(verify(SECRET, &h, br#"{"tx_status":0,"tid":99999}"#, T0), Err(VerifyError::Mismatch));
        // Moving the timestamp to make an old capture look fresh breaks the signature.
        let h = headers(T0 + 600_000, &signature(SECRET, T0, BODY));
        assert_eq!(verify(SECRET, &h, BODY, T0 + 600_000), Err(VerifyError::Mismatch));
    }

    #[test]
    fn a_replayed_stale_callback_is_refused() {
        let h = headers(T0, &signature(SECRET, T0, BODY));
        let later = T0 + DEFAULT_TOLERANCE_MS + 1;
        assert_eq!(verify(SECRET, &h, BODY, later), Err(VerifyError::Stale { age_ms: DEFAULT_TOLERANCE_MS + 1 }));
        assert!(matches!(verify(SECRET, &h, BODY, T0 - DEFAULT_TOLERANCE_MS - 1), Err(VerifyError::Future { .. })));
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        assert_eq!(verify(SECRET, &HeaderMap::new(), BODY, T0), Err(VerifyError::MissingTimestamp));
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, "yesterday".parse().unwrap());
        assert_eq!(verify(SECRET, &h, BODY, T0), Err(VerifyError::BadTimestamp));
        h.insert(TIMESTAMP_HEADER, T0.to_string().parse().unwrap());
        assert_eq!(verify(SECRET, &h, BODY, T0), Err(VerifyError::MissingSignature));
    }
}
