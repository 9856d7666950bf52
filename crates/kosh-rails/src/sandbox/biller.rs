//! The sandbox biller: every operator of the catalogue, simulated deterministically.
//!
//! A bill's amount, name and dates are a pure function of the operator, the account and
//! the day; what happens to a fetch or a payment is chosen by the account's last four
//! digits ([`Scenario`]), so the same request behaves the same way on every node and
//! across restarts. Payments on the offline channel (`hc_channel` 1) and to the slow
//! biller are answered `awaited_ms` after they were recorded.

use crate::biller::{BillOrder, BillQuery, BillerError, BillerFuture, BillerProvider, BillerStatus, FetchAnswer, FetchedBill};
use kosh_core::civil;
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What the sandbox biller does, chosen by the account's last four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// Any other account: a bill is due and payments succeed.
    BillDue,
    /// `…1111`: nothing is due.
    NoBillDue,
    /// `…2222`: the biller is down: fetches and payments are refused, nothing is debited.
    BillerDown,
    /// `…3333`: the biller takes the payment, then fails it: the debit is refunded.
    FailAfterDebit,
    /// `…4444`: the biller answers late even on the instant channel (awaited, then paid).
    Slow,
}

/// The magic suffixes, for documentation and tests.
pub const MAGIC_SUFFIXES: &[(&str, Scenario)] = &[
    ("1111", Scenario::NoBillDue),
    ("2222", Scenario::BillerDown),
    ("3333", Scenario::FailAfterDebit),
    ("4444", Scenario::Slow),
];

impl Scenario {
    /// The scenario an account selects.
    pub fn for_account(account: &str) -> Scenario {
        MAGIC_SUFFIXES.iter().find(|(suffix, _)| account.ends_with(suffix)).map_or(Scenario::BillDue, |(_, s)| *s)
    }
}

/// The simulator; holds only how long awaited payments take.
#[derive(Debug, Clone)]
pub struct SandboxBiller {
    /// How long an offline or slow payment stays awaited, in ms.
    pub awaited_ms: i64,
}

/// The sandbox's customer names, picked by the account.
const NAMES: [&str; 6] = ["RAMANI DEKA", "ASHA VERMA", "RAVI KUMAR", "MEENA IYER", "SURESH PATIL", "FARHAN SHAIKH"];
/// The biller the sandbox says is down.
const DOWN: &str = "the biller's system is down (sandbox: account ending 2222)";

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

fn number(bytes: &[u8]) -> u64 {
    bytes.iter().take(8).fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

fn dmy(days: i64) -> String {
    let d = civil::Date::from_days(days);
    format!("{:02}-{:02}-{}", d.day, d.month, d.year)
}

impl SandboxBiller {
    /// The bill due on `query`'s account: the same all month (so a fetch and its
    /// payment agree), between ₹100 and ₹5,000.
    pub fn bill(&self, query: &BillQuery, now_ms: i64) -> FetchedBill {
        let today = civil::ist_date(now_ms);
        let month = format!("{}-{}", today.year, today.month);
        let h = digest(&[&query.operator_id.to_string(), &query.account, &month]);
        let rupees = 100 + number(&h) % 4_900;
        let issued = civil::Date { year: today.year, month: today.month, day: 1 }.to_days();
        FetchedBill {
            amount: Paise::from_rupees(i64::try_from(rupees).unwrap_or(100)).unwrap_or(Paise::ZERO),
            customer_name: NAMES[usize::from(h[8]) % NAMES.len()].into(),
            bill_number: format!("BN{:010}", number(&h[8..]) % 10_000_000_000),
            bill_date: dmy(issued),
            due_date: dmy(issued + 20),
            reference: format!("CC01{:011}", number(&digest(&[&query.account, &now_ms.to_string()])) % 100_000_000_000),
        }
    }

    fn answer(&self, order: &BillOrder, now_ms: i64) -> BillerStatus {
        let scenario = Scenario::for_account(&order.account);
        let late = order.offline || scenario == Scenario::Slow;
        let due_at = order.submitted_at_ms.saturating_add(self.awaited_ms);
        if late && now_ms < due_at {
            return BillerStatus::Awaited { check_at_ms: due_at };
        }
        match scenario {
            Scenario::FailAfterDebit => BillerStatus::Failed {
                reason: "the biller reversed the payment (sandbox: account ending 3333); the amount is refunded".into(),
                accepted: true,
            },
            _ => BillerStatus::Paid { reference: reference_for(&order.reference) },
        }
    }
}

/// The biller's reference for payment `reference`: stable, so every node answers the same.
pub fn reference_for(reference: &str) -> String {
    format!("BBPS{:012}", number(&digest(&["paid", reference])) % 1_000_000_000_000)
}

impl BillerProvider for SandboxBiller {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn fetch<'a>(&'a self, query: &'a BillQuery, now_ms: i64) -> BillerFuture<'a, FetchAnswer> {
        let answer = match Scenario::for_account(&query.account) {
            Scenario::NoBillDue => Ok(FetchAnswer::NoBillDue),
            Scenario::BillerDown => Err(BillerError::Unavailable(DOWN.into())),
            _ => Ok(FetchAnswer::Bill(self.bill(query, now_ms))),
        };
        Box::pin(async move { answer })
    }

    fn pay<'a>(&'a self, order: &'a BillOrder, now_ms: i64) -> BillerFuture<'a, BillerStatus> {
        let answer = match Scenario::for_account(&order.account) {
            Scenario::BillerDown => Err(BillerError::Unavailable(DOWN.into())),
            _ => Ok(self.answer(order, now_ms)),
        };
        Box::pin(async move { answer })
    }

    fn status<'a>(&'a self, order: &'a BillOrder, now_ms: i64) -> BillerFuture<'a, BillerStatus> {
        self.pay(order, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(account: &str, offline: bool) -> BillOrder {
        BillOrder {
            reference: "6000000001".into(),
            operator_id: 1,
            account: account.into(),
            amount: Paise::new(67_300).unwrap(),
            offline,
            submitted_at_ms: 1_000,
        }
    }

    #[tokio::test]
    async fn magic_accounts_choose_their_scenario() {
        let biller = SandboxBiller { awaited_ms: 60_000 };
        assert!(matches!(biller.pay(&order("151627591", false), 1_000).await, Ok(BillerStatus::Paid { .. })));
        assert!(matches!(biller.pay(&order("151622222", false), 1_000).await, Err(BillerError::Unavailable(_))));
        let refund = biller.pay(&order("151623333", false), 1_000).await;
        assert!(matches!(refund, Ok(BillerStatus::Failed { accepted: true, .. })), "{refund:?}");
        assert_eq!(biller.pay(&order("151624444", false), 1_000).await, Ok(BillerStatus::Awaited { check_at_ms: 61_000 }));
        assert_eq!(biller.pay(&order("151627591", true), 1_000).await, Ok(BillerStatus::Awaited { check_at_ms: 61_000 }));
        assert!(matches!(biller.status(&order("151627591", true), 61_000).await, Ok(BillerStatus::Paid { .. })));
        let query = BillQuery { operator_id: 1, account: "151621111".into(), params: Default::default() };
        assert_eq!(biller.fetch(&query, 1_000).await, Ok(FetchAnswer::NoBillDue));
    }

    #[test]
    fn a_bill_is_the_same_all_month_and_within_bounds() {
        let biller = SandboxBiller { awaited_ms: 0 };
        let query = BillQuery { operator_id: 1, account: "151627591".into(), params: Default::default() };
        let t0 = 1_700_000_000_000; // 15 November 2023 in India
        let (a, b) = (biller.bill(&query, t0), biller.bill(&query, t0 + 86_400_000));
        assert_eq!((a.amount, &a.bill_number, &a.bill_date), (b.amount, &b.bill_number, &b.bill_date));
        assert!((10_000..=500_000).contains(&a.amount.get()), "{a:?}");
        assert_eq!(a.bill_date, "01-11-2023");
    }
}
