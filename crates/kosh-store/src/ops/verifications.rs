//! Verifications (KYC checks) as stored: one row each, subject masked and hashed, the
//! provider's answer with personal identifiers masked, emptied after the retention.

use crate::sql::{Conn, Row, SqlError};
use serde::{Deserialize, Serialize};

/// Where a verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Recorded, fee reserved; the provider has not answered.
    Recorded,
    /// Verified (or, for answers that come later, accepted).
    Done,
    /// The subject failed the check.
    Negative,
    /// The provider could not answer; the fee was refunded.
    Failed,
}

impl State {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Recorded => "recorded",
            State::Done => "done",
            State::Negative => "negative",
            State::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<State, SqlError> {
        Ok(match text {
            "recorded" => State::Recorded,
            "done" => State::Done,
            "negative" => State::Negative,
            "failed" => State::Failed,
            other => return Err(SqlError::Decode(format!("unknown verification state {other}"))),
        })
    }
}

/// A verification as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The partner it belongs to.
    pub partner_id: i64,
    /// Kosh's transaction id.
    pub tid: i64,
    /// The kind's id (`kosh_core::verification::KINDS`).
    pub kind: String,
    /// The partner's reference, when sent.
    pub client_ref_id: Option<String>,
    /// The agent it was made for, when sent.
    pub user_code: Option<i64>,
    /// Where it stands.
    pub state: State,
    /// The fee, GST included, in paise.
    pub fee_paise: i64,
    /// The GST in the fee, in paise.
    pub gst_paise: i64,
    /// The fee's ledger entry (none when free).
    pub entry_id: Option<i64>,
    /// The subject, all but its last characters hidden.
    pub subject_masked: String,
    /// A flow step's handle (the Aadhaar `access_key`).
    pub flow_key: Option<String>,
    /// When `flow_key` stops opening the next step.
    pub flow_expires_at_ms: Option<i64>,
    /// What the next step needs (JSON).
    pub flow_json: String,
    /// The answer's message.
    pub message: String,
    /// The provider's answer, masked (JSON); `{}` once purged.
    pub result_json: String,
    /// Answers that come later: when the last part is ready.
    pub ready_at_ms: Option<i64>,
    /// When it was recorded.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
    /// When its answer is purged.
    pub purge_at_ms: i64,
    /// Whether the retention has passed and the answer was emptied.
    pub purged: bool,
}

/// A verification to insert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRow {
    /// The partner.
    pub partner_id: i64,
    /// Its tid, from the `verify_tid` counter.
    pub tid: i64,
    /// The kind's id.
    pub kind: String,
    /// The partner's reference.
    pub client_ref_id: Option<String>,
    /// The agent.
    pub user_code: Option<i64>,
    /// The fee and its GST, in paise.
    pub fee_paise: i64,
    /// The GST in the fee.
    pub gst_paise: i64,
    /// The fee's pending entry.
    pub entry_id: Option<i64>,
    /// The subject, masked.
    pub subject_masked: String,
    /// The subject's keyed hash.
    pub subject_hash: String,
    /// A flow handle this step opens.
    pub flow_key: Option<String>,
    /// Until when.
    pub flow_expires_at_ms: Option<i64>,
    /// When its answer is purged.
    pub purge_at_ms: i64,
}

macro_rules! select_verification {
    ($where:literal) => {
        concat!(
            "SELECT partner_id, tid, kind, client_ref_id, user_code, state, fee_paise, gst_paise, entry_id, subject_masked, \
             flow_key, flow_expires_at_ms, flow_json, message, result_json, ready_at_ms, created_at_ms, updated_at_ms, \
             purge_at_ms, purged FROM verifications WHERE ",
            $where
        )
    };
}

fn from_row(r: &Row) -> Result<Verification, SqlError> {
    Ok(Verification {
        partner_id: r.int("partner_id")?,
        tid: r.int("tid")?,
        kind: r.text("kind")?,
        client_ref_id: r.opt_text("client_ref_id")?,
        user_code: r.opt_int("user_code")?,
        state: State::parse(&r.text("state")?)?,
        fee_paise: r.int("fee_paise")?,
        gst_paise: r.int("gst_paise")?,
        entry_id: r.opt_int("entry_id")?,
        subject_masked: r.text("subject_masked")?,
        flow_key: r.opt_text("flow_key")?,
        flow_expires_at_ms: r.opt_int("flow_expires_at_ms")?,
        flow_json: r.text("flow_json")?,
        message: r.text("message")?,
        result_json: r.text("result_json")?,
        ready_at_ms: r.opt_int("ready_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
        purge_at_ms: r.int("purge_at_ms")?,
        purged: r.int("purged")? != 0,
    })
}

/// Inserts a recorded verification.
pub async fn insert(db: &mut impl Conn, v: &NewRow, now_ms: i64) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO verifications (partner_id, tid, kind, client_ref_id, user_code, state, fee_paise, gst_paise, entry_id, \
         subject_masked, subject_hash, flow_key, flow_expires_at_ms, flow_json, message, result_json, ready_at_ms, \
         created_at_ms, updated_at_ms, purge_at_ms, purged) \
         VALUES ($1, $2, $3, $4, $5, 'recorded', $6, $7, $8, $9, $10, $11, $12, '{}', '', '{}', NULL, $13, $13, $14, 0)",
        &[
            v.partner_id.into(),
            v.tid.into(),
            (&v.kind).into(),
            v.client_ref_id.as_ref().into(),
            v.user_code.into(),
            v.fee_paise.into(),
            v.gst_paise.into(),
            v.entry_id.into(),
            (&v.subject_masked).into(),
            (&v.subject_hash).into(),
            v.flow_key.as_ref().into(),
            v.flow_expires_at_ms.into(),
            now_ms.into(),
            v.purge_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The partner's verification `tid`.
pub async fn get(db: &mut impl Conn, partner_id: i64, tid: i64) -> Result<Option<Verification>, SqlError> {
    let row = db.query_opt(select_verification!("partner_id = $1 AND tid = $2"), &[partner_id.into(), tid.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// The partner's newest verification with this `client_ref_id`.
pub async fn by_client_ref(db: &mut impl Conn, partner_id: i64, client_ref_id: &str) -> Result<Option<Verification>, SqlError> {
    let rows = db
        .query(
            select_verification!("partner_id = $1 AND client_ref_id = $2 ORDER BY tid DESC LIMIT 1"),
            &[partner_id.into(), client_ref_id.into()],
        )
        .await?;
    rows.first().map(from_row).transpose()
}

/// The step whose flow key this is, with its subject's hash.
pub async fn by_flow_key(db: &mut impl Conn, partner_id: i64, key: &str) -> Result<Option<(Verification, String)>, SqlError> {
    let row = db
        .query_opt(
            "SELECT partner_id, tid, kind, client_ref_id, user_code, state, fee_paise, gst_paise, entry_id, subject_masked, \
             subject_hash, flow_key, flow_expires_at_ms, flow_json, message, result_json, ready_at_ms, created_at_ms, \
             updated_at_ms, purge_at_ms, purged FROM verifications WHERE partner_id = $1 AND flow_key = $2",
            &[partner_id.into(), key.into()],
        )
        .await?;
    row.map(|r| Ok((from_row(&r)?, r.text("subject_hash")?))).transpose()
}

/// What applying the provider's answer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered<'a> {
    /// The new state.
    pub state: State,
    /// The answer's message.
    pub message: &'a str,
    /// The masked answer.
    pub result_json: &'a str,
    /// What the next flow step needs.
    pub flow_json: &'a str,
    /// When the last part of a later answer is ready.
    pub ready_at_ms: Option<i64>,
}

/// Stores the provider's answer, if the verification is still recorded; false when
/// another caller answered it first.
pub async fn answer(db: &mut impl Conn, partner_id: i64, tid: i64, a: &Answered<'_>, now_ms: i64) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE verifications SET state = $3, message = $4, result_json = $5, flow_json = $6, ready_at_ms = $7, \
             updated_at_ms = $8 WHERE partner_id = $1 AND tid = $2 AND state = 'recorded'",
            &[
                partner_id.into(),
                tid.into(),
                a.state.as_str().into(),
                a.message.into(),
                a.result_json.into(),
                a.flow_json.into(),
                a.ready_at_ms.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Empties the answers of at most `limit` verifications past their retention.
pub async fn purge(db: &mut impl Conn, now_ms: i64, limit: i64) -> Result<u64, SqlError> {
    db.exec(
        "UPDATE verifications SET result_json = '{}', flow_json = '{}', purged = 1 WHERE tid IN \
         (SELECT tid FROM verifications WHERE purged = 0 AND purge_at_ms <= $1 ORDER BY purge_at_ms LIMIT $2)",
        &[now_ms.into(), limit.into()],
    )
    .await
}

/// At most `limit` verifications still recorded since before `before_ms` (their request
/// died before the provider's answer was stored).
pub async fn stale(db: &mut impl Conn, before_ms: i64, limit: i64) -> Result<Vec<Verification>, SqlError> {
    let rows = db
        .query(
            select_verification!("state = 'recorded' AND updated_at_ms < $1 ORDER BY updated_at_ms LIMIT $2"),
            &[before_ms.into(), limit.into()],
        )
        .await?;
    rows.iter().map(from_row).collect()
}
