//! Payouts (service 45, "fund transfer") and UPI payments: `POST
//! /user/payment/fund-transfer` (v3), `POST /agent/user_code:{uc}/settlement` with
//! `service_code=45` (v1/v2, form or JSON), `POST /customer/payment/upi` and
//! `/customer/payment/upi-mobile` (v3). Every one is recorded (its e-value reserved)
//! by the payout service before the rail is asked; the final state reaches the partner
//! by the common status callback and by inquiry ([`inquiry_reply`]).
//!
//! | outcome | status | response_status_id | response_type_id | data.tx_status |
//! |---|---|---|---|---|
//! | IMPS / RTGS settled | 0 | 0 | 1329 | 0 |
//! | NEFT waiting for its batch | 0 | 2 | 1329 | 2 |
//! | on hold: the bank did not answer | 0 | 5 | 1329 | 5 |
//! | failed after the bank took it: refunded to the wallet | 0 | 4 | 1329 | 4 |
//! | declined by the bank at once (nothing debited) | 55 | 1 | 1329 | 1 |
//! | the bank is down (nothing debited) | 544 | 1 | 1329 | 1 |
//! | UPI payment (any state but failed) | 0 | 2, or 0 when settled | 1982 | as above |
//! | payment_mode not 4/5/13, bad amount / IFSC / account / VPA | 1 (97 if missing) | 1 | -1 (`invalid_params`) | — |
//! | RTGS outside 07:00–18:00 IST | 1 | 1 | -1 | — |
//! | service 45 not active for the agent / unknown agent | 346 / 463 | 1 | -1 | — |
//! | insufficient e-value | 347 | 1 | 347 | — |
//! | the same `client_ref_id` again (also concurrently) | the order as it stands: one order, one debit | | | |
//! | `client_ref_id` reused with other fields | 1 | 1 | -1 | — |

use crate::eko::auth::Authenticated;
use crate::eko::envelope::{rsid, status, EkoReply, EkoResult};
use crate::eko::params::{Checker, EkoParams};
use crate::eko::user::store_error;
use crate::eko::{colon_id, dmt};
use crate::service::payouts::{self as service, PayoutError, BANK_DOWN_PREFIX};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::banks::{AccountNumber, Ifsc};
use kosh_core::dmt::TxStatus;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::money::Paise;
use kosh_core::payouts::{self as rules, PaymentMode, PayoutRejection, PAYOUT_SERVICE_CODE};
use kosh_core::validate::{self, ClientRefId, Text};
use kosh_store::commands::payouts::{NewPayout, PayoutView};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::payouts::PayoutOrder;
use serde_json::{json, Value};

/// `response_type_id` of a fund transfer's answer.
pub const RT_FUND_TRANSFER: i64 = 1329;
/// `response_type_id` of a UPI payment's answer.
pub const RT_UPI: i64 = 1982;
/// `response_type_id` of an inquiry's answer.
pub const RT_INQUIRY: i64 = 1472;
/// Longest name, tag or sender name accepted, in characters.
const MAX_NAME_CHARS: usize = 100;

/// `POST /user/payment/fund-transfer` (v3): client_ref_id*, service_code=45*,
/// payment_mode*, recipient_name*, account*, ifsc*, amount*, sender_name*, user_code,
/// tag, latlong, beneficiary_account_type.
pub async fn fund_transfer(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.optional(&params, "user_code", validate::parse_user_code);
    let request = transfer_request(&app, &auth, &params, c, user_code.unwrap_or(UserCode::new(0)))?;
    pay(&app, request, RT_FUND_TRANSFER).await
}

/// `POST /agent/user_code:{uc}/settlement` (v1/v2): service_code 45 is a payout, the
/// same fields as the v3 fund transfer with the agent in the path; service_code 39 an
/// AePS fund settlement ([`crate::eko::settlement`]).
pub async fn settlement(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let user_code = validate::parse_user_code(colon_id(&segment, "user_code")?)
        .map_err(|m| EkoReply::invalid(vec![("user_code".into(), m.into())]))?;
    let c = crate::eko::checker(&params, &auth)?;
    if params.get("service_code").map(str::trim) == Some("39") {
        return crate::eko::settlement::settle(&app, &auth, &params, c, user_code).await;
    }
    let request = transfer_request(&app, &auth, &params, c, user_code)?;
    pay(&app, request, RT_FUND_TRANSFER).await
}

/// `POST /customer/payment/upi` and `/customer/payment/upi-mobile` (v3): user_code*,
/// customer_vpa* (a VPA, or on `upi-mobile` a mobile number linked to one),
/// recipient_name*, amount*, client_ref_id*, latlong*.
pub async fn upi(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    upi_payment(&app, &auth, &params, rules::parse_vpa).await
}

/// `POST /customer/payment/upi-mobile`: the VPA is the mobile number's, `{mobile}@upi`.
pub async fn upi_mobile(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    upi_payment(&app, &auth, &params, |t| validate::Mobile::parse(t).map(|m| format!("{}@upi", m.as_str()))).await
}

async fn upi_payment(
    app: &AppState,
    auth: &Authenticated,
    params: &EkoParams,
    vpa: impl FnOnce(&str) -> Result<String, &'static str>,
) -> EkoResult {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let vpa = c.required(params, "customer_vpa", vpa);
    let name = c.required(params, "recipient_name", |t| Text::parse(t, MAX_NAME_CHARS));
    let amount = c.required(params, "amount", |t| parse_amount(t, PaymentMode::Upi));
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    c.required(params, "latlong", validate::parse_latlong);
    c.finish()?;
    let (Some(user_code), Some(vpa), Some(name), Some(amount), Some(client_ref_id)) =
        (user_code, vpa, name, amount, client_ref_id)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    let request = NewPayout {
        partner_id: auth.partner.id,
        user_code,
        service_code: PAYOUT_SERVICE_CODE,
        client_ref_id: client_ref_id.as_str().into(),
        mode: PaymentMode::Upi,
        amount_paise: amount,
        recipient_name: name.as_str().into(),
        account: vpa,
        ifsc: String::new(),
        sender_name: String::new(),
        tag: String::new(),
        account_type: None,
        settlement: None,
        pricing: app.config.payout_pricing.clone(),
        recovery_ms: recovery_ms(app),
    };
    pay(app, request, RT_UPI).await
}

fn recovery_ms(app: &AppState) -> i64 {
    i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000
}

/// Checks every field of a bank payout and builds the request.
fn transfer_request(
    app: &AppState,
    auth: &Authenticated,
    params: &EkoParams,
    mut c: Checker,
    user_code: UserCode,
) -> Result<NewPayout, EkoReply> {
    c.required(params, "service_code", |t| if t.trim() == "45" { Ok(()) } else { Err("must be 45 (payouts)") });
    let mode = c.required(params, "payment_mode", PaymentMode::parse);
    let name = c.required(params, "recipient_name", |t| Text::parse(t, MAX_NAME_CHARS));
    let account = c.required(params, "account", |t| AccountNumber::parse(t).map_err(|e| e.message()));
    let ifsc = c.required(params, "ifsc", Ifsc::parse);
    let amount = match mode {
        Some(mode) => c.required(params, "amount", |t| parse_amount(t, mode)),
        None => c.required(params, "amount", |t| parse_amount(t, PaymentMode::Neft)),
    };
    let sender = c.required(params, "sender_name", |t| Text::parse(t, MAX_NAME_CHARS));
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    let tag = c.optional(params, "tag", |t| Text::parse(t, MAX_NAME_CHARS));
    c.optional(params, "latlong", validate::parse_latlong);
    let account_type = c.optional(params, "beneficiary_account_type", |t| match t.trim() {
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err("must be 1 (savings) or 2 (current)"),
    });
    c.finish()?;
    let (Some(mode), Some(name), Some(account), Some(ifsc), Some(amount), Some(sender), Some(client_ref_id)) =
        (mode, name, account, ifsc, amount, sender, client_ref_id)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    Ok(NewPayout {
        partner_id: auth.partner.id,
        user_code,
        service_code: PAYOUT_SERVICE_CODE,
        client_ref_id: client_ref_id.as_str().into(),
        mode,
        amount_paise: amount,
        recipient_name: name.as_str().into(),
        account: account.as_str().into(),
        ifsc: ifsc.as_str().into(),
        sender_name: sender.as_str().into(),
        tag: tag.map(|t| t.as_str().to_owned()).unwrap_or_default(),
        account_type,
        settlement: None,
        pricing: app.config.payout_pricing.clone(),
        recovery_ms: recovery_ms(app),
    })
}

/// An amount in rupees with at most two decimals, within the mode's bounds.
fn parse_amount(text: &str, mode: PaymentMode) -> Result<Paise, &'static str> {
    let amount = Paise::parse_rupees(text).map_err(|e| match e {
        kosh_core::money::MoneyError::TooManyDecimals => "must have at most 2 decimal places",
        kosh_core::money::MoneyError::Negative => "must not be negative",
        _ => "must be an amount in rupees like 100 or 100.50",
    })?;
    match rules::check_amount(mode, amount) {
        Ok(()) => Ok(amount),
        Err(_) if amount.get() < rules::MIN_PAISE => Err("must be at least 1.00"),
        Err(_) if mode == PaymentMode::Rtgs && amount.get() < rules::RTGS_MIN_PAISE => {
            Err("RTGS (payment_mode 13) carries 200000.00 or more; use NEFT (4) or IMPS (5) below it")
        }
        Err(_) => Err("is above the most this payment_mode carries (IMPS 500000.00, UPI 100000.00, NEFT/RTGS 1000000.00)"),
    }
}

async fn pay(app: &AppState, request: NewPayout, rt: i64) -> EkoResult {
    let view = service::initiate(app, request).await.map_err(|e| match e {
        PayoutError::NoRail => {
            EkoReply::failure(dmt::code::BANK_DOWN, dmt::code::BANK_DOWN, "Bank is down; please try again later")
                .with_hint(service::NO_RAIL)
        }
        PayoutError::Refused(e) => refusal(e),
        PayoutError::Store(e) => store_error(e),
    })?;
    Ok(payout_reply(&view, rt))
}

/// Settles through the payout service; the answer is a payout's, rt 1477.
pub async fn pay_settlement(app: &AppState, request: NewPayout) -> EkoResult {
    pay(app, request, crate::eko::settlement::rt::SETTLEMENT).await
}

/// The answer for a payout refused before anything was reserved.
pub fn refusal(e: CommandError) -> EkoReply {
    match e.rejection() {
        Some(Rejection::Payout(PayoutRejection::AboveRemainingLimit { remaining_paise })) => {
            let remaining = Paise::new(*remaining_paise).map_or_else(String::new, Paise::to_rupees_string);
            EkoReply::invalid(vec![("amount".into(), format!("is above the remaining_limit ({remaining})"))])
        }
        Some(Rejection::Payout(PayoutRejection::UnknownSettlementAccount)) => {
            EkoReply::failure(status::FAILED, -1, "Settlement account not registered")
                .with_hint("add the account with the settlement account API first; list them with …/settlementaccounts")
        }
        Some(Rejection::Payout(PayoutRejection::Amount(why))) => EkoReply::invalid(vec![("amount".into(), why.clone())]),
        Some(Rejection::Payout(r @ PayoutRejection::RtgsClosed)) => {
            EkoReply::failure(status::FAILED, -1, "RTGS is not available now").with_hint(r.to_string())
        }
        Some(Rejection::Payout(PayoutRejection::DuplicateReference)) => {
            EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id")
                .with_hint("this client_ref_id was already used for another transaction; send a new one")
        }
        Some(Rejection::ServiceNotActive) => EkoReply::failure(status::AGENT_NOT_ALLOWED, -1, "Agent not allowed").with_hint(
            "activate the service (45 payouts, 39 AePS fund settlement) for this user_code with PUT /user/service/activate first",
        ),
        _ => dmt::refusal(e),
    }
}

/// The answer for a payout as it stands, with the envelope its status calls for.
pub fn payout_reply(view: &PayoutView, rt: i64) -> EkoReply {
    let o = &view.order;
    let data = payout_data(o, view.balance_paise);
    let ok = |rsid: i64, message: String| {
        let mut reply = EkoReply::ok_transaction(rt, message, data.clone());
        reply.response_status_id = rsid;
        reply
    };
    let initiated = match rt {
        RT_UPI => "VPA Payment Initiated",
        // Not yet handed to the bank: queued for the window.
        _ if o.service_code == kosh_core::settlement::SETTLEMENT_SERVICE_CODE && !o.answered => {
            "Settlement queued for the next settlement window (Mon–Fri 10:00–17:00 IST)"
        }
        _ => "Transaction initiated successfully",
    };
    match o.tx_status {
        TxStatus::Success => ok(rsid::OK_TRANSACTIONAL, "Transaction successful".into()),
        TxStatus::Initiated | TxStatus::RefundPending => ok(rsid::INITIATED, initiated.into()),
        TxStatus::Hold => {
            ok(rsid::ON_HOLD, format!("{initiated}; the bank has not answered yet: ask inquiry for the final status"))
                .with_hint(format!("GET /ekoapi/v1/transactions/{} answers the final status", o.tid))
        }
        TxStatus::Refunded => ok(rsid::REFUNDED, format!("Transaction failed and refunded: {}", o.reason)),
        TxStatus::Fail if o.reason.starts_with(BANK_DOWN_PREFIX) => {
            EkoReply::failure(dmt::code::BANK_DOWN, rt, "Bank is down; please try again later").with_data(data)
        }
        TxStatus::Fail => EkoReply::failure(dmt::code::DECLINED, rt, format!("Transaction failed: {}", o.reason)).with_data(data),
    }
}

/// The payout's `data`, with the vendor's field names.
fn payout_data(o: &PayoutOrder, balance_paise: i64) -> Value {
    let rupees = |p: i64| Paise::new(p).map_or_else(|| "0.00".to_owned(), Paise::to_rupees_string);
    let mut data = json!({
        "tid": o.tid.to_string(),
        "client_ref_id": o.client_ref_id,
        "tx_status": o.tx_status.code().to_string(),
        "txstatus_desc": o.tx_status.desc(),
        "amount": rupees(o.amount_paise),
        "fee": rupees(o.fee_paise),
        "gst": rupees(o.gst_paise),
        "totalfee": rupees(o.fee_paise),
        "balance": rupees(balance_paise.max(0)),
        "bank_ref_num": o.bank_ref_num,
        "recipient_name": o.recipient_name,
        "reason": o.reason,
        "timestamp": kosh_core::civil::ist_datetime(o.created_at_ms),
    });
    if o.mode == PaymentMode::Upi {
        data["customer_vpa"] = json!(o.account);
    } else {
        data["account"] = json!(o.account);
        data["ifsc"] = json!(o.ifsc);
        data["payment_mode"] = json!(o.mode.code());
        data["sender_name"] = json!(o.sender_name);
    }
    if o.user_code.get() != 0 {
        data["user_code"] = json!(o.user_code.to_string());
    }
    if let Some(recipient_id) = o.recipient_id {
        data["recipient_id"] = json!(recipient_id);
    }
    data
}

/// The inquiry answer for a payout or UPI payment named by tid, `client_ref_id:REF` or
/// a plain client_ref_id; `None` when no payout of the partner matches (so a generic
/// inquiry can ask other products). One awaiting the bank whose time has come is asked
/// about first.
pub async fn inquiry_reply(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let found = match reference.strip_prefix("client_ref_id:") {
        Some(r) => app.store.payout_by_client_ref(partner_id, r).await,
        None => match reference.parse::<i64>() {
            Ok(tid) => app.store.payout(partner_id, tid).await,
            Err(_) => app.store.payout_by_client_ref(partner_id, reference).await,
        },
    };
    let Some(order) = found.map_err(store_error)? else { return Ok(None) };
    let view = service::inquire(app, order).await.map_err(store_error)?;
    let o = &view.order;
    let mut reply =
        EkoReply::ok(RT_INQUIRY, format!("Transaction status: {}", o.tx_status.desc()), payout_data(o, view.balance_paise));
    reply.response_status_id = dmt::transaction_rsid(o.tx_status);
    Ok(Some(reply))
}
