//! What a command can answer besides success: a domain rejection (nothing was written)
//! or a storage failure.

use crate::sql::SqlError;

/// A command the domain refused. Every variant leaves the store unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Another partner has this name or key.
    #[error("a partner with this {field} already exists")]
    PartnerExists {
        /// Which (`name`, `developer_key`, …).
        field: &'static str,
    },
    /// No partner with this id or key.
    #[error("partner not found")]
    PartnerNotFound,
    /// No agent with this `user_code` for the partner.
    #[error("user (agent) not found")]
    AgentNotFound,
    /// Another agent of the partner has this mobile number.
    #[error("the mobile number is already registered to another user")]
    AgentMobileTaken,
    /// A service code Kosh does not know.
    #[error("unknown service code {0}")]
    UnknownService(u16),
    /// The agent's service is not activated (or its review is pending).
    #[error("the service is not active for this user")]
    ServiceNotActive,
    /// The wallet cannot cover the debit (its limit would break).
    #[error("insufficient balance: {available_paise} paise available")]
    InsufficientFunds {
        /// What the wallet could still spend, in paise (never negative).
        available_paise: i64,
    },
    /// The idempotency key was used before with a different request (another fingerprint).
    #[error("the idempotency key was used before with a different request")]
    IdempotencyConflict,
    /// Replay protection: the request_hash authorised another request already.
    #[error("the request_hash was already used by another request (at {used_at_ms} ms)")]
    RequestHashUsed {
        /// When the earlier request used it (ms since the epoch).
        used_at_ms: i64,
    },
    /// No OTP was issued for this purpose and subject (or the one named).
    #[error("no OTP was requested")]
    OtpNotFound,
    /// The code is wrong.
    #[error("wrong OTP; {attempts_left} attempts left")]
    OtpWrong {
        /// How many more wrong codes the OTP takes before it locks.
        attempts_left: i64,
    },
    /// The OTP's lifetime has passed.
    #[error("the OTP has expired")]
    OtpExpired,
    /// The OTP was accepted before; it is single-use.
    #[error("the OTP was already used")]
    OtpUsed,
    /// Too many wrong codes: the OTP is locked.
    #[error("too many wrong OTP attempts; request a new OTP")]
    OtpExhausted,
    /// No ledger entry with this id.
    #[error("ledger entry not found")]
    EntryNotFound,
    /// The entry was posted or voided already.
    #[error("the ledger entry is not pending")]
    EntryNotPending,
    /// The legs do not make a valid entry; says why.
    #[error("invalid ledger entry: {0}")]
    InvalidEntry(String),
    /// An AePS rule refused the command.
    #[error(transparent)]
    Aeps(#[from] kosh_core::aeps::AepsRejection),
    /// The callback endpoint or signing settings are invalid; says why.
    #[error("invalid callback configuration: {0}")]
    InvalidCallbackConfig(String),
    /// No outbox event with this id.
    #[error("callback event not found")]
    CallbackNotFound,
    /// The event cannot be queued again in its state; says why.
    #[error("the callback cannot be replayed: {0}")]
    CallbackNotReplayable(String),
    /// A Token rule refused the command.
    #[error(transparent)]
    Token(#[from] kosh_core::token::TokenRejection),
    /// A collections (QR, CMS) rule refused the command.
    #[error(transparent)]
    Collections(#[from] kosh_core::collections::CollectionRejection),
    /// A loan rule refused the command.
    #[error(transparent)]
    Loan(#[from] kosh_core::loans::LoanRejection),
    /// A DMT rule refused the command.
    #[error(transparent)]
    Dmt(#[from] kosh_core::dmt::DmtRejection),
    /// A bill-payment rule refused the command.
    #[error(transparent)]
    Bbps(#[from] kosh_core::bbps::BbpsRejection),
    /// A payout rule refused the command.
    #[error(transparent)]
    Payout(#[from] kosh_core::payouts::PayoutRejection),
    /// A verification step was refused (out of order, expired).
    #[error(transparent)]
    Verification(#[from] kosh_core::verification::VerifyRejection),
}

/// Why a command did not succeed: refused by the domain, or failed in storage.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    /// The domain refused it; nothing was written.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The database failed; the transaction was rolled back (and, on PostgreSQL, retried first if it could succeed).
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The command answered an outcome of another kind than its [`crate::commands::StoreCommand::Output`]
    /// (a bug in the command's own conversion, never a partner's doing); what it did is committed.
    #[error("unexpected outcome {0}")]
    UnexpectedOutcome(String),
}

impl CommandError {
    /// The rejection, when the command was refused (not when storage failed).
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            CommandError::Rejected(r) => Some(r),
            CommandError::Sql(_) | CommandError::UnexpectedOutcome(_) => None,
        }
    }
}

/// What running a command answers.
pub type CmdResult<T> = Result<T, CommandError>;
