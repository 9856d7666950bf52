//! The generic ledger commands: record a balanced entry, posted at once or pending, and
//! resolve a pending one. Money flows (DMT, payouts, AePS) are built from these.

use super::{require_partner, Outcome, MAX_REFERENCE_LEN};
use crate::error::{CmdResult, Rejection};
use crate::ops::{agents, ledger, outbox};
use crate::sql::Conn;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Entry, EntryError, EntryState, Leg, Side, MAX_LEGS};
use kosh_core::money::{Paise, MAX_PAISE};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Rails that have a clearing account. [`AccountKind::RailClearing`] names its rail with
/// a `&'static str`, so a rail that arrives as data is mapped onto this list.
pub const RAILS: &[&str] = &["imps", "neft", "rtgs", "upi", "aeps", "bbps", "cms"];

/// Longest entry kind (`dmt_transfer`, `payout_fee`, …).
pub const MAX_KIND_LEN: usize = 32;

/// An account, as data: the serialisable mirror of [`AccountKind`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccountSpec {
    /// The partner's e-value wallet.
    PartnerWallet,
    /// An agent's e-value wallet.
    AgentWallet {
        /// The agent (`user_code`).
        user_code: UserCode,
    },
    /// The platform's funding account.
    Funding,
    /// The platform's fee revenue.
    FeeRevenue,
    /// GST owed.
    GstPayable,
    /// TDS owed.
    TdsPayable,
    /// Commission owed to partners.
    CommissionPayable,
    /// `rail` is one of [`RAILS`].
    RailClearing {
        /// The rail's short name.
        rail: String,
    },
    /// The platform's suspense account.
    Suspense,
    /// A lender's loans receivable.
    LoanReceivable,
    /// A partner's agents' loans outstanding.
    LoanOutstanding,
}

impl AccountSpec {
    /// The account kind; refused when the rail is not one of [`RAILS`].
    pub fn kind(&self) -> Result<AccountKind, Rejection> {
        Ok(match self {
            Self::PartnerWallet => AccountKind::PartnerWallet,
            Self::AgentWallet { user_code } => AccountKind::AgentWallet { user_code: *user_code },
            Self::Funding => AccountKind::Funding,
            Self::FeeRevenue => AccountKind::FeeRevenue,
            Self::GstPayable => AccountKind::GstPayable,
            Self::TdsPayable => AccountKind::TdsPayable,
            Self::CommissionPayable => AccountKind::CommissionPayable,
            Self::RailClearing { rail } => {
                let known = RAILS.iter().find(|r| **r == rail.as_str());
                AccountKind::RailClearing {
                    rail: known.ok_or_else(|| Rejection::InvalidEntry(format!("unknown rail {rail:?}; rails are {RAILS:?}")))?,
                }
            }
            Self::Suspense => AccountKind::Suspense,
            Self::LoanReceivable => AccountKind::LoanReceivable,
            Self::LoanOutstanding => AccountKind::LoanOutstanding,
        })
    }
}

impl From<&AccountKind> for AccountSpec {
    fn from(kind: &AccountKind) -> Self {
        match kind {
            AccountKind::PartnerWallet => Self::PartnerWallet,
            AccountKind::AgentWallet { user_code } => Self::AgentWallet { user_code: *user_code },
            AccountKind::Funding => Self::Funding,
            AccountKind::FeeRevenue => Self::FeeRevenue,
            AccountKind::GstPayable => Self::GstPayable,
            AccountKind::TdsPayable => Self::TdsPayable,
            AccountKind::CommissionPayable => Self::CommissionPayable,
            AccountKind::RailClearing { rail } => Self::RailClearing { rail: (*rail).to_owned() },
            AccountKind::Suspense => Self::Suspense,
            AccountKind::LoanReceivable => Self::LoanReceivable,
            AccountKind::LoanOutstanding => Self::LoanOutstanding,
        }
    }
}

/// One leg of an entry to record, naming its account by owner and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegSpec {
    /// The account's namespace: the entry's partner for wallets, `PLATFORM` for the
    /// platform's accounts. Stated rather than derived, so a leg on the wrong owner is
    /// refused instead of silently moved.
    pub owner_id: i64,
    /// Which account, within the owner's namespace.
    pub account: AccountSpec,
    /// Debit or credit.
    pub side: Side,
    /// How much, in paise (positive).
    pub amount_paise: i64,
}

impl LegSpec {
    /// A leg on `kind` in its natural namespace for `partner_id`.
    pub fn new(partner_id: PartnerId, kind: &AccountKind, side: Side, amount_paise: i64) -> LegSpec {
        LegSpec { owner_id: kind.owner(partner_id), account: kind.into(), side, amount_paise }
    }
}

fn refuse(why: impl ToString) -> Rejection {
    Rejection::InvalidEntry(why.to_string())
}

/// Records a balanced entry for `partner_id`: posted at once, or pending (reserving its
/// debits until [`resolve_entry`]). Refused, with nothing changed, when invalid or when a
/// leg would break its account's limit.
pub(super) async fn record_entry(
    db: &mut impl Conn,
    partner_id: PartnerId,
    kind: &str,
    reference: &str,
    legs: &[LegSpec],
    pending: bool,
    now_ms: i64,
) -> CmdResult<Outcome> {
    require_partner(db, partner_id).await?;
    check_labels(kind, reference)?;
    // Bounds the work done before Entry::new, which checks the legs in full.
    if legs.len() > MAX_LEGS {
        return Err(refuse(EntryError::TooManyLegs).into());
    }
    let mut resolved = Vec::with_capacity(legs.len());
    for spec in legs {
        resolved.push(leg(db, partner_id, spec, now_ms).await?);
    }
    let entry = Entry::new(resolved).map_err(refuse)?;
    let state = if pending { EntryState::Pending } else { EntryState::Posted };
    let entry_id = ledger::record(db, partner_id, kind, reference, &entry, state, now_ms).await?;
    let balances = ledger::entry_balances(db, entry_id).await?;
    let event = json!({ "entry_id": entry_id, "kind": kind, "reference": reference, "state": state.as_str(),
                        "amount_paise": entry.total().get() });
    outbox::append(db, partner_id, "ledger.entry_recorded", &event, now_ms).await?;
    Ok(Outcome::EntryRecorded { entry_id, posted: !pending, balances })
}

fn check_labels(kind: &str, reference: &str) -> Result<(), Rejection> {
    if kind.is_empty() || kind.chars().count() > MAX_KIND_LEN {
        return Err(refuse(format!("entry kind must be 1 to {MAX_KIND_LEN} characters")));
    }
    if reference.chars().count() > MAX_REFERENCE_LEN {
        return Err(refuse(format!("reference is longer than {MAX_REFERENCE_LEN} characters")));
    }
    Ok(())
}

/// Turns a leg spec into a leg on a stored account (created on first use).
async fn leg(db: &mut impl Conn, partner_id: PartnerId, spec: &LegSpec, now_ms: i64) -> CmdResult<Leg> {
    // Zero passes here so that Entry::new names it; negative and huge amounts cannot
    // be represented as Paise at all.
    let amount = Paise::new(spec.amount_paise)
        .ok_or_else(|| refuse(format!("leg amount {} paise is outside 0..={MAX_PAISE}", spec.amount_paise)))?;
    let kind = spec.account.kind()?;
    let owner_id = kind.owner(partner_id);
    if spec.owner_id != owner_id {
        let code = kind.code();
        return Err(refuse(format!(
            "account {code} of partner {partner_id}'s entry belongs to owner {owner_id}, not {}",
            spec.owner_id
        ))
        .into());
    }
    if let AccountKind::AgentWallet { user_code } = kind {
        agents::get(db, partner_id, user_code).await?.ok_or(Rejection::AgentNotFound)?;
    }
    let account_id = ledger::account(db, owner_id, &kind, now_ms).await?;
    Ok(Leg { account_id, side: spec.side, amount })
}

/// Posts (`post`) or voids a pending entry.
pub(super) async fn resolve_entry(db: &mut impl Conn, entry_id: i64, post: bool, now_ms: i64) -> CmdResult<Outcome> {
    let entry = ledger::entry(db, entry_id).await?.ok_or(Rejection::EntryNotFound)?;
    let to = if post { EntryState::Posted } else { EntryState::Voided };
    ledger::resolve(db, entry_id, to, now_ms).await?;
    let balances = ledger::entry_balances(db, entry_id).await?;
    let event = json!({ "entry_id": entry_id, "kind": entry.kind, "reference": entry.reference, "state": to.as_str(),
                        "amount_paise": entry.amount_paise });
    outbox::append(db, entry.partner_id, "ledger.entry_resolved", &event, now_ms).await?;
    Ok(Outcome::EntryResolved { entry_id, posted: post, balances })
}

#[cfg(test)]
mod tests {
    use super::super::{Command, RecordEntry};
    use super::*;

    /// Commands travel as JSON (idempotency fingerprints, admin tools): a RecordEntry
    /// reads back as itself, and a side or rail the ledger does not know is refused.
    #[test]
    fn record_entry_round_trips_as_json() {
        let cmd = Command::RecordEntry(RecordEntry {
            partner_id: PartnerId::new(7),
            kind: "dmt_transfer".into(),
            reference: "TID-1".into(),
            legs: vec![
                LegSpec::new(PartnerId::new(7), &AccountKind::PartnerWallet, Side::Debit, 1_010),
                LegSpec::new(PartnerId::new(7), &AccountKind::RailClearing { rail: "imps" }, Side::Credit, 1_000),
                LegSpec::new(PartnerId::new(7), &AccountKind::FeeRevenue, Side::Credit, 10),
            ],
            pending: true,
        });
        let json = serde_json::to_string(&cmd).unwrap();
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), cmd);
        let bad_side = json.replacen("\"Debit\"", "\"Sideways\"", 1);
        assert!(serde_json::from_str::<Command>(&bad_side).unwrap_err().to_string().contains("unknown variant `Sideways`"));
        assert_eq!(AccountSpec::RailClearing { rail: "imps".into() }.kind(), Ok(AccountKind::RailClearing { rail: "imps" }));
        assert!(matches!(AccountSpec::RailClearing { rail: "swift".into() }.kind(), Err(Rejection::InvalidEntry(_))));
    }
}
