//! Merchant secrets, and what Kosh stores instead of them.
//!
//! A merchant secret is 32 random bytes (base64url, 43 characters), shown once. Kosh
//! keeps two one-way values derived from it, never the secret itself:
//!
//! - a **verifier**, `SHA-256(salt ‖ 0 ‖ secret)` with a per-merchant salt, checked in
//!   constant time when `/auth-tokens` presents the secret. The secret is random and
//!   long, so a fast hash is enough (no password stretching needed);
//! - a **token key**, `HMAC-SHA256(key = secret, "kosh/echelon/token-key/v1")`. Tokens
//!   are signed with `HMAC-SHA256(key = pepper, token key)`, where the pepper is the
//!   server's `echelon_token_pepper` (configuration, never in the database).
//!
//! So the database alone reveals no secret; with a pepper configured it does not even
//! let its reader mint tokens. Rotating a secret replaces both values, and every token
//! issued under the old secret stops verifying.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// The pepper used when none is configured (documented, so it protects nothing; it
/// only keeps one code path).
pub const DEFAULT_PEPPER: &str = "kosh-echelon-default-pepper";

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(message);
    m.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random merchant secret.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// Random alphanumeric salt, fresh for every secret.
    pub salt: String,
    /// The keyed hash of the secret with the salt ([`verifier`]); the secret itself is never stored.
    pub verifier: String,
    /// Hex of the token key.
    pub token_key: crate::secret::Secret,
}

impl StoredSecret {
    /// Derives what is stored for `secret` with a fresh salt.
    pub fn derive(secret: &str) -> StoredSecret {
        let salt = crate::secret::new_token(16);
        StoredSecret { verifier: verifier(&salt, secret), token_key: token_key(secret).into(), salt }
    }
}

/// The verifier stored for `secret` under `salt`.
pub fn verifier(salt: &str, secret: &str) -> String {
    crate::secret::hash_secret(&format!("kosh-echelon-merchant:{salt}"), secret)
}

/// Whether `secret` is the one `salt`/`stored_verifier` were made from (constant time).
pub fn secret_matches(salt: &str, stored_verifier: &str, secret: &str) -> bool {
    crate::signing::constant_time_eq(&verifier(salt, secret), stored_verifier)
}

/// The key tokens of the merchant are signed with, derived from its secret (hex).
pub fn token_key(secret: &str) -> String {
    hex(&hmac(secret.as_bytes(), b"kosh/echelon/token-key/v1"))
}

/// The key a merchant's tokens are signed and verified with.
pub fn signing_key(pepper: &str, token_key_hex: &str) -> [u8; 32] {
    hmac(pepper.as_bytes(), token_key_hex.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_verify_the_secret_and_differ_from_it() {
        let secret = new_secret();
        assert_eq!(secret.len(), 43);
        let stored = StoredSecret::derive(&secret);
        assert!(secret_matches(&stored.salt, &stored.verifier, &secret));
        assert!(!secret_matches(&stored.salt, &stored.verifier, "wrong"));
        assert!(!stored.verifier.contains(&secret) && !stored.token_key.expose().contains(&secret));
        assert_ne!(StoredSecret::derive(&secret).verifier, stored.verifier, "salted");
        assert_eq!(StoredSecret::derive(&secret).token_key, stored.token_key, "the token key depends on the secret only");
        assert_ne!(signing_key("a", stored.token_key.expose()), signing_key("b", stored.token_key.expose()));
    }
}
