//! DMT customers (senders): look up, enrol, verify with an OTP, resend the OTP.
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `GET /customers/mobile_number:{m}` | found: profile with state and this month's limits | 0 | 309 |
//! | | not enrolled | 463 | 308 |
//! | `PUT /customers/mobile_number:{m}` | enrolled (state 1), OTP sent, `otp_ref_id` | 0 | 327 |
//! | | already enrolled and verified | 17 | 17 |
//! | `PUT /customers/verification/otp:{otp}` | verified (state 2; rsid 0) | 0 | 2132 |
//! | | wrong / expired / used OTP | 302 / 303 / 55 | 302 / 303 / 1323 |
//! | `POST /customers/mobile_number:{m}/otp` | OTP sent again | 0 (rsid 0) | 2133 |
//! | | already verified | 0 (rsid -1) | 2132 |
//! | any | too many OTPs for the mobile this hour | 1 | 1318 |
//! | any | unknown user_code / DMT deactivated for it | 463 / 346 | -1 |

use super::{
    customer_json, customer_path, customer_profile_json, otp_refusal, otp_request, require_dmt_agent, rt, sandbox_otp_hint,
};
use crate::eko::auth::Authenticated;
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::eko::{check_initiator, colon_id};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::ids::UserCode;
use kosh_core::validate::{self, Address, Mobile, PersonName};
use kosh_store::commands::dmt::{
    CustomerOtp, EnrollCustomer, Enrolment, OtpConsent, SendCustomerOtp, VerifyCustomer, CUSTOMER_OTP,
};
use kosh_store::ops::dmt_customers::{Customer, NewCustomer};
use kosh_store::ops::otp::OtpIssue;
use serde_json::json;

/// `GET /customers/mobile_number:{m}?initiator_id&user_code`.
pub async fn get_customer(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&segment)?;
    check_initiator(&params, &auth)?;
    let user_code = required_user_code(&params)?;
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    match app.store.dmt_customer(auth.partner.id, mobile.as_str()).await.map_err(store_error)? {
        Some(c) => {
            let reply = EkoReply::ok(rt::CUSTOMER_FOUND, "Customer found", customer_json(&c, app.now_ms()));
            Ok(if c.state.may_transact() { reply } else { reply.with_hint(verify_hint(&app, &c.mobile)) })
        }
        None => Err(EkoReply::failure(status::USER_NOT_FOUND, rt::NOT_ENROLLED, "Customer not enrolled")
            .with_hint(format!("enrol the customer with PUT /customers/mobile_number:{}", mobile.as_str()))),
    }
}

/// `user_code` from the query string, required.
pub fn required_user_code(params: &EkoParams) -> Result<UserCode, EkoReply> {
    let mut c = crate::eko::params::Checker::default();
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    c.finish()?;
    Ok(user_code.expect("the checker fails when a required field is bad"))
}

fn verify_hint(app: &AppState, mobile: &str) -> String {
    let read = sandbox_otp_hint(app, mobile, CUSTOMER_OTP).map_or(String::new(), |h| format!("; {h}"));
    format!("verify the customer with PUT /customers/verification/otp:{{otp}} (id_type=mobile_number, id={mobile}){read}")
}

/// `PUT /customers/mobile_number:{m}`: user_code*, name*, dob* (YYYY-MM-DD), residence_address* (JSON).
pub async fn create(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&segment)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let name = c.required(&params, "name", PersonName::parse);
    let now_ms = app.now_ms();
    let dob = c.required(&params, "dob", |t| validate::parse_adult_dob(t, now_ms));
    let address = c.required(&params, "residence_address", Address::parse);
    c.finish()?;
    let (Some(user_code), Some(name), Some(dob), Some(address)) = (user_code, name, dob, address) else {
        unreachable!("the checker fails when a required field is bad")
    };
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    let customer = NewCustomer {
        mobile: mobile.as_str().into(),
        name: name.as_str().into(),
        dob: dob.to_iso(),
        residence_address: serde_json::to_string(&address).expect("addresses serialise"),
        user_code,
    };
    let otp = otp_request(&app, CUSTOMER_OTP, mobile.as_str());
    let cmd = EnrollCustomer { partner_id: auth.partner.id, customer, otp };
    match super::execute(&app, cmd).await? {
        Enrolment::Sent { customer, otp } => otp_sent(&app, &customer, otp, true),
        Enrolment::AlreadyVerified(customer) => Err(EkoReply::failure(17, 17, "Customer already exists")
            .with_hint("the customer is enrolled and verified; add recipients and send money")
            .with_data(customer_json(&customer, now_ms))),
    }
}

/// The answer to an OTP issued for a customer (enrolment or resend).
fn otp_sent(app: &AppState, customer: &Customer, otp: OtpIssue, enrolment: bool) -> EkoResult {
    let otp_ref_id = match otp {
        OtpIssue::Issued { otp_ref_id } => otp_ref_id,
        OtpIssue::RateLimited => {
            return Err(EkoReply::failure(status::FAILED, rt::TOO_MANY_OTPS, "Too many OTP requests").with_hint(format!(
                "at most {} OTPs per mobile number per hour; use the latest OTP, or wait",
                kosh_store::ops::otp::MAX_PER_WINDOW
            )))
        }
    };
    let mut data = customer_json(customer, app.now_ms());
    data["otp_ref_id"] = json!(otp_ref_id.to_string());
    data["user_code"] = json!(customer.user_code.to_string());
    let reply = if enrolment {
        EkoReply::ok(rt::ENROLLED_VERIFICATION_PENDING, "Customer enrolled; OTP sent for verification", data)
    } else {
        EkoReply::ok_transaction(rt::OTP_SENT, "OTP sent", data)
    };
    Ok(reply.with_hint(verify_hint(app, &customer.mobile)))
}

/// `PUT /customers/verification/otp:{otp}`: user_code*, id_type=mobile_number*, id* (the
/// mobile), otp_ref_id (without it, the latest OTP is checked).
pub async fn verify(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let code = colon_id(&segment, "otp")?;
    let code = super::parse_otp(code).map_err(|m| EkoReply::invalid(vec![("otp".into(), m.into())]))?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    c.required(&params, "id_type", |t| if t.trim() == "mobile_number" { Ok(()) } else { Err("must be mobile_number") });
    let mobile = c.required(&params, "id", Mobile::parse);
    let otp_ref_id = c.optional(&params, "otp_ref_id", super::parse_otp_ref_id);
    c.finish()?;
    let (Some(user_code), Some(mobile)) = (user_code, mobile) else {
        unreachable!("the checker fails when a required field is bad")
    };
    require_dmt_agent(&app, auth.partner.id, user_code).await?;
    let cmd = VerifyCustomer { partner_id: auth.partner.id, mobile: mobile.as_str().into(), code: code.into(), otp_ref_id };
    let again = format!("request a new OTP with POST /customers/mobile_number:{}/otp", mobile.as_str());
    match super::execute(&app, cmd).await? {
        OtpConsent::Accepted(customer) => {
            let profile = customer_profile_json(&customer, app.now_ms());
            let data = json!({ "customer_profile": profile });
            Ok(EkoReply::ok_transaction(rt::CUSTOMER_VERIFIED, "Customer verified successfully", data))
        }
        OtpConsent::Refused(check) => Err(otp_refusal(check, &again, app.config.otp_ttl_secs)),
    }
}

/// `POST /customers/mobile_number:{m}/otp`: user_code*. Sends a fresh verification OTP.
pub async fn resend_otp(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = customer_path(&segment)?;
    super::user_code_only(&app, &auth, &params).await?;
    let otp = otp_request(&app, CUSTOMER_OTP, mobile.as_str());
    let cmd = SendCustomerOtp { partner_id: auth.partner.id, mobile: mobile.as_str().into(), otp };
    match super::execute(&app, cmd).await? {
        CustomerOtp::Sent(issued) => {
            let customer = app.store.dmt_customer(auth.partner.id, mobile.as_str()).await.map_err(store_error)?;
            let customer = customer.ok_or_else(|| store_error("the customer vanished"))?;
            otp_sent(&app, &customer, issued, false)
        }
        CustomerOtp::AlreadyVerified(customer) => Ok(EkoReply::ok(
            rt::CUSTOMER_VERIFIED,
            "Customer already verified",
            json!({ "customer_profile": customer_profile_json(&customer, app.now_ms()) }),
        )),
    }
}
