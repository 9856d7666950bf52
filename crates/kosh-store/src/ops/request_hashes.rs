//! Replay protection: a `request_hash` is accepted for one request per partner while its
//! timestamp is within the tolerance. The vendor's signature covers only the timestamp,
//! so a captured set of headers would otherwise sign any request with the same hashed
//! fields (an AePS withdrawal of the same amount under a new `client_ref_id`).
//!
//! A use is recorded by the command it authorises, in its transaction, and bound to that
//! command's idempotency record: a refused command leaves the hash unused, and a retry
//! of the same request (same record) is answered from the record.

use crate::sql::{Conn, SqlError};
use kosh_core::ids::PartnerId;

/// Most rows one prune deletes: bounds the transaction a cleanup holds.
pub const PRUNE_BATCH: i64 = 1_000;

/// The longest `request_hash` recorded, in bytes. A valid one is 44 (base64 of an
/// HMAC-SHA256); only hashes that verified are recorded, so this is a guard, not a rule.
pub const MAX_HASH_LEN: usize = 128;

/// What recording a hash for a request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// First use: recorded for this request.
    Fresh,
    /// Already recorded for this same request (its idempotent retry).
    SameRequest,
    /// Used by another request, at `used_at_ms`.
    UsedBefore {
        /// When the other request used it (ms since the epoch).
        used_at_ms: i64,
    },
}

/// Records `hash` as used by the request under (`scope`, `key`), unless it is recorded.
///
/// On PostgreSQL a concurrent transaction recording the same hash holds its row: this
/// insert waits for it, then (once it commits) finds the row and answers `UsedBefore`,
/// or (once it rolls back) inserts. SQLite's single writer runs one command at a time.
pub async fn record(
    db: &mut impl Conn,
    partner_id: PartnerId,
    hash: &str,
    scope: &str,
    key: &str,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<Recorded, SqlError> {
    if hash.len() > MAX_HASH_LEN {
        return Err(SqlError::Other(format!("a request_hash longer than {MAX_HASH_LEN} bytes cannot have verified")));
    }
    let inserted = db
        .exec(
            "INSERT INTO request_hash_uses (partner_id, request_hash, scope, idem_key, used_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner_id, request_hash) DO NOTHING",
            &[partner_id.into(), hash.into(), scope.into(), key.into(), now_ms.into(), expires_at_ms.into()],
        )
        .await?;
    if inserted == 1 {
        return Ok(Recorded::Fresh);
    }
    let row = used(db, partner_id, hash).await?.ok_or_else(|| SqlError::Conflict("a request_hash row vanished".into()))?;
    if row.scope == scope && row.idem_key == key {
        return Ok(Recorded::SameRequest);
    }
    Ok(Recorded::UsedBefore { used_at_ms: row.used_at_ms })
}

/// A recorded use of a request_hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashUseRecord {
    /// The idempotency scope of the request that used it.
    pub scope: String,
    /// That request's idempotency key.
    pub idem_key: String,
    /// When it was used (ms since the epoch).
    pub used_at_ms: i64,
    /// When its timestamp leaves the tolerance; the record may be pruned after.
    pub expires_at_ms: i64,
}

/// The recorded use of `hash` by the partner, if any.
pub async fn used(db: &mut impl Conn, partner_id: PartnerId, hash: &str) -> Result<Option<HashUseRecord>, SqlError> {
    let row = db
        .query_opt(
            "SELECT scope, idem_key, used_at_ms, expires_at_ms FROM request_hash_uses \
             WHERE partner_id = $1 AND request_hash = $2",
            &[partner_id.into(), hash.into()],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(HashUseRecord {
        scope: row.text("scope")?,
        idem_key: row.text("idem_key")?,
        used_at_ms: row.int("used_at_ms")?,
        expires_at_ms: row.int("expires_at_ms")?,
    }))
}

/// Deletes at most `limit` uses that expired by `expired_by_ms`; answers how many.
pub async fn prune(db: &mut impl Conn, expired_by_ms: i64, limit: i64) -> Result<u64, SqlError> {
    db.exec(
        "DELETE FROM request_hash_uses WHERE (partner_id, request_hash) IN ( \
           SELECT partner_id, request_hash FROM request_hash_uses WHERE expires_at_ms <= $1 \
           ORDER BY expires_at_ms LIMIT $2)",
        &[expired_by_ms.into(), limit.clamp(1, PRUNE_BATCH).into()],
    )
    .await
}
