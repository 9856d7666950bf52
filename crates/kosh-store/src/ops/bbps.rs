//! Bill payments: the bills partners fetched, and payments (`bbps_payments`), keyed by
//! the platform's `tid` and unique per partner by `client_ref_id`. Status changes are
//! conditional on the status the caller saw, so racing writers (the request, the
//! worker, an inquiry) apply each transition once.

use crate::sql::{Conn, Dialect, Row, SqlError};
use kosh_core::bbps::PaymentKind;
use kosh_core::dmt::TxStatus;
use kosh_core::ids::{PartnerId, RecipientId, Tid, UserCode};
use kosh_core::money::Paise;
use kosh_core::pricing::Charges;
use serde::{Deserialize, Serialize};

/// Most payments one claim hands the worker.
pub const MAX_CLAIM: i64 = 256;

/// A bill as fetched from its biller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// The bill's id.
    pub bill_id: i64,
    /// The partner the row belongs to (`partners.id`).
    pub partner_id: PartnerId,
    /// The biller (`operator_id` of the catalogue).
    pub operator_id: i64,
    /// The account the bill belongs to, as the partner sent it.
    pub utility_acc_no: String,
    /// The amount, in paise.
    pub amount_paise: Paise,
    /// The customer's name as the biller has it.
    pub customer_name: String,
    /// The biller's bill number.
    pub bill_number: String,
    /// As the biller prints it (`dd-MM-yyyy`).
    pub bill_date: String,
    /// When the bill falls due, as the biller prints it.
    pub due_date: String,
    /// The BBPS reference of the fetch (`bbpstrxnrefid`).
    pub biller_reference: String,
    /// The opaque `billfetchresponse` the partner pays it by.
    pub fetch_token: String,
    /// When the bill was fetched (ms since the epoch).
    pub fetched_at_ms: i64,
    /// The payment that paid it, if one did (and did not fail).
    pub paid_tid: Option<Tid>,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Kosh's transaction id (unique across partners), shown as `tid`.
    pub tid: Tid,
    /// The partner the row belongs to (`partners.id`).
    pub partner_id: PartnerId,
    /// The partner's unique reference.
    pub client_ref_id: String,
    /// The agent at whose counter it was paid (0: none named).
    pub user_code: UserCode,
    /// A catalogue bill or a credit-card bill.
    pub kind: PaymentKind,
    /// The biller (`operator_id` of the catalogue).
    pub operator_id: i64,
    /// The biller's name at the time of the payment.
    pub operator_name: String,
    /// The account the bill belongs to, as the partner sent it.
    pub utility_acc_no: String,
    /// The customer's mobile number.
    pub customer_mobile: String,
    /// The customer's name.
    pub sender_name: String,
    /// The DMT recipient a credit-card bill was paid to.
    pub recipient_id: Option<RecipientId>,
    /// The fetched bill it pays, when its operator fetches.
    pub bill_id: Option<i64>,
    /// The fetched bill's number (empty without a bill).
    pub bill_number: String,
    /// The fetched bill's date (empty without a bill).
    pub bill_date: String,
    /// The customer's name on the fetched bill (empty without a bill).
    pub bill_customer_name: String,
    /// The offline (high-commission) channel.
    pub hc_channel: bool,
    /// Amount, fee, GST, commission and TDS, fixed when the payment was recorded.
    pub charges: Charges,
    /// The pending ledger entry; `None` when the payment was refused before any debit.
    pub entry_id: Option<i64>,
    /// Where the payment stands (see `kosh_core::bbps`).
    pub tx_status: TxStatus,
    /// Whether the biller's first answer has been applied.
    pub answered: bool,
    /// The biller's (BBPS) reference, once paid.
    pub biller_reference: String,
    /// Why it failed, when it did.
    pub reason: String,
    /// When the biller should next be asked; `None` when nothing is awaited.
    pub check_at_ms: Option<i64>,
    /// When the row was created (ms since the epoch).
    pub created_at_ms: i64,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

macro_rules! bill_columns {
    () => {
        "bill_id, partner_id, operator_id, utility_acc_no, amount, customer_name, bill_number, bill_date, due_date, \
         biller_reference, fetch_token, fetched_at_ms, paid_tid"
    };
}

macro_rules! payment_columns {
    () => {
        "tid, partner_id, client_ref_id, user_code, kind, operator_id, operator_name, utility_acc_no, customer_mobile, \
         sender_name, recipient_id, bill_id, bill_number, bill_date, bill_customer_name, hc_channel, amount, fee, gst, commission, tds, entry_id, tx_status, answered, \
         biller_reference, reason, check_at_ms, created_at_ms, updated_at_ms"
    };
}

fn bill_from_row(r: &Row) -> Result<Bill, SqlError> {
    Ok(Bill {
        bill_id: r.int("bill_id")?,
        partner_id: r.id("partner_id")?,
        operator_id: r.int("operator_id")?,
        utility_acc_no: r.text("utility_acc_no")?,
        amount_paise: r.paise("amount")?,
        customer_name: r.text("customer_name")?,
        bill_number: r.text("bill_number")?,
        bill_date: r.text("bill_date")?,
        due_date: r.text("due_date")?,
        biller_reference: r.text("biller_reference")?,
        fetch_token: r.text("fetch_token")?,
        fetched_at_ms: r.int("fetched_at_ms")?,
        paid_tid: r.opt_id("paid_tid")?,
    })
}

fn payment_from_row(r: &Row) -> Result<Payment, SqlError> {
    let (kind, status) = (r.text("kind")?, r.int("tx_status")?);
    Ok(Payment {
        tid: r.id("tid")?,
        partner_id: r.id("partner_id")?,
        client_ref_id: r.text("client_ref_id")?,
        user_code: r.id("user_code")?,
        kind: PaymentKind::from_code(&kind).ok_or_else(|| SqlError::Decode(format!("unknown payment kind {kind}")))?,
        operator_id: r.int("operator_id")?,
        operator_name: r.text("operator_name")?,
        utility_acc_no: r.text("utility_acc_no")?,
        customer_mobile: r.text("customer_mobile")?,
        sender_name: r.text("sender_name")?,
        recipient_id: r.opt_id("recipient_id")?,
        bill_id: r.opt_int("bill_id")?,
        bill_number: r.text("bill_number")?,
        bill_date: r.text("bill_date")?,
        bill_customer_name: r.text("bill_customer_name")?,
        hc_channel: r.int("hc_channel")? != 0,
        charges: Charges {
            amount_paise: r.paise("amount")?,
            fee_paise: r.paise("fee")?,
            gst_paise: r.paise("gst")?,
            commission_paise: r.paise("commission")?,
            tds_paise: r.paise("tds")?,
        },
        entry_id: r.opt_int("entry_id")?,
        tx_status: TxStatus::from_code(status).ok_or_else(|| SqlError::Decode(format!("unknown tx_status {status}")))?,
        answered: r.int("answered")? != 0,
        biller_reference: r.text("biller_reference")?,
        reason: r.text("reason")?,
        check_at_ms: r.opt_int("check_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// Records a fetched bill; answers its id.
pub async fn insert_bill(db: &mut impl Conn, b: &Bill) -> Result<i64, SqlError> {
    let row = db
        .query_one(
            "INSERT INTO bbps_bills (partner_id, operator_id, utility_acc_no, amount, customer_name, bill_number, bill_date, \
             due_date, biller_reference, fetch_token, fetched_at_ms, paid_tid) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING bill_id",
            &[
                b.partner_id.into(),
                b.operator_id.into(),
                (&b.utility_acc_no).into(),
                b.amount_paise.into(),
                (&b.customer_name).into(),
                (&b.bill_number).into(),
                (&b.bill_date).into(),
                (&b.due_date).into(),
                (&b.biller_reference).into(),
                (&b.fetch_token).into(),
                b.fetched_at_ms.into(),
                b.paid_tid.into(),
            ],
        )
        .await?;
    row.int("bill_id")
}

/// The latest bill fetched for the account.
pub async fn latest_bill(
    db: &mut impl Conn,
    partner_id: PartnerId,
    operator_id: i64,
    account: &str,
) -> Result<Option<Bill>, SqlError> {
    let sql = concat!(
        "SELECT ",
        bill_columns!(),
        " FROM bbps_bills WHERE partner_id = $1 AND operator_id = $2 AND utility_acc_no = $3 ORDER BY bill_id DESC LIMIT 1"
    );
    let row = db.query_opt(sql, &[partner_id.into(), operator_id.into(), account.into()]).await?;
    row.as_ref().map(bill_from_row).transpose()
}

/// A paid bill of the account with this bill number (a re-fetch of a bill already paid).
pub async fn paid_bill(
    db: &mut impl Conn,
    partner_id: PartnerId,
    operator_id: i64,
    account: &str,
    bill_number: &str,
) -> Result<Option<Bill>, SqlError> {
    let sql = concat!(
        "SELECT ",
        bill_columns!(),
        " FROM bbps_bills WHERE partner_id = $1 AND operator_id = $2 AND utility_acc_no = $3 AND bill_number = $4 \
         AND paid_tid IS NOT NULL ORDER BY bill_id DESC LIMIT 1"
    );
    let row = db.query_opt(sql, &[partner_id.into(), operator_id.into(), account.into(), bill_number.into()]).await?;
    row.as_ref().map(bill_from_row).transpose()
}

/// The partner's bill with this `billfetchresponse`.
pub async fn bill_by_token(db: &mut impl Conn, partner_id: PartnerId, token: &str) -> Result<Option<Bill>, SqlError> {
    let sql = concat!("SELECT ", bill_columns!(), " FROM bbps_bills WHERE partner_id = $1 AND fetch_token = $2");
    let row = db.query_opt(sql, &[partner_id.into(), token.into()]).await?;
    row.as_ref().map(bill_from_row).transpose()
}

/// Marks the bill paid by `tid`, if no payment holds it. `false`: another payment does.
pub async fn claim_bill(db: &mut impl Conn, bill_id: i64, tid: Tid) -> Result<bool, SqlError> {
    let changed = db
        .exec("UPDATE bbps_bills SET paid_tid = $2 WHERE bill_id = $1 AND paid_tid IS NULL", &[bill_id.into(), tid.into()])
        .await?;
    Ok(changed == 1)
}

/// Frees the bill a failed payment held, so it can be paid again.
pub async fn release_bill(db: &mut impl Conn, bill_id: i64, tid: Tid) -> Result<(), SqlError> {
    db.exec("UPDATE bbps_bills SET paid_tid = NULL WHERE bill_id = $1 AND paid_tid = $2", &[bill_id.into(), tid.into()]).await?;
    Ok(())
}

/// A fresh platform transaction id for a payment. PostgreSQL uses a sequence, which
/// never blocks; SQLite's single writer makes a counter row just as good.
pub async fn next_tid(db: &mut impl Conn) -> Result<Tid, SqlError> {
    let row = match db.dialect() {
        Dialect::Postgres => db.query_one("SELECT nextval('bbps_tid') AS value", &[]).await?,
        Dialect::Sqlite => {
            db.query_one("UPDATE counters SET value = value + 1 WHERE name = 'bbps_tid' RETURNING value", &[]).await?
        }
    };
    row.id("value")
}

/// Inserts a payment.
pub async fn insert(db: &mut impl Conn, p: &Payment) -> Result<(), SqlError> {
    let c = &p.charges;
    db.exec(
        concat!(
            "INSERT INTO bbps_payments (",
            payment_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26, $27, $28, $29)"
        ),
        &[
            p.tid.into(),
            p.partner_id.into(),
            (&p.client_ref_id).into(),
            p.user_code.into(),
            p.kind.code().into(),
            p.operator_id.into(),
            (&p.operator_name).into(),
            (&p.utility_acc_no).into(),
            (&p.customer_mobile).into(),
            (&p.sender_name).into(),
            p.recipient_id.into(),
            p.bill_id.into(),
            (&p.bill_number).into(),
            (&p.bill_date).into(),
            (&p.bill_customer_name).into(),
            i64::from(p.hc_channel).into(),
            c.amount_paise.into(),
            c.fee_paise.into(),
            c.gst_paise.into(),
            c.commission_paise.into(),
            c.tds_paise.into(),
            p.entry_id.into(),
            p.tx_status.code().into(),
            i64::from(p.answered).into(),
            (&p.biller_reference).into(),
            (&p.reason).into(),
            p.check_at_ms.into(),
            p.created_at_ms.into(),
            p.updated_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The partner's payment `tid`.
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> Result<Option<Payment>, SqlError> {
    let sql = concat!("SELECT ", payment_columns!(), " FROM bbps_payments WHERE partner_id = $1 AND tid = $2");
    let row = db.query_opt(sql, &[partner_id.into(), tid.into()]).await?;
    row.as_ref().map(payment_from_row).transpose()
}

/// The partner's payment with this `client_ref_id`.
pub async fn by_client_ref(db: &mut impl Conn, partner_id: PartnerId, client_ref_id: &str) -> Result<Option<Payment>, SqlError> {
    let sql = concat!("SELECT ", payment_columns!(), " FROM bbps_payments WHERE partner_id = $1 AND client_ref_id = $2");
    let row = db.query_opt(sql, &[partner_id.into(), client_ref_id.into()]).await?;
    row.as_ref().map(payment_from_row).transpose()
}

/// Writes `p`'s changeable fields, if the stored payment is still in `from`. `false`:
/// another writer changed it first.
pub async fn update(db: &mut impl Conn, p: &Payment, from: TxStatus) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE bbps_payments SET tx_status = $3, answered = $4, biller_reference = $5, reason = $6, check_at_ms = $7, \
             updated_at_ms = $8 WHERE tid = $1 AND tx_status = $2",
            &[
                p.tid.into(),
                from.code().into(),
                p.tx_status.code().into(),
                i64::from(p.answered).into(),
                (&p.biller_reference).into(),
                (&p.reason).into(),
                p.check_at_ms.into(),
                p.updated_at_ms.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Whether any payment's time to ask the biller has come (a read, so an idle worker
/// round costs no write transaction).
pub async fn any_due(db: &mut impl Conn, now_ms: i64) -> Result<bool, SqlError> {
    Ok(db.query_opt("SELECT tid FROM bbps_payments WHERE check_at_ms <= $1 LIMIT 1", &[now_ms.into()]).await?.is_some())
}

/// Claims up to `limit` payments whose `check_at_ms` is due, leasing each until
/// `lease_until_ms` (its `check_at_ms` moves there) so no other worker asks about it
/// meanwhile.
pub async fn claim_due(db: &mut impl Conn, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<Payment>, SqlError> {
    let params = [now_ms.into(), lease_until_ms.into(), limit.clamp(1, MAX_CLAIM).into()];
    let rows = match db.dialect() {
        Dialect::Postgres => {
            const SQL: &str = concat!(
                "UPDATE bbps_payments SET check_at_ms = $2 WHERE tid IN (SELECT tid FROM bbps_payments \
                 WHERE check_at_ms <= $1 ORDER BY check_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
                payment_columns!()
            );
            db.query(SQL, &params).await?
        }
        Dialect::Sqlite => {
            const SQL: &str = concat!(
                "UPDATE bbps_payments SET check_at_ms = $2 WHERE tid IN (SELECT tid FROM bbps_payments \
                 WHERE check_at_ms <= $1 ORDER BY check_at_ms LIMIT $3) RETURNING ",
                payment_columns!()
            );
            db.query(SQL, &params).await?
        }
    };
    rows.iter().map(payment_from_row).collect()
}
