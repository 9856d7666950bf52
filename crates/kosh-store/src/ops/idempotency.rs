//! Idempotency records: the key is claimed in the same transaction as the work it
//! guards, and completed with the work's outcome. A replay answers the stored outcome;
//! a reuse with a different request is a conflict.

use crate::sql::{Conn, Dialect, SqlError};
use kosh_core::ids::PartnerId;

/// What claiming a key found.
pub enum Claim {
    /// First use of the key: do the work, then [`complete`].
    New,
    /// The same request was done before: its stored outcome (JSON).
    Replay(String),
    /// The key was used with a different request.
    Conflict,
}

/// Claims `key` for a new command, or finds what it was used for.
///
/// On PostgreSQL the claim is a row inserted first: a concurrent transaction claiming the
/// same key waits on it, then finds it (a replay) once this one commits. SQLite's single
/// writer runs one command at a time, so a look-up is enough and the record is written
/// whole by [`complete`], saving an update of every idempotent command's row.
pub async fn claim(
    db: &mut impl Conn,
    partner_id: PartnerId,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now_ms: i64,
) -> Result<Claim, SqlError> {
    if db.dialect() == Dialect::Postgres {
        let inserted = db
            .exec(
                "INSERT INTO idempotency (partner_id, scope, idem_key, fingerprint, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (partner_id, scope, idem_key) DO NOTHING",
                &[partner_id.into(), scope.into(), key.into(), fingerprint.into(), now_ms.into()],
            )
            .await?;
        if inserted == 1 {
            return Ok(Claim::New);
        }
    }
    let row = db
        .query_opt(
            "SELECT fingerprint, outcome FROM idempotency WHERE partner_id = $1 AND scope = $2 AND idem_key = $3",
            &[partner_id.into(), scope.into(), key.into()],
        )
        .await?;
    let Some(row) = row else { return Ok(Claim::New) };
    if row.text("fingerprint")? != fingerprint {
        return Ok(Claim::Conflict);
    }
    // A claim is completed in the transaction that made it, so a visible claim has one.
    let outcome = row.opt_text("outcome")?.ok_or_else(|| SqlError::Decode("idempotency record without outcome".into()))?;
    Ok(Claim::Replay(outcome))
}

/// Records the outcome of the command that [`claim`]ed `key`, in its transaction.
pub async fn complete(
    db: &mut impl Conn,
    partner_id: PartnerId,
    scope: &str,
    key: &str,
    fingerprint: &str,
    outcome_json: &str,
    now_ms: i64,
) -> Result<(), SqlError> {
    let params = [partner_id.into(), scope.into(), key.into(), fingerprint.into(), outcome_json.into(), now_ms.into()];
    match db.dialect() {
        Dialect::Postgres => db.exec(
            "UPDATE idempotency SET outcome = $5 WHERE partner_id = $1 AND scope = $2 AND idem_key = $3 AND fingerprint = $4",
            &params[..5],
        ),
        Dialect::Sqlite => db.exec(
            "INSERT INTO idempotency (partner_id, scope, idem_key, fingerprint, outcome, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &params,
        ),
    }
    .await?;
    Ok(())
}

/// Whether the key was claimed (by a committed command): a cheap check before work
/// with outside effects, such as asking a partner's API.
pub async fn is_used(db: &mut impl Conn, partner_id: PartnerId, scope: &str, key: &str) -> Result<bool, SqlError> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM idempotency WHERE partner_id = $1 AND scope = $2 AND idem_key = $3",
            &[partner_id.into(), scope.into(), key.into()],
        )
        .await?
        .is_some())
}
