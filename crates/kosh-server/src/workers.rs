//! Background workers. Each polls on a short real-time tick, reads time only from the
//! injected clock (so tests drive schedules with a manual clock), and coordinates with
//! other nodes only through rows in the store.
//!
//! - [`callbacks`]: delivers outbox events to partners, with [`policy`] retries, over
//!   the HTTP client in [`outbound`].
//! - [`rail`]: asks the rail about DMT transfers whose time has come (NEFT batches,
//!   holds, late failures, transfers a crashed request left unanswered).
//! - [`bbps`]: asks the biller about bill payments whose time has come (the offline
//!   channel, slow billers, payments a crashed request left unanswered).
//! - [`echelon_payments`]: moves Echelon payins and payouts on (sandbox outcomes, the
//!   rail, expiry) and prunes old throttle windows.
//! - [`payouts`]: asks the payout rail about fund transfers and UPI payments whose
//!   time has come (on the rail worker's tick), finishing what a crash left.
//! - [`request_hashes`]: forgets request_hash uses whose timestamps have gone stale.
//! - [`collections`]: settles accepted UPI QR payments at T+1.

pub mod bbps;
pub mod callbacks;
pub mod collections;
pub mod echelon_payments;
pub mod outbound;
pub mod payouts;
pub mod policy;
pub mod rail;
pub mod request_hashes;
pub mod verifications;
