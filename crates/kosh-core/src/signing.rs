//! Eko partner signing.
//!
//! `secret-key = base64(HMAC-SHA256(key = base64(access_key) as ASCII text, msg = timestamp))`
//! and `request_hash` is the same HMAC over `timestamp + field1 + field2 + …` with no
//! separators. The key is the *text* of the base64 encoding, not the decoded bytes:
//! that detail is what most partners' 403s come from, so [`diagnose_secret_key`] can
//! tell them which common mistake they made without revealing the expected value.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_b64(key_text: &[u8], msg: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key_text).expect("HMAC accepts keys of any length");
    mac.update(msg);
    B64.encode(mac.finalize().into_bytes())
}

/// The HMAC key Eko uses: the base64 text of the access key.
fn signing_key(access_key: &str) -> String {
    B64.encode(access_key.as_bytes())
}

/// The `secret-key` header for a timestamp (milliseconds since the epoch, as text).
pub fn secret_key(access_key: &str, timestamp: &str) -> String {
    hmac_b64(signing_key(access_key).as_bytes(), timestamp.as_bytes())
}

/// The `request_hash` over `timestamp` followed by `fields`, in order, unseparated.
pub fn request_hash(access_key: &str, timestamp: &str, fields: &[&str]) -> String {
    let mut msg = String::with_capacity(timestamp.len() + fields.iter().map(|f| f.len()).sum::<usize>());
    msg.push_str(timestamp);
    for field in fields {
        msg.push_str(field);
    }
    hmac_b64(signing_key(access_key).as_bytes(), msg.as_bytes())
}

/// Compares two strings in time independent of where they first differ, through
/// `subtle` (a hand-written fold may be turned into an early exit by the optimiser).
pub use crate::secret::constant_time_eq;

/// Why a provided `secret-key` did not match, as far as Kosh can tell without
/// revealing the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKeyMistake {
    /// It is not 44 characters of base64: not an HMAC-SHA256 at all.
    NotBase64Sha256,
    /// It was computed with the developer_key instead of the access key.
    UsedDeveloperKey,
    /// It was computed with the raw access key, not its base64 text.
    KeyNotBase64Encoded,
    /// It was hex-encoded instead of base64-encoded.
    HexEncoded,
    /// It matches another timestamp form (seconds instead of milliseconds).
    TimestampInSeconds,
    /// None of the known mistakes: wrong access key, or a different timestamp.
    Unknown,
}

impl SecretKeyMistake {
    /// What to tell the partner, in one sentence.
    pub fn explain(self) -> &'static str {
        match self {
            Self::NotBase64Sha256 => "secret-key is not a base64-encoded HMAC-SHA256 (expected 44 characters of base64)",
            Self::UsedDeveloperKey => "secret-key does not match: it must be computed with the access key, not the developer_key",
            Self::KeyNotBase64Encoded => "secret-key does not match: the HMAC key must be the base64 encoding of the access key (as text), not the access key itself",
            Self::HexEncoded => "secret-key does not match: the HMAC digest must be base64-encoded, not hex-encoded",
            Self::TimestampInSeconds => "secret-key does not match: it was computed over the timestamp in seconds; use milliseconds since the epoch, the same text as the secret-key-timestamp header",
            Self::Unknown => "secret-key does not match the secret-key-timestamp: check that you use this partner's access key and sign exactly the secret-key-timestamp header value",
        }
    }
}

/// Explains a mismatched `secret-key`. Only call this after the correct computation
/// failed; it tries the mistakes partners commonly make.
pub fn diagnose_secret_key(provided: &str, access_key: &str, developer_key: &str, timestamp: &str) -> SecretKeyMistake {
    let hex_of = |key: &[u8], msg: &[u8]| -> String {
        let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
        mac.update(msg);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    };
    let key = signing_key(access_key);
    if provided.len() == 64 && constant_time_eq(provided, &hex_of(key.as_bytes(), timestamp.as_bytes())) {
        return SecretKeyMistake::HexEncoded;
    }
    let decoded = B64.decode(provided.as_bytes());
    if provided.len() != 44 || decoded.map(|d| d.len() != 32).unwrap_or(true) {
        return SecretKeyMistake::NotBase64Sha256;
    }
    if constant_time_eq(provided, &secret_key(developer_key, timestamp)) {
        return SecretKeyMistake::UsedDeveloperKey;
    }
    if constant_time_eq(provided, &hmac_b64(access_key.as_bytes(), timestamp.as_bytes())) {
        return SecretKeyMistake::KeyNotBase64Encoded;
    }
    if let Ok(ms) = timestamp.parse::<i64>() {
        if constant_time_eq(provided, &secret_key(access_key, &(ms / 1000).to_string())) {
            return SecretKeyMistake::TimestampInSeconds;
        }
    }
    SecretKeyMistake::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOX_ACCESS_KEY: &str = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30";
    const SANDBOX_DEVELOPER_KEY: &str = "becbbce45f79c6f5109f848acd540567";

    #[test]
    fn known_answer_secret_keys_from_the_catalogue() {
        assert_eq!(secret_key("TEST_ACCESS_KEY_DO_NOT_USE", "1700000000000"), "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk=");
        assert_eq!(secret_key("test-access-key-123", "1700000000000"), "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo=");
        assert_eq!(secret_key(SANDBOX_ACCESS_KEY, "1700000000000"), "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=");
    }

    #[test]
    fn known_answer_request_hash_for_bill_payment() {
        let hash = request_hash(SANDBOX_ACCESS_KEY, "1700000000000", &["151627591", "50", "20810200"]);
        assert_eq!(hash, "TO65c2+vieXFx4+yDLN50NoAHe1fnfyWfIAB2NJkiNc=");
    }

    #[test]
    fn request_hash_depends_on_field_order() {
        let a = request_hash(SANDBOX_ACCESS_KEY, "1", &["a", "b"]);
        let b = request_hash(SANDBOX_ACCESS_KEY, "1", &["b", "a"]);
        assert_ne!(a, b);
        assert_eq!(request_hash(SANDBOX_ACCESS_KEY, "1", &["ab"]), a, "fields are concatenated without separators");
    }

    #[test]
    fn diagnoses_common_mistakes() {
        let ts = "1700000000000";
        let diag = |provided: &str| diagnose_secret_key(provided, SANDBOX_ACCESS_KEY, SANDBOX_DEVELOPER_KEY, ts);
        assert_eq!(diag(&secret_key(SANDBOX_DEVELOPER_KEY, ts)), SecretKeyMistake::UsedDeveloperKey);
        assert_eq!(diag(&hmac_b64(SANDBOX_ACCESS_KEY.as_bytes(), ts.as_bytes())), SecretKeyMistake::KeyNotBase64Encoded);
        assert_eq!(diag(&secret_key(SANDBOX_ACCESS_KEY, "1700000000")), SecretKeyMistake::TimestampInSeconds);
        assert_eq!(diag("not-a-signature"), SecretKeyMistake::NotBase64Sha256);
        assert_eq!(diag(&secret_key("another-key", ts)), SecretKeyMistake::Unknown);
        let mut mac = HmacSha256::new_from_slice(signing_key(SANDBOX_ACCESS_KEY).as_bytes()).unwrap();
        mac.update(ts.as_bytes());
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(diag(&hex), SecretKeyMistake::HexEncoded);
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
