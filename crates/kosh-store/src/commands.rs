//! Commands: every write Kosh makes, as data. A command runs as one atomic unit (its
//! state rows, ledger entries, idempotency record and outbox events) inside the
//! backend's transaction; when it is refused, nothing it did remains.

pub mod aeps;
pub mod callbacks;
pub mod dmt;
mod echelon;
mod ledger_entries;
pub mod tokens;

pub use echelon::{Change, EchelonCommand, EchelonOutcome, CALLBACK_KIND};

pub use crate::ops::ledger::AccountBalance;
pub use ledger_entries::{AccountSpec, LegSpec, MAX_KIND_LEN, RAILS};

use crate::error::{CmdResult, CommandError, Rejection};
use crate::ops::agents::{self, NewAgent, Onboarded};
use crate::ops::otp::{self, OtpCheck, OtpIssue, OtpRequest};
use crate::ops::partners::{self, NewPartner, Partner};
use crate::ops::{idempotency, ledger, outbox, request_hashes, services};
use crate::sql::Conn;
use kosh_core::ledger::{AccountKind, Balance, Entry, EntryState, PLATFORM};
use kosh_core::money::Paise;
use kosh_core::services::{self as svc, Activation, AgentService};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Longest free-text reference on an operator action.
pub const MAX_REFERENCE_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    CreatePartner(NewPartner),
    /// An operator loads e-value into a partner's wallet from the funding account.
    CreditWallet {
        partner_id: i64,
        amount_paise: i64,
        reference: String,
    },
    OnboardAgent {
        partner_id: i64,
        agent: NewAgent,
    },
    /// `review_ms`: how long a service that needs document review stays pending.
    ActivateService {
        partner_id: i64,
        user_code: i64,
        service_code: u16,
        review_ms: i64,
        details_json: String,
    },
    DeactivateService {
        partner_id: i64,
        user_code: i64,
        service_code: u16,
    },
    IssueOtp {
        partner_id: i64,
        request: OtpRequest,
    },
    /// Checks an OTP; when accepted for purpose `user_mobile`, the mobile is verified.
    CheckOtp {
        partner_id: i64,
        purpose: String,
        subject: String,
        code: kosh_core::secret::Secret,
        otp_ref_id: Option<i64>,
    },
    /// Creates the public sandbox partner, its agent and a funded wallet, once.
    SeedSandbox {
        partner: NewPartner,
        agent: NewAgent,
        wallet_paise: i64,
    },
    /// Records a balanced entry for a partner: posted at once, or `pending` (its debits
    /// reserved until [`Command::ResolveEntry`]). `kind` names the flow (`dmt_transfer`),
    /// `reference` ties it to the flow's own record.
    RecordEntry {
        partner_id: i64,
        kind: String,
        reference: String,
        legs: Vec<LegSpec>,
        pending: bool,
    },
    /// Posts (`post`) or voids a pending entry.
    ResolveEntry {
        entry_id: i64,
        post: bool,
    },
    /// AePS: e-KYC, daily authentication, transactions, the hosted gateway.
    Aeps(aeps::AepsCommand),
    /// The Echelon dialect's commands (merchants, payins, payouts, throttle).
    Echelon(EchelonCommand),
    /// The callback engine: endpoints, claims, attempts, replays.
    Callbacks(callbacks::CallbackCmd),
    /// Token cash collection.
    Token(tokens::TokenCmd),
    /// Money transfer: customers, recipients, transfers, refunds (see [`dmt`]).
    Dmt(dmt::DmtCommand),
    /// Deletes at most `limit` recorded request_hash uses that expired by
    /// `expired_by_ms` (see [`crate::ops::request_hashes`]).
    PruneRequestHashes {
        expired_by_ms: i64,
        limit: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    PartnerCreated(Partner),
    WalletCredited {
        entry_id: i64,
        balance: Balance,
    },
    AgentOnboarded(Onboarded),
    /// `changed` is false when the service was already active or pending.
    ServiceActivation {
        service: AgentService,
        changed: bool,
    },
    ServiceDeactivated(AgentService),
    OtpIssued(OtpIssue),
    OtpChecked(OtpCheck),
    SandboxSeeded {
        partner_id: i64,
        created: bool,
    },
    /// `balances`: every account the entry touched, after it, by account id.
    EntryRecorded {
        entry_id: i64,
        /// False when the entry is pending.
        posted: bool,
        balances: Vec<AccountBalance>,
    },
    /// `posted` false: the entry was voided.
    EntryResolved {
        entry_id: i64,
        posted: bool,
        balances: Vec<AccountBalance>,
    },
    Aeps(aeps::AepsOutcome),
    Echelon(EchelonOutcome),
    Callbacks(callbacks::CallbackOutcome),
    /// Boxed: a token is much larger than every other outcome.
    Token(Box<tokens::TokenOutcome>),
    Dmt(dmt::DmtOutcome),
    /// How many expired request_hash uses were deleted.
    RequestHashesPruned(u64),
}

/// The purpose of the OTP that verifies an agent's mobile number.
pub const USER_MOBILE_OTP: &str = "user_mobile";

/// Where a command's idempotency record lives: unique per partner, scope and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemKey {
    pub partner_id: i64,
    /// Separates key spaces, e.g. `eko` client_ref_ids from `echelon` order ids.
    pub scope: String,
    pub key: String,
}

/// The result of an idempotent command: its outcome, and whether it was a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub outcome: Outcome,
    pub replayed: bool,
}

/// An idempotency key with the fingerprint of the command it guards, computed by the
/// caller (off the SQLite writer thread, which every write waits for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub key: IdemKey,
    pub fingerprint: String,
    /// The request_hash the request was accepted under, when it is single-use (replay
    /// protection): recorded with the command, bound to `key`.
    pub request_hash: Option<RequestHashUse>,
}

impl Guard {
    pub fn new(key: IdemKey, cmd: &Command) -> Guard {
        let canonical = match cmd.fingerprint_fields() {
            Some(fields) => serde_json::to_string(&fields),
            None => serde_json::to_string(cmd),
        };
        let canonical = canonical.expect("commands serialise");
        Guard { key, fingerprint: kosh_core::secret::hash_secret("kosh-idempotency", &canonical), request_hash: None }
    }

    /// This guard, also consuming `request_hash` (see [`RequestHashUse`]).
    pub fn with_request_hash(self, request_hash: Option<RequestHashUse>) -> Guard {
        Guard { request_hash, ..self }
    }
}

/// A verified `request_hash` that may authorise one request only: the command it comes
/// with records it in its own transaction, so a refused command leaves it unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHashUse {
    pub hash: String,
    /// When the hash's timestamp leaves the tolerance (from then on it is refused as
    /// stale anyway, and its record may be pruned).
    pub expires_at_ms: i64,
}

impl Command {
    /// What an idempotency fingerprint covers, for a command that carries more than its
    /// caller's request: only what the partner sent, never this server's settings
    /// (pricing, recovery and awaited delays) nor what the server learnt elsewhere, so an
    /// honest retry after a settings change, or on a node configured otherwise, still
    /// finds its first answer. Each kind is tagged, so two kinds never share a
    /// fingerprint. `None`: the command is its caller's request, covered whole.
    pub fn fingerprint_fields(&self) -> Option<serde_json::Value> {
        Some(match self {
            Command::Dmt(dmt::DmtCommand::InitiateTransfer(t)) => json!({ "dmt_transfer": t.fingerprint_fields() }),
            Command::Aeps(aeps::AepsCommand::Transact(t)) => json!({ "aeps_transaction": t.fingerprint_fields() }),
            Command::Token(t) => json!({ "token_payment": t.fingerprint_fields()? }),
            _ => return None,
        })
    }
}

impl Outcome {
    /// Ledger entries this outcome posted, at once or by resolving a pending one (for
    /// metrics). A pending entry counts here only when it is posted.
    pub fn entries_posted(&self) -> u64 {
        match self {
            Outcome::WalletCredited { .. }
            | Outcome::SandboxSeeded { created: true, .. }
            | Outcome::EntryRecorded { posted: true, .. }
            | Outcome::EntryResolved { posted: true, .. } => 1,
            Outcome::Token(token) => u64::from(matches!(**token, tokens::TokenOutcome::Paid { .. })),
            Outcome::Dmt(dmt) => dmt.entries_posted(),
            _ => 0,
        }
    }

    /// Ledger entries this outcome recorded as pending (for metrics).
    pub fn entries_pending(&self) -> u64 {
        match self {
            Outcome::Dmt(dmt) => dmt.entries_pending(),
            _ => u64::from(matches!(self, Outcome::EntryRecorded { posted: false, .. })),
        }
    }

    /// Pending ledger entries this outcome voided (for metrics).
    pub fn entries_voided(&self) -> u64 {
        match self {
            Outcome::Dmt(dmt) => dmt.entries_voided(),
            _ => u64::from(matches!(self, Outcome::EntryResolved { posted: false, .. })),
        }
    }
}

/// Runs `cmd`, guarded by `key` when there is one.
pub async fn apply_request(db: &mut impl Conn, guard: Option<&Guard>, cmd: &Command, now_ms: i64) -> CmdResult<Executed> {
    match guard {
        Some(guard) => apply_idempotent(db, guard, cmd, now_ms).await,
        None => Ok(Executed { outcome: apply(db, cmd, now_ms).await?, replayed: false }),
    }
}

/// Runs `cmd` guarded by `key`: a replay of the same command answers the first outcome.
pub async fn apply_idempotent(db: &mut impl Conn, guard: &Guard, cmd: &Command, now_ms: i64) -> CmdResult<Executed> {
    let key = &guard.key;
    match idempotency::claim(db, key.partner_id, &key.scope, &key.key, &guard.fingerprint, now_ms).await? {
        idempotency::Claim::Conflict => Err(Rejection::IdempotencyConflict.into()),
        idempotency::Claim::Replay(json) => {
            consume_request_hash(db, guard, now_ms).await?;
            let outcome = serde_json::from_str(&json).map_err(|e| crate::sql::SqlError::Decode(e.to_string()))?;
            Ok(Executed { outcome, replayed: true })
        }
        idempotency::Claim::New => {
            consume_request_hash(db, guard, now_ms).await?;
            let outcome = apply(db, cmd, now_ms).await?;
            let json = serde_json::to_string(&outcome).expect("outcomes serialise");
            idempotency::complete(db, key.partner_id, &key.scope, &key.key, &guard.fingerprint, &json, now_ms).await?;
            Ok(Executed { outcome, replayed: false })
        }
    }
}

/// Records the guard's single-use request_hash for its key. A retry of the same request
/// (a replay of the same key) may carry the same hash or a fresh one; a hash already
/// used by another request is refused, and the command with it.
async fn consume_request_hash(db: &mut impl Conn, guard: &Guard, now_ms: i64) -> CmdResult<()> {
    let Some(used) = &guard.request_hash else { return Ok(()) };
    let key = &guard.key;
    match request_hashes::record(db, key.partner_id, &used.hash, &key.scope, &key.key, used.expires_at_ms, now_ms).await? {
        request_hashes::Recorded::Fresh | request_hashes::Recorded::SameRequest => Ok(()),
        request_hashes::Recorded::UsedBefore { used_at_ms } => Err(Rejection::RequestHashUsed { used_at_ms }.into()),
    }
}

pub async fn apply(db: &mut impl Conn, cmd: &Command, now_ms: i64) -> CmdResult<Outcome> {
    match cmd {
        Command::CreatePartner(p) => Ok(Outcome::PartnerCreated(partners::insert(db, p, now_ms).await?)),
        Command::CreditWallet { partner_id, amount_paise, reference } => {
            credit_wallet(db, *partner_id, *amount_paise, reference, now_ms).await
        }
        Command::OnboardAgent { partner_id, agent } => {
            require_partner(db, *partner_id).await?;
            Ok(Outcome::AgentOnboarded(agents::onboard(db, *partner_id, agent, now_ms).await?))
        }
        Command::ActivateService { partner_id, user_code, service_code, review_ms, details_json } => {
            activate_service(db, *partner_id, *user_code, *service_code, *review_ms, details_json, now_ms).await
        }
        Command::DeactivateService { partner_id, user_code, service_code } => {
            deactivate_service(db, *partner_id, *user_code, *service_code, now_ms).await
        }
        Command::IssueOtp { partner_id, request } => Ok(Outcome::OtpIssued(otp::issue(db, *partner_id, request, now_ms).await?)),
        Command::CheckOtp { partner_id, purpose, subject, code, otp_ref_id } => {
            let check = otp::check(db, *partner_id, purpose, subject, code.expose(), *otp_ref_id, now_ms).await?;
            if check == OtpCheck::Accepted && purpose == USER_MOBILE_OTP {
                db.exec(
                    "INSERT INTO verified_mobiles (partner_id, mobile, verified_at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (partner_id, mobile) DO NOTHING",
                    &[(*partner_id).into(), subject.into(), now_ms.into()],
                )
                .await?;
            }
            Ok(Outcome::OtpChecked(check))
        }
        Command::SeedSandbox { partner, agent, wallet_paise } => seed_sandbox(db, partner, agent, *wallet_paise, now_ms).await,
        Command::RecordEntry { partner_id, kind, reference, legs, pending } => {
            ledger_entries::record_entry(db, *partner_id, kind, reference, legs, *pending, now_ms).await
        }
        Command::ResolveEntry { entry_id, post } => ledger_entries::resolve_entry(db, *entry_id, *post, now_ms).await,
        Command::Aeps(cmd) => aeps::apply(db, cmd, now_ms).await,
        Command::Echelon(cmd) => echelon::apply(db, cmd, now_ms).await,
        Command::Callbacks(cmd) => Ok(Outcome::Callbacks(callbacks::apply(db, cmd, now_ms).await?)),
        Command::Token(cmd) => Ok(Outcome::Token(Box::new(tokens::apply(db, cmd, now_ms).await?))),
        Command::Dmt(cmd) => dmt::apply(db, cmd, now_ms).await,
        Command::PruneRequestHashes { expired_by_ms, limit } => {
            Ok(Outcome::RequestHashesPruned(request_hashes::prune(db, *expired_by_ms, *limit).await?))
        }
    }
}

async fn require_partner(db: &mut impl Conn, partner_id: i64) -> CmdResult<Partner> {
    partners::by_id(db, partner_id).await?.ok_or(CommandError::Rejected(Rejection::PartnerNotFound))
}

async fn credit_wallet(
    db: &mut impl Conn,
    partner_id: i64,
    amount_paise: i64,
    reference: &str,
    now_ms: i64,
) -> CmdResult<Outcome> {
    require_partner(db, partner_id).await?;
    let amount = Paise::new(amount_paise)
        .filter(|p| !p.is_zero())
        .ok_or_else(|| Rejection::InvalidEntry("amount must be positive".into()))?;
    if reference.chars().count() > MAX_REFERENCE_LEN {
        return Err(Rejection::InvalidEntry(format!("reference is longer than {MAX_REFERENCE_LEN} characters")).into());
    }
    let funding = ledger::account(db, PLATFORM, &AccountKind::Funding, now_ms).await?;
    let wallet = ledger::account(db, partner_id, &AccountKind::PartnerWallet, now_ms).await?;
    let entry = Entry::transfer(funding, wallet, amount).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
    let entry_id = ledger::record(db, partner_id, "wallet_credit", reference, &entry, EntryState::Posted, now_ms).await?;
    let balance = ledger::balance(db, wallet).await?;
    let event = json!({ "partner_id": partner_id, "entry_id": entry_id, "amount_paise": amount_paise,
                        "balance_paise": balance.posted_credit(), "reference": reference });
    outbox::append(db, partner_id, "wallet.credited", &event, now_ms).await?;
    Ok(Outcome::WalletCredited { entry_id, balance })
}

async fn activate_service(
    db: &mut impl Conn,
    partner_id: i64,
    user_code: i64,
    service_code: u16,
    review_ms: i64,
    details_json: &str,
    now_ms: i64,
) -> CmdResult<Outcome> {
    let info = svc::service(service_code).ok_or(Rejection::UnknownService(service_code))?;
    agents::get(db, partner_id, user_code).await?.ok_or(Rejection::AgentNotFound)?;
    let current = services::get(db, partner_id, user_code, service_code).await?;
    match svc::activate(current.as_ref(), info, now_ms, review_ms) {
        Activation::Unchanged(service) => Ok(Outcome::ServiceActivation { service, changed: false }),
        Activation::Store(service) => {
            services::put(db, partner_id, user_code, &service, details_json).await?;
            service_event(db, partner_id, user_code, &service, now_ms).await?;
            Ok(Outcome::ServiceActivation { service, changed: true })
        }
    }
}

async fn deactivate_service(
    db: &mut impl Conn,
    partner_id: i64,
    user_code: i64,
    service_code: u16,
    now_ms: i64,
) -> CmdResult<Outcome> {
    svc::service(service_code).ok_or(Rejection::UnknownService(service_code))?;
    agents::get(db, partner_id, user_code).await?.ok_or(Rejection::AgentNotFound)?;
    let current = services::get(db, partner_id, user_code, service_code).await?.ok_or(Rejection::ServiceNotActive)?;
    let service = svc::deactivate(&current, now_ms);
    services::put(db, partner_id, user_code, &service, "{}").await?;
    service_event(db, partner_id, user_code, &service, now_ms).await?;
    Ok(Outcome::ServiceDeactivated(service))
}

async fn service_event(db: &mut impl Conn, partner_id: i64, user_code: i64, s: &AgentService, now_ms: i64) -> CmdResult<()> {
    let event = json!({ "user_code": user_code, "service_code": s.service_code, "status": s.status as i64,
                        "status_desc": s.status.desc() });
    outbox::append(db, partner_id, "agent.service_changed", &event, now_ms).await?;
    Ok(())
}

async fn seed_sandbox(
    db: &mut impl Conn,
    partner: &NewPartner,
    agent: &NewAgent,
    wallet_paise: i64,
    now_ms: i64,
) -> CmdResult<Outcome> {
    if let Some(existing) = partners::by_developer_key(db, &partner.developer_key).await? {
        return Ok(Outcome::SandboxSeeded { partner_id: existing.id, created: false });
    }
    let created = match partners::insert(db, partner, now_ms).await {
        Ok(created) => created,
        // On PostgreSQL (READ COMMITTED) each statement sees the latest commits: a node
        // seeding concurrently may commit between the check above and the insert's own
        // checks. Its partner is this one, so answer as if it had existed all along.
        Err(refused @ CommandError::Rejected(Rejection::PartnerExists { .. })) => {
            let existing = partners::by_developer_key(db, &partner.developer_key).await?;
            return existing.map(|p| Outcome::SandboxSeeded { partner_id: p.id, created: false }).ok_or(refused);
        }
        Err(e) => return Err(e),
    };
    let onboarded = agents::onboard(db, created.id, agent, now_ms).await?;
    for info in svc::SERVICES {
        let Activation::Store(service) = svc::activate(None, info, now_ms, 0) else { continue };
        services::put(db, created.id, onboarded.agent.user_code, &service, "{}").await?;
    }
    credit_wallet(db, created.id, wallet_paise, "sandbox opening balance", now_ms).await?;
    Ok(Outcome::SandboxSeeded { partner_id: created.id, created: true })
}
