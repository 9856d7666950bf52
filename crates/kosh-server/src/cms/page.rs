//! The CMS page's HTML: labelled fields, a result region whose `data-state` says where
//! the payment stands (`ready`, `approved`, `success`, `refused`, `error`, `expired`,
//! `unknown`), and forms that post to Kosh only.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use kosh_core::collections::{biller, CMS_BILLERS};
use kosh_core::ledger::Balance;
use kosh_store::ops::collections::CmsPayment;

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}\
header{padding:12px 20px;background:#7a1f1f;color:#fff}main{max-width:560px;margin:20px auto;padding:0 16px}\
section{background:#fff;border-radius:8px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 3px #0002}\
label{font-weight:600;display:block;margin:10px 0 4px}input,select{width:100%;padding:8px;font-size:16px;box-sizing:border-box}\
button{padding:10px 18px;font-size:16px;margin-top:14px;cursor:pointer}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}\
dt{font-weight:600}dd{margin:0}#result[data-state=success]{border-left:6px solid #1a7f37}\
#result[data-state=refused],#result[data-state=error],#result[data-state=expired],#result[data-state=unknown]{border-left:6px solid #cf222e}\
#result[data-state=approved]{border-left:6px solid #bf8700}.note{color:#57606a;font-size:14px}";

/// Disables a form's button once pressed, so a double click pays once.
const SCRIPT: &str = "document.querySelectorAll('form').forEach(function (f) { f.addEventListener('submit', function () { \
f.querySelectorAll('button').forEach(function (b) { b.disabled = true; }); }); });";

/// How the result region reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The form, waiting for the agent.
    Ready,
    /// The partner approved: waiting for the agent's confirmation.
    Approved,
    /// Paid.
    Success,
    /// The partner or Kosh refused.
    Refused,
    /// Something failed (bad input, the partner down).
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ready => "ready",
            Outcome::Approved => "approved",
            Outcome::Success => "success",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }
}

/// A page to render.
pub struct Page {
    outcome: Outcome,
    message: String,
    body: String,
}

impl Page {
    /// The payment form, with `error` shown above it when given.
    pub fn form(reference: &str, user_code: i64, token: &str, error: Option<String>) -> Page {
        let billers: String =
            CMS_BILLERS.iter().map(|b| format!("<option value=\"{}\">{}</option>", esc(b.id), esc(b.name))).collect();
        let body = format!(
            "<section aria-labelledby=\"pay-heading\"><h2 id=\"pay-heading\">Pay an EMI</h2>\
<p class=\"note\">Agent {user_code} · reference {reference}</p>\
<form id=\"pay-form\" method=\"post\" action=\"/cms/{token}/pay\">\
<label for=\"biller\">Lender</label><select id=\"biller\" name=\"biller\"><option value=\"\">Choose the lender</option>{billers}</select>\
<label for=\"loan_reference\">Loan or account number</label><input type=\"text\" id=\"loan_reference\" name=\"loan_reference\" maxlength=\"30\" autocomplete=\"off\" required>\
<label for=\"amount\">Amount (₹)</label><input type=\"text\" id=\"amount\" name=\"amount\" inputmode=\"decimal\" autocomplete=\"off\" required>\
<button type=\"submit\" id=\"pay\">Continue</button></form></section>",
            reference = esc(reference),
            token = esc(token),
        );
        let (outcome, message) = match error {
            Some(m) => (Outcome::Error, m),
            None => (Outcome::Ready, String::new()),
        };
        Page { outcome, message, body }
    }

    /// The confirmation step: what the partner approved, to be paid.
    pub fn confirm(token: &str, p: &CmsPayment) -> Page {
        let amount = p.amount.to_rupees_string();
        let hidden = |name: &str, value: &str| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc(value));
        let body = format!(
            "<section><h2>Confirm the payment</h2>{details}<form id=\"confirm-form\" method=\"post\" action=\"/cms/{token}/confirm\">\
{tid}{biller}{loan}{amount_field}<button type=\"submit\" id=\"confirm\">Pay ₹{amount}</button></form></section>",
            details = details(p, None),
            token = esc(token),
            tid = hidden("tid", &p.tid.to_string()),
            biller = hidden("biller", &p.biller_id),
            loan = hidden("loan_reference", &p.loan_reference),
            amount_field = hidden("amount", &amount),
        );
        Page { outcome: Outcome::Approved, message: "Approved by the partner: confirm to pay".into(), body }
    }

    /// The receipt of a paid EMI.
    pub fn paid(p: &CmsPayment, wallet: &Balance) -> Page {
        Page {
            outcome: Outcome::Success,
            message: "EMI paid".into(),
            body: format!("<section>{}</section>", details(p, Some(wallet))),
        }
    }

    /// This page with another outcome.
    pub fn outcome(self, outcome: Outcome) -> Page {
        Page { outcome, ..self }
    }

    /// The page as an HTTP answer.
    pub fn render(&self) -> Response {
        let hidden = if self.message.is_empty() { " hidden" } else { "" };
        let result = format!(
            "<section id=\"result\" data-state=\"{state}\" role=\"status\" aria-live=\"polite\"{hidden}><h2 id=\"result-message\">{message}</h2></section>",
            state = self.outcome.as_str(),
            message = esc(&self.message),
        );
        respond(StatusCode::OK, &format!("{result}{}", self.body))
    }
}

fn details(p: &CmsPayment, wallet: Option<&Balance>) -> String {
    let lender = biller(&p.biller_id).map_or(p.biller_id.as_str(), |b| b.name);
    let mut rows = vec![
        ("Transaction", p.tid.to_string()),
        ("Lender", lender.to_owned()),
        ("Loan or account", p.loan_reference.clone()),
        ("Amount", format!("₹{}", p.amount.to_rupees_string())),
        ("Commission", format!("₹{}", p.commission.to_rupees_string())),
    ];
    if let Some(w) = wallet {
        let available = kosh_core::money::Paise::new(w.available_credit()).map_or_else(String::new, |b| b.to_rupees_string());
        rows.push(("Wallet balance", format!("₹{available}")));
    }
    let rows: String = rows.iter().map(|(k, v)| format!("<dt>{k}</dt><dd>{}</dd>", esc(v))).collect();
    format!("<dl id=\"details\">{rows}</dl>")
}

/// A page that only says something (the link is unknown, expired or used; a refusal).
pub fn message(status: StatusCode, state: &str, title: &str, detail: &str) -> Response {
    let body = format!(
        "<section id=\"result\" data-state=\"{state}\" role=\"alert\"><h2 id=\"result-message\">{}</h2><p>{}</p></section>",
        esc(title),
        esc(detail)
    );
    respond(status, &body)
}

fn respond(status: StatusCode, main: &str) -> Response {
    let nonce = kosh_core::secret::new_token(24);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>CMS — pay an EMI</title><style>{STYLE}</style></head><body><header><h1>CMS — pay an EMI</h1></header><main>{main}</main>\
<script nonce=\"{nonce}\">{SCRIPT}</script></body></html>"
    );
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
