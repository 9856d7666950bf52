//! # kosh-sdk: the partner side
//!
//! [`eko::Credentials`] signs Eko requests (`developer_key`, `secret-key`,
//! `secret-key-timestamp`, `request_hash`); [`eko::Client`] sends them to Kosh (or any
//! Eko-compatible platform) and returns the status and JSON body. With the feature
//! `aeps-callback`, [`aeps_callback`] is a reference AePS gateway callback (CORS,
//! debit-hook verification and signing, pluggable storage of eko-responses, which are
//! unverified until a transaction inquiry confirms them) to mount in an axum app.
//! [`callbacks::verify`] checks the signature of a signed Kosh callback.

#[cfg(feature = "aeps-callback")]
pub mod aeps_callback;

pub mod callbacks;
pub mod eko;
