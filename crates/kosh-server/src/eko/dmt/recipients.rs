//! A customer's recipients (the bank accounts they send to): add, list, get, remove.
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `PUT …/recipients/acc_ifsc:{account}_{ifsc}` or `…/acc_bankcode:{account}_{bank_code}` | added, `recipient_id` (rsid 0) | 0 | 43 |
//! | | the customer already has this account | 342 | 342 |
//! | | the customer has the maximum (20) | 39 | 39 |
//! | | IFSC malformed / bank unknown / IFSC needed for this bank | 41 / 48 / 44 | same |
//! | | account not digits / not 9–18 digits | 46 / 102 | same |
//! | `GET …/recipients` | the list | 0 | 23 (22 when empty) |
//! | `GET …/recipients/recipient_id:{id}` | one recipient | 0 | 23 |
//! | `DELETE …/recipients/recipient_id:{id}` | removed | 0 | 1342 |
//! | get / delete | not this customer's recipient | 313 | 313 |
//! | any | customer not enrolled | 463 | 463 |
//!
//! (All paths start `/customers/mobile_number:{m}`.) Account numbers are shown masked.

use super::customers::required_user_code;
use super::{available_limit_paise, code, customer_path, parse_id, refusal, require_dmt_agent, rt, rupees_number, PIPE};
use crate::eko::auth::Authenticated;
use crate::eko::envelope::{EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::eko::{check_initiator, colon_id};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::banks::{self, AccountError, AccountNumber, Bank, Ifsc, IfscStatus};
use kosh_core::dmt::MAX_RECIPIENTS_PER_CUSTOMER;
use kosh_core::ids::{PartnerId, RecipientId};
use kosh_core::validate::{self, Mobile, PersonName};
use kosh_store::commands::dmt::{AddRecipient, DmtRejection, RemoveRecipient};
use kosh_store::ops::dmt_customers::Customer;
use kosh_store::ops::dmt_recipients::{NewRecipient, Recipient};
use serde_json::{json, Value};

/// The only `recipient_type` the platform documents (a bank account).
const RECIPIENT_TYPE: i64 = 3;

/// A recipient as the platform lists it (the fields of its recipient-list sample).
pub fn recipient_json(r: &Recipient) -> Value {
    let bank = banks::find(&r.bank_code);
    let channels = bank.map_or(0, |b| b.channels as i64);
    json!({
        "recipient_id": r.recipient_id,
        "beneficiary_id": r.recipient_id,
        "recipient_id_type": r.id_type,
        "recipient_name": r.recipient_name,
        "recipient_mobile": r.recipient_mobile,
        "recipient_type": r.recipient_type,
        "account": AccountNumber::masked(&r.account),
        "account_type": "Bank Account",
        "ifsc": r.ifsc,
        "bank": bank.map_or(r.bank_code.as_str(), |b| b.name),
        "bank_code": r.bank_code,
        "channel": channels,
        "channel_absolute": channels,
        "available_channel": channels,
        "allowed_channel": channels,
        "ifsc_status": bank.map_or(2, |b| b.ifsc_status as i64),
        "is_verified": 0,
        "is_imps_scheduled": 0,
        "imps_inactive_reason": "",
        "is_otp_required": "0",
        "is_self_account": "0",
        "is_rblbc_recipient": 0,
        "pipes": { PIPE.to_string(): { "pipe": PIPE, "status": 1 } },
    })
}

/// `GET /customers/mobile_number:{m}/recipients`.
pub async fn list(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&segment)?;
    let partner_id = auth.partner.id;
    gate(&app, &auth, &params).await?;
    let customer = require_customer(&app, partner_id, &mobile).await?;
    let list: Vec<Value> =
        app.store.dmt_recipients(partner_id, mobile.as_str()).await.map_err(store_error)?.iter().map(recipient_json).collect();
    let remaining = available_limit_paise(&customer, app.now_ms());
    // pan_required 2 is the platform's value for a customer who needs no PAN (Kosh never asks for one).
    let data = json!({ "customer_id": mobile.as_str(), "recipient_list": list, "pan_required": 2,
                       "remaining_limit_before_pan_required": rupees_number(remaining), "is_insured": "" });
    Ok(if list.is_empty() {
        EkoReply::ok(rt::NO_RECIPIENTS, "No recipients found", data)
            .with_hint("add one with PUT /customers/mobile_number:{m}/recipients/acc_ifsc:{account}_{ifsc}")
    } else {
        EkoReply::ok(rt::RECIPIENTS, "Recipients found", data)
    })
}

async fn gate(app: &AppState, auth: &Authenticated, params: &EkoParams) -> Result<(), EkoReply> {
    check_initiator(params, auth)?;
    let user_code = required_user_code(params)?;
    require_dmt_agent(app, auth.partner.id, user_code).await
}

async fn require_customer(app: &AppState, partner_id: PartnerId, mobile: &Mobile) -> Result<Customer, EkoReply> {
    match app.store.dmt_customer(partner_id, mobile.as_str()).await.map_err(store_error)? {
        Some(customer) => Ok(customer),
        None => Err(refusal(kosh_store::error::Rejection::Dmt(DmtRejection::CustomerNotFound).into())),
    }
}

/// `GET /customers/mobile_number:{m}/recipients/recipient_id:{id}`.
pub async fn get(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path((customer, recipient)): Path<(String, String)>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&customer)?;
    let recipient_id = recipient_id_path(&recipient)?;
    gate(&app, &auth, &params).await?;
    require_customer(&app, auth.partner.id, &mobile).await?;
    let refused = |r: DmtRejection| refusal(kosh_store::error::Rejection::Dmt(r).into());
    match app.store.dmt_recipient(auth.partner.id, recipient_id).await.map_err(store_error)? {
        Some(r) if r.customer_mobile == mobile.as_str() => {
            Ok(EkoReply::ok(rt::RECIPIENTS, "Recipient found", recipient_json(&r)))
        }
        Some(_) => Err(refused(DmtRejection::RecipientOfAnotherCustomer)),
        None => Err(refused(DmtRejection::RecipientNotFound)),
    }
}

fn recipient_id_path(segment: &str) -> Result<RecipientId, EkoReply> {
    parse_id(colon_id(segment, "recipient_id")?).map_err(|m| EkoReply::invalid(vec![("recipient_id".into(), m.into())]))
}

/// `DELETE /customers/mobile_number:{m}/recipients/recipient_id:{id}`: user_code*.
pub async fn remove(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path((customer, recipient)): Path<(String, String)>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&customer)?;
    let recipient_id = recipient_id_path(&recipient)?;
    gate(&app, &auth, &params).await?;
    let cmd = RemoveRecipient { partner_id: auth.partner.id, mobile: mobile.as_str().into(), recipient_id };
    match app.store.execute(cmd).await {
        Ok(recipient_id) => {
            Ok(EkoReply::ok(rt::RECIPIENT_REMOVED, "Recipient removed successfully", json!({ "recipient_id": recipient_id })))
        }
        Err(e) => Err(refusal(e)),
    }
}

/// `PUT /customers/mobile_number:{m}/recipients/acc_ifsc:{account}_{ifsc}` (or
/// `acc_bankcode:{account}_{bank_code}`): user_code*, recipient_name*, recipient_mobile*,
/// recipient_type (3), bank_id.
pub async fn add(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path((customer, recipient)): Path<(String, String)>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&customer)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let name = c.required(&params, "recipient_name", PersonName::parse);
    let recipient_mobile = c.required(&params, "recipient_mobile", Mobile::parse);
    c.optional(&params, "recipient_type", |t| if t.trim() == "3" { Ok(()) } else { Err("must be 3 (bank account)") });
    c.finish()?;
    let (Some(user_code), Some(name), Some(recipient_mobile)) = (user_code, name, recipient_mobile) else {
        unreachable!("the checker fails when a required field is bad")
    };
    let (id_type, account, ifsc, bank) = account_path(&recipient)?;
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    let new = NewRecipient {
        id_type: id_type.into(),
        account: account.as_str().into(),
        ifsc,
        bank_code: bank.code.into(),
        recipient_name: name.as_str().into(),
        recipient_mobile: recipient_mobile.as_str().into(),
        recipient_type: RECIPIENT_TYPE,
    };
    let cmd = AddRecipient {
        partner_id: auth.partner.id,
        mobile: mobile.as_str().into(),
        recipient: new,
        max_recipients: MAX_RECIPIENTS_PER_CUSTOMER,
    };
    match app.store.execute(cmd).await {
        Ok(r) => {
            let mut data = recipient_json(&r);
            data["customer_id"] = json!(mobile.as_str());
            data["initiator_id"] = json!(auth.partner.initiator_id);
            Ok(EkoReply::ok_transaction(rt::RECIPIENT_ADDED, "Recipient added successfully", data))
        }
        Err(e) => Err(refusal(e)),
    }
}

/// Reads `acc_ifsc:{account}_{ifsc}` or `acc_bankcode:{account}_{code}`: the id type,
/// the account, the IFSC (the bank's universal IFSC for `acc_bankcode`) and the bank.
fn account_path(segment: &str) -> Result<(&'static str, AccountNumber, String, &'static Bank), EkoReply> {
    let shape = || {
        EkoReply::failure(code::INVALID_ACCOUNT, code::INVALID_ACCOUNT, "Invalid recipient id")
            .with_hint("the last path segment must be acc_ifsc:{account}_{ifsc} or acc_bankcode:{account}_{bank_code}")
    };
    let (id_type, value) = segment.split_once(':').ok_or_else(shape)?;
    let (account, rest) = value.split_once('_').ok_or_else(shape)?;
    let account = AccountNumber::parse(account).map_err(account_refusal)?;
    match id_type {
        "acc_ifsc" => {
            let ifsc = Ifsc::parse(rest).map_err(|m| {
                EkoReply::failure(code::INVALID_IFSC, code::INVALID_IFSC, "Invalid IFSC").with_hint(format!("the IFSC {m}"))
            })?;
            let bank = banks::by_ifsc(&ifsc).ok_or_else(|| bank_not_found(&ifsc.as_str()[..4]))?;
            Ok(("acc_ifsc", account, ifsc.as_str().to_owned(), bank))
        }
        "acc_bankcode" => {
            let bank = banks::find(rest).ok_or_else(|| bank_not_found(rest))?;
            if bank.ifsc_status == IfscStatus::Required {
                return Err(EkoReply::failure(code::IFSC_REQUIRED, code::IFSC_REQUIRED, "IFSC is required for this bank")
                    .with_hint(format!(
                        "{} needs the branch IFSC: add the recipient with acc_ifsc:{{account}}_{{ifsc}}",
                        bank.name
                    )));
            }
            Ok(("acc_bankcode", account, bank.universal_ifsc(), bank))
        }
        _ => Err(shape()),
    }
}

fn account_refusal(e: AccountError) -> EkoReply {
    let code = match e {
        AccountError::NotDigits => code::INVALID_ACCOUNT,
        AccountError::Length => code::ACCOUNT_LENGTH,
    };
    EkoReply::failure(code, code, "Invalid account number").with_hint(format!("the account number {}", e.message()))
}

fn bank_not_found(code_or_prefix: &str) -> EkoReply {
    EkoReply::failure(code::BANK_NOT_FOUND, rt::BANK_INVALID, "Bank not found")
        .with_hint(format!("no bank has the code {code_or_prefix:?}; GET /banks lists the banks and their codes"))
}
