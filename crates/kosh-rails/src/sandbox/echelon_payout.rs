//! The payout rail of Echelon's sandbox mode: the sandbox simulator, driven by magic
//! amounts.

use super::rail::{SandboxRail, Scenario};
use crate::{Order, Rail, RailError, RailFuture};
use std::collections::HashMap;
use std::sync::Mutex;

/// The sandbox payout magic amounts (whole rupees) and what the simulated bank does.
pub const PAYOUT_MAGIC_AMOUNTS: &[(i64, Scenario)] = &[
    (1111, Scenario::Decline),
    (2222, Scenario::HoldThenSettle),
    (3333, Scenario::HoldThenFail),
    (4444, Scenario::FailLater),
    (5555, Scenario::BankDown),
];

/// The payout rail of sandbox mode: the sandbox simulator, with each order's scenario
/// chosen by the Echelon magic amount first, then (as in the Eko dialect) by the
/// account number's last four digits. Like the simulator its answers keep no state: an
/// order's fate is a function of the order and the time. It only counts how often each
/// order was handed over ([`Rail::submissions`]), for tests.
#[derive(Debug, Default)]
pub struct SandboxPayoutRail {
    simulator: SandboxRail,
    submissions: Mutex<HashMap<String, u32>>,
}

impl SandboxPayoutRail {
    /// What the simulated bank does with `order`.
    pub fn scenario(order: &Order) -> Scenario {
        let rupees = order.amount.get() / 100;
        match PAYOUT_MAGIC_AMOUNTS.iter().find(|(r, _)| *r == rupees && order.amount.get() % 100 == 0) {
            Some((_, s)) => *s,
            None => Scenario::for_account(&order.account),
        }
    }
}

impl Rail for SandboxPayoutRail {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn submit<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a> {
        let answer = self.simulator.status_for(Self::scenario(order), order, now_ms);
        if answer.is_ok() {
            *self.submissions.lock().expect("submissions lock").entry(order.reference.clone()).or_default() += 1;
        }
        Box::pin(std::future::ready(answer))
    }

    fn submissions(&self, reference: &str) -> Option<u32> {
        Some(self.submissions.lock().expect("submissions lock").get(reference).copied().unwrap_or(0))
    }

    fn status<'a>(&'a self, order: &'a Order, now_ms: i64) -> RailFuture<'a> {
        let answer = match Self::scenario(order) {
            // A bank that was down never took the order, so there is nothing to ask about.
            Scenario::BankDown => Err(RailError::UnknownOrder(order.reference.clone())),
            scenario => self.simulator.status_for(scenario, order, now_ms),
        };
        Box::pin(std::future::ready(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, RailStatus};
    use kosh_core::money::Paise;

    fn order(rupees: i64, account: &str) -> Order {
        Order {
            reference: "po-1".into(),
            channel: Channel::Imps,
            amount: Paise::from_rupees(rupees).expect("amount"),
            account: account.into(),
            ifsc: "SBIN0001234".into(),
            beneficiary_name: "Asha".into(),
            submitted_at_ms: 1_000,
        }
    }

    #[test]
    fn the_amount_chooses_first_then_the_account_suffix() {
        assert_eq!(SandboxPayoutRail::scenario(&order(1111, "123456789012")), Scenario::Decline);
        assert_eq!(SandboxPayoutRail::scenario(&order(5555, "123456782222")), Scenario::BankDown);
        assert_eq!(SandboxPayoutRail::scenario(&order(100, "123456783333")), Scenario::HoldThenFail);
        assert_eq!(SandboxPayoutRail::scenario(&order(100, "123456789012")), Scenario::Settle);
    }

    #[tokio::test]
    async fn it_answers_through_the_rail_trait() {
        let rail: std::sync::Arc<dyn Rail> = std::sync::Arc::new(SandboxPayoutRail::default());
        assert!(matches!(rail.submit(&order(100, "123456789012"), 1_000).await, Ok(RailStatus::Settled { .. })));
        assert!(matches!(rail.submit(&order(2222, "123456789012"), 1_000).await, Ok(RailStatus::Hold { .. })));
        assert!(matches!(rail.status(&order(2222, "123456789012"), 61_000).await, Ok(RailStatus::Settled { .. })));
        assert!(matches!(rail.submit(&order(5555, "123456789012"), 1_000).await, Err(RailError::Unavailable(_))));
        assert!(matches!(rail.status(&order(5555, "123456789012"), 1_000).await, Err(RailError::UnknownOrder(_))));
    }
}
