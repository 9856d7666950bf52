//! Schema migrations, embedded in the binary, one list per backend. A migration is
//! recorded in `schema_migrations` in the same transaction that applies it, so a node
//! that loses the race to apply one simply finds it applied (no advisory locks).

use crate::postgres::{sql_error as pg_error, PgStore};
use crate::sql::SqlError;
use std::path::Path;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
}];

const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

/// Applies pending migrations to a SQLite database; returns the versions applied.
pub fn sqlite(path: &Path, now_ms: i64) -> Result<Vec<i64>, SqlError> {
    let map = |e: rusqlite::Error| SqlError::Other(format!("migration failed: {e}"));
    let mut conn = rusqlite::Connection::open(path).map_err(map)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(map)?;
    conn.execute_batch("PRAGMA journal_mode=WAL;").map_err(map)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map)?;
    tx.execute_batch(CREATE_TABLE).map_err(map)?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let done: i64 =
            tx.query_row("SELECT COUNT(*) FROM schema_migrations WHERE version = ?1", [m.version], |r| r.get(0)).map_err(map)?;
        if done == 0 {
            tx.execute_batch(m.sqlite).map_err(map)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
                rusqlite::params![m.version, m.name, now_ms],
            )
            .map_err(map)?;
            applied.push(m.version);
        }
    }
    tx.commit().map_err(map)?;
    Ok(applied)
}

/// Applies pending migrations to PostgreSQL; safe to run from many nodes at once.
pub async fn postgres(store: &PgStore, now_ms: i64) -> Result<Vec<i64>, SqlError> {
    let mut client = store.client().await?;
    for attempt in 0.. {
        match client.batch_execute(CREATE_TABLE).await.map_err(pg_error) {
            Ok(()) => break,
            // Two nodes creating the table at once: one loses on the catalogue's unique key.
            Err(e) if e.is_retryable() && attempt < 5 => continue,
            Err(e) => return Err(e),
        }
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let tx = client.transaction().await.map_err(pg_error)?;
        let claimed = tx
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
                &[&m.version, &m.name, &now_ms],
            )
            .await
            .map_err(pg_error)?;
        if claimed == 1 {
            tx.batch_execute(m.postgres).await.map_err(pg_error)?;
            applied.push(m.version);
        }
        tx.commit().await.map_err(pg_error)?;
    }
    Ok(applied)
}
