//! The small SQL surface both backends implement. Domain operations in [`crate::ops`]
//! are written once against [`Conn`], in the subset of SQL that SQLite and PostgreSQL
//! share (`$n` parameters in order of first use, `RETURNING`, `ON CONFLICT`); where the
//! engines differ, an operation asks [`Conn::dialect`] and uses each engine's own SQL.

use kosh_core::ledger::{Balance, Limit, Side};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;

/// Which engine a [`Conn`] talks to, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded backend).
    Sqlite,
    /// PostgreSQL (the scale-out backend).
    Postgres,
}

/// A parameter value.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    /// SQL `NULL`.
    Null,
    /// An integer (`INTEGER` / `BIGINT`): ids, amounts in paise, timestamps in ms.
    Int(i64),
    /// Text.
    Text(&'a str),
}

impl From<i64> for Val<'_> {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Text(v)
    }
}

impl<'a> From<&'a String> for Val<'a> {
    fn from(v: &'a String) -> Self {
        Val::Text(v)
    }
}

impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// A result cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A result row, read by column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell, SqlError> {
        self.0.get(i).ok_or_else(|| SqlError::Decode(format!("no column {i}")))
    }

    /// Column `i` as an integer; an error if it is NULL or text.
    pub fn int(&self, i: usize) -> Result<i64, SqlError> {
        match self.cell(i)? {
            Cell::Int(v) => Ok(*v),
            other => Err(SqlError::Decode(format!("column {i} is {other:?}, not an integer"))),
        }
    }

    /// Column `i` as an integer, or `None` for NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, SqlError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// Column `i` as text; an error if it is NULL or an integer.
    pub fn text(&self, i: usize) -> Result<String, SqlError> {
        match self.cell(i)? {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(SqlError::Decode(format!("column {i} is {other:?}, not text"))),
        }
    }

    /// Column `i` as text, or `None` for NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, SqlError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
}

/// A storage failure, normalised across both engines.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SqlError {
    /// A unique key was violated: on PostgreSQL a concurrent transaction won a race
    /// (the command is retried); on SQLite, a bug.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// Serialization failure or deadlock (SQLSTATE 40001, 40P01): retry the transaction.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// The database was busy past the timeout.
    #[error("database busy: {0}")]
    Busy(String),
    /// A row did not have the shape the operation expected (a bug, or a schema mismatch).
    #[error("cannot decode row: {0}")]
    Decode(String),
    /// Any other database error (connection lost, disk full, …).
    #[error("database error: {0}")]
    Other(String),
}

impl SqlError {
    /// Whether running the whole transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SqlError::Unique(_) | SqlError::Conflict(_) | SqlError::Busy(_))
    }
}

/// One open transaction (or read session) on either backend.
pub trait Conn {
    /// Which engine this is.
    fn dialect(&self) -> Dialect;

    /// Counter changes of the ledger's unlimited accounts, held back until the work
    /// ends (see [`DeferredCounters`]).
    fn deferred_counters(&mut self) -> &mut DeferredCounters;

    /// Accounts already seen, where a connection keeps them (the SQLite writer's).
    fn account_cache(&mut self) -> Option<&mut AccountCache> {
        None
    }

    /// Runs a statement; returns the number of rows it changed.
    fn exec(&mut self, sql: &'static str, params: &[Val<'_>]) -> impl Future<Output = Result<u64, SqlError>>;

    /// Runs a query; returns every row.
    fn query(&mut self, sql: &'static str, params: &[Val<'_>]) -> impl Future<Output = Result<Vec<Row>, SqlError>>;

    /// Runs a query expected to answer at most one row.
    fn query_opt(&mut self, sql: &'static str, params: &[Val<'_>]) -> impl Future<Output = Result<Option<Row>, SqlError>> {
        async move {
            let mut rows = self.query(sql, params).await?;
            if rows.len() > 1 {
                return Err(SqlError::Decode(format!("expected at most one row, got {}", rows.len())));
            }
            Ok(rows.pop())
        }
    }

    /// Runs a query expected to answer exactly one row.
    fn query_one(&mut self, sql: &'static str, params: &[Val<'_>]) -> impl Future<Output = Result<Row, SqlError>> {
        async move { self.query_opt(sql, params).await?.ok_or_else(|| SqlError::Decode("expected one row, got none".into())) }
    }
}

/// Counter changes of accounts without a limit, summed per account until
/// [`crate::ops::ledger::flush_deferred`] writes them. Ordered by account id, so concurrent PostgreSQL
/// transactions lock these rows in one order and cannot deadlock on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeferredCounters(BTreeMap<i64, Balance>);

impl DeferredCounters {
    /// Adds `amount` to one counter of `account_id`; `pending` for a pending entry.
    pub fn add(&mut self, account_id: i64, side: Side, pending: bool, amount: i64) {
        self.0.entry(account_id).or_default().add(side, pending, amount);
    }

    /// Whether no change is held back.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether changes of `account_id` are held back (its stored counters are stale).
    pub fn holds(&self, account_id: i64) -> bool {
        self.0.contains_key(&account_id)
    }

    /// The summed changes, one per account in ascending account id (the lock order).
    pub fn into_changes(self) -> impl Iterator<Item = (i64, Balance)> {
        self.0.into_iter()
    }
}

/// Most accounts an [`AccountCache`] holds before it starts again.
const MAX_CACHED_ACCOUNTS: usize = 100_000;

/// What the SQLite writer has learned about accounts: ids by owner and code, limits by
/// id. Neither ever changes once an account exists, so it is kept across commands, which
/// then find their accounts without asking the database. What was learned in a command
/// or batch that is rolled back may name an account that no longer exists, so the
/// writer forgets everything then ([`AccountCache::clear`]).
#[derive(Debug, Default)]
pub struct AccountCache {
    ids: HashMap<i64, HashMap<String, i64>>,
    limits: HashMap<i64, i64>,
}

impl AccountCache {
    /// The id of the account `code` of `owner_id`, if seen.
    pub fn id(&self, owner_id: i64, code: &str) -> Option<i64> {
        self.ids.get(&owner_id)?.get(code).copied()
    }

    /// The `limit_kind` of account `account_id`, if seen.
    pub fn limit(&self, account_id: i64) -> Option<i64> {
        self.limits.get(&account_id).copied()
    }

    /// Remembers a found or created account and its limit.
    pub fn remember(&mut self, owner_id: i64, code: &str, account_id: i64, limit: Limit) {
        self.remember_limit(account_id, limit as i64);
        self.ids.entry(owner_id).or_default().insert(code.to_owned(), account_id);
    }

    /// Remembers an account's `limit_kind`; starts again past the size bound.
    pub fn remember_limit(&mut self, account_id: i64, limit_kind: i64) {
        if self.limits.len() >= MAX_CACHED_ACCOUNTS {
            self.clear();
        }
        self.limits.insert(account_id, limit_kind);
    }

    /// Forgets everything (after a rollback).
    pub fn clear(&mut self) {
        self.ids.clear();
        self.limits.clear();
    }
}
