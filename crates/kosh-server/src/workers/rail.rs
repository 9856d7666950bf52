//! Talking to the rail about transfers, and the background worker that does it when a
//! transfer's `check_at_ms` comes due.
//!
//! The rail keeps no state Kosh depends on: the store keeps each transfer and when to
//! ask about it next. Three callers ask:
//! - the transfer request itself, once, right after recording the transfer
//!   ([`submit`]): the rail's answer becomes the partner's initial answer;
//! - an inquiry about a transfer that is due ([`check`]), so a hold resolves as soon as
//!   the partner asks;
//! - the worker ([`run_once`], on a short real-time tick), for every due transfer:
//!   NEFT batches, holds, late failures, and transfers whose request died between
//!   recording them and hearing from the rail (their `check_at_ms` was set
//!   `rail_recovery_secs` ahead when they were recorded).
//!
//! Transfers are claimed with a lease, so workers on many nodes share the work through
//! the database; each status change is conditional on the status it was decided from,
//! so when two callers race, one applies it and the other finds it done.

use crate::eko::dmt::otp_request;
use crate::state::AppState;
use kosh_core::dmt::DmtChannel;
use kosh_core::money::Paise;
use kosh_rails::{Channel, Order, RailError, RailStatus};
use kosh_store::commands::dmt::{DmtCommand, DmtOutcome, RailReport, TransferView};
use kosh_store::commands::{Command, Outcome};
use kosh_store::ops::dmt_transfers::Transfer;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Most transfers one worker round handles.
pub const CLAIM_LIMIT: i64 = 64;
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
        amount: Paise::new(t.charges.amount_paise).unwrap_or(Paise::ZERO),
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
pub async fn submit(app: &AppState, t: &Transfer) -> TransferView {
    let now_ms = app.now_ms();
    let answer = ask(app, &order_of(t), now_ms, Ask::Submit).await;
    let report = report_of(answer, retry_at_ms(app, now_ms));
    match apply(app, t, report, false).await {
        Ok(view) => view,
        Err(e) => {
            tracing::error!(tid = t.tid, error = %e, "could not store the rail's answer; the rail worker will finish the transfer");
            let balance_paise = app.store.balance(t.partner_id, &kosh_core::ledger::AccountKind::PartnerWallet).await;
            TransferView { transfer: t.clone(), balance_paise: balance_paise.map_or(0, |b| b.available_credit()) }
        }
    }
}

/// Asks the rail where a transfer stands and applies the answer, announcing any change
/// through the outbox. A transfer the rail has never heard of and that never got its
/// first answer (its request died before submitting it) is submitted now.
pub async fn check(app: &AppState, t: &Transfer) -> Result<TransferView, String> {
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

async fn apply(app: &AppState, t: &Transfer, report: RailReport, notify: bool) -> Result<TransferView, String> {
    let refund_otp = otp_request(app, "", "");
    let cmd = DmtCommand::ApplyRailReport { partner_id: t.partner_id, tid: t.tid, report, notify, refund_otp };
    match app.store.execute(Command::Dmt(cmd)).await {
        Ok(Outcome::Dmt(DmtOutcome::TransferUpdated { view, .. })) => Ok(view),
        Ok(other) => Err(format!("unexpected outcome {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// One round: claims the transfers that are due and asks the rail about each. Returns
/// how many were claimed.
pub async fn run_once(app: &AppState) -> Result<usize, String> {
    if !app.store.dmt_any_due(app.now_ms()).await.map_err(|e| e.to_string())? {
        return Ok(0);
    }
    let lease_ms = i64::try_from(app.config.rail_lease_secs).unwrap_or(3_600).saturating_mul(1000);
    let claim = DmtCommand::ClaimDueTransfers { lease_ms, limit: CLAIM_LIMIT };
    let due = match app.store.execute(Command::Dmt(claim)).await {
        Ok(Outcome::Dmt(DmtOutcome::DueTransfers(due))) => due,
        Ok(other) => return Err(format!("unexpected outcome {other:?}")),
        Err(e) => return Err(e.to_string()),
    };
    for t in &due {
        if let Err(e) = check(app, t).await {
            // The lease ends and the transfer comes due again.
            tracing::warn!(tid = t.tid, error = %e, "rail check failed; will retry after the lease");
        }
    }
    Ok(due.len())
}

/// The running worker; [`Worker::stop`] ends it after its current round.
pub struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts the worker, unless `rail_worker_tick_ms` is 0.
pub fn spawn(app: AppState) -> Option<Worker> {
    let tick = Duration::from_millis(app.config.rail_worker_tick_ms);
    if tick.is_zero() {
        return None;
    }
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                () = tokio::time::sleep(tick) => {}
            }
            // A full round means more may be due: go again without waiting.
            loop {
                match run_once(&app).await {
                    Ok(n) if n as i64 == CLAIM_LIMIT => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "rail worker round failed");
                        break;
                    }
                }
            }
        }
    });
    Some(Worker { stop, task })
}

impl Worker {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
