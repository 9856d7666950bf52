//! Billers: how bill payments (BBPS bills, recharges, credit-card bills) reach the
//! operators who issued the bills.
//!
//! [`BillerProvider`] is the connector trait, shaped like [`crate::Rail`]: `fetch`
//! asks a biller for an account's bill, `pay` hands it a payment, `status` asks where a
//! payment stands. The provider keeps no state Kosh depends on: the store keeps every
//! payment and when to ask about it next. [`crate::sandbox::biller::SandboxBiller`] is
//! the built-in connector of sandbox mode.

use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// What a biller call answers, boxed so the trait stays object-safe.
pub type BillerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BillerError>> + Send + 'a>>;

/// A bill fetch: the operator, the account and the operator's other parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillQuery {
    /// The catalogue operator.
    pub operator_id: i64,
    /// `utility_acc_no`.
    pub account: String,
    /// The operator's other parameters (`dob`, `cycle_number`, …), as sent.
    pub params: BTreeMap<String, String>,
}

/// A bill as the biller answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchedBill {
    /// What is due.
    pub amount: Paise,
    /// The customer's name as the biller has it.
    pub customer_name: String,
    /// The biller's bill number.
    pub bill_number: String,
    /// When the bill was issued, `dd-MM-yyyy`.
    pub bill_date: String,
    /// When it falls due, `dd-MM-yyyy`.
    pub due_date: String,
    /// The BBPS reference of the fetch.
    pub reference: String,
}

/// What a fetch found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchAnswer {
    /// A bill is due.
    Bill(FetchedBill),
    /// The account has nothing due.
    NoBillDue,
}

/// A payment as the biller knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillOrder {
    /// Kosh's transaction id.
    pub reference: String,
    /// The catalogue operator (0 for a credit-card bill).
    pub operator_id: i64,
    /// The account (for a card: the card account).
    pub account: String,
    /// What is paid to the biller.
    pub amount: Paise,
    /// The offline (high-commission) channel: the biller completes within hours.
    pub offline: bool,
    /// When Kosh recorded the payment.
    pub submitted_at_ms: i64,
}

/// Where a payment stands at the biller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillerStatus {
    /// Paid; `reference` is the biller's (BBPS) reference.
    Paid {
        /// The biller's reference.
        reference: String,
    },
    /// Refused; `accepted`: the biller had taken the payment first.
    Failed {
        /// Why, as the partner will see it.
        reason: String,
        /// True when the biller had taken the payment before failing it.
        accepted: bool,
    },
    /// Not final yet: ask again at `check_at_ms`.
    Awaited {
        /// When to ask again (ms since the epoch).
        check_at_ms: i64,
    },
}

/// Why a biller call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillerError {
    /// The biller is down or cannot be reached: nothing was fetched or paid.
    #[error("{0}")]
    Unavailable(String),
}

/// A connector to billers.
pub trait BillerProvider: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// The account's bill.
    fn fetch<'a>(&'a self, query: &'a BillQuery, now_ms: i64) -> BillerFuture<'a, FetchAnswer>;

    /// Hands a payment to the biller.
    fn pay<'a>(&'a self, order: &'a BillOrder, now_ms: i64) -> BillerFuture<'a, BillerStatus>;

    /// Where a payment handed over earlier stands.
    fn status<'a>(&'a self, order: &'a BillOrder, now_ms: i64) -> BillerFuture<'a, BillerStatus>;
}
