//! Domain operations, written once against [`crate::sql::Conn`]. Each runs inside the
//! caller's transaction: a command composes several and commits them as one.

pub mod agents;
pub mod dmt_customers;
pub mod dmt_recipients;
pub mod dmt_transfers;
pub mod idempotency;
pub mod ledger;
pub mod otp;
pub mod outbox;
pub mod partners;
pub mod services;
