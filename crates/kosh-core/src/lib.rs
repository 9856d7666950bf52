//! # kosh-core: the pure domain
//!
//! Everything here is deterministic and free of I/O, so it can be tested exhaustively
//! and used by the server, the store, the SDK and the CLI alike.
//!
//! A guided tour:
//! - [`money`]: amounts are integer paise ([`money::Paise`]); rupee strings are parsed
//!   and formatted only at the edge.
//! - [`signing`]: the Eko `secret-key` and `request_hash` (HMAC-SHA256 keyed with the
//!   base64 text of the access key), and diagnosis of wrong signatures.
//! - [`ledger`]: balanced journal entries; the one place where "debits = credits" is
//!   enforced.
//! - [`services`]: agent service codes and their pending → activated lifecycle.
//! - [`validate`]: parse-don't-validate newtypes for PAN, mobile, email, dates, ids.
//! - [`clock`]: the injectable clock every timestamp comes from.
//! - [`civil`]: calendar arithmetic (UTC and IST) without a date crate.
//! - [`secret`]: random credentials, OTPs and their hashes.
//! - [`aadhaar`]: Aadhaar numbers (Verhoeff), masked and keyed-hashed, never shown.
//! - [`aeps`]: AePS types, limits, readiness, pricing, PID shape, the sandbox bank.
//! - [`echelon`]: the Echelon dialect's pure parts (JWTs, operation patterns, money
//!   precision, statuses, catalogue, sandbox payin outcomes).
//! - [`webhook`]: the signature on Kosh's signed callbacks, and its verification.
//! - [`events`]: the typed events the outbox stores; each dialect renders its callback
//!   bodies from them.
//! - [`dmt`]: money transfer: customer states, `tx_status` and its state machine, limits.
//! - [`pricing`]: the configurable fee, GST, commission and TDS table.
//! - [`banks`]: the seeded banks, their channels, IFSC and account-number validation.

pub mod aadhaar;
pub mod aeps;
pub mod banks;
pub mod civil;
pub mod clock;
pub mod dmt;
pub mod echelon;
pub mod events;
pub mod ledger;
pub mod money;
pub mod pricing;
pub mod secret;
pub mod services;
pub mod signing;
pub mod validate;
pub mod webhook;
