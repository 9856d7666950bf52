//! Counters the store keeps for `/metrics`: plain atomics, read without locks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the batch-size histogram buckets.
pub const BATCH_BUCKETS: [u64; 8] = [1, 2, 4, 16, 64, 128, 256, 512];

#[derive(Debug, Default)]
pub struct StoreStats {
    pub batches: AtomicU64,
    pub batched_commands: AtomicU64,
    /// Cumulative counts per bucket of [`BATCH_BUCKETS`] (Prometheus `le` semantics).
    pub batch_size_buckets: [AtomicU64; BATCH_BUCKETS.len()],
    pub entries_posted: AtomicU64,
    pub entries_pending: AtomicU64,
    pub entries_voided: AtomicU64,
    pub retries: AtomicU64,
}

impl StoreStats {
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

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
