//! Verifying an agent's mobile number with an OTP (`PUT /user/request/otp`, then
//! `PUT /user/verify`), and the sandbox's OTP reader (`GET /sandbox/otp`).
//!
//! OTPs are real: random, expiring after `otp_ttl_secs`, single-use, [`MAX_ATTEMPTS`]
//! guesses, stored hashed. Only in sandbox mode is the code also kept readable, so a
//! partner can finish the flow without a phone.
//!
//! | outcome | status | response_type_id | message |
//! |---|---|---|---|
//! | OTP sent | 0 | 1316 (Kosh's choice) | "OTP sent successfully"; data.otp_ref_id |
//! | mobile already verified (request or verify) | 0 | 1317 | "Mobile number already verified" |
//! | too many OTP requests | 1 | 1318 (Kosh's choice) | "Too many OTP requests" |
//! | verified | 0 | 1319 (Kosh's choice) | "Mobile number verified successfully" |
//! | wrong OTP | 302 | 302 | "Wrong OTP"; the hint says how many attempts are left |
//! | expired | 303 | 303 | "OTP expired" |
//! | already used | 1 | 1323 (Kosh's choice) | "OTP already used" |
//! | no attempts left | 1 | 1324 (Kosh's choice) | "OTP attempts exhausted" |
//! | no such OTP | 1 | 1325 (Kosh's choice) | "No OTP was requested for this mobile" |

use super::auth::{self, Authenticated};
use super::envelope::{status, EkoReply, EkoResult};
use super::params::{Checker, EkoParams};
use super::user::store_error;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Extension, Router};
use kosh_core::civil;
use kosh_core::validate::{Mobile, Text};
use kosh_store::commands::{CheckOtp, IssueOtp, USER_MOBILE_OTP};
use kosh_store::ops::otp::{OtpCheck, OtpIssue, OtpRequest};
use serde_json::json;

/// Digits in an OTP.
pub const OTP_DIGITS: u32 = 6;
/// Wrong guesses allowed before an OTP is void.
pub const MAX_ATTEMPTS: i64 = 3;
/// Longest OTP purpose name the sandbox reader accepts, in characters.
const MAX_PURPOSE_CHARS: usize = 64;

/// `PUT /user/request/otp`: initiator_id*, mobile*.
pub async fn request(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let mobile = c.required(&params, "mobile", Mobile::parse);
    c.finish()?;
    let Some(mobile) = mobile else { unreachable!("the checker fails when a required field is bad") };
    let partner_id = auth.partner.id;
    if app.store.is_mobile_verified(partner_id, mobile.as_str()).await.map_err(store_error)? {
        return Ok(already_verified(&mobile));
    }
    let ttl_ms = i64::try_from(app.config.otp_ttl_secs).unwrap_or(i64::MAX / 1000) * 1000;
    let request = OtpRequest {
        purpose: USER_MOBILE_OTP.into(),
        subject: mobile.as_str().into(),
        code: kosh_core::secret::new_otp(OTP_DIGITS).into(),
        ttl_ms,
        max_attempts: MAX_ATTEMPTS,
        sandbox_visible: app.config.sandbox,
    };
    match app.store.execute(IssueOtp { partner_id, request }).await.map_err(store_error)? {
        OtpIssue::Issued { otp_ref_id } => {
            let data = json!({ "mobile": mobile.as_str(), "otp_ref_id": otp_ref_id.to_string(),
                               "otp_validity_secs": app.config.otp_ttl_secs });
            let reply = EkoReply::ok(1316, "OTP sent successfully", data);
            Ok(if app.config.sandbox {
                reply.with_hint(format!(
                    "sandbox: read the OTP with GET /sandbox/otp?mobile={}&purpose={USER_MOBILE_OTP}",
                    mobile.as_str()
                ))
            } else {
                reply
            })
        }
        OtpIssue::RateLimited => Err(failure(1318, "Too many OTP requests").with_hint(format!(
            "at most {} OTPs per mobile number per hour; use the latest OTP, or wait",
            kosh_store::ops::otp::MAX_PER_WINDOW
        ))),
    }
}

/// `PUT /user/verify`: initiator_id*, mobile*, otp*, and optionally the otp_ref_id the
/// request answered (without it, the latest OTP for the mobile is checked).
pub async fn verify(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let mobile = c.required(&params, "mobile", Mobile::parse);
    let otp = c.required(&params, "otp", parse_otp);
    let otp_ref_id = c.optional(&params, "otp_ref_id", parse_otp_ref_id);
    c.finish()?;
    let (Some(mobile), Some(code)) = (mobile, otp) else { unreachable!("the checker fails when a required field is bad") };
    let partner_id = auth.partner.id;
    if app.store.is_mobile_verified(partner_id, mobile.as_str()).await.map_err(store_error)? {
        return Ok(already_verified(&mobile));
    }
    let cmd =
        CheckOtp { partner_id, purpose: USER_MOBILE_OTP.into(), subject: mobile.as_str().into(), code: code.into(), otp_ref_id };
    let check = app.store.execute(cmd).await.map_err(store_error)?;
    check_answer(check, &mobile, otp_ref_id.is_some(), app.config.otp_ttl_secs)
}

/// The answer to an OTP check.
fn check_answer(check: OtpCheck, mobile: &Mobile, named_by_ref_id: bool, ttl_secs: u64) -> EkoResult {
    let request_again = "request a new OTP with PUT /user/request/otp";
    let wrong = || failure_with_status(status::WRONG_OTP, "Wrong OTP");
    let not_found = || failure(1325, "No OTP was requested for this mobile");
    Err(match check {
        OtpCheck::Accepted => {
            return Ok(EkoReply::ok(1319, "Mobile number verified successfully", json!({ "mobile": mobile.as_str() })))
        }
        OtpCheck::Wrong { attempts_left: 0 } => wrong().with_hint(format!("no attempts left; {request_again}")),
        OtpCheck::Wrong { attempts_left } => wrong().with_hint(format!("{attempts_left} attempt(s) left for this OTP")),
        OtpCheck::Expired => failure_with_status(status::OTP_EXPIRED, "OTP expired")
            .with_hint(format!("OTPs are valid for {ttl_secs} s; {request_again}")),
        OtpCheck::Used => failure(1323, "OTP already used").with_hint(format!("each OTP works once; {request_again}")),
        OtpCheck::Exhausted => failure(1324, "OTP attempts exhausted")
            .with_hint(format!("{MAX_ATTEMPTS} wrong attempts void an OTP; {request_again}")),
        OtpCheck::NotFound if named_by_ref_id => not_found().with_hint(
            "no OTP with this otp_ref_id was sent to this mobile; send the otp_ref_id that PUT /user/request/otp answered, or leave it out",
        ),
        OtpCheck::NotFound => not_found().with_hint(request_again),
    })
}

fn already_verified(mobile: &Mobile) -> EkoReply {
    EkoReply::ok(1317, "Mobile number already verified", json!({ "mobile": mobile.as_str() }))
}

/// A business failure whose `status` is the generic 1.
fn failure(response_type_id: i64, message: &str) -> EkoReply {
    EkoReply::failure(status::FAILED, response_type_id, message)
}

/// A business failure whose `status` and `response_type_id` are the same code.
fn failure_with_status(code: i64, message: &str) -> EkoReply {
    EkoReply::failure(code, code, message)
}

fn parse_otp(text: &str) -> Result<String, &'static str> {
    let t = text.trim();
    if !(4..=9).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be the 4 to 9 digit OTP");
    }
    Ok(t.to_owned())
}

fn parse_otp_ref_id(text: &str) -> Result<i64, &'static str> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or("must be the otp_ref_id that the OTP request answered")
}

/// The sandbox's OTP reader, outside the Eko prefixes: `GET /sandbox/otp`, signed with
/// the same Eko headers, so a partner reads only its own OTPs. Outside sandbox mode OTP
/// codes are never stored, and the path answers 404.
pub fn sandbox_router(state: AppState) -> Router<AppState> {
    if !state.config.sandbox {
        return Router::new().route("/sandbox/otp", get(sandbox_off));
    }
    Router::new()
        .route("/sandbox/otp", get(sandbox_otp))
        .route_layer(from_fn_with_state(state, auth::authenticate))
        .method_not_allowed_fallback(super::method_not_allowed)
}

async fn sandbox_off() -> EkoReply {
    EkoReply::http_error(StatusCode::NOT_FOUND, "Not found: /sandbox/otp exists only in sandbox mode")
        .with_hint("this server runs with sandbox mode off, so OTP codes are stored only hashed and cannot be read")
}

/// `GET /sandbox/otp?mobile=…&purpose=…` (purpose defaults to `user_mobile`): the
/// newest OTP still usable (not used, not expired) for that mobile and purpose.
async fn sandbox_otp(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    // initiator_id is optional here (this is Kosh's endpoint, not Eko's), but when sent it must be right.
    let mut c = match params.get("initiator_id") {
        Some(_) => super::checker(&params, &auth)?,
        None => Checker::default(),
    };
    let mobile = c.required(&params, "mobile", Mobile::parse);
    let purpose = c.optional(&params, "purpose", |t| Text::parse(t, MAX_PURPOSE_CHARS));
    c.finish()?;
    let Some(mobile) = mobile else { unreachable!("the checker fails when a required field is bad") };
    let purpose = purpose.map_or_else(|| USER_MOBILE_OTP.to_owned(), |p| p.as_str().to_owned());
    let now_ms = app.now_ms();
    let latest = app.store.sandbox_otp(auth.partner.id, &purpose, mobile.as_str()).await.map_err(store_error)?;
    let none =
        |why: String| EkoReply::http_error(StatusCode::NOT_FOUND, "No usable OTP for this mobile and purpose").with_hint(why);
    match latest {
        None => Err(none(format!(
            "no unused OTP was issued to {} for purpose {purpose} by your partner account; request one first",
            mobile.as_str()
        ))),
        Some((_, _, expires_at_ms)) if expires_at_ms <= now_ms => {
            Err(none(format!("the latest OTP expired at {}; request a new one", civil::iso_utc(expires_at_ms))))
        }
        Some((otp_ref_id, code, expires_at_ms)) => Ok(EkoReply::ok(
            -1,
            "Sandbox OTP",
            json!({ "otp": code, "otp_ref_id": otp_ref_id.to_string(), "mobile": mobile.as_str(), "purpose": purpose,
                    "expires_at": civil::iso_utc(expires_at_ms), "expires_in_secs": (expires_at_ms - now_ms) / 1000 }),
        )),
    }
}
