//! The outbox: events written in the same transaction as the state change they
//! describe. The callback engine delivers them; nothing uncommitted is ever seen.

use crate::ops::callbacks;
use crate::sql::{Conn, SqlError};
use kosh_core::events::Event;
use kosh_core::ids::PartnerId;
use serde::{Deserialize, Serialize};

/// An outbox row as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// The outbox id, increasing: the order events were written.
    pub id: i64,
    /// The partner the event is for.
    pub partner_id: PartnerId,
    /// What happened (`eko.tx_status`, …): picks the endpoint and the body's shape.
    pub kind: String,
    /// What the receiver needs, as JSON.
    pub payload: serde_json::Value,
    /// Delivery state (`pending`, `delivered`, …).
    pub state: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When it is next due (ms since the epoch).
    pub due_at_ms: i64,
    /// When it was written, in the transaction of the change it describes.
    pub created_at_ms: i64,
}

/// Queues a typed domain event on the delivery channel (outbox kind) it belongs to;
/// the callback worker renders the partner's body from it at delivery time.
pub async fn append_event(db: &mut impl Conn, partner_id: PartnerId, event: &Event, now_ms: i64) -> Result<i64, SqlError> {
    // Straight to text: building a `serde_json::Value` first would allocate every field
    // twice on the writer's path, once per money-moving command.
    let text = serde_json::to_string(event).map_err(|e| SqlError::Other(format!("an event did not serialise: {e}")))?;
    insert(db, partner_id, callbacks::outbox_kind(event), &text, now_ms).await
}

/// Writes an event in the caller's transaction; answers its id.
pub async fn append(
    db: &mut impl Conn,
    partner_id: PartnerId,
    kind: &str,
    payload: &serde_json::Value,
    now_ms: i64,
) -> Result<i64, SqlError> {
    insert(db, partner_id, kind, &payload.to_string(), now_ms).await
}

async fn insert(db: &mut impl Conn, partner_id: PartnerId, kind: &str, text: &str, now_ms: i64) -> Result<i64, SqlError> {
    db.query_one(
        "INSERT INTO outbox (partner_id, kind, payload, due_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        &[partner_id.into(), kind.into(), text.into(), now_ms.into()],
    )
    .await?
    .int("id")
}

/// The newest events of a partner, newest first.
pub async fn recent(db: &mut impl Conn, partner_id: PartnerId, limit: i64) -> Result<Vec<OutboxEvent>, SqlError> {
    let rows = db
        .query(
            "SELECT id, partner_id, kind, payload, state, attempts, due_at_ms, created_at_ms FROM outbox \
             WHERE partner_id = $1 ORDER BY id DESC LIMIT $2",
            &[partner_id.into(), limit.clamp(1, 1000).into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxEvent {
                id: r.int("id")?,
                partner_id: r.id("partner_id")?,
                kind: r.text("kind")?,
                payload: serde_json::from_str(&r.text("payload")?).map_err(|e| SqlError::Decode(e.to_string()))?,
                state: r.text("state")?,
                attempts: r.int("attempts")?,
                due_at_ms: r.int("due_at_ms")?,
                created_at_ms: r.int("created_at_ms")?,
            })
        })
        .collect()
}
