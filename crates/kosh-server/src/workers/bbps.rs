//! The bill-payment worker: on a short real-time tick (`rail_worker_tick_ms`, shared
//! with the rail worker) it claims the payments whose `check_at_ms` has come on the
//! injected clock and asks the biller about each through [`bbps::check`]: offline
//! (`hc_channel` 1) payments, slow billers, and payments whose request died between
//! recording them and hearing from the biller. Claims are leased (`rail_lease_secs`),
//! so workers on many nodes share the work; every status change is conditional.

use crate::service::bbps;
use crate::service::StoreError;
use crate::state::AppState;
use kosh_store::commands::bbps::ClaimDuePayments;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Most payments one worker round handles.
pub const CLAIM_LIMIT: i64 = 64;

/// One round: claims the payments that are due and asks the biller about each. Returns
/// how many were claimed.
pub async fn run_once(app: &AppState) -> Result<usize, StoreError> {
    if !app.store.bbps_any_due(app.now_ms()).await? {
        return Ok(0);
    }
    let lease_ms = i64::try_from(app.config.rail_lease_secs).unwrap_or(3_600).saturating_mul(1000);
    let due = app.store.execute(ClaimDuePayments { lease_ms, limit: CLAIM_LIMIT }).await?;
    for p in &due {
        if let Err(e) = bbps::check(app, p).await {
            // The lease ends and the payment comes due again.
            tracing::warn!(tid = %p.tid, error = %e, "biller check failed; will retry after the lease");
        }
    }
    Ok(due.len())
}

/// The running worker; [`Worker::stop`] ends it after its current round.
pub struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts the worker, unless `rail_worker_tick_ms` is 0 or there is no biller.
pub fn spawn(app: AppState) -> Option<Worker> {
    let tick = Duration::from_millis(app.config.rail_worker_tick_ms);
    if tick.is_zero() || app.biller.is_none() {
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
                        tracing::warn!(error = %e, "bill-payment worker round failed");
                        break;
                    }
                }
            }
        }
    });
    Some(Worker { stop, task })
}

impl Worker {
    /// Stops the worker after its current round.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
