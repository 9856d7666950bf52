//! DMT transfers: record (one command: idempotency claim, checks, e-value reserved,
//! the transfer stored) → the rail → apply its answer (one command). A request that
//! dies between the steps leaves a recorded transfer whose `check_at_ms` was set
//! `rail_recovery_secs` ahead; the rail worker ([`crate::workers::rail`]) finishes it
//! through [`check`].
//!
//! The rail keeps no state Kosh depends on: the store keeps each transfer and when to
//! ask about it next. Three callers ask: the transfer request, once, right after
//! recording ([`initiate`]); an inquiry about a transfer that is due ([`inquire`]), so
//! a hold resolves as soon as the partner asks; the worker, for every due transfer.
//! Each status change is conditional on the status it was decided from, so when two
//! callers race, one applies it and the other finds it done.

use super::StoreError;
use crate::eko::dmt::otp_request;
use crate::state::AppState;
use kosh_core::dmt::DmtChannel;
use kosh_core::ledger::AccountKind;
use kosh_rails::{Channel, Order, RailError, RailStatus};
use kosh_store::commands::dmt::{ApplyRailReport, NewTransfer, RailReport, TransferView};
use kosh_store::commands::IdemKey;
use kosh_store::error::CommandError;
use kosh_store::ops::dmt_transfers::Transfer;
use kosh_store::scopes;

/// Why a transfer was not made.
#[derive(Debug)]
pub enum InitiateError {
    /// No rail on this node (outside sandbox mode): nothing was recorded.
    NoRail,
    /// The store refused the transfer (a product rule, a reused `client_ref_id`).
    Refused(CommandError),
    /// The store could not answer.
    Store(String),
}

/// Records a transfer (its `client_ref_id` claimed, its e-value reserved), then hands
/// it to the rail and applies the answer. The same request again answers the transfer
/// as it stands now, without asking the rail.
pub async fn initiate(app: &AppState, request: NewTransfer) -> Result<TransferView, InitiateError> {
    if app.rail.is_none() {
        return Err(InitiateError::NoRail);
    }
    let partner_id = request.partner_id;
    let key = IdemKey { partner_id, scope: scopes::EKO_CLIENT_REF.into(), key: request.client_ref_id.clone() };
    let executed = app.store.execute_idempotent(key, request).await.map_err(InitiateError::Refused)?;
    let recorded = executed.outcome;
    if executed.replayed {
        let current = app.store.dmt_transfer(partner_id, recorded.tid).await.map_err(|e| InitiateError::Store(e.to_string()))?;
        let current = current.ok_or_else(|| InitiateError::Store("a replayed transfer is missing".into()))?;
        return with_balance(app, current).await.map_err(|e| InitiateError::Store(e.to_string()));
    }
    Ok(submit(app, &recorded).await)
}

/// A transfer as an inquiry answers it: one awaiting the bank whose time to ask has come
/// is asked about first; if the rail cannot be asked, the stored status is answered.
pub async fn inquire(app: &AppState, transfer: Transfer) -> Result<TransferView, StoreError> {
    let due = transfer.tx_status.awaits_bank() && transfer.check_at_ms.is_some_and(|at| at <= app.now_ms());
    if due {
        match check(app, &transfer).await {
            Ok(view) => return Ok(view),
            Err(e) => {
                tracing::warn!(tid = transfer.tid.get(), error = %e, "inquiry could not ask the rail; answering the stored status");
            }
        }
    }
    with_balance(app, transfer).await
}

/// The transfer with the partner's available e-value.
pub async fn with_balance(app: &AppState, transfer: Transfer) -> Result<TransferView, StoreError> {
    let balance = app.store.balance(transfer.partner_id, &AccountKind::PartnerWallet).await?;
    Ok(TransferView { transfer, balance_paise: balance.available_credit() })
}

/// The `reason` of a transfer refused because the bank was down starts with this.
pub const BANK_DOWN_PREFIX: &str = "Bank down: ";
/// Why nothing can be sent outside sandbox mode.
pub const NO_RAIL: &str = "no bank rail connector is configured on this server (the sandbox rail runs only in sandbox mode)";

/// The order the rail knows a transfer by.
pub fn order_of(t: &Transfer) -> Order {
    Order {
        reference: t.tid.to_string(),
        channel: match t.channel {
            DmtChannel::Imps => Channel::Imps,
            DmtChannel::Neft => Channel::Neft,
        },
        amount: t.charges.amount_paise,
        account: t.account.clone(),
        ifsc: t.ifsc.clone(),
        beneficiary_name: t.recipient_name.clone(),
        submitted_at_ms: t.created_at_ms,
    }
}

/// What the rail said, in the store's terms. `UnknownOrder` is answered by the caller.
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

/// Hands a freshly recorded transfer to the rail and applies the answer (no callback:
/// the answer goes back to the partner in the response). If the answer cannot be
/// stored, the transfer stays as recorded and the worker finishes it later.
async fn submit(app: &AppState, t: &Transfer) -> TransferView {
    let now_ms = app.now_ms();
    let answer = ask(app, &order_of(t), now_ms, Ask::Submit).await;
    let report = report_of(answer, retry_at_ms(app, now_ms));
    match apply(app, t, report, false).await {
        Ok(view) => view,
        Err(e) => {
            tracing::error!(tid = t.tid.get(), error = %e, "could not store the rail's answer; the rail worker will finish the transfer");
            let balance_paise = app.store.balance(t.partner_id, &kosh_core::ledger::AccountKind::PartnerWallet).await;
            TransferView { transfer: t.clone(), balance_paise: balance_paise.map_or(0, |b| b.available_credit()) }
        }
    }
}

/// Asks the rail where a transfer stands and applies the answer, announcing any change
/// through the outbox. A transfer the rail has never heard of and that never got its
/// first answer (its request died before submitting it) is submitted now.
pub async fn check(app: &AppState, t: &Transfer) -> Result<TransferView, StoreError> {
    let now_ms = app.now_ms();
    let order = order_of(t);
    let answer = match ask(app, &order, now_ms, Ask::Status).await {
        Err(RailError::UnknownOrder(_)) if !t.answered => ask(app, &order, now_ms, Ask::Submit).await,
        other => other,
    };
    apply(app, t, report_of(answer, retry_at_ms(app, now_ms)), true).await
}

enum Ask {
    Submit,
    Status,
}

/// Asks this node's rail; without one (outside sandbox mode) the bank is unreachable.
async fn ask(app: &AppState, order: &Order, now_ms: i64, ask: Ask) -> Result<RailStatus, RailError> {
    let Some(rail) = &app.rail else {
        return Err(RailError::Unavailable(NO_RAIL.into()));
    };
    match ask {
        Ask::Submit => rail.submit(order, now_ms).await,
        Ask::Status => rail.status(order, now_ms).await,
    }
}

async fn apply(app: &AppState, t: &Transfer, report: RailReport, notify: bool) -> Result<TransferView, StoreError> {
    let refund_otp = otp_request(app, "", "");
    let cmd = ApplyRailReport { partner_id: t.partner_id, tid: t.tid, report, notify, refund_otp };
    Ok(app.store.execute(cmd).await?.view)
}
