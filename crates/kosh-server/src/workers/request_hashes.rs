//! Forgets recorded request_hash uses (replay protection) once their timestamps have left
//! the tolerance: from then on the staleness rule refuses those headers anyway. Runs on
//! every node (another node on the database may have replay protection on); what is due
//! is read from the injected clock, and each pass deletes one bounded batch.

use kosh_store::commands::PruneRequestHashes;
use kosh_store::ops::request_hashes::PRUNE_BATCH;
use kosh_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often (real time) the worker looks at the clock.
const TICK: Duration = Duration::from_millis(250);
/// How often (injected clock) a caught-up worker prunes.
const PRUNE_EVERY_MS: i64 = 60_000;
/// How soon a failed prune is tried again (injected clock).
const PRUNE_RETRY_MS: i64 = 10_000;
/// How long a use is kept past its expiry: a node whose clock is behind the pruning
/// node's by up to this still finds the use and refuses the replay.
pub const CLOCK_SKEW_MS: i64 = 60_000;

pub fn spawn(store: Arc<Store>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut next_prune_at_ms = i64::MIN;
        loop {
            if store.now_ms() >= next_prune_at_ms {
                next_prune_at_ms = prune(&store).await;
            }
            tokio::time::sleep(TICK).await;
        }
    })
}

/// Deletes one batch; answers when to prune next: at once while batches come back full.
async fn prune(store: &Store) -> i64 {
    let now_ms = store.now_ms();
    let cmd = PruneRequestHashes { expired_by_ms: now_ms.saturating_sub(CLOCK_SKEW_MS), limit: PRUNE_BATCH };
    match store.execute(cmd).await {
        Ok(n) => {
            if n > 0 {
                tracing::debug!(deleted = n, "pruned expired request_hash uses");
            }
            if i64::try_from(n).unwrap_or(i64::MAX) >= PRUNE_BATCH {
                now_ms
            } else {
                now_ms + PRUNE_EVERY_MS
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "pruning request_hash uses failed; trying again shortly");
            now_ms + PRUNE_RETRY_MS
        }
    }
}
