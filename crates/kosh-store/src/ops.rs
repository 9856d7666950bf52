//! Domain operations, written once against [`crate::sql::Conn`]. Each runs inside the
//! caller's transaction: a command composes several and commits them as one.

pub mod aeps;
/// Agents (users): onboarding, lookup, counters.
pub mod agents;
pub mod bbps;
pub mod callbacks;
pub mod collections;
pub mod dmt_customers;
pub mod dmt_families;
pub mod dmt_recipients;
pub mod dmt_saved;
pub mod dmt_transfers;
pub mod echelon;
pub mod idempotency;
pub mod ledger;
pub mod loans;
pub mod otp;
pub mod outbox;
/// Partners and their credentials.
pub mod partners;
/// Payout orders (fund transfers, UPI payments).
pub mod payouts;
pub mod request_hashes;
/// Agents' service activations.
pub mod services;
pub mod tokens;
pub mod verifications;
