//! The verification provider: where KYC checks are answered (a PAN registry, a bank's
//! penny drop, UIDAI, DigiLocker, …). Like [`crate::Rail`], a connector trait with a
//! built-in deterministic sandbox ([`crate::sandbox::verify::SandboxVerifier`]).

use kosh_core::verification::Fields;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// What [`VerificationProvider::verify`] returns.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Answer, ProviderError>> + Send + 'a>>;

/// One verification as the provider is asked it.
#[derive(Clone)]
pub struct VerifyRequest {
    /// The kind's id (`kosh_core::verification::KINDS`).
    pub kind: &'static str,
    /// Kosh's transaction id for it.
    pub tid: i64,
    /// The checked fields, in clear: held only in memory for this call.
    pub fields: Fields,
    /// When it is asked (the injected clock).
    pub now_ms: i64,
}

impl std::fmt::Debug for VerifyRequest {
    // The fields are personal data: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&String> = self.fields.keys().collect();
        f.debug_struct("VerifyRequest").field("kind", &self.kind).field("tid", &self.tid).field("fields", &names).finish()
    }
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    /// Verified: the answer's `data`.
    Found(Value),
    /// The check ran and the subject failed it (no such PAN, a closed account).
    Negative {
        /// Why, for the answer's `message`.
        message: String,
        /// What the provider answered anyway.
        data: Value,
    },
    /// Answered later, part by part (bulk entries, a DigiLocker journey).
    Later(Vec<Part>),
}

/// One part of a [`Answer::Later`] answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// From when the part is answered.
    pub ready_at_ms: i64,
    /// Its answer.
    pub data: Value,
}

/// Why the provider could not answer; the fee is refunded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider (or the bank behind it) is down.
    #[error("{0}")]
    Unavailable(String),
}

/// A verification provider.
pub trait VerificationProvider: Send + Sync {
    /// Its name, for logs.
    fn name(&self) -> &'static str;

    /// Answers one verification.
    fn verify<'a>(&'a self, request: &'a VerifyRequest) -> VerifyFuture<'a>;
}
