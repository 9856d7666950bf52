//! Schema migrations, embedded in the binary, one list per backend. A migration is
//! recorded in `schema_migrations` in the same transaction that applies it, so a node
//! that loses the race to apply one simply finds it applied (no advisory locks).

use crate::postgres::{sql_error as pg_error, PgStore};
use crate::sql::SqlError;
use std::path::Path;

/// One schema migration, in both backends' SQL.
pub struct Migration {
    /// Its number: migrations run in ascending order, each once.
    pub version: i64,
    /// A short name, recorded with the version.
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, in order. Append only: a released migration never changes.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "otp_subjects",
        sqlite: include_str!("../migrations/sqlite/0002_otp_subjects.sql"),
        postgres: include_str!("../migrations/postgres/0002_otp_subjects.sql"),
    },
    Migration {
        version: 3,
        name: "callbacks",
        sqlite: include_str!("../migrations/sqlite/0003_callbacks.sql"),
        postgres: include_str!("../migrations/postgres/0003_callbacks.sql"),
    },
    Migration {
        version: 4,
        name: "dmt",
        sqlite: include_str!("../migrations/sqlite/0004_dmt.sql"),
        postgres: include_str!("../migrations/postgres/0004_dmt.sql"),
    },
    Migration {
        version: 5,
        name: "aeps",
        sqlite: include_str!("../migrations/sqlite/0005_aeps.sql"),
        postgres: include_str!("../migrations/postgres/0005_aeps.sql"),
    },
    Migration {
        version: 6,
        name: "echelon",
        sqlite: include_str!("../migrations/sqlite/0006_echelon.sql"),
        postgres: include_str!("../migrations/postgres/0006_echelon.sql"),
    },
    Migration {
        version: 7,
        name: "request_hashes",
        sqlite: include_str!("../migrations/sqlite/0007_request_hashes.sql"),
        postgres: include_str!("../migrations/postgres/0007_request_hashes.sql"),
    },
    Migration {
        version: 8,
        name: "verification",
        sqlite: include_str!("../migrations/sqlite/0008_verification.sql"),
        postgres: include_str!("../migrations/postgres/0008_verification.sql"),
    },
    Migration {
        version: 9,
        name: "bbps",
        sqlite: include_str!("../migrations/sqlite/0009_bbps.sql"),
        postgres: include_str!("../migrations/postgres/0009_bbps.sql"),
    },
    Migration {
        version: 10,
        name: "v3_inquiry",
        sqlite: include_str!("../migrations/sqlite/0010_v3_inquiry.sql"),
        postgres: include_str!("../migrations/postgres/0010_v3_inquiry.sql"),
    },
    Migration {
        version: 11,
        name: "dmt_families",
        sqlite: include_str!("../migrations/sqlite/0011_dmt_families.sql"),
        postgres: include_str!("../migrations/postgres/0011_dmt_families.sql"),
    },
    Migration {
        version: 12,
        name: "payouts",
        sqlite: include_str!("../migrations/sqlite/0012_payouts.sql"),
        postgres: include_str!("../migrations/postgres/0012_payouts.sql"),
    },
    Migration {
        version: 13,
        name: "collections",
        sqlite: include_str!("../migrations/sqlite/0013_collections.sql"),
        postgres: include_str!("../migrations/postgres/0013_collections.sql"),
    },
];

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
        let done: i64 = tx
            .query_row("SELECT COUNT(*) AS applied FROM schema_migrations WHERE version = ?1", [m.version], |r| r.get("applied"))
            .map_err(map)?;
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
    create_migrations_table(&client).await?;
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

/// The migrations this binary knows that the database has not applied yet: a node is
/// ready to serve only when there are none. Reads `schema_migrations` alone, so
/// readiness never touches (or waits on) a business table.
pub async fn pending(db: &mut impl crate::sql::Conn) -> Result<Vec<i64>, SqlError> {
    let rows = db.query("SELECT version FROM schema_migrations", &[]).await?;
    let applied = rows.iter().map(|r| r.int("version")).collect::<Result<Vec<_>, _>>()?;
    Ok(MIGRATIONS.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect())
}

/// Most tries at creating `schema_migrations` while other nodes race to create it.
const MAX_CREATE_TRIES: u32 = 5;

/// Creates `schema_migrations` unless it exists. Nodes creating it at the same moment
/// collide in the catalogue, and the loser's `IF NOT EXISTS` does not save it: it fails
/// on the catalogue's unique key (23505) or finds the table's row type already there
/// (42710, 42P07). By the next try the winner has committed and the table is seen.
async fn create_migrations_table(client: &deadpool_postgres::Client) -> Result<(), SqlError> {
    use tokio_postgres::error::SqlState;
    let lost_race = |e: &tokio_postgres::Error| {
        e.code().is_some_and(|c| [SqlState::UNIQUE_VIOLATION, SqlState::DUPLICATE_OBJECT, SqlState::DUPLICATE_TABLE].contains(c))
    };
    let mut tries = 1;
    loop {
        match client.batch_execute(CREATE_TABLE).await {
            Ok(()) => return Ok(()),
            Err(e) if lost_race(&e) && tries < MAX_CREATE_TRIES => tries += 1,
            Err(e) => return Err(pg_error(e)),
        }
    }
}
