//! The payout rail of sandbox mode (Eko fund transfers and UPI payments): the sandbox
//! simulator behind a bank that remembers which orders it was handed and how often.
//!
//! A real bank knows its orders by reference: asked about one it never received, it
//! says so ([`RailError::UnknownOrder`]), and the payout service then submits it. This
//! simulator does the same, and counts every submission per order, so a test can prove
//! that no order reaches the bank twice, however the server dies between its steps.
//! The memory is the simulated bank's, not Kosh's: share one rail between the server
//! instances of a test (a restart) and it behaves like the one bank they all talk to.
//! A sandbox server restarted for real starts with a bank that forgot everything; it
//! resubmits what it had not finished, and the simulator's outcome (a function of the
//! order and the time) is the same.
//!
//! Scenarios are chosen as on the DMT rail ([`Scenario::for_account`]): the account
//! number's last four digits, or for UPI the VPA's handle's (`asha1111@upi` declines).
//! One more is the payout bank's own: [`REVERSAL_SUFFIX`] settles at once, and from
//! `reversal_ms` after submission the bank says it returned the money (a reversal after
//! success, which real beneficiary banks do days later).

use super::rail::{SandboxRail, SandboxSettings, Scenario};
use crate::{Channel, Order, Rail, RailError, RailFuture};
use std::collections::HashMap;
use std::sync::Mutex;

/// Accounts (or VPA handles) ending in this settle, then are reversed.
pub const REVERSAL_SUFFIX: &str = "6666";
/// How long after submission a reversal comes by default: two days.
pub const DEFAULT_REVERSAL_MS: i64 = 2 * 86_400_000;

/// The payout rail of sandbox mode. See the module documentation.
#[derive(Debug)]
pub struct SandboxPayoutBank {
    simulator: SandboxRail,
    reversal_ms: i64,
    submissions: Mutex<HashMap<String, u32>>,
}

impl Default for SandboxPayoutBank {
    fn default() -> Self {
        SandboxPayoutBank::new(SandboxSettings::default(), DEFAULT_REVERSAL_MS)
    }
}

impl SandboxPayoutBank {
    pub fn new(settings: SandboxSettings, reversal_ms: i64) -> SandboxPayoutBank {
        SandboxPayoutBank { simulator: SandboxRail::new(settings), reversal_ms, submissions: Mutex::default() }
    }

    fn key(order: &Order) -> &str {
        match order.channel {
            Channel::Upi => order.account.split('@').next().unwrap_or(""),
            _ => order.account.as_str(),
        }
    }

    /// Where an order stands: the simulator's answer, or for a reversing account, a
    /// settlement the bank takes back from `reversal_ms` after submission on.
    fn answer(&self, order: &Order, now_ms: i64) -> Result<crate::RailStatus, RailError> {
        let settled = self.simulator.status_for(Self::scenario(order), order, now_ms);
        let reversed =
            Self::key(order).ends_with(REVERSAL_SUFFIX) && now_ms >= order.submitted_at_ms.saturating_add(self.reversal_ms);
        match settled {
            Ok(crate::RailStatus::Settled { .. }) if reversed => Ok(crate::RailStatus::Failed {
                reason: "The beneficiary bank returned the payment after crediting it (reversal)".into(),
                accepted: true,
            }),
            other => other,
        }
    }

    /// How many times the order `reference` was submitted.
    pub fn submissions(&self, reference: &str) -> u32 {
        self.submissions.lock().expect("submissions lock").get(reference).copied().unwrap_or(0)
    }

    /// The scenario an order follows: by its account, or for UPI its VPA's handle.
    pub fn scenario(order: &Order) -> Scenario {
        Scenario::for_account(Self::key(order))
    }
}

impl Rail for SandboxPayoutBank {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn submit<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a> {
        let answer = self.answer(order, now_ms);
        // A bank that is down never takes the order, so it is not counted as received.
        if answer.is_ok() {
            *self.submissions.lock().expect("submissions lock").entry(order.reference.clone()).or_default() += 1;
        }
        Box::pin(std::future::ready(answer))
    }

    fn submissions(&self, reference: &str) -> Option<u32> {
        Some(SandboxPayoutBank::submissions(self, reference))
    }

    fn status<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a> {
        let answer = if SandboxPayoutBank::submissions(self, &order.reference) == 0 {
            Err(RailError::UnknownOrder(order.reference.clone()))
        } else {
            self.answer(order, now_ms)
        };
        Box::pin(std::future::ready(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RailStatus;
    use kosh_core::money::Paise;

    fn order(channel: Channel, account: &str) -> Order {
        Order {
            reference: "4000000001".into(),
            channel,
            amount: Paise::new(10_000).expect("amount"),
            account: account.into(),
            ifsc: "SBIN0000001".into(),
            beneficiary_name: "Asha".into(),
            submitted_at_ms: 1_000,
        }
    }

    #[tokio::test]
    async fn it_knows_only_the_orders_it_was_handed_and_counts_them() {
        let bank = SandboxPayoutBank::default();
        let o = order(Channel::Imps, "123456789012");
        assert!(matches!(bank.status(&o, 1_000).await, Err(RailError::UnknownOrder(_))));
        assert!(matches!(bank.submit(&o, 1_000).await, Ok(RailStatus::Settled { .. })));
        assert!(matches!(bank.status(&o, 2_000).await, Ok(RailStatus::Settled { .. })));
        assert_eq!(bank.submissions("4000000001"), 1);
        let down = Order { reference: "4000000002".into(), ..order(Channel::Imps, "9000005555") };
        assert!(matches!(bank.submit(&down, 1_000).await, Err(RailError::Unavailable(_))));
        assert_eq!(bank.submissions("4000000002"), 0);
    }

    #[tokio::test]
    async fn a_reversing_account_settles_then_is_returned() {
        let bank = SandboxPayoutBank::new(SandboxSettings::default(), 10_000);
        let o = order(Channel::Imps, "9000006666");
        assert!(matches!(bank.submit(&o, 1_000).await, Ok(RailStatus::Settled { .. })));
        assert!(matches!(bank.status(&o, 10_999).await, Ok(RailStatus::Settled { .. })));
        assert!(matches!(bank.status(&o, 11_000).await, Ok(RailStatus::Failed { accepted: true, .. })));
    }

    #[test]
    fn a_vpas_handle_chooses_the_upi_scenario() {
        assert_eq!(SandboxPayoutBank::scenario(&order(Channel::Upi, "asha1111@upi")), Scenario::Decline);
        assert_eq!(SandboxPayoutBank::scenario(&order(Channel::Upi, "asha@upi1111")), Scenario::Settle);
        assert_eq!(SandboxPayoutBank::scenario(&order(Channel::Neft, "9000004444")), Scenario::FailLater);
    }
}
