//! AePS fund settlement (service 39): an agent's bank accounts and the settlement of
//! its AePS takings to one of them, through the payout service.
//!
//! | request | answer |
//! |---|---|
//! | add an account (v1 `PUT /agent/user_code:{uc}/settlementaccount`, v3 `POST /user/payment/aeps/settlement/account`) | rt 1336, `data.recipient_id`; 1335 "already registered" with its recipient_id |
//! | list (v1 `GET …/settlementaccounts`, v3 `GET /user/payment/aeps/settlement/accounts`) | rt 1321, rsid -1, `unsettled_fund`, `remaining_limit`, `fund_transfer_list` |
//! | settle (v1 `POST …/settlement` with service_code 39, v3 `POST /user/payment/aeps/settlement`) | rt 1477, `tx_status` as a payout; queued (2) outside Mon–Fri 10:00–17:00 IST or on a holiday |
//! | a bank decline | refunded automatically: `tx_status` 4 |
//! | above `remaining_limit` / unregistered account / service 39 off | 1 (`invalid_params` amount) / 1 / 346 |
//!
//! Settleable (`unsettled_fund`) is the agent's successful AePS cash withdrawals of the
//! last 7 days less its settlements in them; `remaining_limit` is that, at most
//! ₹2,00,000. Charges: ₹5 up to ₹25,000, ₹10 above, plus GST.

use crate::eko::auth::Authenticated;
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::multipart;
use crate::eko::params::{Checker, EkoParams};
use crate::eko::payouts::{pay_settlement, refusal};
use crate::eko::user::store_error;
use crate::eko::{check_initiator, colon_id};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::Extension;
use kosh_core::banks::{AccountNumber, Ifsc};
use kosh_core::ids::UserCode;
use kosh_core::money::Paise;
use kosh_core::payouts::PaymentMode;
use kosh_core::settlement::{self, SETTLEMENT_SERVICE_CODE};
use kosh_core::validate::{self, ClientRefId, Text};
use kosh_store::commands::payouts::{AddSettlementAccount, NewPayout, SettlementOrder};
use kosh_store::ops::payouts::SettlementAccount;
use serde_json::json;

/// `response_type_id`s of settlement answers.
pub mod rt {
    pub const ACCOUNT_ADDED: i64 = 1336;
    pub const ACCOUNT_EXISTS: i64 = 1335;
    pub const ACCOUNTS: i64 = 1321;
    pub const SETTLEMENT: i64 = 1477;
}

fn path_user_code(segment: &str) -> Result<UserCode, EkoReply> {
    validate::parse_user_code(colon_id(segment, "user_code")?)
        .map_err(|m| EkoReply::invalid(vec![("user_code".into(), m.into())]))
}

fn service_39(c: &mut Checker, params: &EkoParams) {
    c.required(params, "service_code", |t| if t.trim() == "39" { Ok(()) } else { Err("must be 39 (AePS fund settlement)") });
}

/// `PUT /agent/user_code:{uc}/settlementaccount` (v1): bank_id*, ifsc*, account*,
/// name*, service_code=39*, and the bank statement (`doc_type` 8): as
/// `multipart/form-data` with the statement as a file part (its name and size are
/// recorded, not its bytes), or as form or JSON fields with `file_name`.
pub async fn add_account_v1(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    request: Request,
) -> EkoResult {
    let user_code = path_user_code(&segment)?;
    let params = v1_params(request, &app).await?;
    let c = crate::eko::checker(&params, &auth)?;
    add_account(&app, &auth, &params, c, user_code).await
}

/// The parameters of a v1 account request: a multipart body's parts, or as usual.
async fn v1_params(request: Request, app: &AppState) -> Result<EkoParams, EkoReply> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let Some(boundary) = multipart::boundary(&content_type) else { return EkoParams::from_request(request, app).await };
    let query = request.uri().query().unwrap_or("").to_owned();
    let bytes = Bytes::from_request(request, app)
        .await
        .map_err(|e| EkoReply::http_error(e.status(), format!("cannot read the request body: {}", e.body_text())))?;
    let bad = |m: &str| EkoReply::http_error(StatusCode::BAD_REQUEST, format!("the multipart body is malformed: {m}"));
    let mut pairs = Vec::new();
    for part in multipart::parse(&bytes, &boundary).map_err(bad)? {
        match part.filename {
            Some(file) => pairs.push(("file_name".to_owned(), format!("{file} ({} bytes)", part.body.len()))),
            None => pairs.push((part.name, String::from_utf8(part.body.to_vec()).map_err(|_| bad("a text part is not UTF-8"))?)),
        }
    }
    EkoParams::from_query_and_pairs(&query, pairs)
}

/// `POST /user/payment/aeps/settlement/account` (v3): user_code*, bank_id*, ifsc*,
/// account*, service_code=39*, name.
pub async fn add_account_v3(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    add_account(&app, &auth, &params, c, user_code.unwrap_or(UserCode::new(0))).await
}

async fn add_account(app: &AppState, auth: &Authenticated, params: &EkoParams, mut c: Checker, user_code: UserCode) -> EkoResult {
    service_39(&mut c, params);
    let bank_id = c.required(params, "bank_id", |t| Text::parse(t, 32));
    let ifsc = c.required(params, "ifsc", Ifsc::parse);
    let account = c.required(params, "account", |t| AccountNumber::parse(t).map_err(|e| e.message()));
    let name = c.optional(params, "name", |t| Text::parse(t, 100));
    c.optional(params, "doc_type", |t| if t.trim() == "8" { Ok(()) } else { Err("must be 8 (bank statement)") });
    let document = c.optional(params, "file_name", |t| Text::parse(t, 200));
    c.finish()?;
    let (Some(bank_id), Some(ifsc), Some(account)) = (bank_id, ifsc, account) else {
        unreachable!("the checker fails when a required field is bad")
    };
    let new = SettlementAccount {
        recipient_id: 0,
        partner_id: auth.partner.id,
        user_code,
        bank_id: bank_id.as_str().into(),
        account: account.as_str().into(),
        ifsc: ifsc.as_str().into(),
        name: name.map(|n| n.as_str().to_owned()).unwrap_or_default(),
        document: document.map(|d| d.as_str().to_owned()).unwrap_or_default(),
        created_at_ms: 0,
    };
    match app.store.execute(AddSettlementAccount { account: new }).await {
        Ok(added) => {
            Ok(EkoReply::ok(rt::ACCOUNT_ADDED, "Settlement account added", json!({ "recipient_id": added.recipient_id })))
        }
        Err(e) => match e.rejection() {
            Some(kosh_store::error::Rejection::Payout(kosh_core::payouts::PayoutRejection::AccountExists { recipient_id })) => {
                Err(EkoReply::failure(status::FAILED, rt::ACCOUNT_EXISTS, "Settlement account already registered")
                    .with_data(json!({ "recipient_id": recipient_id })))
            }
            _ => Err(refusal(e)),
        },
    }
}

/// `GET /agent/user_code:{uc}/settlementaccounts` (v1): service_code=39.
pub async fn accounts_v1(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    check_initiator(&params, &auth)?;
    accounts(&app, &auth, path_user_code(&segment)?).await
}

/// `GET /user/payment/aeps/settlement/accounts` (v3): user_code*.
pub async fn accounts_v3(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    c.finish()?;
    accounts(&app, &auth, user_code.unwrap_or(UserCode::new(0))).await
}

async fn accounts(app: &AppState, auth: &Authenticated, user_code: UserCode) -> EkoResult {
    let partner_id = auth.partner.id;
    let since = app.now_ms() - settlement::SETTLEABLE_WINDOW_MS;
    let (business, settled) = app.store.settlement_totals(partner_id, user_code, since).await.map_err(store_error)?;
    let (unsettled, remaining) = settlement::remaining_limit(business, settled);
    let list = app.store.settlement_accounts(partner_id, user_code).await.map_err(store_error)?;
    let rupees = |p: i64| Paise::new(p).map_or_else(|| "0.00".to_owned(), Paise::to_rupees_string);
    let list: Vec<_> = list
        .iter()
        .map(|a| json!({ "name": a.name, "ifsc": a.ifsc, "account": a.account, "recipient_id": a.recipient_id, "bank_id": a.bank_id }))
        .collect();
    let data = json!({ "unsettled_fund": rupees(unsettled), "remaining_limit": rupees(remaining), "fund_transfer_list": list });
    Ok(EkoReply::ok(rt::ACCOUNTS, "Settlement accounts", data))
}

/// `POST /user/payment/aeps/settlement` (v3): user_code*, amount*, recipient_id*,
/// payment_mode* (4 NEFT, 5 IMPS), client_ref_id*.
pub async fn settle_v3(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    settle(&app, &auth, &params, c, user_code.unwrap_or(UserCode::new(0))).await
}

/// The v1 settlement (service_code 39) of `POST /agent/user_code:{uc}/settlement`.
pub async fn settle(app: &AppState, auth: &Authenticated, params: &EkoParams, mut c: Checker, user_code: UserCode) -> EkoResult {
    let amount = c.required(params, "amount", |t| {
        let amount = Paise::parse_rupees(t).map_err(|_| "must be an amount in rupees with at most 2 decimals")?;
        if amount.is_zero() {
            return Err("must be more than 0");
        }
        if amount.get() > settlement::CAP_PAISE {
            return Err("must be at most 200000.00 per settlement");
        }
        Ok(amount)
    });
    let recipient_id = c.required(params, "recipient_id", |t| t.trim().parse::<i64>().map_err(|_| "must be a recipient_id"));
    let mode = c.required(params, "payment_mode", |t| match PaymentMode::parse(t) {
        Ok(m @ (PaymentMode::Neft | PaymentMode::Imps)) => Ok(m),
        _ => Err("must be 4 (NEFT) or 5 (IMPS)"),
    });
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    c.finish()?;
    let (Some(amount), Some(recipient_id), Some(mode), Some(client_ref_id)) = (amount, recipient_id, mode, client_ref_id) else {
        unreachable!("the checker fails when a required field is bad")
    };
    let holidays = app.config.holidays().map_err(store_error)?;
    let request = NewPayout {
        partner_id: auth.partner.id,
        user_code,
        service_code: SETTLEMENT_SERVICE_CODE,
        client_ref_id: client_ref_id.as_str().into(),
        mode,
        amount_paise: amount,
        recipient_name: String::new(),
        account: String::new(),
        ifsc: String::new(),
        sender_name: String::new(),
        tag: String::new(),
        account_type: None,
        settlement: Some(SettlementOrder { recipient_id, submit_at_ms: settlement::submit_at(app.now_ms(), &holidays) }),
        pricing: settlement::pricing(),
        recovery_ms: i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000,
    };
    pay_settlement(app, request).await
}
