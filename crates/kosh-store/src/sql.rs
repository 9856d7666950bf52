//! The small SQL surface both backends implement. Domain operations in [`crate::ops`]
//! are written once against [`Conn`], in the subset of SQL that SQLite and PostgreSQL
//! share (`$n` parameters in order of first use, `RETURNING`, `ON CONFLICT`); where the
//! engines differ, an operation asks [`Conn::dialect`] and uses each engine's own SQL.

use kosh_core::ids::{Id, MerchantId, PartnerId, RecipientId, Tid, UserCode};
use kosh_core::ledger::{Balance, Limit, Side};
use kosh_core::money::Paise;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

macro_rules! id_vals {
    ($($id:ty),*) => {$(
        impl From<$id> for Val<'_> {
            fn from(v: $id) -> Self {
                Val::Int(v.get())
            }
        }
    )*};
}

id_vals!(PartnerId, UserCode, Tid, MerchantId, RecipientId);

impl From<Paise> for Val<'_> {
    fn from(v: Paise) -> Self {
        Val::Int(v.get())
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

/// The names of a result's columns, shared by all its rows.
pub type Columns = Arc<[Box<str>]>;

/// A result row, read by column name (the name each engine reports: the column's own
/// name, or its `AS` alias), so a reader does not depend on the order of a select list.
#[derive(Debug)]
pub struct Row {
    columns: Columns,
    cells: Vec<Cell>,
    /// Where the next lookup starts: just after the last column found. Readers mostly
    /// take columns in select-list order, so a lookup usually costs one comparison
    /// instead of a scan of the columns before it.
    next: AtomicUsize,
}

impl Clone for Row {
    fn clone(&self) -> Row {
        Row::new(self.columns.clone(), self.cells.clone())
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.columns == other.columns && self.cells == other.cells
    }
}

impl Eq for Row {}

impl Row {
    /// A row of `cells`, named by `columns` (one name per cell, in order).
    pub fn new(columns: Columns, cells: Vec<Cell>) -> Row {
        Row { columns, cells, next: AtomicUsize::new(0) }
    }

    /// The names of the row's columns (shared by every row of a result).
    #[cfg(test)]
    pub(crate) fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The cell of column `name`: the column after the last one found if it is that
    /// one, else the first of that name.
    fn cell(&self, name: &str) -> Result<&Cell, SqlError> {
        let named = |i: &usize| self.columns.get(*i).is_some_and(|c| c.eq_ignore_ascii_case(name));
        let hint = Some(self.next.load(Ordering::Relaxed)).filter(named);
        let found = hint.or_else(|| (0..self.columns.len()).find(named));
        let i = found.ok_or_else(|| SqlError::Decode(format!("no column {name}")))?;
        self.next.store(i + 1, Ordering::Relaxed);
        self.cells.get(i).ok_or_else(|| SqlError::Decode(format!("no cell for column {name}")))
    }

    /// Column `name` as an integer; an error if it is NULL or text.
    pub fn int(&self, name: &str) -> Result<i64, SqlError> {
        match self.cell(name)? {
            Cell::Int(v) => Ok(*v),
            other => Err(SqlError::Decode(format!("column {name} is {other:?}, not an integer"))),
        }
    }

    /// Column `name` as an integer, or `None` for NULL.
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, SqlError> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            _ => self.int(name).map(Some),
        }
    }

    /// Column `name` as an id ([`kosh_core::ids`]); an error if it is NULL or text.
    pub fn id<T: Id>(&self, name: &str) -> Result<T, SqlError> {
        self.int(name).map(T::from_raw)
    }

    /// Column `name` as an id, or `None` for NULL.
    pub fn opt_id<T: Id>(&self, name: &str) -> Result<Option<T>, SqlError> {
        Ok(self.opt_int(name)?.map(T::from_raw))
    }

    /// Column `name` as an amount in paise, or `None` for NULL.
    pub fn opt_paise(&self, name: &str) -> Result<Option<Paise>, SqlError> {
        self.opt_int(name)?.map(paise).transpose().map_err(|e| SqlError::Decode(format!("column {name}: {e}")))
    }

    /// Column `name` as an amount in paise; an error if it is NULL, text or negative.
    pub fn paise(&self, name: &str) -> Result<Paise, SqlError> {
        paise(self.int(name)?).map_err(|e| SqlError::Decode(format!("column {name}: {e}")))
    }

    /// Column `name` as text; an error if it is NULL or an integer.
    pub fn text(&self, name: &str) -> Result<String, SqlError> {
        match self.cell(name)? {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(SqlError::Decode(format!("column {name} is {other:?}, not text"))),
        }
    }

    /// Column `name` as text, or `None` for NULL.
    pub fn opt_text(&self, name: &str) -> Result<Option<String>, SqlError> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            _ => self.text(name).map(Some),
        }
    }
}

/// `v` paise as an amount; an error (a bug upstream) if it is negative or too large.
pub fn paise(v: i64) -> Result<Paise, SqlError> {
    Paise::new(v).ok_or_else(|| SqlError::Decode(format!("{v} is not an amount in paise")))
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

#[cfg(test)]
mod tests {
    use crate::sql::{Cell, Columns, Paise, Row, SqlError};

    fn row() -> Row {
        let columns: Columns = ["id", "Name", "amount", "note"].into_iter().map(Box::from).collect();
        Row::new(columns, vec![Cell::Int(7), Cell::Text("asha".into()), Cell::Int(-5), Cell::Null])
    }

    /// Readers name the column they want, so the order of a select list is free.
    #[test]
    fn cells_are_found_by_column_name_in_any_order() {
        let r = row();
        assert_eq!(r.text("name").unwrap(), "asha");
        assert_eq!(r.int("id").unwrap(), 7);
        assert_eq!(r.opt_text("note").unwrap(), None);
        assert_eq!(r.opt_int("amount").unwrap(), Some(-5));
    }

    /// The lookup that tries the column after the last one first still finds every
    /// column, in order, backwards and twice over, and a clone reads the same.
    #[test]
    fn lookups_from_the_last_position_find_every_column() {
        let r = row();
        for _ in 0..2 {
            assert_eq!(r.int("id").unwrap(), 7);
            assert_eq!(r.text("Name").unwrap(), "asha");
            assert_eq!(r.opt_int("amount").unwrap(), Some(-5));
            assert_eq!(r.opt_text("note").unwrap(), None);
        }
        for name in ["note", "amount", "name", "id"] {
            assert!(r.cell(name).is_ok(), "{name}");
        }
        assert!(r.cell("missing").is_err());
        assert_eq!(r.clone(), r);
        assert_eq!(r.clone().int("id").unwrap(), 7);
    }

    #[test]
    fn an_unknown_column_or_a_negative_amount_is_a_decode_error() {
        let r = row();
        assert!(matches!(r.int("missing"), Err(SqlError::Decode(m)) if m.contains("missing")));
        assert!(matches!(r.paise("amount"), Err(SqlError::Decode(_))));
        assert_eq!(r.paise("id").unwrap(), Paise::new(7).unwrap());
    }
}
