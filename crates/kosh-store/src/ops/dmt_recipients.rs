//! DMT recipients: the bank accounts a customer sends money to. A recipient belongs to
//! one customer of one partner; its `recipient_id` is unique platform-wide.

use crate::sql::{Conn, Row, SqlError};
use kosh_core::ids::{PartnerId, RecipientId};
use serde::{Deserialize, Serialize};

/// Most recipients a list answer carries (the per-customer maximum is lower).
pub const MAX_LIST: i64 = 100;

/// A customer's recipient: a bank account money can be sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Kosh's id for the recipient, unique across partners.
    pub recipient_id: RecipientId,
    /// The partner the recipient's customer belongs to.
    pub partner_id: PartnerId,
    /// The customer the recipient belongs to.
    pub customer_mobile: String,
    /// `acc_ifsc` or `acc_bankcode`: how it was added.
    pub id_type: String,
    /// The account number (9 to 18 digits).
    pub account: String,
    /// The branch IFSC (or the bank's universal one).
    pub ifsc: String,
    /// The bank's short code.
    pub bank_code: String,
    /// The account holder's name as the customer gave it.
    pub recipient_name: String,
    /// The recipient's mobile number; empty when not given.
    pub recipient_mobile: String,
    /// The platform's `recipient_type` code, echoed back.
    pub recipient_type: i64,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

/// What adding a recipient needs (the customer is named by the command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecipient {
    /// `acc_ifsc` or `acc_bankcode`: how it is added.
    pub id_type: String,
    /// The account number (9 to 18 digits).
    pub account: String,
    /// The branch IFSC, or the bank's universal one for `acc_bankcode`.
    pub ifsc: String,
    /// The bank's short code.
    pub bank_code: String,
    /// The account holder's name.
    pub recipient_name: String,
    /// The recipient's mobile number; empty when not given.
    pub recipient_mobile: String,
    /// The platform's `recipient_type` code.
    pub recipient_type: i64,
}

macro_rules! select_recipient {
    ($where:literal) => {
        concat!(
            "SELECT recipient_id, partner_id, customer_mobile, id_type, account, ifsc, bank_code, recipient_name, \
             recipient_mobile, recipient_type, created_at_ms FROM dmt_recipients WHERE ",
            $where
        )
    };
}

fn from_row(r: &Row) -> Result<Recipient, SqlError> {
    Ok(Recipient {
        recipient_id: r.id("recipient_id")?,
        partner_id: r.id("partner_id")?,
        customer_mobile: r.text("customer_mobile")?,
        id_type: r.text("id_type")?,
        account: r.text("account")?,
        ifsc: r.text("ifsc")?,
        bank_code: r.text("bank_code")?,
        recipient_name: r.text("recipient_name")?,
        recipient_mobile: r.text("recipient_mobile")?,
        recipient_type: r.int("recipient_type")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// The customer's recipient with this account and IFSC, if any.
pub async fn find_same_account(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    account: &str,
    ifsc: &str,
) -> Result<Option<Recipient>, SqlError> {
    let sql = select_recipient!("partner_id = $1 AND customer_mobile = $2 AND account = $3 AND ifsc = $4");
    let row = db.query_opt(sql, &[partner_id.into(), mobile.into(), account.into(), ifsc.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a recipient; answers it with its new id.
pub async fn insert(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    r: &NewRecipient,
    now_ms: i64,
) -> Result<Recipient, SqlError> {
    let row = db
        .query_one(
            "INSERT INTO dmt_recipients (partner_id, customer_mobile, id_type, account, ifsc, bank_code, recipient_name, \
             recipient_mobile, recipient_type, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING recipient_id",
            &[
                partner_id.into(),
                mobile.into(),
                (&r.id_type).into(),
                (&r.account).into(),
                (&r.ifsc).into(),
                (&r.bank_code).into(),
                (&r.recipient_name).into(),
                (&r.recipient_mobile).into(),
                r.recipient_type.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(Recipient {
        recipient_id: row.id("recipient_id")?,
        partner_id,
        customer_mobile: mobile.to_owned(),
        id_type: r.id_type.clone(),
        account: r.account.clone(),
        ifsc: r.ifsc.clone(),
        bank_code: r.bank_code.clone(),
        recipient_name: r.recipient_name.clone(),
        recipient_mobile: r.recipient_mobile.clone(),
        recipient_type: r.recipient_type,
        created_at_ms: now_ms,
    })
}

/// A recipient of the partner by id, whichever customer it belongs to (so that the
/// answer can say it belongs to another customer).
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, recipient_id: RecipientId) -> Result<Option<Recipient>, SqlError> {
    let row = db
        .query_opt(select_recipient!("partner_id = $1 AND recipient_id = $2"), &[partner_id.into(), recipient_id.into()])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The customer's recipients, oldest first.
pub async fn list(db: &mut impl Conn, partner_id: PartnerId, mobile: &str) -> Result<Vec<Recipient>, SqlError> {
    let sql = select_recipient!("partner_id = $1 AND customer_mobile = $2 ORDER BY recipient_id LIMIT $3");
    db.query(sql, &[partner_id.into(), mobile.into(), MAX_LIST.into()]).await?.iter().map(from_row).collect()
}

/// Removes the customer's recipient; `false` when it was not the customer's.
pub async fn delete(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    recipient_id: RecipientId,
) -> Result<bool, SqlError> {
    let deleted = db
        .exec(
            "DELETE FROM dmt_recipients WHERE partner_id = $1 AND customer_mobile = $2 AND recipient_id = $3",
            &[partner_id.into(), mobile.into(), recipient_id.into()],
        )
        .await?;
    Ok(deleted == 1)
}
