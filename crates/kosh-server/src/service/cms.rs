//! CMS cash drop: an agent pays a customer's EMI to a lender from the partner's
//! e-value wallet, on a short-lived, single-use page Kosh hosts.
//!
//! A payment is *recorded* (initiated, nothing moved) → the partner's CMS debit-hook
//! is asked (`{tid, amount, client_ref_id, service_code: "58"}` → `{"ekoTxnId": tid,
//! "proceed": 1}`) → the answer is *applied* (approved, or failed with why) → the agent
//! confirms on the page, and the debit and the commission are one ledger entry. A
//! request that dies while the hook is asked leaves an initiated payment and nothing
//! debited; the agent starts again on the page.

use crate::state::AppState;
use crate::workers::outbound::Request;
use kosh_core::collections::{self as rules, CMS_SERVICE_CODE};
use kosh_core::ids::PartnerId;
use kosh_core::money::Paise;
use kosh_core::secret::{hash_secret, new_token, Secret};
use kosh_store::commands::cms::{
    ApproveCmsPayment, CmsOutcome, ConfirmCmsPayment, CreateCmsSession, FailCmsPayment, OpenCmsSession, RecordCmsPayment,
};
use kosh_store::commands::IdemKey;
use kosh_store::error::CommandError;
use kosh_store::ops::callbacks::CMS_DEBIT_HOOK;
use kosh_store::ops::collections::{CmsPayment, CmsSession, NewCmsSession};
use kosh_store::scopes;
use serde_json::{json, Value};

/// Salt of the page URL token's stored hash.
const TOKEN_SALT: &str = "kosh-cms-page";
/// Characters in a page URL token.
const TOKEN_CHARS: usize = 32;

/// A page URL as the partner asks for it.
pub struct UrlRequest {
    /// The partner.
    pub partner_id: i64,
    /// The agent who will pay.
    pub user_code: i64,
    /// The partner's reference (an Eko `client_ref_id`, unique across products).
    pub client_ref_id: String,
    /// The agent's location.
    pub latlong: String,
    /// The page's language.
    pub locale: String,
}

/// Issues a page: answers the session and the token its URL carries (only its hash
/// is stored, so the URL cannot be answered again).
pub async fn issue(app: &AppState, r: UrlRequest) -> Result<(CmsSession, String), CommandError> {
    let token = new_token(TOKEN_CHARS);
    let session = NewCmsSession {
        partner_id: r.partner_id,
        user_code: r.user_code,
        client_ref_id: r.client_ref_id.clone(),
        token_hash: hash_secret(TOKEN_SALT, &token),
        latlong: r.latlong,
        locale: r.locale,
        expires_at_ms: app.now_ms() + rules::CMS_URL_LIFETIME_MS,
    };
    let key = IdemKey { partner_id: PartnerId::new(r.partner_id), scope: scopes::EKO_CLIENT_REF.into(), key: r.client_ref_id };
    let executed = app.store.execute_idempotent(key, CreateCmsSession { session }).await?;
    Ok((executed.outcome, token))
}

/// Why a page request was not served.
#[derive(Debug)]
pub enum PageError {
    /// No page has this token.
    Unknown,
    /// A command refused (expired, used, tampered, insufficient balance, …).
    Refused(CommandError),
    /// The store failed.
    Store(String),
}

/// The session of a page token.
pub async fn session(app: &AppState, token: &str) -> Result<CmsSession, PageError> {
    let found = app.store.cms_session_by_token_hash(&hash_secret(TOKEN_SALT, token)).await;
    found.map_err(|e| PageError::Store(e.to_string()))?.ok_or(PageError::Unknown)
}

/// Opens a page URL: from now it opens no more.
pub async fn open(app: &AppState, token: &str) -> Result<CmsSession, PageError> {
    let session = session(app, token).await?;
    let cmd = OpenCmsSession { session_id: session.id, lifetime_ms: rules::CMS_URL_LIFETIME_MS };
    app.store.execute(cmd).await.map_err(PageError::Refused)
}

/// What the partner's debit-hook decided about a payment.
pub enum Decision {
    /// Proceed: the agent may confirm the payment.
    Approved(CmsPayment),
    /// The partner refused (`proceed` 0): the payment failed, with the partner's words.
    Refused(CmsPayment),
    /// The partner could not be asked or answered nonsense: the payment failed, with why.
    Unreachable(CmsPayment),
}

/// A payment as the page's form asks for it.
pub struct PaymentForm {
    /// The biller.
    pub biller_id: String,
    /// The loan or account reference.
    pub loan_reference: String,
    /// The EMI.
    pub amount: Paise,
}

/// Records a payment on the page's session, asks the partner's debit-hook, applies
/// its answer.
pub async fn request(app: &AppState, token: &str, form: &PaymentForm) -> Result<Decision, PageError> {
    let session = session(app, token).await?;
    let cmd = RecordCmsPayment {
        session_id: session.id,
        biller_id: form.biller_id.clone(),
        loan_reference: form.loan_reference.clone(),
        charges: app.config.cms_pricing.charges(form.amount),
    };
    let payment = app.store.execute(cmd).await.map_err(PageError::Refused)?;
    match ask_partner(app, &payment).await {
        Ok(()) => {
            let approved = app.store.execute(ApproveCmsPayment { tid: payment.tid }).await.map_err(PageError::Refused)?;
            Ok(Decision::Approved(approved))
        }
        Err(Answer::Refused(why)) => Ok(Decision::Refused(fail(app, payment.tid, why).await?)),
        Err(Answer::Unreachable(why)) => Ok(Decision::Unreachable(fail(app, payment.tid, why).await?)),
    }
}

async fn fail(app: &AppState, tid: i64, reason: String) -> Result<CmsPayment, PageError> {
    tracing::info!(tid, reason = %reason, "CMS payment stopped before any debit");
    app.store.execute(FailCmsPayment { tid, reason }).await.map_err(PageError::Refused)
}

/// Confirms an approved payment with the form as it came back from the page.
pub async fn confirm(app: &AppState, token: &str, tid: i64, form: &PaymentForm) -> Result<CmsOutcome, PageError> {
    let session = session(app, token).await?;
    let cmd = ConfirmCmsPayment {
        session_id: session.id,
        tid,
        biller_id: form.biller_id.clone(),
        loan_reference: form.loan_reference.clone(),
        amount_paise: form.amount.get(),
    };
    app.store.execute(cmd).await.map_err(PageError::Refused)
}

/// Why the debit-hook did not say proceed.
enum Answer {
    Refused(String),
    Unreachable(String),
}

/// The debit-hook's body for a payment.
pub fn hook_body(p: &CmsPayment) -> Value {
    json!({
        "tid": p.tid.to_string(),
        "amount": p.amount.to_rupees_string(),
        "client_ref_id": p.client_ref_id,
        "service_code": CMS_SERVICE_CODE.to_string(),
    })
}

async fn ask_partner(app: &AppState, p: &CmsPayment) -> Result<(), Answer> {
    let endpoint = app.store.callback_endpoint(PartnerId::new(p.partner_id), CMS_DEBIT_HOOK).await;
    let endpoint = endpoint.map_err(|e| Answer::Unreachable(format!("the partner's settings could not be read: {e}")))?;
    let Some(endpoint) = endpoint else {
        return Err(Answer::Unreachable(
            "the partner has configured no CMS debit-hook URL (callback kind cms_debit_hook)".into(),
        ));
    };
    let body = hook_body(p).to_string();
    let request = Request {
        get: false,
        url: &endpoint.url,
        body: Some(body.as_bytes()),
        basic: endpoint.basic_user.as_deref().zip(endpoint.basic_password.as_ref().map(Secret::expose)),
        headers: &endpoint.headers,
        extra: Vec::new(),
    };
    let answer = app.outbound.send(request).await.map_err(|f| Answer::Unreachable(f.reason))?;
    if answer.status != 200 {
        return Err(Answer::Unreachable(format!("the partner's debit-hook answered HTTP {}", answer.status)));
    }
    let reply: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| Answer::Unreachable("the partner's debit-hook did not answer JSON".into()))?;
    decide(&reply, p.tid)
}

fn decide(reply: &Value, tid: i64) -> Result<(), Answer> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    };
    if let Some(id) = reply.get("ekoTxnId").filter(|v| !v.is_null()) {
        if number(id) != Some(tid) {
            return Err(Answer::Unreachable(format!("the partner's debit-hook answered for transaction {id}, not {tid}")));
        }
    }
    match reply.get("proceed").and_then(number) {
        Some(1) => Ok(()),
        Some(0) => {
            let said = reply["message"].as_str().or(reply["reason"].as_str()).unwrap_or("").trim();
            let why = if said.is_empty() {
                "the partner refused this payment".to_owned()
            } else {
                format!("the partner refused this payment: {said}")
            };
            Err(Answer::Refused(why))
        }
        _ => Err(Answer::Unreachable("the partner's debit-hook answered neither proceed 1 nor proceed 0".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_answer_decides() {
        assert!(decide(&json!({"ekoTxnId": 7, "proceed": 1}), 7).is_ok());
        assert!(decide(&json!({"ekoTxnId": "7", "proceed": "1"}), 7).is_ok());
        assert!(
            matches!(decide(&json!({"proceed": 0, "message": "loan closed"}), 7), Err(Answer::Refused(m)) if m.contains("loan closed"))
        );
        assert!(matches!(decide(&json!({"ekoTxnId": 8, "proceed": 1}), 7), Err(Answer::Unreachable(_))));
        assert!(matches!(decide(&json!({"ok": true}), 7), Err(Answer::Unreachable(_))));
    }
}
