//! Reading request bodies the way the spec describes them: a JSON object sent as
//! `application/json`, with no key repeated, whose fields are checked for type, presence
//! and length (400 naming the field), then for business rules (406 with the field as
//! `attrCode`). Unknown fields are ignored, as the spec's schemas allow; `null` counts as
//! absent.

use super::error::{ApiError, ApiResult};
use crate::json_strict::{self, StrictJsonError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap};
use kosh_core::echelon::{self, AmountProblem, SEGMENTS};
use kosh_core::money::Paise;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Longest text Kosh keeps in a field the spec sets no limit for.
pub const MAX_TEXT_CHARS: usize = 1000;

/// A request body that is a JSON object: its fields, and its text for reading numbers
/// exactly.
pub struct Body {
    text: Bytes,
    map: Map<String, Value>,
}

impl Body {
    pub fn fields(&self) -> Fields<'_> {
        Fields { map: &self.map, prefix: String::new(), keys: Vec::new(), text: &self.text }
    }
}

/// Parses a body that must be a JSON object sent as `application/json`.
pub fn object(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<Body> {
    check_content_type(headers)?;
    let text = body.map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
    match json_strict::from_slice(&text) {
        Ok(Value::Object(map)) => Ok(Body { text, map }),
        Ok(other) => Err(ApiError::bad_request(format!("the request body must be a JSON object, not {}", kind(&other)))),
        Err(StrictJsonError::DuplicateKey { path }) => {
            Err(ApiError::bad_request(format!("the request body repeats the key {path}; each key may appear once in an object")))
        }
        Err(StrictJsonError::Syntax(e)) => Err(ApiError::bad_request(format!("the request body is not valid JSON: {e}"))),
    }
}

/// The spec's request bodies are `application/json` only (a `charset` other than
/// UTF-8 is not JSON either). The spec documents no 415, so this is its 400: the
/// request "is not valid according to this OAS document".
fn check_content_type(headers: &HeaderMap) -> ApiResult<()> {
    let refused = |what: String| {
        ApiError::bad_request(format!("the request body must be sent with Content-Type: application/json, not {what}"))
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(refused("without a Content-Type".into()));
    };
    let text = value.to_str().map_err(|_| refused("a Content-Type that is not text".into()))?;
    let mut parts = text.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(refused(format!("{:?}", shortened(media_type))));
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
            return Err(refused(format!("charset {:?} (JSON is UTF-8)", shortened(value))));
        }
    }
    Ok(())
}

/// What a JSON value is, for errors ("must be a string, not an object").
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The fields of one JSON object, named by their path from the body's root.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    /// The names leading from the body's root to this object.
    keys: Vec<String>,
    /// The whole body's text.
    text: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The full name of field `name`, e.g. `paymentRequested.money.amount`.
    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn wrong_type(&self, name: &str, expected: &str, got: &Value) -> ApiError {
        ApiError::bad_request(format!("{} must be {expected}, not {}", self.path(name), kind(got)))
    }

    /// An optional string of at most `max_chars` characters, empty allowed (the spec's
    /// strings without `minLength`).
    pub fn opt_text(&self, name: &str, max_chars: usize) -> ApiResult<Option<&'a str>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let text = value.as_str().ok_or_else(|| self.wrong_type(name, "a string", value))?;
        if text.chars().count() > max_chars {
            return Err(ApiError::bad_request(format!("{} is longer than {max_chars} characters", self.path(name))));
        }
        Ok(Some(text))
    }

    /// An optional string of 1 to `max_chars` characters (`minLength: 1`).
    pub fn opt_str(&self, name: &str, max_chars: usize) -> ApiResult<Option<&'a str>> {
        match self.opt_text(name, max_chars)? {
            Some("") => Err(ApiError::bad_request(format!("{} must not be empty", self.path(name)))),
            other => Ok(other),
        }
    }

    pub fn req_str(&self, name: &str, max_chars: usize) -> ApiResult<&'a str> {
        self.opt_str(name, max_chars)?.ok_or_else(|| self.missing(name))
    }

    /// A required string that may be empty (no `minLength`).
    pub fn req_text(&self, name: &str, max_chars: usize) -> ApiResult<&'a str> {
        self.opt_text(name, max_chars)?.ok_or_else(|| self.missing(name))
    }

    pub fn missing(&self, name: &str) -> ApiError {
        ApiError::bad_request(format!("{} is required", self.path(name)))
    }

    pub fn opt_obj(&self, name: &str) -> ApiResult<Option<Fields<'a>>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let map = value.as_object().ok_or_else(|| self.wrong_type(name, "an object", value))?;
        let mut keys = self.keys.clone();
        keys.push(name.to_owned());
        Ok(Some(Fields { map, prefix: self.path(name), keys, text: self.text }))
    }

    pub fn req_obj(&self, name: &str) -> ApiResult<Fields<'a>> {
        self.opt_obj(name)?.ok_or_else(|| self.missing(name))
    }

    /// A required number, as the exact text the body wrote it in (`42.0000000000000001`
    /// stays that, where `f64` would make it 42).
    pub fn req_number_text(&self, name: &str) -> ApiResult<&'a str> {
        let value = self.get(name).ok_or_else(|| self.missing(name))?;
        if !value.is_number() {
            return Err(self.wrong_type(name, "a number", value));
        }
        self.raw(name).ok_or_else(|| self.wrong_type(name, "a number", value))
    }

    /// The text of field `name` in the body, found by walking the keys from the root
    /// (keys are unique: [`object`] refused the body otherwise).
    fn raw(&self, name: &str) -> Option<&'a str> {
        let mut text = std::str::from_utf8(self.text).ok()?;
        for key in self.keys.iter().map(String::as_str).chain([name]) {
            let object: HashMap<String, &'a RawValue> = serde_json::from_str(text).ok()?;
            text = object.get(key)?.get();
        }
        Some(text)
    }

    pub fn opt_int(&self, name: &str) -> ApiResult<Option<i64>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        value.as_i64().map(Some).ok_or_else(|| self.wrong_type(name, "an integer", value))
    }

    pub fn opt_array(&self, name: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        value.as_array().map(Some).ok_or_else(|| self.wrong_type(name, "an array", value))
    }

    /// A string that must match a shape (`what` describes it in the error).
    pub fn opt_shaped(&self, name: &str, max_chars: usize, ok: fn(&str) -> bool, what: &str) -> ApiResult<Option<&'a str>> {
        match self.opt_str(name, max_chars)? {
            Some(text) if !ok(text) => Err(ApiError::bad_request(format!("{} must be {what}", self.path(name)))),
            other => Ok(other),
        }
    }
}

/// A `Money` object: amount in paise and the currency, checked as the spec says.
pub fn money(f: &Fields) -> ApiResult<Paise> {
    let amount = f.req_number_text("amount")?;
    let currency = f.req_str("currencyCode", MAX_TEXT_CHARS)?;
    echelon::parse_amount(amount, currency).map_err(|problem| match problem {
        AmountProblem::NotPositive => ApiError::bad_request(format!("{} must be a number greater than 0", f.path("amount"))),
        AmountProblem::CurrencyNotSupported => ApiError::rule(
            "CURRENCY_NOT_SUPPORTED",
            format!("currency {currency:?} is not supported; Kosh keeps INR"),
            Some(&f.path("currencyCode")),
        ),
        AmountProblem::PrecisionExceeded => ApiError::rule(
            "CURRENCY_PRECISION_EXCEEDED",
            format!("{currency} amounts must be whole units (42 or 42.00, not {})", shortened(amount)),
            Some(&f.path("amount")),
        ),
        AmountProblem::TooLarge => ApiError::rule(
            "PAYMENT_CHANNEL_AMOUNT_LIMITS",
            "the amount is larger than any channel accepts",
            Some(&f.path("amount")),
        ),
    })
}

/// Request text quoted in an error, cut to a readable length.
pub fn shortened(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX_CHARS).collect::<String>())
    }
}

/// A `PaymentRequested` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub amount: Paise,
    pub segment: Option<String>,
    pub exchanged_to: Option<String>,
}

/// Reads `paymentRequested`; an unknown segment is answered with `segment_code`.
pub fn requested(f: &Fields, segment_code: &'static str) -> ApiResult<Requested> {
    let amount = money(&f.req_obj("money")?)?;
    let segment = f.opt_str("segmentCode", MAX_TEXT_CHARS)?;
    if let Some(s) = segment {
        if !SEGMENTS.contains(&s) {
            let known = SEGMENTS.join(", ");
            return Err(ApiError::rule(
                segment_code,
                format!("unknown segment {:?}; segments are {known}", shortened(s)),
                Some(&f.path("segmentCode")),
            ));
        }
    }
    let exchanged_to = f.opt_str("exchangedToCurrency", MAX_TEXT_CHARS)?;
    if let Some(c) = exchanged_to {
        if c != echelon::INR {
            return Err(ApiError::rule(
                "CURRENCY_NOT_SUPPORTED",
                format!("exchange to {:?} is not supported; Kosh keeps INR", shortened(c)),
                Some(&f.path("exchangedToCurrency")),
            ));
        }
    }
    Ok(Requested { amount, segment: segment.map(str::to_owned), exchanged_to: exchanged_to.map(str::to_owned) })
}

/// A URL Kosh only hands on (`returnUrl`, where the customer's browser goes): http(s),
/// at most 1000 characters.
pub fn url(f: &Fields, name: &str, required: bool) -> ApiResult<Option<String>> {
    let text = if required { Some(f.req_str(name, 1000)?) } else { f.opt_str(name, 1000)? };
    match text {
        Some(t) if !(t.starts_with("http://") || t.starts_with("https://")) || t.contains(char::is_whitespace) => {
            Err(ApiError::bad_request(format!("{} must be an http:// or https:// URL", f.path(name))))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// `callbackUrl`: an http(s) URL Kosh may call (see [`super::targets`]), else 400.
pub fn callback_url(f: &Fields, sandbox: bool) -> ApiResult<Option<String>> {
    let Some(text) = f.opt_str("callbackUrl", 1000)? else { return Ok(None) };
    super::targets::check_callback_url(text, sandbox)
        .map_err(|why| ApiError::bad_request(format!("{} {why}", f.path("callbackUrl"))))?;
    Ok(Some(text.to_owned()))
}

/// `customerIp` (any string in the schema): IPv4 or IPv6, else 406 `CLIENT_IP_INVALID`.
pub fn customer_ip(f: &Fields) -> ApiResult<Option<String>> {
    match f.opt_text("customerIp", MAX_TEXT_CHARS)? {
        Some(ip) if !echelon::is_ip_address(ip) => Err(ApiError::rule(
            "CLIENT_IP_INVALID",
            format!("{:?} is not an IPv4 or IPv6 address", shortened(ip)),
            Some("customerIp"),
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

/// A path id (`idPayin`, `idPayout`, `idPayment`): `^[A-Za-z0-9_-]+$`, at most 250.
pub fn entity_id(name: &str, id: &str) -> ApiResult<()> {
    if echelon::is_entity_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("{name} must be 1 to 250 letters, digits, '_' or '-'")))
    }
}

/// `Id-Customer`, when sent: text of at most [`MAX_TEXT_CHARS`] (the spec sets no limit).
pub fn check_customer_header(headers: &HeaderMap) -> ApiResult<()> {
    match headers.get("id-customer") {
        Some(v) if v.len() > MAX_TEXT_CHARS || v.to_str().is_err() => {
            Err(ApiError::bad_request(format!("the Id-Customer header must be text of at most {MAX_TEXT_CHARS} characters")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// The request schemas' `accountName` definitions, from the vendor's spec.
    fn account_name_fields() -> Vec<(&'static str, Value)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/echelon-openapi.yaml");
        let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(path).expect("read the spec")).expect("YAML");
        [
            "AccountPayinRequestIMPS",
            "AccountPayinRequestNetBanking",
            "AccountPayinRequestP2AV2",
            "AccountPayoutRequestBankTransfer",
            "AccountPayoutRequestWalletTransfer",
        ]
        .into_iter()
        .map(|name| (name, spec["components"]["schemas"][name]["properties"]["accountName"].clone()))
        .collect()
    }

    /// Issue 11 item 4: the spec's account-name pattern, compiled by `regex` (real Unicode
    /// general categories), agrees with Kosh's check for every character: first, after
    /// a letter and after punctuation (a letter after it is always fine). A unit test
    /// rather than in `tests/echelon_payments.rs`, so that its few seconds of CPU do not
    /// slow the HTTP tests running beside it.
    #[test]
    fn account_names_match_the_spec_pattern_for_every_character() {
        let fields = account_name_fields();
        let pattern = fields[0].1["pattern"].as_str().expect("a pattern").to_owned();
        for (name, field) in &fields {
            assert_eq!(field["pattern"], pattern.as_str(), "{name}: one pattern everywhere");
            assert_eq!((field["minLength"].as_u64(), field["maxLength"].as_u64()), (Some(1), Some(64)), "{name}");
        }
        let re = regex::Regex::new(&pattern).expect("the spec's pattern compiles");
        let mut checked = 0;
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            for name in [c.to_string(), format!("a{c}"), format!(" {c}")] {
                assert_eq!(
                    kosh_core::echelon::is_account_name(&name),
                    re.is_match(&name),
                    "{name:?} (U+{:04X}) against the spec's {pattern}",
                    c as u32
                );
                checked += 1;
            }
        }
        assert!(checked > 3_000_000);
    }
}
