//! Senders under v3: customer management (profile, onboarding, mobile OTP) and each
//! family's verification steps (mobile OTP, Aadhaar OTP, PAN, biometric or OTP e-KYC).
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | profile | verified for the family: profile with the family's limit | 0 | 309 |
//! | | not enrolled | 308 | 308 |
//! | | a step pending (PPI-DigiKhata: the mobile OTP is sent) | step's | 2129 / 2136 / 2134 / 2147 |
//! | onboard | PPI: enrolled, mobile OTP sent (`intent_id` 19) | 0 | 2129 |
//! | | DMT families: enrolled ("Wallet opened") | 0 | 300 |
//! | Aadhaar OTP / Fino e-KYC | OTP sent (`otp_ref_id`, Fino's `kyc_request_id`) | 0 | 2129 |
//! | verify OTP, PAN, biometric | step done: the next step's answer, or completed | 0 | next's / 2132 |
//! | | a step before it is not done | step's | step's |
//! | | wrong / expired / used OTP | 302 / 303 / 55 | 302 / 303 / 1323 |
//! | bad mobile, Aadhaar, PAN, OTP, PID | `invalid_params` | 1 (97 missing) | -1 |

use super::{enrolled, family_profile_json, gate, is_digikhata, ok, pending_reply, progress, sender_mobile, step_hint};
use crate::eko::auth::Authenticated;
use crate::eko::dmt::{
    customer_json, customer_profile_json, otp_refusal, otp_request, parse_otp, parse_otp_ref_id, rt, sandbox_otp_hint,
};
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::aadhaar::Aadhaar;
use kosh_core::dmt_family::{Family, FamilyId, KycStep};
use kosh_core::validate::{self, Address, Mobile, Pan, PersonName};
use kosh_store::commands::dmt::{
    CompleteKycStep, CustomerOtp, EnrollCustomer, Enrolment, OtpConsent, OtpProof, SendCustomerOtp, VerifyCustomer, CUSTOMER_OTP,
};
use kosh_store::commands::IssueOtp;
use kosh_store::ops::dmt_customers::{Customer, NewCustomer};
use kosh_store::ops::otp::{OtpIssue, MAX_PER_WINDOW};
use serde_json::json;

/// The OTP purpose of a family's verification step.
pub fn kyc_purpose(family: &Family, step: KycStep) -> String {
    format!("dmt_kyc:{}:{}", family.slug, step.code())
}

fn digikhata() -> &'static Family {
    FamilyId::PpiDigiKhata.family()
}

/// `GET /customer/profile/{customer_id}`: the customer (or, with `service_code` 80, the
/// PPI-DigiKhata sender).
pub async fn customer_info(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(id): Path<String>,
    params: EkoParams,
) -> EkoResult {
    if is_digikhata(&params) {
        return profile(digikhata(), app, auth, Some(id), params).await;
    }
    let mobile = sender_mobile(Some(&id), &params)?;
    gate(&app, &auth, &params).await?;
    let c = enrolled(&app, auth.partner.id, &mobile, None).await?;
    Ok(EkoReply::ok(rt::CUSTOMER_FOUND, "Success!", customer_json(&c, app.now_ms())))
}

/// A family's sender profile.
pub async fn profile(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    gate(&app, &auth, &params).await?;
    let c = enrolled(&app, auth.partner.id, &mobile, Some(family)).await?;
    match progress(&app, &c, family).await? {
        None => Ok(EkoReply::ok(rt::CUSTOMER_FOUND, "Success!", family_profile_json(&c, family, app.now_ms()))),
        Some(KycStep::MobileOtp) => mobile_otp(&app, &auth, family, &c).await,
        Some(step) => Err(pending_reply(family, step, &c.mobile)
            .with_data(json!({ "customer_id": c.mobile, "state": c.state.code().to_string(), "kyc_step": step.code() }))),
    }
}

/// Sends the sender's mobile OTP (intent 19).
async fn mobile_otp(app: &AppState, auth: &Authenticated, family: &Family, c: &Customer) -> EkoResult {
    let otp = otp_request(app, CUSTOMER_OTP, &c.mobile);
    let cmd = SendCustomerOtp { partner_id: auth.partner.id, mobile: stored_mobile(&c.mobile)?, otp };
    match crate::eko::dmt::execute(app, cmd).await? {
        CustomerOtp::Sent(issued) => otp_answer(app, family, &c.mobile, CUSTOMER_OTP, issued, json!(19)),
        CustomerOtp::AlreadyVerified(c) => {
            Ok(EkoReply::ok(rt::CUSTOMER_FOUND, "Success!", family_profile_json(&c, family, app.now_ms())))
        }
    }
}

/// "Validate the OTP" (2129) with its `otp_ref_id`.
fn otp_answer(
    app: &AppState,
    family: &Family,
    mobile: &str,
    purpose: &str,
    issued: OtpIssue,
    intent: serde_json::Value,
) -> EkoResult {
    let OtpIssue::Issued { otp_ref_id } = issued else {
        return Err(EkoReply::failure(status::FAILED, rt::TOO_MANY_OTPS, "Too many OTP requests").with_hint(format!(
            "at most {MAX_PER_WINDOW} OTPs per mobile number and purpose per hour; use the latest OTP, or wait"
        )));
    };
    let kyc_request_id = if family.id == FamilyId::DmtFino { otp_ref_id.to_string() } else { String::new() };
    let data = json!({ "intent_id": intent, "otp_ref_id": otp_ref_id.to_string(), "kyc_request_id": kyc_request_id });
    let reply = EkoReply::ok_transaction(2129, "Validate the OTP", data);
    Ok(match sandbox_otp_hint(app, mobile, purpose) {
        Some(hint) => reply.with_hint(hint),
        None => reply,
    })
}

/// Enrols the customer named by the path or `customer_id`, with the verification OTP.
async fn enrol(app: &AppState, auth: &Authenticated, path: Option<&str>, params: &EkoParams) -> Result<Enrolment, EkoReply> {
    let mobile = sender_mobile(path, params)?;
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let name = c.required(params, "name", PersonName::parse);
    let now_ms = app.now_ms();
    let dob = c.required(params, "dob", |t| validate::parse_adult_dob(t, now_ms));
    let address = c.required(params, "residence_address", Address::parse);
    c.finish()?;
    let (Some(user_code), Some(name), Some(dob), Some(address)) = (user_code, name, dob, address) else {
        unreachable!("the checker fails when a required field is bad")
    };
    crate::eko::dmt::require_dmt_agent(app, auth.partner.id, user_code).await?;
    let customer = NewCustomer {
        mobile: mobile.as_str().into(),
        name: name.as_str().into(),
        dob: dob.to_iso(),
        residence_address: serde_json::to_string(&address).expect("addresses serialise"),
        user_code,
    };
    let otp = otp_request(app, CUSTOMER_OTP, mobile.as_str());
    crate::eko::dmt::execute(app, EnrollCustomer { partner_id: auth.partner.id, customer, otp }).await
}

/// `POST /customer/account`: customer_id*, user_code*, name*, dob*, residence_address*
/// (with `service_code` 80: the PPI-DigiKhata sender).
pub async fn onboard_customer(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    if is_digikhata(&params) {
        return onboard(digikhata(), app, auth, None, params).await;
    }
    match enrol(&app, &auth, None, &params).await? {
        Enrolment::Sent { customer, otp } => {
            let mut reply = otp_answer(&app, digikhata(), &customer.mobile, CUSTOMER_OTP, otp, json!(19))?;
            reply.response_type_id = rt::ENROLLED_VERIFICATION_PENDING;
            reply.message = "Customer enrolled; OTP sent for verification".into();
            reply.data["customer_id"] = json!(customer.mobile);
            reply.data["state"] = json!(customer.state.code().to_string());
            Ok(reply)
        }
        Enrolment::AlreadyVerified(c) => Err(EkoReply::failure(17, 17, "Customer already exists")
            .with_data(customer_json(&c, app.now_ms()))
            .with_hint("the customer is enrolled and verified")),
    }
}

/// A family's onboarding: PPI families verify the mobile with an OTP next; DMT families
/// open the wallet at once and verify the sender through Aadhaar.
pub async fn onboard(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let enrolment = enrol(&app, &auth, path.as_deref(), &params).await?;
    let customer = match (&enrolment, family.steps.first()) {
        (Enrolment::Sent { customer, otp }, Some(KycStep::MobileOtp)) => {
            return otp_answer(&app, family, &customer.mobile, CUSTOMER_OTP, *otp, json!(19));
        }
        (Enrolment::Sent { customer, .. }, _) | (Enrolment::AlreadyVerified(customer), _) => customer,
    };
    let next = progress(&app, customer, family).await?;
    let data = json!({
        "customer_id_type": "mobile_number",
        "customer_id": customer.mobile,
        "user_code": customer.user_code.to_string(),
        "state": customer.state.code().to_string(),
        "state_desc": customer.state.desc(),
    });
    let reply = EkoReply::ok_transaction(300, "Wallet opened successfully.", data);
    Ok(match next {
        Some(step) => reply.with_hint(format!("next, {}", step_hint(family, step, &customer.mobile))),
        None => reply,
    })
}

/// `POST /customer/account/otp`: customer_id*, user_code*. A fresh mobile OTP.
pub async fn resend_customer_otp(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(None, &params)?;
    crate::eko::dmt::user_code_only(&app, &auth, &params).await?;
    let otp = otp_request(&app, CUSTOMER_OTP, mobile.as_str());
    match crate::eko::dmt::execute(&app, SendCustomerOtp { partner_id: auth.partner.id, mobile: mobile.clone(), otp }).await? {
        CustomerOtp::Sent(issued) => {
            let mut reply = otp_answer(&app, digikhata(), mobile.as_str(), CUSTOMER_OTP, issued, json!(19))?;
            reply.response_type_id = rt::OTP_SENT;
            reply.message = "OTP sent".into();
            Ok(reply)
        }
        CustomerOtp::AlreadyVerified(c) => Ok(EkoReply::ok(
            rt::CUSTOMER_VERIFIED,
            "Customer already verified",
            json!({ "customer_profile": customer_profile_json(&c, app.now_ms()) }),
        )),
    }
}

/// `PUT /customer/account/otp/verify`: customer_id*, user_code*, otp*, otp_ref_id.
pub async fn verify_customer_otp(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(None, &params)?;
    let (code, otp_ref_id) = otp_fields(&app, &auth, &params).await?;
    let cmd = VerifyCustomer { partner_id: auth.partner.id, mobile: mobile.clone(), code: code.into(), otp_ref_id };
    match crate::eko::dmt::execute(&app, cmd).await? {
        OtpConsent::Accepted(c) => ok(
            rt::CUSTOMER_VERIFIED,
            "Customer verified successfully",
            json!({ "customer_profile": customer_profile_json(&c, app.now_ms()) }),
        ),
        OtpConsent::Refused(check) => {
            Err(otp_refusal(check, "request a new OTP with POST /customer/account/otp", app.config.otp_ttl_secs))
        }
    }
}

/// Checks the initiator, `user_code` (and the agent), `otp` and `otp_ref_id`.
async fn otp_fields(app: &AppState, auth: &Authenticated, params: &EkoParams) -> Result<(String, Option<i64>), EkoReply> {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let code = c.required(params, "otp", parse_otp);
    let otp_ref_id = c.optional(params, "otp_ref_id", parse_otp_ref_id);
    c.optional(params, "intent_id", parse_intent);
    c.finish()?;
    let (Some(user_code), Some(code)) = (user_code, code) else { unreachable!("the checker fails when a required field is bad") };
    crate::eko::dmt::require_dmt_agent(app, auth.partner.id, user_code).await?;
    Ok((code, otp_ref_id))
}

fn parse_intent(text: &str) -> Result<KycStep, &'static str> {
    match text.trim() {
        "19" => Ok(KycStep::MobileOtp),
        "20" => Ok(KycStep::AadhaarOtp),
        _ => Err("must be 19 (sender onboarding) or 20 (Aadhaar validation)"),
    }
}

/// PPI-Levin's `POST /customer/profile/{customer_id}/ppi-levin/otp`: the sender's mobile OTP.
pub async fn sender_otp(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    gate(&app, &auth, &params).await?;
    let c = enrolled(&app, auth.partner.id, &mobile, Some(family)).await?;
    mobile_otp(&app, &auth, family, &c).await
}

/// Verifies a family's OTP: the mobile (`intent_id` 19), the Aadhaar (20), or Fino's
/// e-KYC OTP; without `intent_id`, the OTP of the sender's next step.
pub async fn verify_otp(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let (code, otp_ref_id) = otp_fields(&app, &auth, &params).await?;
    let c = enrolled(&app, auth.partner.id, &mobile, Some(family)).await?;
    let step = match params.get("intent_id").map(parse_intent) {
        Some(Ok(step)) => step,
        _ => default_otp_step(family, progress(&app, &c, family).await?),
    };
    if step == KycStep::EkycOtp {
        check_kyc_request_id(&params, otp_ref_id)?;
    }
    let again = format!("request a new OTP: {}", step_hint(family, step, mobile.as_str()));
    if step == KycStep::MobileOtp {
        let cmd = VerifyCustomer { partner_id: auth.partner.id, mobile: mobile.clone(), code: code.into(), otp_ref_id };
        return match crate::eko::dmt::execute(&app, cmd).await? {
            OtpConsent::Accepted(c) => after_step(&app, family, &c).await,
            OtpConsent::Refused(check) => Err(otp_refusal(check, &again, app.config.otp_ttl_secs)),
        };
    }
    let proof = OtpProof { purpose: kyc_purpose(family, step), code: code.into(), otp_ref_id };
    complete(&app, &auth, family, &mobile, step, format!("otp_ref_id:{}", otp_ref_id.unwrap_or(0)), Some(proof), &again).await
}

/// The OTP step a verify without `intent_id` is for.
fn default_otp_step(family: &Family, next: Option<KycStep>) -> KycStep {
    match next {
        Some(step @ (KycStep::MobileOtp | KycStep::AadhaarOtp | KycStep::EkycOtp)) => step,
        _ if family.steps.contains(&KycStep::EkycOtp) => KycStep::EkycOtp,
        _ => KycStep::AadhaarOtp,
    }
}

/// Fino's `kyc_request_id` is the e-KYC request's id, which Kosh issues as its OTP's.
fn check_kyc_request_id(params: &EkoParams, otp_ref_id: Option<i64>) -> Result<(), EkoReply> {
    match (params.get("kyc_request_id"), otp_ref_id) {
        (None, _) => Err(EkoReply::invalid(vec![("kyc_request_id".into(), crate::eko::envelope::MISSING.into())])),
        (Some(id), Some(otp_ref_id)) if id.trim() != otp_ref_id.to_string() => Err(EkoReply::invalid(vec![(
            "kyc_request_id".into(),
            "must be the kyc_request_id the e-KYC request answered".into(),
        )])),
        _ => Ok(()),
    }
}

/// Runs a verification step and answers what comes next.
#[allow(clippy::too_many_arguments)]
async fn complete(
    app: &AppState,
    auth: &Authenticated,
    family: &'static Family,
    mobile: &Mobile,
    step: KycStep,
    detail: String,
    otp: Option<OtpProof>,
    again: &str,
) -> EkoResult {
    let cmd =
        CompleteKycStep { partner_id: auth.partner.id, mobile: mobile.as_str().into(), family: family.id, step, detail, otp };
    match crate::eko::dmt::execute(app, cmd).await? {
        OtpConsent::Accepted(kyc) => after_step(app, family, &kyc.customer).await,
        OtpConsent::Refused(check) => Err(otp_refusal(check, again, app.config.otp_ttl_secs)),
    }
}

/// The answer after a step: the next step's (status 0), or "Customer Registration Completed".
async fn after_step(app: &AppState, family: &'static Family, c: &Customer) -> EkoResult {
    match progress(app, c, family).await? {
        None => ok(
            2132,
            "Customer Registration Completed",
            json!({ "customer_profile": family_profile_json(c, family, app.now_ms()) }),
        ),
        Some(next) => {
            let (message, rt) = next.pending_answer();
            let data = json!({ "customer_id": c.mobile, "kyc_step": next.code(), "application_id": "" });
            Ok(EkoReply::ok_transaction(rt, message, data).with_hint(format!("next, {}", step_hint(family, next, &c.mobile))))
        }
    }
}

/// The sender and the steps done, after checking the initiator and agent; `Err` with the
/// pending step's answer when `step` may not be taken yet.
async fn ready_for(
    app: &AppState,
    auth: &Authenticated,
    family: &'static Family,
    mobile: &Mobile,
    step: KycStep,
) -> Result<(Customer, bool), EkoReply> {
    let c = enrolled(app, auth.partner.id, mobile, Some(family)).await?;
    let done = app.store.dmt_family_steps(c.partner_id, &c.mobile, family).await.map_err(store_error)?;
    family.may_take(step, &done, c.state).map_err(|next| pending_reply(family, next, &c.mobile))?;
    let already = done.contains(&step);
    Ok((c, already))
}

/// The Aadhaar OTP step: `aadhar`* → an OTP to the Aadhaar-registered mobile.
pub async fn aadhaar_otp(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    c.required(&params, "aadhar", Aadhaar::parse);
    c.optional(&params, "otp_ref_id", |t| kosh_core::validate::Text::parse(t, 256));
    c.finish()?;
    crate::eko::dmt::require_dmt_agent(&app, auth.partner.id, user_code.expect("checked")).await?;
    issue_step_otp(&app, &auth, family, &mobile, KycStep::AadhaarOtp, json!(20)).await
}

/// Issues the OTP of `step`, unless it is done already.
async fn issue_step_otp(
    app: &AppState,
    auth: &Authenticated,
    family: &'static Family,
    mobile: &Mobile,
    step: KycStep,
    intent: serde_json::Value,
) -> EkoResult {
    let (c, already) = ready_for(app, auth, family, mobile, step).await?;
    if already {
        return after_step(app, family, &c).await;
    }
    let purpose = kyc_purpose(family, step);
    let request = otp_request(app, &purpose, mobile.as_str());
    let issued = crate::eko::dmt::execute(app, IssueOtp { partner_id: auth.partner.id, request }).await?;
    otp_answer(app, family, mobile.as_str(), &purpose, issued, intent)
}

/// DMT-Fino's e-KYC: `aadhar`*, `piddata`* → an OTP to the Aadhaar-registered mobile.
pub async fn fino_ekyc(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    c.required(&params, "aadhar", Aadhaar::parse);
    crate::eko::aeps::ekyc::pid_param(&mut c, &params);
    c.finish()?;
    crate::eko::dmt::require_dmt_agent(&app, auth.partner.id, user_code.expect("checked")).await?;
    issue_step_otp(&app, &auth, family, &mobile, KycStep::EkycOtp, json!("")).await
}

/// The PAN step: `pan_number`*.
pub async fn pan(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let pan = c.required(&params, "pan_number", Pan::parse);
    c.finish()?;
    let (Some(user_code), Some(pan)) = (user_code, pan) else { unreachable!("the checker fails when a required field is bad") };
    crate::eko::dmt::require_dmt_agent(&app, auth.partner.id, user_code).await?;
    ready_for(&app, &auth, family, &mobile, KycStep::Pan).await?;
    complete(&app, &auth, family, &mobile, KycStep::Pan, pan.as_str().into(), None, "").await
}

/// The biometric e-KYC step (DMT-Levin, DMT-Airtel): `piddata`*, `aadhar`, `otp_ref_id`.
pub async fn biometric(
    family: &'static Family,
    app: AppState,
    auth: Authenticated,
    path: Option<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = sender_mobile(path.as_deref(), &params)?;
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let aadhaar = c.optional(&params, "aadhar", Aadhaar::parse);
    crate::eko::aeps::ekyc::pid_param(&mut c, &params);
    c.finish()?;
    crate::eko::dmt::require_dmt_agent(&app, auth.partner.id, user_code.expect("checked")).await?;
    ready_for(&app, &auth, family, &mobile, KycStep::Biometric).await?;
    let detail = aadhaar.map_or(String::new(), |a| a.masked());
    complete(&app, &auth, family, &mobile, KycStep::Biometric, detail, None, "").await
}

/// A stored customer's mobile, typed again for a command (it was checked when stored).
fn stored_mobile(mobile: &str) -> Result<kosh_core::validate::Mobile, EkoReply> {
    kosh_core::validate::Mobile::parse(mobile).map_err(|m| EkoReply::invalid(vec![("customer_id".into(), m.into())]))
}
