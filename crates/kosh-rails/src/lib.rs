#![recursion_limit = "256"]
//! # kosh-rails: how money reaches the banks
//!
//! A guided tour:
//! - [`Rail`] is the connector trait: [`Rail::submit`] hands an [`Order`] to a bank
//!   network, [`Rail::status`] asks where it stands. Both answer a [`RailStatus`].
//! - [`sandbox::rail::SandboxRail`] is the built-in connector: a deterministic simulator
//!   whose outcomes are chosen by documented magic values (see
//!   [`sandbox::rail::Scenario`]); [`sandbox`] holds every simulator of sandbox mode.
//!
//! The rail keeps no state of its own that Kosh depends on: the store keeps every order
//! and its last known status, and a worker asks [`Rail::status`] when an order's
//! `check_at_ms` comes due. A simulator written this way survives restarts for free,
//! and a real connector (which asks the bank) fits the same two calls.

pub mod sandbox;
pub mod verify;

use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// A boxed future, so that [`Rail`] can be used as `dyn Rail`.
pub type RailFuture<'a> = Pin<Box<dyn Future<Output = Result<RailStatus, RailError>> + Send + 'a>>;

/// The payment networks Kosh sends money over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Imps,
    Neft,
    Rtgs,
    Upi,
}

impl Channel {
    /// The rail's name as the ledger's clearing accounts spell it.
    pub fn rail_name(self) -> &'static str {
        match self {
            Channel::Imps => "imps",
            Channel::Neft => "neft",
            Channel::Rtgs => "rtgs",
            Channel::Upi => "upi",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        [Channel::Imps, Channel::Neft, Channel::Rtgs, Channel::Upi].into_iter().find(|c| c.rail_name() == name)
    }
}

/// One payment handed to a rail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Kosh's unique reference for the payment (the Eko `tid`, an Echelon payout id).
    pub reference: String,
    pub channel: Channel,
    pub amount: Paise,
    /// Beneficiary account number (or VPA on UPI).
    pub account: String,
    /// Beneficiary IFSC; empty on UPI.
    pub ifsc: String,
    pub beneficiary_name: String,
    /// When Kosh first submitted the order (from the injected clock).
    pub submitted_at_ms: i64,
}

/// Where an order stands at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RailStatus {
    /// Money reached the beneficiary; `utr` is the bank's reference (Eko's `bank_ref_num`).
    Settled { utr: String },
    /// The bank refused or reversed the payment; no money moved. `accepted`: the bank had
    /// taken the order before it failed (returned, reversed after a hold), as opposed to
    /// declining it when it was handed over. It is part of the order's story, so every
    /// caller hears the same: a failure asked about late (by a worker after a crash) still
    /// says the order was accepted, and is handled as the same late failure.
    Failed { reason: String, accepted: bool },
    /// Accepted and awaiting settlement (a NEFT batch, a slow bank): ask again at `check_at_ms`.
    Processing { check_at_ms: i64 },
    /// The bank has not said what happened (a timeout): inquiry is required, from `check_at_ms`.
    Hold { check_at_ms: i64 },
}

impl RailStatus {
    /// Settled or failed: nothing will change any more.
    pub fn is_final(&self) -> bool {
        matches!(self, RailStatus::Settled { .. } | RailStatus::Failed { .. })
    }

    /// When to ask again, for a status that is not final.
    pub fn check_at_ms(&self) -> Option<i64> {
        match self {
            RailStatus::Processing { check_at_ms } | RailStatus::Hold { check_at_ms } => Some(*check_at_ms),
            _ => None,
        }
    }
}

/// The rail could not take or answer the call; the order's state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RailError {
    /// The beneficiary bank or the network is down; nothing was submitted.
    #[error("{0}")]
    Unavailable(String),
    /// The rail does not know the order (only `status` can say this).
    #[error("the rail has no order {0}")]
    UnknownOrder(String),
}

/// A connector to a payment network.
pub trait Rail: Send + Sync {
    /// A short name for logs and the operator (`sandbox`).
    fn name(&self) -> &'static str;

    /// Hands `order` to the network. An `Err` means nothing was submitted.
    fn submit<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a>;

    /// Where `order` stands now. Asking again is always safe.
    fn status<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a>;
}
