//! What a command can answer besides success: a domain rejection (nothing was written)
//! or a storage failure.

use crate::sql::SqlError;

/// A command the domain refused. Every variant leaves the store unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("a partner with this {field} already exists")]
    PartnerExists { field: &'static str },
    #[error("partner not found")]
    PartnerNotFound,
    #[error("user (agent) not found")]
    AgentNotFound,
    #[error("the mobile number is already registered to another user")]
    AgentMobileTaken,
    #[error("unknown service code {0}")]
    UnknownService(u16),
    #[error("the service is not active for this user")]
    ServiceNotActive,
    #[error("insufficient balance: {available_paise} paise available")]
    InsufficientFunds { available_paise: i64 },
    #[error("the idempotency key was used before with a different request")]
    IdempotencyConflict,
    /// Replay protection: the request_hash authorised another request already.
    #[error("the request_hash was already used by another request (at {used_at_ms} ms)")]
    RequestHashUsed { used_at_ms: i64 },
    #[error("no OTP was requested")]
    OtpNotFound,
    #[error("wrong OTP; {attempts_left} attempts left")]
    OtpWrong { attempts_left: i64 },
    #[error("the OTP has expired")]
    OtpExpired,
    #[error("the OTP was already used")]
    OtpUsed,
    #[error("too many wrong OTP attempts; request a new OTP")]
    OtpExhausted,
    #[error("ledger entry not found")]
    EntryNotFound,
    #[error("the ledger entry is not pending")]
    EntryNotPending,
    #[error("invalid ledger entry: {0}")]
    InvalidEntry(String),
    #[error(transparent)]
    Aeps(#[from] kosh_core::aeps::AepsRefusal),
    #[error("invalid callback configuration: {0}")]
    InvalidCallbackConfig(String),
    #[error("callback event not found")]
    CallbackNotFound,
    #[error("the callback cannot be replayed: {0}")]
    CallbackNotReplayable(String),
    #[error("token not found")]
    TokenNotFound,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the token was already paid (tid {tid})")]
    TokenAlreadyPaid { tid: String },
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error(transparent)]
    Dmt(#[from] kosh_core::dmt::DmtRejection),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Sql(#[from] SqlError),
}

impl CommandError {
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            CommandError::Rejected(r) => Some(r),
            CommandError::Sql(_) => None,
        }
    }
}

pub type CmdResult<T> = Result<T, CommandError>;
