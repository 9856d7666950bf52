//! Working-capital loans: a lender partner disburses e-value to an agent; the agent's
//! partner repays it in tranches, each due on a date (on the injected clock). Pure
//! rules: the tranche schedule, what is due and overdue, and how a repayment is spread.

use serde::{Deserialize, Serialize};

/// Most tranches one loan has.
pub const MAX_TRANCHES: i64 = 24;
/// Days between tranche due dates unless the lender says otherwise.
pub const DEFAULT_TRANCHE_DAYS: i64 = 30;
/// Most days between tranche due dates.
pub const MAX_TRANCHE_DAYS: i64 = 366;
/// The largest loan, in paise (₹10 lakh).
pub const MAX_LOAN_PAISE: i64 = 100_000_000;
const DAY_MS: i64 = 86_400_000;

/// One tranche of a loan's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tranche {
    /// 1, 2, … in due order.
    pub tranche_no: i64,
    /// Its share of the principal, in paise.
    pub amount_paise: i64,
    /// Repaid so far, in paise.
    pub repaid_paise: i64,
    /// When it falls due.
    pub due_at_ms: i64,
    /// When it was repaid in full.
    pub paid_at_ms: Option<i64>,
    /// Whether it was repaid in full after its due date.
    pub paid_late: bool,
}

impl Tranche {
    /// What is still owed on it.
    pub fn owed_paise(&self) -> i64 {
        self.amount_paise - self.repaid_paise
    }

    /// `due` (not yet), `overdue`, `paid` or `paid_late`, as of `now_ms`.
    pub fn state_at(&self, now_ms: i64) -> &'static str {
        match (self.owed_paise(), self.paid_late) {
            (0, true) => "paid_late",
            (0, false) => "paid",
            _ if now_ms >= self.due_at_ms => "overdue",
            _ => "due",
        }
    }
}

/// The schedule of a loan of `principal_paise` in `count` tranches, one every
/// `every_days` from `now_ms`: equal shares, the last taking the remainder.
pub fn schedule(principal_paise: i64, count: i64, every_days: i64, now_ms: i64) -> Vec<Tranche> {
    let share = principal_paise / count;
    (1..=count)
        .map(|n| Tranche {
            tranche_no: n,
            amount_paise: if n == count { principal_paise - share * (count - 1) } else { share },
            repaid_paise: 0,
            due_at_ms: now_ms + n * every_days * DAY_MS,
            paid_at_ms: None,
            paid_late: false,
        })
        .collect()
}

/// Spreads a repayment over the tranches, oldest first; answers how much each got
/// (by index) and whether any of it was late. Refused when it exceeds what is owed.
pub fn allocate(tranches: &[Tranche], amount_paise: i64, now_ms: i64) -> Result<(Vec<i64>, bool), LoanRejection> {
    let owed: i64 = tranches.iter().map(Tranche::owed_paise).sum();
    if amount_paise <= 0 {
        return Err(LoanRejection::Invalid("the repayment must be positive".into()));
    }
    if amount_paise > owed {
        return Err(LoanRejection::MoreThanOutstanding { outstanding_paise: owed });
    }
    let mut left = amount_paise;
    let mut late = false;
    let parts = tranches
        .iter()
        .map(|t| {
            let part = left.min(t.owed_paise());
            left -= part;
            late |= part > 0 && now_ms >= t.due_at_ms;
            part
        })
        .collect();
    Ok((parts, late))
}

/// Why a loan command was refused; nothing it did remains.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoanRejection {
    /// No loan with this id (for this partner).
    #[error("loan not found")]
    NotFound,
    /// The loan is repaid in full.
    #[error("the loan is already repaid")]
    Repaid,
    /// A repayment larger than what is owed.
    #[error("the repayment is larger than the outstanding amount ({outstanding_paise} paise)")]
    MoreThanOutstanding {
        /// What is still owed, in paise.
        outstanding_paise: i64,
    },
    /// A lender cannot lend to its own agents through Kosh's loan book.
    #[error("a lender cannot disburse a loan to its own agent")]
    OwnAgent,
    /// The request is invalid; says why.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_splits_the_principal_exactly() {
        let s = schedule(100_000, 3, 30, 0);
        assert_eq!(s.iter().map(|t| t.amount_paise).collect::<Vec<_>>(), [33_333, 33_333, 33_334]);
        assert_eq!(s[2].due_at_ms, 90 * DAY_MS);
        assert_eq!(s[0].state_at(30 * DAY_MS - 1), "due");
        assert_eq!(s[0].state_at(30 * DAY_MS), "overdue");
    }

    #[test]
    fn a_repayment_pays_the_oldest_tranche_first() {
        let s = schedule(100_000, 2, 30, 0);
        assert_eq!(allocate(&s, 60_000, 0), Ok((vec![50_000, 10_000], false)));
        assert_eq!(allocate(&s, 10, 30 * DAY_MS), Ok((vec![10, 0], true)));
        assert_eq!(allocate(&s, 100_001, 0), Err(LoanRejection::MoreThanOutstanding { outstanding_paise: 100_000 }));
        assert!(allocate(&s, 0, 0).is_err());
    }
}
