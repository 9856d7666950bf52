//! The endpoints Kosh calls from its server: Token Fetch Details (before a payment),
//! Token Acknowledgement and the transaction status callback (from the outbox). The
//! bodies are rendered by Kosh's own renderers, so they are what Kosh sends.

use super::super::net::{Answer, Probe};
use super::super::report::Report;
use super::{judge_status, CallbackArgs};
use kosh_core::dmt::{DmtChannel, TxStatus};
use kosh_core::events::{TokenPaid, TransferStatusChanged};
use kosh_core::ids::{RecipientId, Tid, UserCode};
use kosh_core::money::Paise;
use kosh_core::validate::{Mobile, Text};
use kosh_server::eko::callbacks as renderers;
use kosh_server::workers::callbacks::Rendered;
use reqwest::RequestBuilder;
use serde_json::Value;

/// Longest customer name Kosh takes from Fetch Details (`service::token::MAX_NAME_CHARS`).
const MAX_NAME_CHARS: usize = kosh_server::service::token::MAX_NAME_CHARS;
const SLOW_FETCH: &str =
    "answer within callbacks_timeout_ms (10 s by default): the agent and the customer wait at the counter for it";
const SLOW_CALLBACK: &str =
    "answer within callbacks_timeout_ms (10 s by default); Kosh counts a slow answer as failed and retries";

fn with_basic(request: RequestBuilder, basic: Option<(&str, &str)>) -> RequestBuilder {
    match basic {
        Some((user, password)) => request.basic_auth(user, Some(password)),
        None => request,
    }
}

/// `GET {url}?client_ref_id=…` with Basic auth and `Accept: application/json`, as
/// Kosh calls it before paying a token.
pub async fn fetch(args: &CallbackArgs, probe: &mut Probe, report: &mut Report, now_ms: i64) {
    let reference = args.reference(now_ms);
    let mut url = probe.url.clone();
    url.query_pairs_mut().append_pair("client_ref_id", &reference);
    let request = |probe: &Probe, basic| with_basic(probe.client.get(url.clone()).header("accept", "application/json"), basic);
    let Some(answer) = probe.exchange(report, "Fetch Details", request(probe, args.basic()), SLOW_FETCH).await else { return };
    if !check_fetch_status(report, &answer, args.basic().is_some()) {
        return;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
        report.fail(
            "Fetch Details answer",
            format!("not JSON ({}); Kosh stops the payment (\"its Fetch Details API did not answer JSON\")", answer.excerpt()),
            "answer Content-Type: application/json with {\"status\":0,\"data\":{\"amount\":…,\"customer_name\":…,\"customer_mobile\":…}}",
        );
        return;
    };
    check_details(report, &body, &reference, args.client_ref_id.is_some());
    if args.basic().is_some() {
        if let Some(anonymous) =
            probe.exchange(report, "Fetch Details without credentials", request(probe, None), SLOW_FETCH).await
        {
            check_refuses_anonymous(report, "Fetch Details without credentials", &anonymous, "read your tokens' details");
        }
    }
}

fn check_fetch_status(report: &mut Report, answer: &Answer, sent_basic: bool) -> bool {
    match answer.status {
        200 => {
            report.ok("Fetch Details", "HTTP 200");
            true
        }
        401 | 403 if !sent_basic => {
            report.fail(
                "Fetch Details",
                format!("HTTP {}: it wants credentials and none were given", answer.status),
                "pass --basic-user and --basic-password as configured for Kosh (kosh partner callbacks set --kind token_fetch …)",
            );
            false
        }
        401 | 403 => {
            report.fail(
                "Fetch Details",
                format!("HTTP {}: the endpoint refused these Basic credentials, so Kosh stops every payment of your tokens", answer.status),
                "configure the same Basic user and password on your endpoint and in Kosh (kosh partner callbacks set --kind token_fetch …)",
            );
            false
        }
        status => {
            report.fail(
                "Fetch Details",
                format!("HTTP {status} ({}); Kosh needs HTTP 200 and stops the payment otherwise", answer.excerpt()),
                "answer HTTP 200 with the token's details in JSON",
            );
            false
        }
    }
}

/// `status` 0 and the `data` Kosh collects: amount (positive rupees), customer_name
/// and customer_mobile (optional).
fn check_details(report: &mut Report, body: &Value, reference: &str, real_reference: bool) {
    let status = match &body["status"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    if status != Some(0) {
        let desc = body["response_code_desc"].as_str().or(body["status_desc"].as_str()).or(body["message"].as_str());
        let said = format!("status {} ({})", body["status"], desc.unwrap_or("no description"));
        if real_reference {
            report.fail(
                "Fetch Details answer",
                format!("{said} for {reference:?}; Kosh stops the payment (\"the partner answered status …\")"),
                "answer {\"status\":0,\"data\":{\"amount\":\"1500.00\",…}} for a token you issued and that is unpaid",
            );
        } else {
            report.ok("Fetch Details answer", format!("{said} for the sample reference {reference:?}: Kosh would stop that payment, as it should for a token you do not know"));
            report.skip("Fetch Details data", "pass --client-ref-id of a token you issued to check its details");
        }
        return;
    }
    match details(&body["data"]) {
        Ok(summary) => report.ok("Fetch Details data", summary),
        Err(problem) => report.fail(
            "Fetch Details data",
            format!("{problem}; Kosh stops the payment"),
            "answer data.amount as rupees with at most 2 decimals (\"1500.00\"), and optionally customer_name (≤ 100 characters) and customer_mobile (10 digits)",
        ),
    }
}

fn details(data: &Value) -> Result<String, String> {
    let amount = match &data["amount"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => return Err("the answer has no data.amount".into()),
        other => return Err(format!("data.amount is {other}, not an amount")),
    };
    match Paise::parse_rupees(&amount) {
        Ok(p) if !p.is_zero() => {}
        _ => return Err(format!("data.amount {amount:?} is not a positive rupee amount with at most 2 decimals")),
    }
    let mut summary = format!("amount {amount}");
    if let Some(name) = data["customer_name"].as_str().map(str::trim).filter(|n| !n.is_empty()) {
        Text::parse(name, MAX_NAME_CHARS)
            .map_err(|_| format!("data.customer_name is longer than {MAX_NAME_CHARS} characters or not text"))?;
        summary.push_str(&format!(", customer_name {name:?}"));
    }
    if let Some(mobile) = data["customer_mobile"].as_str() {
        Mobile::parse(mobile).map_err(|_| format!("data.customer_mobile {mobile:?} is not a 10-digit mobile number"))?;
        summary.push_str(&format!(", customer_mobile {mobile}"));
    }
    Ok(summary)
}

/// With credentials configured, the same request without them must be refused.
fn check_refuses_anonymous(report: &mut Report, check: &str, answer: &Answer, what: &str) {
    if answer.status == 200 {
        report.fail(
            check,
            format!("it answered HTTP 200 without Basic credentials: anyone who finds the URL can {what}"),
            "refuse requests without the Basic credentials with HTTP 401",
        );
    } else {
        report.ok(check, format!("refused (HTTP {})", answer.status));
    }
}

fn post(probe: &Probe, body: &Rendered, basic: Option<(&str, &str)>) -> RequestBuilder {
    let request = probe
        .client
        .post(probe.url.clone())
        .header("accept", "application/json")
        .header("content-type", body.content_type)
        .header(kosh_core::webhook::EVENT_ID_HEADER, "0")
        .header("x-kosh-attempt", "1")
        .body(body.body.clone());
    with_basic(request, basic)
}

/// The acknowledgement `POST {client_ref_id, amount, customer_name, customer_id, tid,
/// token}` with Basic auth: acknowledged on HTTP 200 with a JSON object.
pub async fn ack(args: &CallbackArgs, probe: &mut Probe, report: &mut Report, now_ms: i64) {
    let body = renderers::token_ack(&TokenPaid {
        token: "999999999999999".into(),
        partner_reference: args.reference(now_ms),
        customer: "9400000000".into(),
        customer_name: "Kosh Doctor".into(),
        amount: Paise::new(150_000).expect("a positive amount"),
        tid: "0".into(),
    });
    let retried = "it retries hourly for 3 days";
    let Some(answer) = probe.exchange(report, "Acknowledgement", post(probe, &body, args.basic()), SLOW_CALLBACK).await else {
        return;
    };
    if judge_status(report, "Acknowledgement", &answer, retried) {
        check_ack_body(report, &answer);
    }
    if args.basic().is_some() {
        let anonymous = post(probe, &body, None);
        if let Some(answer) = probe.exchange(report, "Acknowledgement without credentials", anonymous, SLOW_CALLBACK).await {
            check_refuses_anonymous(report, "Acknowledgement without credentials", &answer, "mark your tokens paid");
        }
    } else {
        report.skip("Basic auth", "the Token APIs require Basic auth: pass --basic-user and --basic-password to check it");
    }
}

fn check_ack_body(report: &mut Report, answer: &Answer) {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&answer.body) else {
        report.fail(
            "Acknowledgement answer",
            format!("HTTP 200, but {} is not a JSON object; Kosh counts it as failed and retries", answer.excerpt()),
            "answer {\"status\":0,\"data\":{\"partner_tid\":\"your reference\"}} in JSON",
        );
        return;
    };
    match body.get("data").and_then(|d| d.get("partner_tid")) {
        Some(Value::String(s)) if !s.is_empty() => {
            report.ok("Acknowledgement answer", format!("a JSON object; Kosh keeps data.partner_tid {s:?}"))
        }
        Some(Value::Number(n)) => report.ok("Acknowledgement answer", format!("a JSON object; Kosh keeps data.partner_tid {n}")),
        _ => report.ok("Acknowledgement answer", "a JSON object (without data.partner_tid, which is optional)"),
    }
}

/// A sample status callback (a transfer that moved from initiated to success), as the
/// outbox renders it: delivered on HTTP 200.
pub async fn tx_status(args: &CallbackArgs, probe: &mut Probe, report: &mut Report, now_ms: i64) {
    let body = renderers::transfer_status(&sample_transfer(args.reference(now_ms), now_ms));
    let retried = "it retries every 10 minutes for 24 hours";
    if let Some(answer) = probe.exchange(report, "status callback", post(probe, &body, args.basic()), SLOW_CALLBACK).await {
        judge_status(report, "status callback", &answer, retried);
    }
}

fn sample_transfer(reference: String, now_ms: i64) -> TransferStatusChanged {
    let paise = |p| Paise::new(p).expect("a sample amount");
    TransferStatusChanged {
        tid: Tid::new(0),
        partner_reference: reference,
        user_code: UserCode::new(20_810_200),
        old_status: TxStatus::Initiated,
        status: TxStatus::Success,
        channel: DmtChannel::Imps,
        amount: paise(10_000),
        fee: paise(1_000),
        gst: paise(153),
        commission: paise(500),
        tds: paise(10),
        utr: "000000000000".into(),
        recipient_id: RecipientId::new(0),
        recipient_name: "Kosh Doctor".into(),
        account: "000000000000".into(),
        ifsc: "SBIN0000001".into(),
        sender_name: "Kosh Doctor".into(),
        sender_mobile: "9400000000".into(),
        refund_tid: None,
        reason: String::new(),
        at_ms: now_ms,
    }
}
