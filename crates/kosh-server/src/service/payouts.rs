//! The payout service: every payout Kosh makes from a partner's e-value (Eko fund
//! transfers, service 45, and UPI payments) goes record → rail → apply. Echelon
//! payouts keep their own store (`echelon_payments`, their order ids and statuses) and
//! take their rail steps here too: [`hand_over`] in the request, [`ask_or_hand_over`]
//! when a worker finishes what a crash left.
//!
//! 1. *Record* ([`record`]): one command under the partner's `client_ref_id`
//!    idempotency key claims the key, checks the agent's service, the amount and the
//!    mode's rules, prices the payout, reserves amount + fee (a pending ledger entry)
//!    and stores the order with `check_at_ms` `rail_recovery_secs` ahead.
//! 2. *Submit*: the order goes to the payout rail, by its tid.
//! 3. *Apply* ([`apply`]): one command applies the rail's answer: posted, voided, or
//!    refunded (voided after the bank had taken it).
//!
//! A request that dies between the steps leaves an order whose `check_at_ms` comes
//! due; the payout worker ([`crate::workers::payouts`]) then asks the rail about it
//! through [`check`]: *status first*, so an order the bank already has is never handed
//! over again, and only an order the bank does not know (and that never had an answer)
//! is submitted. The sandbox bank counts submissions per order to prove it.

use super::StoreError;
use crate::state::AppState;
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_core::payouts::PaymentMode;
use kosh_rails::sandbox::payout::SandboxPayoutBank;
use kosh_rails::{Channel, Order, Rail, RailError, RailStatus};
use kosh_store::commands::dmt::RailReport;
use kosh_store::commands::payouts::{ApplyPayoutReport, NewPayout, PayoutView};
use kosh_store::commands::IdemKey;
use kosh_store::error::CommandError;
use kosh_store::ops::payouts::PayoutOrder;
use kosh_store::scopes;
use std::sync::Arc;

/// Why a payout was not made.
#[derive(Debug)]
pub enum PayoutError {
    /// No payout rail on this node (outside sandbox mode): nothing was recorded.
    NoRail,
    /// The store refused it (a product rule, a reused `client_ref_id`): nothing reserved.
    Refused(CommandError),
    /// The store could not answer.
    Store(String),
}

/// Why nothing can be paid out outside sandbox mode.
pub const NO_RAIL: &str = "no payout rail connector is configured on this server (the sandbox bank runs only in sandbox mode)";
/// The `reason` of a payout refused because the bank was down starts with this.
pub const BANK_DOWN_PREFIX: &str = "Bank down: ";

/// This node's payout rail: the sandbox bank in sandbox mode, none outside it.
pub fn payout_rail(config: &crate::config::Config) -> Option<Arc<dyn Rail>> {
    config.sandbox.then(|| Arc::new(SandboxPayoutBank::new(config.sandbox_rail(), config.payout_reversal_ms())) as Arc<dyn Rail>)
}

/// Records a payout, hands it to the rail and applies the answer. The same request
/// again answers the order as it stands now, without asking the rail. A settlement
/// outside its window is only recorded: the payout worker submits it when the window
/// opens (its `check_at_ms`).
pub async fn initiate(app: &AppState, request: NewPayout) -> Result<PayoutView, PayoutError> {
    let rail = app.payout_rail.clone().ok_or(PayoutError::NoRail)?;
    let queued = request.settlement.as_ref().is_some_and(|s| s.submit_at_ms > app.now_ms());
    let (recorded, replayed) = record(app, request).await?;
    if replayed || queued {
        let current = app.store.payout(recorded.order.partner_id, recorded.order.tid).await;
        let current = current.map_err(|e| PayoutError::Store(e.to_string()))?;
        let current = current.ok_or_else(|| PayoutError::Store("a replayed payout is missing".into()))?;
        return with_balance(app, current).await.map_err(|e| PayoutError::Store(e.to_string()));
    }
    Ok(submit_and_apply(app, &rail, recorded).await)
}

/// The record step alone: the order stored and its debit reserved, not yet submitted;
/// `true` when it is a replay of an earlier request. Public so that a test can stop a
/// payout where a crash would.
pub async fn record(app: &AppState, request: NewPayout) -> Result<(PayoutView, bool), PayoutError> {
    let key =
        IdemKey { partner_id: request.partner_id, scope: scopes::EKO_CLIENT_REF.into(), key: request.client_ref_id.clone() };
    let executed = app.store.execute_idempotent(key, request).await.map_err(PayoutError::Refused)?;
    Ok((executed.outcome, executed.replayed))
}

/// The submit step alone: the order handed to the rail, its answer not applied. Public
/// so that a test can stop a payout between submit and apply, where a crash would.
pub async fn submit(app: &AppState, order: &PayoutOrder) -> Result<RailStatus, RailError> {
    let Some(rail) = &app.payout_rail else { return Err(RailError::Unavailable(NO_RAIL.into())) };
    hand_over(rail.as_ref(), &order_of(order), app.now_ms()).await
}

/// The request's rail step, for every product's payouts: the order, recorded by this
/// request a moment ago, is handed to the bank.
pub async fn hand_over(rail: &dyn Rail, order: &Order, now_ms: i64) -> Result<RailStatus, RailError> {
    rail.submit(order, now_ms).await
}

/// The recovery's rail step, for every product's payouts: the bank is asked first, and
/// only an order it does not know (its request died before handing it over) is handed
/// over now, so an order is never submitted twice. The order's reference (an Eko tid,
/// an Echelon payout id) is its identity at the bank, so should a bank forget an order
/// (a sandbox bank restarted for real), handing it over again is what recovers it.
pub async fn ask_or_hand_over(rail: &dyn Rail, order: &Order, now_ms: i64) -> Result<RailStatus, RailError> {
    match rail.status(order, now_ms).await {
        Err(RailError::UnknownOrder(_)) => rail.submit(order, now_ms).await,
        other => other,
    }
}

async fn submit_and_apply(app: &AppState, rail: &Arc<dyn Rail>, recorded: PayoutView) -> PayoutView {
    let now_ms = app.now_ms();
    let answer = hand_over(rail.as_ref(), &order_of(&recorded.order), now_ms).await;
    match apply(app, &recorded.order, report_of(answer, retry_at_ms(app, now_ms))).await {
        Ok(view) => view,
        Err(e) => {
            tracing::error!(tid = recorded.order.tid, error = %e, "could not store the rail's answer; the payout worker will finish the payout");
            recorded
        }
    }
}

/// Asks the rail where an order stands and applies the answer. An order the rail does
/// not know (its request died before the bank took it) is submitted now: the only way
/// an order reaches the bank after its request.
pub async fn check(app: &AppState, order: &PayoutOrder) -> Result<PayoutView, StoreError> {
    let now_ms = app.now_ms();
    let Some(rail) = app.payout_rail.clone() else {
        return apply(app, order, report_of(Err(RailError::Unavailable(NO_RAIL.into())), retry_at_ms(app, now_ms))).await;
    };
    let answer = ask_or_hand_over(rail.as_ref(), &order_of(order), now_ms).await;
    apply(app, order, report_of(answer, retry_at_ms(app, now_ms))).await
}

/// An order as an inquiry answers it: one awaiting the bank whose time has come is
/// asked about first; if the rail cannot be asked, the stored status is answered.
pub async fn inquire(app: &AppState, order: PayoutOrder) -> Result<PayoutView, StoreError> {
    let due = order.tx_status.awaits_bank() && order.check_at_ms.is_some_and(|at| at <= app.now_ms());
    if due {
        match check(app, &order).await {
            Ok(view) => return Ok(view),
            Err(e) => tracing::warn!(tid = order.tid, error = %e, "inquiry could not ask the rail; answering the stored status"),
        }
    }
    with_balance(app, order).await
}

/// The order with the partner's available e-value.
pub async fn with_balance(app: &AppState, order: PayoutOrder) -> Result<PayoutView, StoreError> {
    let balance = app.store.balance(order.partner_id, &AccountKind::PartnerWallet).await?;
    Ok(PayoutView { order, balance_paise: balance.available_credit() })
}

async fn apply(app: &AppState, order: &PayoutOrder, report: RailReport) -> Result<PayoutView, StoreError> {
    let reversal_watch_ms = app.config.payout_reversal_ms();
    let cmd = ApplyPayoutReport { partner_id: order.partner_id, tid: order.tid, report, reversal_watch_ms };
    Ok(app.store.execute(cmd).await?.view)
}

/// The order the rail knows a payout by: its tid.
pub fn order_of(o: &PayoutOrder) -> Order {
    Order {
        reference: o.tid.to_string(),
        channel: match o.mode {
            PaymentMode::Neft => Channel::Neft,
            PaymentMode::Imps => Channel::Imps,
            PaymentMode::Rtgs => Channel::Rtgs,
            PaymentMode::Upi => Channel::Upi,
        },
        amount: Paise::new(o.amount_paise).unwrap_or(Paise::ZERO),
        account: o.account.clone(),
        ifsc: o.ifsc.clone(),
        beneficiary_name: o.recipient_name.clone(),
        submitted_at_ms: o.created_at_ms,
    }
}

/// What the rail said, in the store's terms.
fn report_of(answer: Result<RailStatus, RailError>, retry_at_ms: i64) -> RailReport {
    match answer {
        Ok(RailStatus::Settled { utr }) => RailReport::Settled { utr },
        Ok(RailStatus::Failed { reason, accepted }) => RailReport::Failed { reason, accepted },
        Ok(RailStatus::Processing { check_at_ms }) => RailReport::Waiting { check_at_ms, hold: false },
        Ok(RailStatus::Hold { check_at_ms }) => RailReport::Waiting { check_at_ms, hold: true },
        Err(RailError::Unavailable(why)) => RailReport::Unavailable { reason: format!("{BANK_DOWN_PREFIX}{why}"), retry_at_ms },
        Err(RailError::UnknownOrder(reference)) => RailReport::Unavailable {
            reason: format!("the rail does not know order {reference}; asking again later"),
            retry_at_ms,
        },
    }
}

fn retry_at_ms(app: &AppState, now_ms: i64) -> i64 {
    now_ms.saturating_add(i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000)
}
