//! The Echelon payment worker: on a short real-time tick it reads the injected clock,
//! takes the payins and payouts whose `check_at_ms` has come, and moves each on:
//! payins by the sandbox's outcome for their amount or by expiry, payouts by asking the
//! rail (or, for one whose request died before the rail took it, by submitting it). Every move is a guarded command, so several nodes running this loop on one
//! database apply each outcome exactly once. It also drops throttle windows older than
//! a minute.

use crate::service::echelon_payments::{self as service, UNSUBMITTED};
use crate::service::StoreError;
use crate::state::AppState;
use kosh_core::echelon::{failure, payin_outcome, Direction, PayinScenario, Status};
use kosh_rails::{RailError, RailStatus};
use kosh_store::commands::{Advance, Change, PruneThrottle};
use kosh_store::ops::echelon::Payment;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Most payments moved on per tick.
pub const BATCH: i64 = 200;
/// Throttle windows are kept this long, in seconds.
const THROTTLE_KEEP_SECS: i64 = 60;

/// Starts the worker, unless `echelon_worker_tick_ms` is 0 (another node moves the
/// payments on, or a caller drives [`run_once`] itself).
pub fn spawn(app: AppState) -> Option<JoinHandle<()>> {
    let tick = Duration::from_millis(app.config.echelon_worker_tick_ms);
    if tick.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut last_prune_s: Option<i64> = None;
        loop {
            tokio::time::sleep(tick).await;
            if let Err(e) = run_once(&app).await {
                tracing::warn!(error = %e, "echelon worker: a pass failed; retrying on the next tick");
            }
            let now_s = app.now_ms().div_euclid(1000);
            if last_prune_s.is_none_or(|last| now_s - last >= THROTTLE_KEEP_SECS) {
                last_prune_s = Some(now_s);
                let cmd = PruneThrottle { before_window_s: now_s - THROTTLE_KEEP_SECS };
                if let Err(e) = app.store.execute(cmd).await {
                    tracing::warn!(error = %e, "echelon worker: pruning throttle windows failed");
                }
            }
        }
    }))
}

/// One pass: moves every due payment on; answers how many changed.
pub async fn run_once(app: &AppState) -> Result<usize, StoreError> {
    let now = app.now_ms();
    let due = app.store.echelon_due(now, BATCH).await?;
    let mut moved = 0;
    for p in due {
        let (Some(expect), Some(change)) = (p.check_at_ms, decide(app, &p, now).await) else { continue };
        let cmd = Advance { payment_id: p.id, expect_check_at_ms: expect, change };
        match app.store.execute(cmd).await {
            Ok(_) => moved += 1,
            Err(e) => tracing::warn!(error = %e, payment = p.id, "echelon worker: cannot move a payment on"),
        }
    }
    Ok(moved)
}

async fn decide(app: &AppState, p: &Payment, now: i64) -> Option<Change> {
    match p.direction {
        Direction::Payin => decide_payin(app, p, now),
        Direction::Payout => decide_payout(app, p, now).await,
    }
}

fn decide_payin(app: &AppState, p: &Payment, now: i64) -> Option<Change> {
    let scenario = PayinScenario::parse(&p.scenario)?;
    let expire_at = p.expire_at_ms?;
    let delay_ms = app.config.echelon_sandbox_delay_secs as i64 * 1000;
    Some(match payin_outcome(scenario, p.created_at_ms, expire_at, delay_ms, now) {
        Some((Status::Success, _)) => Change::Succeed { utr: None },
        Some((_, code)) => {
            let code = code.unwrap_or(failure::PAYMENT_PROCESS_ERROR);
            let message = match code {
                failure::ENTITY_EXPIRED => "the customer did not pay before expireAt",
                failure::DIFFERENT_AMOUNT_CONFIRMED => "the customer paid a different amount (sandbox)",
                _ => "the payment was refused",
            };
            Change::Fail { code: code.into(), message: Some(message.into()) }
        }
        None => {
            let next = [p.created_at_ms + delay_ms, expire_at].into_iter().filter(|t| *t > now).min()?;
            Change::Recheck { check_at_ms: next }
        }
    })
}

/// How long a payout whose rail cannot be asked now waits before it is asked again.
const RAIL_RETRY_MS: i64 = 60_000;

/// Asks the rail that took the payout (its name is kept in `scenario`) where it stands.
async fn decide_payout(app: &AppState, p: &Payment, now: i64) -> Option<Change> {
    if p.scenario == UNSUBMITTED {
        return service::recover(app, p, now).await;
    }
    let retry = Change::Recheck { check_at_ms: now + RAIL_RETRY_MS };
    let Some(rail) = app.echelon.rail.as_ref().filter(|r| r.name() == p.scenario) else {
        // E.g. a sandbox payout in a database now served outside sandbox mode: only the
        // rail that took an order can say what became of it.
        tracing::warn!(payment = p.id, rail = %p.scenario, "echelon worker: the payout's rail is not configured on this node");
        return Some(retry);
    };
    let order = service::order_of(p)?;
    Some(match rail.status(&order, now).await {
        Ok(RailStatus::Settled { utr }) => Change::Succeed { utr: Some(utr) },
        Ok(RailStatus::Failed { reason, .. }) => {
            Change::Fail { code: failure::PAYMENT_PROCESS_ERROR.into(), message: Some(reason) }
        }
        Ok(RailStatus::Processing { check_at_ms } | RailStatus::Hold { check_at_ms }) => {
            Change::Recheck { check_at_ms: check_at_ms.max(now + 1) }
        }
        Err(RailError::Unavailable(why)) => {
            tracing::warn!(payment = p.id, error = %why, "echelon worker: the rail cannot answer; asking again later");
            retry
        }
        Err(e @ RailError::UnknownOrder(_)) => Change::Fail { code: "SYSTEM".into(), message: Some(e.to_string()) },
    })
}
