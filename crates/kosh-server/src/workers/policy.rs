//! Retry policies per deliverable kind: when to try again after a failed attempt, and
//! when to give up.

use crate::config::Config;
use kosh_store::ops::callbacks::{ECHELON_CALLBACK, TOKEN_ACK, TX_STATUS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay between attempts, before jitter.
    pub interval_ms: i64,
    /// No attempt later than this after the cycle began (creation or replay).
    pub horizon_ms: Option<i64>,
    /// At most this many attempts per cycle.
    pub max_attempts: Option<i64>,
}

/// Every deliverable kind's policy, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    pub tx_status: RetryPolicy,
    pub echelon: RetryPolicy,
    pub token_ack: RetryPolicy,
    pub jitter_pct: u32,
}

fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX / 1000).saturating_mul(1000)
}

impl Policies {
    pub fn from_config(c: &Config) -> Policies {
        Policies {
            tx_status: RetryPolicy {
                interval_ms: secs(c.callbacks_tx_status_interval_secs),
                horizon_ms: Some(secs(c.callbacks_tx_status_horizon_secs)),
                max_attempts: None,
            },
            echelon: RetryPolicy {
                interval_ms: secs(c.callbacks_echelon_interval_secs),
                horizon_ms: None,
                max_attempts: Some(i64::from(c.callbacks_echelon_retries) + 1),
            },
            token_ack: RetryPolicy {
                interval_ms: secs(c.callbacks_token_ack_interval_secs),
                horizon_ms: Some(secs(c.callbacks_token_ack_horizon_secs)),
                max_attempts: None,
            },
            jitter_pct: c.callbacks_jitter_pct,
        }
    }

    pub fn for_kind(&self, kind: &str) -> Option<RetryPolicy> {
        match kind {
            TX_STATUS => Some(self.tx_status),
            ECHELON_CALLBACK => Some(self.echelon),
            TOKEN_ACK => Some(self.token_ack),
            _ => None,
        }
    }

    /// The largest jitter for `policy`, in milliseconds.
    pub fn max_jitter_ms(&self, policy: &RetryPolicy) -> i64 {
        policy.interval_ms.saturating_mul(i64::from(self.jitter_pct)) / 100
    }
}

impl RetryPolicy {
    /// When to try again after a failed attempt at `now_ms`, the `attempts_in_cycle`-th
    /// of a cycle that began at `cycle_started_at_ms`; `None`: give up. `jitter_ms` is
    /// the random extra delay (0 ≤ jitter, drawn by the caller), so retries are never
    /// closer together than the interval.
    pub fn next_attempt(&self, cycle_started_at_ms: i64, attempts_in_cycle: i64, now_ms: i64, jitter_ms: i64) -> Option<i64> {
        if self.max_attempts.is_some_and(|max| attempts_in_cycle >= max) {
            return None;
        }
        let at = now_ms.saturating_add(self.interval_ms).saturating_add(jitter_ms.max(0));
        match self.horizon_ms {
            Some(horizon) if at > cycle_started_at_ms.saturating_add(horizon) => None,
            _ => Some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn hourly_for_three_days_makes_73_attempts_without_jitter() {
        let policy = Policies::from_config(&Config::default()).token_ack;
        let (start, mut now, mut attempts) = (0, 0, 0);
        loop {
            attempts += 1;
            match policy.next_attempt(start, attempts, now, 0) {
                Some(at) => {
                    assert_eq!(at - now, HOUR);
                    now = at;
                }
                None => break,
            }
        }
        assert_eq!((attempts, now), (73, 72 * HOUR), "attempts at 0 h, 1 h, …, 72 h");
    }

    #[test]
    fn jitter_only_lengthens_the_interval_and_the_horizon_still_holds() {
        let policies = Policies::from_config(&Config::default());
        let policy = policies.token_ack;
        assert_eq!(policies.max_jitter_ms(&policy), HOUR / 10);
        let at = policy.next_attempt(0, 1, 0, HOUR / 10).unwrap();
        assert_eq!(at, HOUR + HOUR / 10);
        assert_eq!(policy.next_attempt(0, 5, 71 * HOUR + 1, HOUR / 10), None, "past the 72 h horizon");
    }

    #[test]
    fn echelon_retries_four_times_two_minutes_apart() {
        let policy = Policies::from_config(&Config::default()).echelon;
        let times: Vec<i64> = (1..=5).map_while(|n| policy.next_attempt(0, n, (n - 1) * 120_000, 0)).collect();
        assert_eq!(times, [120_000, 240_000, 360_000, 480_000], "5 attempts in all: the first and 4 retries");
    }

    #[test]
    fn only_deliverable_kinds_have_a_policy() {
        let policies = Policies::from_config(&Config::default());
        assert!(policies.for_kind("wallet.credited").is_none());
        assert_eq!(policies.for_kind(TX_STATUS).unwrap().interval_ms, 600_000);
    }
}
