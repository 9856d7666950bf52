//! The Echelon dialect's storage: merchants, payments (payins and payouts), throttle
//! windows.

use crate::sql::{Conn, Row, SqlError};
use kosh_core::echelon::{Direction, Status};
use kosh_core::ids::{MerchantId, PartnerId};
use kosh_core::money::Paise;
use kosh_core::secret::Secret;
use serde::{Deserialize, Serialize};

/// A merchant: a partner's Echelon identity. Holds only one-way values of its secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    /// Kosh's id for the merchant.
    pub id: MerchantId,
    /// The partner whose wallet the merchant's payments use.
    pub partner_id: PartnerId,
    /// The merchant's code, its login (unique).
    pub merchant_code: String,
    /// The merchant's display name.
    pub name: String,
    /// The salt of the secret's verifier.
    pub secret_salt: String,
    /// The keyed hash of the merchant's secret with the salt; the secret itself is never stored.
    pub secret_verifier: String,
    /// Hex of the key tokens are signed with (after the server's pepper).
    pub token_key: Secret,
    /// Whether the merchant may authenticate.
    pub active: bool,
    /// The documented sandbox merchant (seeded, public credentials).
    pub is_sandbox: bool,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

impl std::fmt::Debug for Merchant {
    /// Leaves the secret-derived values out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("id", &self.id)
            .field("partner_id", &self.partner_id)
            .field("merchant_code", &self.merchant_code)
            .field("name", &self.name)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A merchant to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMerchant {
    /// The partner whose wallet the merchant's payments use.
    pub partner_id: PartnerId,
    /// The merchant's code, its login (unique).
    pub merchant_code: String,
    /// The merchant's display name.
    pub name: String,
    /// The salt of the secret's verifier.
    pub secret_salt: String,
    /// The keyed hash of the secret with the salt.
    pub secret_verifier: String,
    /// The key tokens are signed with, derived from the secret.
    pub token_key: Secret,
    /// The documented sandbox merchant.
    pub is_sandbox: bool,
}

macro_rules! select_merchant {
    ($rest:literal) => {
        concat!(
            "SELECT id, partner_id, merchant_code, name, secret_salt, secret_verifier, token_key, active, is_sandbox, \
             created_at_ms FROM echelon_merchants ",
            $rest
        )
    };
}

fn merchant_from(r: &Row) -> Result<Merchant, SqlError> {
    Ok(Merchant {
        id: r.id("id")?,
        partner_id: r.id("partner_id")?,
        merchant_code: r.text("merchant_code")?,
        name: r.text("name")?,
        secret_salt: r.text("secret_salt")?,
        secret_verifier: r.text("secret_verifier")?,
        token_key: r.text("token_key")?.into(),
        active: r.int("active")? != 0,
        is_sandbox: r.int("is_sandbox")? != 0,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// Inserts a merchant; `None` when the merchant code is taken.
pub async fn insert_merchant(db: &mut impl Conn, m: &NewMerchant, now_ms: i64) -> Result<Option<Merchant>, SqlError> {
    let row = db
        .query_opt(
            "INSERT INTO echelon_merchants (partner_id, merchant_code, name, secret_salt, secret_verifier, token_key, \
             is_sandbox, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (merchant_code) DO NOTHING RETURNING id",
            &[
                m.partner_id.into(),
                (&m.merchant_code).into(),
                (&m.name).into(),
                (&m.secret_salt).into(),
                (&m.secret_verifier).into(),
                m.token_key.expose().into(),
                i64::from(m.is_sandbox).into(),
                now_ms.into(),
            ],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Merchant {
        id: row.id("id")?,
        partner_id: m.partner_id,
        merchant_code: m.merchant_code.clone(),
        name: m.name.clone(),
        secret_salt: m.secret_salt.clone(),
        secret_verifier: m.secret_verifier.clone(),
        token_key: m.token_key.clone(),
        active: true,
        is_sandbox: m.is_sandbox,
        created_at_ms: now_ms,
    }))
}

/// The merchant with this code.
pub async fn merchant_by_code(db: &mut impl Conn, code: &str) -> Result<Option<Merchant>, SqlError> {
    db.query_opt(select_merchant!("WHERE merchant_code = $1"), &[code.into()]).await?.as_ref().map(merchant_from).transpose()
}

/// The merchant with this id.
pub async fn merchant_by_id(db: &mut impl Conn, id: MerchantId) -> Result<Option<Merchant>, SqlError> {
    db.query_opt(select_merchant!("WHERE id = $1"), &[id.into()]).await?.as_ref().map(merchant_from).transpose()
}

/// Every merchant.
pub async fn merchants(db: &mut impl Conn) -> Result<Vec<Merchant>, SqlError> {
    db.query(select_merchant!("ORDER BY id"), &[]).await?.iter().map(merchant_from).collect()
}

/// Replaces a merchant's stored secret values; false when there is no such merchant.
pub async fn rotate_secret(
    db: &mut impl Conn,
    code: &str,
    salt: &str,
    verifier: &str,
    token_key: &str,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE echelon_merchants SET secret_salt = $2, secret_verifier = $3, token_key = $4, updated_at_ms = $5 \
             WHERE merchant_code = $1",
            &[code.into(), salt.into(), verifier.into(), token_key.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// A payin or payout as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Kosh's id for the payment (its `reference` is derived from it).
    pub id: i64,
    /// The merchant that created it.
    pub merchant_id: MerchantId,
    /// Payin or payout.
    pub direction: Direction,
    /// The merchant order id (`idPayin` / `idPayout`).
    pub order_id: String,
    /// Kosh's own id (`idPayment`).
    pub id_payment: String,
    /// The merchant's partner, whose wallet the payment moves.
    pub partner_id: PartnerId,
    /// The amount asked for, in paise.
    pub amount_paise: Paise,
    /// Kosh's fee, in paise: added to a payout's debit, taken from a payin's credit.
    pub fee_paise: Paise,
    /// ISO 4217 code (`INR`).
    pub currency: String,
    /// The customer segment named (`DEFAULT`, `VIP`), if any.
    pub segment_code: Option<String>,
    /// `exchangedToCurrency`, if the merchant asked for one (echoed only).
    pub exchanged_to: Option<String>,
    /// The payment method's code (`UPIQR`, `IMPS`, …).
    pub method_code: String,
    /// The ledger clearing account's rail (`upi`, `imps`).
    pub rail: String,
    /// The operator the method goes through, if any.
    pub operator_code: Option<String>,
    /// The accepted `paymentMethod` object, as JSON text.
    pub method_json: String,
    /// Where status callbacks go, if the merchant gave one.
    pub callback_url: Option<String>,
    /// Where the customer returns after paying, if given.
    pub return_url: Option<String>,
    /// The customer's IP address, if the merchant sent it.
    pub customer_ip: Option<String>,
    /// Payins: the sandbox outcome their amount chose (`PayinScenario`); payouts: the
    /// name of the rail that took the order (`Rail::name`), the one the worker asks, or
    /// [`UNSUBMITTED`] while no rail has taken it yet.
    pub scenario: String,
    /// Where the payment stands.
    pub status: Status,
    /// The `FailureReasonCode` of a failed payment.
    pub failure_code: Option<String>,
    /// A detail of the failure, if any.
    pub failure_message: Option<String>,
    /// When it failed (ms since the epoch).
    pub failed_at_ms: Option<i64>,
    /// When it succeeded (ms since the epoch).
    pub processed_at_ms: Option<i64>,
    /// The merchant's own reference, set later.
    pub external_reference: Option<String>,
    /// The bank's reference of a successful payment, when there is one.
    pub utr: Option<String>,
    /// The ledger entry that moves its money, once there is one.
    pub entry_id: Option<i64>,
    /// Created by a sandbox server: no real money moves.
    pub is_test: bool,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When it expires if nothing finishes it.
    pub expire_at_ms: Option<i64>,
    /// When the worker next looks at it; `None` once final.
    pub check_at_ms: Option<i64>,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

impl Payment {
    /// The platform's transaction reference shown to customers (`reference`).
    pub fn reference(&self) -> String {
        let prefix = match self.direction {
            Direction::Payin => "KPI",
            Direction::Payout => "KPO",
        };
        format!("{prefix}{:08}", self.id)
    }
}

/// A payment to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPayment {
    /// The merchant creating it.
    pub merchant_id: MerchantId,
    /// The merchant's partner, whose wallet the payment moves.
    pub partner_id: PartnerId,
    /// Payin or payout.
    pub direction: Direction,
    /// The merchant order id (`idPayin` / `idPayout`), unique per merchant.
    pub order_id: String,
    /// Kosh's own id (`idPayment`).
    pub id_payment: String,
    /// The amount asked for, in paise.
    pub amount_paise: Paise,
    /// Kosh's fee, in paise.
    pub fee_paise: Paise,
    /// ISO 4217 code (`INR`).
    pub currency: String,
    /// The customer segment named, if any.
    pub segment_code: Option<String>,
    /// `exchangedToCurrency`, if asked for (echoed only).
    pub exchanged_to: Option<String>,
    /// The payment method's code.
    pub method_code: String,
    /// The ledger clearing account's rail.
    pub rail: String,
    /// The operator the method goes through, if any.
    pub operator_code: Option<String>,
    /// The accepted `paymentMethod` object, as JSON text.
    pub method_json: String,
    /// Where status callbacks go, if given.
    pub callback_url: Option<String>,
    /// Where the customer returns, if given.
    pub return_url: Option<String>,
    /// The customer's IP address, if sent.
    pub customer_ip: Option<String>,
    /// Payins: the sandbox outcome their amount chose (`PayinScenario`); payouts: the
    /// name of the rail that took the order (`Rail::name`), the one the worker asks, or
    /// [`UNSUBMITTED`] while no rail has taken it yet.
    pub scenario: String,
    /// The status it starts in.
    pub status: Status,
    /// The failure code when it is final at creation.
    pub failure_code: Option<String>,
    /// Created by a sandbox server.
    pub is_test: bool,
    /// When it expires if nothing finishes it.
    pub expire_at_ms: Option<i64>,
    /// When the worker first looks at it; `None` when final at creation.
    pub check_at_ms: Option<i64>,
}

macro_rules! select_payment {
    ($rest:literal) => {
        concat!(
            "SELECT id, merchant_id, direction, order_id, id_payment, partner_id, amount_paise, fee_paise, currency, \
             segment_code, exchanged_to, method_code, rail, operator_code, method_json, callback_url, return_url, \
             customer_ip, scenario, status, failure_code, failure_message, failed_at_ms, processed_at_ms, \
             external_reference, utr, entry_id, is_test, created_at_ms, expire_at_ms, check_at_ms, updated_at_ms \
             FROM echelon_payments ",
            $rest
        )
    };
}

fn payment_from(r: &Row) -> Result<Payment, SqlError> {
    let bad = |what: &str| SqlError::Decode(format!("invalid payment {what}"));
    Ok(Payment {
        id: r.int("id")?,
        merchant_id: r.id("merchant_id")?,
        direction: Direction::parse(&r.text("direction")?).ok_or_else(|| bad("direction"))?,
        order_id: r.text("order_id")?,
        id_payment: r.text("id_payment")?,
        partner_id: r.id("partner_id")?,
        amount_paise: r.paise("amount_paise")?,
        fee_paise: r.paise("fee_paise")?,
        currency: r.text("currency")?,
        segment_code: r.opt_text("segment_code")?,
        exchanged_to: r.opt_text("exchanged_to")?,
        method_code: r.text("method_code")?,
        rail: r.text("rail")?,
        operator_code: r.opt_text("operator_code")?,
        method_json: r.text("method_json")?,
        callback_url: r.opt_text("callback_url")?,
        return_url: r.opt_text("return_url")?,
        customer_ip: r.opt_text("customer_ip")?,
        scenario: r.text("scenario")?,
        status: Status::parse(&r.text("status")?).ok_or_else(|| bad("status"))?,
        failure_code: r.opt_text("failure_code")?,
        failure_message: r.opt_text("failure_message")?,
        failed_at_ms: r.opt_int("failed_at_ms")?,
        processed_at_ms: r.opt_int("processed_at_ms")?,
        external_reference: r.opt_text("external_reference")?,
        utr: r.opt_text("utr")?,
        entry_id: r.opt_int("entry_id")?,
        is_test: r.int("is_test")? != 0,
        created_at_ms: r.int("created_at_ms")?,
        expire_at_ms: r.opt_int("expire_at_ms")?,
        check_at_ms: r.opt_int("check_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// Claims the merchant order id and stores the payment; `None` when the id was taken.
/// On PostgreSQL a concurrent insert of the same id waits here for the other
/// transaction: if it commits, this one finds the id taken.
pub async fn insert_payment(db: &mut impl Conn, p: &NewPayment, now_ms: i64) -> Result<Option<i64>, SqlError> {
    let final_at = p.status.is_final().then_some(now_ms);
    let failed_at = p.failure_code.as_ref().map(|_| now_ms);
    let row = db
        .query_opt(
            "INSERT INTO echelon_payments (merchant_id, direction, order_id, id_payment, partner_id, amount_paise, \
             fee_paise, currency, segment_code, exchanged_to, method_code, rail, operator_code, method_json, callback_url, \
             return_url, customer_ip, scenario, status, failure_code, failed_at_ms, processed_at_ms, is_test, \
             created_at_ms, expire_at_ms, check_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $24) \
             ON CONFLICT (merchant_id, direction, order_id) DO NOTHING RETURNING id",
            &[
                p.merchant_id.into(),
                p.direction.as_str().into(),
                (&p.order_id).into(),
                (&p.id_payment).into(),
                p.partner_id.into(),
                p.amount_paise.into(),
                p.fee_paise.into(),
                (&p.currency).into(),
                p.segment_code.as_ref().into(),
                p.exchanged_to.as_ref().into(),
                (&p.method_code).into(),
                (&p.rail).into(),
                p.operator_code.as_ref().into(),
                (&p.method_json).into(),
                p.callback_url.as_ref().into(),
                p.return_url.as_ref().into(),
                p.customer_ip.as_ref().into(),
                (&p.scenario).into(),
                p.status.as_str().into(),
                p.failure_code.as_ref().into(),
                failed_at.into(),
                final_at.into(),
                i64::from(p.is_test).into(),
                now_ms.into(),
                p.expire_at_ms.into(),
                p.check_at_ms.into(),
            ],
        )
        .await?;
    row.map(|r| r.int("id")).transpose()
}

/// Ties a payment to its ledger entry.
pub async fn set_entry(db: &mut impl Conn, payment_id: i64, entry_id: i64) -> Result<(), SqlError> {
    db.exec("UPDATE echelon_payments SET entry_id = $2 WHERE id = $1", &[payment_id.into(), entry_id.into()]).await?;
    Ok(())
}

/// The payment with this id.
pub async fn payment_by_id(db: &mut impl Conn, id: i64) -> Result<Option<Payment>, SqlError> {
    db.query_opt(select_payment!("WHERE id = $1"), &[id.into()]).await?.as_ref().map(payment_from).transpose()
}

/// The merchant's payment with this order id and direction.
pub async fn payment(
    db: &mut impl Conn,
    merchant_id: MerchantId,
    direction: Direction,
    order_id: &str,
) -> Result<Option<Payment>, SqlError> {
    db.query_opt(
        select_payment!("WHERE merchant_id = $1 AND direction = $2 AND order_id = $3"),
        &[merchant_id.into(), direction.as_str().into(), order_id.into()],
    )
    .await?
    .as_ref()
    .map(payment_from)
    .transpose()
}

/// The payment with this `idPayment`.
pub async fn payment_by_id_payment(db: &mut impl Conn, id_payment: &str) -> Result<Option<Payment>, SqlError> {
    db.query_opt(select_payment!("WHERE id_payment = $1"), &[id_payment.into()]).await?.as_ref().map(payment_from).transpose()
}

/// Payments whose `check_at_ms` has come, oldest first, at most `limit`.
pub async fn due(db: &mut impl Conn, now_ms: i64, limit: i64) -> Result<Vec<Payment>, SqlError> {
    db.query(
        select_payment!("WHERE check_at_ms IS NOT NULL AND check_at_ms <= $1 ORDER BY check_at_ms LIMIT $2"),
        &[now_ms.into(), limit.clamp(1, 1000).into()],
    )
    .await?
    .iter()
    .map(payment_from)
    .collect()
}

/// Moves a processing payment on, only if nobody else did since it was read (its
/// `check_at_ms` is still `expect_check_at_ms`); false when someone did.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &mut impl Conn,
    payment_id: i64,
    expect_check_at_ms: i64,
    status: Status,
    failure: Option<(&str, Option<&str>)>,
    utr: Option<&str>,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE echelon_payments SET status = $3, failure_code = $4, failure_message = $5, failed_at_ms = $6, \
             processed_at_ms = $7, utr = $8, check_at_ms = NULL, updated_at_ms = $7 \
             WHERE id = $1 AND status = 'PROCESSING' AND check_at_ms = $2",
            &[
                payment_id.into(),
                expect_check_at_ms.into(),
                status.as_str().into(),
                failure.map(|f| f.0).into(),
                failure.and_then(|f| f.1).into(),
                failure.map(|_| now_ms).into(),
                now_ms.into(),
                utr.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Sets when a processing payment is looked at next (same guard as [`finish`]).
pub async fn recheck(
    db: &mut impl Conn,
    payment_id: i64,
    expect_check_at_ms: i64,
    check_at_ms: i64,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE echelon_payments SET check_at_ms = $3, updated_at_ms = $4 \
             WHERE id = $1 AND status = 'PROCESSING' AND check_at_ms = $2",
            &[payment_id.into(), expect_check_at_ms.into(), check_at_ms.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// The `scenario` of a payout recorded but not yet handed to a rail.
pub const UNSUBMITTED: &str = "unsubmitted";

/// Marks a recorded payout as taken by `rail`, next looked at `check_at_ms` (same
/// guard as [`finish`]).
pub async fn submitted(
    db: &mut impl Conn,
    payment_id: i64,
    expect_check_at_ms: i64,
    rail: &str,
    check_at_ms: i64,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE echelon_payments SET scenario = $3, check_at_ms = $4, updated_at_ms = $5 \
             WHERE id = $1 AND status = 'PROCESSING' AND check_at_ms = $2",
            &[payment_id.into(), expect_check_at_ms.into(), rail.into(), check_at_ms.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Deletes a processing payment still as it was read (same guard as [`finish`]).
pub async fn delete_processing(db: &mut impl Conn, payment_id: i64, expect_check_at_ms: i64) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "DELETE FROM echelon_payments WHERE id = $1 AND status = 'PROCESSING' AND check_at_ms = $2",
            &[payment_id.into(), expect_check_at_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Stores a merchant's external reference on its payment; false if there is none.
pub async fn set_external_reference(
    db: &mut impl Conn,
    merchant_id: MerchantId,
    order_id: &str,
    reference: &str,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE echelon_payments SET external_reference = $3, updated_at_ms = $4 \
             WHERE merchant_id = $1 AND direction = 'payin' AND order_id = $2",
            &[merchant_id.into(), order_id.into(), reference.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Counts one request in the merchant's window and returns the window's count so far.
pub async fn throttle_hit(db: &mut impl Conn, merchant_id: MerchantId, window_s: i64) -> Result<i64, SqlError> {
    db.query_one(
        "INSERT INTO echelon_throttle (merchant_id, window_s, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (merchant_id, window_s) DO UPDATE SET hits = echelon_throttle.hits + 1 RETURNING hits",
        &[merchant_id.into(), window_s.into()],
    )
    .await?
    .int("hits")
}

/// Removes windows older than `before_window_s`.
pub async fn prune_throttle(db: &mut impl Conn, before_window_s: i64) -> Result<u64, SqlError> {
    db.exec("DELETE FROM echelon_throttle WHERE window_s < $1", &[before_window_s.into()]).await
}

/// When the partner's ledger last moved (an entry recorded, posted or voided), if ever.
pub async fn last_ledger_movement(db: &mut impl Conn, partner_id: PartnerId) -> Result<Option<i64>, SqlError> {
    let resolved = db
        .query_one(
            "SELECT CAST(MAX(resolved_at_ms) AS BIGINT) AS resolved_at_ms FROM ledger_entries WHERE partner_id = $1",
            &[partner_id.into()],
        )
        .await?
        .opt_int("resolved_at_ms")?;
    let created = db
        .query_opt(
            "SELECT created_at_ms FROM ledger_entries WHERE partner_id = $1 ORDER BY id DESC LIMIT 1",
            &[partner_id.into()],
        )
        .await?
        .map(|r| r.int("created_at_ms"))
        .transpose()?;
    Ok(resolved.max(created))
}
