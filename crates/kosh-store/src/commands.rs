//! Commands: every write Kosh makes, as data. A command runs as one atomic unit (its
//! state rows, ledger entries, idempotency record and outbox events) inside the
//! backend's transaction; when it is refused, nothing it did remains.

pub mod aeps;
pub mod bbps;
pub mod callbacks;
pub mod cms;
pub mod collections;
pub mod dmt;
mod echelon;
mod ledger_entries;
pub mod loans;
pub mod payouts;
pub mod tokens;
pub mod verification;

pub use echelon::{
    Advance, Advanced, Change, EchelonCommand, EchelonOutcome, PruneThrottle, RotateSecret, SeedSandboxMerchant,
    SetExternalReference, ThrottleHit, CALLBACK_KIND,
};

pub use crate::ops::ledger::AccountBalance;
pub use ledger_entries::{AccountSpec, LegSpec, MAX_KIND_LEN, RAILS};

use crate::error::{CmdResult, CommandError, Rejection};
use crate::ops::agents::{self, NewAgent, Onboarded};
use crate::ops::otp::{self, OtpCheck, OtpIssue, OtpRequest};
use crate::ops::partners::{self, NewPartner, Partner};
use crate::ops::{idempotency, ledger, outbox, request_hashes, services};
use crate::sql::Conn;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Balance, Entry, EntryState, PLATFORM};
use kosh_core::money::Paise;
use kosh_core::services::{self as svc, Activation, AgentService};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Longest free-text reference on an operator action.
pub const MAX_REFERENCE_LEN: usize = 64;

/// A domain command: one atomic change, run by [`crate::Store::execute`] in one transaction.
/// Serialisable, because its fingerprint guards idempotent retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Creates a partner with its credentials (refused if the name or a key is taken).
    CreatePartner(NewPartner),
    /// An operator loads e-value into a partner's wallet from the funding account.
    CreditWallet(CreditWallet),
    /// Onboards an agent (a retailer) under a partner; answers its new `user_code`.
    OnboardAgent(OnboardAgent),
    /// `review_ms`: how long a service that needs document review stays pending.
    ActivateService(ActivateService),
    /// Switches a service off for an agent.
    DeactivateService(DeactivateService),
    /// Issues an OTP (rate-limited per subject and purpose).
    IssueOtp(IssueOtp),
    /// Checks an OTP; when accepted for purpose `user_mobile`, the mobile is verified.
    CheckOtp(CheckOtp),
    /// Creates the public sandbox partner, its agent and a funded wallet, once.
    SeedSandbox(SeedSandbox),
    /// Records a balanced entry for a partner: posted at once, or `pending` (its debits
    /// reserved until [`Command::ResolveEntry`]). `kind` names the flow (`dmt_transfer`),
    /// `reference` ties it to the flow's own record.
    RecordEntry(RecordEntry),
    /// Posts (`post`) or voids a pending entry.
    ResolveEntry(ResolveEntry),
    /// AePS: e-KYC, daily authentication, transactions, the hosted gateway.
    Aeps(aeps::AepsCommand),
    /// The Echelon dialect's commands (merchants, payins, payouts, throttle).
    Echelon(EchelonCommand),
    /// The callback engine: endpoints, claims, attempts, replays.
    Callbacks(callbacks::CallbackCommand),
    /// Token cash collection.
    Token(tokens::TokenCommand),
    /// Money transfer: customers, recipients, transfers, refunds (see [`dmt`]).
    Dmt(dmt::DmtCommand),
    /// Payouts: fund transfers and UPI payments (see [`payouts`]).
    Payout(payouts::PayoutCommand),
    /// Collections: UPI QR codes and payments, CMS cash drop (see [`collections`]).
    Collections(collections::CollectionsCommand),
    /// Working-capital loans: disbursal, repayment (see [`loans`]).
    Loan(loans::LoanCommand),
    /// Deletes at most `limit` recorded request_hash uses that expired by
    /// `expired_by_ms` (see [`crate::ops::request_hashes`]).
    PruneRequestHashes(PruneRequestHashes),
    /// Bill payments: fetched bills, payments, biller reports (see [`bbps`]).
    Bbps(bbps::BbpsCommand),
    /// Verification (KYC): record, answer, sweep (see [`verification`]).
    Verification(verification::VerificationCommand),
}

/// An operator loads e-value into a partner's wallet from the funding account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditWallet {
    /// The partner whose wallet is credited.
    pub partner_id: PartnerId,
    /// How much e-value to load, in paise (positive).
    pub amount_paise: Paise,
    /// The operator's reference for the load (a bank transfer's UTR, …), at most [`MAX_REFERENCE_LEN`] characters.
    pub reference: String,
}

/// Onboards an agent (a retailer) under a partner; answers its new `user_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardAgent {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent's details as the partner sent them, already validated.
    pub agent: NewAgent,
}

/// `review_ms`: how long a service that needs document review stays pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateService {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner) the command is about.
    pub user_code: UserCode,
    /// The service code to activate ([`kosh_core::services::SERVICES`]).
    pub service_code: u16,
    /// How long the document review takes before the service activates by itself, in ms (0 for services without review).
    pub review_ms: i64,
    /// The activation request's extra fields, stored as JSON text with the activation.
    pub details_json: String,
}

/// Switches a service off for an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivateService {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner) the command is about.
    pub user_code: UserCode,
    /// The service code to deactivate.
    pub service_code: u16,
}

/// Issues an OTP (rate-limited per subject and purpose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueOtp {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The OTP to send: its code (generated by the caller), purpose, subject and lifetime.
    pub request: OtpRequest,
}

/// Checks an OTP; when accepted for purpose `user_mobile`, the mobile is verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOtp {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// What the OTP authorises (its purpose when issued).
    pub purpose: String,
    /// Who it was sent to (a mobile number).
    pub subject: String,
    /// The code the user typed; compared in constant time with the stored hash.
    pub code: kosh_core::secret::Secret,
    /// The `otp_ref_id` the OTP was issued with, when the caller names it; a check against another OTP is refused.
    pub otp_ref_id: Option<i64>,
}

/// Creates the public sandbox partner, its agent and a funded wallet, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSandbox {
    /// The sandbox partner, with its documented credentials.
    pub partner: NewPartner,
    /// The sandbox agent.
    pub agent: NewAgent,
    /// What its wallet is funded with, in paise.
    pub wallet_paise: Paise,
}

/// Records a balanced entry for a partner: posted at once, or `pending` (its debits
/// reserved until [`Command::ResolveEntry`]). `kind` names the flow (`dmt_transfer`),
/// `reference` ties it to the flow's own record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordEntry {
    /// The partner the entry belongs to (its wallets are in its namespace).
    pub partner_id: PartnerId,
    /// The flow the entry belongs to (`dmt_transfer`, …), at most `MAX_KIND_LEN` characters.
    pub kind: String,
    /// The flow's own id for it (a tid, an order id).
    pub reference: String,
    /// The legs; they must balance ([`kosh_core::ledger::Entry::new`]).
    pub legs: Vec<LegSpec>,
    /// Record it pending (reserving its debits) rather than posted.
    pub pending: bool,
}

/// Posts (`post`) or voids a pending entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveEntry {
    /// The pending entry (`ledger_entries.id`).
    pub entry_id: i64,
    /// Post it (true) or void it (false).
    pub post: bool,
}

/// Deletes at most `limit` recorded request_hash uses that expired by
/// `expired_by_ms` (see [`crate::ops::request_hashes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneRequestHashes {
    /// Only uses whose hash expired at or before this instant (ms since the epoch) are deleted.
    pub expired_by_ms: i64,
    /// At most this many rows per command, so one prune never holds the writer long.
    pub limit: i64,
}

/// What a [`Command`] did: stored whole as the idempotency record, so a replay answers exactly the first outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The partner, as created.
    PartnerCreated(Partner),
    /// The wallet was credited.
    WalletCredited {
        /// The posted entry that credited it.
        entry_id: i64,
        /// The wallet's counters after the credit.
        balance: Balance,
    },
    /// The agent, with its new `user_code`.
    AgentOnboarded(Onboarded),
    /// `changed` is false when the service was already active or pending.
    ServiceActivation {
        /// The agent's standing for the service after the command.
        service: AgentService,
        /// False when the service was already active or pending.
        changed: bool,
    },
    /// The agent's standing for the service after it was switched off.
    ServiceDeactivated(AgentService),
    /// Whether the OTP went out or was rate-limited.
    OtpIssued(OtpIssue),
    /// Whether the OTP was accepted, and why not.
    OtpChecked(OtpCheck),
    /// The sandbox was seeded (or already was).
    SandboxSeeded {
        /// The sandbox partner's id.
        partner_id: PartnerId,
        /// False when the sandbox existed already (nothing changed).
        created: bool,
    },
    /// `balances`: every account the entry touched, after it, by account id.
    EntryRecorded {
        /// The entry (`ledger_entries.id`).
        entry_id: i64,
        /// False when the entry is pending.
        posted: bool,
        /// Every account the entry touched, after it, by account id.
        balances: Vec<AccountBalance>,
    },
    /// `posted` false: the entry was voided.
    EntryResolved {
        /// The entry (`ledger_entries.id`).
        entry_id: i64,
        /// True when posted, false when voided.
        posted: bool,
        /// Every account the entry touched, after it, by account id.
        balances: Vec<AccountBalance>,
    },
    /// An AePS command's outcome.
    Aeps(aeps::AepsOutcome),
    /// An Echelon command's outcome.
    Echelon(EchelonOutcome),
    /// A callback-engine command's outcome.
    Callbacks(callbacks::CallbackOutcome),
    /// Boxed: a token is much larger than every other outcome.
    Token(Box<tokens::TokenOutcome>),
    /// A money-transfer command's outcome.
    Dmt(dmt::DmtOutcome),
    /// A payout command's outcome.
    Payout(payouts::PayoutOutcome),
    /// A collections command's outcome (boxed: QR codes are large).
    Collections(Box<collections::CollectionsOutcome>),
    /// A loan command's outcome (boxed: a loan carries its tranches).
    Loan(Box<loans::LoanOutcome>),
    /// How many expired request_hash uses were deleted.
    RequestHashesPruned(u64),
    /// A bill-payment command's outcome.
    Bbps(bbps::BbpsOutcome),
    /// A verification command's outcome.
    Verification(verification::VerificationOutcome),
}

/// What [`CreditWallet`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCredit {
    /// The posted entry that credited it.
    pub entry_id: i64,
    /// The wallet's counters after the credit.
    pub balance: Balance,
}

/// What [`ActivateService`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceActivation {
    /// The agent's standing for the service after the command.
    pub service: AgentService,
    /// False when the service was already active or pending.
    pub changed: bool,
}

/// What [`SeedSandbox`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSeeded {
    /// The sandbox partner's id.
    pub partner_id: PartnerId,
    /// False when the sandbox existed already (nothing changed).
    pub created: bool,
}

/// What [`RecordEntry`] and [`ResolveEntry`] answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryChange {
    /// The entry (`ledger_entries.id`).
    pub entry_id: i64,
    /// True when posted; false when pending ([`RecordEntry`]) or voided ([`ResolveEntry`]).
    pub posted: bool,
    /// Every account the entry touched, after it, by account id.
    pub balances: Vec<AccountBalance>,
}

fn outcome(outcome: Outcome) -> CmdResult<Outcome> {
    Ok(outcome)
}

store_command!(NewPartner => Partner, Command::CreatePartner, outcome, Outcome::PartnerCreated(p) => p);
store_command!(CreditWallet => WalletCredit, Command::CreditWallet, outcome,
    Outcome::WalletCredited { entry_id, balance } => WalletCredit { entry_id, balance });
store_command!(OnboardAgent => Onboarded, Command::OnboardAgent, outcome, Outcome::AgentOnboarded(o) => o);
store_command!(ActivateService => ServiceActivation, Command::ActivateService, outcome,
    Outcome::ServiceActivation { service, changed } => ServiceActivation { service, changed });
store_command!(DeactivateService => AgentService, Command::DeactivateService, outcome,
    Outcome::ServiceDeactivated(service) => service);
store_command!(IssueOtp => OtpIssue, Command::IssueOtp, outcome, Outcome::OtpIssued(issue) => issue);
store_command!(CheckOtp => OtpCheck, Command::CheckOtp, outcome, Outcome::OtpChecked(check) => check);
store_command!(SeedSandbox => SandboxSeeded, Command::SeedSandbox, outcome,
    Outcome::SandboxSeeded { partner_id, created } => SandboxSeeded { partner_id, created });
store_command!(RecordEntry => EntryChange, Command::RecordEntry, outcome,
    Outcome::EntryRecorded { entry_id, posted, balances } => EntryChange { entry_id, posted, balances });
store_command!(ResolveEntry => EntryChange, Command::ResolveEntry, outcome,
    Outcome::EntryResolved { entry_id, posted, balances } => EntryChange { entry_id, posted, balances });
// How many expired request_hash uses were deleted.
store_command!(PruneRequestHashes => u64, Command::PruneRequestHashes, outcome,
    Outcome::RequestHashesPruned(n) => n);

/// The purpose of the OTP that verifies an agent's mobile number.
pub const USER_MOBILE_OTP: &str = "user_mobile";

/// Where a command's idempotency record lives: unique per partner, scope and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemKey {
    /// The partner the key belongs to: keys of different partners never collide.
    pub partner_id: PartnerId,
    /// Separates key spaces: one of [`crate::scopes`] (e.g. Eko `client_ref_id`s from Token
    /// numbers).
    pub scope: String,
    /// The partner's key itself (a `client_ref_id`, an order id, an `Idempotency-Key` header).
    pub key: String,
}

/// The result of an idempotent command: its outcome (typed by the command, see
/// [`StoreCommand`]), and whether it was a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed<O = Outcome> {
    /// The command's outcome: the first one, on a replay.
    pub outcome: O,
    /// True when the key had been used with the same command: nothing ran again.
    pub replayed: bool,
}

impl Executed {
    /// This result with the outcome typed as `C` answers it.
    pub fn typed<C: StoreCommand>(self) -> CmdResult<Executed<C::Output>> {
        Ok(Executed { outcome: C::output(self.outcome)?, replayed: self.replayed })
    }
}

/// A command that knows what it answers. The store still queues, fingerprints and
/// records the [`Command`] enum (so the idempotency record keeps the serialised
/// [`Outcome`] and old records replay); each command type converts the outcome back
/// into its own output here, in one place, so callers never match on outcomes of
/// other kinds.
pub trait StoreCommand {
    /// What running the command answers.
    type Output;

    /// The command as the store runs and records it.
    fn into_command(self) -> Command;

    /// The command's own answer out of the outcome it recorded; an outcome of another
    /// kind is [`CommandError::UnexpectedOutcome`].
    fn output(outcome: Outcome) -> CmdResult<Self::Output>;
}

impl StoreCommand for Command {
    type Output = Outcome;

    fn into_command(self) -> Command {
        self
    }

    fn output(outcome: Outcome) -> CmdResult<Outcome> {
        Ok(outcome)
    }
}

/// The error for an outcome its command does not answer (see [`StoreCommand::output`]).
pub fn unexpected<T>(outcome: impl std::fmt::Debug) -> CmdResult<T> {
    Err(CommandError::UnexpectedOutcome(format!("{outcome:?}")))
}

/// Implements [`StoreCommand`] for a command type: `wrap` puts it into [`Command`];
/// `product` takes the product's outcome out of the [`Outcome`], and each
/// `pattern => value` the command's output out of that.
macro_rules! store_command {
    ($ty:ty => $output:ty, $wrap:expr, $product:expr, $($pattern:pat => $value:expr),+ $(,)?) => {
        impl $crate::commands::StoreCommand for $ty {
            type Output = $output;

            fn into_command(self) -> $crate::commands::Command {
                ($wrap)(self)
            }

            fn output(outcome: $crate::commands::Outcome) -> $crate::error::CmdResult<$output> {
                #[allow(unreachable_patterns)]
                match ($product)(outcome)? {
                    $($pattern => Ok($value),)+
                    other => $crate::commands::unexpected(other),
                }
            }
        }
    };
}
pub(crate) use store_command;

/// An idempotency key with the fingerprint of the command it guards, computed by the
/// caller (off the SQLite writer thread, which every write waits for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// Where the idempotency record lives.
    pub key: IdemKey,
    /// Keyed hash of what the command covers ([`Command::fingerprint_fields`]); another request under the same key has another fingerprint.
    pub fingerprint: String,
    /// The request_hash the request was accepted under, when it is single-use (replay
    /// protection): recorded with the command, bound to `key`.
    pub request_hash: Option<RequestHashUse>,
}

impl Guard {
    /// A guard for `cmd` under `key`, fingerprinting the command (no request hash).
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
    /// The request_hash, as the partner sent it.
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
            Command::Dmt(dmt::DmtCommand::InitiateFamilyTransfer(f)) => {
                json!({ "dmt_family_transfer": { "family": f.family, "transfer": f.transfer.fingerprint_fields() } })
            }
            Command::Aeps(aeps::AepsCommand::Transact(t)) => json!({ "aeps_transaction": t.fingerprint_fields() }),
            Command::Token(t) => json!({ "token_payment": t.fingerprint_fields()? }),
            Command::Bbps(bbps::BbpsCommand::RecordPayment(p)) => json!({ "bbps_payment": p.fingerprint_fields() }),
            Command::Payout(payouts::PayoutCommand::RecordPayout(p)) => json!({ "payout": p.fingerprint_fields() }),
            Command::Verification(verification::VerificationCommand::Record(r)) => {
                json!({ "verification": r.fingerprint_fields() })
            }
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
            Outcome::Bbps(bbps) => bbps.entries_posted(),
            Outcome::Payout(p) => p.entries_posted(),
            _ => 0,
        }
    }

    /// Ledger entries this outcome recorded as pending (for metrics).
    pub fn entries_pending(&self) -> u64 {
        match self {
            Outcome::Dmt(dmt) => dmt.entries_pending(),
            Outcome::Bbps(bbps) => bbps.entries_pending(),
            Outcome::Payout(p) => p.entries_pending(),
            _ => u64::from(matches!(self, Outcome::EntryRecorded { posted: false, .. })),
        }
    }

    /// Pending ledger entries this outcome voided (for metrics).
    pub fn entries_voided(&self) -> u64 {
        match self {
            Outcome::Dmt(dmt) => dmt.entries_voided(),
            Outcome::Bbps(bbps) => bbps.entries_voided(),
            Outcome::Payout(p) => p.entries_voided(),
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

/// Runs `cmd` without an idempotency guard, inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &Command, now_ms: i64) -> CmdResult<Outcome> {
    match cmd {
        Command::CreatePartner(p) => Ok(Outcome::PartnerCreated(partners::insert(db, p, now_ms).await?)),
        Command::CreditWallet(CreditWallet { partner_id, amount_paise, reference }) => {
            credit_wallet(db, *partner_id, *amount_paise, reference, now_ms).await
        }
        Command::OnboardAgent(OnboardAgent { partner_id, agent }) => {
            require_partner(db, *partner_id).await?;
            Ok(Outcome::AgentOnboarded(agents::onboard(db, *partner_id, agent, now_ms).await?))
        }
        Command::ActivateService(ActivateService { partner_id, user_code, service_code, review_ms, details_json }) => {
            activate_service(db, *partner_id, *user_code, *service_code, *review_ms, details_json, now_ms).await
        }
        Command::DeactivateService(DeactivateService { partner_id, user_code, service_code }) => {
            deactivate_service(db, *partner_id, *user_code, *service_code, now_ms).await
        }
        Command::IssueOtp(IssueOtp { partner_id, request }) => {
            Ok(Outcome::OtpIssued(otp::issue(db, *partner_id, request, now_ms).await?))
        }
        Command::CheckOtp(CheckOtp { partner_id, purpose, subject, code, otp_ref_id }) => {
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
        Command::SeedSandbox(SeedSandbox { partner, agent, wallet_paise }) => {
            seed_sandbox(db, partner, agent, *wallet_paise, now_ms).await
        }
        Command::RecordEntry(RecordEntry { partner_id, kind, reference, legs, pending }) => {
            ledger_entries::record_entry(db, *partner_id, kind, reference, legs, *pending, now_ms).await
        }
        Command::ResolveEntry(ResolveEntry { entry_id, post }) => {
            ledger_entries::resolve_entry(db, *entry_id, *post, now_ms).await
        }
        Command::Aeps(cmd) => aeps::apply(db, cmd, now_ms).await,
        Command::Echelon(cmd) => echelon::apply(db, cmd, now_ms).await,
        Command::Callbacks(cmd) => Ok(Outcome::Callbacks(callbacks::apply(db, cmd, now_ms).await?)),
        Command::Token(cmd) => Ok(Outcome::Token(Box::new(tokens::apply(db, cmd, now_ms).await?))),
        Command::Dmt(cmd) => dmt::apply(db, cmd, now_ms).await,
        Command::Bbps(cmd) => bbps::apply(db, cmd, now_ms).await,
        Command::Payout(cmd) => payouts::apply(db, cmd, now_ms).await,
        Command::Collections(cmd) => Ok(Outcome::Collections(Box::new(collections::apply(db, cmd, now_ms).await?))),
        Command::Loan(cmd) => Ok(Outcome::Loan(Box::new(loans::apply(db, cmd, now_ms).await?))),
        Command::PruneRequestHashes(PruneRequestHashes { expired_by_ms, limit }) => {
            Ok(Outcome::RequestHashesPruned(request_hashes::prune(db, *expired_by_ms, *limit).await?))
        }
        Command::Verification(cmd) => verification::apply(db, cmd, now_ms).await,
    }
}

async fn require_partner(db: &mut impl Conn, partner_id: PartnerId) -> CmdResult<Partner> {
    partners::by_id(db, partner_id).await?.ok_or(CommandError::Rejected(Rejection::PartnerNotFound))
}

async fn credit_wallet(
    db: &mut impl Conn,
    partner_id: PartnerId,
    amount: Paise,
    reference: &str,
    now_ms: i64,
) -> CmdResult<Outcome> {
    require_partner(db, partner_id).await?;
    if amount.is_zero() {
        return Err(Rejection::InvalidEntry("amount must be positive".into()).into());
    }
    if reference.chars().count() > MAX_REFERENCE_LEN {
        return Err(Rejection::InvalidEntry(format!("reference is longer than {MAX_REFERENCE_LEN} characters")).into());
    }
    let funding = ledger::account(db, PLATFORM, &AccountKind::Funding, now_ms).await?;
    let wallet = ledger::account(db, partner_id.get(), &AccountKind::PartnerWallet, now_ms).await?;
    let entry = Entry::transfer(funding, wallet, amount).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
    let entry_id = ledger::record(db, partner_id, "wallet_credit", reference, &entry, EntryState::Posted, now_ms).await?;
    let balance = ledger::balance(db, wallet).await?;
    let event = json!({ "partner_id": partner_id, "entry_id": entry_id, "amount_paise": amount,
                        "balance_paise": balance.posted_credit(), "reference": reference });
    outbox::append(db, partner_id, "wallet.credited", &event, now_ms).await?;
    Ok(Outcome::WalletCredited { entry_id, balance })
}

async fn activate_service(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
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
    partner_id: PartnerId,
    user_code: UserCode,
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

async fn service_event(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    s: &AgentService,
    now_ms: i64,
) -> CmdResult<()> {
    let event = json!({ "user_code": user_code, "service_code": s.service_code, "status": s.status as i64,
                        "status_desc": s.status.desc() });
    outbox::append(db, partner_id, "agent.service_changed", &event, now_ms).await?;
    Ok(())
}

async fn seed_sandbox(
    db: &mut impl Conn,
    partner: &NewPartner,
    agent: &NewAgent,
    wallet_paise: Paise,
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

#[cfg(test)]
mod typed_tests {
    use super::*;
    use kosh_core::ids::MerchantId;
    use serde_json::json;

    /// A command struct serialises exactly as the struct variant it replaced, so
    /// fingerprints of commands recorded before the change still match a retry.
    #[test]
    fn a_typed_command_serialises_as_its_former_struct_variant() {
        let credit =
            CreditWallet { partner_id: PartnerId::new(1), amount_paise: Paise::new(500).unwrap(), reference: "utr".into() }
                .into_command();
        let throttle = echelon::ThrottleHit { merchant_id: MerchantId::new(3), window_s: 9 }.into_command();
        let claim = dmt::ClaimDueTransfers { lease_ms: 10, limit: 2 }.into_command();
        assert_eq!(
            [credit, throttle, claim].map(|c| serde_json::to_value(c).unwrap()),
            [
                json!({ "CreditWallet": { "partner_id": 1, "amount_paise": 500, "reference": "utr" } }),
                json!({ "Echelon": { "ThrottleHit": { "merchant_id": 3, "window_s": 9 } } }),
                json!({ "Dmt": { "ClaimDueTransfers": { "lease_ms": 10, "limit": 2 } } }),
            ]
        );
    }

    /// The outcome a command recorded converts to its own output; one of another kind is
    /// an error, never a panic (and never silently another answer).
    #[test]
    fn an_outcome_converts_to_its_commands_output_only() {
        assert_eq!(<PruneRequestHashes as StoreCommand>::output(Outcome::RequestHashesPruned(4)).unwrap(), 4);
        assert_eq!(<echelon::ThrottleHit as StoreCommand>::output(Outcome::Echelon(EchelonOutcome::ThrottleHits(2))).unwrap(), 2);
        let wrong = <echelon::ThrottleHit as StoreCommand>::output(Outcome::RequestHashesPruned(4)).unwrap_err();
        assert!(matches!(wrong, CommandError::UnexpectedOutcome(ref o) if o.contains("RequestHashesPruned")), "{wrong:?}");
        let wrong = <echelon::ThrottleHit as StoreCommand>::output(Outcome::Echelon(EchelonOutcome::Pruned(1))).unwrap_err();
        assert!(matches!(wrong, CommandError::UnexpectedOutcome(_)), "{wrong:?}");
    }
}
