//! Random credentials and one-time passwords, and the one-way hashes Kosh stores
//! instead of them.

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use sha2::{Digest, Sha256};

/// A 32-character lowercase hex developer key, the shape Eko issues.
pub fn new_developer_key() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An access key in UUID v4 text form, the shape Eko issues.
pub fn new_access_key() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A random alphanumeric token of `len` characters.
pub fn new_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A numeric OTP of `digits` digits, uniformly random, leading zeros allowed.
pub fn new_otp(digits: u32) -> String {
    assert!((4..=9).contains(&digits), "OTPs have 4 to 9 digits");
    let n: u32 = rand::rng().random_range(0..10u32.pow(digits));
    format!("{n:0width$}", width = digits as usize)
}

/// A salted SHA-256 of a secret, hex-encoded. OTPs are short-lived and attempt-limited,
/// so a fast hash with a per-record salt is enough to keep them unreadable at rest.
pub fn hash_secret(salt: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret.as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_the_issued_shapes() {
        let dk = new_developer_key();
        assert_eq!(dk.len(), 32);
        assert!(dk.bytes().all(|b| b.is_ascii_hexdigit()));
        let ak = new_access_key();
        assert_eq!(ak.len(), 36);
        assert_eq!(ak.matches('-').count(), 4);
        assert_ne!(new_developer_key(), dk);
    }

    #[test]
    fn otps_are_numeric_and_fixed_width() {
        for _ in 0..200 {
            let otp = new_otp(6);
            assert_eq!(otp.len(), 6);
            assert!(otp.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn hashes_depend_on_salt_and_secret() {
        assert_eq!(hash_secret("s", "123456"), hash_secret("s", "123456"));
        assert_ne!(hash_secret("s", "123456"), hash_secret("t", "123456"));
        assert_ne!(hash_secret("s", "123456"), hash_secret("s", "123457"));
        assert_eq!(hash_secret("s", "1").len(), 64);
    }
}
