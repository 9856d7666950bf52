//! The verification worker: empties verification answers whose retention
//! (`verification_retention_days`) has passed, and refunds verifications whose request
//! died between recording and the provider's answer (after `rail_recovery_secs`). Both
//! are read from the injected clock and done in bounded batches; every node may run it
//! (each change is conditional, so two nodes never refund twice).

use crate::state::AppState;
use kosh_store::commands::verification::{SweepVerifications, VerificationOutcome};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Most verifications one pass purges (and, separately, refunds).
pub const SWEEP_BATCH: i64 = 500;

/// Starts the worker, unless `verification_worker_tick_ms` is 0.
pub fn spawn(app: &AppState) -> Option<JoinHandle<()>> {
    let tick_ms = app.config.verification_worker_tick_ms;
    if tick_ms == 0 {
        return None;
    }
    let app = app.clone();
    Some(tokio::spawn(async move {
        loop {
            sweep(&app).await;
            tokio::time::sleep(Duration::from_millis(tick_ms)).await;
        }
    }))
}

/// One pass; passes again at once (bounded) while batches come back full.
pub async fn sweep(app: &AppState) {
    let recovery_ms = i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000;
    for _ in 0..16 {
        let cmd = SweepVerifications { stale_before_ms: app.now_ms().saturating_sub(recovery_ms), limit: SWEEP_BATCH };
        match app.store.execute(cmd).await {
            Ok(VerificationOutcome::Swept { purged, refunded }) => {
                if purged > 0 || refunded > 0 {
                    tracing::info!(purged, refunded, "verification sweep");
                }
                if purged < SWEEP_BATCH as u64 && refunded < SWEEP_BATCH as u64 {
                    return;
                }
            }
            Ok(other) => {
                tracing::error!(?other, "the verification sweep answered something else");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the verification sweep failed; trying again next tick");
                return;
            }
        }
    }
}
