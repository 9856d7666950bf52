//! AePS transactions: `POST /ekoapi/v2/aeps` (cash withdrawal, balance enquiry, mini
//! statement) and their inquiry.
//!
//! | outcome | status | response_status_id | response_type_id | data.tx_status |
//! |---|---|---|---|---|
//! | cash withdrawal done | 0 | 0 | 1463 | "0" |
//! | declined by the bank | 55 | 1 | 1464 (CW), 1467 (BE, Kosh's choice), 1528 (MS) | "1" |
//! | bank answer awaited | 0 | 2 | 1465 | "2": ask inquiry |
//! | balance enquiry done | 0 | 0 | 1466 | "0" |
//! | mini statement done | 0 | 0 | 1527 | "0"; data.mini_statement_list |
//! | inquiry | 0 | -1 | 1472 | the current tx_status |
//!
//! Outside sandbox mode every transaction is refused: "No AePS bank connector is
//! configured on this server" (the only bank is the sandbox simulator).
//!
//! A withdrawal credits the partner's e-value with the amount the agent paid out plus
//! commission less TDS, in one balanced ledger entry (pending while awaited). The same
//! `client_ref_id` again answers the transaction as it stands; with a different
//! request it is refused.

use super::ekyc::pid_param;
use super::{aadhaar_ref, parse_aadhaar, refusal, require_aeps_service, require_bank_connector};
use crate::eko::auth::{accept_request_hash, Authenticated};
use crate::eko::envelope::{rsid, status, EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::service::aeps::{self as service, TransactError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Extension;
use kosh_core::aeps::{self, sandbox, TxStatus, TxType};
use kosh_core::civil;
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::ledger::Balance;
use kosh_core::money::Paise;
use kosh_core::validate::{self, ClientRefId, Mobile};
use kosh_store::commands::aeps::{NewTransaction, Transacted};
use kosh_store::commands::IdemKey;
use kosh_store::ops::aeps::AepsTransaction;
use kosh_store::scopes;
use serde_json::{json, Value};

/// `status` of a transaction the bank declined (the catalogue's 55, "Transaction declined").
const DECLINED: i64 = 55;

/// `POST /ekoapi/v2/aeps`: service_type*, user_code*, customer_id*, bank_code*,
/// amount*, client_ref_id*, aadhar*, piddata*, latlong*; `request_hash` = timestamp +
/// aadhar (12 digits) + amount (as sent) + user_code. Under `replay_protection` the
/// request_hash is recorded with the transaction: it authorises this one request.
pub async fn transact(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    params: EkoParams,
) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let tx_type = c.required(&params, "service_type", TxType::parse);
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let customer = c.required(&params, "customer_id", Mobile::parse);
    let bank =
        c.required(&params, "bank_code", |t| aeps::bank(t).ok_or("is not a bank Kosh knows (short code such as SBIN, or IIN)"));
    let amount =
        c.required(&params, "amount", |t| Paise::parse_rupees(t).map_err(|_| "must be an amount in rupees, like 500 or 500.00"));
    let client_ref_id = c.required(&params, "client_ref_id", ClientRefId::parse);
    let aadhaar = c.required(&params, "aadhar", parse_aadhaar);
    pid_param(&mut c, &params);
    c.required(&params, "latlong", validate::parse_latlong);
    if let (Some(tx_type), Some(amount)) = (tx_type, amount) {
        match tx_type {
            TxType::CashWithdrawal => {
                if let Err(why) = aeps::check_withdrawal(amount) {
                    c.fail("amount", &why);
                }
            }
            _ if !amount.is_zero() => c.fail("amount", "must be 0 for a balance enquiry or mini statement"),
            _ => {}
        }
    }
    c.finish()?;
    let (Some(tx_type), Some(user_code), Some(customer), Some(bank), Some(amount), Some(client_ref_id), Some(aadhaar)) =
        (tx_type, user_code, customer, bank, amount, client_ref_id, aadhaar)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    let raw = |name| params.get(name).unwrap_or_default().trim();
    let fields = [aadhaar.digits(), raw("amount"), raw("user_code")];
    let order = "secret-key-timestamp + aadhar (the 12 digits, unencrypted) + amount (as sent) + user_code";
    let request_hash = accept_request_hash(&app, &auth, &headers, &fields, order)?;
    require_bank_connector(&app)?;
    require_aeps_service(&app, &auth, user_code).await?;
    let new = NewTransaction {
        partner_id: auth.partner.id,
        client_ref_id: client_ref_id.as_str().into(),
        channel: "api".into(),
        user_code,
        tx_type,
        amount_paise: amount,
        customer_mobile: customer.as_str().into(),
        bank_code: bank.code.into(),
        aadhaar: aadhaar_ref(&app, &aadhaar)?,
        awaited_ms: awaited_ms(&app),
    };
    let key = IdemKey { partner_id: auth.partner.id, scope: scopes::EKO_CLIENT_REF.into(), key: client_ref_id.as_str().into() };
    let (tx, wallet) = service::transact(&app, key, request_hash, new).await.map_err(|e| match e {
        TransactError::Refused(e) => refusal(e, user_code),
        TransactError::Store(e) => store_error(e),
    })?;
    transaction_reply(&app, &tx, &wallet).await
}

/// The sandbox bank's delay for awaited transactions.
pub fn awaited_ms(app: &AppState) -> i64 {
    i64::try_from(app.config.aeps_awaited_secs).unwrap_or(86_400) * 1000
}

/// `GET /ekoapi/v2/aeps/transactions/{tid | client_ref_id:REF}`: the transaction as it
/// stands; an awaited one whose bank answer is due is settled first.
pub async fn inquiry(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
    params: EkoParams,
) -> EkoResult {
    crate::eko::check_initiator(&params, &auth)?;
    inquiry_reply(&app, auth.partner.id, &reference).await?.ok_or_else(|| {
        EkoReply::failure(168, -1, "TID does not exist")
            .with_hint("no AePS transaction of yours has this tid or client_ref_id (write client_ref_id:REF for a client_ref_id)")
    })
}

/// The inquiry answer for an AePS transaction named by tid, `client_ref_id:REF` or a
/// plain client_ref_id; `None` when no AePS transaction of the partner matches (so a
/// generic inquiry can ask other products).
pub async fn inquiry_reply(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let found = match reference.strip_prefix("client_ref_id:") {
        Some(r) => app.store.aeps_transaction_by_ref(partner_id, r).await,
        None => match reference.parse::<Tid>() {
            Ok(tid) => app.store.aeps_transaction(partner_id, tid).await,
            Err(_) => app.store.aeps_transaction_by_ref(partner_id, reference).await,
        },
    };
    let Some(tx) = found.map_err(store_error)? else { return Ok(None) };
    let Transacted { tx, wallet } = resolve(app, partner_id, tx.tid).await?;
    let mut reply = transaction_reply(app, &tx, &wallet).await?;
    reply.status = status::OK;
    reply.response_status_id = rsid::OK_NON_TRANSACTIONAL;
    reply.response_type_id = 1472;
    reply.message = format!("Transaction inquiry: {}", TxStatus::from_code(tx.tx_status).map_or("Unknown", TxStatus::desc));
    Ok(Some(reply))
}

/// Settles an awaited transaction when its bank answer is due; answers it as it stands.
pub async fn resolve(app: &AppState, partner_id: PartnerId, tid: Tid) -> Result<Transacted, EkoReply> {
    service::resolve(app, partner_id, tid).await.map_err(store_error)
}

/// The answer for a transaction, with the envelope its type and status call for.
pub async fn transaction_reply(app: &AppState, tx: &AepsTransaction, wallet: &Balance) -> EkoResult {
    let agent = app.store.agent(tx.partner_id, tx.user_code).await.map_err(store_error)?;
    let tx_type = TxType::parse(&tx.tx_type.to_string()).unwrap_or(TxType::BalanceEnquiry);
    let status_now = TxStatus::from_code(tx.tx_status).unwrap_or(TxStatus::Awaited);
    let mut data = transaction_data(tx, wallet, agent.as_ref());
    if tx_type == TxType::MiniStatement && status_now == TxStatus::Success {
        let lines = sandbox::mini_statement(tx.customer_balance_paise.map_or(0, Paise::get), tx.created_at_ms);
        let list: Vec<Value> = lines
            .iter()
            .map(|l| json!({ "date": l.date, "txnType": l.txn_type, "amount": Some(l.amount_paise.to_rupees_string()), "narration": l.narration }))
            .collect();
        data["mini_statement_list"] = Value::Array(list);
    }
    let (ok_rt, fail_rt) = match tx_type {
        TxType::CashWithdrawal => (1463, 1464),
        TxType::BalanceEnquiry => (1466, 1467),
        TxType::MiniStatement => (1527, 1528),
    };
    let reply = match status_now {
        TxStatus::Success => EkoReply::ok_transaction(ok_rt, "Transaction successful", data),
        TxStatus::Failed => EkoReply::failure(DECLINED, fail_rt, format!("Transaction failed: {}", tx.reason)).with_data(data),
        TxStatus::Awaited => {
            let mut r =
                EkoReply::ok_transaction(1465, "Transaction response awaited; check its status with transaction inquiry", data);
            r.response_status_id = rsid::INITIATED;
            r.with_hint(format!("GET /ekoapi/v2/aeps/transactions/{} answers the final status", tx.tid))
        }
    };
    Ok(reply)
}

/// The transaction's `data`, with the vendor's field names (numbers as strings).
pub fn transaction_data(tx: &AepsTransaction, wallet: &Balance, agent: Option<&kosh_store::ops::agents::Agent>) -> Value {
    let rupees = |paise: i64| Paise::new(paise).map_or_else(|| "0.0".to_owned(), Paise::to_java_double_string);
    let status_now = TxStatus::from_code(tx.tx_status).unwrap_or(TxStatus::Awaited);
    let local = civil::ist_datetime(tx.created_at_ms);
    let (date, time) = local.split_once(' ').unwrap_or((&local, ""));
    let bank = aeps::bank(&tx.bank_code);
    let merchant = agent.map(|a| {
        [a.first_name.as_str(), a.middle_name.as_str(), a.last_name.as_str()]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let address: Value = agent.and_then(|a| serde_json::from_str(&a.residence_address).ok()).unwrap_or(Value::Null);
    json!({
        "tx_status": tx.tx_status.to_string(),
        "txstatus_desc": status_now.desc(),
        "tid": tx.tid.to_string(),
        "client_ref_id": tx.client_ref_id,
        "type": tx.tx_type.to_string(),
        "amount": rupees(tx.amount_paise.get()),
        "commission": rupees(tx.commission_paise.get()),
        "tds": rupees(tx.tds_paise.get()),
        "fee": "0.0",
        "service_tax": "0.0",
        "totalfee": "0.0",
        "balance": rupees(wallet.available_credit().max(0)),
        "customer_balance": tx.customer_balance_paise.map_or_else(String::new, |p| rupees(p.get())),
        "bank": bank.map_or(tx.bank_code.as_str(), |b| b.name),
        "bank_code": tx.bank_code,
        "bank_ref_num": if status_now == TxStatus::Failed { String::new() } else { sandbox::rrn(tx.tid) },
        "stan": sandbox::stan(tx.tid),
        "auth_code": if status_now == TxStatus::Success { format!("{:06}", (tx.tid.get() * 7_919).rem_euclid(1_000_000)) } else { String::new() },
        "terminal_id": "KOSHSBX1",
        "user_code": tx.user_code.to_string(),
        "merchant_code": tx.user_code.to_string(),
        "merchantname": merchant.unwrap_or_default(),
        "shop": agent.map_or("", |a| a.shop_name.as_str()),
        "shop_address_line1": address["line"].as_str().unwrap_or(""),
        "sender_name": "",
        "customer_id": tx.customer_mobile,
        "aadhar": tx.aadhaar_masked,
        "aadhaar": tx.aadhaar_masked,
        "transaction_date": date,
        "transaction_time": time,
        "timestamp": civil::iso_utc(tx.created_at_ms),
        "reason": tx.reason,
        "comment": "",
    })
}
