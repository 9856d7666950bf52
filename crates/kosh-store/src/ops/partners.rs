use crate::error::{CmdResult, Rejection};
use crate::sql::{Conn, Row, SqlError};
use kosh_core::ids::PartnerId;
use kosh_core::secret::Secret;
use serde::{Deserialize, Serialize};

/// A partner (fintech) of the platform, with its Eko credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// Kosh's id for the partner: the namespace of everything it owns.
    pub id: PartnerId,
    /// The partner's name (unique).
    pub name: String,
    /// The `developer_key` header that identifies the partner (unique).
    pub developer_key: String,
    /// The key its `secret-key` and `request_hash` are signed with.
    pub access_key: Secret,
    /// The partner's registered mobile: every Eko request names it.
    pub initiator_id: String,
    /// The public sandbox partner, with documented credentials.
    pub is_sandbox: bool,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

/// A partner to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPartner {
    /// The partner's name (unique).
    pub name: String,
    /// The `developer_key` it will send (unique).
    pub developer_key: String,
    /// The key its signatures use.
    pub access_key: Secret,
    /// The partner's registered mobile (unique).
    pub initiator_id: String,
    /// The public sandbox partner.
    pub is_sandbox: bool,
}

fn from_row(r: &Row) -> Result<Partner, SqlError> {
    Ok(Partner {
        id: r.id("id")?,
        name: r.text("name")?,
        developer_key: r.text("developer_key")?,
        access_key: r.text("access_key")?.into(),
        initiator_id: r.text("initiator_id")?,
        is_sandbox: r.int("is_sandbox")? != 0,
        created_at_ms: r.int("created_at_ms")?,
    })
}

macro_rules! select_partner {
    ($where:literal) => {
        concat!(
            "SELECT id, name, developer_key, access_key, initiator_id, is_sandbox, created_at_ms FROM partners WHERE ",
            $where
        )
    };
}

/// Creates a partner; refused if its name, developer key or initiator id is taken.
pub async fn insert(db: &mut impl Conn, p: &NewPartner, now_ms: i64) -> CmdResult<Partner> {
    let taken = [
        ("name", select_partner!("name = $1"), &p.name),
        ("developer_key", select_partner!("developer_key = $1"), &p.developer_key),
        ("initiator_id", select_partner!("initiator_id = $1"), &p.initiator_id),
    ];
    for (field, sql, value) in taken {
        if db.query_opt(sql, &[value.into()]).await?.is_some() {
            return Err(Rejection::PartnerExists { field }.into());
        }
    }
    let row = db
        .query_one(
            "INSERT INTO partners (name, developer_key, access_key, initiator_id, is_sandbox, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                (&p.name).into(),
                (&p.developer_key).into(),
                p.access_key.expose().into(),
                (&p.initiator_id).into(),
                i64::from(p.is_sandbox).into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(Partner {
        id: row.id("id")?,
        name: p.name.clone(),
        developer_key: p.developer_key.clone(),
        access_key: p.access_key.clone(),
        initiator_id: p.initiator_id.clone(),
        is_sandbox: p.is_sandbox,
        created_at_ms: now_ms,
    })
}

/// The partner with this developer key.
pub async fn by_developer_key(db: &mut impl Conn, key: &str) -> Result<Option<Partner>, SqlError> {
    db.query_opt(select_partner!("developer_key = $1"), &[key.into()]).await?.as_ref().map(from_row).transpose()
}

/// The partner with this id.
pub async fn by_id(db: &mut impl Conn, id: PartnerId) -> Result<Option<Partner>, SqlError> {
    db.query_opt(select_partner!("id = $1"), &[id.into()]).await?.as_ref().map(from_row).transpose()
}

/// The partner with this name.
pub async fn by_name(db: &mut impl Conn, name: &str) -> Result<Option<Partner>, SqlError> {
    db.query_opt(select_partner!("name = $1"), &[name.into()]).await?.as_ref().map(from_row).transpose()
}

/// Looks a partner up by id (all digits) or by name.
pub async fn by_id_or_name(db: &mut impl Conn, text: &str) -> Result<Option<Partner>, SqlError> {
    match text.parse::<PartnerId>() {
        Ok(id) => by_id(db, id).await,
        Err(_) => by_name(db, text).await,
    }
}

/// Every partner, by id.
pub async fn list(db: &mut impl Conn) -> Result<Vec<Partner>, SqlError> {
    db.query(select_partner!("1 = 1 ORDER BY id"), &[]).await?.iter().map(from_row).collect()
}
