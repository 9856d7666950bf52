//! The ledger's storage: accounts with four counters, entries and their legs.
//!
//! Limits are enforced by the UPDATE itself (`… WHERE id = $1 AND <limit holds after>`),
//! so a wallet cannot go negative whatever the interleaving: on SQLite the single writer
//! serialises commands, on PostgreSQL the row lock taken by the UPDATE does, and the
//! condition is re-checked on the latest row version.

use crate::error::{CmdResult, Rejection};
use crate::sql::{Conn, Row, SqlError};
use kosh_core::ledger::{AccountKind, Balance, Entry, EntryState, Side};
use serde::{Deserialize, Serialize};

/// Gets the id of an account, creating it on first use.
pub async fn account(db: &mut impl Conn, owner_id: i64, kind: &AccountKind, now_ms: i64) -> Result<i64, SqlError> {
    let code = kind.code();
    const SELECT: &str = "SELECT id FROM ledger_accounts WHERE owner_id = $1 AND code = $2";
    if let Some(row) = db.query_opt(SELECT, &[owner_id.into(), (&code).into()]).await? {
        return row.int(0);
    }
    let inserted = db
        .query_opt(
            "INSERT INTO ledger_accounts (owner_id, code, limit_kind, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner_id, code) DO NOTHING RETURNING id",
            &[owner_id.into(), (&code).into(), (kind.limit() as i64).into(), now_ms.into()],
        )
        .await?;
    match inserted {
        Some(row) => row.int(0),
        // A concurrent transaction created it first; ON CONFLICT waited for its commit.
        None => db.query_one(SELECT, &[owner_id.into(), (&code).into()]).await?.int(0),
    }
}

fn balance_from(r: &Row, first: usize) -> Result<Balance, SqlError> {
    Ok(Balance {
        debits_posted: r.int(first)?,
        credits_posted: r.int(first + 1)?,
        debits_pending: r.int(first + 2)?,
        credits_pending: r.int(first + 3)?,
    })
}

pub async fn balance(db: &mut impl Conn, account_id: i64) -> Result<Balance, SqlError> {
    let row = db
        .query_one(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts WHERE id = $1",
            &[account_id.into()],
        )
        .await?;
    balance_from(&row, 0)
}

/// The balance of an account by owner and kind; zero if it was never used.
pub async fn balance_of(db: &mut impl Conn, owner_id: i64, kind: &AccountKind) -> Result<Balance, SqlError> {
    let row = db
        .query_opt(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts \
             WHERE owner_id = $1 AND code = $2",
            &[owner_id.into(), (&kind.code()).into()],
        )
        .await?;
    row.map_or(Ok(Balance::default()), |r| balance_from(&r, 0))
}

// Each statement adds `$2` to one counter of account `$1`, and only if the account's
// limit (limit_kind 1: debits ≤ posted credits; 2: credits ≤ posted debits) still
// holds afterwards.
const ADD_DEBIT_POSTED: &str = "UPDATE ledger_accounts SET debits_posted = debits_posted + $2 WHERE id = $1 \
     AND (limit_kind <> 1 OR debits_posted + debits_pending + $2 <= credits_posted)";
const ADD_DEBIT_PENDING: &str = "UPDATE ledger_accounts SET debits_pending = debits_pending + $2 WHERE id = $1 \
     AND (limit_kind <> 1 OR debits_posted + debits_pending + $2 <= credits_posted)";
const ADD_CREDIT_POSTED: &str = "UPDATE ledger_accounts SET credits_posted = credits_posted + $2 WHERE id = $1 \
     AND (limit_kind <> 2 OR credits_posted + credits_pending + $2 <= debits_posted)";
const ADD_CREDIT_PENDING: &str = "UPDATE ledger_accounts SET credits_pending = credits_pending + $2 WHERE id = $1 \
     AND (limit_kind <> 2 OR credits_posted + credits_pending + $2 <= debits_posted)";
// Posting and voiding only move or remove pending amounts: they can never break a limit.
const POST_DEBIT: &str =
    "UPDATE ledger_accounts SET debits_pending = debits_pending - $2, debits_posted = debits_posted + $2 WHERE id = $1";
const POST_CREDIT: &str =
    "UPDATE ledger_accounts SET credits_pending = credits_pending - $2, credits_posted = credits_posted + $2 WHERE id = $1";
const VOID_DEBIT: &str = "UPDATE ledger_accounts SET debits_pending = debits_pending - $2 WHERE id = $1";
const VOID_CREDIT: &str = "UPDATE ledger_accounts SET credits_pending = credits_pending - $2 WHERE id = $1";

/// Records a balanced entry, posted at once or pending (reserving its debits). Refused
/// without any change when a leg would break its account's limit.
pub async fn record(
    db: &mut impl Conn,
    partner_id: i64,
    kind: &str,
    reference: &str,
    entry: &Entry,
    state: EntryState,
    now_ms: i64,
) -> CmdResult<i64> {
    if state == EntryState::Voided {
        return Err(Rejection::InvalidEntry("an entry is recorded pending or posted".into()).into());
    }
    let entry_id = db
        .query_one(
            "INSERT INTO ledger_entries (partner_id, kind, state, reference, amount, created_at_ms, resolved_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                partner_id.into(),
                kind.into(),
                state.as_str().into(),
                reference.into(),
                entry.total().get().into(),
                now_ms.into(),
                (state == EntryState::Posted).then_some(now_ms).into(),
            ],
        )
        .await?
        .int(0)?;
    for (seq, leg) in entry.legs().iter().enumerate() {
        db.exec(
            "INSERT INTO ledger_legs (entry_id, seq, account_id, side, amount) VALUES ($1, $2, $3, $4, $5)",
            &[entry_id.into(), (seq as i64).into(), leg.account_id.into(), leg.side.as_str().into(), leg.amount.get().into()],
        )
        .await?;
    }
    let mut updates = per_account(entry);
    shared_accounts_last(db, entry_id, &mut updates, |u| u.0).await?;
    for (account_id, side, amount) in updates {
        let sql = match (side, state) {
            (Side::Debit, EntryState::Posted) => ADD_DEBIT_POSTED,
            (Side::Debit, _) => ADD_DEBIT_PENDING,
            (Side::Credit, EntryState::Posted) => ADD_CREDIT_POSTED,
            (Side::Credit, _) => ADD_CREDIT_PENDING,
        };
        if db.exec(sql, &[account_id.into(), amount.into()]).await? == 0 {
            let available_paise = balance(db, account_id).await?.available_credit().max(0);
            return Err(Rejection::InsufficientFunds { available_paise }.into());
        }
    }
    Ok(entry_id)
}

/// Reorders updates so accounts without a limit — the platform's shared accounts
/// (funding, fee revenue, clearing), which nearly every entry touches — come last. On
/// PostgreSQL an UPDATE holds its row lock until commit, so a shared account updated
/// first would serialise every concurrent entry for the whole transaction. The order
/// stays total ((shared, account id)), so concurrent entries still cannot deadlock.
async fn shared_accounts_last<T>(
    db: &mut impl Conn,
    entry_id: i64,
    updates: &mut [T],
    account_of: impl Fn(&T) -> i64,
) -> Result<(), SqlError> {
    let shared: Vec<i64> = db
        .query(
            "SELECT DISTINCT a.id FROM ledger_legs l JOIN ledger_accounts a ON a.id = l.account_id \
             WHERE l.entry_id = $1 AND a.limit_kind = 0",
            &[entry_id.into()],
        )
        .await?
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<_, _>>()?;
    updates.sort_by_key(|u| (shared.contains(&account_of(u)), account_of(u)));
    Ok(())
}

/// The entry's amounts summed per account and side, in the entry's (account, side)
/// order. One limit check then sees an account's whole debit, and a refusal reports
/// the balance as it was before the entry (no earlier leg of it touched the account).
fn per_account(entry: &Entry) -> Vec<(i64, Side, i64)> {
    let mut sums: Vec<(i64, Side, i64)> = Vec::with_capacity(entry.legs().len());
    for leg in entry.legs() {
        match sums.last_mut() {
            Some((account_id, side, sum)) if *account_id == leg.account_id && *side == leg.side => *sum += leg.amount.get(),
            _ => sums.push((leg.account_id, leg.side, leg.amount.get())),
        }
    }
    sums
}

/// Resolves a pending entry: posts or voids every leg.
pub async fn resolve(db: &mut impl Conn, entry_id: i64, to: EntryState, now_ms: i64) -> CmdResult<()> {
    if to == EntryState::Pending {
        return Err(Rejection::InvalidEntry("an entry resolves to posted or voided".into()).into());
    }
    let changed = db
        .exec(
            "UPDATE ledger_entries SET state = $2, resolved_at_ms = $3 WHERE id = $1 AND state = 'pending'",
            &[entry_id.into(), to.as_str().into(), now_ms.into()],
        )
        .await?;
    if changed == 0 {
        return Err(Rejection::EntryNotPending.into());
    }
    let rows =
        db.query("SELECT account_id, side, amount FROM ledger_legs WHERE entry_id = $1 ORDER BY seq", &[entry_id.into()]).await?;
    let mut legs = Vec::with_capacity(rows.len());
    for row in &rows {
        let side = Side::parse(&row.text(1)?).ok_or_else(|| SqlError::Decode("invalid leg side".into()))?;
        legs.push((row.int(0)?, side, row.int(2)?));
    }
    shared_accounts_last(db, entry_id, &mut legs, |leg| leg.0).await?;
    for (account_id, side, amount) in legs {
        let sql = match (side, to) {
            (Side::Debit, EntryState::Posted) => POST_DEBIT,
            (Side::Credit, EntryState::Posted) => POST_CREDIT,
            (Side::Debit, _) => VOID_DEBIT,
            (Side::Credit, _) => VOID_CREDIT,
        };
        db.exec(sql, &[account_id.into(), amount.into()]).await?;
    }
    Ok(())
}

/// An account's counters, named, as a command reports them after changing them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBalance {
    pub account_id: i64,
    pub owner_id: i64,
    /// The account's code within its owner's namespace (`wallet`, `clearing:imps`, …).
    pub code: String,
    pub balance: Balance,
}

/// The balances of every account an entry touches, by account id.
pub async fn entry_balances(db: &mut impl Conn, entry_id: i64) -> Result<Vec<AccountBalance>, SqlError> {
    let rows = db
        .query(
            "SELECT id, owner_id, code, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts \
             WHERE id IN (SELECT account_id FROM ledger_legs WHERE entry_id = $1) ORDER BY id",
            &[entry_id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountBalance { account_id: r.int(0)?, owner_id: r.int(1)?, code: r.text(2)?, balance: balance_from(r, 3)? })
        })
        .collect()
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    pub id: i64,
    pub partner_id: i64,
    pub kind: String,
    pub state: String,
    pub reference: String,
    pub amount_paise: i64,
    pub created_at_ms: i64,
}

pub async fn entry(db: &mut impl Conn, entry_id: i64) -> Result<Option<EntryRecord>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, kind, state, reference, amount, created_at_ms FROM ledger_entries WHERE id = $1",
            &[entry_id.into()],
        )
        .await?;
    row.map(|r| {
        Ok(EntryRecord {
            id: r.int(0)?,
            partner_id: r.int(1)?,
            kind: r.text(2)?,
            state: r.text(3)?,
            reference: r.text(4)?,
            amount_paise: r.int(5)?,
            created_at_ms: r.int(6)?,
        })
    })
    .transpose()
}

/// Ledger-wide totals, for invariant checks: every counter summed over all accounts.
pub async fn totals(db: &mut impl Conn) -> Result<Balance, SqlError> {
    let row = db
        .query_one(
            "SELECT CAST(COALESCE(SUM(debits_posted), 0) AS BIGINT), CAST(COALESCE(SUM(credits_posted), 0) AS BIGINT), \
             CAST(COALESCE(SUM(debits_pending), 0) AS BIGINT), CAST(COALESCE(SUM(credits_pending), 0) AS BIGINT) \
             FROM ledger_accounts",
            &[],
        )
        .await?;
    balance_from(&row, 0)
}

/// Accounts whose counters break their limit (there must never be any).
pub async fn limit_violations(db: &mut impl Conn) -> Result<i64, SqlError> {
    db.query_one(
        "SELECT COUNT(*) FROM ledger_accounts WHERE (limit_kind = 1 AND debits_posted + debits_pending > credits_posted) \
         OR (limit_kind = 2 AND credits_posted + credits_pending > debits_posted)",
        &[],
    )
    .await?
    .int(0)
}
