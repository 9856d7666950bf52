//! Money transfers: `POST /transactions` and the inquiry `GET /transactions/{tid}` /
//! `GET /transactions/client_ref_id:{ref}`.
//!
//! | outcome | status | response_status_id | response_type_id | data.tx_status |
//! |---|---|---|---|---|
//! | IMPS settled | 0 | 0 | 325 | 0 |
//! | NEFT waiting for its batch (or a slow bank) | 0 | 2 | 325 | 2 |
//! | on hold: the bank did not answer | 0 | 5 | 325 | 5 |
//! | declined by the bank at once (nothing debited) | 55 | 1 | 55 | 1 |
//! | the bank is down (nothing debited) | 544 | 1 | 544 | 1 |
//! | customer not enrolled / not verified | 463 / 327 | 1 | same | — |
//! | recipient unknown, or another customer's | 313 | 1 | 313 | — |
//! | over the monthly limit | 314 | 1 | 314 | — |
//! | bank takes no IMPS / no NEFT | 344 / 317 | 1 | same | — |
//! | channel not 1 or 2 | 460 | 1 | -1 (`invalid_params`) | — |
//! | insufficient e-value | 347 | 1 | 347 | — |
//! | DMT deactivated for the agent / unknown agent | 346 / 463 | 1 | -1 | — |
//! | amount over ₹5,000, under ₹1, more than 2 decimals; other bad fields | 1 (97 if missing) | 1 | -1 | — |
//! | the same `client_ref_id` again (also concurrently) | the transfer's current record: one transfer, one debit | | | |
//! | `client_ref_id` reused for a different transfer | 1 | 1 | -1 | — |
//! | inquiry | 0 | by tx_status (0 success, 1 fail, 2 initiated, 3 refund pending, 4 refunded, 5 hold) | 1472 | any |
//! | inquiry of an unknown tid / client_ref_id | 168 | 1 | 168 | — |
//!
//! A transfer is recorded (its e-value reserved) before the rail is asked, so an
//! inquiry by `client_ref_id` finds it the instant it exists, and a request that dies
//! before hearing from the rail leaves a transfer the rail worker finishes.

use super::{
    code, parse_id, refusal, require_dmt_agent, rt, sandbox_otp_hint, transaction_rsid, transfer_context, transfer_json,
    transfer_reply,
};
use crate::eko::auth::Authenticated;
use crate::eko::check_initiator;
use crate::eko::envelope::{EkoReply, EkoResult};
use crate::eko::params::{Checker, EkoParams};
use crate::eko::user::store_error;
use crate::service::dmt::{self, InitiateError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::dmt::{check_amount, DmtChannel, TxStatus};
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::money::Paise;
use kosh_core::validate::{self, ClientRefId, Mobile, Text};
use kosh_store::commands::dmt::{refund_otp_purpose, NewTransfer};

/// Longest `timestamp` and `merchant_document_id` accepted, in characters.
const MAX_FIELD_CHARS: usize = 64;

/// `POST /transactions`: initiator_id*, user_code*, customer_id*, recipient_id*,
/// amount*, timestamp*, currency=INR*, client_ref_id*, state=1*, channel* (1 NEFT,
/// 2 IMPS), latlong* (or merchant_document_id), hold_timeout.
pub async fn initiate(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let request = transfer_request(&app, &auth, &params)?;
    require_dmt_agent(&app, auth.partner.id, request.user_code).await?;
    let view = dmt::initiate(&app, request).await.map_err(|e| match e {
        InitiateError::NoRail => {
            EkoReply::failure(super::code::BANK_DOWN, super::code::BANK_DOWN, "Bank is down; please try again later")
                .with_hint(dmt::NO_RAIL)
        }
        InitiateError::Refused(e) => refusal(e),
        InitiateError::Store(e) => store_error(e),
    })?;
    let context = transfer_context(&app, &auth.partner.initiator_id, &view.transfer).await?;
    Ok(transfer_reply(&view, context))
}

/// Checks every field of a transfer request and builds the command.
fn transfer_request(app: &AppState, auth: &Authenticated, params: &EkoParams) -> Result<NewTransfer, EkoReply> {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let customer = c.required(params, "customer_id", Mobile::parse);
    let recipient_id = c.required(params, "recipient_id", parse_id);
    let amount = c.required(params, "amount", parse_amount);
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    c.required(params, "timestamp", |t| Text::parse(t, MAX_FIELD_CHARS));
    c.required(params, "currency", |t| if t.trim() == "INR" { Ok(()) } else { Err("must be INR") });
    c.required(params, "state", |t| if t.trim() == "1" { Ok(()) } else { Err("must be 1") });
    c.optional(params, "hold_timeout", |t| t.trim().parse::<u32>().map_err(|_| "must be a whole number"));
    location(&mut c, params);
    let channel_text = params.get("channel");
    if channel_text.is_none() {
        c.fail("channel", crate::eko::envelope::MISSING);
    }
    c.finish()?;
    let channel = DmtChannel::parse(channel_text.unwrap_or_default()).map_err(|m| {
        let mut reply = EkoReply::invalid(vec![("channel".into(), m.into())]);
        reply.status = code::INVALID_CHANNEL;
        reply.message = "Invalid channel".into();
        reply.with_hint("channel is 1 for NEFT or 2 for IMPS")
    })?;
    let (Some(user_code), Some(customer), Some(recipient_id), Some(amount), Some(client_ref_id)) =
        (user_code, customer, recipient_id, amount, client_ref_id)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    Ok(NewTransfer {
        partner_id: auth.partner.id,
        user_code,
        client_ref_id,
        customer_mobile: customer,
        recipient_id,
        amount_paise: amount,
        channel,
        pricing: app.config.dmt_pricing.clone(),
        recovery_ms: i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000,
    })
}

/// `latlong`, or `merchant_document_id` in its place, as the seed allows.
fn location(c: &mut Checker, params: &EkoParams) {
    match (params.get("latlong"), params.get("merchant_document_id")) {
        (Some(_), _) => {
            c.optional(params, "latlong", validate::parse_latlong);
        }
        (None, Some(_)) => {
            c.optional(params, "merchant_document_id", |t| Text::parse(t, MAX_FIELD_CHARS));
        }
        (None, None) => c.fail("latlong", "is required (or send merchant_document_id)"),
    }
}

/// A transfer amount: rupees with at most two decimals, ₹1 to ₹5,000.
fn parse_amount(text: &str) -> Result<Paise, &'static str> {
    let amount = Paise::parse_rupees(text).map_err(|e| match e {
        kosh_core::money::MoneyError::TooManyDecimals => "must have at most 2 decimal places",
        kosh_core::money::MoneyError::Negative => "must not be negative",
        _ => "must be an amount in rupees like 100 or 100.50",
    })?;
    check_amount(amount.get())?;
    Ok(amount)
}

/// `GET /transactions/{tid}` and `GET /transactions/client_ref_id:{ref}`: initiator_id*,
/// user_code. A transfer awaiting the bank whose time to ask has come is asked about
/// first, so a hold resolves on inquiry.
pub async fn inquiry(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    check_initiator(&params, &auth)?;
    let reference = match segment.split_once(':') {
        Some(("client_ref_id", reference)) => {
            let reference =
                ClientRefId::parse(reference).map_err(|m| EkoReply::invalid(vec![("client_ref_id".into(), m.into())]))?;
            format!("client_ref_id:{}", reference.as_str())
        }
        _ => {
            let tid: Tid = parse_id(&segment).map_err(|_| {
                EkoReply::invalid(vec![("tid".into(), "must be a tid (digits) or client_ref_id:{your reference}".into())])
            })?;
            tid.to_string()
        }
    };
    let found = match transfer_inquiry(&app, auth.partner.id, &auth.partner.initiator_id, &reference).await? {
        Some(reply) => Some(reply),
        // One v1 inquiry path for every Eko transaction: a bill payment's too.
        None => match crate::eko::bbps::inquiry_reply(&app, auth.partner.id, &reference).await? {
            Some(reply) => Some(reply),
            // Payouts and UPI payments too (their tids are disjoint).
            None => crate::eko::payouts::inquiry_reply(&app, auth.partner.id, &reference).await?,
        },
    };
    found.ok_or_else(|| {
        EkoReply::failure(code::TID_NOT_FOUND, code::TID_NOT_FOUND, "TID does not exist")
            .with_hint("no transaction with this tid or client_ref_id was made with your credentials")
    })
}

/// The inquiry answer for a transfer named by tid, `client_ref_id:REF` or a plain
/// client_ref_id; `None` when no transfer of the partner matches (so the common v3
/// inquiry can ask the other products).
pub async fn inquiry_reply(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let partner = app.store.partner(partner_id).await.map_err(store_error)?;
    let initiator_id = partner.map(|p| p.initiator_id).unwrap_or_default();
    transfer_inquiry(app, partner_id, &initiator_id, reference).await
}

/// [`inquiry_reply`] for a partner whose `initiator_id` the caller knows.
async fn transfer_inquiry(
    app: &AppState,
    partner_id: PartnerId,
    initiator_id: &str,
    reference: &str,
) -> Result<Option<EkoReply>, EkoReply> {
    let found = match reference.strip_prefix("client_ref_id:") {
        Some(r) => app.store.dmt_transfer_by_client_ref(partner_id, r).await,
        None => match parse_id(reference) {
            Ok(tid) => app.store.dmt_transfer(partner_id, tid).await,
            Err(_) => app.store.dmt_transfer_by_client_ref(partner_id, reference).await,
        },
    };
    let Some(transfer) = found.map_err(store_error)? else { return Ok(None) };
    let view = dmt::inquire(app, transfer).await.map_err(store_error)?;
    let t = &view.transfer;
    let context = transfer_context(app, initiator_id, t).await?;
    let data = transfer_json(t, view.balance_paise, context);
    let mut reply = EkoReply::ok(rt::INQUIRY, format!("Transaction status: {}", t.tx_status.desc()), data);
    reply.response_status_id = transaction_rsid(t.tx_status);
    if t.tx_status == TxStatus::RefundPending {
        let read =
            sandbox_otp_hint(app, &t.customer_mobile, &refund_otp_purpose(t.tid)).map_or(String::new(), |h| format!("; {h}"));
        reply = reply.with_hint(format!(
            "the transfer failed after initiation: return the cash to the customer, then POST /transactions/{}/refund with the OTP the customer received{read}",
            t.tid
        ));
    }
    Ok(Some(reply))
}
