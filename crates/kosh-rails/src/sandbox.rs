//! The sandbox simulators: the banks of sandbox mode, as connectors behind [`Rail`].
//!
//! Every simulator here is deterministic: an order's fate is a pure function of the
//! order and the time, chosen by a documented magic value, so the same order behaves the
//! same way across restarts and on every node, and partners pick an outcome the way they
//! pick a test card number.
//!
//! - [`rail`]: the bank networks for DMT transfers ([`rail::SandboxRail`]); the
//!   beneficiary account number's last four digits choose a [`rail::Scenario`].
//! - [`echelon_payout`]: the payout rail of Echelon's sandbox mode
//!   ([`echelon_payout::SandboxPayoutRail`]), the same simulator with the scenario chosen
//!   by a magic amount first.
//!
//! They live in this crate because they are connector implementations: the server picks
//! one (or, outside sandbox mode, none) where it would pick a real bank. What is not a
//! connector stays above: the sandbox partner and merchant that exist out of the box are
//! seeded by `kosh_server::sandbox`. The AePS sandbox bank (`kosh_core::aeps::sandbox`)
//! stays in `kosh-core` for now: a store command consults it inside the transaction that
//! records the withdrawal, and `kosh-store` sits below this crate.
//!
//! [`Rail`]: crate::Rail

pub mod echelon_payout;
pub mod rail;
pub mod verify;
