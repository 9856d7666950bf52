//! The payout worker: on the rail worker's tick it claims the payouts whose
//! `check_at_ms` has come and asks the rail about each through [`payouts::check`]:
//! NEFT batches, holds, late failures, and payouts whose request died between
//! recording them and applying the rail's answer.
//!
//! Orders are claimed with a lease, so workers on many nodes share the work through
//! the database; each status change is conditional on the status it was decided from.

use crate::service::payouts;
use crate::service::StoreError;
use crate::state::AppState;
use kosh_store::commands::payouts::ClaimDuePayouts;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Most payouts one worker round handles.
pub const CLAIM_LIMIT: i64 = 64;

/// One round: claims the payouts that are due and asks the rail about each. Returns
/// how many were claimed.
pub async fn run_once(app: &AppState) -> Result<usize, StoreError> {
    if !app.store.payout_any_due(app.now_ms()).await? {
        return Ok(0);
    }
    let lease_ms = i64::try_from(app.config.rail_lease_secs).unwrap_or(3_600).saturating_mul(1000);
    let due = app.store.execute(ClaimDuePayouts { lease_ms, limit: CLAIM_LIMIT }).await?;
    for order in &due {
        if let Err(e) = payouts::check(app, order).await {
            // The lease ends and the payout comes due again.
            tracing::warn!(tid = order.tid, error = %e, "payout check failed; will retry after the lease");
        }
    }
    Ok(due.len())
}

/// The running worker; [`Worker::stop`] ends it after its current round.
pub struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts the worker on `rail_worker_tick_ms`, unless it is 0.
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
            loop {
                match run_once(&app).await {
                    Ok(n) if n as i64 == CLAIM_LIMIT => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "payout worker round failed");
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
