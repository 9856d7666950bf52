//! Refunds of failed transfers. A transfer that fails after initiation goes to refund
//! pending (tx_status 3) and the customer is sent an OTP; the agent returns the cash and
//! enters the customer's OTP as consent, and the e-value comes back (tx_status 4).
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `POST /transactions/{tid}/refund` (otp*, user_code*, state=1) | refunded: refund_tid, refunded_amount (amount + fee), commission_reverse, tds, balance | 0 | 74 |
//! | | wrong / expired / already used OTP | 302 / 303 / 55 | 302 / 303 / 1323 |
//! | | the transfer is not in refund pending (e.g. it succeeded) | 1 | -1 |
//! | | already refunded | 1 | -1 |
//! | | unknown tid | 168 | 168 |
//! | `POST /transactions/{tid}/refund/otp` (user_code*) | a fresh OTP sent (rsid 0) | 0 | 2133 |

use super::{code, otp_refusal, otp_request, parse_id, parse_otp, parse_otp_ref_id, require_dmt_agent, rt, sandbox_otp_hint};
use crate::eko::auth::Authenticated;
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::ids::Tid;
use kosh_core::money::Paise;
use kosh_core::validate;
use kosh_store::commands::dmt::{refund_otp_purpose, OtpConsent, Refund, SendRefundOtp};
use kosh_store::ops::otp::OtpIssue;
use serde_json::json;

fn java(paise: i64) -> String {
    Paise::new(paise).unwrap_or(Paise::ZERO).to_java_double_string()
}

fn tid_path(segment: &str) -> Result<Tid, EkoReply> {
    parse_id(segment).map_err(|_| {
        EkoReply::failure(code::TID_NOT_FOUND, code::TID_NOT_FOUND, "TID does not exist")
            .with_hint("the path must carry the numeric tid")
    })
}

/// `POST /transactions/{tid}/refund`: initiator_id*, user_code*, otp*, otp_ref_id, state (1).
pub async fn refund(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let tid = tid_path(&segment)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let otp = c.required(&params, "otp", parse_otp);
    let otp_ref_id = c.optional(&params, "otp_ref_id", parse_otp_ref_id);
    c.optional(&params, "state", |t| if t.trim() == "1" { Ok(()) } else { Err("must be 1") });
    c.finish()?;
    let (Some(user_code), Some(code)) = (user_code, otp) else { unreachable!("the checker fails when a required field is bad") };
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    let again = format!("send a new refund OTP to the customer with POST /transactions/{tid}/refund/otp");
    match super::execute(&app, Refund { partner_id: auth.partner.id, tid, code: code.into(), otp_ref_id }).await? {
        OtpConsent::Accepted(view) => {
            let t = &view.transfer;
            let c = &t.charges;
            let data = json!({
                "tid": t.tid.to_string(),
                "refund_tid": t.refund_tid.map(|id| id.to_string()),
                "client_ref_id": t.client_ref_id,
                "amount": c.amount_paise.to_rupees_string(),
                "refunded_amount": c.collectable_paise().unwrap_or(Paise::ZERO).to_rupees_string(),
                "fee": java(c.fee_paise.get()),
                "commission_reverse": java(c.commission_paise.get()),
                "tds": java(c.tds_paise.get()),
                "balance": java(view.balance_paise.max(0)),
                "currency": "INR",
                "tx_status": t.tx_status.code().to_string(),
                "txstatus_desc": t.tx_status.desc(),
                "timestamp": kosh_core::civil::iso_utc(t.updated_at_ms),
            });
            Ok(EkoReply::ok_transaction(rt::REFUND_DONE, "Refund done", data))
        }
        OtpConsent::Refused(check) => Err(otp_refusal(check, &again, app.config.otp_ttl_secs)),
    }
}

/// `POST /transactions/{tid}/refund/otp`: initiator_id*, user_code*. Sends the customer a
/// fresh refund OTP.
pub async fn resend_otp(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let tid = tid_path(&segment)?;
    super::user_code_only(&app, &auth, &params).await?;
    let otp = otp_request(&app, "", "");
    match super::execute(&app, SendRefundOtp { partner_id: auth.partner.id, tid, otp }).await? {
        OtpIssue::Issued { otp_ref_id } => {
            let transfer = app.store.dmt_transfer(auth.partner.id, tid).await.map_err(store_error)?;
            let mobile = transfer.map(|t| t.customer_mobile).unwrap_or_default();
            let data = json!({ "otp_ref_id": otp_ref_id.to_string(), "tid": tid.to_string() });
            let reply = EkoReply::ok_transaction(rt::OTP_SENT, "OTP sent", data);
            Ok(match sandbox_otp_hint(&app, &mobile, &refund_otp_purpose(tid)) {
                Some(hint) => reply.with_hint(hint),
                None => reply,
            })
        }
        OtpIssue::RateLimited => Err(EkoReply::failure(status::FAILED, rt::TOO_MANY_OTPS, "Too many OTP requests").with_hint(
            format!("at most {} refund OTPs per transaction per hour; use the latest", kosh_store::ops::otp::MAX_PER_WINDOW),
        )),
    }
}
