//! The ledger's storage: accounts with four counters, entries and their legs.
//!
//! Limits are enforced by the UPDATE itself (`… WHERE id = $1 AND <limit holds after>`),
//! so a wallet cannot go negative whatever the interleaving: on SQLite the single writer
//! serialises commands, on PostgreSQL the row lock taken by the UPDATE does, and the
//! condition is re-checked on the latest row version.
//!
//! Accounts without a limit — the platform's funding, revenue, tax and clearing accounts,
//! which nearly every entry touches — are not written entry by entry: their changes are
//! summed in [`DeferredCounters`](crate::sql::DeferredCounters) and written by [`flush_deferred`] when the work ends
//! (before a PostgreSQL transaction commits; once per group-commit batch on SQLite), or
//! earlier, the moment a command reads their counters. Nothing can be refused for them,
//! so holding their changes back changes no outcome; it saves the hottest rows a write
//! per entry, and on PostgreSQL holds their row locks only from the flush to the commit.

use crate::error::{CmdResult, Rejection};
use crate::sql::{Conn, Row, SqlError, Val};
use kosh_core::ids::PartnerId;
use kosh_core::ledger::{AccountKind, Balance, Entry, EntryState, Limit, Side, MAX_LEGS};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Gets the id of an account, creating it on first use.
pub async fn account(db: &mut impl Conn, owner_id: i64, kind: &AccountKind, now_ms: i64) -> Result<i64, SqlError> {
    let code = kind.code();
    if let Some(id) = db.account_cache().and_then(|cache| cache.id(owner_id, &code)) {
        return Ok(id);
    }
    let id = find_or_create(db, owner_id, kind, &code, now_ms).await?;
    if let Some(cache) = db.account_cache() {
        cache.remember(owner_id, &code, id, kind.limit());
    }
    Ok(id)
}

async fn find_or_create(db: &mut impl Conn, owner_id: i64, kind: &AccountKind, code: &str, now_ms: i64) -> Result<i64, SqlError> {
    const SELECT: &str = "SELECT id FROM ledger_accounts WHERE owner_id = $1 AND code = $2";
    if let Some(row) = db.query_opt(SELECT, &[owner_id.into(), code.into()]).await? {
        return row.int("id");
    }
    let inserted = db
        .query_opt(
            "INSERT INTO ledger_accounts (owner_id, code, limit_kind, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner_id, code) DO NOTHING RETURNING id",
            &[owner_id.into(), code.into(), (kind.limit() as i64).into(), now_ms.into()],
        )
        .await?;
    match inserted {
        Some(row) => row.int("id"),
        // A concurrent transaction created it first; ON CONFLICT waited for its commit.
        None => db.query_one(SELECT, &[owner_id.into(), code.into()]).await?.int("id"),
    }
}

fn balance_from(r: &Row) -> Result<Balance, SqlError> {
    Ok(Balance {
        debits_posted: r.int("debits_posted")?,
        credits_posted: r.int("credits_posted")?,
        debits_pending: r.int("debits_pending")?,
        credits_pending: r.int("credits_pending")?,
    })
}

/// An account's counters, after writing any held back for it.
pub async fn balance(db: &mut impl Conn, account_id: i64) -> Result<Balance, SqlError> {
    if db.deferred_counters().holds(account_id) {
        flush_deferred(db).await?;
    }
    let row = db
        .query_one(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts WHERE id = $1",
            &[account_id.into()],
        )
        .await?;
    balance_from(&row)
}

/// The balance of an account by owner and kind; zero if it was never used.
pub async fn balance_of(db: &mut impl Conn, owner_id: i64, kind: &AccountKind) -> Result<Balance, SqlError> {
    if kind.limit() == Limit::None {
        flush_deferred(db).await?;
    }
    let row = db
        .query_opt(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts \
             WHERE owner_id = $1 AND code = $2",
            &[owner_id.into(), (&kind.code()).into()],
        )
        .await?;
    row.map_or(Ok(Balance::default()), |r| balance_from(&r))
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
    partner_id: PartnerId,
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
        .int("id")?;
    insert_legs(db, entry_id, entry).await?;
    let limited = limited_accounts(db, entry_id, entry).await?;
    for (account_id, side, amount) in per_account(entry) {
        if !limited.contains(&account_id) {
            let pending = state == EntryState::Pending;
            db.deferred_counters().add(account_id, side, pending, amount);
            continue;
        }
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

/// Writes an entry's legs in one statement.
async fn insert_legs(db: &mut impl Conn, entry_id: i64, entry: &Entry) -> Result<(), SqlError> {
    let legs = entry.legs();
    let mut params = Vec::with_capacity(1 + 3 * legs.len());
    params.push(entry_id.into());
    for leg in legs {
        params.extend::<[Val<'_>; 3]>([leg.account_id.into(), leg.side.as_str().into(), leg.amount.get().into()]);
    }
    db.exec(insert_legs_sql(legs.len()), &params).await?;
    Ok(())
}

/// `INSERT INTO ledger_legs` of `n` rows (`$1` the entry, then account, side and amount
/// per leg), for every `n` an entry may have, built once.
fn insert_legs_sql(n: usize) -> &'static str {
    static SQL: OnceLock<Vec<&'static str>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=MAX_LEGS)
            .map(|n| {
                let rows: Vec<String> =
                    (0..n).map(|i| format!("($1, {i}, ${}, ${}, ${})", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i)).collect();
                let sql = format!("INSERT INTO ledger_legs (entry_id, seq, account_id, side, amount) VALUES {}", rows.join(", "));
                &*Box::leak(sql.into_boxed_str())
            })
            .collect()
    });
    all[n.clamp(1, MAX_LEGS) - 1]
}

/// The accounts of an entry that have a limit (their changes are written at once).
async fn limited_accounts(db: &mut impl Conn, entry_id: i64, entry: &Entry) -> Result<Vec<i64>, SqlError> {
    let cached =
        db.account_cache().and_then(|c| entry.legs().iter().map(|l| Some((l.account_id, c.limit(l.account_id)?))).collect());
    let limits: Vec<(i64, i64)> = match cached {
        Some(limits) => limits,
        None => {
            let rows = db
                .query(
                    "SELECT id, limit_kind FROM ledger_accounts \
                     WHERE id IN (SELECT account_id FROM ledger_legs WHERE entry_id = $1)",
                    &[entry_id.into()],
                )
                .await?;
            let limits = rows.iter().map(|r| Ok((r.int("id")?, r.int("limit_kind")?))).collect::<Result<Vec<_>, SqlError>>()?;
            if let Some(cache) = db.account_cache() {
                limits.iter().for_each(|&(id, limit)| cache.remember_limit(id, limit));
            }
            limits
        }
    };
    Ok(limits.into_iter().filter(|&(_, limit)| limit != Limit::None as i64).map(|(id, _)| id).collect())
}

/// Writes every deferred counter change, one statement per account.
pub async fn flush_deferred(db: &mut impl Conn) -> Result<(), SqlError> {
    if db.deferred_counters().is_empty() {
        return Ok(());
    }
    let deferred = std::mem::take(db.deferred_counters());
    for (account_id, d) in deferred.into_changes() {
        db.exec(
            "UPDATE ledger_accounts SET debits_posted = debits_posted + $2, credits_posted = credits_posted + $3, \
             debits_pending = debits_pending + $4, credits_pending = credits_pending + $5 WHERE id = $1",
            &[
                account_id.into(),
                d.debits_posted.into(),
                d.credits_posted.into(),
                d.debits_pending.into(),
                d.credits_pending.into(),
            ],
        )
        .await?;
    }
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
    let rows = db
        .query(
            "SELECT l.account_id, l.side, l.amount, a.limit_kind FROM ledger_legs l \
             JOIN ledger_accounts a ON a.id = l.account_id WHERE l.entry_id = $1 ORDER BY l.account_id, l.seq",
            &[entry_id.into()],
        )
        .await?;
    for row in &rows {
        let (account_id, amount) = (row.int("account_id")?, row.int("amount")?);
        let side = Side::parse(&row.text("side")?).ok_or_else(|| SqlError::Decode("invalid leg side".into()))?;
        if row.int("limit_kind")? == Limit::None as i64 {
            let d = db.deferred_counters();
            d.add(account_id, side, true, -amount);
            if to == EntryState::Posted {
                d.add(account_id, side, false, amount);
            }
            continue;
        }
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
    /// The account (`ledger_accounts.id`).
    pub account_id: i64,
    /// Its namespace: the partner for wallets, `PLATFORM` for the platform's accounts.
    pub owner_id: i64,
    /// The account's code within its owner's namespace (`wallet`, `clearing:imps`, …).
    pub code: String,
    /// Its four counters, in paise.
    pub balance: Balance,
}

/// The balances of every account an entry touches, by account id.
pub async fn entry_balances(db: &mut impl Conn, entry_id: i64) -> Result<Vec<AccountBalance>, SqlError> {
    flush_deferred(db).await?;
    let rows = db
        .query(
            "SELECT id, owner_id, code, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts \
             WHERE id IN (SELECT account_id FROM ledger_legs WHERE entry_id = $1) ORDER BY id",
            &[entry_id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountBalance {
                account_id: r.int("id")?,
                owner_id: r.int("owner_id")?,
                code: r.text("code")?,
                balance: balance_from(r)?,
            })
        })
        .collect()
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// The entry (`ledger_entries.id`).
    pub id: i64,
    /// The partner the entry belongs to.
    pub partner_id: PartnerId,
    /// The flow it belongs to (`dmt_transfer`, …).
    pub kind: String,
    /// `pending`, `posted` or `voided`.
    pub state: String,
    /// The flow's own id for it (a tid, an order id).
    pub reference: String,
    /// What it moves (its debits, which equal its credits), in paise.
    pub amount_paise: Paise,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

/// The entry with this id.
pub async fn entry(db: &mut impl Conn, entry_id: i64) -> Result<Option<EntryRecord>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, kind, state, reference, amount, created_at_ms FROM ledger_entries WHERE id = $1",
            &[entry_id.into()],
        )
        .await?;
    row.map(|r| {
        Ok(EntryRecord {
            id: r.int("id")?,
            partner_id: r.id("partner_id")?,
            kind: r.text("kind")?,
            state: r.text("state")?,
            reference: r.text("reference")?,
            amount_paise: r.paise("amount")?,
            created_at_ms: r.int("created_at_ms")?,
        })
    })
    .transpose()
}

/// Ledger-wide totals, for invariant checks: every counter summed over all accounts.
pub async fn totals(db: &mut impl Conn) -> Result<Balance, SqlError> {
    flush_deferred(db).await?;
    let row = db
        .query_one(
            "SELECT CAST(COALESCE(SUM(debits_posted), 0) AS BIGINT) AS debits_posted, \
             CAST(COALESCE(SUM(credits_posted), 0) AS BIGINT) AS credits_posted, \
             CAST(COALESCE(SUM(debits_pending), 0) AS BIGINT) AS debits_pending, \
             CAST(COALESCE(SUM(credits_pending), 0) AS BIGINT) AS credits_pending FROM ledger_accounts",
            &[],
        )
        .await?;
    balance_from(&row)
}

/// Accounts whose counters break their limit (there must never be any).
pub async fn limit_violations(db: &mut impl Conn) -> Result<i64, SqlError> {
    flush_deferred(db).await?;
    db.query_one(
        "SELECT COUNT(*) AS violations FROM ledger_accounts WHERE (limit_kind = 1 AND debits_posted + debits_pending > credits_posted) \
         OR (limit_kind = 2 AND credits_posted + credits_pending > debits_posted)",
        &[],
    )
    .await?
    .int("violations")
}
