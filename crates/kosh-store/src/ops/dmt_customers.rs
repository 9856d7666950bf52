//! DMT customers (senders), identified per partner by mobile number, with the counters
//! that enforce their monthly limit and their recipient maximum. Both counters are
//! changed by conditional UPDATEs, so no interleaving of commands can pass either limit
//! (the row lock serialises them on PostgreSQL, the single writer on SQLite).

use crate::sql::{Conn, Row, SqlError};
use kosh_core::dmt::CustomerState;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// A DMT customer (a sender), enrolled by an agent, identified by mobile within the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The partner the customer was enrolled with; customers of different partners are distinct.
    pub partner_id: PartnerId,
    /// The customer's mobile number, their identity within the partner.
    pub mobile: String,
    /// The customer's name as enrolled.
    pub name: String,
    /// `YYYY-MM-DD`.
    pub dob: String,
    /// The residence address as JSON text.
    pub residence_address: String,
    /// Verification and KYC state, which sets the monthly limit.
    pub state: CustomerState,
    /// The agent who enrolled the customer.
    pub user_code: UserCode,
    /// The month (`yyyymm`, IST) that `used_paise` counts.
    pub used_month: i64,
    /// What the customer sent in `used_month`, in paise (failed and refunded transfers give it back).
    pub used_paise: Paise,
    /// How many recipients the customer has (at most the command's `max_recipients`).
    pub recipient_count: i64,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

/// What enrolling a customer needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    /// The customer's mobile number.
    pub mobile: String,
    /// The customer's name.
    pub name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub dob: String,
    /// The residence address as JSON text.
    pub residence_address: String,
    /// The agent enrolling the customer.
    pub user_code: UserCode,
}

macro_rules! select_customer {
    ($where:literal) => {
        concat!(
            "SELECT partner_id, mobile, name, dob, residence_address, state, user_code, used_month, used_paise, \
             recipient_count, created_at_ms, updated_at_ms FROM dmt_customers WHERE ",
            $where
        )
    };
}

fn from_row(r: &Row) -> Result<Customer, SqlError> {
    let state = r.int("state")?;
    Ok(Customer {
        partner_id: r.id("partner_id")?,
        mobile: r.text("mobile")?,
        name: r.text("name")?,
        dob: r.text("dob")?,
        residence_address: r.text("residence_address")?,
        state: CustomerState::from_code(state).ok_or_else(|| SqlError::Decode(format!("unknown customer state {state}")))?,
        user_code: r.id("user_code")?,
        used_month: r.int("used_month")?,
        used_paise: r.paise("used_paise")?,
        recipient_count: r.int("recipient_count")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// The partner's customer with this mobile number.
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, mobile: &str) -> Result<Option<Customer>, SqlError> {
    let row = db.query_opt(select_customer!("partner_id = $1 AND mobile = $2"), &[partner_id.into(), mobile.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// Enrols a customer in state 1 (OTP pending); `false` when the mobile was enrolled
/// already (by this command's race winner, on PostgreSQL).
pub async fn insert(db: &mut impl Conn, partner_id: PartnerId, c: &NewCustomer, now_ms: i64) -> Result<bool, SqlError> {
    let inserted = db
        .exec(
            "INSERT INTO dmt_customers (partner_id, mobile, name, dob, residence_address, state, user_code, created_at_ms, \
             updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (partner_id, mobile) DO NOTHING",
            &[
                partner_id.into(),
                (&c.mobile).into(),
                (&c.name).into(),
                (&c.dob).into(),
                (&c.residence_address).into(),
                CustomerState::OtpPending.code().into(),
                c.user_code.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// Moves a customer from `from` to `to`; `false` when it was not in `from`.
pub async fn change_state(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    from: CustomerState,
    to: CustomerState,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE dmt_customers SET state = $4, updated_at_ms = $5 WHERE partner_id = $1 AND mobile = $2 AND state = $3",
            &[partner_id.into(), mobile.into(), from.code().into(), to.code().into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Adds `amount_paise` to the customer's use of month `month`, but only if that keeps
/// it within `limit_paise` (a new month starts from zero). `false`: over the limit.
pub async fn use_limit(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    month: i64,
    amount_paise: Paise,
    limit_paise: i64,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE dmt_customers SET used_paise = CASE WHEN used_month = $3 THEN used_paise + $4 ELSE $4 END, \
             used_month = $3, updated_at_ms = $6 \
             WHERE partner_id = $1 AND mobile = $2 AND (CASE WHEN used_month = $3 THEN used_paise ELSE 0 END) + $4 <= $5",
            &[partner_id.into(), mobile.into(), month.into(), amount_paise.into(), limit_paise.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Gives back what a failed or refunded transfer took from month `month`'s limit (a
/// month that has ended has nothing to give back).
pub async fn release_limit(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    month: i64,
    amount_paise: Paise,
    now_ms: i64,
) -> Result<(), SqlError> {
    db.exec(
        "UPDATE dmt_customers SET used_paise = used_paise - $4, updated_at_ms = $5 \
         WHERE partner_id = $1 AND mobile = $2 AND used_month = $3 AND used_paise >= $4",
        &[partner_id.into(), mobile.into(), month.into(), amount_paise.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Counts one more recipient, if the customer has fewer than `max`. `false`: full.
pub async fn add_recipient_slot(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    max: i64,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE dmt_customers SET recipient_count = recipient_count + 1, updated_at_ms = $4 \
             WHERE partner_id = $1 AND mobile = $2 AND recipient_count < $3",
            &[partner_id.into(), mobile.into(), max.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Gives back one recipient slot of the customer.
pub async fn free_recipient_slot(db: &mut impl Conn, partner_id: PartnerId, mobile: &str, now_ms: i64) -> Result<(), SqlError> {
    db.exec(
        "UPDATE dmt_customers SET recipient_count = recipient_count - 1, updated_at_ms = $3 \
         WHERE partner_id = $1 AND mobile = $2 AND recipient_count > 0",
        &[partner_id.into(), mobile.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}
