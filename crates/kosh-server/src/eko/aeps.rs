//! AePS in the Eko dialect: the agent's one-time e-KYC and daily authentication
//! ([`ekyc`]), and transactions with their inquiry ([`transact`]). The hosted gateway
//! page ([`crate::gateway`]) reuses the answers built here.
//!
//! | method and path | what | response_type_id |
//! |---|---|---|
//! | `POST /ekoapi/v3/user/collection/aeps-fingpay/kyc/otp` | Fingpay e-KYC step 1: OTP to `customer_id` | 1600 |
//! | `PUT /ekoapi/v3/user/collection/aeps-fingpay/kyc/otp/verify` | step 2: `otp`, `otp_ref_id`, `reference_tid` | 1604 |
//! | `PUT /ekoapi/v3/user/collection/aeps-fingpay/kyc/biometric` | step 3: `aadhar`, `piddata` → e-KYC complete; for a service-52 agent with no OTP step, Fino e-KYC: pending `aeps_fino_ekyc_secs` | 1605; Fino 1606 (Kosh's choice) |
//! | `PUT /ekoapi/v3/user/collection/aeps-fino/kyc/biometric` | Kosh's alias for Fino e-KYC (service 52) | 1606 |
//! | `PUT /ekoapi/v3/user/collection/aeps-fingpay/kyc/biometric/daily` | daily authentication | 1713 |
//! | `POST /ekoapi/v2/aeps/aepsmerchantauth` | daily authentication (legacy, JSON) | 1713 |
//! | `POST /ekoapi/v2/aeps` | cash withdrawal (2), balance enquiry (3), mini statement (4) | 1463/1464/1465, 1466/1467, 1527/1528 |
//! | `GET /ekoapi/v2/aeps/transactions/{tid or client_ref_id:REF}` | AePS transaction inquiry | 1472 |
//!
//! Every path is also served under `/ekoicici`; v3 paths under v3, v2 paths under v2.
//! A missing step answers with the platform's words: "Agent not allowed" (status 346,
//! service 43/52 not active), "Aadhaar updation pending" (rt 2136, e-KYC not complete),
//! "Daily authentication pending" (rt 1714, no authentication this IST day).

pub mod ekyc;
pub mod transact;

use super::auth::{self, Authenticated};
use super::envelope::{status, EkoReply};
use super::user::store_error;
use crate::state::AppState;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::Router;
use kosh_core::aadhaar::Aadhaar;
use kosh_core::aeps::{self, Ekyc, NotReady, SERVICE_FINGPAY, SERVICE_FINO};
use kosh_core::civil;
use kosh_core::ids::UserCode;
use kosh_store::commands::aeps::AepsRejection;
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::aeps::AadhaarRef;

/// The AePS routes under their prefixes, behind Eko authentication.
pub fn router(state: AppState) -> Router<AppState> {
    let v2 = Router::new()
        .route("/aeps", post(transact::transact))
        .route("/aeps/aepsmerchantauth", post(ekyc::daily_legacy))
        .route("/aeps/transactions/{reference}", get(transact::inquiry));
    let fingpay = "/user/collection/aeps-fingpay/kyc";
    let v3 = Router::new()
        .route(&format!("{fingpay}/otp"), post(ekyc::request_otp))
        .route(&format!("{fingpay}/otp/verify"), put(ekyc::verify_otp))
        .route(&format!("{fingpay}/biometric"), put(ekyc::fingpay_biometric))
        .route(&format!("{fingpay}/biometric/daily"), put(ekyc::daily))
        .route("/user/collection/aeps-fino/kyc/biometric", put(ekyc::fino_biometric))
        .route("/aeps/transactions/{reference}", get(transact::inquiry));
    let mut router = Router::new();
    for prefix in ["/ekoapi/v2", "/ekoicici/v2"] {
        router = router.nest(prefix, v2.clone());
    }
    for prefix in ["/ekoapi/v3", "/ekoicici/v3"] {
        router = router.nest(prefix, v3.clone());
    }
    router.route_layer(from_fn_with_state(state, auth::authenticate)).method_not_allowed_fallback(super::method_not_allowed)
}

/// Parses the `aadhar` parameter. The vendor's API takes it RSA-encrypted under the
/// vendor's public key; no private key for that exists here, so Kosh takes the plain
/// 12 digits (the request_hash is computed over them either way) and explains a
/// ciphertext instead of failing on its checksum.
pub fn parse_aadhaar(text: &str) -> Result<Aadhaar, &'static str> {
    let t = text.trim();
    let looks_encrypted = t.len() > 16 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if looks_encrypted && !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("looks RSA-encrypted; Kosh cannot decrypt it (there is no platform private key here): send the plain 12-digit Aadhaar number");
    }
    Aadhaar::parse(t)
}

/// The masked and keyed-hashed forms of an Aadhaar number: all the store ever sees.
/// The key is `aeps_aadhaar_pepper` from the configuration, never from the database.
pub fn aadhaar_ref(app: &AppState, aadhaar: &Aadhaar) -> Result<AadhaarRef, EkoReply> {
    let pepper = app.config.aadhaar_pepper().ok_or_else(|| store_error("aeps_aadhaar_pepper is not configured"))?;
    Ok(AadhaarRef { masked: aadhaar.masked(), hash: aadhaar.keyed_hash(pepper) })
}

/// The refusal of every AePS transaction on a server outside sandbox mode.
pub const NO_BANK_CONNECTOR: &str = "No AePS bank connector is configured on this server";

/// `Ok` when this server has a bank to send AePS transactions to. Kosh's only AePS bank
/// is the sandbox simulator (`kosh_core::aeps::sandbox`), whose answers are invented:
/// outside sandbox mode it must never answer, so a transaction is refused before
/// anything is stored.
pub fn require_bank_connector(app: &AppState) -> Result<(), EkoReply> {
    if app.config.sandbox {
        return Ok(());
    }
    Err(EkoReply::failure(status::FAILED, -1, NO_BANK_CONNECTOR).with_hint(
        "Kosh's only AePS bank is the sandbox simulator, which answers only in sandbox mode (sandbox = true); this server runs outside sandbox mode and has no connection to a real AePS acquirer, so it cannot run cash withdrawals, balance enquiries or mini statements. Nothing was done.",
    ))
}

/// `Ok` when the agent has service 43 (Fingpay/gateway) or 52 (Fino) active.
pub async fn require_aeps_service(app: &AppState, auth: &Authenticated, user_code: UserCode) -> Result<(), EkoReply> {
    let fingpay = super::user::require_active_service(app, auth.partner.id, user_code, SERVICE_FINGPAY).await;
    match fingpay {
        Ok(()) => Ok(()),
        Err(first) if first.status == status::AGENT_NOT_ALLOWED => {
            super::user::require_active_service(app, auth.partner.id, user_code, SERVICE_FINO).await.map_err(|_| {
                first.with_hint(format!(
                    "AePS needs service {SERVICE_FINGPAY} (Fingpay / gateway) or {SERVICE_FINO} (Fino) active for user_code {user_code}; activate one with PUT /user/service/activate"
                ))
            })
        }
        Err(other) => Err(other),
    }
}

/// The answer for an agent that may not transact yet.
pub fn not_ready(why: NotReady, user_code: UserCode) -> EkoReply {
    let v3 = "/ekoapi/v3/user/collection/aeps-fingpay/kyc";
    match why {
        NotReady::Ekyc(state) => {
            let hint = match state {
                Ekyc::NotStarted => format!("user_code {user_code} has no AePS e-KYC: do Fingpay e-KYC (service 43: POST {v3}/otp, PUT {v3}/otp/verify, PUT {v3}/biometric) or Fino e-KYC (service 52: PUT {v3}/biometric alone)"),
                Ekyc::OtpSent => format!("Fingpay e-KYC of user_code {user_code} waits for its OTP: PUT {v3}/otp/verify"),
                Ekyc::OtpVerified => format!("Fingpay e-KYC of user_code {user_code} waits for its biometric step: PUT {v3}/biometric"),
                Ekyc::FinoPending { ready_at_ms } => format!(
                    "Fino e-KYC of user_code {user_code} is under review until {} (IST {})",
                    civil::iso_utc(ready_at_ms),
                    civil::ist_datetime(ready_at_ms)
                ),
                Ekyc::Complete => format!("e-KYC of user_code {user_code} is complete"),
            };
            EkoReply::failure(status::FAILED, 2136, "Aadhaar updation pending").with_hint(hint)
        }
        NotReady::DailyAuthentication => EkoReply::failure(status::FAILED, 1714, "Daily authentication pending").with_hint(format!(
            "user_code {user_code} must authenticate once every IST calendar day before transacting: PUT {v3}/biometric/daily or POST /ekoapi/v2/aeps/aepsmerchantauth"
        )),
    }
}

/// The answer for an AePS command the store refused (or failed).
pub fn refusal(e: CommandError, user_code: UserCode) -> EkoReply {
    let Some(rejection) = e.rejection() else { return store_error(e) };
    let fail = |rt: i64, message: &str| EkoReply::failure(status::FAILED, rt, message);
    match rejection {
        Rejection::AgentNotFound => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found")
            .with_hint(format!("no user (agent) {user_code} was onboarded by you")),
        Rejection::RequestHashUsed { used_at_ms } => crate::eko::auth::request_hash_reused(*used_at_ms),
        Rejection::IdempotencyConflict | Rejection::Aeps(AepsRejection::ClientRefIdUsed) => {
            fail(-1, "Duplicate client_ref_id").with_hint("client_ref_id was already used for a different transaction; send a new one for each transaction (a retry of the same request answers the first result)")
        }
        Rejection::Aeps(r) => match r {
            AepsRejection::NotReady(why) => not_ready(*why, user_code),
            AepsRejection::EkycStep { expected, found } => fail(-1, "e-KYC step out of order")
                .with_hint(format!("this step needs {expected}; the agent's e-KYC is {found}")),
            AepsRejection::ReferenceMismatch => fail(-1, "Invalid reference_tid")
                .with_hint("send the reference_tid that the e-KYC OTP request answered"),
            AepsRejection::AadhaarMismatch => fail(1714, "Aadhaar number does not match the agent's e-KYC")
                .with_hint("the agent authenticates with the same Aadhaar number used for the e-KYC"),
            AepsRejection::DailyLimit => fail(-1, "Transaction limit exceeded for this Aadhaar").with_hint(format!(
                "at most {} AePS transactions per Aadhaar number per day (IST); try again tomorrow",
                aeps::MAX_TX_PER_AADHAAR_PER_DAY
            )),
            AepsRejection::TransactionNotFound => EkoReply::failure(168, -1, "TID does not exist"),
            other => fail(-1, &other.to_string()),
        },
        other => fail(-1, &other.to_string()),
    }
}
