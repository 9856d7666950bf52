//! The signing checks `doctor sign` and the debit-hook's confirmation share: the
//! timestamp, the `secret-key` (its mistakes named by `kosh_core::signing`), and the
//! `request_hash`, whose mistakes are found here by recomputing it the ways partners
//! commonly get it wrong (never printing the expected value).

use super::report::Report;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use kosh_core::signing::{self, SecretKeyMistake};
use sha2::Sha256;

/// Kosh's default `timestamp_tolerance_secs`.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Below this a timestamp is seconds, not milliseconds (the server's own rule).
const FIRST_MILLISECOND_TIMESTAMP: i64 = 100_000_000_000;
/// Most fields whose orders and subsets are tried (7 fields: 13,699 hashes).
const MAX_PERMUTED_FIELDS: usize = 7;

/// What a signature is checked with.
pub struct Keys<'a> {
    pub access_key: &'a str,
    pub developer_key: Option<&'a str>,
}

/// One value hashed into a request_hash, and how to name it in a diagnosis.
#[derive(Clone)]
pub struct Field {
    pub label: String,
    pub value: String,
}

/// Checks a timestamp (named `name`, e.g. `secret-key-timestamp`): an integer of
/// milliseconds within `tolerance_secs` of `now_ms`. Answers whether the text is a
/// number the signature can be checked over.
pub fn check_timestamp(report: &mut Report, name: &str, text: &str, now_ms: i64, tolerance_secs: u64) -> bool {
    let Ok(ts) = text.trim().parse::<i64>() else {
        report.fail(name, format!("{text:?} is not an integer"), "send milliseconds since the Unix epoch, e.g. 1700000000000");
        return false;
    };
    if ts < FIRST_MILLISECOND_TIMESTAMP {
        report.fail(
            name,
            format!("{ts} looks like seconds since the epoch"),
            "send milliseconds since the epoch (13 digits: seconds × 1000), and sign that same text",
        );
        return true;
    }
    let drift_ms = now_ms - ts;
    let tolerance_ms = i64::try_from(tolerance_secs).unwrap_or(i64::MAX / 1000) * 1000;
    if drift_ms > tolerance_ms {
        report.fail(
            name,
            format!("it is {} s old; Kosh accepts {tolerance_secs} s (timestamp_tolerance_secs)", drift_ms / 1000),
            "compute a fresh timestamp, secret-key and request_hash for every request, and keep your server's clock on NTP",
        );
    } else if -drift_ms > tolerance_ms {
        report.fail(
            name,
            format!("it is {} s in the future; Kosh accepts {tolerance_secs} s (timestamp_tolerance_secs)", -drift_ms / 1000),
            "set your server's clock right (enable NTP: timedatectl set-ntp true)",
        );
    } else {
        let skew = drift_ms as f64 / 1000.0;
        report.ok(name, format!("milliseconds, {skew:.1} s from this machine's clock (tolerance {tolerance_secs} s)"));
    }
    true
}

/// Checks a `secret-key` (named `name`) over `timestamp`.
pub fn check_secret_key(report: &mut Report, name: &str, provided: &str, keys: &Keys, timestamp: &str) {
    if signing::constant_time_eq(provided, &signing::secret_key(keys.access_key, timestamp)) {
        report.ok(name, "matches the timestamp under this access key");
        return;
    }
    let mistake = signing::diagnose_secret_key(provided, keys.access_key, keys.developer_key.unwrap_or_default(), timestamp);
    report.fail(name, mistake.explain(), secret_key_fix(mistake));
}

fn secret_key_fix(mistake: SecretKeyMistake) -> &'static str {
    match mistake {
        SecretKeyMistake::NotBase64Sha256 => {
            "send base64(HMAC-SHA256(key = base64(access_key), message = timestamp)): 44 characters ending in ="
        }
        SecretKeyMistake::UsedDeveloperKey => {
            "key the HMAC with base64(access_key); the developer_key is only sent, never signed with"
        }
        SecretKeyMistake::KeyNotBase64Encoded => "base64-encode the access key first and use that text as the HMAC key",
        SecretKeyMistake::HexEncoded => "base64-encode the HMAC's 32 bytes instead of writing them as hex",
        SecretKeyMistake::TimestampInSeconds => "sign the same millisecond text you send as the timestamp",
        SecretKeyMistake::Unknown => {
            "check that you sign with this partner's access key, exactly the timestamp text you send, and nothing else"
        }
    }
}

/// Checks a `request_hash` (named `name`) over `timestamp` and `fields` (in the
/// documented order), naming the mistake when it does not match; `extra` are other
/// values of the request a partner might have hashed by mistake.
pub fn check_request_hash(
    report: &mut Report,
    name: &str,
    provided: &str,
    keys: &Keys,
    timestamp: &str,
    fields: &[Field],
    extra: &[Field],
) {
    let values: Vec<&str> = fields.iter().map(|f| f.value.as_str()).collect();
    let order = describe(fields);
    if signing::constant_time_eq(provided, &signing::request_hash(keys.access_key, timestamp, &values)) {
        report.ok(name, format!("matches {order}"));
        return;
    }
    let fix = format!(
        "compute base64(HMAC-SHA256(key = base64(access_key), message = {order})), the values exactly as sent, concatenated without separators"
    );
    let problem = match diagnose(provided, keys, timestamp, fields, extra) {
        Some(mistake) => format!("it does not match: {mistake}"),
        None => "it does not match, and it is none of the common mistakes (developer_key, raw or hex key, seconds, other fields or order, separators)".to_owned(),
    };
    report.fail(name, problem, fix);
}

fn describe(fields: &[Field]) -> String {
    std::iter::once("timestamp").chain(fields.iter().map(|f| f.label.as_str())).collect::<Vec<_>>().join(" + ")
}

fn hmac_b64(key: &[u8], message: &str) -> String {
    B64.encode(hmac_bytes(key, message))
}

fn hmac_bytes(key: &[u8], message: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn concat(timestamp: &str, fields: &[&Field], separator: &str) -> String {
    let mut parts = vec![timestamp];
    parts.extend(fields.iter().map(|f| f.value.as_str()));
    parts.join(separator)
}

/// The mistake that reproduces `provided`, in words.
fn diagnose(provided: &str, keys: &Keys, timestamp: &str, fields: &[Field], extra: &[Field]) -> Option<String> {
    let key = B64.encode(keys.access_key.as_bytes());
    let all: Vec<&Field> = fields.iter().collect();
    let message = concat(timestamp, &all, "");
    let matches = |candidate: &str| signing::constant_time_eq(provided, candidate);
    if keys.developer_key.is_some_and(|dk| matches(&hmac_b64(B64.encode(dk.as_bytes()).as_bytes(), &message))) {
        return Some("it was computed with the developer_key instead of the access key".to_owned());
    }
    if matches(&hmac_b64(keys.access_key.as_bytes(), &message)) {
        return Some("the HMAC key was the access key itself, not its base64 text".to_owned());
    }
    let hex: String = hmac_bytes(key.as_bytes(), &message).iter().map(|b| format!("{b:02x}")).collect();
    if matches(&hex) {
        return Some("the digest was hex-encoded instead of base64-encoded".to_owned());
    }
    if let Ok(ms) = timestamp.parse::<i64>() {
        let seconds = (ms / 1000).to_string();
        if matches(&hmac_b64(key.as_bytes(), &concat(&seconds, &all, ""))) {
            return Some(format!("it was computed over the timestamp in seconds ({seconds}), not the millisecond text sent"));
        }
    }
    for separator in [",", "|", ":", " ", "&", "\n"] {
        if matches(&hmac_b64(key.as_bytes(), &concat(timestamp, &all, separator))) {
            return Some(format!("the values were joined with {separator:?}; they must be concatenated without separators"));
        }
    }
    let pool: Vec<Field> = fields.iter().chain(extra).cloned().collect();
    other_fields(provided, key.as_bytes(), timestamp, &pool)
}

/// Tries every order of every subset of `fields` (bounded), with and without the
/// timestamp in front: the hash over the wrong fields or in the wrong order.
fn other_fields(provided: &str, key: &[u8], timestamp: &str, fields: &[Field]) -> Option<String> {
    if fields.len() > MAX_PERMUTED_FIELDS {
        return None;
    }
    let mut found = None;
    let mut chosen = Vec::new();
    let mut used = vec![false; fields.len()];
    search(fields, &mut used, &mut chosen, &mut |order: &[&Field]| {
        for with_timestamp in [true, false] {
            let message = if with_timestamp { concat(timestamp, order, "") } else { concat("", order, "") };
            if signing::constant_time_eq(provided, &hmac_b64(key, &message)) {
                let labels: Vec<&str> = order.iter().map(|f| f.label.as_str()).collect();
                let over = if with_timestamp {
                    std::iter::once("timestamp").chain(labels).collect::<Vec<_>>().join(" + ")
                } else if labels.is_empty() {
                    "nothing (an empty message)".to_owned()
                } else {
                    format!("{} (without the timestamp)", labels.join(" + "))
                };
                found = Some(format!("it was computed over {over}, which are not the fields or not their order"));
                return true;
            }
        }
        false
    });
    found
}

/// Calls `visit` with every ordered selection of `fields` (the empty one included)
/// until it answers true.
fn search<'f>(
    fields: &'f [Field],
    used: &mut Vec<bool>,
    chosen: &mut Vec<&'f Field>,
    visit: &mut dyn FnMut(&[&'f Field]) -> bool,
) -> bool {
    if visit(chosen) {
        return true;
    }
    for i in 0..fields.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        chosen.push(&fields[i]);
        let done = search(fields, used, chosen, visit);
        chosen.pop();
        used[i] = false;
        if done {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30";
    const DK: &str = "becbbce45f79c6f5109f848acd540567";
    const TS: &str = "1700000000000";

    fn fields() -> Vec<Field> {
        [("customer_id", "9999999999"), ("amount", "100"), ("user_code", "20810200")]
            .iter()
            .map(|(l, v)| Field { label: (*l).to_owned(), value: (*v).to_owned() })
            .collect()
    }

    fn keys() -> Keys<'static> {
        Keys { access_key: AK, developer_key: Some(DK) }
    }

    #[test]
    fn names_the_common_request_hash_mistakes() {
        let extra = [Field { label: "bank_code".into(), value: "SBIN".into() }];
        let diag = |provided: &str| diagnose(provided, &keys(), TS, &fields(), &extra).unwrap_or_default();
        let values = ["9999999999", "100", "20810200"];
        assert!(diag(&signing::request_hash(DK, TS, &values)).contains("developer_key"));
        assert!(diag(&signing::request_hash(AK, "1700000000", &values)).contains("in seconds"));
        let reordered = signing::request_hash(AK, TS, &["100", "9999999999", "20810200"]);
        assert!(diag(&reordered).contains("timestamp + amount + customer_id + user_code"), "{}", diag(&reordered));
        let without_amount = signing::request_hash(AK, TS, &["9999999999", "20810200"]);
        assert!(diag(&without_amount).contains("timestamp + customer_id + user_code"));
        let comma = signing::request_hash(AK, "", &[TS, ",9999999999,100,20810200"]);
        assert!(diag(&comma).contains("joined with \",\""), "{}", diag(&comma));
        let with_bank = signing::request_hash(AK, TS, &["9999999999", "100", "20810200", "SBIN"]);
        assert!(diag(&with_bank).contains("timestamp + customer_id + amount + user_code + bank_code"), "{}", diag(&with_bank));
        assert_eq!(diagnose(&signing::request_hash("other", TS, &values), &keys(), TS, &fields(), &[]), None);
    }
}
