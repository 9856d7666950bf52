//! CMS cash drop (service 58): `POST /marketuat/airtelPartner/generateCmsUrl` (v1, v2
//! and v3 prefixes) answers the URL of a page Kosh hosts ([`crate::cms`]), where the
//! agent pays a customer's EMI from the partner's wallet after the partner's CMS
//! debit-hook approves it; and the inquiry of CMS payments.
//!
//! | outcome | status | response_type_id |
//! |---|---|---|
//! | URL issued (`data.url`, single use, expires unopened after 10 minutes) | 0 | 1900 |
//! | `user_code` is no agent of the partner | 463 | -1 |
//! | service 58 not active for the agent | 346 | -1 |
//! | `client_ref_id` used before (by any Eko product) | 1 | -1 "Duplicate client_ref_id" |

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::{require_active_service, store_error};
use crate::service::cms::{self as service, UrlRequest};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::post;
use axum::{Extension, Router};
use kosh_core::civil;
use kosh_core::collections::{biller, CMS_SERVICE_CODE};
use kosh_core::ids::PartnerId;
use kosh_core::validate::{self, ClientRefId, Text};
use kosh_store::error::Rejection;
use kosh_store::ops::collections::CmsPayment;
use serde_json::json;

const RT_URL: i64 = 1900;
const RT_INQUIRY: i64 = 1472;
/// Longest `locale`.
const MAX_LOCALE_CHARS: usize = 10;

/// The CMS route (relative to any Eko prefix).
pub fn routes() -> Router<AppState> {
    Router::new().route("/marketuat/airtelPartner/generateCmsUrl", post(generate_url))
}

async fn generate_url(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    params: EkoParams,
) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let reference = c.required(&params, "client_ref_id", ClientRefId::parse);
    let latlong = c.optional(&params, "latlong", validate::parse_latlong).map(|_| params.get("latlong").unwrap_or(""));
    let locale = c.optional(&params, "locale", |t| Text::parse(t, MAX_LOCALE_CHARS));
    c.finish()?;
    let (Some(user_code), Some(reference)) = (user_code, reference) else { unreachable!("checked above") };
    require_active_service(&app, auth.partner.id, user_code, CMS_SERVICE_CODE).await?;
    let request = UrlRequest {
        partner_id: auth.partner.id.get(),
        user_code: user_code.get(),
        client_ref_id: reference.as_str().into(),
        latlong: latlong.unwrap_or("").trim().into(),
        locale: locale.map_or_else(|| "en".into(), |l| l.as_str().into()),
    };
    let (session, token) = service::issue(&app, request).await.map_err(|e| match e.rejection() {
        Some(Rejection::IdempotencyConflict) => EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id")
            .with_hint("this client_ref_id was already used (for a CMS URL or another transaction); send a new one for each URL"),
        Some(Rejection::AgentNotFound) => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found"),
        _ => store_error(e),
    })?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let data = json!({
        "url": format!("http://{host}/cms/{token}"),
        "client_ref_id": session.client_ref_id,
        "user_code": session.user_code.to_string(),
        "expires_at": civil::ist_datetime(session.expires_at_ms),
    });
    Ok(EkoReply::ok(RT_URL, "CMS URL generated", data))
}

/// A CMS payment as the inquiry answers it.
pub fn payment_json(p: &CmsPayment) -> serde_json::Value {
    let status = p.status();
    json!({
        "tid": p.tid.to_string(),
        "tx_status": status.code().to_string(),
        "txstatus_desc": if status.code() == 5 { "Initiated" } else { status.desc() },
        "client_ref_id": p.client_ref_id,
        "amount": p.amount.to_rupees_string(),
        "partners_commision": p.commission.to_rupees_string(),
        "tds": p.tds.to_rupees_string(),
        "operator_id": p.biller_id,
        "operator_name": biller(&p.biller_id).map_or("", |b| b.name),
        "account": p.loan_reference,
        "user_code": p.user_code.to_string(),
        "service_code": CMS_SERVICE_CODE.to_string(),
        "reason": p.reason,
        "timestamp": civil::ist_datetime(p.updated_at_ms),
    })
}

/// The inquiry answer for a CMS payment named by tid, `client_ref_id:REF` or a plain
/// client_ref_id (the newest payment of that CMS URL); `None` when no CMS payment of
/// the partner matches.
pub async fn inquiry_reply(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let partner_id = partner_id.get();
    let reference = reference.strip_prefix("client_ref_id:").unwrap_or(reference);
    let by_ref = || app.store.cms_payment_by_ref(partner_id, reference);
    let found = match reference.parse::<i64>() {
        Ok(tid) => match app.store.cms_payment(tid).await.map_err(store_error)? {
            Some(p) if p.partner_id == partner_id => Some(p),
            _ => by_ref().await.map_err(store_error)?,
        },
        Err(_) => by_ref().await.map_err(store_error)?,
    };
    let Some(payment) = found else { return Ok(None) };
    let message = format!("Transaction inquiry: {}", payment.status().desc());
    Ok(Some(EkoReply::ok(RT_INQUIRY, message, payment_json(&payment))))
}
