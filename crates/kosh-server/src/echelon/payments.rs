//! Payins and payouts: create (201), detail, accounts, external reference and available
//! options, in the spec's shapes.
//!
//! The merchant order id in the path is the idempotency key: the store claims it in the
//! same transaction that creates the payment, so a reuse (also by concurrent duplicates)
//! is 409 with nothing changed, and a request refused with 400 or 406 stores nothing.

use super::error::{ApiError, ApiResult};
use super::input::{self, shortened, Fields, Requested, MAX_TEXT_CHARS};
use super::{base_url, Caller};
use crate::service::echelon_payments::{self as service, CreateError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use kosh_core::civil::iso_utc;
use kosh_core::echelon::{
    self, amount_json, lookup_method, operator_name, Direction, Method, MethodLookup, PayinScenario, Status, INR, METHODS,
};
use kosh_core::money::Paise;
use kosh_store::commands::SetExternalReference;
use kosh_store::ops::echelon::{Merchant, NewPayment, Payment};
use serde_json::{json, Map, Value};

/// The bank of the virtual accounts IMPS payins are paid into.
pub const COLLECT_IFSC: &str = "KOSH0000001";
pub const COLLECT_BANK: &str = "Kosh Sandbox Bank";

type Created = (StatusCode, Json<Value>);

fn order_id_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Payin => "idPayin",
        Direction::Payout => "idPayout",
    }
}

pub async fn create_payin(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Created> {
    input::entity_id("idPayin", &id)?;
    input::check_customer_header(&headers)?;
    let body = input::object(&headers, body)?;
    let f = body.fields();
    let requested = input::requested(&f.req_obj("paymentRequested")?, "SEGMENT_CODE_INVALID")?;
    let (method, method_json) = payin_method(&f.req_obj("paymentMethod")?)?;
    let return_url = input::url(&f, "returnUrl", true)?;
    let callback_url = input::callback_url(&f, app.config.sandbox)?;
    let customer_ip = input::customer_ip(&f)?;
    check_token_money(&caller, requested.amount)?;
    check_limit(method, requested.amount)?;
    let now = app.now_ms();
    let scenario = if app.config.sandbox { PayinScenario::for_amount(requested.amount) } else { PayinScenario::AwaitExpiry };
    let expiry_ms = app.config.echelon_payin_expiry_secs as i64 * 1000;
    let plan = echelon::plan_payin(scenario, now, expiry_ms, app.config.echelon_sandbox_delay_secs as i64 * 1000);
    let new = NewPayment {
        status: plan.status,
        failure_code: plan.failure.map(str::to_owned),
        expire_at_ms: Some(plan.expire_at_ms),
        check_at_ms: plan.check_at_ms,
        scenario: scenario.as_str().into(),
        return_url,
        ..new_payment(&app, &caller.merchant, Direction::Payin, id, &requested, method, method_json, callback_url, customer_ip)
    };
    let payment = create(&app, new).await?;
    let body = json!({
        "paymentRequested": requested_json(&payment),
        "paymentMethodResponse": payin_method_response(&payment, &caller.merchant.name, &base_url(&headers)),
    });
    Ok((StatusCode::CREATED, Json(body)))
}

/// Creates a payout through [`service::create_payout`]: recorded with its amount and
/// fee reserved, then handed to the rail; a bank that is down refuses it with nothing
/// left stored.
pub async fn create_payout(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Created> {
    input::entity_id("idPayout", &id)?;
    input::check_customer_header(&headers)?;
    let body = input::object(&headers, body)?;
    let f = body.fields();
    let requested = input::requested(&f.req_obj("paymentRequested")?, "PAYMENT_CHANNEL_NO_SEGMENT_FOUND")?;
    let (method, method_json) = payout_method(&f.req_obj("paymentMethod")?)?;
    let callback_url = input::callback_url(&f, app.config.sandbox)?;
    let customer_ip = input::customer_ip(&f)?;
    check_token_money(&caller, requested.amount)?;
    check_limit(method, requested.amount)?;
    let new =
        new_payment(&app, &caller.merchant, Direction::Payout, id, &requested, method, method_json, callback_url, customer_ip);
    let (direction, order_id) = (new.direction, new.order_id.clone());
    let payment = service::create_payout(&app, new).await.map_err(|e| create_error(e, direction, &order_id))?;
    let body = json!({ "paymentRequested": requested_json(&payment), "paymentMethodResponse": payout_method_response(&payment) });
    Ok((StatusCode::CREATED, Json(body)))
}

#[allow(clippy::too_many_arguments)]
fn new_payment(
    app: &AppState,
    merchant: &Merchant,
    direction: Direction,
    order_id: String,
    requested: &Requested,
    method: &Method,
    method_json: Value,
    callback_url: Option<String>,
    customer_ip: Option<String>,
) -> NewPayment {
    NewPayment {
        merchant_id: merchant.id,
        partner_id: merchant.partner_id,
        direction,
        order_id,
        id_payment: kosh_core::secret::new_token(20),
        amount_paise: requested.amount,
        // A fee is whole rupees, at most the amount (payins) or ₹5 (payouts): always an amount.
        fee_paise: Paise::new(echelon::fee_paise(method, requested.amount)).expect("a fee is an amount"),
        currency: INR.into(),
        segment_code: requested.segment.clone(),
        exchanged_to: requested.exchanged_to.clone(),
        method_code: method.code.into(),
        rail: method.rail.into(),
        operator_code: method_json["paymentOperatorCode"].as_str().map(str::to_owned),
        method_json: method_json.to_string(),
        callback_url,
        return_url: None,
        customer_ip,
        scenario: String::new(),
        status: Status::Processing,
        failure_code: None,
        is_test: app.config.sandbox,
        expire_at_ms: None,
        check_at_ms: None,
    }
}

async fn create(app: &AppState, new: NewPayment) -> ApiResult<Payment> {
    let (direction, order_id) = (new.direction, new.order_id.clone());
    service::create_payin(app, new).await.map_err(|e| create_error(e, direction, &order_id))
}

fn create_error(e: CreateError, direction: Direction, order_id: &str) -> ApiError {
    match e {
        CreateError::Duplicate => ApiError::conflict(format!(
            "{} {order_id:?} was already used: a merchant order id is accepted once; use a new id",
            order_id_name(direction)
        )),
        CreateError::InsufficientFunds { available_paise } => ApiError::rule(
            "BALANCE_INSUFFICIENT",
            format!("the available balance is {} INR; the payout needs its amount plus the fee", amount_json(available_paise)),
            Some("paymentRequested.money.amount"),
        ),
        CreateError::NoRail => ApiError::rule(
            "PAYMENT_CHANNEL_NO_ACTIVE_FOUND",
            "payouts are not available: this server is not in sandbox mode and has no bank connector configured",
            Some("paymentMethod.paymentMethodCode"),
        ),
        CreateError::RailRefused(why) => {
            ApiError::rule("PAYMENT_OPERATOR_UNAVAILABLE", why, Some("paymentMethod.paymentOperatorCode"))
        }
        CreateError::Store(e) => ApiError::store(e),
    }
}

/// A money-restricted token creates only a payment of exactly its money.
fn check_token_money(caller: &Caller, amount: Paise) -> ApiResult<()> {
    let Some(m) = &caller.money else { return Ok(()) };
    let allowed = m.amount.as_f64().map(|a| (a * 100.0).round() as i64);
    if m.currency_code == INR && allowed == Some(amount.get()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this token only creates a payment of exactly {} {}, not {} INR",
            m.amount,
            m.currency_code,
            amount_json(amount.get())
        )))
    }
}

fn check_limit(method: &Method, amount: Paise) -> ApiResult<()> {
    if amount.get() > method.max_rupees * 100 {
        return Err(ApiError::rule(
            "PAYMENT_CHANNEL_AMOUNT_LIMITS",
            format!("{} accepts 1 to {} INR", method.code, method.max_rupees),
            Some("paymentRequested.money.amount"),
        ));
    }
    Ok(())
}

fn method_of(direction: Direction, f: &Fields) -> ApiResult<&'static Method> {
    let code = f.req_str("paymentMethodCode", MAX_TEXT_CHARS)?;
    let attr = Some("paymentMethod.paymentMethodCode");
    match lookup_method(direction, code) {
        MethodLookup::Offered(m) => Ok(m),
        MethodLookup::NotOffered => {
            let offered: Vec<&str> = METHODS.iter().filter(|m| m.direction == direction).map(|m| m.code).collect();
            Err(ApiError::rule(
                "PAYMENT_METHOD_NOT_FOUND",
                format!("{code} is not offered; Kosh offers {}", offered.join(", ")),
                attr,
            ))
        }
        MethodLookup::Unknown => Err(ApiError::rule(
            "PAYMENT_METHOD_CODE_INVALID",
            format!("{:?} is not a payment method code", shortened(code)),
            attr,
        )),
    }
}

/// `paymentOperatorCode`: shape (400), then known (406 NOT_FOUND) and usable with the
/// method (406 INVALID). Methods that take no operator (`UPIID`, `IMPS`) have no such
/// field in the spec's schema, so there it is an unknown field and ignored.
fn operator(f: &Fields, method: &Method) -> ApiResult<Option<String>> {
    if method.operators.is_empty() {
        return Ok(None);
    }
    let ok = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let Some(code) = f.opt_shaped("paymentOperatorCode", 30, ok, "letters, digits, '_' or '-'")? else {
        if method.operator_required {
            return Err(ApiError::bad_request(format!("{} is required for {}", f.path("paymentOperatorCode"), method.code)));
        }
        return Ok(None);
    };
    let attr = Some("paymentMethod.paymentOperatorCode");
    if operator_name(code).is_none() {
        return Err(ApiError::rule("PAYMENT_OPERATOR_NOT_FOUND", format!("no payment operator {code:?}"), attr));
    }
    if !method.operators.contains(&code) {
        let allowed = method.operators.join(", ");
        return Err(ApiError::rule(
            "PAYMENT_OPERATOR_INVALID",
            format!("{code} cannot be used with {}; use one of: {allowed}", method.code),
            attr,
        ));
    }
    Ok(Some(code.to_owned()))
}

/// `emailAddress` (a string "in RFC 5322 format", no length or pattern in the schema). A
/// malformed one is 406 `EMAIL_INVALID` on payins; the payout answer has no such code,
/// so there it is the 400 of a value the spec's description does not allow.
fn email(f: &Fields, direction: Direction, out: &mut Map<String, Value>) -> ApiResult<()> {
    let Some(e) = f.opt_text("emailAddress", MAX_TEXT_CHARS)? else { return Ok(()) };
    if !is_email(e) {
        let why = format!("{:?} is not an e-mail address (RFC 5322, at most 254 characters)", shortened(e));
        return Err(match direction {
            Direction::Payin => ApiError::rule("EMAIL_INVALID", why, Some(&f.path("emailAddress"))),
            Direction::Payout => ApiError::bad_request(format!("{}: {why}", f.path("emailAddress"))),
        });
    }
    out.insert("emailAddress".into(), e.into());
    Ok(())
}

fn is_email(e: &str) -> bool {
    let shaped = e.split_once('@').is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
    shaped && e.len() <= 254 && !e.contains(char::is_whitespace)
}

/// `accountName`: the spec's pattern, 1 to 64 characters; `required_because` says why
/// a missing one is refused.
fn account_name<'a>(f: &Fields<'a>, required_because: Option<&str>) -> ApiResult<Option<&'a str>> {
    let shape = "1 to 64 letters (each with its combining marks), spaces or ,;:_'\"!%=@#&-.?$()+*| (no digits)";
    let name = f.opt_shaped("accountName", 64, echelon::is_account_name, shape)?;
    match (name, required_because) {
        (None, Some(why)) => Err(ApiError::bad_request(format!("{} is required {why}", f.path("accountName")))),
        _ => Ok(name),
    }
}

/// A payer's `accountNumber` (no length in the schema; "must contain only numbers").
fn payer_account_number<'a>(f: &Fields<'a>) -> ApiResult<Option<&'a str>> {
    match f.opt_text("accountNumber", MAX_TEXT_CHARS)? {
        Some(n) if !n.bytes().all(|b| b.is_ascii_digit()) => {
            Err(ApiError::bad_request(format!("{} must contain only digits", f.path("accountNumber"))))
        }
        Some("") => Ok(None),
        other => Ok(other),
    }
}

fn phone<'a>(f: &Fields<'a>) -> ApiResult<Option<&'a str>> {
    f.opt_shaped("phoneNumber", 16, echelon::is_phone, "7 to 16 digits with an optional leading +, like +919876543210")
}

/// Reads a payin's `paymentMethod` into its method and the object Kosh keeps.
fn payin_method(f: &Fields) -> ApiResult<(&'static Method, Value)> {
    let method = method_of(Direction::Payin, f)?;
    let mut out = Map::new();
    out.insert("paymentMethodCode".into(), method.code.into());
    if let Some(op) = operator(f, method)? {
        out.insert("paymentOperatorCode".into(), op.into());
    }
    email(f, Direction::Payin, &mut out)?;
    match method.code {
        "UPIID" => {
            let vpa = f.req_str("upiId", 100)?;
            if !echelon::is_vpa(vpa) {
                return Err(ApiError::bad_request(format!("{} must be a UPI id like name@bank", f.path("upiId"))));
            }
            out.insert("upiId".into(), vpa.into());
        }
        "IMPS" | "NETBANKING" | "P2A_V2" => {
            let account = match method.code {
                "IMPS" => Some(f.req_obj("account")?),
                _ => f.opt_obj("account")?,
            };
            // The spec: IMPS always names the payer; P2A_V2 does "if currency is INR".
            let name_required = match method.code {
                "IMPS" => Some("for IMPS"),
                "P2A_V2" => Some("for INR P2A_V2 payins"),
                _ => None,
            };
            let mut kept = Map::new();
            match &account {
                Some(a) => {
                    if let Some(name) = account_name(a, name_required)? {
                        kept.insert("accountName".into(), name.into());
                    }
                    if let Some(number) = payer_account_number(a)? {
                        kept.insert("accountNumber".into(), number.into());
                    }
                }
                None => {
                    if let Some(why) = name_required {
                        return Err(ApiError::bad_request(format!("{} is required {why}", f.path("account.accountName"))));
                    }
                }
            }
            if !kept.is_empty() {
                out.insert("account".into(), Value::Object(kept));
            }
            // Only NETBANKING's schema has a phone number.
            if method.code == "NETBANKING" {
                if let Some(phone) = phone(f)? {
                    out.insert("phoneNumber".into(), phone.into());
                }
            }
        }
        _ => {}
    }
    Ok((method, Value::Object(out)))
}

/// Reads a payout's `paymentMethod`.
fn payout_method(f: &Fields) -> ApiResult<(&'static Method, Value)> {
    let method = method_of(Direction::Payout, f)?;
    let mut out = Map::new();
    out.insert("paymentMethodCode".into(), method.code.into());
    if let Some(op) = operator(f, method)? {
        out.insert("paymentOperatorCode".into(), op.into());
    }
    let a = f.req_obj("account")?;
    let account = if method.code == "BANK_TRANSFER" {
        email(f, Direction::Payout, &mut out)?;
        bank_account(&a)?
    } else {
        if let Some(phone) = phone(f)? {
            out.insert("phoneNumber".into(), phone.into());
        }
        wallet_account(&a)?
    };
    if let Some(remark) = f.opt_text("remark", MAX_TEXT_CHARS)? {
        out.insert("remark".into(), remark.into());
    }
    out.insert("account".into(), Value::Object(account));
    Ok((method, Value::Object(out)))
}

/// A `BANK_TRANSFER` account (`AccountPayoutRequestBankTransfer`) for INR.
fn bank_account(a: &Fields) -> ApiResult<Map<String, Value>> {
    let mut account = Map::new();
    account.insert("accountName".into(), account_name(a, Some("for a bank transfer"))?.unwrap_or_default().into());
    // The schema takes any string; an Indian bank account number is 6 to 18 digits.
    let number = a.req_text("accountNumber", MAX_TEXT_CHARS)?;
    if !(6..=18).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(format!("{} must be 6 to 18 digits for INR", a.path("accountNumber"))));
    }
    account.insert("accountNumber".into(), number.into());
    let Some(ifsc) = a.opt_str("bankCode", MAX_TEXT_CHARS)? else {
        return Err(ApiError::rule(
            "BANK_CODE_REQUIRED",
            "INR bank transfers need bankCode: the beneficiary's IFSC",
            Some("paymentMethod.account.bankCode"),
        ));
    };
    if !echelon::is_ifsc(ifsc) {
        return Err(ApiError::bad_request(format!("{} must be an IFSC like SBIN0001234 for INR", a.path("bankCode"))));
    }
    account.insert("bankCode".into(), ifsc.into());
    // accountType has no minLength in the schema; the bank's names have minLength 1.
    if let Some(v) = a.opt_text("accountType", MAX_TEXT_CHARS)? {
        account.insert("accountType".into(), v.into());
    }
    for name in ["bankName", "bankBranch", "bankCity", "bankProvince"] {
        if let Some(v) = a.opt_str(name, MAX_TEXT_CHARS)? {
            account.insert(name.into(), v.into());
        }
    }
    Ok(account)
}

/// A `WALLET_TRANSFER` account (`AccountPayoutRequestWalletTransfer`) for INR: the UPI
/// VPA to pay, and the holder's name, which the spec requires "if currency is INR".
fn wallet_account(a: &Fields) -> ApiResult<Map<String, Value>> {
    let mut account = Map::new();
    let name = account_name(a, Some("for INR wallet transfers (AccountPayoutRequestWalletTransfer)"))?;
    account.insert("accountName".into(), name.unwrap_or_default().into());
    // Optional in the schema, but a payout needs somewhere to go.
    let number = a.req_str("accountNumber", 100)?;
    if !echelon::is_vpa(number) {
        return Err(ApiError::bad_request(format!("{} must be a UPI id like name@bank", a.path("accountNumber"))));
    }
    account.insert("accountNumber".into(), number.into());
    Ok(account)
}

// ---- detail, accounts, external reference, options ----

async fn find(app: &AppState, caller: &Caller, direction: Direction, id: &str) -> ApiResult<Payment> {
    input::entity_id(order_id_name(direction), id)?;
    app.store
        .echelon_payment(caller.merchant.id, direction, id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::gone(format!("no {} {id:?}", direction.as_str())))
}

pub async fn payin_detail(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let p = find(&app, &caller, Direction::Payin, &id).await?;
    Ok(Json(json!({
        "paymentRequested": requested_json(&p),
        "process": process_json(&p),
        "fee": money_json(p.fee_paise.get()),
        "paymentMethodResponse": payin_method_response(&p, &caller.merchant.name, &base_url(&headers)),
    })))
}

pub async fn payout_detail(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let p = find(&app, &caller, Direction::Payout, &id).await?;
    Ok(Json(json!({
        "paymentRequested": requested_json(&p),
        "process": process_json(&p),
        "fee": money_json(p.fee_paise.get()),
        "paymentMethodResponse": payout_method_response(&p),
    })))
}

pub async fn payin_accounts(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let p = find(&app, &caller, Direction::Payin, &id).await?;
    let m: Value = serde_json::from_str(&p.method_json).unwrap_or_default();
    let mut request = Map::new();
    if let Some(name) = m["account"]["accountName"].as_str() {
        request.insert("accountName".into(), name.into());
    }
    if let Some(number) = m["account"]["accountNumber"].as_str().or(m["upiId"].as_str()) {
        request.insert("accountNumber".into(), number.into());
    }
    if let Some(op) = operator_json(&p) {
        request.insert("paymentOperator".into(), op);
    }
    // The account the money came from is known once the payin succeeded; the sandbox's
    // simulated customer pays from the account the request named, or its own.
    let mut process = Map::new();
    if p.status == Status::Success {
        process = request.clone();
        process.entry("accountName").or_insert_with(|| "Sandbox Customer".into());
        process.entry("accountNumber").or_insert_with(|| "sandbox.customer@kosh".into());
    }
    Ok(Json(json!({ "customerAccountRequest": request, "customerAccountProcess": process })))
}

/// The payin methods whose customers report an external reference (the UTR of their
/// UPI payment), as the spec's method list says.
pub const EXTERNAL_REFERENCE_METHODS: &[&str] = &["UPIQR", "P2A_V2"];

pub async fn set_external_reference(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    input::entity_id("idPayin", &id)?;
    let body = input::object(&headers, body)?;
    let reference = body.fields().req_str("reference", 512)?.to_owned();
    let payin = find(&app, &caller, Direction::Payin, &id).await?;
    if !EXTERNAL_REFERENCE_METHODS.contains(&payin.method_code.as_str()) {
        return Err(ApiError::bad_request(format!(
            "payin {id:?} is paid by {}; only {} payins take an external reference",
            payin.method_code,
            EXTERNAL_REFERENCE_METHODS.join(" and ")
        )));
    }
    let cmd = SetExternalReference { merchant_id: caller.merchant.id, order_id: id.clone(), reference };
    match app.store.execute(cmd).await.map_err(ApiError::store)? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::gone(format!("no payin {id:?}"))),
    }
}

pub async fn payin_options(headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<Json<Value>> {
    options(Direction::Payin, &headers, body)
}

pub async fn payout_options(headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<Json<Value>> {
    options(Direction::Payout, &headers, body)
}

fn options(direction: Direction, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult<Json<Value>> {
    input::check_customer_header(headers)?;
    let body = input::object(headers, body)?;
    let requested = input::requested(&body.fields(), "PAYMENT_CHANNEL_NO_SEGMENT_FOUND")?;
    let data: Vec<Value> = METHODS
        .iter()
        .filter(|m| m.direction == direction && requested.amount.get() <= m.max_rupees * 100)
        .map(|m| {
            let operators: Vec<Value> =
                m.operators.iter().map(|code| json!({ "code": code, "name": operator_name(code).unwrap_or(code) })).collect();
            let mut option = json!({ "paymentMethodCode": m.code, "paymentOperators": operators });
            if let Some(segment) = &requested.segment {
                option["segmentCode"] = segment.clone().into();
            }
            option
        })
        .collect();
    if data.is_empty() {
        return Err(ApiError::rule(
            "PAYMENT_CHANNEL_AMOUNT_LIMITS",
            "no payment method accepts this amount",
            Some("money.amount"),
        ));
    }
    Ok(Json(json!({ "data": data })))
}

// ---- wire shapes ----

pub fn money_json(paise: i64) -> Value {
    json!({ "amount": amount_json(paise), "currencyCode": INR })
}

fn requested_json(p: &Payment) -> Value {
    let mut v = json!({ "money": { "amount": amount_json(p.amount_paise.get()), "currencyCode": p.currency } });
    if let Some(s) = &p.segment_code {
        v["segmentCode"] = s.clone().into();
    }
    if let Some(c) = &p.exchanged_to {
        v["exchangedToCurrency"] = c.clone().into();
    }
    v
}

fn process_json(p: &Payment) -> Value {
    let mut v = json!({ "status": p.status.as_str(), "createdAt": iso_utc(p.created_at_ms), "isTest": p.is_test });
    if let Some(at) = p.processed_at_ms {
        v["processedAt"] = iso_utc(at).into();
    }
    if let Some(code) = &p.failure_code {
        let mut reasons = json!({ "failedAt": iso_utc(p.failed_at_ms.unwrap_or(p.updated_at_ms)), "failureReasonCode": code });
        if let Some(message) = &p.failure_message {
            reasons["message"] = message.clone().into();
        }
        v["failureReasons"] = reasons;
    }
    v
}

fn operator_json(p: &Payment) -> Option<Value> {
    let code = p.operator_code.as_deref()?;
    Some(json!({ "code": code, "name": operator_name(code).unwrap_or(code) }))
}

/// The VPA a UPI payin is paid to: one per payment, so the payer is never ambiguous.
pub fn collect_vpa(p: &Payment) -> String {
    format!("kosh.{}@kosh", p.reference().to_lowercase())
}

/// The virtual account an IMPS payin is paid into.
pub fn collect_account(p: &Payment) -> String {
    format!("9100{:010}", p.id)
}

/// The `upi://pay` link a payin's customer pays with: the payee address, the payee
/// name, Kosh's transaction id, the reference as the note, the amount and currency.
pub fn deep_link(p: &Payment, merchant_name: &str) -> String {
    let payee = match p.method_code.as_str() {
        "IMPS" => format!("{}@{}.ifsc.npci", collect_account(p), COLLECT_IFSC),
        _ => collect_vpa(p),
    };
    format!(
        "upi://pay?pa={}&pn={}&tr={}&tn={}&am={}.{:02}&cu=INR",
        percent(&payee),
        percent(merchant_name),
        p.id_payment,
        p.reference(),
        p.amount_paise.get() / 100,
        p.amount_paise.get() % 100
    )
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn qr_url(base: &str, p: &Payment) -> String {
    format!("{base}/echelon/qr/{}.svg", p.id_payment)
}

fn payin_method_response(p: &Payment, merchant_name: &str, base: &str) -> Value {
    let mut v = json!({
        "idPayin": p.order_id,
        "idPayment": p.id_payment,
        "paymentMethodCode": p.method_code,
        "money": money_json(p.amount_paise.get()),
        "merchantName": merchant_name,
        "reference": p.reference(),
        "returnUrl": p.return_url.clone().unwrap_or_default(),
        "acceptedAt": iso_utc(p.created_at_ms),
        "expireAt": iso_utc(p.expire_at_ms.unwrap_or(p.created_at_ms)),
    });
    if let Some(op) = operator_json(p) {
        v["paymentOperator"] = op;
    }
    let link = deep_link(p, merchant_name);
    match p.method_code.as_str() {
        "UPIQR" => {
            v["qrName"] = "Scan with any UPI app".into();
            v["qrCode"] = qr_url(base, p).into();
            v["upiQrDeepLink"] = link.into();
            v["upiId"] = collect_vpa(p).into();
        }
        "IMPS" => {
            v["account"] = json!({
                "accountName": merchant_name,
                "accountNumber": collect_account(p),
                "bankCode": COLLECT_IFSC,
                "bankName": COLLECT_BANK,
            });
            v["qrCode"] = qr_url(base, p).into();
        }
        "NETBANKING" => {
            v["upiId"] = collect_vpa(p).into();
            v["deepLink"] = link.into();
        }
        "P2A_V2" => {
            v["account"] = json!({ "accountName": merchant_name, "accountNumber": collect_vpa(p) });
            v["paymentAddress"] = json!({ "name": "UPI ID", "idAddress": collect_vpa(p) });
            v["qrName"] = "Scan with UPI or Google Pay".into();
            v["qrCode"] = qr_url(base, p).into();
        }
        _ => {}
    }
    if let Some(reference) =
        p.external_reference.as_ref().filter(|_| EXTERNAL_REFERENCE_METHODS.contains(&p.method_code.as_str()))
    {
        v["externalReference"] = json!({ "reference": reference });
    }
    v
}

fn payout_method_response(p: &Payment) -> Value {
    json!({
        "idPayout": p.order_id,
        "idPayment": p.id_payment,
        "paymentMethodCode": p.method_code,
        "reference": p.reference(),
    })
}
