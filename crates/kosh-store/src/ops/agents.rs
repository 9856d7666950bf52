use crate::error::{CmdResult, Rejection};
use crate::sql::{Conn, Row, SqlError};
use kosh_core::ids::{PartnerId, UserCode};
use serde::{Deserialize, Serialize};

/// An agent (retailer, merchant) onboarded by a partner; Eko calls it a "user".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Kosh's id for the agent, unique within the partner; every agent request names it.
    pub user_code: UserCode,
    /// The partner that onboarded the agent.
    pub partner_id: PartnerId,
    /// The agent's PAN, upper case (unique per partner).
    pub pan: String,
    /// The agent's mobile number (unique per partner).
    pub mobile: String,
    /// The agent's first name.
    pub first_name: String,
    /// The agent's middle name; empty when none.
    pub middle_name: String,
    /// The agent's last name.
    pub last_name: String,
    /// The agent's e-mail address.
    pub email: String,
    /// The agent's date of birth, `YYYY-MM-DD`.
    pub dob: String,
    /// The agent's shop, as shown to customers.
    pub shop_name: String,
    /// The residence address as a JSON object.
    pub residence_address: String,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

/// The fields of an onboarding request, already validated by the dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    /// The agent's PAN, upper case.
    pub pan: String,
    /// The agent's mobile number; another agent of the partner may not have it.
    pub mobile: String,
    /// The agent's first name.
    pub first_name: String,
    /// The agent's middle name; empty when none.
    pub middle_name: String,
    /// The agent's last name.
    pub last_name: String,
    /// The agent's e-mail address.
    pub email: String,
    /// The agent's date of birth, `YYYY-MM-DD` (an adult).
    pub dob: String,
    /// The agent's shop name.
    pub shop_name: String,
    /// The residence address as a JSON object.
    pub residence_address: String,
}

macro_rules! select_agent {
    ($where:literal) => {
        concat!(
            "SELECT user_code, partner_id, pan, mobile, first_name, middle_name, last_name, email, dob, shop_name, \
             residence_address, created_at_ms FROM agents WHERE ",
            $where
        )
    };
}

fn from_row(r: &Row) -> Result<Agent, SqlError> {
    Ok(Agent {
        user_code: r.id("user_code")?,
        partner_id: r.id("partner_id")?,
        pan: r.text("pan")?,
        mobile: r.text("mobile")?,
        first_name: r.text("first_name")?,
        middle_name: r.text("middle_name")?,
        last_name: r.text("last_name")?,
        email: r.text("email")?,
        dob: r.text("dob")?,
        shop_name: r.text("shop_name")?,
        residence_address: r.text("residence_address")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// The agent `user_code` of this partner; another partner's agents do not exist for it.
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, user_code: UserCode) -> Result<Option<Agent>, SqlError> {
    let row = db.query_opt(select_agent!("partner_id = $1 AND user_code = $2"), &[partner_id.into(), user_code.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// Result of onboarding: the agent, and whether this call created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Onboarded {
    /// The agent as stored.
    pub agent: Agent,
    /// False when the partner had an agent with this PAN: onboarding the same person again answers that agent.
    pub created: bool,
}

/// Onboards an agent. The PAN identifies the person: onboarding the same PAN again
/// answers with the existing agent. A mobile number already used by another agent of
/// the partner is refused.
pub async fn onboard(db: &mut impl Conn, partner_id: PartnerId, a: &NewAgent, now_ms: i64) -> CmdResult<Onboarded> {
    let by_pan = db.query_opt(select_agent!("partner_id = $1 AND pan = $2"), &[partner_id.into(), (&a.pan).into()]).await?;
    if let Some(row) = by_pan {
        return Ok(Onboarded { agent: from_row(&row)?, created: false });
    }
    let by_mobile =
        db.query_opt(select_agent!("partner_id = $1 AND mobile = $2"), &[partner_id.into(), (&a.mobile).into()]).await?;
    if let Some(row) = by_mobile {
        let agent = from_row(&row)?;
        // On PostgreSQL (READ COMMITTED) a concurrent onboarding of this same PAN may
        // commit between the two reads: then the mobile's agent is this very person.
        if agent.pan == a.pan {
            return Ok(Onboarded { agent, created: false });
        }
        return Err(Rejection::AgentMobileTaken.into());
    }
    let user_code = UserCode::new(next_counter(db, "user_code").await?);
    db.exec(
        "INSERT INTO agents (user_code, partner_id, pan, mobile, first_name, middle_name, last_name, email, dob, shop_name, \
         residence_address, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            user_code.into(),
            partner_id.into(),
            (&a.pan).into(),
            (&a.mobile).into(),
            (&a.first_name).into(),
            (&a.middle_name).into(),
            (&a.last_name).into(),
            (&a.email).into(),
            (&a.dob).into(),
            (&a.shop_name).into(),
            (&a.residence_address).into(),
            now_ms.into(),
        ],
    )
    .await?;
    let agent = get(db, partner_id, user_code).await?.ok_or_else(|| SqlError::Decode("inserted agent vanished".into()))?;
    Ok(Onboarded { agent, created: true })
}

/// Takes the next value of a named counter (row-locked until the transaction ends).
pub async fn next_counter(db: &mut impl Conn, name: &str) -> Result<i64, SqlError> {
    db.query_one("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value", &[name.into()]).await?.int("value")
}
