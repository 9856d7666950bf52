//! Commands of verification (KYC): record a verification (its fee reserved in one
//! pending ledger entry, its flow step checked), store the provider's answer (the fee
//! posted, or voided when the provider failed), and sweep (purge answers past their
//! retention; refund verifications a crash left unanswered).

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::otp::{self, OtpCheck, OtpIssue, OtpRequest};
use crate::ops::verifications::{self as ops, Answered, NewRow, State, Verification};
use crate::ops::{agents, ledger};
use crate::sql::Conn;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Entry, EntryState, Leg, Side};
use kosh_core::money::Paise;
use kosh_core::secret::Secret;
use kosh_core::verification::{Fee, VerifyRejection};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The counter verification tids come from (starting at 5 000 000 000).
const TID_COUNTER: &str = "verify_tid";
/// The purpose of the OTP UIDAI sends for an Aadhaar XML e-KYC.
pub const AADHAAR_OTP_PURPOSE: &str = "aadhaar_kyc";
/// The purpose of the OTP the mobile-verification kind sends.
pub const MOBILE_OTP_PURPOSE: &str = "kyc_mobile";
/// The ledger entry kind of verification fees.
pub const ENTRY_KIND: &str = "verification";

/// A verification command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationCommand {
    /// Records a verification.
    Record(RecordVerification),
    /// Stores the provider's answer.
    Answer(AnswerVerification),
    /// Purges and refunds (the worker).
    Sweep(SweepVerifications),
}

/// Records a verification: the step it belongs to is checked, its fee reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordVerification {
    /// The partner.
    pub partner_id: i64,
    /// The kind's id.
    pub kind: String,
    /// The partner's reference (its idempotency key, when sent).
    pub client_ref_id: Option<String>,
    /// The agent, which must exist when sent.
    pub user_code: Option<i64>,
    /// The fee (server pricing: not in the fingerprint).
    pub fee: Fee,
    /// The subject, masked.
    pub subject_masked: String,
    /// The subject's keyed hash.
    pub subject_hash: String,
    /// A keyed hash of every checked field: what the fingerprint covers of the request.
    pub request_digest: String,
    /// The flow step.
    pub step: Step,
    /// When the answer is purged (the retention: not in the fingerprint).
    pub purge_at_ms: i64,
}

/// What a recorded verification belongs to in its flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// A verification on its own.
    Plain,
    /// Opens a flow: `key` opens the next step until `expires_at_ms` (Aadhaar consent).
    Open {
        /// The access key answered.
        key: String,
        /// Until when.
        expires_at_ms: i64,
    },
    /// Needs the step `after` (of kind `after_kind`, same subject, unexpired) and opens the next.
    Continue {
        /// The previous step's access key.
        after: String,
        /// The previous step's kind.
        after_kind: String,
        /// The key this step answers.
        key: String,
        /// Until when.
        expires_at_ms: i64,
    },
    /// Needs the OTP step `after`, and the code the customer received.
    WithOtp {
        /// The OTP step's access key.
        after: String,
        /// The OTP step's kind.
        after_kind: String,
        /// The code typed.
        code: Secret,
    },
    /// Needs the mobile OTP `otp_ref_id` sent to `mobile`, and its code.
    MobileOtp {
        /// The mobile the OTP went to.
        mobile: String,
        /// The OTP's id.
        otp_ref_id: i64,
        /// The code typed.
        code: Secret,
    },
}

/// Stores the provider's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerVerification {
    /// The partner.
    pub partner_id: i64,
    /// The verification.
    pub tid: i64,
    /// Done, negative or failed.
    pub state: State,
    /// The message.
    pub message: String,
    /// The masked answer (JSON).
    pub result_json: String,
    /// Answers that come later: when the last part is ready.
    pub ready_at_ms: Option<i64>,
    /// Void the fee rather than post it.
    pub refund: bool,
    /// An OTP to send (to the mobile the provider named); its reference goes to the next step.
    pub otp: Option<OtpRequest>,
}

/// Purges answers past their retention and refunds verifications left unanswered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepVerifications {
    /// Refund verifications still recorded since before this.
    pub stale_before_ms: i64,
    /// At most this many of each per command.
    pub limit: i64,
}

/// What a verification command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationOutcome {
    /// Recorded (the idempotency record keeps this, without any answer).
    Recorded(Verification),
    /// The OTP was not accepted; nothing was recorded, but the attempt counts.
    OtpRefused(OtpCheck),
    /// The answer was stored (or another caller's was found).
    Answered {
        /// The verification now.
        verification: Verification,
        /// The OTP sent, when the step sent one.
        otp_ref_id: Option<i64>,
    },
    /// What the sweep did.
    Swept {
        /// Answers emptied.
        purged: u64,
        /// Verifications refunded.
        refunded: u64,
    },
}

fn verification_outcome(outcome: Outcome) -> CmdResult<VerificationOutcome> {
    match outcome {
        Outcome::Verification(v) => Ok(v),
        other => unexpected(other),
    }
}

store_command!(RecordVerification => VerificationOutcome, |c| Command::Verification(VerificationCommand::Record(c)),
    verification_outcome, o => o);
store_command!(AnswerVerification => VerificationOutcome, |c| Command::Verification(VerificationCommand::Answer(c)),
    verification_outcome, o => o);
store_command!(SweepVerifications => VerificationOutcome, |c| Command::Verification(VerificationCommand::Sweep(c)),
    verification_outcome, o => o);

impl RecordVerification {
    /// What the partner sent: a retry after a price or retention change, or with a fresh
    /// access key drawn, is the same request.
    pub fn fingerprint_fields(&self) -> Value {
        json!({ "kind": self.kind, "client_ref_id": self.client_ref_id, "user_code": self.user_code,
                "request_digest": self.request_digest })
    }
}

/// Runs a verification command inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &VerificationCommand, now_ms: i64) -> CmdResult<Outcome> {
    let outcome = match cmd {
        VerificationCommand::Record(r) => record(db, r, now_ms).await?,
        VerificationCommand::Answer(a) => answer(db, a, now_ms).await?,
        VerificationCommand::Sweep(s) => sweep(db, s, now_ms).await?,
    };
    Ok(Outcome::Verification(outcome))
}

async fn record(db: &mut impl Conn, r: &RecordVerification, now_ms: i64) -> CmdResult<VerificationOutcome> {
    if let Some(user_code) = r.user_code {
        agents::get(db, PartnerId::new(r.partner_id), UserCode::new(user_code)).await?.ok_or(Rejection::AgentNotFound)?;
    }
    let (flow_key, flow_expires_at_ms) = match &r.step {
        Step::Plain | Step::MobileOtp { .. } | Step::WithOtp { .. } => (None, None),
        Step::Open { key, expires_at_ms } => (Some(key.clone()), Some(*expires_at_ms)),
        Step::Continue { key, expires_at_ms, .. } => (Some(key.clone()), Some(*expires_at_ms)),
    };
    if let Some(check) = check_step(db, r, now_ms).await? {
        return Ok(VerificationOutcome::OtpRefused(check));
    }
    let tid = agents::next_counter(db, TID_COUNTER).await?;
    let entry_id = charge(db, r.partner_id, tid, r.fee, now_ms).await?;
    let row = NewRow {
        partner_id: r.partner_id,
        tid,
        kind: r.kind.clone(),
        client_ref_id: r.client_ref_id.clone(),
        user_code: r.user_code,
        fee_paise: r.fee.fee_paise,
        gst_paise: r.fee.gst_paise,
        entry_id,
        subject_masked: r.subject_masked.clone(),
        subject_hash: r.subject_hash.clone(),
        flow_key,
        flow_expires_at_ms,
        purge_at_ms: r.purge_at_ms,
    };
    ops::insert(db, &row, now_ms).await?;
    let stored = ops::get(db, r.partner_id, tid).await?.ok_or(Rejection::Verification(VerifyRejection::NotFound))?;
    Ok(VerificationOutcome::Recorded(stored))
}

/// Checks the step a verification continues; `Some` when its OTP was not accepted.
async fn check_step(db: &mut impl Conn, r: &RecordVerification, now_ms: i64) -> CmdResult<Option<OtpCheck>> {
    match &r.step {
        Step::Plain | Step::Open { .. } => Ok(None),
        Step::Continue { after, after_kind, .. } => {
            previous(db, r, after, after_kind, now_ms).await?;
            Ok(None)
        }
        Step::WithOtp { after, after_kind, code } => {
            let before = previous(db, r, after, after_kind, now_ms).await?;
            let flow: Value = serde_json::from_str(&before.flow_json).unwrap_or(Value::Null);
            let (Some(otp_ref_id), Some(mobile)) = (flow["otp_ref_id"].as_i64(), flow["mobile"].as_str()) else {
                return Err(out_of_order("the OTP step sent no OTP; request a new one").into());
            };
            let check = otp::check(
                db,
                PartnerId::new(r.partner_id),
                AADHAAR_OTP_PURPOSE,
                mobile,
                code.expose(),
                Some(otp_ref_id),
                now_ms,
            )
            .await?;
            Ok((check != OtpCheck::Accepted).then_some(check))
        }
        Step::MobileOtp { mobile, otp_ref_id, code } => {
            let check = otp::check(
                db,
                PartnerId::new(r.partner_id),
                MOBILE_OTP_PURPOSE,
                mobile,
                code.expose(),
                Some(*otp_ref_id),
                now_ms,
            )
            .await?;
            Ok((check != OtpCheck::Accepted).then_some(check))
        }
    }
}

fn out_of_order(why: &str) -> Rejection {
    Rejection::Verification(VerifyRejection::OutOfOrder(why.into()))
}

/// The previous step named by `key`: of `kind`, verified, for the same subject, unexpired.
async fn previous(db: &mut impl Conn, r: &RecordVerification, key: &str, kind: &str, now_ms: i64) -> CmdResult<Verification> {
    let found = ops::by_flow_key(db, r.partner_id, key).await?;
    let Some((step, subject_hash)) = found.filter(|(v, _)| v.kind == kind) else {
        return Err(out_of_order(&format!("this access_key was not answered by the {kind} step; do that step first")).into());
    };
    if step.state != State::Done {
        return Err(out_of_order(&format!("the {kind} step did not succeed; start again")).into());
    }
    if subject_hash != r.subject_hash {
        return Err(out_of_order(&format!("the {kind} step was for another number; send the same aadhar")).into());
    }
    if step.flow_expires_at_ms.is_some_and(|at| at <= now_ms) {
        return Err(Rejection::Verification(VerifyRejection::KeyExpired).into());
    }
    Ok(step)
}

/// Reserves the fee: wallet debited, revenue and GST credited, pending; `None` when free.
async fn charge(db: &mut impl Conn, partner_id: i64, tid: i64, fee: Fee, now_ms: i64) -> CmdResult<Option<i64>> {
    let Some(total) = Paise::new(fee.fee_paise).filter(|p| !p.is_zero()) else { return Ok(None) };
    let wallet = ledger::account(db, partner_id, &AccountKind::PartnerWallet, now_ms).await?;
    let mut legs = vec![Leg { account_id: wallet, side: Side::Debit, amount: total }];
    let revenue = Paise::new(fee.fee_paise - fee.gst_paise).filter(|p| !p.is_zero());
    if let Some(amount) = revenue {
        let account_id = ledger::account(db, partner_id, &AccountKind::FeeRevenue, now_ms).await?;
        legs.push(Leg { account_id, side: Side::Credit, amount });
    }
    if let Some(amount) = Paise::new(fee.gst_paise).filter(|p| !p.is_zero()) {
        let account_id = ledger::account(db, partner_id, &AccountKind::GstPayable, now_ms).await?;
        legs.push(Leg { account_id, side: Side::Credit, amount });
    }
    let entry = Entry::new(legs).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
    Ok(Some(
        ledger::record(db, PartnerId::new(partner_id), ENTRY_KIND, &tid.to_string(), &entry, EntryState::Pending, now_ms).await?,
    ))
}

async fn answer(db: &mut impl Conn, a: &AnswerVerification, now_ms: i64) -> CmdResult<VerificationOutcome> {
    let current = ops::get(db, a.partner_id, a.tid).await?.ok_or(Rejection::Verification(VerifyRejection::NotFound))?;
    if current.state != State::Recorded {
        return Ok(VerificationOutcome::Answered { verification: current, otp_ref_id: None });
    }
    let (mut state, mut message, mut refund, mut flow_json, mut otp_ref_id) =
        (a.state, a.message.clone(), a.refund, "{}".to_owned(), None);
    if let Some(request) = &a.otp {
        match otp::issue(db, PartnerId::new(a.partner_id), request, now_ms).await? {
            OtpIssue::Issued { otp_ref_id: id } => {
                otp_ref_id = Some(id);
                flow_json = json!({ "otp_ref_id": id, "mobile": request.subject }).to_string();
            }
            OtpIssue::RateLimited => {
                (state, refund) = (State::Failed, true);
                message = "Too many OTPs were sent to this mobile in the last hour; try again later".into();
            }
        }
    }
    let answered =
        Answered { state, message: &message, result_json: &a.result_json, flow_json: &flow_json, ready_at_ms: a.ready_at_ms };
    if ops::answer(db, a.partner_id, a.tid, &answered, now_ms).await? {
        if let Some(entry_id) = current.entry_id {
            ledger::resolve(db, entry_id, if refund { EntryState::Voided } else { EntryState::Posted }, now_ms).await?;
        }
    }
    let verification = ops::get(db, a.partner_id, a.tid).await?.ok_or(Rejection::Verification(VerifyRejection::NotFound))?;
    Ok(VerificationOutcome::Answered { verification, otp_ref_id })
}

/// Why a verification left unanswered is refunded.
pub const LOST_ANSWER: &str = "The provider's answer was not recorded (the request ended first); the fee was refunded";

async fn sweep(db: &mut impl Conn, s: &SweepVerifications, now_ms: i64) -> CmdResult<VerificationOutcome> {
    let purged = ops::purge(db, now_ms, s.limit).await?;
    let mut refunded = 0;
    for v in ops::stale(db, s.stale_before_ms, s.limit).await? {
        let answered =
            Answered { state: State::Failed, message: LOST_ANSWER, result_json: "{}", flow_json: "{}", ready_at_ms: None };
        if ops::answer(db, v.partner_id, v.tid, &answered, now_ms).await? {
            if let Some(entry_id) = v.entry_id {
                ledger::resolve(db, entry_id, EntryState::Voided, now_ms).await?;
            }
            refunded += 1;
        }
    }
    Ok(VerificationOutcome::Swept { purged, refunded })
}
