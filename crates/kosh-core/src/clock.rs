//! The injectable clock. Every timestamp in Kosh comes from a [`Clock`], so a test can
//! run "retry every hour for three days" in milliseconds with a [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where every timestamp comes from; tests inject a [`ManualClock`] so nothing depends on the machine's speed.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The clock as the server, store and workers share it.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).expect("system clock is after 1970");
        i64::try_from(elapsed.as_millis()).expect("milliseconds fit in i64 until year 292 million")
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start_ms` (ms since the epoch).
    pub fn new(start_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock { now_ms: AtomicI64::new(start_ms) })
    }

    /// Moves the clock forward by `delta_ms`; panics on a negative step.
    pub fn advance_ms(&self, delta_ms: i64) {
        assert!(delta_ms >= 0, "time never runs backwards");
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst);
    }

    /// Sets the clock to `now_ms`, forward or back.
    pub fn set_ms(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance_ms(3 * 24 * 3_600_000);
        assert_eq!(clock.now_ms(), 1_000 + 259_200_000);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
