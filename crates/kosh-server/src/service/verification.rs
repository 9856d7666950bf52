//! The verification engine: one code path for every kind in
//! [`kosh_core::verification::KINDS`]. *Record* (one command: the idempotency claim on
//! the partner's `client_ref_id`, the flow step checked, the agent checked, the fee
//! reserved in one pending ledger entry, a tid drawn) → *ask the provider* → *apply*
//! (one command: the answer stored masked, the fee posted, or voided when the provider
//! failed or the kind refunds negative answers). A request that dies between the steps
//! leaves a recorded verification that the worker
//! ([`crate::workers::verifications`]) refunds.

use crate::state::AppState;
use kosh_core::verification::{self as v, Fields, Flow, Kind};
use kosh_rails::verify::{Answer, ProviderError, VerifyRequest};
use kosh_store::commands::verification::{
    AnswerVerification, RecordVerification, Step, VerificationOutcome, AADHAAR_OTP_PURPOSE, MOBILE_OTP_PURPOSE,
};
use kosh_store::commands::IdemKey;
use kosh_store::error::CommandError;
use kosh_store::ops::otp::{OtpCheck, OtpRequest};
use kosh_store::ops::verifications::{State, Verification};
use kosh_store::scopes;
use serde_json::{json, Value};

/// A checked verification request.
pub struct Request {
    /// Its kind.
    pub kind: &'static Kind,
    /// The partner.
    pub partner_id: i64,
    /// The checked fields (clear: kept in memory for the provider only).
    pub fields: Fields,
    /// Its flow step.
    pub step: Step,
    /// The subject, masked and keyed-hashed.
    pub subject_masked: String,
    /// The subject's keyed hash.
    pub subject_hash: String,
    /// A keyed hash of every field.
    pub request_digest: String,
}

/// A verification as answered.
pub struct Done {
    /// The stored verification.
    pub verification: Verification,
    /// The provider's answer in clear, for this response only (`None` on a replay:
    /// answered from the stored, masked copy).
    pub live: Option<Value>,
    /// The OTP this step sent, and (sandbox mode) its code.
    pub otp: Option<(i64, Option<String>)>,
}

/// Why a verification was not made.
#[derive(Debug)]
pub enum VerifyError {
    /// No provider on this node (outside sandbox mode): nothing was recorded.
    NoProvider,
    /// The store refused it (a flow step out of order, a reused client_ref_id, funds).
    Refused(CommandError),
    /// The OTP was not accepted (the attempt counts; no fee).
    Otp(OtpCheck),
    /// The store could not answer.
    Store(String),
}

/// Runs one verification end to end; the same `client_ref_id` again answers the first
/// verification as it stands, without asking the provider.
pub async fn run(app: &AppState, req: Request) -> Result<Done, VerifyError> {
    let Some(provider) = app.verifier.clone() else { return Err(VerifyError::NoProvider) };
    let client_ref_id = req.fields.get("client_ref_id").cloned();
    let retention_ms = i64::try_from(app.config.verification_retention_days).unwrap_or(3_650) * 86_400_000;
    let record = RecordVerification {
        partner_id: req.partner_id,
        kind: req.kind.id.into(),
        client_ref_id: client_ref_id.clone(),
        user_code: req.fields.get("user_code").and_then(|u| u.parse().ok()),
        fee: v::Fee::of(req.kind, v::units(&req.fields)),
        subject_masked: req.subject_masked,
        subject_hash: req.subject_hash,
        request_digest: req.request_digest,
        step: req.step,
        purge_at_ms: app.now_ms().saturating_add(retention_ms),
    };
    let (outcome, replayed) = match client_ref_id {
        Some(key) => {
            let key =
                IdemKey { partner_id: kosh_core::ids::PartnerId::new(req.partner_id), scope: scopes::EKO_CLIENT_REF.into(), key };
            let executed = app.store.execute_idempotent(key, record).await.map_err(VerifyError::Refused)?;
            (executed.outcome, executed.replayed)
        }
        None => (app.store.execute(record).await.map_err(VerifyError::Refused)?, false),
    };
    let recorded = match outcome {
        VerificationOutcome::Recorded(recorded) => recorded,
        VerificationOutcome::OtpRefused(check) => return Err(VerifyError::Otp(check)),
        other => return Err(VerifyError::Store(format!("recording answered {other:?}"))),
    };
    if replayed {
        let current =
            app.store.verification(req.partner_id, recorded.tid).await.map_err(|e| VerifyError::Store(e.to_string()))?;
        let verification = current.ok_or_else(|| VerifyError::Store("a replayed verification is missing".into()))?;
        return Ok(Done { verification, live: None, otp: None });
    }
    let request = VerifyRequest { kind: req.kind.id, tid: recorded.tid, fields: req.fields, now_ms: app.now_ms() };
    let answer = provider.verify(&request).await;
    apply(app, req.kind, &request, recorded, answer).await
}

/// What the provider's answer makes of the verification.
struct Applied {
    state: State,
    message: String,
    live: Value,
    ready_at_ms: Option<i64>,
    refund: bool,
}

fn interpret(kind: &Kind, answer: Result<Answer, ProviderError>) -> Applied {
    match answer {
        Ok(Answer::Found(data)) => {
            let message = data["message"].as_str().filter(|_| data["name_shared"] == false).unwrap_or(kind.message).to_owned();
            Applied { state: State::Done, message, live: data, ready_at_ms: None, refund: false }
        }
        Ok(Answer::Negative { message, data }) => {
            Applied { state: State::Negative, message, live: data, ready_at_ms: None, refund: kind.refund_on_negative }
        }
        Ok(Answer::Later(parts)) => {
            let ready_at_ms = parts.iter().map(|p| p.ready_at_ms).max();
            let live = json!({ "parts": parts.iter().map(|p| json!({ "ready_at_ms": p.ready_at_ms, "data": p.data })).collect::<Vec<_>>() });
            Applied { state: State::Done, message: kind.message.into(), live, ready_at_ms, refund: false }
        }
        Err(ProviderError::Unavailable(why)) => Applied {
            state: State::Failed,
            message: format!("{why}; the fee was refunded"),
            live: json!({}),
            ready_at_ms: None,
            refund: true,
        },
    }
}

/// The OTP a step sends: UIDAI's to the Aadhaar's linked mobile, or ours to the mobile sent.
fn otp_to_send(app: &AppState, kind: &Kind, request: &VerifyRequest, applied: &Applied) -> Option<OtpRequest> {
    if applied.state != State::Done {
        return None;
    }
    let (purpose, subject) = match kind.flow {
        Flow::AadhaarOtp => (AADHAAR_OTP_PURPOSE, applied.live["otp_mobile"].as_str()?.to_owned()),
        Flow::MobileOtp => (MOBILE_OTP_PURPOSE, request.fields.get("mobile")?.clone()),
        _ => return None,
    };
    Some(crate::eko::dmt::otp_request(app, purpose, &subject))
}

async fn apply(
    app: &AppState,
    kind: &Kind,
    request: &VerifyRequest,
    recorded: Verification,
    answer: Result<Answer, ProviderError>,
) -> Result<Done, VerifyError> {
    let applied = interpret(kind, answer);
    let otp = otp_to_send(app, kind, request, &applied);
    let code = otp.as_ref().filter(|o| o.sandbox_visible).map(|o| o.code.expose().to_owned());
    let cmd = AnswerVerification {
        partner_id: recorded.partner_id,
        tid: recorded.tid,
        state: applied.state,
        message: applied.message.clone(),
        result_json: v::masked_for_storage(&applied.live).to_string(),
        ready_at_ms: applied.ready_at_ms,
        refund: applied.refund,
        otp,
    };
    match app.store.execute(cmd).await {
        Ok(VerificationOutcome::Answered { verification, otp_ref_id }) => {
            Ok(Done { verification, live: Some(applied.live), otp: otp_ref_id.map(|id| (id, code)) })
        }
        Ok(other) => Err(VerifyError::Store(format!("answering answered {other:?}"))),
        Err(e) => {
            tracing::error!(tid = recorded.tid, error = %e, "could not store the provider's answer; the worker refunds the verification");
            Err(VerifyError::Store(e.to_string()))
        }
    }
}
