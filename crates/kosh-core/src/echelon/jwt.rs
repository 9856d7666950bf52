//! HS256 JSON Web Tokens, written by hand over `hmac`, `sha2` and `base64` rather than a
//! JWT library: Kosh issues and accepts exactly one shape, so the whole verifier fits on
//! a page and accepts nothing else (no `alg: none`, no other algorithm, no `crit`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest token accepted, in bytes; anything longer is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 32 * 1024;
/// How far in the future `iat` may be (clock skew between nodes), in seconds.
pub const IAT_LEEWAY_SECS: i64 = 60;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The money restriction a token may carry: it creates only a payment of exactly this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenMoney {
    /// The amount in major units as sent (a JSON number, compared exactly, never via f64).
    pub amount: serde_json::Number,
    /// ISO 4217 currency code (`INR`).
    pub currency_code: String,
}

/// The claims of an Echelon token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The merchant code.
    pub sub: String,
    /// Operation patterns, each matched against the whole `METHOD /path`.
    pub operations: Vec<String>,
    /// Expiry, in seconds since the epoch.
    pub exp: i64,
    /// Issued at, in seconds since the epoch.
    pub iat: i64,
    /// A unique id (UUID v4).
    pub jti: String,
    /// When present, the token may create only a payment of exactly this amount and currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<TokenMoney>,
}

/// Why a token was refused. Every variant is a 401; the text says why without
/// revealing anything secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Longer than any token Kosh issues: refused before parsing.
    #[error("the token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
    /// Not three base64url parts.
    #[error("the token is not a JWT (three base64url parts separated by dots)")]
    Malformed,
    /// The header is not a JSON object with `alg` and `typ` `JWT` (or it has `crit`).
    #[error("the token's header is not valid: {0}")]
    BadHeader(String),
    /// Any algorithm but HS256 (including `none`).
    #[error("the token's algorithm must be HS256, not {0}")]
    Algorithm(String),
    /// The claims are not the JSON Kosh issues.
    #[error("the token's claims are not valid: {0}")]
    BadClaims(String),
    /// The HMAC does not verify with the merchant's token key.
    #[error("the token's signature does not verify")]
    Signature,
    /// `exp` has passed.
    #[error("the token expired")]
    Expired,
    /// `iat` is in the future beyond the allowed skew.
    #[error("the token was issued in the future")]
    NotYetValid,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// Encodes and signs `claims` with `key`.
pub fn encode(claims: &Claims, key: &[u8]) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialise");
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(payload));
    let mut m = mac(key);
    m.update(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

/// The three parts of a token, decoded but not verified.
struct Parts<'a> {
    signing_input: &'a str,
    header: serde_json::Value,
    claims: Claims,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLong);
    }
    let mut pieces = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (pieces.next(), pieces.next(), pieces.next(), pieces.next()) else {
        return Err(JwtError::Malformed);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed);
    let header: serde_json::Value =
        serde_json::from_slice(&decode(h)?).map_err(|e| JwtError::BadHeader(format!("not JSON ({e})")))?;
    let claims: Claims = serde_json::from_slice(&decode(p)?).map_err(|e| JwtError::BadClaims(e.to_string()))?;
    let signature = decode(s)?;
    Ok(Parts { signing_input: &token[..h.len() + 1 + p.len()], header, claims, signature })
}

/// The merchant a token claims to be for, read without verifying anything, so that the
/// verifier knows whose key to check it with.
pub fn unverified_subject(token: &str) -> Result<String, JwtError> {
    Ok(split(token)?.claims.sub)
}

/// Verifies `token` with `key` at `now_s` (seconds) and returns its claims.
pub fn verify(token: &str, key: &[u8], now_s: i64) -> Result<Claims, JwtError> {
    let parts = split(token)?;
    let header = parts.header.as_object().ok_or_else(|| JwtError::BadHeader("not a JSON object".into()))?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => {}
        Some(other) => return Err(JwtError::Algorithm(format!("{other:?}"))),
        None => return Err(JwtError::BadHeader("no alg".into())),
    }
    if header.get("typ").is_some_and(|t| t != "JWT") {
        return Err(JwtError::BadHeader("typ must be JWT".into()));
    }
    if header.contains_key("crit") {
        return Err(JwtError::BadHeader("crit extensions are not supported".into()));
    }
    let mut m = mac(key);
    m.update(parts.signing_input.as_bytes());
    m.verify_slice(&parts.signature).map_err(|_| JwtError::Signature)?;
    let claims = parts.claims;
    if now_s >= claims.exp {
        return Err(JwtError::Expired);
    }
    if claims.iat > now_s + IAT_LEEWAY_SECS {
        return Err(JwtError::NotYetValid);
    }
    Ok(claims)
}

/// A random UUID v4, for `jti`.
pub fn new_jti() -> String {
    crate::secret::new_access_key()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "M1".into(),
            operations: vec!["GET /payins/TST-1".into()],
            exp,
            iat: 1_000,
            jti: new_jti(),
            money: Some(TokenMoney { amount: 5000.into(), currency_code: "INR".into() }),
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let c = claims(2_000);
        let token = encode(&c, b"key");
        assert_eq!(verify(&token, b"key", 1_500), Ok(c.clone()));
        assert_eq!(verify(&token, b"key", 2_000), Err(JwtError::Expired));
        assert_eq!(verify(&token, b"other", 1_500), Err(JwtError::Signature));
        assert_eq!(unverified_subject(&token).unwrap(), "M1");
        assert_eq!(verify(&token, b"key", 900 - IAT_LEEWAY_SECS), Err(JwtError::NotYetValid));
    }

    /// The RFC 7519 §3.1 example token, re-signed: the header shape is HS256/JWT.
    #[test]
    fn header_is_the_standard_one() {
        let token = encode(&claims(2_000), b"key");
        let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
        assert_eq!(header, HEADER.as_bytes());
    }

    #[test]
    fn refuses_other_algorithms_and_tampering() {
        let token = encode(&claims(2_000), b"key");
        let (_, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), rest);
        assert!(matches!(verify(&none, b"key", 1_500), Err(JwtError::Algorithm(_))));
        let unsigned = format!("{}.", none.rsplit_once('.').unwrap().0);
        assert!(matches!(verify(&unsigned, b"key", 1_500), Err(JwtError::Algorithm(_))));
        let hs512 = format!("{}.{}", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512"}"#), rest);
        assert!(matches!(verify(&hs512, b"key", 1_500), Err(JwtError::Algorithm(_))));
        let mut other = claims(2_000);
        other.sub = "M2".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = &forged_payload;
        assert_eq!(verify(&parts.join("."), b"key", 1_500), Err(JwtError::Signature));
        assert_eq!(verify("a.b", b"key", 1_500), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c.d", b"key", 1_500), Err(JwtError::Malformed));
        assert_eq!(verify("!!.!!.!!", b"key", 1_500), Err(JwtError::Malformed));
        assert_eq!(verify(&"a".repeat(MAX_TOKEN_LEN + 1), b"key", 1_500), Err(JwtError::TooLong));
    }
}
