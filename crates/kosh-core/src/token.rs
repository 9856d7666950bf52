//! Token cash collection's rules: why a token cannot be issued or paid.

/// Why a Token command was refused; nothing it did remains.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// No token with this number.
    #[error("token not found")]
    NotFound,
    /// The token's validity has passed.
    #[error("the token has expired")]
    Expired,
    /// The token was paid before.
    #[error("the token was already paid (tid {tid})")]
    AlreadyPaid {
        /// The payment's transaction id.
        tid: String,
    },
    /// The token request is invalid; says why.
    #[error("invalid token: {0}")]
    Invalid(String),
}
