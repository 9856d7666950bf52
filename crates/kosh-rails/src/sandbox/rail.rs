//! The sandbox rail: a deterministic simulator of the bank networks.
//!
//! An order's fate is a pure function of the order and the time, chosen by a magic
//! value (the beneficiary account number's last four digits, see [`Scenario`]), so the
//! same order always behaves the same way, across restarts, on every node. Partners pick
//! a scenario the way they pick a test card number.

use crate::{Channel, Order, Rail, RailError, RailFuture, RailStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Timings of the simulated networks, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSettings {
    /// NEFT settles in batches: an order settles at the first multiple of this interval
    /// (counted from the Unix epoch, so half-hourly batches fall on IST half-hours) after
    /// it was submitted.
    pub neft_batch_ms: i64,
    /// How long an order on hold stays unanswered before inquiry resolves it.
    pub hold_ms: i64,
    /// How long an order that fails after initiation stays in processing.
    pub late_failure_ms: i64,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings { neft_batch_ms: 30 * 60 * 1000, hold_ms: 60 * 1000, late_failure_ms: 30 * 1000 }
    }
}

/// What the simulated bank does with an order, chosen by the account number's last four
/// digits. Every other account number settles normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// IMPS, RTGS and UPI settle at once; NEFT settles at its next batch.
    Settle,
    /// `…1111`: the beneficiary bank declines at once.
    Decline,
    /// `…2222`: no answer from the bank (hold); inquiry after the hold settles it.
    HoldThenSettle,
    /// `…3333`: no answer from the bank (hold); inquiry after the hold finds it failed.
    HoldThenFail,
    /// `…4444`: accepted, then fails after initiation.
    FailLater,
    /// `…5555`: the beneficiary bank is down; the order is not taken at all.
    BankDown,
}

/// The magic suffixes, for documentation and tests.
pub const MAGIC_SUFFIXES: &[(&str, Scenario)] = &[
    ("1111", Scenario::Decline),
    ("2222", Scenario::HoldThenSettle),
    ("3333", Scenario::HoldThenFail),
    ("4444", Scenario::FailLater),
    ("5555", Scenario::BankDown),
];

impl Scenario {
    /// The scenario an account number selects.
    pub fn for_account(account: &str) -> Scenario {
        MAGIC_SUFFIXES.iter().find(|(suffix, _)| account.ends_with(suffix)).map_or(Scenario::Settle, |(_, s)| *s)
    }
}

/// The simulator. Cheap to clone; holds only its settings.
#[derive(Debug, Clone, Default)]
pub struct SandboxRail {
    pub settings: SandboxSettings,
}

impl SandboxRail {
    pub fn new(settings: SandboxSettings) -> SandboxRail {
        SandboxRail { settings }
    }

    /// Where an order following `scenario` stands at `now_ms`. Public so that a dialect
    /// with its own magic values (e.g. amounts) can drive the same simulator.
    pub fn status_for(&self, scenario: Scenario, order: &Order, now_ms: i64) -> Result<RailStatus, RailError> {
        let s = &self.settings;
        let since = order.submitted_at_ms;
        let status = match scenario {
            Scenario::BankDown => return Err(RailError::Unavailable(format!("{} is down; try again later", bank_of(order)))),
            Scenario::Decline => declined("Transaction declined by the beneficiary bank"),
            Scenario::HoldThenSettle => {
                wait_until(RailStatus::Hold { check_at_ms: since + s.hold_ms }, now_ms, || self.settle(order))
            }
            Scenario::HoldThenFail => wait_until(RailStatus::Hold { check_at_ms: since + s.hold_ms }, now_ms, || {
                failed("No response from the beneficiary bank; the payment was reversed")
            }),
            Scenario::FailLater => wait_until(RailStatus::Processing { check_at_ms: since + s.late_failure_ms }, now_ms, || {
                failed("The beneficiary bank returned the payment (account closed or frozen)")
            }),
            Scenario::Settle if order.channel == Channel::Neft => {
                wait_until(RailStatus::Processing { check_at_ms: next_batch(since, s.neft_batch_ms) }, now_ms, || {
                    self.settle(order)
                })
            }
            Scenario::Settle => self.settle(order),
        };
        Ok(status)
    }

    fn settle(&self, order: &Order) -> RailStatus {
        RailStatus::Settled { utr: utr_for(&order.reference) }
    }
}

/// `waiting` until its `check_at_ms`, then `then()`.
fn wait_until(waiting: RailStatus, now_ms: i64, then: impl FnOnce() -> RailStatus) -> RailStatus {
    match waiting.check_at_ms() {
        Some(at) if now_ms < at => waiting,
        _ => then(),
    }
}

/// Refused when handed over: the bank never took the order.
fn declined(reason: &str) -> RailStatus {
    RailStatus::Failed { reason: reason.to_owned(), accepted: false }
}

/// Taken by the bank, then failed: the same whether asked before or after the failure.
fn failed(reason: &str) -> RailStatus {
    RailStatus::Failed { reason: reason.to_owned(), accepted: true }
}

fn bank_of(order: &Order) -> String {
    match order.ifsc.get(..4) {
        Some(code) if !code.is_empty() => format!("the beneficiary bank ({code})"),
        _ => "the beneficiary bank".to_owned(),
    }
}

/// The first batch boundary strictly after `at_ms`.
fn next_batch(at_ms: i64, batch_ms: i64) -> i64 {
    let batch_ms = batch_ms.max(1);
    (at_ms.div_euclid(batch_ms) + 1) * batch_ms
}

/// A 12-digit UTR derived from the order reference: the same order always gets the same
/// bank reference, on every node and after restarts.
pub fn utr_for(reference: &str) -> String {
    let digest = Sha256::digest(reference.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    format!("{:012}", n % 1_000_000_000_000)
}

impl Rail for SandboxRail {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn submit<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a> {
        Box::pin(std::future::ready(self.status_for(Scenario::for_account(&order.account), order, now_ms)))
    }

    fn status<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a> {
        let scenario = match Scenario::for_account(&order.account) {
            // A bank that was down never took the order, so there is nothing to ask about.
            Scenario::BankDown => return Box::pin(std::future::ready(Err(RailError::UnknownOrder(order.reference.clone())))),
            other => other,
        };
        Box::pin(std::future::ready(self.status_for(scenario, order, now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::money::Paise;

    const T0: i64 = 1_800_000_000_000;

    fn order(channel: Channel, account: &str) -> Order {
        Order {
            reference: "2000001".into(),
            channel,
            amount: Paise::new(10_000).expect("amount"),
            account: account.into(),
            ifsc: "SBIN0000001".into(),
            beneficiary_name: "Asha".into(),
            submitted_at_ms: T0,
        }
    }

    async fn submit(rail: &SandboxRail, o: &Order, now_ms: i64) -> Result<RailStatus, RailError> {
        rail.submit(o, now_ms).await
    }

    async fn status(rail: &SandboxRail, o: &Order, now_ms: i64) -> Result<RailStatus, RailError> {
        rail.status(o, now_ms).await
    }

    #[tokio::test]
    async fn imps_settles_at_once_with_a_stable_utr() {
        let rail = SandboxRail::default();
        let o = order(Channel::Imps, "123456789012");
        let first = submit(&rail, &o, T0).await.expect("taken");
        assert_eq!(first, RailStatus::Settled { utr: utr_for("2000001") });
        assert_eq!(status(&rail, &o, T0 + 1).await.expect("status"), first);
        assert_eq!(utr_for("2000001").len(), 12);
        assert_ne!(utr_for("2000001"), utr_for("2000002"));
    }

    #[tokio::test]
    async fn neft_waits_for_its_batch() {
        let rail = SandboxRail::default();
        let o = order(Channel::Neft, "123456789012");
        let batch = next_batch(T0, rail.settings.neft_batch_ms);
        assert!(batch > T0 && batch - T0 <= rail.settings.neft_batch_ms);
        assert_eq!(submit(&rail, &o, T0).await.expect("taken"), RailStatus::Processing { check_at_ms: batch });
        assert_eq!(status(&rail, &o, batch - 1).await.expect("status"), RailStatus::Processing { check_at_ms: batch });
        assert!(matches!(status(&rail, &o, batch).await.expect("status"), RailStatus::Settled { .. }));
    }

    #[tokio::test]
    async fn magic_accounts_choose_their_scenario() {
        let rail = SandboxRail::default();
        let hold_end = T0 + rail.settings.hold_ms;
        let declined = submit(&rail, &order(Channel::Imps, "9000001111"), T0).await.expect("answered");
        assert!(matches!(declined, RailStatus::Failed { .. }));

        let held = order(Channel::Imps, "9000002222");
        assert_eq!(submit(&rail, &held, T0).await.expect("taken"), RailStatus::Hold { check_at_ms: hold_end });
        assert!(matches!(status(&rail, &held, hold_end).await.expect("status"), RailStatus::Settled { .. }));

        let held_fail = order(Channel::Imps, "9000003333");
        assert!(matches!(status(&rail, &held_fail, hold_end - 1).await.expect("status"), RailStatus::Hold { .. }));
        assert!(matches!(status(&rail, &held_fail, hold_end).await.expect("status"), RailStatus::Failed { .. }));

        let late = order(Channel::Imps, "9000004444");
        let late_end = T0 + rail.settings.late_failure_ms;
        assert_eq!(submit(&rail, &late, T0).await.expect("taken"), RailStatus::Processing { check_at_ms: late_end });
        assert!(matches!(status(&rail, &late, late_end).await.expect("status"), RailStatus::Failed { .. }));

        let down = order(Channel::Imps, "9000005555");
        assert!(matches!(submit(&rail, &down, T0).await, Err(RailError::Unavailable(m)) if m.contains("SBIN")));
        assert!(matches!(status(&rail, &down, T0).await, Err(RailError::UnknownOrder(_))));
    }

    /// A failure says the same to every caller, whenever it asks: a late failure first
    /// asked about long after it happened (a worker finishing the transfer of a node that
    /// died) still says the bank had accepted the order; a decline never does.
    #[tokio::test]
    async fn a_failure_says_whether_the_bank_had_accepted_the_order() {
        let rail = SandboxRail::default();
        let accepted = |answer: Result<RailStatus, RailError>| match answer.expect("answered") {
            RailStatus::Failed { accepted, .. } => Some(accepted),
            _ => None,
        };
        let much_later = T0 + 3_600_000;
        for channel in [Channel::Imps, Channel::Neft] {
            let late = order(channel, "9000004444");
            let late_end = T0 + rail.settings.late_failure_ms;
            assert_eq!(accepted(submit(&rail, &late, T0).await), None, "{channel:?}: in processing at first");
            assert_eq!(accepted(status(&rail, &late, late_end).await), Some(true), "{channel:?}");
            assert_eq!(accepted(status(&rail, &late, much_later).await), Some(true), "{channel:?}");
            assert_eq!(accepted(submit(&rail, &late, much_later).await), Some(true), "{channel:?}: submitted late");
            let held = order(channel, "9000003333");
            assert_eq!(accepted(status(&rail, &held, much_later).await), Some(true), "{channel:?}");
            let declined = order(channel, "9000001111");
            assert_eq!(accepted(submit(&rail, &declined, T0).await), Some(false), "{channel:?}");
            assert_eq!(accepted(status(&rail, &declined, much_later).await), Some(false), "{channel:?}");
        }
    }

    #[test]
    fn scenarios_by_suffix_and_channel_names() {
        assert_eq!(Scenario::for_account("12345"), Scenario::Settle);
        for (suffix, scenario) in MAGIC_SUFFIXES {
            assert_eq!(Scenario::for_account(&format!("77{suffix}")), *scenario);
        }
        for c in [Channel::Imps, Channel::Neft, Channel::Rtgs, Channel::Upi] {
            assert_eq!(Channel::parse(c.rail_name()), Some(c));
        }
        assert_eq!(Channel::parse("swift"), None);
    }
}
