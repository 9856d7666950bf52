//! What the money-transfer (DMT) endpoints share: the agent gate, the platform's status
//! codes for DMT refusals, OTP requests, and the JSON shapes of customers and transfers.
//!
//! The endpoints, one module each: [`customers`], [`recipients`], [`banks`],
//! [`transfers`] (initiate, inquiry) and [`refunds`].

pub mod banks;
pub mod customers;
pub mod recipients;
pub mod refunds;
pub mod transfers;

use super::envelope::{rsid, status, EkoReply};
use super::user::{require_active_service, store_error};
use super::{colon_id, otp as user_otp};
use crate::state::AppState;
use kosh_core::civil;
use kosh_core::dmt::{self, TxStatus};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::money::Paise;
use kosh_core::services::DMT_SERVICE_CODE;
use kosh_core::validate::Mobile;
use kosh_store::commands::dmt::{DmtRejection, TransferView};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::dmt_customers::Customer;
use kosh_store::ops::dmt_transfers::Transfer;
use kosh_store::ops::otp::{OtpCheck, OtpRequest};
use serde_json::{json, Value};

/// The platform's status codes for DMT answers (catalogue §2).
pub mod code {
    pub const CUSTOMER_EXISTS: i64 = 17;
    pub const MAX_RECIPIENTS: i64 = 39;
    pub const INVALID_IFSC: i64 = 41;
    pub const IFSC_REQUIRED: i64 = 44;
    pub const INVALID_ACCOUNT: i64 = 46;
    pub const BANK_NOT_FOUND: i64 = 48;
    pub const DECLINED: i64 = 55;
    pub const ACCOUNT_LENGTH: i64 = 102;
    pub const TID_NOT_FOUND: i64 = 168;
    pub const RECIPIENT_NOT_REGISTERED: i64 = 313;
    pub const MONTHLY_LIMIT: i64 = 314;
    pub const NEFT_NOT_ALLOWED: i64 = 317;
    pub const VERIFICATION_PENDING: i64 = 327;
    pub const RECIPIENT_EXISTS: i64 = 342;
    pub const IMPS_NOT_AVAILABLE: i64 = 344;
    pub const INVALID_CHANNEL: i64 = 460;
    pub const CUSTOMER_NOT_FOUND: i64 = 463;
    pub const BANK_DOWN: i64 = 544;
}

/// `response_type_id`s of DMT answers (Kosh's choice where the vendor documents none).
pub mod rt {
    pub const NO_RECIPIENTS: i64 = 22;
    pub const RECIPIENTS: i64 = 23;
    pub const RECIPIENT_ADDED: i64 = 43;
    pub const REFUND_DONE: i64 = 74;
    pub const NOT_ENROLLED: i64 = 308;
    pub const CUSTOMER_FOUND: i64 = 309;
    pub const DMT_TRANSACTION: i64 = 325;
    pub const ENROLLED_VERIFICATION_PENDING: i64 = 327;
    pub const RECIPIENT_REMOVED: i64 = 1342;
    pub const IFSC_FOUND: i64 = 414;
    pub const BANK_FOUND: i64 = 466;
    pub const BANK_INVALID: i64 = 467;
    pub const INQUIRY: i64 = 1472;
    pub const CUSTOMER_VERIFIED: i64 = 2132;
    pub const OTP_SENT: i64 = 2133;
    pub const TOO_MANY_OTPS: i64 = 1318;
    pub const OTP_USED: i64 = 1323;
    pub const OTP_EXHAUSTED: i64 = 1324;
    pub const NO_OTP: i64 = 1325;
}

/// The `pipe` Kosh's transfers go through (the platform reports several; Kosh has one).
pub const PIPE: i64 = 9;

/// An OTP for `purpose` sent to `subject`, with the configured validity.
pub fn otp_request(app: &AppState, purpose: &str, subject: &str) -> OtpRequest {
    OtpRequest {
        purpose: purpose.into(),
        subject: subject.into(),
        code: kosh_core::secret::new_otp(user_otp::OTP_DIGITS).into(),
        ttl_ms: i64::try_from(app.config.otp_ttl_secs).unwrap_or(86_400) * 1000,
        max_attempts: user_otp::MAX_ATTEMPTS,
        sandbox_visible: app.config.sandbox,
    }
}

/// The sandbox's pointer to an OTP it did not deliver.
pub fn sandbox_otp_hint(app: &AppState, mobile: &str, purpose: &str) -> Option<String> {
    app.config.sandbox.then(|| format!("sandbox: read the OTP with GET /sandbox/otp?mobile={mobile}&purpose={purpose}"))
}

/// Checks a request whose only parameter (besides `initiator_id`) is the agent's
/// `user_code`, and that the agent may send money; answers the user_code.
pub async fn user_code_only(
    app: &AppState,
    auth: &super::auth::Authenticated,
    params: &super::params::EkoParams,
) -> Result<UserCode, EkoReply> {
    let mut c = super::checker(params, auth)?;
    let user_code = c.required(params, "user_code", kosh_core::validate::parse_user_code);
    c.finish()?;
    let Some(user_code) = user_code else { unreachable!("the checker fails when a required field is bad") };
    require_dmt_agent(app, auth.partner.id, user_code).await?;
    Ok(user_code)
}

/// `Ok` when `user_code` may use DMT: the platform needs no activation for DMT, so an
/// onboarded agent may, unless the partner deactivated service 10 for it (346).
pub async fn require_dmt_agent(app: &AppState, partner_id: PartnerId, user_code: UserCode) -> Result<(), EkoReply> {
    let (standing, exists) = app.store.agent_standing(partner_id, user_code, DMT_SERVICE_CODE).await.map_err(store_error)?;
    match standing {
        Some(service) if service.is_active_at(app.now_ms()) => return Ok(()),
        None if exists => return Ok(()),
        _ => {}
    }
    require_active_service(app, partner_id, user_code, DMT_SERVICE_CODE).await
}

/// The customer's mobile number from a `mobile_number:{m}` path segment.
pub fn customer_path(segment: &str) -> Result<Mobile, EkoReply> {
    let text = colon_id(segment, "mobile_number")?;
    Mobile::parse(text).map_err(|m| EkoReply::invalid(vec![("customer_id".into(), m.into())]))
}

/// An amount as a JSON number of rupees (`25000.0`), as the platform's profiles show limits.
pub fn rupees_number(paise: i64) -> Value {
    json!(paise as f64 / 100.0)
}

fn java(paise: i64) -> String {
    Paise::new(paise).unwrap_or(Paise::ZERO).to_java_double_string()
}

fn rupees(paise: i64) -> String {
    Paise::new(paise).unwrap_or(Paise::ZERO).to_rupees_string()
}

/// Kosh's own view of a customer, with this month's limits.
fn customer_fields(c: &Customer, now_ms: i64) -> serde_json::Map<String, Value> {
    let total = c.state.monthly_limit_paise();
    let available = dmt::available_limit_paise(c.state, c.used_month, c.used_paise.get(), now_ms);
    let fields = json!({
        "customer_id_type": "mobile_number",
        "id": c.mobile,
        "customer_id": c.mobile,
        "mobile": c.mobile,
        "name": c.name,
        "state": c.state.code().to_string(),
        "state_desc": c.state.desc(),
        // A number, as in the platform's sender profiles (string `state` beside it).
        "kyc_state": c.state.code(),
        "total_limit": rupees_number(total),
        "used_limit": rupees_number(total - available),
        "available_limit": rupees_number(available),
        "bc_available_limit": rupees_number(available),
        "wallet_available_limit": rupees_number(0),
        "limit": [{ "pipe": PIPE.to_string(), "total": rupees_number(total), "used": rupees_number(total - available),
                    "remaining": rupees_number(available) }],
        "pipes": { PIPE.to_string(): { "pipe": PIPE, "is_registered": 1 } },
        "balance": "0.0",
        "currency": "INR",
    });
    let Value::Object(fields) = fields else { unreachable!("a JSON object literal") };
    fields
}

/// The customer's remaining monthly limit, in paise.
pub fn available_limit_paise(c: &Customer, now_ms: i64) -> i64 {
    dmt::available_limit_paise(c.state, c.used_month, c.used_paise.get(), now_ms)
}

/// The platform's `customer_profile` (its sender profiles and verify-OTP answers), with
/// Kosh's own fields beside it. Kosh keeps no KYC documents or e-mail: those fields are
/// empty, as the platform shows them for a customer without them.
pub fn customer_profile_json(c: &Customer, now_ms: i64) -> Value {
    let total = c.state.monthly_limit_paise();
    let available = available_limit_paise(c, now_ms);
    let mut profile = customer_fields(c, now_ms);
    let vendor = json!({
        "total_monthly_limit": java(total),
        "next_allowed_limit": java(available),
        "kyc_id": "",
        "kyc_validity": "",
        "kyc_remark": "",
        "kyc_type": "",
        "ekyc_enabled": 0,
        "digital_ekyc": 0,
        "email": "",
        "chart": [{ "data_type_id": 10, "label": "",
                    "data": { "unavailable": 0, "used": rupees_number(total - available), "remaining": rupees_number(available) } }],
    });
    let Value::Object(vendor) = vendor else { unreachable!("a JSON object literal") };
    profile.extend(vendor);
    Value::Object(profile)
}

/// A customer as `GET /customers/mobile_number:{m}` answers it: Kosh's fields, the
/// platform's sender-profile fields (DMT "Get Sender Profile" sample) and its
/// `customer_profile`.
pub fn customer_json(c: &Customer, now_ms: i64) -> Value {
    let mut data = customer_fields(c, now_ms);
    let vendor = json!({
        "customer_profile": customer_profile_json(c, now_ms),
        "sender_name": c.name,
        "next_allowed_limit": rupees_number(available_limit_paise(c, now_ms)),
        "is_registered": 1,
        "ekyc_enabled": "",
        "wallet_token": "",
        "wallet_id": "",
        "id_proof_type_id": "",
        "id_proof": "",
        "otpOptionalSum": "",
        "otpNotRequiredSum": "",
        "otpOptionalSumNeft": "",
        "otpNotRequiredSumNeft": "",
    });
    let Value::Object(vendor) = vendor else { unreachable!("a JSON object literal") };
    data.extend(vendor);
    Value::Object(data)
}

/// What a transfer's answer tells beside the transfer itself: who was debited and what
/// the customer may still send.
#[derive(Debug, Clone, Copy)]
pub struct TransferContext<'a> {
    /// The partner whose e-value was debited (its initiator_id).
    pub initiator_id: &'a str,
    /// The customer's remaining monthly limit, in paise.
    pub remaining_limit_paise: i64,
}

/// A transfer as the transaction and inquiry answers show it: Kosh's fields and every
/// field of the platform's DMT transaction sample (v1 = v3, catalogue §3.2). Fields for
/// products Kosh does not have (insurance, wallets, PAN thresholds) carry the values the
/// platform shows when they do not apply.
pub fn transfer_json(t: &Transfer, balance_paise: i64, context: TransferContext<'_>) -> Value {
    let mut data = transfer_fields(t, balance_paise);
    let vendor = json!({
        "debit_user_id": context.initiator_id,
        "utility_acc_no": t.customer_mobile,
        "remaining_limit_before_pan_required": rupees_number(context.remaining_limit_paise),
        // The platform's value for a customer who needs no PAN (Kosh never asks for one).
        "pan_required": 2,
        "payment_mode": t.channel.payment_mode(),
        "payment_mode_desc": "",
        "beneficiary_account_type": Value::Null,
        "is_otp_required": "0",
        "ekyc_enabled": "0",
        "kyc_state": "",
        "txn_wallet": "0",
        "total_sent": "",
        "next_allowed_limit": "",
        "insurance_acquired": "",
        "insurance_amount": "",
        "aadhar": "",
        "pinNo": "",
        "gst_benefit": "0",
        "last_used_okekey": "0",
        "npr": "",
        "paymentid": "",
        "mdr": "",
    });
    let Value::Object(vendor) = vendor else { unreachable!("a JSON object literal") };
    let Value::Object(fields) = &mut data else { unreachable!("a JSON object literal") };
    fields.extend(vendor);
    data
}

fn transfer_fields(t: &Transfer, balance_paise: i64) -> Value {
    let c = &t.charges;
    let bank = kosh_core::banks::find(&t.bank_code).map_or(t.bank_code.as_str(), |b| b.name);
    json!({
        "tx_status": t.tx_status.code().to_string(),
        "txstatus_desc": t.tx_status.desc(),
        "tid": t.tid.to_string(),
        "client_ref_id": t.client_ref_id,
        "amount": c.amount_paise.to_rupees_string(),
        "fee": java(c.fee_paise.get()),
        "totalfee": java(c.fee_paise.get()),
        "collectable_amount": java(c.collectable_paise().map_or(0, Paise::get)),
        "service_tax": java(c.gst_paise.get()),
        "gst": java(c.gst_paise.get()),
        "commission": java(c.commission_paise.get()),
        "tds": java(c.tds_paise.get()),
        "balance": java(balance_paise.max(0)),
        "bank": bank,
        "bank_ref_num": t.bank_ref_num,
        "utrnumber": t.bank_ref_num,
        "account": t.account,
        "ifsc": t.ifsc,
        "recipient_id": t.recipient_id,
        "recipient_name": t.recipient_name,
        "sender_name": t.sender_name,
        "customer_id": t.customer_mobile,
        "user_code": t.user_code.to_string(),
        "channel": t.channel.code().to_string(),
        "channel_desc": t.channel.desc(),
        "pipe": PIPE,
        "state": "1",
        "currency": "INR",
        "timestamp": civil::iso_utc(t.created_at_ms),
        "refund_tid": t.refund_tid.map(|id| id.to_string()),
        "reason": t.reason,
    })
}

/// The context of `t`'s answer, read from the store: the customer's remaining limit.
pub async fn transfer_context<'a>(app: &AppState, initiator_id: &'a str, t: &Transfer) -> Result<TransferContext<'a>, EkoReply> {
    let customer = app.store.dmt_customer(t.partner_id, &t.customer_mobile).await.map_err(store_error)?;
    let remaining_limit_paise = customer.map_or(0, |c| available_limit_paise(&c, app.now_ms()));
    Ok(TransferContext { initiator_id, remaining_limit_paise })
}

/// `response_status_id` for a transaction in `status`.
pub fn transaction_rsid(status: TxStatus) -> i64 {
    match status {
        TxStatus::Success => rsid::OK_TRANSACTIONAL,
        TxStatus::Fail => rsid::FAILED,
        TxStatus::Initiated => rsid::INITIATED,
        TxStatus::RefundPending => rsid::REFUND_INITIATED,
        TxStatus::Refunded => rsid::REFUNDED,
        TxStatus::Hold => rsid::ON_HOLD,
    }
}

/// The answer to `POST /transactions`: the transfer as it stands.
pub fn transfer_reply(view: &TransferView, context: TransferContext<'_>) -> EkoReply {
    let t = &view.transfer;
    let data = transfer_json(t, view.balance_paise, context);
    let mut reply = match t.tx_status {
        TxStatus::Fail if t.reason.starts_with(crate::service::dmt::BANK_DOWN_PREFIX) => {
            EkoReply::failure(code::BANK_DOWN, code::BANK_DOWN, "Bank is down; please try again later")
                .with_hint(format!("{}; nothing was debited", t.reason))
        }
        TxStatus::Fail => EkoReply::failure(code::DECLINED, code::DECLINED, "Transaction declined")
            .with_hint(format!("{}; nothing was debited", t.reason)),
        TxStatus::Success => EkoReply::ok_transaction(rt::DMT_TRANSACTION, "Transaction successful", Value::Null),
        TxStatus::Initiated => EkoReply::ok_transaction(rt::DMT_TRANSACTION, "Transaction initiated", Value::Null).with_hint(
            "the bank has not settled it yet (NEFT settles in batches); the status callback or GET /transactions/{tid} tells when it does",
        ),
        TxStatus::Hold => EkoReply::ok_transaction(rt::DMT_TRANSACTION, "Transaction on hold; inquiry required", Value::Null)
            .with_hint("the bank did not answer; ask GET /transactions/{tid} again later, or wait for the status callback"),
        TxStatus::RefundPending => EkoReply::ok_transaction(rt::DMT_TRANSACTION, "Transaction failed; refund pending", Value::Null)
            .with_hint("return the cash to the customer and refund with POST /transactions/{tid}/refund and the customer's OTP"),
        TxStatus::Refunded => EkoReply::ok_transaction(rt::DMT_TRANSACTION, "Transaction refunded", Value::Null),
    };
    reply.response_status_id = transaction_rsid(t.tx_status);
    reply.with_data(data)
}

/// The answer to a refused DMT command: the platform's code and what to do.
/// Runs a DMT command; any refusal becomes the platform's answer.
pub async fn execute<C: kosh_store::commands::StoreCommand>(app: &AppState, cmd: C) -> Result<C::Output, EkoReply> {
    app.store.execute(cmd).await.map_err(refusal)
}

pub fn refusal(e: CommandError) -> EkoReply {
    let Some(rejection) = e.rejection() else { return store_error(e) };
    match rejection {
        Rejection::Dmt(r) => dmt_refusal(r),
        Rejection::AgentNotFound => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found")
            .with_hint("no user (agent) with this user_code was onboarded by you; onboard one with PUT /user/onboard"),
        Rejection::InsufficientFunds { available_paise } => {
            EkoReply::failure(status::INSUFFICIENT_BALANCE, status::INSUFFICIENT_BALANCE, "Insufficient balance").with_hint(format!(
                "your e-value balance available is {}; load e-value into your wallet",
                rupees(*available_paise)
            ))
        }
        Rejection::IdempotencyConflict => EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id")
            .with_hint("this client_ref_id was already used for a different transaction; send a new client_ref_id for a new transfer, or the same request to get its result"),
        _ => store_error(e),
    }
}

fn dmt_refusal(r: &DmtRejection) -> EkoReply {
    let fail = |code: i64, message: &str| EkoReply::failure(code, code, message);
    match r {
        DmtRejection::CustomerNotFound => fail(code::CUSTOMER_NOT_FOUND, "Customer not found")
            .with_hint("enrol the customer with PUT /customers/mobile_number:{mobile} first"),
        DmtRejection::CustomerNotVerified => fail(code::VERIFICATION_PENDING, "Customer enrolled; verification pending")
            .with_hint("verify the customer's mobile with PUT /customers/verification/otp:{otp}"),
        DmtRejection::RecipientNotFound => fail(code::RECIPIENT_NOT_REGISTERED, "Recipient not registered")
            .with_hint("no recipient with this recipient_id exists; add one with PUT /customers/mobile_number:{m}/recipients/acc_ifsc:{account}_{ifsc}"),
        DmtRejection::RecipientOfAnotherCustomer => fail(code::RECIPIENT_NOT_REGISTERED, "Recipient not registered")
            .with_hint("this recipient_id belongs to another customer; list this customer's recipients with GET /customers/mobile_number:{m}/recipients"),
        DmtRejection::RecipientExists { recipient_id } => fail(code::RECIPIENT_EXISTS, "Recipient already exists")
            .with_hint(format!("the customer already has this account as recipient_id {recipient_id}"))
            .with_data(json!({ "recipient_id": recipient_id })),
        DmtRejection::TooManyRecipients { max } => fail(code::MAX_RECIPIENTS, "Maximum number of recipients reached")
            .with_hint(format!("a customer may have at most {max} recipients; remove one with DELETE …/recipients/recipient_id:{{id}}")),
        DmtRejection::AmountOutOfBounds(why) => EkoReply::invalid(vec![("amount".into(), (*why).into())]),
        DmtRejection::MonthlyLimit { available_paise } => fail(code::MONTHLY_LIMIT, "Monthly limit exceeded").with_hint(format!(
            "the customer may send {} more this month (limits reset on the 1st, IST)",
            rupees(*available_paise)
        )),
        DmtRejection::ChannelNotAvailable { channel: kosh_core::dmt::DmtChannel::Imps, bank } => {
            fail(code::IMPS_NOT_AVAILABLE, "IMPS is not available for this bank")
                .with_hint(format!("{bank} does not accept IMPS; send with channel=1 (NEFT)"))
        }
        DmtRejection::ChannelNotAvailable { bank, .. } => fail(code::NEFT_NOT_ALLOWED, "NEFT not allowed for this bank")
            .with_hint(format!("{bank} does not accept NEFT; send with channel=2 (IMPS)")),
        DmtRejection::BankNotFound => fail(code::BANK_NOT_FOUND, "Bank not found"),
        DmtRejection::TransferNotFound => {
            fail(code::TID_NOT_FOUND, "TID does not exist").with_hint("no transaction with this tid or client_ref_id was made by you")
        }
        DmtRejection::NotRefundable { tx_status } => EkoReply::failure(status::FAILED, -1, "Transaction is not eligible for refund")
            .with_hint(format!(
                "only a transaction in Refund Pending (tx_status 3) can be refunded; this one is {} (tx_status {})",
                tx_status.desc(),
                tx_status.code()
            )),
        DmtRejection::AlreadyRefunded { refund_tid } => EkoReply::failure(status::FAILED, -1, "Transaction already refunded")
            .with_hint(format!("it was refunded as refund_tid {refund_tid}; nothing more to do")),
    }
}

/// The answer when an OTP was not accepted. `again` says how to get a new one.
pub fn otp_refusal(check: OtpCheck, again: &str, ttl_secs: u64) -> EkoReply {
    match check {
        OtpCheck::Wrong { attempts_left: 0 } => {
            EkoReply::failure(status::WRONG_OTP, status::WRONG_OTP, "Wrong OTP").with_hint(format!("no attempts left; {again}"))
        }
        OtpCheck::Wrong { attempts_left } => EkoReply::failure(status::WRONG_OTP, status::WRONG_OTP, "Wrong OTP")
            .with_hint(format!("{attempts_left} attempt(s) left for this OTP")),
        OtpCheck::Expired => EkoReply::failure(status::OTP_EXPIRED, status::OTP_EXPIRED, "OTP expired")
            .with_hint(format!("OTPs are valid for {ttl_secs} s; {again}")),
        OtpCheck::Used => {
            EkoReply::failure(code::DECLINED, rt::OTP_USED, "OTP already used").with_hint(format!("each OTP works once; {again}"))
        }
        OtpCheck::Exhausted => EkoReply::failure(status::FAILED, rt::OTP_EXHAUSTED, "OTP attempts exhausted")
            .with_hint(format!("{} wrong attempts void an OTP; {again}", user_otp::MAX_ATTEMPTS)),
        OtpCheck::NotFound => EkoReply::failure(status::FAILED, rt::NO_OTP, "No OTP was sent for this request")
            .with_hint(format!("send the otp_ref_id the OTP request answered, or leave it out; {again}")),
        OtpCheck::Accepted => store_error("an accepted OTP is not a refusal"),
    }
}

/// Parses an OTP sent by a partner (4 to 9 digits).
pub fn parse_otp(text: &str) -> Result<String, &'static str> {
    let t = text.trim();
    if !(4..=9).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be the 4 to 9 digit OTP");
    }
    Ok(t.to_owned())
}

/// Parses an `otp_ref_id`.
pub fn parse_otp_ref_id(text: &str) -> Result<i64, &'static str> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or("must be the otp_ref_id that the OTP request answered")
}

/// Parses a positive integer id (`tid`, `recipient_id`).
pub fn parse_id<T: kosh_core::ids::Id>(text: &str) -> Result<T, &'static str> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).map(T::from_raw).ok_or("must be a positive integer id")
}
