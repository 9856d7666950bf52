//! An agent's AePS readiness: one-time e-KYC (Fingpay: OTP → verify → biometric,
//! complete at once; Fino: the same biometric call alone, for an agent with service 52
//! and no Fingpay OTP step, complete after `aeps_fino_ekyc_secs`) and the daily
//! authentication every IST calendar day.
//!
//! | outcome | status | response_type_id | message |
//! |---|---|---|---|
//! | OTP sent | 0 | 1600 | "OTP sent successfully"; data.otp_ref_id, data.reference_tid |
//! | OTP verified | 0 | 1604 | "OTP verified successfully"; data.otp_ref_id, data.reference_tid |
//! | wrong / expired / used / exhausted OTP | 302 / 303 / 1 / 1 | 302 / 303 / 1323 / 1324 | as `PUT /user/verify` |
//! | e-KYC complete (or already) | 0 | 1605 | "e-KYC successful" |
//! | Fino e-KYC submitted | 0 | 1606 (Kosh's choice) | "e-KYC request accepted; pending verification" |
//! | daily authentication done | 0 | 1713 | "Daily authentication successful" |
//! | Aadhaar differs from the e-KYC | 1 | 1714 | "Aadhaar number does not match the agent's e-KYC" |
//!
//! Every success carries `response_status_id` 0, as the platform's samples of these
//! answers (1600, 1604) do: they are writes.

use super::{aadhaar_ref, parse_aadhaar, refusal, require_aeps_service};
use crate::eko::auth::Authenticated;
use crate::eko::envelope::{status, EkoReply, EkoResult};
use crate::eko::params::{Checker, EkoParams};
use crate::eko::user::{require_active_service, store_error};
use crate::state::AppState;
use axum::extract::State;
use axum::Extension;
use kosh_core::aadhaar::Aadhaar;
use kosh_core::aeps::{self, Ekyc, SERVICE_FINGPAY, SERVICE_FINO};
use kosh_core::civil;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::validate::{self, Mobile};
use kosh_store::commands::aeps::{
    DailyAuthenticate, DailyAuthentication, EkycBiometric, EkycOtpIssue, EkycStep, Provider, RequestEkycOtp, VerifyEkycOtp,
    EKYC_OTP,
};
use kosh_store::commands::StoreCommand;
use kosh_store::ops::otp::{OtpCheck, OtpRequest};
use serde_json::{json, Value};

/// Wrong guesses allowed before an e-KYC OTP is void.
const MAX_OTP_ATTEMPTS: i64 = 3;

/// The Aadhaar parameter: the vendor spells it `aadhar`; `aadhaar` is accepted too.
fn aadhaar_param(c: &mut Checker, params: &EkoParams) -> Option<Aadhaar> {
    let name = if params.get("aadhar").is_none() && params.get("aadhaar").is_some() { "aadhaar" } else { "aadhar" };
    c.required(params, name, parse_aadhaar)
}

/// The PID block (`piddata`), checked for shape.
pub fn pid_param(c: &mut Checker, params: &EkoParams) {
    if let Some(text) = params.get("piddata") {
        if let Err(why) = aeps::check_pid(text) {
            c.fail("piddata", &why);
        }
    } else {
        c.fail("piddata", crate::eko::envelope::MISSING);
    }
}

async fn run<C: StoreCommand>(app: &AppState, cmd: C, user_code: UserCode) -> Result<C::Output, EkoReply> {
    app.store.execute(cmd).await.map_err(|e| refusal(e, user_code))
}

/// `POST …/aeps-fingpay/kyc/otp`: user_code*, aadhar*, customer_id* (the mobile the
/// OTP goes to), latlong*.
pub async fn request_otp(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let aadhaar = aadhaar_param(&mut c, &params);
    let mobile = c.required(&params, "customer_id", Mobile::parse);
    c.required(&params, "latlong", validate::parse_latlong);
    c.finish()?;
    let (Some(user_code), Some(aadhaar), Some(mobile)) = (user_code, aadhaar, mobile) else { unreachable!("checked") };
    require_active_service(&app, auth.partner.id, user_code, SERVICE_FINGPAY).await?;
    let otp = OtpRequest {
        purpose: EKYC_OTP.into(),
        subject: mobile.as_str().into(),
        code: kosh_core::secret::new_otp(6).into(),
        ttl_ms: i64::try_from(app.config.otp_ttl_secs).unwrap_or(86_400) * 1000,
        max_attempts: MAX_OTP_ATTEMPTS,
        sandbox_visible: app.config.sandbox,
    };
    let aadhaar = aadhaar_ref(&app, &aadhaar)?;
    let cmd = RequestEkycOtp { partner_id: auth.partner.id, user_code, aadhaar, otp };
    match run(&app, cmd, user_code).await? {
        EkycOtpIssue::Issued { otp_ref_id, reference_tid } => {
            let data = json!({ "user_code": user_code.to_string(), "otp_ref_id": otp_ref_id.to_string(),
                               "reference_tid": reference_tid.to_string(), "customer_id": mobile.as_str() });
            let reply = EkoReply::ok_transaction(1600, "OTP sent successfully", data);
            Ok(if app.config.sandbox {
                reply.with_hint(format!(
                    "sandbox: read the OTP with GET /sandbox/otp?mobile={}&purpose={EKYC_OTP}",
                    mobile.as_str()
                ))
            } else {
                reply
            })
        }
        EkycOtpIssue::RateLimited => Err(EkoReply::failure(status::FAILED, 1318, "Too many OTP requests")
            .with_hint("at most 10 e-KYC OTPs per mobile number per hour; use the latest OTP, or wait")),
        EkycOtpIssue::AlreadyComplete => Ok(ekyc_done(user_code, None)),
    }
}

/// `PUT …/aeps-fingpay/kyc/otp/verify`: user_code*, otp*, otp_ref_id, reference_tid.
pub async fn verify_otp(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let code = c.required(&params, "otp", |t| {
        let t = t.trim();
        (t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.to_owned()).ok_or("must be the 6-digit OTP")
    });
    let otp_ref_id = c.optional(&params, "otp_ref_id", parse_id);
    let reference_tid = c.optional(&params, "reference_tid", parse_id);
    c.finish()?;
    let (Some(user_code), Some(code)) = (user_code, code) else { unreachable!("checked") };
    require_active_service(&app, auth.partner.id, user_code, SERVICE_FINGPAY).await?;
    let cmd = VerifyEkycOtp { partner_id: auth.partner.id, user_code, code: code.into(), otp_ref_id, reference_tid };
    let check = run(&app, cmd, user_code).await?;
    let again = "request a new OTP with POST /ekoapi/v3/user/collection/aeps-fingpay/kyc/otp";
    Err(match check {
        OtpCheck::Accepted => return verified(&app, auth.partner.id, user_code, otp_ref_id).await,
        OtpCheck::Wrong { attempts_left } => EkoReply::failure(status::WRONG_OTP, status::WRONG_OTP, "Wrong OTP")
            .with_hint(format!("{attempts_left} attempt(s) left for this OTP")),
        OtpCheck::Expired => EkoReply::failure(status::OTP_EXPIRED, status::OTP_EXPIRED, "OTP expired").with_hint(again),
        OtpCheck::Used => EkoReply::failure(status::FAILED, 1323, "OTP already used").with_hint(again),
        OtpCheck::Exhausted => EkoReply::failure(status::FAILED, 1324, "OTP attempts exhausted").with_hint(again),
        OtpCheck::NotFound => EkoReply::failure(status::FAILED, 1325, "No OTP was requested")
            .with_hint("send the otp_ref_id that the e-KYC OTP request answered, or leave it out to check the latest OTP"),
    })
}

/// The answer to a verified e-KYC OTP: the `otp_ref_id` and `reference_tid` of the
/// step, for the biometric call that follows.
async fn verified(app: &AppState, partner_id: PartnerId, user_code: UserCode, otp_ref_id: Option<i64>) -> EkoResult {
    let agent = app.store.aeps_agent(partner_id, user_code).await.map_err(store_error)?;
    let agent = agent.ok_or_else(|| store_error("a verified e-KYC agent is missing"))?;
    let id = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
    let data = json!({ "user_code": user_code.to_string(), "otp_ref_id": id(otp_ref_id.or(agent.otp_ref_id)),
                       "reference_tid": id(agent.reference_tid) });
    let next = "next: the biometric step, PUT /ekoapi/v3/user/collection/aeps-fingpay/kyc/biometric";
    Ok(EkoReply::ok_transaction(1604, "OTP verified successfully", data).with_hint(next))
}

fn parse_id(text: &str) -> Result<i64, &'static str> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or("must be the id the OTP request answered")
}

/// The fields every biometric step takes: user_code*, aadhar*, piddata*, latlong.
fn biometric_fields(params: &EkoParams, auth: &Authenticated) -> Result<(UserCode, Aadhaar), EkoReply> {
    let mut c = crate::eko::checker(params, auth)?;
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let aadhaar = aadhaar_param(&mut c, params);
    pid_param(&mut c, params);
    c.optional(params, "latlong", validate::parse_latlong);
    c.optional(params, "bank_code", |t| aeps::bank(t).map(|_| ()).ok_or("is not a bank code Kosh knows"));
    c.finish()?;
    let (Some(user_code), Some(aadhaar)) = (user_code, aadhaar) else { unreachable!("checked") };
    Ok((user_code, aadhaar))
}

/// `PUT …/aeps-fingpay/kyc/biometric`, the vendor's "e-KYC using Biometric": Fingpay's
/// step 3 after a verified OTP (service 43), or Fino's whole e-KYC (service 52) for an
/// agent with no Fingpay OTP step in progress, pending for `aeps_fino_ekyc_secs`.
pub async fn fingpay_biometric(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let (user_code, aadhaar) = biometric_fields(&params, &auth)?;
    require_aeps_service(&app, &auth, user_code).await?;
    let fingpay = require_active_service(&app, auth.partner.id, user_code, SERVICE_FINGPAY).await.is_ok();
    let fino = require_active_service(&app, auth.partner.id, user_code, SERVICE_FINO).await.is_ok();
    let provider = if fingpay { Provider::Fingpay } else { Provider::Fino };
    biometric(&app, &auth, user_code, &aadhaar, provider, fino).await
}

/// `PUT …/aeps-fino/kyc/biometric`: Kosh's alias of the biometric call for Fino e-KYC
/// (service 52), complete after review.
pub async fn fino_biometric(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let (user_code, aadhaar) = biometric_fields(&params, &auth)?;
    require_active_service(&app, auth.partner.id, user_code, SERVICE_FINO).await?;
    biometric(&app, &auth, user_code, &aadhaar, Provider::Fino, true).await
}

async fn biometric(
    app: &AppState,
    auth: &Authenticated,
    user_code: UserCode,
    aadhaar: &Aadhaar,
    provider: Provider,
    fino_without_otp: bool,
) -> EkoResult {
    let fino_review_ms = i64::try_from(app.config.aeps_fino_ekyc_secs).unwrap_or(0) * 1000;
    let aadhaar = aadhaar_ref(app, aadhaar)?;
    let cmd = EkycBiometric { partner_id: auth.partner.id, user_code, aadhaar, provider, fino_without_otp, fino_review_ms };
    match run(app, cmd, user_code).await? {
        EkycStep { ekyc: Ekyc::FinoPending { ready_at_ms }, reference_tid } => Ok(EkoReply::ok_transaction(
            1606,
            "e-KYC request accepted; pending verification",
            json!({ "user_code": user_code.to_string(), "ekyc_status": "PENDING", "reference_tid": reference_tid.to_string(),
                    "ready_at": civil::iso_utc(ready_at_ms) }),
        )
        .with_hint(format!(
            "Fino e-KYC completes by itself at {} (aeps_fino_ekyc_secs); then authenticate daily",
            civil::iso_utc(ready_at_ms)
        ))),
        EkycStep { reference_tid, .. } => Ok(ekyc_done(user_code, Some(reference_tid))),
    }
}

fn ekyc_done(user_code: UserCode, reference_tid: Option<i64>) -> EkoReply {
    let mut data = json!({ "user_code": user_code.to_string(), "ekyc_status": "COMPLETED" });
    if let Some(r) = reference_tid.filter(|r| *r > 0) {
        data["reference_tid"] = Value::String(r.to_string());
    }
    EkoReply::ok_transaction(1605, "e-KYC successful", data)
        .with_hint("next: daily authentication, PUT /ekoapi/v3/user/collection/aeps-fingpay/kyc/biometric/daily")
}

/// `PUT …/aeps-fingpay/kyc/biometric/daily`: user_code*, aadhar*, piddata*, latlong, bank_code.
pub async fn daily(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let (user_code, aadhaar) = biometric_fields(&params, &auth)?;
    daily_authenticate(&app, &auth, user_code, &aadhaar).await
}

/// `POST /ekoapi/v2/aeps/aepsmerchantauth` (JSON): user_code*, aadhar*, piddata*, and the
/// legacy fields customer_id, client_ref_id, latlong, bank_code (checked when sent).
pub async fn daily_legacy(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mut c = Checker::default();
    c.optional(&params, "customer_id", Mobile::parse);
    c.optional(&params, "client_ref_id", validate::ClientRefId::parse);
    c.finish()?;
    let (user_code, aadhaar) = biometric_fields(&params, &auth)?;
    daily_authenticate(&app, &auth, user_code, &aadhaar).await
}

/// Daily authentication: the current IST day, the Aadhaar number of the e-KYC.
pub async fn daily_authenticate(app: &AppState, auth: &Authenticated, user_code: UserCode, aadhaar: &Aadhaar) -> EkoResult {
    require_aeps_service(app, auth, user_code).await?;
    let aadhaar = aadhaar_ref(app, aadhaar)?;
    let cmd = DailyAuthenticate { partner_id: auth.partner.id, user_code, aadhaar };
    let DailyAuthentication { reference_tid, ist_day } = run(app, cmd, user_code).await?;
    let valid_until_ms = (ist_day + 1) * 86_400_000 - civil::IST_OFFSET_MS;
    let data = json!({ "user_code": user_code.to_string(), "reference_tid": reference_tid.to_string(),
                       "valid_until": civil::iso_utc(valid_until_ms) });
    Ok(EkoReply::ok_transaction(1713, "Daily authentication successful", data))
}
