//! AePS commands: an agent's one-time e-KYC (Fingpay: OTP → verify → biometric; Fino:
//! biometric, then a review), daily authentication, transactions (cash withdrawal,
//! balance enquiry, mini statement) with their ledger entry, inquiry's resolution of
//! awaited ones, and the hosted gateway's sessions and intents.
//!
//! Each runs atomically like every command: a refusal leaves nothing behind, so a
//! refused transaction neither moves money nor counts against the Aadhaar's daily limit.

use super::ledger_entries::{record_entry, LegSpec};
use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::aeps::{self as store, AadhaarRef, AepsAgent, AepsTransaction, GatewayIntent, NewGatewaySession, NewIntent};
use crate::ops::otp::{self, OtpCheck, OtpIssue, OtpRequest};
use crate::ops::{agents, ledger, outbox};
use crate::sql::{Conn, SqlError};
use kosh_core::aeps::{self, sandbox, Ekyc, NotReady, TxStatus, TxType, MAX_TX_PER_AADHAAR_PER_DAY};
use kosh_core::events::{AepsTransactionChanged, Event};
use kosh_core::ids::{PartnerId, Tid, UserCode};
use kosh_core::ledger::{AccountKind, Balance, Side};
use kosh_core::money::Paise;
use kosh_core::secret::constant_time_eq;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The purpose of the OTP of a Fingpay e-KYC.
pub const EKYC_OTP: &str = "aeps_ekyc";

/// The AePS bank partner an agent's e-KYC goes through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provider {
    /// Fingpay: e-KYC by OTP, then a biometric step.
    Fingpay,
    /// Fino: one biometric e-KYC, reviewed by the bank.
    Fino,
}

impl Provider {
    /// The stored spelling (`fingpay`, `fino`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Fingpay => "fingpay",
            Self::Fino => "fino",
        }
    }
}

/// A transaction to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransaction {
    /// The partner running the transaction.
    pub partner_id: PartnerId,
    /// The partner's unique reference for it; a second transaction with it is refused.
    pub client_ref_id: String,
    /// `api` or `gateway`.
    pub channel: String,
    /// The agent at whose counter the customer stands.
    pub user_code: UserCode,
    /// Withdrawal, balance enquiry or mini statement.
    pub tx_type: TxType,
    /// The withdrawal amount, in paise (0 for enquiries).
    pub amount_paise: Paise,
    /// The customer's mobile number (`customer_id`); the sandbox bank picks its answer by it.
    pub customer_mobile: String,
    /// The customer's bank, by short code or IIN.
    pub bank_code: String,
    /// The Aadhaar number as Kosh keeps it: masked and keyed-hashed, never in clear.
    pub aadhaar: AadhaarRef,
    /// How long an awaited transaction stays unanswered before inquiry finds its answer.
    pub awaited_ms: i64,
}

impl NewTransaction {
    /// The fields the partner sent (see [`super::Command::fingerprint_fields`]): not
    /// `awaited_ms`, a setting of this server. The Aadhaar number is covered by its keyed
    /// hash (the fingerprint must not make the number searchable).
    pub fn fingerprint_fields(&self) -> serde_json::Value {
        let NewTransaction {
            partner_id,
            client_ref_id,
            channel,
            user_code,
            tx_type,
            amount_paise,
            customer_mobile,
            bank_code,
            aadhaar,
            awaited_ms: _,
        } = self;
        json!({
            "partner_id": partner_id,
            "client_ref_id": client_ref_id,
            "channel": channel,
            "user_code": user_code,
            "tx_type": tx_type,
            "amount_paise": amount_paise,
            "customer_mobile": customer_mobile,
            "bank_code": bank_code,
            "aadhaar": aadhaar.hash,
        })
    }
}

/// An AePS command: agent e-KYC and daily authentication, transactions, the hosted gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AepsCommand {
    /// Fingpay e-KYC step 1: sends the OTP.
    RequestEkycOtp(RequestEkycOtp),
    /// Fingpay e-KYC step 2: checks the OTP (a wrong one counts an attempt).
    VerifyEkycOtp(VerifyEkycOtp),
    /// The biometric step: completes Fingpay e-KYC, or submits Fino e-KYC for review.
    /// With `fino_without_otp` (the agent has service 52), a Fingpay biometric step for
    /// an agent with no Fingpay OTP step in progress is Fino's e-KYC: the seed's Fino
    /// e-KYC is that one biometric call.
    EkycBiometric(EkycBiometric),
    /// The agent's authentication for the current IST calendar day.
    DailyAuthenticate(DailyAuthenticate),
    /// Runs a transaction at an agent's counter.
    Transact(NewTransaction),
    /// Settles an awaited transaction once the bank's answer is due (inquiry).
    ResolveAwaited(ResolveAwaited),
    /// Opens a hosted-gateway session for an agent.
    OpenGatewaySession(NewGatewaySession),
    /// The gateway page announces a transaction; the partner must confirm it.
    CreateIntent(CreateIntent),
    /// Runs an intent's transaction with the partner's verified confirmation (its
    /// `request_hash`, usable once), under the partner's own client_ref_id if it gave one.
    ConfirmIntent(ConfirmIntent),
    /// The partner refused an intent (`allow: false`), or the page gave it up.
    RefuseIntent(RefuseIntent),
}

/// Fingpay e-KYC step 1: sends the OTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEkycOtp {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner) the command is about.
    pub user_code: UserCode,
    /// The Aadhaar number as Kosh keeps it: masked and keyed-hashed, never in clear.
    pub aadhaar: AadhaarRef,
    /// The e-KYC OTP to send to the agent's mobile.
    pub otp: OtpRequest,
}

/// Fingpay e-KYC step 2: checks the OTP (a wrong one counts an attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyEkycOtp {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner) the command is about.
    pub user_code: UserCode,
    /// The code the user typed; compared in constant time with the stored hash.
    pub code: kosh_core::secret::Secret,
    /// The `otp_ref_id` the OTP was issued with, when the caller names it; a check against another OTP is refused.
    pub otp_ref_id: Option<i64>,
    /// The `reference_tid` step 1 answered, when the partner sends it back; another one is refused.
    pub reference_tid: Option<i64>,
}

/// The biometric step: completes Fingpay e-KYC, or submits Fino e-KYC for review.
/// With `fino_without_otp` (the agent has service 52), a Fingpay biometric step for
/// an agent with no Fingpay OTP step in progress is Fino's e-KYC: the seed's Fino
/// e-KYC is that one biometric call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycBiometric {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner) the command is about.
    pub user_code: UserCode,
    /// The Aadhaar number as Kosh keeps it: masked and keyed-hashed, never in clear.
    pub aadhaar: AadhaarRef,
    /// Whose e-KYC this step is.
    pub provider: Provider,
    /// The agent has service 52 (Fino): a biometric step with no Fingpay OTP step in progress is Fino's e-KYC.
    pub fino_without_otp: bool,
    /// How long Fino's review takes before e-KYC completes, in ms.
    pub fino_review_ms: i64,
}

/// The agent's authentication for the current IST calendar day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyAuthenticate {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner) the command is about.
    pub user_code: UserCode,
    /// The Aadhaar number the agent authenticates with; it must be the e-KYC's.
    pub aadhaar: AadhaarRef,
}

/// Settles an awaited transaction once the bank's answer is due (inquiry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveAwaited {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The awaited transaction.
    pub tid: Tid,
}

/// The gateway page announces a transaction; the partner must confirm it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateIntent {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The transaction the page announces.
    pub intent: NewIntent,
    /// Most intents one session may create.
    pub max_per_session: i64,
}

/// Runs an intent's transaction with the partner's verified confirmation (its
/// `request_hash`, usable once), under the partner's own client_ref_id if it gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmIntent {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The gateway session the intent belongs to.
    pub session_id: i64,
    /// The intent to confirm.
    pub intent_id: i64,
    /// The partner's verified confirmation `request_hash`; it may confirm one intent only.
    pub confirmation_hash: String,
    /// The partner's own `client_ref_id`, if it gave one (else Kosh makes one).
    pub client_ref_id: Option<String>,
    /// How long an awaited transaction stays unanswered, in ms.
    pub awaited_ms: i64,
}

/// The partner refused an intent (`allow: false`), or the page gave it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefuseIntent {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The gateway session the intent belongs to.
    pub session_id: i64,
    /// The intent refused.
    pub intent_id: i64,
    /// Why, as the page will show it.
    pub message: String,
}

/// What step 1 of a Fingpay e-KYC did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EkycOtpIssue {
    /// The OTP went out.
    Issued {
        /// The issued OTP's id, to send back with the code.
        otp_ref_id: i64,
        /// Kosh's reference for this e-KYC attempt, to send back in step 2.
        reference_tid: i64,
    },
    /// Too many OTPs for this subject recently: none was sent.
    RateLimited,
    /// e-KYC is already complete: no OTP is needed.
    AlreadyComplete,
}

/// What an [`AepsCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AepsOutcome {
    /// What step 1 of a Fingpay e-KYC did.
    EkycOtp(EkycOtpIssue),
    /// Whether step 2's OTP was accepted.
    EkycOtpChecked(OtpCheck),
    /// The e-KYC state after the biometric step.
    Ekyc {
        /// The agent's e-KYC now (complete, or Fino pending review).
        ekyc: Ekyc,
        /// Kosh's reference for the biometric step.
        reference_tid: i64,
    },
    /// The agent authenticated for today.
    DailyAuthenticated {
        /// Kosh's reference for the authentication.
        reference_tid: i64,
        /// The IST calendar day (days since 1970-01-01) it is valid for.
        ist_day: i64,
    },
    /// A transaction and the partner's e-value wallet after it.
    Transacted {
        /// The transaction as recorded.
        tx: AepsTransaction,
        /// The partner's e-value wallet after it (a withdrawal credits the amount and commission, less TDS).
        wallet: Balance,
    },
    /// A gateway session was opened.
    GatewaySessionOpened {
        /// The session's id.
        session_id: i64,
    },
    /// The intent, awaiting the partner's confirmation.
    IntentCreated(GatewayIntent),
    /// The intent, refused and closed.
    IntentRefused(GatewayIntent),
}

/// What the biometric step ([`EkycBiometric`]) answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EkycStep {
    /// The agent's e-KYC now (complete, or Fino pending review).
    pub ekyc: Ekyc,
    /// Kosh's reference for the biometric step.
    pub reference_tid: i64,
}

/// What [`DailyAuthenticate`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyAuthentication {
    /// Kosh's reference for the authentication.
    pub reference_tid: i64,
    /// The IST calendar day (days since 1970-01-01) it is valid for.
    pub ist_day: i64,
}

/// What a command that runs or settles a transaction answers ([`NewTransaction`],
/// [`ResolveAwaited`], [`ConfirmIntent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transacted {
    /// The transaction as recorded.
    pub tx: AepsTransaction,
    /// The partner's e-value wallet after it.
    pub wallet: Balance,
}

fn aeps_outcome(outcome: Outcome) -> CmdResult<AepsOutcome> {
    match outcome {
        Outcome::Aeps(aeps) => Ok(aeps),
        other => unexpected(other),
    }
}

store_command!(AepsCommand => AepsOutcome, Command::Aeps, aeps_outcome, o => o);
store_command!(RequestEkycOtp => EkycOtpIssue, |c| Command::Aeps(AepsCommand::RequestEkycOtp(c)), aeps_outcome,
    AepsOutcome::EkycOtp(issue) => issue);
store_command!(VerifyEkycOtp => OtpCheck, |c| Command::Aeps(AepsCommand::VerifyEkycOtp(c)), aeps_outcome,
    AepsOutcome::EkycOtpChecked(check) => check);
store_command!(EkycBiometric => EkycStep, |c| Command::Aeps(AepsCommand::EkycBiometric(c)), aeps_outcome,
    AepsOutcome::Ekyc { ekyc, reference_tid } => EkycStep { ekyc, reference_tid });
store_command!(DailyAuthenticate => DailyAuthentication, |c| Command::Aeps(AepsCommand::DailyAuthenticate(c)), aeps_outcome,
    AepsOutcome::DailyAuthenticated { reference_tid, ist_day } => DailyAuthentication { reference_tid, ist_day });
store_command!(NewTransaction => Transacted, |c| Command::Aeps(AepsCommand::Transact(c)), aeps_outcome,
    AepsOutcome::Transacted { tx, wallet } => Transacted { tx, wallet });
store_command!(ResolveAwaited => Transacted, |c| Command::Aeps(AepsCommand::ResolveAwaited(c)), aeps_outcome,
    AepsOutcome::Transacted { tx, wallet } => Transacted { tx, wallet });
store_command!(NewGatewaySession => i64, |c| Command::Aeps(AepsCommand::OpenGatewaySession(c)), aeps_outcome,
    AepsOutcome::GatewaySessionOpened { session_id } => session_id);
store_command!(CreateIntent => GatewayIntent, |c| Command::Aeps(AepsCommand::CreateIntent(c)), aeps_outcome,
    AepsOutcome::IntentCreated(intent) => intent);
store_command!(ConfirmIntent => Transacted, |c| Command::Aeps(AepsCommand::ConfirmIntent(c)), aeps_outcome,
    AepsOutcome::Transacted { tx, wallet } => Transacted { tx, wallet });
store_command!(RefuseIntent => GatewayIntent, |c| Command::Aeps(AepsCommand::RefuseIntent(c)), aeps_outcome,
    AepsOutcome::IntentRefused(intent) => intent);

/// Moved to kosh-core with the rules it reports on; re-exported so callers keep their path.
pub use kosh_core::aeps::AepsRejection;

fn refuse(r: AepsRejection) -> crate::error::CommandError {
    Rejection::Aeps(r).into()
}

pub(super) async fn apply(db: &mut impl Conn, cmd: &AepsCommand, now_ms: i64) -> CmdResult<Outcome> {
    let outcome = match cmd {
        AepsCommand::RequestEkycOtp(RequestEkycOtp { partner_id, user_code, aadhaar, otp }) => {
            request_ekyc_otp(db, *partner_id, *user_code, aadhaar, otp, now_ms).await?
        }
        AepsCommand::VerifyEkycOtp(VerifyEkycOtp { partner_id, user_code, code, otp_ref_id, reference_tid }) => {
            verify_ekyc_otp(db, *partner_id, *user_code, code.expose(), *otp_ref_id, *reference_tid, now_ms).await?
        }
        AepsCommand::EkycBiometric(EkycBiometric {
            partner_id,
            user_code,
            aadhaar,
            provider,
            fino_without_otp,
            fino_review_ms,
        }) => {
            let step = BiometricStep { provider, fino_without_otp: *fino_without_otp, fino_review_ms: *fino_review_ms };
            ekyc_biometric(db, *partner_id, *user_code, aadhaar, &step, now_ms).await?
        }
        AepsCommand::DailyAuthenticate(DailyAuthenticate { partner_id, user_code, aadhaar }) => {
            daily_authenticate(db, *partner_id, *user_code, aadhaar, now_ms).await?
        }
        AepsCommand::Transact(t) => transact(db, t, now_ms).await?,
        AepsCommand::ResolveAwaited(ResolveAwaited { partner_id, tid }) => resolve_awaited(db, *partner_id, *tid, now_ms).await?,
        AepsCommand::OpenGatewaySession(s) => {
            AepsOutcome::GatewaySessionOpened { session_id: store::insert_session(db, s, now_ms).await? }
        }
        AepsCommand::CreateIntent(CreateIntent { partner_id, intent, max_per_session }) => {
            create_intent(db, *partner_id, intent, *max_per_session, now_ms).await?
        }
        AepsCommand::ConfirmIntent(ConfirmIntent {
            partner_id,
            session_id,
            intent_id,
            confirmation_hash,
            client_ref_id,
            awaited_ms,
        }) => {
            let confirm = Confirm {
                partner_id: *partner_id,
                session_id: *session_id,
                intent_id: *intent_id,
                hash: confirmation_hash,
                client_ref_id: client_ref_id.as_deref(),
                awaited_ms: *awaited_ms,
            };
            confirm_intent(db, &confirm, now_ms).await?
        }
        AepsCommand::RefuseIntent(RefuseIntent { partner_id, session_id, intent_id, message }) => {
            let intent = open_intent(db, *partner_id, *session_id, *intent_id).await?;
            if !store::close_intent(db, intent.id, "refused", None, None, message, now_ms).await? {
                return Err(closed_meanwhile(db, *session_id, *intent_id).await);
            }
            let closed =
                store::intent(db, *session_id, *intent_id).await?.ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
            AepsOutcome::IntentRefused(closed)
        }
    };
    Ok(Outcome::Aeps(outcome))
}

async fn existing(db: &mut impl Conn, partner_id: PartnerId, user_code: UserCode) -> CmdResult<Option<AepsAgent>> {
    agents::get(db, partner_id, user_code).await?.ok_or(Rejection::AgentNotFound)?;
    Ok(store::agent(db, partner_id, user_code).await?)
}

fn fresh_agent(partner_id: PartnerId, user_code: UserCode, aadhaar: &AadhaarRef, now_ms: i64) -> AepsAgent {
    AepsAgent {
        partner_id,
        user_code,
        ekyc: Ekyc::NotStarted,
        provider: String::new(),
        aadhaar: aadhaar.clone(),
        otp_mobile: None,
        otp_ref_id: None,
        reference_tid: None,
        daily_auth_day: None,
        daily_auth_at_ms: None,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    }
}

async fn request_ekyc_otp(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    aadhaar: &AadhaarRef,
    otp: &OtpRequest,
    now_ms: i64,
) -> CmdResult<AepsOutcome> {
    let current = existing(db, partner_id, user_code).await?;
    if current.as_ref().is_some_and(|a| a.ekyc.at(now_ms) == Ekyc::Complete) {
        return Ok(AepsOutcome::EkycOtp(EkycOtpIssue::AlreadyComplete));
    }
    let otp_ref_id = match otp::issue(db, partner_id, otp, now_ms).await? {
        OtpIssue::Issued { otp_ref_id } => otp_ref_id,
        OtpIssue::RateLimited => return Ok(AepsOutcome::EkycOtp(EkycOtpIssue::RateLimited)),
    };
    let reference_tid = agents::next_counter(db, "aeps_tid").await?;
    let mut agent = current.unwrap_or_else(|| fresh_agent(partner_id, user_code, aadhaar, now_ms));
    agent.ekyc = Ekyc::OtpSent;
    agent.provider = Provider::Fingpay.code().into();
    agent.aadhaar = aadhaar.clone();
    agent.otp_mobile = Some(otp.subject.clone());
    agent.otp_ref_id = Some(otp_ref_id);
    agent.reference_tid = Some(reference_tid);
    agent.updated_at_ms = now_ms;
    store::put_agent(db, &agent).await?;
    Ok(AepsOutcome::EkycOtp(EkycOtpIssue::Issued { otp_ref_id, reference_tid }))
}

async fn verify_ekyc_otp(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    code: &str,
    otp_ref_id: Option<i64>,
    reference_tid: Option<i64>,
    now_ms: i64,
) -> CmdResult<AepsOutcome> {
    let agent = existing(db, partner_id, user_code).await?;
    let Some(mut agent) = agent.filter(|a| a.ekyc == Ekyc::OtpSent) else {
        let found = store::agent(db, partner_id, user_code).await?.map_or(Ekyc::NotStarted, |a| a.ekyc.at(now_ms));
        return Err(refuse(AepsRejection::EkycStep { expected: "an e-KYC OTP request", found: found.code() }));
    };
    if reference_tid.is_some_and(|r| Some(r) != agent.reference_tid) {
        return Err(refuse(AepsRejection::ReferenceMismatch));
    }
    let subject = agent.otp_mobile.clone().unwrap_or_default();
    let check = otp::check(db, partner_id, EKYC_OTP, &subject, code, otp_ref_id.or(agent.otp_ref_id), now_ms).await?;
    if check == OtpCheck::Accepted {
        agent.ekyc = Ekyc::OtpVerified;
        agent.updated_at_ms = now_ms;
        store::put_agent(db, &agent).await?;
    }
    Ok(AepsOutcome::EkycOtpChecked(check))
}

struct BiometricStep<'a> {
    provider: &'a Provider,
    fino_without_otp: bool,
    fino_review_ms: i64,
}

async fn ekyc_biometric(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    aadhaar: &AadhaarRef,
    step: &BiometricStep<'_>,
    now_ms: i64,
) -> CmdResult<AepsOutcome> {
    let current = existing(db, partner_id, user_code).await?;
    let mut agent = current.unwrap_or_else(|| fresh_agent(partner_id, user_code, aadhaar, now_ms));
    let state = agent.ekyc.at(now_ms);
    let fingpay_started = matches!(state, Ekyc::OtpSent | Ekyc::OtpVerified);
    let provider = match step.provider {
        Provider::Fingpay if step.fino_without_otp && !fingpay_started => &Provider::Fino,
        other => other,
    };
    let fino_review_ms = step.fino_review_ms;
    if state == Ekyc::Complete || matches!(state, Ekyc::FinoPending { .. }) && *provider == Provider::Fino {
        return Ok(AepsOutcome::Ekyc { ekyc: state, reference_tid: agent.reference_tid.unwrap_or_default() });
    }
    agent.ekyc = match provider {
        Provider::Fingpay if state != Ekyc::OtpVerified => {
            return Err(refuse(AepsRejection::EkycStep { expected: "a verified e-KYC OTP", found: state.code() }))
        }
        Provider::Fingpay if !constant_time_eq(&agent.aadhaar.hash, &aadhaar.hash) => {
            return Err(refuse(AepsRejection::AadhaarMismatch))
        }
        Provider::Fingpay => Ekyc::Complete,
        Provider::Fino if fino_review_ms <= 0 => Ekyc::Complete,
        Provider::Fino => Ekyc::FinoPending { ready_at_ms: now_ms + fino_review_ms },
    };
    let reference_tid = agents::next_counter(db, "aeps_tid").await?;
    agent.provider = provider.code().into();
    agent.aadhaar = aadhaar.clone();
    agent.reference_tid = Some(reference_tid);
    agent.updated_at_ms = now_ms;
    store::put_agent(db, &agent).await?;
    Ok(AepsOutcome::Ekyc { ekyc: agent.ekyc, reference_tid })
}

async fn daily_authenticate(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    aadhaar: &AadhaarRef,
    now_ms: i64,
) -> CmdResult<AepsOutcome> {
    let agent = existing(db, partner_id, user_code).await?;
    let Some(mut agent) = agent else { return Err(refuse(AepsRejection::NotReady(NotReady::Ekyc(Ekyc::NotStarted)))) };
    match agent.ekyc.at(now_ms) {
        Ekyc::Complete => agent.ekyc = Ekyc::Complete,
        other => return Err(refuse(AepsRejection::NotReady(NotReady::Ekyc(other)))),
    }
    if !constant_time_eq(&agent.aadhaar.hash, &aadhaar.hash) {
        return Err(refuse(AepsRejection::AadhaarMismatch));
    }
    let reference_tid = agents::next_counter(db, "aeps_tid").await?;
    let ist_day = aeps::ist_day(now_ms);
    agent.daily_auth_day = Some(ist_day);
    agent.daily_auth_at_ms = Some(now_ms);
    agent.reference_tid = Some(reference_tid);
    agent.updated_at_ms = now_ms;
    store::put_agent(db, &agent).await?;
    Ok(AepsOutcome::DailyAuthenticated { reference_tid, ist_day })
}

/// Refuses unless the agent may transact now.
async fn require_ready(db: &mut impl Conn, partner_id: PartnerId, user_code: UserCode, now_ms: i64) -> CmdResult<()> {
    let agent = existing(db, partner_id, user_code).await?;
    let standing = agent.map(|a| a.standing());
    match standing.map(|s| s.ready(now_ms)) {
        None => Err(refuse(AepsRejection::NotReady(NotReady::Ekyc(Ekyc::NotStarted)))),
        Some(Err(why)) => Err(refuse(AepsRejection::NotReady(why))),
        Some(Ok(())) => Ok(()),
    }
}

async fn transact(db: &mut impl Conn, t: &NewTransaction, now_ms: i64) -> CmdResult<AepsOutcome> {
    require_ready(db, t.partner_id, t.user_code, now_ms).await?;
    if store::tx_by_ref(db, t.partner_id, &t.client_ref_id).await?.is_some() {
        return Err(refuse(AepsRejection::ClientRefIdUsed));
    }
    let ist_day = aeps::ist_day(now_ms);
    if store::take_aadhaar_slot(db, &t.aadhaar.hash, ist_day, MAX_TX_PER_AADHAAR_PER_DAY).await?.is_none() {
        return Err(refuse(AepsRejection::DailyLimit));
    }
    let balance = sandbox::OPENING_BALANCE_PAISE - store::withdrawn_paise(db, &t.aadhaar.hash).await?;
    let answer = sandbox::answer(t.tx_type, t.amount_paise.get(), &t.customer_mobile, balance);
    let tid = Tid::new(agents::next_counter(db, "aeps_tid").await?);
    let (status, verdict) = match &answer {
        sandbox::Answer::Now(v) => (if *v == sandbox::Verdict::Approved { TxStatus::Success } else { TxStatus::Failed }, v),
        sandbox::Answer::Awaited(v) => (TxStatus::Awaited, v),
    };
    let pricing = if status == TxStatus::Failed { aeps::Pricing::NONE } else { aeps::pricing(t.tx_type, t.amount_paise) };
    let mut tx = AepsTransaction {
        tid,
        partner_id: t.partner_id,
        client_ref_id: t.client_ref_id.clone(),
        channel: t.channel.clone(),
        user_code: t.user_code,
        tx_type: t.tx_type.code(),
        amount_paise: if t.tx_type.moves_money() { t.amount_paise } else { Paise::ZERO },
        commission_paise: pricing.commission_paise,
        tds_paise: pricing.tds_paise,
        customer_mobile: t.customer_mobile.clone(),
        bank_code: t.bank_code.clone(),
        aadhaar_masked: t.aadhaar.masked.clone(),
        tx_status: status.code(),
        reason: match verdict {
            sandbox::Verdict::Declined { reason } if status == TxStatus::Failed => reason.clone(),
            _ => String::new(),
        },
        resolve_at_ms: (status == TxStatus::Awaited).then_some(now_ms + t.awaited_ms),
        customer_balance_paise: match status {
            TxStatus::Success => {
                Some(crate::sql::paise(balance - if t.tx_type.moves_money() { t.amount_paise.get() } else { 0 })?)
            }
            TxStatus::Failed => Some(crate::sql::paise(balance)?),
            TxStatus::Awaited => None,
        },
        entry_id: None,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    if status != TxStatus::Failed {
        tx.entry_id = record_credit(db, &tx, status == TxStatus::Awaited, now_ms).await?;
    }
    let awaited_verdict = match (&answer, verdict) {
        (sandbox::Answer::Awaited(_), sandbox::Verdict::Approved) => Some("approved".to_owned()),
        (sandbox::Answer::Awaited(_), sandbox::Verdict::Declined { reason }) => Some(reason.clone()),
        _ => None,
    };
    let insert = store::TxInsert { tx: &tx, aadhaar_hash: &t.aadhaar.hash, ist_day, awaited_verdict: awaited_verdict.as_deref() };
    store::insert_tx(db, &insert).await?;
    tx_event(db, &tx, now_ms).await?;
    let wallet = ledger::balance_of(db, t.partner_id.get(), &AccountKind::PartnerWallet).await?;
    Ok(AepsOutcome::Transacted { tx, wallet })
}

/// The entry that credits the partner's e-value for a transaction: the AePS network
/// owes the withdrawn cash plus the interchange that funds the commission
/// (clearing:aeps), the wallet gains cash + commission − TDS, and the TDS is payable.
/// Pending while the bank has not answered. `None` when nothing moves (balance enquiry).
async fn record_credit(db: &mut impl Conn, tx: &AepsTransaction, pending: bool, now_ms: i64) -> CmdResult<Option<i64>> {
    let out_of_range = || Rejection::InvalidEntry("the transaction's credit is out of range".into());
    let tds = tx.tds_paise;
    let due = tx.amount_paise.checked_add(tx.commission_paise).ok_or_else(out_of_range)?;
    if due.is_zero() {
        return Ok(None);
    }
    let p = tx.partner_id;
    let mut legs = vec![
        LegSpec::new(p, &AccountKind::RailClearing { rail: "aeps" }, Side::Debit, due.get()),
        LegSpec::new(p, &AccountKind::PartnerWallet, Side::Credit, due.checked_sub(tds).ok_or_else(out_of_range)?.get()),
    ];
    if !tds.is_zero() {
        legs.push(LegSpec::new(p, &AccountKind::TdsPayable, Side::Credit, tds.get()));
    }
    let kind = match TxType::parse(&tx.tx_type.to_string()) {
        Ok(TxType::CashWithdrawal) => "aeps_cash_withdrawal",
        Ok(TxType::MiniStatement) => "aeps_mini_statement",
        _ => "aeps_balance_enquiry",
    };
    match record_entry(db, p, kind, &tx.tid.to_string(), &legs, pending, now_ms).await? {
        Outcome::EntryRecorded { entry_id, .. } => Ok(Some(entry_id)),
        other => Err(crate::sql::SqlError::Decode(format!("unexpected ledger outcome {other:?}")).into()),
    }
}

async fn tx_event(db: &mut impl Conn, tx: &AepsTransaction, now_ms: i64) -> CmdResult<()> {
    outbox::append_event(db, tx.partner_id, &changed_event(tx)?, now_ms).await?;
    Ok(())
}

/// The transaction's change as the outbox stores it (an internal event).
fn changed_event(tx: &AepsTransaction) -> Result<Event, SqlError> {
    let bad = |what: &str| SqlError::Decode(format!("AePS transaction {}: {what}", tx.tid));
    Ok(Event::AepsTransactionChanged(AepsTransactionChanged {
        tid: tx.tid,
        partner_reference: tx.client_ref_id.clone(),
        channel: tx.channel.clone(),
        user_code: tx.user_code,
        tx_type: TxType::parse(&tx.tx_type.to_string()).map_err(|_| bad(&format!("type {}", tx.tx_type)))?,
        amount: tx.amount_paise,
        commission: tx.commission_paise,
        tds: tx.tds_paise,
        status: TxStatus::from_code(tx.tx_status).ok_or_else(|| bad(&format!("status {}", tx.tx_status)))?,
        reason: tx.reason.clone(),
        aadhaar_masked: tx.aadhaar_masked.clone(),
    }))
}

async fn resolve_awaited(db: &mut impl Conn, partner_id: PartnerId, tid: Tid, now_ms: i64) -> CmdResult<AepsOutcome> {
    let tx = store::tx_by_tid(db, partner_id, tid).await?.ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
    let due = tx.resolve_at_ms.is_some_and(|at| at <= now_ms);
    if tx.tx_status == TxStatus::Awaited.code() && due {
        let (hash, verdict) =
            store::tx_private(db, partner_id, tid).await?.ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
        let approved = verdict.as_deref() == Some("approved");
        if let Some(entry_id) = tx.entry_id {
            ledger::resolve(
                db,
                entry_id,
                if approved { kosh_core::ledger::EntryState::Posted } else { kosh_core::ledger::EntryState::Voided },
                now_ms,
            )
            .await?;
        }
        let (status, reason) =
            if approved { (TxStatus::Success, String::new()) } else { (TxStatus::Failed, verdict.unwrap_or_default()) };
        // Settle first: a declined withdrawal no longer holds the customer's money.
        store::settle_tx(db, partner_id, tid, status.code(), &reason, now_ms).await?;
        let balance = sandbox::OPENING_BALANCE_PAISE - store::withdrawn_paise(db, &hash).await?;
        store::set_customer_balance(db, partner_id, tid, balance).await?;
        let settled = store::tx_by_tid(db, partner_id, tid).await?.ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
        tx_event(db, &settled, now_ms).await?;
        let wallet = ledger::balance_of(db, partner_id.get(), &AccountKind::PartnerWallet).await?;
        return Ok(AepsOutcome::Transacted { tx: settled, wallet });
    }
    let wallet = ledger::balance_of(db, partner_id.get(), &AccountKind::PartnerWallet).await?;
    Ok(AepsOutcome::Transacted { tx, wallet })
}

async fn live_session(
    db: &mut impl Conn,
    partner_id: PartnerId,
    session_id: i64,
    now_ms: i64,
) -> CmdResult<store::GatewaySession> {
    match store::session(db, session_id).await? {
        Some(s) if s.partner_id == partner_id && s.expires_at_ms > now_ms => Ok(s),
        _ => Err(refuse(AepsRejection::SessionExpired)),
    }
}

async fn create_intent(
    db: &mut impl Conn,
    partner_id: PartnerId,
    intent: &NewIntent,
    max_per_session: i64,
    now_ms: i64,
) -> CmdResult<AepsOutcome> {
    let session = live_session(db, partner_id, intent.session_id, now_ms).await?;
    require_ready(db, partner_id, session.user_code, now_ms).await?;
    let used = store::aadhaar_day_count(db, &intent.aadhaar.hash, aeps::ist_day(now_ms)).await?;
    if used >= MAX_TX_PER_AADHAAR_PER_DAY {
        return Err(refuse(AepsRejection::DailyLimit));
    }
    if !store::count_intent(db, session.id, max_per_session).await? {
        return Err(refuse(AepsRejection::TooManyIntents));
    }
    Ok(AepsOutcome::IntentCreated(store::insert_intent(db, partner_id, intent, now_ms).await?))
}

async fn open_intent(db: &mut impl Conn, partner_id: PartnerId, session_id: i64, intent_id: i64) -> CmdResult<GatewayIntent> {
    let intent = store::intent(db, session_id, intent_id).await?;
    let intent = intent.filter(|i| i.partner_id == partner_id).ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
    if intent.state != "awaiting" {
        return Err(refuse(AepsRejection::IntentClosed { state: intent.state }));
    }
    Ok(intent)
}

struct Confirm<'a> {
    partner_id: PartnerId,
    session_id: i64,
    intent_id: i64,
    hash: &'a str,
    client_ref_id: Option<&'a str>,
    awaited_ms: i64,
}

async fn confirm_intent(db: &mut impl Conn, c: &Confirm<'_>, now_ms: i64) -> CmdResult<AepsOutcome> {
    let session = live_session(db, c.partner_id, c.session_id, now_ms).await?;
    // The page may retry a confirmation it sent: the same confirmation for the same
    // intent answers the transaction it made.
    if let Some(done) = already_confirmed(db, c).await? {
        return Ok(done);
    }
    let intent = open_intent(db, c.partner_id, c.session_id, c.intent_id).await?;
    if let Some(other) = store::intent_by_confirmation(db, c.partner_id, c.hash).await? {
        return Err(refuse(AepsRejection::ConfirmationUsed { client_ref_id: other.client_ref_id }));
    }
    // Claim the intent before moving money. The conditional UPDATE is what serialises
    // concurrent confirmations: on PostgreSQL a second one waits on the row lock, then
    // finds the intent no longer awaiting and is refused (its whole command rolls back).
    if !store::close_intent(db, intent.id, "done", Some(c.hash), None, "", now_ms).await? {
        if let Some(done) = already_confirmed(db, c).await? {
            return Ok(done);
        }
        return Err(closed_meanwhile(db, c.session_id, c.intent_id).await);
    }
    let tx_type = TxType::parse(&intent.tx_type.to_string()).map_err(|e| crate::sql::SqlError::Decode(e.into()))?;
    let new = NewTransaction {
        partner_id: c.partner_id,
        client_ref_id: c.client_ref_id.unwrap_or(&intent.client_ref_id).to_owned(),
        channel: "gateway".into(),
        user_code: session.user_code,
        tx_type,
        amount_paise: intent.amount_paise,
        customer_mobile: intent.customer_mobile.clone(),
        bank_code: intent.bank_code.clone(),
        aadhaar: intent.aadhaar.clone(),
        awaited_ms: c.awaited_ms,
    };
    let AepsOutcome::Transacted { tx, wallet } = transact(db, &new, now_ms).await? else {
        unreachable!("transact answers Transacted")
    };
    store::set_intent_tid(db, intent.id, tx.tid, now_ms).await?;
    Ok(AepsOutcome::Transacted { tx, wallet })
}

/// The transaction an intent already made with this very confirmation, if it did.
async fn already_confirmed(db: &mut impl Conn, c: &Confirm<'_>) -> CmdResult<Option<AepsOutcome>> {
    let current = store::intent(db, c.session_id, c.intent_id).await?;
    let Some(done) =
        current.filter(|i| i.state == "done" && i.confirmation_hash.as_deref().is_some_and(|h| constant_time_eq(h, c.hash)))
    else {
        return Ok(None);
    };
    let tid = done.tid.ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
    let tx = store::tx_by_tid(db, c.partner_id, tid).await?.ok_or_else(|| refuse(AepsRejection::TransactionNotFound))?;
    let wallet = ledger::balance_of(db, c.partner_id.get(), &AccountKind::PartnerWallet).await?;
    Ok(Some(AepsOutcome::Transacted { tx, wallet }))
}

/// The refusal for an intent that another command closed after this one read it.
async fn closed_meanwhile(db: &mut impl Conn, session_id: i64, intent_id: i64) -> crate::error::CommandError {
    match store::intent(db, session_id, intent_id).await {
        Ok(Some(i)) => refuse(AepsRejection::IntentClosed { state: i.state }),
        Ok(None) => refuse(AepsRejection::TransactionNotFound),
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transaction_event_is_typed_and_carries_no_wire_field_names() {
        let tx = AepsTransaction {
            tid: Tid::new(9),
            partner_id: PartnerId::new(1),
            client_ref_id: "A-1".into(),
            channel: "api".into(),
            user_code: UserCode::new(20_810_200),
            tx_type: 2,
            amount_paise: Paise::new(100_000).unwrap(),
            commission_paise: Paise::new(500).unwrap(),
            tds_paise: Paise::new(10).unwrap(),
            customer_mobile: "9000000001".into(),
            bank_code: "SBIN".into(),
            aadhaar_masked: "XXXXXXXX1234".into(),
            tx_status: 2,
            reason: String::new(),
            resolve_at_ms: Some(5),
            customer_balance_paise: None,
            entry_id: Some(3),
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let Event::AepsTransactionChanged(e) = changed_event(&tx).unwrap() else { panic!("an AePS transaction's change") };
        assert_eq!((e.tx_type, e.status, e.amount.get()), (TxType::CashWithdrawal, TxStatus::Awaited, 100_000));
        let stored = serde_json::to_value(Event::AepsTransactionChanged(e)).unwrap();
        for wire in ["tx_status", "client_ref_id", "type", "aadhaar", "amount_paise"] {
            assert!(stored.get(wire).is_none(), "{wire} in {stored}");
        }
        assert!(changed_event(&AepsTransaction { tx_status: 7, ..tx }).is_err(), "an unknown status is not an event");
    }
}
