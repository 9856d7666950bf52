//! The double-entry ledger's rules. The store keeps balances; this module decides what a
//! valid entry is, and is the one place where "debits = credits" is enforced.
//!
//! Every account keeps four counters, as TigerBeetle does: posted and pending debits,
//! posted and pending credits. A *pending* entry reserves (counts in the pending
//! columns); it is later *posted* (moved to the posted columns) or *voided* (removed).
//! An account may carry a limit that no entry may break, pending included: a partner's
//! e-value wallet is a liability whose debits must never exceed its credits, so it can
//! never go negative.

use crate::ids::{PartnerId, UserCode};
use crate::money::Paise;
use serde::{Deserialize, Serialize};

/// At most this many legs in one entry: fees, GST, TDS and commission fit easily.
pub const MAX_LEGS: usize = 16;

/// The account namespace for platform-owned accounts (no partner owns them).
pub const PLATFORM: i64 = 0;

/// Which side of an account a leg moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Increases an asset, decreases a liability (debits a wallet: the partner spends).
    Debit,
    /// Increases a liability, decreases an asset (credits a wallet: the partner receives).
    Credit,
}

impl Side {
    /// The stored code (`D`, `C`).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "D",
            Side::Credit => "C",
        }
    }

    /// The side for its stored code.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "D" => Some(Side::Debit),
            "C" => Some(Side::Credit),
            _ => None,
        }
    }
}

/// A constraint an account's balance must always satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Limit {
    /// No limit: platform accounts (funding, revenue, tax, clearing) may go either way.
    None = 0,
    /// Debits (posted + pending) ≤ posted credits: a liability that cannot go negative.
    DebitsMustNotExceedCredits = 1,
    /// Credits (posted + pending) ≤ posted debits: an asset that cannot go negative.
    CreditsMustNotExceedDebits = 2,
}

impl Limit {
    /// The limit for its stored `limit_kind`.
    pub fn from_code(code: i64) -> Option<Limit> {
        match code {
            0 => Some(Limit::None),
            1 => Some(Limit::DebitsMustNotExceedCredits),
            2 => Some(Limit::CreditsMustNotExceedDebits),
            _ => None,
        }
    }
}

/// What an account is for. The code is its key within its owner's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountKind {
    /// A partner's e-value wallet: what the platform owes the partner.
    PartnerWallet,
    /// An agent's own e-value (AePS credits it), owned by the agent's partner.
    AgentWallet {
        /// The agent whose e-value this is.
        user_code: UserCode,
    },
    /// Where operator-loaded e-value comes from (money received into the bank).
    Funding,
    /// The platform's share of fees, net of GST and commission.
    FeeRevenue,
    /// GST collected in fees, owed to the tax authority.
    GstPayable,
    /// TDS withheld from commissions, owed to the tax authority.
    TdsPayable,
    /// Commission the platform owes partners.
    CommissionPayable,
    /// Money in flight on a rail (IMPS, NEFT, UPI…).
    RailClearing {
        /// The rail's short name (`imps`, `neft`, `upi`).
        rail: &'static str,
    },
    /// Money whose destination is not known yet (reconciliation).
    Suspense,
    /// A lender's loans to agents, by principal: what borrowers still owe it (a debit
    /// balance), owned by the lender partner.
    LoanReceivable,
    /// The principal a partner's agents still owe on their loans (a credit balance),
    /// owned by the borrowing agents' partner; always equal, summed, to the lenders'
    /// receivables.
    LoanOutstanding,
}

impl AccountKind {
    /// The owner namespace: the partner for wallets, [`PLATFORM`] for the rest.
    pub fn owner(&self, partner_id: PartnerId) -> i64 {
        match self {
            Self::PartnerWallet | Self::AgentWallet { .. } | Self::LoanReceivable | Self::LoanOutstanding => partner_id.get(),
            _ => PLATFORM,
        }
    }

    /// The account's key within its owner's namespace (`wallet`, `clearing:imps`, …).
    pub fn code(&self) -> String {
        match self {
            Self::PartnerWallet => "wallet".into(),
            Self::AgentWallet { user_code } => format!("agent:{user_code}:wallet"),
            Self::Funding => "funding".into(),
            Self::FeeRevenue => "fee_revenue".into(),
            Self::GstPayable => "gst_payable".into(),
            Self::TdsPayable => "tds_payable".into(),
            Self::CommissionPayable => "commission_payable".into(),
            Self::RailClearing { rail } => format!("clearing:{rail}"),
            Self::Suspense => "suspense".into(),
            Self::LoanReceivable => "loan_receivable".into(),
            Self::LoanOutstanding => "loan_outstanding".into(),
        }
    }

    /// The limit the account is created with: wallets may not go negative; the rest have none.
    pub fn limit(&self) -> Limit {
        match self {
            Self::PartnerWallet | Self::AgentWallet { .. } => Limit::DebitsMustNotExceedCredits,
            _ => Limit::None,
        }
    }
}

/// One side of an entry against one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Leg {
    /// The account (`ledger_accounts.id`) the leg moves.
    pub account_id: i64,
    /// Whether it debits or credits the account.
    pub side: Side,
    /// How much, always positive ([`Entry::new`] refuses a zero leg).
    pub amount: Paise,
}

/// Why legs do not make a valid entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Only debits or only credits.
    #[error("an entry needs at least one debit and one credit")]
    OneSided,
    /// More than [`MAX_LEGS`] legs.
    #[error("an entry has at most {MAX_LEGS} legs")]
    TooManyLegs,
    /// A leg of zero paise.
    #[error("every leg must move a positive amount")]
    ZeroLeg,
    /// The sides differ.
    #[error("debits ({debits} paise) do not equal credits ({credits} paise)")]
    Unbalanced {
        /// Sum of the debit legs, in paise.
        debits: i64,
        /// Sum of the credit legs, in paise.
        credits: i64,
    },
    /// A side sums past [`crate::money::MAX_PAISE`].
    #[error("the entry moves more than the largest amount Kosh accepts")]
    TooLarge,
}

/// A balanced journal entry: legs sorted by account, so every store locks accounts
/// in the same order and concurrent entries cannot deadlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    legs: Vec<Leg>,
}

impl Entry {
    /// A balanced entry of `legs`, sorted by account; refused unless debits equal credits.
    pub fn new(mut legs: Vec<Leg>) -> Result<Entry, EntryError> {
        if legs.len() > MAX_LEGS {
            return Err(EntryError::TooManyLegs);
        }
        if legs.iter().any(|l| l.amount.is_zero()) {
            return Err(EntryError::ZeroLeg);
        }
        // Each leg is at most MAX_PAISE and there are at most MAX_LEGS, so sums fit in i64.
        let sum = |side: Side| legs.iter().filter(|l| l.side == side).map(|l| l.amount.get()).sum::<i64>();
        let (debits, credits) = (sum(Side::Debit), sum(Side::Credit));
        if debits > crate::money::MAX_PAISE || credits > crate::money::MAX_PAISE {
            return Err(EntryError::TooLarge);
        }
        if debits == 0 || credits == 0 {
            return Err(EntryError::OneSided);
        }
        if debits != credits {
            return Err(EntryError::Unbalanced { debits, credits });
        }
        legs.sort_by_key(|l| (l.account_id, l.side));
        Ok(Entry { legs })
    }

    /// The common case: move `amount` from one account to another.
    pub fn transfer(debit_account: i64, credit_account: i64, amount: Paise) -> Result<Entry, EntryError> {
        Entry::new(vec![
            Leg { account_id: debit_account, side: Side::Debit, amount },
            Leg { account_id: credit_account, side: Side::Credit, amount },
        ])
    }

    /// The legs, sorted by (account, side).
    pub fn legs(&self) -> &[Leg] {
        &self.legs
    }

    /// The amount the entry moves: its debits (which equal its credits).
    pub fn total(&self) -> Paise {
        let debits = self.legs.iter().filter(|l| l.side == Side::Debit).map(|l| l.amount.get()).sum();
        Paise::new(debits).expect("legs are bounded amounts")
    }
}

/// An entry's lifecycle: pending → posted | voided, or posted at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EntryState {
    /// Recorded as a reservation, in the pending counters.
    Pending,
    /// Final: in the posted counters.
    Posted,
    /// Cancelled: the reservation was removed and nothing moved.
    Voided,
}

impl EntryState {
    /// The stored state (`pending`, `posted`, `voided`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Posted => "posted",
            Self::Voided => "voided",
        }
    }

    /// The state for its stored spelling.
    pub fn parse(text: &str) -> Option<EntryState> {
        match text {
            "pending" => Some(Self::Pending),
            "posted" => Some(Self::Posted),
            "voided" => Some(Self::Voided),
            _ => None,
        }
    }
}

/// An account's four counters, in paise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Sum of posted debits, in paise.
    pub debits_posted: i64,
    /// Sum of posted credits, in paise.
    pub credits_posted: i64,
    /// Sum of debits of pending entries (reservations), in paise; counted against a wallet's limit.
    pub debits_pending: i64,
    /// Sum of credits of pending entries, in paise; not spendable until posted.
    pub credits_pending: i64,
}

impl Balance {
    /// Counts one leg of an entry being recorded, as the store's `UPDATE` does: a
    /// pending entry's leg in the pending counter of its side (a reservation), a posted
    /// one in the posted counter. Check [`Balance::satisfies`] afterwards; the store
    /// refuses the whole entry when an account's limit no longer holds.
    pub fn add(&mut self, side: Side, pending: bool, amount: i64) {
        let counter = match (side, pending) {
            (Side::Debit, false) => &mut self.debits_posted,
            (Side::Credit, false) => &mut self.credits_posted,
            (Side::Debit, true) => &mut self.debits_pending,
            (Side::Credit, true) => &mut self.credits_pending,
        };
        *counter += amount;
    }

    /// Resolves one leg of a pending entry: posting moves `amount` from the pending to
    /// the posted counter of its side, voiding only removes it. Neither can break a
    /// limit, since the pending amount was already counted against it.
    pub fn resolve(&mut self, side: Side, post: bool, amount: i64) {
        self.add(side, true, -amount);
        if post {
            self.add(side, false, amount);
        }
    }

    /// For a credit-normal account (a wallet): what can still be spent.
    pub fn available_credit(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }

    /// For a credit-normal account: the posted balance.
    pub fn posted_credit(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }

    /// Whether the counters keep `limit` (the condition the store's `UPDATE` checks).
    pub fn satisfies(&self, limit: Limit) -> bool {
        match limit {
            Limit::None => true,
            Limit::DebitsMustNotExceedCredits => self.debits_posted + self.debits_pending <= self.credits_posted,
            Limit::CreditsMustNotExceedDebits => self.credits_posted + self.credits_pending <= self.debits_posted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{PartnerId, UserCode};

    fn p(paise: i64) -> Paise {
        Paise::new(paise).unwrap()
    }

    #[test]
    fn balanced_entries_only() {
        assert!(Entry::transfer(1, 2, p(100)).is_ok());
        let unbalanced = Entry::new(vec![
            Leg { account_id: 1, side: Side::Debit, amount: p(100) },
            Leg { account_id: 2, side: Side::Credit, amount: p(99) },
        ]);
        assert_eq!(unbalanced, Err(EntryError::Unbalanced { debits: 100, credits: 99 }));
        assert_eq!(Entry::new(vec![Leg { account_id: 1, side: Side::Debit, amount: p(1) }]), Err(EntryError::OneSided));
        assert_eq!(Entry::transfer(1, 2, p(0)), Err(EntryError::ZeroLeg));
        let many = (0..17).map(|i| Leg { account_id: i, side: Side::Debit, amount: p(1) }).collect();
        assert_eq!(Entry::new(many), Err(EntryError::TooManyLegs));
        let max = p(crate::money::MAX_PAISE);
        let huge = Entry::new(vec![
            Leg { account_id: 1, side: Side::Debit, amount: max },
            Leg { account_id: 2, side: Side::Debit, amount: max },
            Leg { account_id: 3, side: Side::Credit, amount: max },
            Leg { account_id: 4, side: Side::Credit, amount: max },
        ]);
        assert_eq!(huge, Err(EntryError::TooLarge));
    }

    #[test]
    fn multi_leg_entries_balance_and_sort() {
        let e = Entry::new(vec![
            Leg { account_id: 9, side: Side::Debit, amount: p(1_050) },
            Leg { account_id: 5, side: Side::Credit, amount: p(1_000) },
            Leg { account_id: 3, side: Side::Credit, amount: p(50) },
        ])
        .unwrap();
        assert_eq!(e.legs().iter().map(|l| l.account_id).collect::<Vec<_>>(), vec![3, 5, 9]);
        assert_eq!(e.total(), p(1_050));
    }

    #[test]
    fn wallet_limit_counts_pending_debits() {
        let b = Balance { credits_posted: 100, debits_pending: 60, debits_posted: 40, ..Default::default() };
        assert!(b.satisfies(Limit::DebitsMustNotExceedCredits));
        assert_eq!(b.available_credit(), 0);
        let over = Balance { debits_pending: 61, ..b };
        assert!(!over.satisfies(Limit::DebitsMustNotExceedCredits));
        assert!(over.satisfies(Limit::None));
    }

    #[test]
    fn resolving_moves_or_removes_the_reservation() {
        let mut b = Balance { credits_posted: 100, ..Default::default() };
        b.add(Side::Debit, true, 60);
        assert_eq!((b.debits_pending, b.available_credit()), (60, 40));
        let mut voided = b;
        voided.resolve(Side::Debit, false, 60);
        assert_eq!(voided, Balance { credits_posted: 100, ..Default::default() });
        b.resolve(Side::Debit, true, 60);
        assert_eq!(b, Balance { credits_posted: 100, debits_posted: 60, ..Default::default() });
        assert_eq!((b.available_credit(), b.posted_credit()), (40, 40));
    }

    #[test]
    fn account_codes_are_namespaced() {
        assert_eq!(AccountKind::PartnerWallet.owner(PartnerId::new(7)), 7);
        assert_eq!(AccountKind::Funding.owner(PartnerId::new(7)), PLATFORM);
        assert_eq!(AccountKind::AgentWallet { user_code: UserCode::new(20810200) }.code(), "agent:20810200:wallet");
        assert_eq!(AccountKind::RailClearing { rail: "imps" }.code(), "clearing:imps");
    }
}
