//! Collections' rows: UPI QR codes and their payments, CMS pages and payments.

use crate::sql::{Conn, Row, SqlError};
use kosh_core::collections::{PaymentStatus, QrBank, QrStatus};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// A QR code as the partner asks for it (references drawn by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewQr {
    /// The partner the row belongs to.
    pub partner_id: i64,
    /// The agent.
    pub user_code: i64,
    /// The agent's mobile number.
    pub sender_id: String,
    /// Which bank's path it was asked at.
    pub bank: QrBank,
    /// `None`: a static QR (any amount, any number of payments).
    pub amount: Option<Paise>,
    /// The QR's reference (`client_ref_id`), drawn by the caller.
    pub client_ref_id: String,
    /// The QR's customer account reference (`utility_acc_no`), drawn by the caller.
    pub utility_acc_no: String,
    /// The name shown to the paying customer.
    pub name: String,
    /// The agent's e-mail address; empty when not given.
    pub email: String,
}

/// A QR code as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCode {
    /// Kosh's id for the QR.
    pub id: i64,
    /// The partner the row belongs to.
    pub partner_id: i64,
    /// The agent.
    pub user_code: i64,
    /// The agent's mobile number the QR was asked for.
    pub sender_id: String,
    /// Which bank's path it was asked at.
    pub bank: QrBank,
    /// A dynamic QR's amount; `None` for a static QR.
    pub amount: Option<Paise>,
    /// The QR's reference (`tr` in its intent; the callbacks' `client_ref_id`).
    pub client_ref_id: String,
    /// The QR's customer account reference.
    pub utility_acc_no: String,
    /// The name shown to the paying customer.
    pub name: String,
    /// The agent's e-mail address; empty when not given.
    pub email: String,
    /// The VPA payments go to.
    pub vpa: String,
    /// The `upi://pay` intent the QR image encodes.
    pub qr_string: String,
    /// Where the QR stands.
    pub status: QrStatus,
    /// When the row was created.
    pub created_at_ms: i64,
}

impl QrCode {
    /// Whether it is a dynamic QR (one payment of its amount).
    pub fn is_dynamic(&self) -> bool {
        self.amount.is_some()
    }
}

fn qr_from_row(r: &Row) -> Result<QrCode, SqlError> {
    let bad = |what: String| SqlError::Decode(what);
    Ok(QrCode {
        id: r.int("id")?,
        partner_id: r.int("partner_id")?,
        user_code: r.int("user_code")?,
        sender_id: r.text("sender_id")?,
        bank: QrBank::parse(&r.text("bank")?).ok_or_else(|| bad("a QR code's bank".into()))?,
        amount: r.opt_int("amount")?.map(crate::sql::paise).transpose()?,
        client_ref_id: r.text("client_ref_id")?,
        utility_acc_no: r.text("utility_acc_no")?,
        name: r.text("name")?,
        email: r.text("email")?,
        vpa: r.text("vpa")?,
        qr_string: r.text("qr_string")?,
        status: QrStatus::from_code(r.int("status")?).ok_or_else(|| bad("a QR code's status".into()))?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// Stores a QR code, active; answers its id.
pub async fn insert_qr(db: &mut impl Conn, q: &NewQr, vpa: &str, qr_string: &str, now_ms: i64) -> Result<i64, SqlError> {
    let kind = if q.amount.is_some() { "dynamic" } else { "static" };
    db.query_one(
        "INSERT INTO qr_codes (partner_id, user_code, sender_id, bank, kind, client_ref_id, utility_acc_no, name, email, vpa, \
         amount, qr_string, status, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        &[
            q.partner_id.into(),
            q.user_code.into(),
            (&q.sender_id).into(),
            q.bank.code().into(),
            kind.into(),
            (&q.client_ref_id).into(),
            (&q.utility_acc_no).into(),
            (&q.name).into(),
            (&q.email).into(),
            vpa.into(),
            q.amount.into(),
            qr_string.into(),
            QrStatus::QrActive.code().into(),
            now_ms.into(),
        ],
    )
    .await?
    .int("id")
}

/// The partner's static QR for an agent mobile at a bank.
pub async fn static_qr(db: &mut impl Conn, partner_id: i64, sender_id: &str, bank: QrBank) -> Result<Option<QrCode>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, user_code, sender_id, bank, client_ref_id, utility_acc_no, name, email, vpa, \
             amount, qr_string, status, created_at_ms FROM qr_codes \
             WHERE partner_id = $1 AND sender_id = $2 AND bank = $3 AND kind = 'static'",
            &[partner_id.into(), sender_id.into(), bank.code().into()],
        )
        .await?;
    row.as_ref().map(qr_from_row).transpose()
}

/// The partner's QR code with this reference.
pub async fn qr_by_ref(db: &mut impl Conn, partner_id: i64, client_ref_id: &str) -> Result<Option<QrCode>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, user_code, sender_id, bank, client_ref_id, utility_acc_no, name, email, vpa, \
             amount, qr_string, status, created_at_ms FROM qr_codes WHERE partner_id = $1 AND client_ref_id = $2",
            &[partner_id.into(), client_ref_id.into()],
        )
        .await?;
    row.as_ref().map(qr_from_row).transpose()
}

/// The QR code `id`.
pub async fn qr_by_id(db: &mut impl Conn, id: i64) -> Result<Option<QrCode>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, user_code, sender_id, bank, client_ref_id, utility_acc_no, name, email, vpa, \
             amount, qr_string, status, created_at_ms FROM qr_codes WHERE id = $1",
            &[id.into()],
        )
        .await?;
    row.as_ref().map(qr_from_row).transpose()
}

/// Moves a QR from `from` to `to`; false when it was not in `from` (a concurrent change won).
pub async fn set_qr_status(db: &mut impl Conn, id: i64, from: QrStatus, to: QrStatus, now_ms: i64) -> Result<bool, SqlError> {
    let n = db
        .exec(
            "UPDATE qr_codes SET status = $1, updated_at_ms = $2 WHERE id = $3 AND status = $4",
            &[to.code().into(), now_ms.into(), id.into(), from.code().into()],
        )
        .await?;
    Ok(n == 1)
}

/// A payment to a QR code as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPayment {
    /// Kosh's transaction id.
    pub tid: i64,
    /// The partner the row belongs to.
    pub partner_id: i64,
    /// The QR paid.
    pub qr_id: i64,
    /// The agent.
    pub user_code: i64,
    /// What the customer paid.
    pub amount: Paise,
    /// The merchant discount rate charged, GST inside.
    pub fee: Paise,
    /// The GST in the fee.
    pub gst: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// The customer's VPA.
    pub payer_vpa: String,
    /// The UPI network's reference (RRN).
    pub utr: String,
    /// Initiated until settled.
    pub status: PaymentStatus,
    /// The pending ledger entry that credits the wallet, posted at settlement.
    pub entry_id: i64,
    /// When it settles (T+1).
    pub settle_at_ms: i64,
    /// When it settled.
    pub settled_at_ms: Option<i64>,
    /// When the row was created.
    pub created_at_ms: i64,
}

fn payment_from_row(r: &Row) -> Result<QrPayment, SqlError> {
    Ok(QrPayment {
        tid: r.int("tid")?,
        partner_id: r.int("partner_id")?,
        qr_id: r.int("qr_id")?,
        user_code: r.int("user_code")?,
        amount: r.paise("amount")?,
        fee: r.paise("fee")?,
        gst: r.paise("gst")?,
        commission: r.paise("commission")?,
        tds: r.paise("tds")?,
        payer_vpa: r.text("payer_vpa")?,
        utr: r.text("utr")?,
        status: PaymentStatus::from_code(r.int("tx_status")?)
            .ok_or_else(|| SqlError::Decode("a QR payment's tx_status".into()))?,
        entry_id: r.int("entry_id")?,
        settle_at_ms: r.int("settle_at_ms")?,
        settled_at_ms: r.opt_int("settled_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// Stores an accepted payment (initiated).
pub async fn insert_payment(db: &mut impl Conn, p: &QrPayment, single_use: bool) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO qr_payments (tid, partner_id, qr_id, single_use, user_code, amount, fee, gst, commission, tds, \
         payer_vpa, utr, tx_status, entry_id, settle_at_ms, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            p.tid.into(),
            p.partner_id.into(),
            p.qr_id.into(),
            i64::from(single_use).into(),
            p.user_code.into(),
            p.amount.into(),
            p.fee.into(),
            p.gst.into(),
            p.commission.into(),
            p.tds.into(),
            (&p.payer_vpa).into(),
            (&p.utr).into(),
            p.status.code().into(),
            p.entry_id.into(),
            p.settle_at_ms.into(),
            p.created_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The partner's QR payment `tid`.
pub async fn payment(db: &mut impl Conn, partner_id: i64, tid: i64) -> Result<Option<QrPayment>, SqlError> {
    let row = db
        .query_opt(
            "SELECT tid, partner_id, qr_id, user_code, amount, fee, gst, commission, tds, payer_vpa, utr, tx_status, \
             entry_id, settle_at_ms, settled_at_ms, created_at_ms FROM qr_payments WHERE partner_id = $1 AND tid = $2",
            &[partner_id.into(), tid.into()],
        )
        .await?;
    row.as_ref().map(payment_from_row).transpose()
}

/// The newest payment to the partner's QR `qr_id`.
pub async fn latest_payment(db: &mut impl Conn, partner_id: i64, qr_id: i64) -> Result<Option<QrPayment>, SqlError> {
    let row = db
        .query_opt(
            "SELECT tid, partner_id, qr_id, user_code, amount, fee, gst, commission, tds, payer_vpa, utr, tx_status, \
             entry_id, settle_at_ms, settled_at_ms, created_at_ms FROM qr_payments \
             WHERE partner_id = $1 AND qr_id = $2 ORDER BY tid DESC LIMIT 1",
            &[partner_id.into(), qr_id.into()],
        )
        .await?;
    row.as_ref().map(payment_from_row).transpose()
}

/// Payments whose settlement is due by `now_ms`, oldest first.
pub async fn due_payments(db: &mut impl Conn, now_ms: i64, limit: i64) -> Result<Vec<QrPayment>, SqlError> {
    let rows = db
        .query(
            "SELECT tid, partner_id, qr_id, user_code, amount, fee, gst, commission, tds, payer_vpa, utr, tx_status, \
             entry_id, settle_at_ms, settled_at_ms, created_at_ms FROM qr_payments \
             WHERE tx_status = 5 AND settle_at_ms <= $1 ORDER BY settle_at_ms, tid LIMIT $2",
            &[now_ms.into(), limit.into()],
        )
        .await?;
    rows.iter().map(payment_from_row).collect()
}

/// Marks an initiated payment settled; false when it was not initiated any more.
pub async fn settle_payment(db: &mut impl Conn, tid: i64, now_ms: i64) -> Result<bool, SqlError> {
    let n = db
        .exec(
            "UPDATE qr_payments SET tx_status = 0, settled_at_ms = $1 WHERE tid = $2 AND tx_status = 5",
            &[now_ms.into(), tid.into()],
        )
        .await?;
    Ok(n == 1)
}

/// The user_code of the partner's agent with this mobile number.
pub async fn agent_by_mobile(db: &mut impl Conn, partner_id: i64, mobile: &str) -> Result<Option<i64>, SqlError> {
    let row = db
        .query_opt("SELECT user_code FROM agents WHERE partner_id = $1 AND mobile = $2", &[partner_id.into(), mobile.into()])
        .await?;
    row.map(|r| r.int("user_code")).transpose()
}

/// A CMS page session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmsSession {
    /// Kosh's id for the session.
    pub id: i64,
    /// The partner that asked for the URL.
    pub partner_id: i64,
    /// The agent who pays.
    pub user_code: i64,
    /// The partner's reference of the session (and of its payment).
    pub client_ref_id: String,
    /// The agent's location, as the partner sent it.
    pub latlong: String,
    /// The page's language.
    pub locale: String,
    /// `issued` (not opened yet), `opened` or `used` (paid).
    pub state: String,
    /// When the URL stops opening.
    pub expires_at_ms: i64,
    /// When the URL was issued.
    pub created_at_ms: i64,
}

/// A CMS session as the partner asks for it (the URL's token already hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCmsSession {
    /// The partner.
    pub partner_id: i64,
    /// The agent.
    pub user_code: i64,
    /// The partner's reference.
    pub client_ref_id: String,
    /// The keyed hash of the URL's token.
    pub token_hash: String,
    /// The agent's location.
    pub latlong: String,
    /// The page's language.
    pub locale: String,
    /// When the URL stops opening.
    pub expires_at_ms: i64,
}

fn session_from_row(r: &Row) -> Result<CmsSession, SqlError> {
    Ok(CmsSession {
        id: r.int("id")?,
        partner_id: r.int("partner_id")?,
        user_code: r.int("user_code")?,
        client_ref_id: r.text("client_ref_id")?,
        latlong: r.text("latlong")?,
        locale: r.text("locale")?,
        state: r.text("state")?,
        expires_at_ms: r.int("expires_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// Stores a session, issued; answers its id.
pub async fn insert_session(db: &mut impl Conn, s: &NewCmsSession, now_ms: i64) -> Result<i64, SqlError> {
    db.query_one(
        "INSERT INTO cms_sessions (partner_id, user_code, client_ref_id, token_hash, latlong, locale, state, expires_at_ms, \
         created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'issued', $7, $8, $8) RETURNING id",
        &[
            s.partner_id.into(),
            s.user_code.into(),
            (&s.client_ref_id).into(),
            (&s.token_hash).into(),
            (&s.latlong).into(),
            (&s.locale).into(),
            s.expires_at_ms.into(),
            now_ms.into(),
        ],
    )
    .await?
    .int("id")
}

/// The session whose URL token hashes to `token_hash`.
pub async fn session_by_token_hash(db: &mut impl Conn, token_hash: &str) -> Result<Option<CmsSession>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, user_code, client_ref_id, latlong, locale, state, expires_at_ms, created_at_ms \
             FROM cms_sessions WHERE token_hash = $1",
            &[token_hash.into()],
        )
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// The session `id`.
pub async fn session(db: &mut impl Conn, id: i64) -> Result<Option<CmsSession>, SqlError> {
    let row = db
        .query_opt(
            "SELECT id, partner_id, user_code, client_ref_id, latlong, locale, state, expires_at_ms, created_at_ms \
             FROM cms_sessions WHERE id = $1",
            &[id.into()],
        )
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// Moves a session from `from` to `to`; false when it was not in `from`.
pub async fn set_session_state(db: &mut impl Conn, id: i64, from: &str, to: &str, now_ms: i64) -> Result<bool, SqlError> {
    let n = db
        .exec(
            "UPDATE cms_sessions SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4",
            &[to.into(), now_ms.into(), id.into(), from.into()],
        )
        .await?;
    Ok(n == 1)
}

/// A CMS payment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmsPayment {
    /// Kosh's transaction id.
    pub tid: i64,
    /// The partner.
    pub partner_id: i64,
    /// The page session it was made on.
    pub session_id: i64,
    /// The agent who paid.
    pub user_code: i64,
    /// The partner's reference (the session's).
    pub client_ref_id: String,
    /// The biller paid.
    pub biller_id: String,
    /// The loan or account reference.
    pub loan_reference: String,
    /// The EMI.
    pub amount: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// `initiated` (asking the partner), `approved` (the debit-hook said proceed), `success` or `failed`.
    pub state: String,
    /// Why it failed, when it did.
    pub reason: String,
    /// The ledger entry of the debit, once paid.
    pub entry_id: Option<i64>,
    /// When it was recorded.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

impl CmsPayment {
    /// Its `tx_status`: initiated until paid or failed.
    pub fn status(&self) -> PaymentStatus {
        match self.state.as_str() {
            "success" => PaymentStatus::Success,
            "failed" => PaymentStatus::Failed,
            _ => PaymentStatus::Initiated,
        }
    }
}

fn cms_payment_from_row(r: &Row) -> Result<CmsPayment, SqlError> {
    Ok(CmsPayment {
        tid: r.int("tid")?,
        partner_id: r.int("partner_id")?,
        session_id: r.int("session_id")?,
        user_code: r.int("user_code")?,
        client_ref_id: r.text("client_ref_id")?,
        biller_id: r.text("biller_id")?,
        loan_reference: r.text("loan_reference")?,
        amount: r.paise("amount")?,
        commission: r.paise("commission")?,
        tds: r.paise("tds")?,
        state: r.text("state")?,
        reason: r.text("reason")?,
        entry_id: r.opt_int("entry_id")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// Stores a payment, initiated.
pub async fn insert_cms_payment(db: &mut impl Conn, p: &CmsPayment) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO cms_payments (tid, partner_id, session_id, user_code, client_ref_id, biller_id, loan_reference, amount, \
         commission, tds, state, reason, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        &[
            p.tid.into(),
            p.partner_id.into(),
            p.session_id.into(),
            p.user_code.into(),
            (&p.client_ref_id).into(),
            (&p.biller_id).into(),
            (&p.loan_reference).into(),
            p.amount.into(),
            p.commission.into(),
            p.tds.into(),
            (&p.state).into(),
            (&p.reason).into(),
            p.created_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The CMS payment `tid` (of any partner).
pub async fn cms_payment(db: &mut impl Conn, tid: i64) -> Result<Option<CmsPayment>, SqlError> {
    let row = db
        .query_opt(
            "SELECT tid, partner_id, session_id, user_code, client_ref_id, biller_id, loan_reference, amount, commission, tds, \
             state, reason, entry_id, created_at_ms, updated_at_ms FROM cms_payments WHERE tid = $1",
            &[tid.into()],
        )
        .await?;
    row.as_ref().map(cms_payment_from_row).transpose()
}

/// The partner's newest CMS payment with this `client_ref_id`.
pub async fn cms_payment_by_ref(
    db: &mut impl Conn,
    partner_id: i64,
    client_ref_id: &str,
) -> Result<Option<CmsPayment>, SqlError> {
    let row = db
        .query_opt(
            "SELECT tid, partner_id, session_id, user_code, client_ref_id, biller_id, loan_reference, amount, commission, tds, \
             state, reason, entry_id, created_at_ms, updated_at_ms FROM cms_payments \
             WHERE partner_id = $1 AND client_ref_id = $2 ORDER BY tid DESC LIMIT 1",
            &[partner_id.into(), client_ref_id.into()],
        )
        .await?;
    row.as_ref().map(cms_payment_from_row).transpose()
}

/// Moves a payment from `from` to `to` (with `reason` and the entry, when given);
/// false when it was not in `from`.
pub async fn set_cms_state(
    db: &mut impl Conn,
    tid: i64,
    from: &str,
    to: &str,
    reason: &str,
    entry_id: Option<i64>,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let n = db
        .exec(
            "UPDATE cms_payments SET state = $1, reason = $2, entry_id = COALESCE($3, entry_id), updated_at_ms = $4 \
             WHERE tid = $5 AND state = $6",
            &[to.into(), reason.into(), entry_id.into(), now_ms.into(), tid.into(), from.into()],
        )
        .await?;
    Ok(n == 1)
}

/// Opens an issued session: from now the page lives `lifetime_ms`; false when it was
/// not issued any more (opened before).
pub async fn open_session(db: &mut impl Conn, id: i64, lifetime_ms: i64, now_ms: i64) -> Result<bool, SqlError> {
    let n = db
        .exec(
            "UPDATE cms_sessions SET state = 'opened', expires_at_ms = $1, updated_at_ms = $2 WHERE id = $3 AND state = 'issued'",
            &[(now_ms + lifetime_ms).into(), now_ms.into(), id.into()],
        )
        .await?;
    Ok(n == 1)
}
