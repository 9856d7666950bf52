use crate::sql::{Conn, Row, SqlError};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::services::{AgentService, ServiceStatus, VerificationStatus};

fn from_row(r: &Row) -> Result<AgentService, SqlError> {
    let bad = |what: &str| SqlError::Decode(format!("invalid {what} in agent_services"));
    Ok(AgentService {
        service_code: u16::try_from(r.int("service_code")?).map_err(|_| bad("service_code"))?,
        status: ServiceStatus::from_code(r.int("status")?).ok_or_else(|| bad("status"))?,
        verification: VerificationStatus::from_code(r.int("verification_status")?).ok_or_else(|| bad("verification_status"))?,
        review_done_at_ms: r.opt_int("review_done_at_ms")?,
        comments: r.text("comments")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// The agent's standing for one service.
pub async fn get(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    service_code: u16,
) -> Result<Option<AgentService>, SqlError> {
    let row = db
        .query_opt(
            "SELECT service_code, status, verification_status, review_done_at_ms, comments, created_at_ms, updated_at_ms \
             FROM agent_services WHERE partner_id = $1 AND user_code = $2 AND service_code = $3",
            &[partner_id.into(), user_code.into(), i64::from(service_code).into()],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The agent's standing for every service it asked for.
pub async fn list(db: &mut impl Conn, partner_id: PartnerId, user_code: UserCode) -> Result<Vec<AgentService>, SqlError> {
    let rows = db
        .query(
            "SELECT service_code, status, verification_status, review_done_at_ms, comments, created_at_ms, updated_at_ms \
             FROM agent_services WHERE partner_id = $1 AND user_code = $2 ORDER BY service_code",
            &[partner_id.into(), user_code.into()],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

/// Stores an agent's standing for a service, with the activation request's details.
pub async fn put(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    s: &AgentService,
    details_json: &str,
) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO agent_services (partner_id, user_code, service_code, status, verification_status, review_done_at_ms, \
         comments, details, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (partner_id, user_code, service_code) DO UPDATE SET status = excluded.status, \
         verification_status = excluded.verification_status, review_done_at_ms = excluded.review_done_at_ms, \
         comments = excluded.comments, details = excluded.details, updated_at_ms = excluded.updated_at_ms",
        &[
            partner_id.into(),
            user_code.into(),
            i64::from(s.service_code).into(),
            (s.status as i64).into(),
            (s.verification as i64).into(),
            s.review_done_at_ms.into(),
            (&s.comments).into(),
            details_json.into(),
            s.created_at_ms.into(),
            s.updated_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}
