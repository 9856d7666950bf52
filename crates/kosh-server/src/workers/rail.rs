//! The rail worker: on a short real-time tick it claims the transfers whose
//! `check_at_ms` has come and asks the rail about each through [`dmt::check`]: NEFT
//! batches, holds, late failures, and transfers whose request died between recording
//! them and hearing from the rail (their `check_at_ms` was set `rail_recovery_secs`
//! ahead when they were recorded).
//!
//! Transfers are claimed with a lease, so workers on many nodes share the work through
//! the database; each status change is conditional on the status it was decided from,
//! so when two callers race, one applies it and the other finds it done.

use crate::service::dmt;
use crate::service::StoreError;
use crate::state::AppState;
use kosh_store::commands::dmt::ClaimDueTransfers;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Most transfers one worker round handles.
pub const CLAIM_LIMIT: i64 = 64;

/// One round: claims the transfers that are due and asks the rail about each. Returns
/// how many were claimed.
pub async fn run_once(app: &AppState) -> Result<usize, StoreError> {
    if !app.store.dmt_any_due(app.now_ms()).await? {
        return Ok(0);
    }
    let lease_ms = i64::try_from(app.config.rail_lease_secs).unwrap_or(3_600).saturating_mul(1000);
    let claim = ClaimDueTransfers { lease_ms, limit: CLAIM_LIMIT };
    let due = app.store.execute(claim).await?;
    for t in &due {
        if let Err(e) = dmt::check(app, t).await {
            // The lease ends and the transfer comes due again.
            tracing::warn!(tid = t.tid.get(), error = %e, "rail check failed; will retry after the lease");
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
