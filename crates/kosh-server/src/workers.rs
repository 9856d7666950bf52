//! Background workers. Each polls on a short real-time tick, reads time only from the
//! injected clock (so tests drive schedules with a manual clock), and coordinates with
//! other nodes only through rows in the store.
//!
//! - [`callbacks`]: delivers outbox events to partners, with [`policy`] retries, over
//!   the HTTP client in [`outbound`].
//! - [`request_hashes`]: forgets request_hash uses whose timestamps have gone stale.

pub mod callbacks;
pub mod outbound;
pub mod policy;
pub mod request_hashes;
