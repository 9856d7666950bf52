//! # kosh-sdk: the partner side
//!
//! [`eko::Credentials`] signs Eko requests (`developer_key`, `secret-key`,
//! `secret-key-timestamp`, `request_hash`); [`eko::Client`] sends them to Kosh (or any
//! Eko-compatible platform) and returns the status and JSON body.
//! [`callbacks::verify`] checks the signature of a signed Kosh callback.

pub mod callbacks;
pub mod eko;
