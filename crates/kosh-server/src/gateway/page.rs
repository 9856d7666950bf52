//! The gateway page itself: plain, accessible HTML (labelled fields, a live result
//! region) and a little JavaScript that talks to Kosh and to the partner's callback.
//! A Content-Security-Policy limits the page to Kosh, the callback's origin and the
//! partner's logo: it needs no other network.

use super::{api::REQUEST_HASH_PARAMS, parse_url, SESSION_HEADER};
use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use kosh_core::aeps::BANKS;
use kosh_store::ops::aeps::GatewaySession;
use serde_json::{json, Value};

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
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
header{display:flex;align-items:center;gap:12px;padding:12px 20px;background:#0b3d91;color:#fff}\
header img{height:36px;background:#fff;border-radius:4px}main{max-width:640px;margin:20px auto;padding:0 16px}\
section{background:#fff;border-radius:8px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 3px #0002}\
fieldset{border:0;padding:0;margin:0 0 12px}legend,label{font-weight:600;display:block;margin:10px 0 4px}\
.choices label{display:inline-block;font-weight:normal;margin-right:16px}input[type=text],select{width:100%;padding:8px;\
font-size:16px;box-sizing:border-box}button{padding:10px 18px;font-size:16px;margin:12px 8px 0 0;cursor:pointer}\
#result[data-state=success]{border-left:6px solid #1a7f37}#result[data-state=failed],#result[data-state=error],\
#result[data-state=refused]{border-left:6px solid #cf222e}#result[data-state=awaited],#result[data-state=working]{border-left:6px solid #bf8700}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dt{font-weight:600}dd{margin:0}.note{color:#57606a;font-size:14px}";

/// A page that only says something: errors, and how to open the gateway.
pub fn message_page(title: &str, message: &str, detail: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>{STYLE}</style></head><body><header><h1>{title}</h1></header><main><section id=\"result\" \
         data-state=\"error\" role=\"alert\"><h2 id=\"result-message\">{message}</h2><p>{detail}</p></section></main></body></html>",
        title = esc(title),
        message = esc(message),
        detail = esc(detail)
    )
}

/// The page for an open session.
pub fn gateway_page(app: &AppState, session: &GatewaySession, token: &str) -> Response {
    let nonce = kosh_core::secret::new_token(24);
    let config = json!({
        "session": token,
        "session_header": SESSION_HEADER,
        "api": "/v2/aeps/api",
        "callback_url": session.callback_url,
        "custom_params": serde_json::from_str::<Value>(&session.custom_params).unwrap_or_else(|_| json!({})),
        "custom_headers": serde_json::from_str::<Value>(session.custom_headers.expose()).unwrap_or_else(|_| json!({})),
        "partner_name": session.partner_name,
        "timeout_ms": app.config.gateway_callback_timeout_secs * 1000,
        "request_hash_params": REQUEST_HASH_PARAMS,
        "sandbox": app.config.sandbox,
    });
    // JSON inside <script>: "<" escaped so no value can close the element.
    let config = config.to_string().replace('<', "\\u003c");
    let banks: String =
        BANKS.iter().map(|b| format!("<option value=\"{}\">{} ({})</option>", b.code, esc(b.name), b.code)).collect();
    let logo = if session.logo_url.is_empty() {
        String::new()
    } else {
        format!("<img src=\"{}\" alt=\"{} logo\">", esc(&session.logo_url), esc(&session.partner_name))
    };
    // Outside sandbox mode there is no bank to send a fingerprint to (and no RD service
    // to take one from), so the page carries no capture at all, simulated or otherwise.
    let (capture, agent_capture, disabled, capture_script) = if app.config.sandbox {
        (
            "<button type=\"button\" id=\"capture\">Capture fingerprint (sandbox simulation)</button>\
             <span id=\"capture-status\" role=\"status\">Not captured</span><br>",
            "<button type=\"button\" id=\"agent-capture\">Capture fingerprint (sandbox simulation)</button>",
            "",
            SIMULATED_CAPTURE,
        )
    } else {
        (
            "<p id=\"no-capture\" class=\"note\" role=\"alert\">No AePS bank connector is configured on this server: \
             fingerprint capture and transactions are not available here.</p>",
            "",
            " disabled",
            "",
        )
    };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>AePS — {name}</title><style>{STYLE}</style></head><body>\
<header>{logo}<h1>AePS — {name}</h1></header><main>\
<section aria-labelledby=\"tx-heading\"><h2 id=\"tx-heading\">Customer transaction</h2><p class=\"note\">Agent {user_code}</p>\
<form id=\"tx-form\" novalidate><fieldset class=\"choices\"><legend>Transaction</legend>\
<label><input type=\"radio\" name=\"type\" id=\"type-2\" value=\"2\" checked> Cash withdrawal</label>\
<label><input type=\"radio\" name=\"type\" id=\"type-3\" value=\"3\"> Balance enquiry</label>\
<label><input type=\"radio\" name=\"type\" id=\"type-4\" value=\"4\"> Mini statement</label></fieldset>\
<label for=\"customer-mobile\">Customer mobile number</label><input type=\"text\" id=\"customer-mobile\" inputmode=\"numeric\" maxlength=\"10\" autocomplete=\"off\" required>\
<label for=\"customer-aadhaar\">Customer Aadhaar number</label><input type=\"text\" id=\"customer-aadhaar\" inputmode=\"numeric\" maxlength=\"14\" autocomplete=\"off\" required>\
<label for=\"bank\">Customer's bank</label><select id=\"bank\">{banks}</select>\
<div id=\"amount-row\"><label for=\"amount\">Amount (₹, at most 10,000)</label><input type=\"text\" id=\"amount\" inputmode=\"decimal\" autocomplete=\"off\"></div>\
{capture}<button type=\"submit\" id=\"proceed\"{disabled}>Proceed</button></form></section>\
<section id=\"result\" tabindex=\"-1\" role=\"status\" aria-live=\"polite\" hidden><h2 id=\"result-message\"></h2><dl id=\"result-details\"></dl></section>\
<section aria-labelledby=\"daily-heading\"><h2 id=\"daily-heading\">Agent daily authentication</h2>\
<p class=\"note\">Required once every day (IST) before the first transaction.</p><form id=\"daily-form\" novalidate>\
<label for=\"agent-aadhaar\">Agent Aadhaar number</label><input type=\"text\" id=\"agent-aadhaar\" inputmode=\"numeric\" maxlength=\"14\" autocomplete=\"off\">\
{agent_capture}<button type=\"submit\" id=\"daily-auth\"{disabled}>Authenticate</button>\
<p id=\"daily-status\" role=\"status\" aria-live=\"polite\"></p></form></section></main>\
<script type=\"application/json\" id=\"gateway-config\">{config}</script><script nonce=\"{nonce}\">(function () {{\n{SCRIPT}{capture_script}}})();</script></body></html>",
        lang = esc(&session.language),
        name = esc(&session.partner_name),
        user_code = session.user_code,
    );
    let mut response = Html(html).into_response();
    let callback_origin = parse_url(&session.callback_url).unwrap_or_default();
    let logo_origin = parse_url(&session.logo_url).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self' data: {logo_origin}; \
         connect-src 'self' {callback_origin}; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The page's script (the body of a function). States of `#result[data-state]`:
/// working, success, failed, awaited, suspicious, refused (the partner said no), error.
const SCRIPT: &str = r#""use strict";
const cfg = JSON.parse(document.getElementById("gateway-config").textContent);
const $ = (id) => document.getElementById(id);
let pid = null, agentPid = null, busy = false;
const selectedType = () => document.querySelector('input[name="type"]:checked').value;
const syncAmount = () => { $("amount-row").hidden = selectedType() !== "2"; };
document.querySelectorAll('input[name="type"]').forEach((r) => r.addEventListener("change", syncAmount));
syncAmount();
const labels = { type: "Transaction", amount: "Amount (₹)", tid: "Transaction id", client_ref_id: "Reference", bank: "Bank",
  bank_ref_num: "Bank reference (RRN)", aadhaar: "Aadhaar", customer_balance: "Customer balance (₹)", commission: "Commission (₹)",
  tds: "TDS (₹)", balance: "Your e-value (₹)", reason: "Reason", transaction_date: "Date", transaction_time: "Time" };
const typeNames = { "2": "Cash withdrawal", "3": "Balance enquiry", "4": "Mini statement" };
function show(state, message, rows) {
  const r = $("result");
  r.dataset.state = state;
  delete r.dataset.delivered;
  $("result-message").textContent = message;
  const dl = $("result-details");
  dl.replaceChildren();
  for (const [k, v] of rows || []) {
    if (v === undefined || v === null || v === "") continue;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(v);
    dl.append(dt, dd);
  }
  r.hidden = false;
  if (state !== "working") r.focus();
}
function explain(reply) {
  const rows = [];
  if (reply && reply.invalid_params) for (const [k, v] of Object.entries(reply.invalid_params)) rows.push([k, v]);
  if (reply && reply.hint) rows.push(["What to do", reply.hint]);
  return rows;
}
function resultRows(data) {
  const rows = Object.keys(labels).map((k) => [labels[k], k === "type" ? typeNames[data[k]] : data[k]]);
  for (const line of data.mini_statement_list || []) rows.push([line.date, line.txnType + " " + line.amount + " " + line.narration]);
  return rows;
}
async function kosh(path, body) {
  try {
    const res = await fetch(cfg.api + path, { method: "POST", headers: { "Content-Type": "application/json", [cfg.session_header]: cfg.session }, body: JSON.stringify(body) });
    try { return await res.json(); } catch (e) { return { status: res.status, message: "Kosh answered HTTP " + res.status }; }
  } catch (e) { return { status: -1, message: "Kosh cannot be reached. Please try again" }; }
}
async function callback(payload) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), cfg.timeout_ms);
  try {
    const headers = Object.assign({}, cfg.custom_headers, { "Content-Type": "application/json" });
    const res = await fetch(cfg.callback_url, { method: "POST", mode: "cors", credentials: "omit", headers, body: JSON.stringify(payload), signal: ctl.signal });
    const text = await res.text();
    return { ok: true, status: res.status, statusText: res.statusText, text };
  } catch (e) {
    return { ok: false, timeout: ctl.signal.aborted };
  } finally { clearTimeout(timer); }
}
async function run() {
  if (!pid) { show("error", "Capture the customer's fingerprint first"); return; }
  show("working", "Checking the transaction…");
  const type = selectedType();
  const intent = await kosh("/intents", { type, customer_id: $("customer-mobile").value, aadhaar: $("customer-aadhaar").value,
    bank_code: $("bank").value, amount: type === "2" ? $("amount").value : "0", piddata: pid });
  if (!intent.data || !intent.data.intent_id) { show("error", intent.message || "Refused", explain(intent)); return; }
  const id = intent.data.intent_id;
  const refuse = (message) => kosh("/intents/" + id + "/refuse", { message });
  show("working", "Waiting for confirmation from " + cfg.partner_name + "…");
  const hook = await callback({ action: "debit-hook", detail: intent.data.detail });
  if (!hook.ok) {
    const msg = hook.timeout ? "Transaction verification timeout" : "Connection to callback server failed. Please try again";
    await refuse(msg);
    show("error", msg, [["What to do", hook.timeout ? "the callback URL did not answer in time" : "check that the callback URL is reachable and sends the CORS headers for this gateway's origin"]]);
    return;
  }
  let answer;
  try { answer = JSON.parse(hook.text); } catch (e) { answer = undefined; }
  if (answer === undefined) {
    await refuse("Transaction verification timeout");
    show("error", "Transaction verification timeout", [["What to do", "the callback answered HTTP " + hook.status + " without JSON; it must answer the debit-hook in JSON"]]);
    return;
  }
  if (!answer || answer.action !== "go" || typeof answer.allow !== "boolean") {
    const msg = "Connection to callback server failed. Please try again (Status = " + hook.status + " " + (hook.statusText || "") + ")";
    await refuse(msg);
    show("error", msg.replace(/ \)$/, ")"), [["What to do", "the debit-hook answer must be JSON: {\"action\":\"go\",\"allow\":true,…} or allow false with a message"]]);
    return;
  }
  if (!answer.allow) {
    const msg = String(answer.message || "The transaction was cancelled");
    await refuse(msg);
    show("refused", msg);
    return;
  }
  show("working", "Processing with the bank…");
  const result = await kosh("/intents/" + id + "/confirm", { confirmation: answer });
  if (!result.data || !result.data.tid) { show("error", result.message || "Refused", explain(result)); return; }
  const state = { "0": "success", "1": "failed", "2": "awaited" }[result.data.tx_status] || "suspicious";
  show(state, result.message, resultRows(result.data));
  const response = Object.assign({ action: "eko-response", detail: { url: location.origin + cfg.api, client_ref_id: result.data.client_ref_id,
    http_method: "POST", http_status: 200, interaction_type_id: 344, is_debithook_response: true, is_final: true, response: result } }, cfg.custom_params);
  const delivered = await callback(response);
  $("result").dataset.delivered = delivered.ok && delivered.status < 300 ? "yes" : "no";
}
$("tx-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (busy) return;
  busy = true; $("proceed").disabled = true;
  try { await run(); } finally {
    busy = false; $("proceed").disabled = false; pid = null;
    if ($("capture-status")) $("capture-status").textContent = "Not captured";
    $("customer-aadhaar").value = "";
  }
});
$("daily-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!agentPid) { $("daily-status").textContent = "Capture the agent's fingerprint first"; return; }
  const reply = await kosh("/daily-auth", { aadhaar: $("agent-aadhaar").value, piddata: agentPid });
  agentPid = null;
  $("agent-aadhaar").value = "";
  $("daily-status").dataset.state = reply.status === 0 ? "ok" : "error";
  $("daily-status").textContent = reply.message + (reply.hint && reply.status !== 0 ? " — " + reply.hint : "");
});
"#;

/// Sandbox mode only: the simulated fingerprint capture (a well-formed PID block with
/// random filler, as `kosh_core::aeps::simulated_pid` makes). Never served otherwise.
const SIMULATED_CAPTURE: &str = r#"function simulatedPid() {
  const part = (tag) => btoa(tag + "-" + Date.now() + "-" + Math.floor(Math.random() * 1e9));
  return '<?xml version="1.0"?><PidData><Resp errCode="0" errInfo="Capture Success" fCount="1" fType="2" nmPoints="38" qScore="76"/>' +
    '<DeviceInfo dpId="KOSH.SANDBOX" rdsId="KOSH.SIM.001" rdsVer="1.0.0" mi="SIMULATED" mc="' + part("mc") + '" dc="sandbox-device"/>' +
    '<Skey ci="20291231">' + part("skey") + '</Skey><Hmac>' + part("hmac") + '</Hmac><Data type="X">' + part("data") + '</Data></PidData>';
}
$("capture").addEventListener("click", () => { pid = simulatedPid(); $("capture-status").textContent = "Fingerprint captured"; });
$("agent-capture").addEventListener("click", () => { agentPid = simulatedPid(); $("daily-status").textContent = "Fingerprint captured"; });
"#;
