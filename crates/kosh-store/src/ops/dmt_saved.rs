//! Saved transactions: a v3 transfer request kept to be committed later (by the partner,
//! or by the rail worker once scheduled). The request is stored whole; committing runs
//! it as the same family transfer command under its `client_ref_id`.

use crate::sql::{Conn, Dialect, Row, SqlError};
use kosh_core::ids::{PartnerId, Tid, UserCode};
use serde::{Deserialize, Serialize};

/// Most saved transactions one list answers or one claim takes.
pub const MAX_LIST: i64 = 200;

/// Where a saved transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SavedState {
    /// Waiting for the partner to commit, cancel or schedule it.
    Saved,
    /// To be committed by the worker at `commit_at_ms`.
    Scheduled,
    /// Committed: `transfer_tid` is the transfer.
    Committed,
    /// Cancelled by the partner.
    Cancelled,
    /// The commit was refused (`reason`).
    Failed,
}

impl SavedState {
    /// The stored and shown name.
    pub fn code(self) -> &'static str {
        match self {
            Self::Saved => "saved",
            Self::Scheduled => "scheduled",
            Self::Committed => "committed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    fn from_code(code: &str) -> Option<SavedState> {
        [Self::Saved, Self::Scheduled, Self::Committed, Self::Cancelled, Self::Failed].into_iter().find(|s| s.code() == code)
    }

    /// Whether it may still be committed (or cancelled, or scheduled).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Saved | Self::Scheduled)
    }
}

/// A saved transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedTransfer {
    /// Its id, from the DMT tid counter.
    pub tid: Tid,
    /// The partner.
    pub partner_id: PartnerId,
    /// The agent who saved it.
    pub user_code: UserCode,
    /// The partner's reference the transfer will be made under.
    pub client_ref_id: String,
    /// The family transfer command, as JSON text.
    pub request: String,
    /// Where it stands.
    pub state: SavedState,
    /// When a scheduled one is due.
    pub commit_at_ms: Option<i64>,
    /// The transfer, once committed.
    pub transfer_tid: Option<Tid>,
    /// Why a commit was refused.
    pub reason: String,
    /// When it was saved.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

macro_rules! columns {
    () => {
        "tid, partner_id, user_code, client_ref_id, request, state, commit_at_ms, transfer_tid, reason, created_at_ms, updated_at_ms"
    };
}

fn from_row(r: &Row) -> Result<SavedTransfer, SqlError> {
    let state = r.text("state")?;
    Ok(SavedTransfer {
        tid: r.id("tid")?,
        partner_id: r.id("partner_id")?,
        user_code: r.id("user_code")?,
        client_ref_id: r.text("client_ref_id")?,
        request: r.text("request")?,
        state: SavedState::from_code(&state).ok_or_else(|| SqlError::Decode(format!("unknown saved state {state:?}")))?,
        commit_at_ms: r.opt_int("commit_at_ms")?,
        transfer_tid: r.opt_id("transfer_tid")?,
        reason: r.text("reason")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// Stores a new saved transaction; `false` when the partner saved one under this `client_ref_id` already.
pub async fn insert(db: &mut impl Conn, s: &SavedTransfer) -> Result<bool, SqlError> {
    let inserted = db
        .exec(
            "INSERT INTO dmt_saved_transfers (tid, partner_id, user_code, client_ref_id, request, state, commit_at_ms, \
             transfer_tid, reason, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (partner_id, client_ref_id) DO NOTHING",
            &[
                s.tid.into(),
                s.partner_id.into(),
                s.user_code.into(),
                (&s.client_ref_id).into(),
                (&s.request).into(),
                s.state.code().into(),
                s.commit_at_ms.into(),
                s.transfer_tid.into(),
                (&s.reason).into(),
                s.created_at_ms.into(),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// The partner's saved transaction `tid`.
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> Result<Option<SavedTransfer>, SqlError> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM dmt_saved_transfers WHERE partner_id = $1 AND tid = $2");
    db.query_opt(SQL, &[partner_id.into(), tid.into()]).await?.as_ref().map(from_row).transpose()
}

/// The agent's saved transactions in `state`, oldest first.
pub async fn list(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    state: SavedState,
) -> Result<Vec<SavedTransfer>, SqlError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM dmt_saved_transfers WHERE partner_id = $1 AND user_code = $2 AND state = $3 ORDER BY tid LIMIT $4"
    );
    let rows = db.query(SQL, &[partner_id.into(), user_code.into(), state.code().into(), MAX_LIST.into()]).await?;
    rows.iter().map(from_row).collect()
}

/// Moves `s` to its new state and times if it is still in `from`; `false` when it was not.
pub async fn update(db: &mut impl Conn, s: &SavedTransfer, from: SavedState) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE dmt_saved_transfers SET state = $3, commit_at_ms = $4, transfer_tid = $5, reason = $6, updated_at_ms = $7 \
             WHERE partner_id = $1 AND tid = $2 AND state = $8",
            &[
                s.partner_id.into(),
                s.tid.into(),
                s.state.code().into(),
                s.commit_at_ms.into(),
                s.transfer_tid.into(),
                (&s.reason).into(),
                s.updated_at_ms.into(),
                from.code().into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Whether any scheduled transaction is due at `now_ms`.
pub async fn any_due(db: &mut impl Conn, now_ms: i64) -> Result<bool, SqlError> {
    let row = db
        .query_opt(
            "SELECT tid FROM dmt_saved_transfers WHERE state = 'scheduled' AND commit_at_ms <= $1 LIMIT 1",
            &[now_ms.into()],
        )
        .await?;
    Ok(row.is_some())
}

/// Leases up to `limit` due scheduled transactions: their `commit_at_ms` moves to
/// `lease_until_ms`, so another worker takes one only if this one did not finish it.
pub async fn claim_due(db: &mut impl Conn, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<SavedTransfer>, SqlError> {
    let params = [now_ms.into(), lease_until_ms.into(), limit.clamp(1, MAX_LIST).into()];
    let rows = match db.dialect() {
        Dialect::Postgres => {
            const SQL: &str = concat!(
                "UPDATE dmt_saved_transfers SET commit_at_ms = $2 WHERE tid IN (SELECT tid FROM dmt_saved_transfers \
                 WHERE state = 'scheduled' AND commit_at_ms <= $1 ORDER BY commit_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
                columns!()
            );
            db.query(SQL, &params).await?
        }
        Dialect::Sqlite => {
            const SQL: &str = concat!(
                "UPDATE dmt_saved_transfers SET commit_at_ms = $2 WHERE tid IN (SELECT tid FROM dmt_saved_transfers \
                 WHERE state = 'scheduled' AND commit_at_ms <= $1 ORDER BY commit_at_ms LIMIT $3) RETURNING ",
                columns!()
            );
            db.query(SQL, &params).await?
        }
    };
    rows.iter().map(from_row).collect()
}
