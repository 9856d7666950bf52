//! AePS (Fingpay) transactions under v3, at the paths the vendor's SDK calls: the
//! customer's mobile is in the path and the path names the transaction type, the rest
//! is the v2 transaction's body (`POST /ekoapi/v2/aeps`), answered by the same
//! [`transact::transact_reply`] over the same domain (limits, daily authentication,
//! commission and TDS, awaited → inquiry).
//!
//! | path (under v3) | type | response_type_id |
//! |---|---|---|
//! | `POST /customer/collection/aeps-fingpay/cash-withdrawl/{customer_id}` (sic) | cash withdrawal | 1463 / 1464 / 1465 |
//! | `POST /customer/collection/aeps-fingpay/balance-enquiry/{customer_id}` | balance enquiry (`amount` 0 or absent) | 1466 / 1467 |
//! | `POST /customer/collection/aeps-fingpay/mini-statement/{customer_id}` | mini statement (`amount` 0 or absent) | 1527 / 1528 |
//! | `POST /customer/collection/aeps-fingpay/aadhaar-pay/{customer_id}` (Kosh's path: the platform documents none) | Aadhaar Pay (service 51): up to ₹10,000, the agent's e-value credited | 1463 / 1464 / 1465 |
//!
//! | `POST /customer/collection/aeps-fingpay/cash-withdrawal/otp/{customer_id}` | the withdrawal OTP step: `user_code`, `aadhar`, `latlong`, `amount` → an OTP to the customer's mobile, bound to the agent and amount | 2133; `data.txn_otp_request_id` |
//!
//! A withdrawal that sends `txn_otp_request_id` must send the customer's `otp` too (a
//! parameter the SDK passes through): checked, single use, expiring, for that agent and
//! amount, before the withdrawal; one without `txn_otp_request_id` is biometric only. A
//! retry of a withdrawal already recorded under its `client_ref_id` answers it as it
//! stands (its OTP is not asked again).
//!
//! The SDK sends no `request_hash` here and the platform accepts that: the hash is
//! checked when sent ([`crate::eko::auth::HashRule::IfSent`]).

use super::{parse_aadhaar, require_aeps_service, require_bank_connector, transact};
use crate::eko::accounts::path_id;
use crate::eko::auth::Authenticated;
use crate::eko::dmt::{otp_refusal, otp_request, parse_otp, parse_otp_ref_id, rt, sandbox_otp_hint};
use crate::eko::envelope::EkoResult;
use crate::eko::envelope::{status, EkoReply};
use crate::eko::params::Checker;
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Extension, Router};
use kosh_core::aeps;
use kosh_core::ids::UserCode;
use kosh_core::money::Paise;
use kosh_core::validate::{self, Mobile};
use kosh_store::commands::{CheckOtp, IssueOtp};
use kosh_store::ops::otp::{OtpCheck, OtpIssue};
use serde_json::json;

const BASE: &str = "/customer/collection/aeps-fingpay";

/// The v3 transaction routes, relative to a v3 prefix.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/cash-withdrawl/{{customer_id}}"), post(cash_withdrawal))
        .route(&format!("{BASE}/balance-enquiry/{{customer_id}}"), post(balance_enquiry))
        .route(&format!("{BASE}/mini-statement/{{customer_id}}"), post(mini_statement))
        .route(&format!("{BASE}/aadhaar-pay/{{customer_id}}"), post(aadhaar_pay))
        .route(&format!("{BASE}/cash-withdrawal/otp/{{customer_id}}"), post(withdrawal_otp))
}

async fn cash_withdrawal(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = params.with_path("customer_id", path_id(&customer, "customer_id")?)?.with_path("service_type", "2")?;
    check_withdrawal_otp(&app, &auth, &params).await?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/cash-withdrawl/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

/// The parameters of an enquiry: `amount` is 0 whether sent as 0 or not at all.
fn enquiry(params: EkoParams, customer: &str, service_type: &str) -> Result<EkoParams, EkoReply> {
    let params = params.with_path("customer_id", path_id(customer, "customer_id")?)?.with_path("service_type", service_type)?;
    if params.get("amount").is_some() {
        Ok(params)
    } else {
        params.with_path("amount", "0")
    }
}

async fn balance_enquiry(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = enquiry(params, &customer, "3")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/balance-enquiry/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

async fn mini_statement(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = enquiry(params, &customer, "4")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/mini-statement/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

async fn aadhaar_pay(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = params.with_path("customer_id", path_id(&customer, "customer_id")?)?.with_path("service_type", "5")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/aadhaar-pay/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

/// What a withdrawal OTP authorises: this agent's withdrawal of this amount (paise).
fn withdrawal_otp_purpose(user_code: UserCode, amount: Paise) -> String {
    format!("aeps_cw:{user_code}:{}", amount.get())
}

/// The fields the OTP step and the withdrawal share: the agent, the customer and the amount.
fn otp_target(c: &mut Checker, params: &EkoParams) -> Option<(UserCode, Mobile, Paise)> {
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let customer = c.required(params, "customer_id", Mobile::parse);
    let amount = c.required(params, "amount", |t| Paise::parse_rupees(t).map_err(|_| "must be an amount in rupees, like 500"));
    if let Some(Err(why)) = amount.map(aeps::check_withdrawal) {
        c.fail("amount", &why);
    }
    match (user_code, customer, amount) {
        (Some(u), Some(m), Some(a)) => Some((u, m, a)),
        _ => None,
    }
}

/// `POST /customer/collection/aeps-fingpay/cash-withdrawal/otp/{customer_id}`.
async fn withdrawal_otp(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = params.with_path("customer_id", path_id(&customer, "customer_id")?)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let target = otp_target(&mut c, &params);
    c.required(&params, "aadhar", parse_aadhaar);
    c.required(&params, "latlong", validate::parse_latlong);
    c.optional(&params, "bank_code", |t| aeps::bank(t).ok_or("is not a bank Kosh knows (short code such as SBIN, or IIN)"));
    c.finish()?;
    let Some((user_code, mobile, amount)) = target else { unreachable!("the checker fails when a required field is bad") };
    require_bank_connector(&app)?;
    require_aeps_service(&app, &auth, user_code).await?;
    let purpose = withdrawal_otp_purpose(user_code, amount);
    let request = otp_request(&app, &purpose, mobile.as_str());
    let issued = app.store.execute(IssueOtp { partner_id: auth.partner.id, request }).await.map_err(store_error)?;
    let OtpIssue::Issued { otp_ref_id } = issued else {
        return Err(EkoReply::failure(status::FAILED, rt::TOO_MANY_OTPS, "Too many OTP requests").with_hint(format!(
            "at most {} withdrawal OTPs per customer and amount per hour; use the latest",
            kosh_store::ops::otp::MAX_PER_WINDOW
        )));
    };
    let data = json!({ "txn_otp_request_id": otp_ref_id.to_string(), "otp_ref_id": otp_ref_id.to_string(),
                       "customer_id": mobile.as_str(), "user_code": user_code.to_string(), "amount": amount.to_rupees_string() });
    let reply = EkoReply::ok_transaction(rt::OTP_SENT, "OTP sent successfully", data);
    Ok(match sandbox_otp_hint(&app, mobile.as_str(), &purpose) {
        Some(hint) => reply.with_hint(format!("{hint}; then send it as otp with txn_otp_request_id in the withdrawal")),
        None => reply,
    })
}

/// When a withdrawal names a `txn_otp_request_id`, its `otp` must be the customer's
/// OTP for this agent and amount. A withdrawal already recorded under its
/// `client_ref_id` is a retry: the service answers it, no OTP is asked again.
async fn check_withdrawal_otp(app: &AppState, auth: &Authenticated, params: &EkoParams) -> Result<(), EkoReply> {
    if params.get("txn_otp_request_id").is_none() {
        return Ok(());
    }
    let mut c = crate::eko::checker(params, auth)?;
    let target = otp_target(&mut c, params);
    let otp_ref_id = c.required(params, "txn_otp_request_id", parse_otp_ref_id);
    let code = c.required(params, "otp", parse_otp);
    let reference = c.required(params, "client_ref_id", validate::ClientRefId::parse);
    c.finish()?;
    let (Some((user_code, mobile, amount)), Some(otp_ref_id), Some(code), Some(reference)) =
        (target, otp_ref_id, code, reference)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    if app.store.aeps_transaction_by_ref(auth.partner.id, reference.as_str()).await.map_err(store_error)?.is_some() {
        return Ok(());
    }
    let check = CheckOtp {
        partner_id: auth.partner.id,
        purpose: withdrawal_otp_purpose(user_code, amount),
        subject: mobile.as_str().into(),
        code: code.into(),
        otp_ref_id: Some(otp_ref_id),
    };
    match app.store.execute(check).await.map_err(store_error)? {
        OtpCheck::Accepted => Ok(()),
        refused => Err(otp_refusal(refused, "request a new one with the withdrawal OTP step", app.config.otp_ttl_secs)),
    }
}
