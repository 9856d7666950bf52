//! Counters the store keeps for `/metrics`: plain atomics, read without locks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the batch-size histogram buckets.
pub const BATCH_BUCKETS: [u64; 8] = [1, 2, 4, 16, 64, 128, 256, 512];

/// What the store did since it opened, for `/metrics`. Relaxed atomics: each counter is exact, but they are not read as one snapshot.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Group-commit batches committed by the SQLite writer.
    pub batches: AtomicU64,
    /// Commands in those batches (their sum over batches).
    pub batched_commands: AtomicU64,
    /// Cumulative counts per bucket of [`BATCH_BUCKETS`] (Prometheus `le` semantics).
    pub batch_size_buckets: [AtomicU64; BATCH_BUCKETS.len()],
    /// Ledger entries posted, at once or by resolving a pending one (replays not counted).
    pub entries_posted: AtomicU64,
    /// Ledger entries recorded pending.
    pub entries_pending: AtomicU64,
    /// Pending ledger entries voided.
    pub entries_voided: AtomicU64,
    /// PostgreSQL transactions run again after losing a race.
    pub retries: AtomicU64,
}

impl StoreStats {
    /// Counts one committed batch of `size` commands.
    pub fn record_batch(&self, size: usize) {
        let size = size as u64;
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_commands.fetch_add(size, Ordering::Relaxed);
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.batch_size_buckets) {
            if size <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A counter's value now.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
