//! Recipients and transfers under v3, per family: list, add, register with the bank
//! (PPI), the per-transfer OTP, and the transfer itself.
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `GET …/sender/{m}/recipients` | the list (`beneficiary_id` once registered) | 0 | 23 (22 when empty) |
//! | `POST …/sender/{m}/recipient` | added, `recipient_id` | 0 | 43 |
//! | | the customer already has this account | 342 | 342 |
//! | | bad IFSC / account / mobile / name | 1 (97 missing) | -1 (`invalid_params`) |
//! | register with bank (PPI) | `beneficiary_id` | 0 | 1741 |
//! | `POST /customer/payment/{family}/otp` | OTP for this amount (`otp_ref_id`) | 0 | 2133 |
//! | `POST /customer/payment/{family}` | the transfer as v1 answers it, with the family's `pipe` | by tx_status | 325 |
//! | | wrong / expired / used OTP, or an OTP for another amount | 302 / 303 / 55 | 302 / 303 / 1323 |
//! | | verification pending for the family | step's | step's |
//! | | PPI recipient not registered with the bank | 313 | 313 |
//! | | over the family's monthly limit | 314 | 314 |
//! | `POST /customer/payment/{family}` with `save=1` | kept as a saved transaction ([`super::saved`]) | 0 | 1480 |
//!
//! The transaction OTP's purpose names the family and the amount in paise, so an OTP
//! sent for one amount cannot consent to another; it is single use and expires like every
//! OTP (on the store's clock). The transfer is recorded under the partner's
//! `client_ref_id` in the same idempotency scope as v1's: the same request again answers
//! the transfer without asking for the OTP again.

use super::{enrolled, gate, progress, rejection, sender_mobile};
use crate::eko::auth::Authenticated;
use crate::eko::dmt::recipients::recipient_json;
use crate::eko::dmt::{
    otp_refusal, otp_request, parse_id, parse_otp, parse_otp_ref_id, refusal, require_dmt_agent, rt, rupees_number,
    sandbox_otp_hint, transfer_context, transfer_reply,
};
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::params::{Checker, EkoParams};
use crate::eko::user::store_error;
use crate::service::dmt::{self as service, InitiateError};
use crate::state::AppState;
use kosh_core::banks::{self, AccountNumber, Ifsc};
use kosh_core::dmt::{DmtChannel, MAX_RECIPIENTS_PER_CUSTOMER};
use kosh_core::dmt_family::Family;
use kosh_core::ids::RecipientId;
use kosh_core::money::Paise;
use kosh_core::validate::{self, ClientRefId, Mobile, PersonName, Text};
use kosh_store::commands::dmt::{AddRecipient, DmtRejection, FamilyTransfer, NewTransfer, RegisterBeneficiary};
use kosh_store::commands::{CheckOtp, IssueOtp};
use kosh_store::ops::dmt_recipients::NewRecipient;
use kosh_store::ops::otp::{OtpCheck, OtpIssue};
use serde_json::{json, Value};

/// The OTP purpose of a transfer of `amount` through `family`.
pub fn transaction_purpose(family: &Family, amount: Paise) -> String {
    format!("dmt_txn:{}:{}", family.slug, amount.get())
}

/// A recipient as the family lists it: PPI families show `beneficiary_id` only once the
/// recipient is registered with the bank.
async fn family_recipient_json(
    app: &AppState,
    family: &'static Family,
    r: &kosh_store::ops::dmt_recipients::Recipient,
) -> Result<Value, EkoReply> {
    let mut data = recipient_json(r);
    data["pipes"] = json!({ family.pipe.to_string(): { "pipe": family.pipe, "status": 1 } });
    if family.needs_beneficiary
        && !app.store.dmt_family_beneficiary(r.partner_id, family, r.recipient_id).await.map_err(store_error)?
    {
        data["beneficiary_id"] = Value::Null;
    }
    Ok(data)
}

/// `GET /customer/payment/{family}/sender/{customer_id}/recipients`: user_code*.
pub async fn recipients(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    gate(&app, &auth, &params).await?;
    let c = enrolled(&app, auth.partner.id, &mobile, Some(family)).await?;
    let mut list = Vec::new();
    for r in app.store.dmt_recipients(auth.partner.id, mobile.as_str()).await.map_err(store_error)? {
        list.push(family_recipient_json(&app, family, &r).await?);
    }
    let remaining = family.available_limit_paise(c.used_month, c.used_paise.get(), app.now_ms());
    let data = json!({ "customer_id": mobile.as_str(), "recipient_list": list, "pan_required": 2,
                       "remaining_limit_before_pan_required": rupees_number(remaining), "is_insured": "" });
    Ok(if list.is_empty() {
        EkoReply::ok_transaction(rt::NO_RECIPIENTS, "No recipients found", data)
    } else {
        EkoReply::ok_transaction(rt::RECIPIENTS, "Success", data)
    })
}

/// `POST /customer/payment/{family}/sender/{customer_id}/recipient`: user_code*,
/// recipient_name*, recipient_mobile*, account*, ifsc* (or the IFSC in `bank_code`, as
/// the Levin and PPI docs send it), recipient_type (3), bank_id.
pub async fn add_recipient(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let name = c.required(&params, "recipient_name", PersonName::parse);
    let recipient_mobile = c.required(&params, "recipient_mobile", Mobile::parse);
    let account = c.required(&params, "account", |t| AccountNumber::parse(t).map_err(|e| e.message()));
    let ifsc_field = if params.get("ifsc").is_some() { "ifsc" } else { "bank_code" };
    let ifsc = c.required(&params, ifsc_field, Ifsc::parse);
    c.optional(&params, "recipient_type", |t| if t.trim() == "3" { Ok(()) } else { Err("must be 3 (bank account)") });
    c.finish()?;
    let (Some(user_code), Some(name), Some(recipient_mobile), Some(account), Some(ifsc)) =
        (user_code, name, recipient_mobile, account, ifsc)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    let bank = banks::by_ifsc(&ifsc).ok_or_else(|| {
        let mut reply =
            EkoReply::invalid(vec![(ifsc_field.into(), "names no bank Kosh knows (GET /tools/reference/banks)".into())]);
        reply.status = crate::eko::dmt::code::BANK_NOT_FOUND;
        reply
    })?;
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    enrolled(&app, auth.partner.id, &mobile, Some(family)).await?;
    let recipient = NewRecipient {
        id_type: "acc_ifsc".into(),
        account: account.as_str().into(),
        ifsc: ifsc.as_str().into(),
        bank_code: bank.code.into(),
        recipient_name: name.as_str().into(),
        recipient_mobile: recipient_mobile.as_str().into(),
        recipient_type: 3,
    };
    let cmd = AddRecipient {
        partner_id: auth.partner.id,
        mobile: mobile.clone(),
        recipient,
        max_recipients: MAX_RECIPIENTS_PER_CUSTOMER,
    };
    let r = app.store.execute(cmd).await.map_err(refusal)?;
    let data = json!({
        "initiator_id": auth.partner.initiator_id,
        "customer_id": mobile.as_str(),
        "recipient_mobile": r.details.recipient_mobile,
        "recipient_id_type": r.details.id_type,
        "recipient_id": r.recipient_id,
        "pipes": {},
    });
    Ok(EkoReply::ok_transaction(rt::RECIPIENT_ADDED, "Success!Please transact using Recipientid", data))
}

/// PPI: registers a recipient with the bank: user_code*, recipient_id*.
pub async fn register_recipient(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let recipient_id = c.required(&params, "recipient_id", parse_id);
    c.optional(&params, "ifsc", Ifsc::parse);
    c.optional(&params, "account", |t| AccountNumber::parse(t).map_err(|e| e.message()));
    c.finish()?;
    let (Some(user_code), Some(recipient_id)) = (user_code, recipient_id) else { unreachable!("checked") };
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    let cmd =
        RegisterBeneficiary { partner_id: auth.partner.id, mobile: mobile.as_str().into(), family: family.id, recipient_id };
    let (r, _created) = app.store.execute(cmd).await.map_err(refusal)?;
    let data = json!({
        "beneficiary_id": r.recipient_id.to_string(),
        "recipient_id": r.recipient_id.to_string(),
        "recipient_name": r.details.recipient_name,
        "ifsc": r.details.ifsc,
        "account": AccountNumber::masked(&r.details.account),
        "pipes": { family.pipe.to_string(): { "pipe": family.pipe, "status": 1 } },
    });
    Ok(EkoReply::ok_transaction(1741, "Beneficiary added", data))
}

/// An amount in rupees within the family's per-transfer bounds.
fn amount_parser(family: &'static Family) -> impl Fn(&str) -> Result<Paise, &'static str> {
    move |text| {
        let amount = Paise::parse_rupees(text).map_err(|e| match e {
            kosh_core::money::MoneyError::TooManyDecimals => "must have at most 2 decimal places",
            kosh_core::money::MoneyError::Negative => "must not be negative",
            _ => "must be an amount in rupees like 100 or 100.50",
        })?;
        family.check_amount(amount.get())?;
        Ok(amount)
    }
}

/// `POST /customer/payment/{family}/otp`: user_code*, customer_id*, amount*,
/// recipient_id, beneficiary_id. The OTP consents to a transfer of this amount only.
pub async fn transaction_otp(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    _path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let mobile = c.required(&params, "customer_id", Mobile::parse);
    let amount = c.required(&params, "amount", amount_parser(family));
    c.optional(&params, "recipient_id", parse_id::<RecipientId>);
    c.optional(&params, "beneficiary_id", parse_id::<RecipientId>);
    c.finish()?;
    let (Some(user_code), Some(mobile), Some(amount)) = (user_code, mobile, amount) else { unreachable!("checked") };
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    let customer = enrolled(&app, auth.partner.id, &mobile, Some(family)).await?;
    if let Some(step) = progress(&app, &customer, family).await? {
        return Err(rejection(DmtRejection::KycPending { step }));
    }
    let purpose = transaction_purpose(family, amount);
    let request = otp_request(&app, &purpose, mobile.as_str());
    match crate::eko::dmt::execute(&app, IssueOtp { partner_id: auth.partner.id, request }).await? {
        OtpIssue::Issued { otp_ref_id } => {
            let reply = EkoReply::ok_transaction(rt::OTP_SENT, "Send OTP", json!({ "otp_ref_id": otp_ref_id.to_string() }));
            Ok(match sandbox_otp_hint(&app, mobile.as_str(), &purpose) {
                Some(hint) => reply.with_hint(hint),
                None => reply,
            })
        }
        OtpIssue::RateLimited => Err(EkoReply::failure(status::FAILED, rt::TOO_MANY_OTPS, "Too many OTP requests")
            .with_hint("too many transaction OTPs for this sender and amount this hour; use the latest")),
    }
}

/// A checked transfer request and its OTP.
struct Request {
    transfer: NewTransfer,
    code: String,
    otp_ref_id: Option<i64>,
}

fn transfer_request(
    family: &'static Family,
    app: &AppState,
    auth: &Authenticated,
    params: &EkoParams,
) -> Result<Request, EkoReply> {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let customer = c.required(params, "customer_id", Mobile::parse);
    let recipient_id = c.required(params, "recipient_id", parse_id::<RecipientId>);
    let amount = c.required(params, "amount", amount_parser(family));
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    let code = c.required(params, "otp", parse_otp);
    let otp_ref_id = c.required(params, "otp_ref_id", parse_otp_ref_id);
    let channel = c.optional(params, "channel", |t| channel_of(family, t));
    optional_fields(&mut c, params, recipient_id);
    c.finish()?;
    let (Some(user_code), Some(customer), Some(recipient_id), Some(amount), Some(client_ref_id), Some(code)) =
        (user_code, customer, recipient_id, amount, client_ref_id, code)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    let transfer = NewTransfer {
        partner_id: auth.partner.id,
        user_code,
        client_ref_id: client_ref_id.clone(),
        customer_mobile: customer.clone(),
        recipient_id,
        amount_paise: amount,
        channel: channel.unwrap_or(family.channels[0]),
        pricing: family.pricing(&app.config.dmt_pricing),
        recovery_ms: i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000,
    };
    Ok(Request { transfer, code, otp_ref_id })
}

fn channel_of(family: &Family, text: &str) -> Result<DmtChannel, &'static str> {
    let channel = DmtChannel::parse(text)?;
    if !family.channels.contains(&channel) {
        return Err("must be 2 (IMPS) for this family");
    }
    Ok(channel)
}

/// The fields the docs list that change nothing in Kosh, checked when sent.
fn optional_fields(c: &mut Checker, params: &EkoParams, recipient_id: Option<RecipientId>) {
    c.optional(params, "timestamp", |t| Text::parse(t, 64));
    c.optional(params, "currency", |t| if t.trim() == "INR" { Ok(()) } else { Err("must be INR") });
    c.optional(params, "state", |t| if t.trim() == "1" { Ok(()) } else { Err("must be 1") });
    c.optional(params, "latlong", validate::parse_latlong);
    c.optional(params, "save", |t| if matches!(t.trim(), "0" | "1") { Ok(()) } else { Err("must be 1 (save for later) or 0") });
    let beneficiary = c.optional(params, "beneficiary_id", parse_id::<RecipientId>);
    if let (Some(beneficiary), Some(recipient)) = (beneficiary, recipient_id) {
        if beneficiary != recipient {
            c.fail("beneficiary_id", "must be the beneficiary_id the recipient's bank registration answered");
        }
    }
}

/// `POST /customer/payment/{family}`: user_code*, customer_id*, recipient_id*, amount*,
/// client_ref_id*, otp*, otp_ref_id*, channel (the family's), timestamp, currency=INR,
/// state=1, latlong, beneficiary_id.
pub async fn initiate(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    _path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let request = transfer_request(family, &app, &auth, &params)?;
    let t = &request.transfer;
    require_dmt_agent(&app, auth.partner.id, t.user_code).await?;
    let recorded = app.store.dmt_transfer_by_client_ref(t.partner_id, t.client_ref_id.as_str()).await.map_err(store_error)?;
    if recorded.is_none() {
        consume_otp(&app, family, &request).await?;
    }
    if params.get("save").is_some_and(|v| v.trim() == "1") {
        return super::saved::save(&app, FamilyTransfer { family: family.id, transfer: request.transfer }).await;
    }
    let view =
        service::initiate_family(&app, FamilyTransfer { family: family.id, transfer: request.transfer }).await.map_err(|e| {
            match e {
                InitiateError::NoRail => {
                    EkoReply::failure(544, 544, "Bank is down; please try again later").with_hint(service::NO_RAIL)
                }
                InitiateError::Refused(e) => refusal(e),
                InitiateError::Store(e) => store_error(e),
            }
        })?;
    let context = transfer_context(&app, &auth.partner.initiator_id, &view.transfer).await?;
    let mut reply = transfer_reply(&view, context);
    reply.data["pipe"] = json!(family.pipe);
    Ok(reply)
}

/// Uses up the transaction OTP: it must be the one sent for this sender and amount.
async fn consume_otp(app: &AppState, family: &Family, request: &Request) -> Result<(), EkoReply> {
    let t = &request.transfer;
    let check = CheckOtp {
        partner_id: t.partner_id,
        purpose: transaction_purpose(family, t.amount_paise),
        subject: t.customer_mobile.as_str().to_owned(),
        code: request.code.clone().into(),
        otp_ref_id: request.otp_ref_id,
    };
    match crate::eko::dmt::execute(app, check).await? {
        OtpCheck::Accepted => Ok(()),
        refused => {
            let again = format!("request an OTP for this amount with POST /customer/payment/{}/otp", family.slug);
            Err(otp_refusal(refused, &again, app.config.otp_ttl_secs))
        }
    }
}
