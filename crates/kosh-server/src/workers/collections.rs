//! Settles accepted UPI QR payments when their settlement (T+1) is due: posts each
//! payment's pending wallet credit and queues its final status callback. Runs on every
//! node; what is due is read from the injected clock, and a payment is settled by a
//! conditional update, so two nodes never settle one twice.

use kosh_store::commands::collections::{SettleDueQrPayments, MAX_SETTLE_BATCH};
use kosh_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often (real time) the worker looks for due settlements.
const TICK: Duration = Duration::from_millis(100);

/// Starts the worker; abort the handle to stop it (each pass is one atomic command).
pub fn spawn(store: Arc<Store>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            settle(&store).await;
            tokio::time::sleep(TICK).await;
        }
    })
}

/// Settles every due payment, one bounded batch per command.
pub async fn settle(store: &Store) {
    loop {
        match store.execute(SettleDueQrPayments { limit: MAX_SETTLE_BATCH }).await {
            Ok(n) if i64::try_from(n).unwrap_or(i64::MAX) >= MAX_SETTLE_BATCH => continue,
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(settled = n, "settled UPI QR payments");
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "settling UPI QR payments failed; trying again on the next tick");
                return;
            }
        }
    }
}
