//! The AePS gateway's callback_url, as the gateway page calls it from the agent's
//! browser: the CORS preflight, the debit-hook POST (its CORS answer, the confirmation's
//! shape and, with the access key, its signature), then the eko-response POST. Failures
//! name the words the page would show (the seed's FAQ).

use super::super::hash::{self, Field, Keys};
use super::super::net::{Answer, Probe};
use super::super::report::Report;
use super::CallbackArgs;
use kosh_core::validate::ClientRefId;
use reqwest::{Method, Url};
use serde_json::{json, Value};

/// What the page shows when the browser blocks the exchange (the FAQ's words).
const CONNECTION_FAILED: &str = "Connection to callback server failed. Please try again";
/// The debit-hook's `request_hash_params`, in order (seed 001).
const HASH_PARAMS: [&str; 3] = ["customer_id", "amount", "user_code"];
/// What the page gives up with when no JSON answer comes in time.
const SLOW: &str = "answer the debit-hook within gateway_callback_timeout_secs (30 s by default), or the page shows \"Transaction verification timeout\"";

/// A browser on the gateway's https page refuses an http:// callback (mixed content),
/// except on the loopback addresses developers test on.
pub fn check_scheme(url: &Url, report: &mut Report) {
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => report.ok("https", "the callback is https, as a browser on the gateway page requires"),
        _ if local => report.ok("https", "http on a loopback address: browsers allow it for local testing (use https once hosted)"),
        _ => report.fail(
            "https",
            "the callback is http://; a browser on the gateway's https page blocks it as mixed content, so the page shows \"Connection to callback server failed\"",
            "serve the callback over https with a valid certificate (the FAQ: \"the callback URL must be HTTPS only\")",
        ),
    }
}

pub async fn run(args: &CallbackArgs, probe: &mut Probe, report: &mut Report, now_ms: i64) {
    let origin = args.origin.trim().trim_end_matches('/').to_owned();
    let preflight = probe
        .client
        .request(Method::OPTIONS, probe.url.clone())
        .header("origin", &origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type");
    let Some(answer) = probe.exchange(report, "CORS preflight", preflight, SLOW).await else { return };
    if !check_preflight(report, &answer, &origin) {
        return;
    }
    let detail = sample_detail(&args.reference(now_ms), &args.user_code);
    let hook = json!({ "action": "debit-hook", "detail": detail });
    let Some(answer) = probe.exchange(report, "debit-hook", post(probe, &origin, &hook), SLOW).await else { return };
    let cors_ok = check_allow_origin(report, "debit-hook CORS", &answer, &origin);
    let Some(confirmation) = check_answer(report, &answer) else { return };
    let reference = verify(args, report, &confirmation, &detail, now_ms);
    if !cors_ok {
        return;
    }
    let response = sample_eko_response(&origin, &reference);
    let Some(answer) = probe.exchange(report, "eko-response", post(probe, &origin, &response), SLOW).await else { return };
    check_eko_response(report, &answer, &origin);
}

fn post(probe: &Probe, origin: &str, body: &Value) -> reqwest::RequestBuilder {
    probe
        .client
        .post(probe.url.clone())
        .header("origin", origin)
        .header("content-type", "application/json")
        .header("accept", "*/*")
        .body(body.to_string())
}

/// The preflight's status and Access-Control-Allow-* answers; answers whether the
/// browser would go on to the POST.
fn check_preflight(report: &mut Report, answer: &Answer, origin: &str) -> bool {
    if !(200..300).contains(&answer.status) {
        report.fail(
            "CORS preflight",
            format!(
                "OPTIONS answered HTTP {}; the browser stops there and the page shows \"{CONNECTION_FAILED}\"",
                answer.status
            ),
            "answer OPTIONS on this URL with 204 and the Access-Control-Allow-Origin, -Methods and -Headers headers",
        );
        return false;
    }
    report.ok("CORS preflight", format!("OPTIONS answered HTTP {}", answer.status));
    let origin_ok = check_allow_origin(report, "preflight Access-Control-Allow-Origin", answer, origin);
    check_allow_methods(report, answer);
    check_allow_headers(report, answer) && origin_ok
}

/// Access-Control-Allow-Origin must be the page's origin (or `*`, since the page sends
/// no credentials), exactly once.
fn check_allow_origin(report: &mut Report, check: &str, answer: &Answer, origin: &str) -> bool {
    let values = answer.header_values("access-control-allow-origin");
    let fix = format!("answer Access-Control-Allow-Origin: {origin} (the gateway page's origin) on OPTIONS and on POST");
    match values.as_slice() {
        [] => report.fail(
            check,
            format!(
                "no Access-Control-Allow-Origin header; the browser hides the answer and the page shows \"{CONNECTION_FAILED}\""
            ),
            fix,
        ),
        [one] if one == origin || one == "*" => {
            report.ok(check, format!("Access-Control-Allow-Origin: {one}"));
            return true;
        }
        [one] => report.fail(
            check,
            format!("it is {one:?}, not the page's origin {origin:?}; the browser blocks the answer (\"{CONNECTION_FAILED}\")"),
            format!("{fix}: exactly the scheme, host and port, no path or trailing slash"),
        ),
        many => report.fail(
            check,
            format!("it is sent {} times ({}); browsers refuse more than one", many.len(), many.join(", ")),
            fix,
        ),
    }
    false
}

/// POST is a CORS-safelisted method, so browsers need no Access-Control-Allow-Methods
/// for it; the vendor's CORS guide lists it anyway. Reported, never failed.
fn check_allow_methods(report: &mut Report, answer: &Answer) {
    let values = answer.header_values("access-control-allow-methods").join(", ");
    if values.is_empty() {
        report.ok(
            "preflight Access-Control-Allow-Methods",
            "absent, which browsers accept for POST (the vendor's guide sends \"POST, OPTIONS\")",
        );
    } else {
        report.ok("preflight Access-Control-Allow-Methods", values);
    }
}

/// The page sends `Content-Type: application/json`, which is not CORS-safelisted: the
/// preflight must allow it.
fn check_allow_headers(report: &mut Report, answer: &Answer) -> bool {
    let values = answer.header_values("access-control-allow-headers").join(",");
    let allowed = values.split(',').map(str::trim).any(|h| h.eq_ignore_ascii_case("content-type") || h == "*");
    if allowed {
        report.ok("preflight Access-Control-Allow-Headers", values);
    } else {
        report.fail(
            "preflight Access-Control-Allow-Headers",
            format!("{} does not allow Content-Type, which the page sends (application/json); the browser blocks the POST (\"{CONNECTION_FAILED}\")", if values.is_empty() { "the header is absent, so it".to_owned() } else { format!("{values:?}") }),
            "answer Access-Control-Allow-Headers: Content-Type (plus your callback_url_custom_headers, if any)",
        );
    }
    allowed
}

/// The debit-hook `detail` the page posts (a cash withdrawal of ₹100).
fn sample_detail(reference: &str, user_code: &str) -> Value {
    json!({
        "http_method": "POST",
        "interaction_type_id": 344,
        "interaction_label": "AePS",
        "client_ref_id": reference,
        "request_hash_params": HASH_PARAMS,
        "data": { "customer_id": "9999999999", "bank_code": "SBIN", "type": "2", "user_code": user_code, "amount": "100" },
    })
}

/// The answer's status, JSON and shape, as the page reads it; answers the
/// confirmation when it allowed the transaction.
fn check_answer(report: &mut Report, answer: &Answer) -> Option<Value> {
    if !(200..300).contains(&answer.status) {
        report.fail(
            "debit-hook answer",
            format!("HTTP {} with {}", answer.status, answer.excerpt()),
            "answer the debit-hook with HTTP 200 and the JSON confirmation; log the request on your side to see why it fails",
        );
        return None;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
        report.fail(
            "debit-hook answer",
            format!("not JSON ({}); the page shows \"Transaction verification timeout\"", answer.excerpt()),
            "answer Content-Type: application/json with {\"action\":\"go\",\"allow\":true,…}",
        );
        return None;
    };
    let shape_ok = body["action"] == "go" && body["allow"].is_boolean();
    if !shape_ok {
        report.fail(
            "debit-hook answer",
            format!(
                "{} is not a debit-hook answer (action must be \"go\" and allow a boolean); the page shows \"{CONNECTION_FAILED} (Status = {})\"",
                excerpt(&body),
                answer.status_text
            ),
            "answer {\"action\":\"go\",\"allow\":true,\"secret_key\",\"secret_key_timestamp\",\"request_hash\"}, or allow false with a message",
        );
        return None;
    }
    if body["allow"] == false {
        report.fail(
            "debit-hook answer",
            format!(
                "allow:false ({:?}): the sample transaction was refused, so its confirmation cannot be checked",
                body["message"].as_str().unwrap_or("no message")
            ),
            "let the sample through: pass --user-code with one of your agents (the sample is a ₹100 cash withdrawal)",
        );
        return None;
    }
    let missing: Vec<&str> =
        ["secret_key", "secret_key_timestamp", "request_hash"].into_iter().filter(|f| text(&body, f).is_none()).collect();
    if !missing.is_empty() {
        report.fail(
            "debit-hook answer",
            format!("allow:true without {}; Kosh answers \"Authentication for secret-key failed\"", missing.join(", ")),
            "sign the confirmation: secret_key, secret_key_timestamp (milliseconds) and request_hash, all strings",
        );
        return None;
    }
    report.ok("debit-hook answer", "{\"action\":\"go\",\"allow\":true} with secret_key, secret_key_timestamp and request_hash");
    Some(body)
}

fn text<'v>(body: &'v Value, name: &str) -> Option<&'v str> {
    body.get(name).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}

fn excerpt(body: &Value) -> String {
    body.to_string().chars().take(200).collect()
}

/// The confirmation's signature, checked as Kosh checks it; answers the client_ref_id
/// the transaction goes on under (the partner's own, if it sent a valid one).
fn verify(args: &CallbackArgs, report: &mut Report, confirmation: &Value, detail: &Value, now_ms: i64) -> String {
    let gateway_ref = detail["client_ref_id"].as_str().unwrap_or_default().to_owned();
    let reference = own_reference(report, confirmation).unwrap_or(gateway_ref);
    let Some(access_key) = &args.access_key else {
        report.skip("secret_key, request_hash", "pass --access-key to verify the confirmation's signature");
        return reference;
    };
    let keys = Keys { access_key: access_key.expose(), developer_key: args.developer_key.as_deref().map(str::trim) };
    let timestamp = text(confirmation, "secret_key_timestamp").unwrap_or_default();
    if !hash::check_timestamp(report, "secret_key_timestamp", timestamp, now_ms, hash::DEFAULT_TOLERANCE_SECS) {
        return reference;
    }
    hash::check_secret_key(report, "secret_key", text(confirmation, "secret_key").unwrap_or_default(), &keys, timestamp);
    let fields: Vec<Field> = HASH_PARAMS
        .iter()
        .filter_map(|name| detail["data"][name].as_str().map(|v| Field { label: (*name).to_owned(), value: v.to_owned() }))
        .collect();
    let provided = text(confirmation, "request_hash").unwrap_or_default();
    hash::check_request_hash(report, "request_hash", provided, &keys, timestamp, &fields, &other_data_fields(detail));
    reference
}

/// The detail's other values a partner might hash by mistake: every data field not
/// listed, and the client_ref_id.
fn other_data_fields(detail: &Value) -> Vec<Field> {
    let mut fields: Vec<Field> = detail["data"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| !HASH_PARAMS.contains(&name.as_str()))
        .filter_map(|(name, v)| v.as_str().map(|v| Field { label: name.clone(), value: v.to_owned() }))
        .collect();
    if let Some(r) = detail["client_ref_id"].as_str() {
        fields.push(Field { label: "client_ref_id".into(), value: r.to_owned() });
    }
    fields
}

/// The partner's own client_ref_id, when it sent one; a malformed one fails.
fn own_reference(report: &mut Report, confirmation: &Value) -> Option<String> {
    let own = text(confirmation, "client_ref_id")?;
    match ClientRefId::parse(own) {
        Ok(r) => {
            report.ok("client_ref_id", format!("your own reference {own:?} replaces the gateway's"));
            Some(r.as_str().to_owned())
        }
        Err(why) => {
            report.fail(
                "client_ref_id",
                format!("{own:?} {why}; Kosh refuses the confirmation (\"Invalid client_ref_id from the callback\")"),
                "send at most 20 letters and digits as your own client_ref_id, or leave it out to keep the gateway's",
            );
            None
        }
    }
}

/// The eko-response the page posts after the transaction: a sample failed withdrawal
/// (a report a receiver must not act on without the inquiry anyway).
fn sample_eko_response(origin: &str, reference: &str) -> Value {
    let envelope = json!({
        "status": 0,
        "response_status_id": 1,
        "response_type_id": -1,
        "message": "Transaction failed (a kosh doctor sample, not a real transaction)",
        "data": { "tx_status": "1", "tid": "0", "client_ref_id": reference, "amount": "100", "reason": "kosh doctor sample" },
    });
    json!({ "action": "eko-response", "detail": {
        "url": format!("{origin}/v2/aeps/api"), "client_ref_id": reference, "http_method": "POST", "http_status": 200,
        "interaction_type_id": 344, "is_debithook_response": true, "is_final": true, "response": envelope } })
}

/// The page counts the eko-response delivered on a 2xx the browser lets it read.
fn check_eko_response(report: &mut Report, answer: &Answer, origin: &str) {
    if (200..300).contains(&answer.status) {
        report.ok("eko-response", format!("HTTP {}", answer.status));
    } else {
        report.fail(
            "eko-response",
            format!("HTTP {} with {}", answer.status, answer.excerpt()),
            "answer the eko-response with HTTP 200 (record it as an unverified report and confirm by the AePS inquiry)",
        );
    }
    check_allow_origin(report, "eko-response CORS", answer, origin);
}
