//! Refunds and banks under v3, over the v1 commands and bank table.
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `POST /customer/payment/refund/{tid}/otp` | a fresh refund OTP (`otp_ref_id`) | 0 | 2133 |
//! | `POST /customer/payment/refund/{tid}` (otp*, otp_ref_id, user_code, state=1) | refunded (as v1) | 0 | 74 |
//! | `GET /customer/payment/refunds` (customer_id*, user_code*) | the customer's transfers in refund pending, in `data.refund_list` | 0 | 1472 |
//! | `GET /tools/reference/banks` | every bank (or one, by `bank_code` / `ifsc`) | 0 | 466 |
//! | `GET /tools/reference/bank/{bank_code}` (or `?bank_code=`) | the bank | 0 | 466 |
//! | `GET /tools/reference/banks/ifsc/{ifsc}` (or `?ifsc=`) | the bank and branch | 0 | 414 |
//! | unknown bank / IFSC prefix | | 48 | 467 |
//! | malformed IFSC, tid, OTP | `invalid_params` | 41 / 1 | -1 |

use super::{gate, sender_mobile};
use crate::eko::auth::Authenticated;
use crate::eko::check_initiator;
use crate::eko::dmt::banks::{bank_reply, banks, ifsc_reply};
use crate::eko::dmt::refunds::refund_json;
use crate::eko::dmt::{
    code, otp_refusal, otp_request, parse_id, parse_otp, parse_otp_ref_id, require_dmt_agent, rt, sandbox_otp_hint,
    transfer_context, transfer_json,
};
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::params::{Checker, EkoParams};
use crate::eko::user::store_error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Router};
use kosh_core::banks::Ifsc;
use kosh_core::dmt::TxStatus;
use kosh_core::ids::{PartnerId, Tid};
use kosh_store::commands::dmt::{refund_otp_purpose, OtpConsent, Refund, SendRefundOtp};
use kosh_store::ops::dmt_transfers::{Transfer, MAX_LIST};
use kosh_store::ops::otp::OtpIssue;
use serde_json::json;

/// Most transfers of a partner the pending-refunds answer looks through (pages of [`MAX_LIST`]).
const MAX_PAGES: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customer/payment/refund/{tid}/otp", post(refund_otp))
        .route("/customer/payment/refund/{tid}", post(refund))
        .route("/customer/payment/refunds", get(pending_refunds))
        .route("/tools/reference/banks", get(banks))
        .route("/tools/reference/bank", get(bank_by_query))
        .route("/tools/reference/bank/{bank_code}", get(bank_by_path))
        .route("/tools/reference/banks/ifsc", get(ifsc_by_query))
        .route("/tools/reference/banks/ifsc/{ifsc}", get(ifsc_by_path))
}

fn tid_of(segment: &str) -> Result<Tid, EkoReply> {
    let text = segment.split_once(':').map_or(segment, |(_, v)| v);
    parse_id(text).map_err(|m| EkoReply::invalid(vec![("tid".into(), m.into())]))
}

/// `POST /customer/payment/refund/{tid}/otp`: initiator_id*, user_code.
pub async fn refund_otp(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let tid = tid_of(&segment)?;
    agent_if_named(&app, &auth, &params).await?;
    let otp = otp_request(&app, "", "");
    match crate::eko::dmt::execute(&app, SendRefundOtp { partner_id: auth.partner.id, tid, otp }).await? {
        OtpIssue::Issued { otp_ref_id } => {
            let mobile = app.store.dmt_transfer(auth.partner.id, tid).await.map_err(store_error)?.map(|t| t.customer_mobile);
            let reply = EkoReply::ok_transaction(
                rt::OTP_SENT,
                "Send OTP",
                json!({ "otp_ref_id": otp_ref_id.to_string(), "tid": tid.to_string() }),
            );
            Ok(match sandbox_otp_hint(&app, &mobile.unwrap_or_default(), &refund_otp_purpose(tid)) {
                Some(hint) => reply.with_hint(hint),
                None => reply,
            })
        }
        OtpIssue::RateLimited => Err(EkoReply::failure(status::FAILED, rt::TOO_MANY_OTPS, "Too many OTP requests")
            .with_hint("too many refund OTPs for this transaction this hour; use the latest")),
    }
}

/// The initiator, and the agent when `user_code` is sent (the refund OTP docs need none).
async fn agent_if_named(app: &AppState, auth: &Authenticated, params: &EkoParams) -> Result<(), EkoReply> {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.optional(params, "user_code", kosh_core::validate::parse_user_code);
    c.finish()?;
    match user_code {
        Some(user_code) => require_dmt_agent(app, auth.partner.id, user_code).await,
        None => Ok(()),
    }
}

/// `POST /customer/payment/refund/{tid}`: initiator_id*, otp*, otp_ref_id, user_code,
/// state (1), service_code.
pub async fn refund(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let tid = tid_of(&segment)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let code = c.required(&params, "otp", parse_otp);
    let otp_ref_id = c.optional(&params, "otp_ref_id", parse_otp_ref_id);
    c.optional(&params, "state", |t| if t.trim() == "1" { Ok(()) } else { Err("must be 1") });
    c.finish()?;
    agent_if_named(&app, &auth, &params).await?;
    let code = code.expect("checked");
    let again = format!("send a new refund OTP with POST /customer/payment/refund/{tid}/otp");
    match crate::eko::dmt::execute(&app, Refund { partner_id: auth.partner.id, tid, code: code.into(), otp_ref_id }).await? {
        OtpConsent::Accepted(view) => Ok(EkoReply::ok_transaction(rt::REFUND_DONE, "Refund done", refund_json(&view))),
        OtpConsent::Refused(check) => Err(otp_refusal(check, &again, app.config.otp_ttl_secs)),
    }
}

/// `GET /customer/payment/refunds`: initiator_id*, user_code*, customer_id*.
pub async fn pending_refunds(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(None, &params)?;
    gate(&app, &auth, &params).await?;
    let pending = refund_pending(&app, auth.partner.id, mobile.as_str()).await?;
    let mut list = Vec::with_capacity(pending.len());
    for t in &pending {
        let context = transfer_context(&app, &auth.partner.initiator_id, t).await?;
        list.push(transfer_json(t, 0, context));
    }
    let message = if list.is_empty() { "No pending refunds" } else { "Pending refunds" };
    Ok(EkoReply::ok(rt::INQUIRY, message, json!({ "customer_id": mobile.as_str(), "refund_list": list })))
}

async fn refund_pending(app: &AppState, partner_id: PartnerId, mobile: &str) -> Result<Vec<Transfer>, EkoReply> {
    let mut found = Vec::new();
    let mut after = Tid::new(0);
    for _ in 0..MAX_PAGES {
        let page = app.store.dmt_transfers(partner_id, after).await.map_err(store_error)?;
        let Some(last) = page.last() else { break };
        after = last.tid;
        let full = page.len() as i64 >= MAX_LIST;
        found.extend(page.into_iter().filter(|t| t.customer_mobile == mobile && t.tx_status == TxStatus::RefundPending));
        if !full {
            break;
        }
    }
    Ok(found)
}

fn user_code(params: &EkoParams) -> &str {
    params.get("user_code").map_or("", str::trim)
}

async fn bank_by_query(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    let mut c = Checker::default();
    let code = c.required(&params, "bank_code", |t| Ok::<_, &'static str>(t.trim().to_owned()));
    c.finish()?;
    bank_reply(&code.expect("checked"), user_code(&params))
}

async fn bank_by_path(Extension(auth): Extension<Authenticated>, Path(code): Path<String>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    bank_reply(code.split_once(':').map_or(code.as_str(), |(_, v)| v), user_code(&params))
}

/// A malformed IFSC is a bad parameter (41, with `invalid_params`).
fn checked_ifsc(text: &str) -> Result<(), EkoReply> {
    Ifsc::parse(text).map(|_| ()).map_err(|m| {
        let mut reply = EkoReply::invalid(vec![("ifsc".into(), m.into())]);
        reply.status = code::INVALID_IFSC;
        reply
    })
}

async fn ifsc_by_query(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    let mut c = Checker::default();
    let ifsc = c.required(&params, "ifsc", |t| Ok::<_, &'static str>(t.trim().to_owned()));
    c.finish()?;
    let ifsc = ifsc.expect("checked");
    checked_ifsc(&ifsc)?;
    ifsc_reply(&ifsc, user_code(&params))
}

async fn ifsc_by_path(Extension(auth): Extension<Authenticated>, Path(ifsc): Path<String>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    let ifsc = ifsc.split_once(':').map_or(ifsc.as_str(), |(_, v)| v);
    checked_ifsc(ifsc)?;
    ifsc_reply(ifsc, user_code(&params))
}
