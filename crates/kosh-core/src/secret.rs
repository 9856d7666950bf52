//! Random credentials and one-time passwords, the one-way hashes Kosh stores instead
//! of them, and [`Secret`], the type every secret Kosh must keep in clear is held in.

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// A secret Kosh must hold in clear (an access key, a Basic password, a header value,
/// a pepper, a token): `Debug` and `Display` print `<redacted>`, so a `{:?}` of a
/// record, a config or an error never shows it; equality is constant-time. The text
/// is reached only through [`Secret::expose`], which makes each use visible in review.
///
/// It serialises as the bare text: stored commands and config files must carry it.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

impl Secret {
    /// Wraps `text`; from here on it prints as [`REDACTED`].
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret text, for the one place that needs it (a signature, a header, a
    /// database parameter).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

/// For command-line flags and environment variables (clap parses through `FromStr`).
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::from(text))
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Secret) -> subtle::Choice {
        self.0.as_bytes().ct_eq(other.0.as_bytes())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Secret {}

/// Whether two texts are equal, in time independent of their contents (a differing
/// length answers at once: lengths of signatures and hashes are public).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

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
    fn secrets_never_print_and_compare_exactly() {
        let s = Secret::new("hunter2-access-key");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{:?}", Some(vec![("x", s.clone())])), format!("Some([(\"x\", {REDACTED})])"));
        assert_eq!(s.expose(), "hunter2-access-key");
        assert_eq!(s, Secret::from("hunter2-access-key"));
        assert_ne!(s, Secret::from("hunter2-access-kez"));
        assert_ne!(s, Secret::from("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2-access-key\"");
        assert_eq!(serde_json::from_str::<Secret>("\"k\"").unwrap(), Secret::from("k"));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(!constant_time_eq("", "a"));
    }

    #[test]
    fn hashes_depend_on_salt_and_secret() {
        assert_eq!(hash_secret("s", "123456"), hash_secret("s", "123456"));
        assert_ne!(hash_secret("s", "123456"), hash_secret("t", "123456"));
        assert_ne!(hash_secret("s", "123456"), hash_secret("s", "123457"));
        assert_eq!(hash_secret("s", "1").len(), 64);
    }
}
