//! Echelon payins and payouts.
//!
//! A payin is one command: recorded with its plan, moved on later by the payment
//! worker. A payout is record → rail → apply: the payment is stored with its amount
//! and fee reserved and [`UNSUBMITTED`] as its rail, `rail_recovery_secs` before it is
//! due; then the order goes to the rail; then the rail's answer is applied as one
//! guarded [`Change`]. A bank that refuses the order at once (it is down) withdraws the
//! payout: the row is deleted and the reservation voided, so the merchant sees the
//! refusal and may use the order id again. A request that dies after recording leaves
//! an unsubmitted payout the payment worker submits once it is due ([`recover`]).
//! Both rail steps are the payout service's (`service::payouts::hand_over` and
//! `ask_or_hand_over`), shared with every Eko payout.

use crate::config::Config;
use crate::state::AppState;
use kosh_core::echelon::{failure, method, Direction, Method, Status};
use kosh_core::money::Paise;
use kosh_rails::sandbox::echelon_payout::SandboxPayoutRail;
use kosh_rails::{Channel, Order, Rail, RailError, RailStatus};
use kosh_store::commands::{Advance, Advanced, Change};
use kosh_store::error::{CommandError, Rejection};
pub use kosh_store::ops::echelon::UNSUBMITTED;
use kosh_store::ops::echelon::{NewPayment, Payment};
use serde_json::Value;
use std::sync::Arc;

/// Why a payment was not created.
#[derive(Debug)]
pub enum CreateError {
    /// The merchant order id was used before: nothing changed.
    Duplicate,
    /// The wallet cannot cover a payout's amount and fee: nothing changed.
    InsufficientFunds {
        /// What the wallet could spend, in paise.
        available_paise: i64,
    },
    /// No payout rail on this node (outside sandbox mode): nothing was recorded.
    NoRail,
    /// The rail refused the order at once (the bank is down): the payout was withdrawn.
    RailRefused(String),
    /// The store could not answer.
    Store(String),
}

/// A rail payouts go out on.
pub type PayoutRail = Arc<dyn Rail>;

/// This node's payout rail: in sandbox mode the simulator driven by magic amounts;
/// outside it none until a real connector is configured.
pub fn payout_rail(config: &Config) -> Option<PayoutRail> {
    config.sandbox.then(|| Arc::new(SandboxPayoutRail::default()) as PayoutRail)
}

/// Records a payin (one command).
pub async fn create_payin(app: &AppState, new: NewPayment) -> Result<Payment, CreateError> {
    create(app, new).await
}

/// Records a payout with its reservation, hands it to the rail and applies the answer.
pub async fn create_payout(app: &AppState, new: NewPayment) -> Result<Payment, CreateError> {
    let rail = app.echelon.rail.clone().ok_or(CreateError::NoRail)?;
    let recorded = record_payout(app, new).await?;
    submit(app, &rail, recorded).await
}

/// The record step of [`create_payout`] alone: the payout stored, unsubmitted, due
/// `rail_recovery_secs` from now. Public so that a test can stop a payout where a crash
/// would and watch the worker finish it.
pub async fn record_payout(app: &AppState, mut new: NewPayment) -> Result<Payment, CreateError> {
    new.scenario = UNSUBMITTED.into();
    new.status = Status::Processing;
    new.check_at_ms = Some(app.now_ms().saturating_add(recovery_ms(app)));
    create(app, new).await
}

fn recovery_ms(app: &AppState) -> i64 {
    i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600).saturating_mul(1000)
}

async fn create(app: &AppState, new: NewPayment) -> Result<Payment, CreateError> {
    match app.store.execute(new).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(CreateError::Duplicate),
        Err(CommandError::Rejected(Rejection::InsufficientFunds { available_paise })) => {
            Err(CreateError::InsufficientFunds { available_paise })
        }
        Err(e) => Err(CreateError::Store(e.to_string())),
    }
}

/// Hands a payout recorded by this request to the rail. If the answer cannot be
/// stored, the payout stays unsubmitted and the worker submits it again when it is due
/// (the order's reference is the payment's id, by which a rail knows a repeat).
async fn submit(app: &AppState, rail: &Arc<dyn Rail>, p: Payment) -> Result<Payment, CreateError> {
    let Some(expect) = p.check_at_ms else { return Ok(p) };
    let now = app.now_ms();
    let order = order_of(&p).ok_or_else(|| CreateError::Store(format!("payout {} has no valid order", p.id_payment)))?;
    let (change, refused) = match super::payouts::hand_over(rail.as_ref(), &order, now).await {
        Ok(s) => (submitted(rail, &s, now), None),
        Err(RailError::Unavailable(why) | RailError::UnknownOrder(why)) => (Change::Withdraw, Some(why)),
    };
    let cmd = Advance { payment_id: p.id, expect_check_at_ms: expect, change };
    match (app.store.execute(cmd).await, refused) {
        (Ok(Advanced::Moved(after)), None) => Ok(*after),
        (Ok(Advanced::Withdrawn), Some(why)) => Err(CreateError::RailRefused(why)),
        (other, _) => {
            tracing::error!(payment = p.id, outcome = ?other, "could not store the rail's answer; the payment worker will finish the payout");
            Ok(p)
        }
    }
}

fn submitted(rail: &Arc<dyn Rail>, status: &RailStatus, now: i64) -> Change {
    Change::Submitted { rail: rail.name().into(), check_at_ms: status.check_at_ms().unwrap_or(now) }
}

/// The worker's step for a payout whose request died between the record and applying
/// the rail's answer: the payout service's recovery step asks the bank, and hands the
/// order over only if the bank does not have it. A bank that refuses it fails it,
/// voiding the reservation, since no request is waiting to be told.
pub async fn recover(app: &AppState, p: &Payment, now: i64) -> Option<Change> {
    let Some(rail) = app.echelon.rail.clone() else {
        tracing::warn!(payment = p.id, "echelon worker: an unsubmitted payout, and no payout rail on this node");
        return Some(Change::Recheck { check_at_ms: now.saturating_add(recovery_ms(app)) });
    };
    let order = order_of(p)?;
    // Asked first: a request that died after handing the order over must not hand it
    // over again.
    Some(match super::payouts::ask_or_hand_over(rail.as_ref(), &order, now).await {
        Ok(s) => submitted(&rail, &s, now),
        Err(RailError::Unavailable(why) | RailError::UnknownOrder(why)) => {
            Change::Fail { code: failure::PAYMENT_PROCESS_ERROR.into(), message: Some(why) }
        }
    })
}

/// The rail order of a stored payout.
pub fn order_of(p: &Payment) -> Option<Order> {
    let m = method(Direction::Payout, &p.method_code)?;
    Some(rail_order(&p.id_payment, &p.method_json, m, p.amount_paise, p.created_at_ms))
}

/// The rail order of a payout.
pub fn rail_order(id_payment: &str, method_json: &str, method: &Method, amount: Paise, submitted_at_ms: i64) -> Order {
    let m: Value = serde_json::from_str(method_json).unwrap_or_default();
    let text = |key: &str| m["account"][key].as_str().unwrap_or("").to_owned();
    Order {
        reference: id_payment.to_owned(),
        channel: if method.rail == "upi" { Channel::Upi } else { Channel::Imps },
        amount,
        account: text("accountNumber"),
        ifsc: text("bankCode"),
        beneficiary_name: text("accountName"),
        submitted_at_ms,
    }
}
