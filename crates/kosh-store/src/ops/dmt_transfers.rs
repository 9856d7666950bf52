//! DMT transfers: one row per `POST /transactions`, keyed by the platform's `tid` and
//! unique per partner by `client_ref_id`. A transfer is found by either the instant the
//! command that recorded it commits. Status changes are conditional on the status the
//! caller saw, so racing writers (the request, the rail worker, an inquiry) apply each
//! transition once.

use crate::ops::ledger;
use crate::sql::{Conn, Dialect, Row, SqlError};
use kosh_core::dmt::{DmtChannel, TxStatus};
use kosh_core::ids::{PartnerId, RecipientId, Tid, UserCode};
use kosh_core::ledger::{AccountKind, PLATFORM};
use kosh_core::pricing::Charges;
use serde::{Deserialize, Serialize};

/// Most transfers one claim hands the rail worker.
pub const MAX_CLAIM: i64 = 256;
/// Most transfers a listing returns.
pub const MAX_LIST: i64 = 1_000;

/// A DMT transfer as stored: who sent what to whom, its charges and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Kosh's transaction id (unique across partners), shown as `tid`.
    pub tid: Tid,
    /// The partner that sent the money; its wallet paid.
    pub partner_id: PartnerId,
    /// The partner's unique reference for the transfer.
    pub client_ref_id: String,
    /// The agent at whose counter it was sent.
    pub user_code: UserCode,
    /// The sending customer's mobile number.
    pub customer_mobile: String,
    /// The sending customer's name, at the time of the transfer.
    pub sender_name: String,
    /// The recipient paid.
    pub recipient_id: RecipientId,
    /// The recipient's name, at the time of the transfer.
    pub recipient_name: String,
    /// The recipient's account number.
    pub account: String,
    /// The recipient's IFSC.
    pub ifsc: String,
    /// The recipient's bank.
    pub bank_code: String,
    /// IMPS or NEFT.
    pub channel: DmtChannel,
    /// Amount, fee, GST, commission and TDS, fixed when the transfer was recorded.
    pub charges: Charges,
    /// The pending ledger entry reserving the wallet debit.
    pub entry_id: i64,
    /// Where the transfer stands (`kosh_core::dmt::TxStatus` and its state machine).
    pub tx_status: TxStatus,
    /// Whether the rail's first answer has been applied (the partner's initial answer).
    pub answered: bool,
    /// The bank's reference (UTR), once settled.
    pub bank_ref_num: String,
    /// Why it failed, when it did.
    pub reason: String,
    /// The month whose limit counter holds the amount.
    pub limit_month: i64,
    /// When the rail should next be asked; `None` when nothing is awaited.
    pub check_at_ms: Option<i64>,
    /// The refund's transaction id, once refunded.
    pub refund_tid: Option<Tid>,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

macro_rules! columns {
    () => {
        "tid, partner_id, client_ref_id, user_code, customer_mobile, sender_name, recipient_id, recipient_name, account, \
         ifsc, bank_code, channel, amount, fee, gst, commission, tds, entry_id, tx_status, answered, bank_ref_num, reason, \
         limit_month, check_at_ms, refund_tid, created_at_ms, updated_at_ms"
    };
}

macro_rules! select_transfer {
    ($where:literal) => {
        concat!("SELECT ", columns!(), " FROM dmt_transfers WHERE ", $where)
    };
}

fn from_row(r: &Row) -> Result<Transfer, SqlError> {
    let (channel, status) = (r.int("channel")?, r.int("tx_status")?);
    Ok(Transfer {
        tid: r.id("tid")?,
        partner_id: r.id("partner_id")?,
        client_ref_id: r.text("client_ref_id")?,
        user_code: r.id("user_code")?,
        customer_mobile: r.text("customer_mobile")?,
        sender_name: r.text("sender_name")?,
        recipient_id: r.id("recipient_id")?,
        recipient_name: r.text("recipient_name")?,
        account: r.text("account")?,
        ifsc: r.text("ifsc")?,
        bank_code: r.text("bank_code")?,
        channel: DmtChannel::from_code(channel).ok_or_else(|| SqlError::Decode(format!("unknown channel {channel}")))?,
        charges: Charges {
            amount_paise: r.paise("amount")?,
            fee_paise: r.paise("fee")?,
            gst_paise: r.paise("gst")?,
            commission_paise: r.paise("commission")?,
            tds_paise: r.paise("tds")?,
        },
        entry_id: r.int("entry_id")?,
        tx_status: TxStatus::from_code(status).ok_or_else(|| SqlError::Decode(format!("unknown tx_status {status}")))?,
        answered: r.int("answered")? != 0,
        bank_ref_num: r.text("bank_ref_num")?,
        reason: r.text("reason")?,
        limit_month: r.int("limit_month")?,
        check_at_ms: r.opt_int("check_at_ms")?,
        refund_tid: r.opt_id("refund_tid")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// The ids of a transfer's ledger accounts, in one query: the partner's wallet and the
/// platform's clearing (for `rail`), fee revenue, GST payable and TDS payable accounts,
/// in that order. An account never used before is created.
pub async fn ledger_accounts(
    db: &mut impl Conn,
    partner_id: PartnerId,
    rail: &'static str,
    now_ms: i64,
) -> Result<[i64; 5], SqlError> {
    let kinds = [
        (partner_id.get(), AccountKind::PartnerWallet),
        (PLATFORM, AccountKind::RailClearing { rail }),
        (PLATFORM, AccountKind::FeeRevenue),
        (PLATFORM, AccountKind::GstPayable),
        (PLATFORM, AccountKind::TdsPayable),
    ];
    let codes = kinds.each_ref().map(|(_, kind)| kind.code());
    let cached = db.account_cache().map(|c| std::array::from_fn::<_, 5, _>(|i| c.id(kinds[i].0, &codes[i])));
    if let Some([Some(wallet), Some(clearing), Some(revenue), Some(gst), Some(tds)]) = cached {
        return Ok([wallet, clearing, revenue, gst, tds]);
    }
    let rows = db
        .query(
            "SELECT owner_id, code, id FROM ledger_accounts WHERE (owner_id = $1 AND code = $2)              OR (owner_id = $3 AND code IN ($4, $5, $6, $7))",
            &[
                partner_id.into(),
                (&codes[0]).into(),
                PLATFORM.into(),
                (&codes[1]).into(),
                (&codes[2]).into(),
                (&codes[3]).into(),
                (&codes[4]).into(),
            ],
        )
        .await?;
    let mut ids = [0; 5];
    for (i, (owner, kind)) in kinds.iter().enumerate() {
        let found = rows
            .iter()
            .find(|r| r.int("owner_id").ok() == Some(*owner) && r.text("code").ok().as_deref() == Some(codes[i].as_str()));
        ids[i] = match found {
            Some(row) => row.int("id")?,
            None => ledger::account(db, *owner, kind, now_ms).await?,
        };
        if let Some(cache) = db.account_cache() {
            cache.remember(*owner, &codes[i], ids[i], kind.limit());
        }
    }
    Ok(ids)
}

/// A fresh platform transaction id (for transfers and refunds alike). PostgreSQL uses a
/// sequence, which never blocks; SQLite's single writer makes a counter row just as good.
pub async fn next_tid(db: &mut impl Conn) -> Result<Tid, SqlError> {
    let row = match db.dialect() {
        Dialect::Postgres => db.query_one("SELECT nextval('dmt_tid') AS value", &[]).await?,
        Dialect::Sqlite => {
            db.query_one("UPDATE counters SET value = value + 1 WHERE name = 'dmt_tid' RETURNING value", &[]).await?
        }
    };
    row.id("value")
}

/// Inserts a transfer.
pub async fn insert(db: &mut impl Conn, t: &Transfer) -> Result<(), SqlError> {
    let c = &t.charges;
    db.exec(
        concat!(
            "INSERT INTO dmt_transfers (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26, $27)"
        ),
        &[
            t.tid.into(),
            t.partner_id.into(),
            (&t.client_ref_id).into(),
            t.user_code.into(),
            (&t.customer_mobile).into(),
            (&t.sender_name).into(),
            t.recipient_id.into(),
            (&t.recipient_name).into(),
            (&t.account).into(),
            (&t.ifsc).into(),
            (&t.bank_code).into(),
            t.channel.code().into(),
            c.amount_paise.into(),
            c.fee_paise.into(),
            c.gst_paise.into(),
            c.commission_paise.into(),
            c.tds_paise.into(),
            t.entry_id.into(),
            t.tx_status.code().into(),
            i64::from(t.answered).into(),
            (&t.bank_ref_num).into(),
            (&t.reason).into(),
            t.limit_month.into(),
            t.check_at_ms.into(),
            t.refund_tid.into(),
            t.created_at_ms.into(),
            t.updated_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The partner's transfer `tid`.
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> Result<Option<Transfer>, SqlError> {
    let row = db.query_opt(select_transfer!("partner_id = $1 AND tid = $2"), &[partner_id.into(), tid.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// The partner's transfer with this `client_ref_id`.
pub async fn by_client_ref(db: &mut impl Conn, partner_id: PartnerId, client_ref_id: &str) -> Result<Option<Transfer>, SqlError> {
    let sql = select_transfer!("partner_id = $1 AND client_ref_id = $2");
    let row = db.query_opt(sql, &[partner_id.into(), client_ref_id.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// The partner's transfers, oldest first, at most [`MAX_LIST`] from `after_tid`.
pub async fn list(db: &mut impl Conn, partner_id: PartnerId, after_tid: Tid) -> Result<Vec<Transfer>, SqlError> {
    let sql = select_transfer!("partner_id = $1 AND tid > $2 ORDER BY tid LIMIT $3");
    db.query(sql, &[partner_id.into(), after_tid.into(), MAX_LIST.into()]).await?.iter().map(from_row).collect()
}

/// Writes `t`'s changeable fields, if the stored transfer is still in `from`. `false`:
/// another writer changed it first.
pub async fn update(db: &mut impl Conn, t: &Transfer, from: TxStatus) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE dmt_transfers SET tx_status = $3, answered = $4, bank_ref_num = $5, reason = $6, check_at_ms = $7, \
             refund_tid = $8, updated_at_ms = $9 WHERE tid = $1 AND tx_status = $2",
            &[
                t.tid.into(),
                from.code().into(),
                t.tx_status.code().into(),
                i64::from(t.answered).into(),
                (&t.bank_ref_num).into(),
                (&t.reason).into(),
                t.check_at_ms.into(),
                t.refund_tid.into(),
                t.updated_at_ms.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Whether any transfer's time to ask the rail has come (a read, so an idle worker
/// round costs no write transaction).
pub async fn any_due(db: &mut impl Conn, now_ms: i64) -> Result<bool, SqlError> {
    Ok(db.query_opt("SELECT tid FROM dmt_transfers WHERE check_at_ms <= $1 LIMIT 1", &[now_ms.into()]).await?.is_some())
}

/// Claims up to `limit` transfers whose `check_at_ms` is due: each is leased until
/// `lease_until_ms` (its `check_at_ms` moves there), so another worker, on this node or
/// another, does not ask the rail about it meanwhile. A worker that dies mid-way only
/// delays the transfer until the lease ends.
pub async fn claim_due(db: &mut impl Conn, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<Transfer>, SqlError> {
    let params = [now_ms.into(), lease_until_ms.into(), limit.clamp(1, MAX_CLAIM).into()];
    let rows = match db.dialect() {
        Dialect::Postgres => {
            const SQL: &str = concat!(
                "UPDATE dmt_transfers SET check_at_ms = $2 WHERE tid IN (SELECT tid FROM dmt_transfers \
                 WHERE check_at_ms <= $1 ORDER BY check_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
                columns!()
            );
            db.query(SQL, &params).await?
        }
        Dialect::Sqlite => {
            const SQL: &str = concat!(
                "UPDATE dmt_transfers SET check_at_ms = $2 WHERE tid IN (SELECT tid FROM dmt_transfers \
                 WHERE check_at_ms <= $1 ORDER BY check_at_ms LIMIT $3) RETURNING ",
                columns!()
            );
            db.query(SQL, &params).await?
        }
    };
    rows.iter().map(from_row).collect()
}
