//! Payout orders: one row per fund transfer or UPI payment, keyed by the platform's
//! `tid` and unique per partner by `client_ref_id`. Status changes are conditional on
//! the status (and answer) the caller saw, so racing writers (the request, the payout
//! worker, an inquiry) apply each transition once.

use crate::ops::agents;
use crate::sql::{Conn, Dialect, Row, SqlError};
use kosh_core::dmt::TxStatus;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::payouts::PaymentMode;
use serde::{Deserialize, Serialize};

/// Most orders one claim hands the payout worker.
pub const MAX_CLAIM: i64 = 256;

/// A payout as stored: what goes to whom, its charges and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutOrder {
    /// Kosh's transaction id (unique across partners and products).
    pub tid: i64,
    /// The partner whose wallet pays.
    pub partner_id: PartnerId,
    /// The partner's unique reference.
    pub client_ref_id: String,
    /// The agent it was made for; 0 when the partner paid for itself.
    pub user_code: UserCode,
    /// 45 (payout, UPI payment) or 39 (AePS fund settlement).
    pub service_code: u16,
    /// The settlement account paid, for a settlement.
    pub recipient_id: Option<i64>,
    /// NEFT, IMPS, RTGS or UPI.
    pub mode: PaymentMode,
    /// What the beneficiary gets, in paise.
    pub amount_paise: i64,
    /// The fee, GST included, in paise.
    pub fee_paise: i64,
    /// The GST part of the fee, in paise.
    pub gst_paise: i64,
    /// The beneficiary's name.
    pub recipient_name: String,
    /// The beneficiary's account number, or VPA for UPI.
    pub account: String,
    /// The beneficiary's IFSC; empty for UPI.
    pub ifsc: String,
    /// The sender's name as the partner gave it.
    pub sender_name: String,
    /// The payment's purpose as the partner gave it.
    pub tag: String,
    /// 1 savings, 2 current, when given.
    pub account_type: Option<i64>,
    /// The pending ledger entry reserving the wallet debit.
    pub entry_id: i64,
    /// Where it stands (`kosh_core::dmt::TxStatus` codes, as the Eko wire has them).
    pub tx_status: TxStatus,
    /// Whether the rail's first answer has been applied.
    pub answered: bool,
    /// The bank's reference (UTR), once settled.
    pub bank_ref_num: String,
    /// Why it failed, when it did.
    pub reason: String,
    /// When the rail should next be asked; `None` when nothing is awaited.
    pub check_at_ms: Option<i64>,
    /// When it was recorded (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

impl PayoutOrder {
    /// What the wallet is debited: amount and fee.
    pub fn debit_paise(&self) -> i64 {
        self.amount_paise + self.fee_paise
    }
}

macro_rules! columns {
    () => {
        "tid, partner_id, client_ref_id, user_code, service_code, recipient_id, mode, amount, fee, gst, recipient_name, account, ifsc, sender_name, tag, \
         account_type, entry_id, tx_status, answered, bank_ref_num, reason, check_at_ms, created_at_ms, updated_at_ms"
    };
}

macro_rules! select_order {
    ($where:literal) => {
        concat!("SELECT ", columns!(), " FROM payout_orders WHERE ", $where)
    };
}

fn from_row(r: &Row) -> Result<PayoutOrder, SqlError> {
    let (mode, status) = (r.text("mode")?, r.int("tx_status")?);
    Ok(PayoutOrder {
        tid: r.int("tid")?,
        partner_id: r.id("partner_id")?,
        client_ref_id: r.text("client_ref_id")?,
        user_code: r.id("user_code")?,
        service_code: u16::try_from(r.int("service_code")?).map_err(|e| SqlError::Decode(format!("service_code: {e}")))?,
        recipient_id: r.opt_int("recipient_id")?,
        mode: PaymentMode::from_rail_name(&mode).ok_or_else(|| SqlError::Decode(format!("unknown payout mode {mode}")))?,
        amount_paise: r.int("amount")?,
        fee_paise: r.int("fee")?,
        gst_paise: r.int("gst")?,
        recipient_name: r.text("recipient_name")?,
        account: r.text("account")?,
        ifsc: r.text("ifsc")?,
        sender_name: r.text("sender_name")?,
        tag: r.text("tag")?,
        account_type: r.opt_int("account_type")?,
        entry_id: r.int("entry_id")?,
        tx_status: TxStatus::from_code(status).ok_or_else(|| SqlError::Decode(format!("unknown tx_status {status}")))?,
        answered: r.int("answered")? != 0,
        bank_ref_num: r.text("bank_ref_num")?,
        reason: r.text("reason")?,
        check_at_ms: r.opt_int("check_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// A fresh payout tid, from the `payout_tid` counter (its values are disjoint from
/// every other product's tids, so one inquiry can look a tid up everywhere).
pub async fn next_tid(db: &mut impl Conn) -> Result<i64, SqlError> {
    agents::next_counter(db, "payout_tid").await
}

/// Inserts an order.
pub async fn insert(db: &mut impl Conn, o: &PayoutOrder) -> Result<(), SqlError> {
    db.exec(
        concat!(
            "INSERT INTO payout_orders (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
        ),
        &[
            o.tid.into(),
            o.partner_id.into(),
            (&o.client_ref_id).into(),
            o.user_code.into(),
            i64::from(o.service_code).into(),
            o.recipient_id.into(),
            o.mode.rail_name().into(),
            o.amount_paise.into(),
            o.fee_paise.into(),
            o.gst_paise.into(),
            (&o.recipient_name).into(),
            (&o.account).into(),
            (&o.ifsc).into(),
            (&o.sender_name).into(),
            (&o.tag).into(),
            o.account_type.into(),
            o.entry_id.into(),
            o.tx_status.code().into(),
            i64::from(o.answered).into(),
            (&o.bank_ref_num).into(),
            (&o.reason).into(),
            o.check_at_ms.into(),
            o.created_at_ms.into(),
            o.updated_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The partner's payout `tid`.
pub async fn get(db: &mut impl Conn, partner_id: PartnerId, tid: i64) -> Result<Option<PayoutOrder>, SqlError> {
    let row = db.query_opt(select_order!("partner_id = $1 AND tid = $2"), &[partner_id.into(), tid.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// The partner's payout with this `client_ref_id`.
pub async fn by_client_ref(
    db: &mut impl Conn,
    partner_id: PartnerId,
    client_ref_id: &str,
) -> Result<Option<PayoutOrder>, SqlError> {
    let sql = select_order!("partner_id = $1 AND client_ref_id = $2");
    let row = db.query_opt(sql, &[partner_id.into(), client_ref_id.into()]).await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes `o`'s changeable fields, if the stored order is still in `from` with the
/// same `answered`. `false`: another writer changed it first.
pub async fn update(db: &mut impl Conn, o: &PayoutOrder, from: TxStatus, was_answered: bool) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE payout_orders SET tx_status = $3, answered = $4, bank_ref_num = $5, reason = $6, check_at_ms = $7, \
             updated_at_ms = $8 WHERE tid = $1 AND tx_status = $2 AND answered = $9",
            &[
                o.tid.into(),
                from.code().into(),
                o.tx_status.code().into(),
                i64::from(o.answered).into(),
                (&o.bank_ref_num).into(),
                (&o.reason).into(),
                o.check_at_ms.into(),
                o.updated_at_ms.into(),
                i64::from(was_answered).into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Whether any order's time to ask the rail has come (a read, so an idle worker round
/// costs no write transaction).
pub async fn any_due(db: &mut impl Conn, now_ms: i64) -> Result<bool, SqlError> {
    Ok(db.query_opt("SELECT tid FROM payout_orders WHERE check_at_ms <= $1 LIMIT 1", &[now_ms.into()]).await?.is_some())
}

/// Claims up to `limit` due orders, each leased until `lease_until_ms` (its
/// `check_at_ms` moves there), so no other worker asks the rail about it meanwhile.
pub async fn claim_due(db: &mut impl Conn, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<PayoutOrder>, SqlError> {
    let params = [now_ms.into(), lease_until_ms.into(), limit.clamp(1, MAX_CLAIM).into()];
    let rows = match db.dialect() {
        Dialect::Postgres => {
            const SQL: &str = concat!(
                "UPDATE payout_orders SET check_at_ms = $2 WHERE tid IN (SELECT tid FROM payout_orders \
                 WHERE check_at_ms <= $1 ORDER BY check_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
                columns!()
            );
            db.query(SQL, &params).await?
        }
        Dialect::Sqlite => {
            const SQL: &str = concat!(
                "UPDATE payout_orders SET check_at_ms = $2 WHERE tid IN (SELECT tid FROM payout_orders \
                 WHERE check_at_ms <= $1 ORDER BY check_at_ms LIMIT $3) RETURNING ",
                columns!()
            );
            db.query(SQL, &params).await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// An agent's bank account for AePS fund settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementAccount {
    /// Its id, shown as `recipient_id`.
    pub recipient_id: i64,
    /// The partner of the agent.
    pub partner_id: PartnerId,
    /// The agent.
    pub user_code: UserCode,
    /// The bank, as the partner named it (`bank_id`).
    pub bank_id: String,
    /// The account number.
    pub account: String,
    /// The branch IFSC.
    pub ifsc: String,
    /// The account holder's name.
    pub name: String,
    /// The bank statement uploaded with it (file name and size), or empty.
    pub document: String,
    /// When it was added.
    pub created_at_ms: i64,
}

macro_rules! account_columns {
    () => {
        "recipient_id, partner_id, user_code, bank_id, account, ifsc, name, document, created_at_ms"
    };
}

fn account_from_row(r: &Row) -> Result<SettlementAccount, SqlError> {
    Ok(SettlementAccount {
        recipient_id: r.int("recipient_id")?,
        partner_id: r.id("partner_id")?,
        user_code: r.id("user_code")?,
        bank_id: r.text("bank_id")?,
        account: r.text("account")?,
        ifsc: r.text("ifsc")?,
        name: r.text("name")?,
        document: r.text("document")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// Adds a settlement account; `None` when the agent has it already.
pub async fn insert_account(db: &mut impl Conn, a: &SettlementAccount) -> Result<Option<SettlementAccount>, SqlError> {
    const SQL: &str = concat!(
        "INSERT INTO payout_settlement_accounts (partner_id, user_code, bank_id, account, ifsc, name, document, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partner_id, user_code, account, ifsc) DO NOTHING RETURNING ",
        account_columns!()
    );
    let params = [
        a.partner_id.into(),
        a.user_code.into(),
        (&a.bank_id).into(),
        (&a.account).into(),
        (&a.ifsc).into(),
        (&a.name).into(),
        (&a.document).into(),
        a.created_at_ms.into(),
    ];
    db.query_opt(SQL, &params).await?.as_ref().map(account_from_row).transpose()
}

/// The agent's settlement accounts, oldest first.
pub async fn accounts(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
) -> Result<Vec<SettlementAccount>, SqlError> {
    const SQL: &str = concat!(
        "SELECT ",
        account_columns!(),
        " FROM payout_settlement_accounts WHERE partner_id = $1 AND user_code = $2 ORDER BY recipient_id"
    );
    db.query(SQL, &[partner_id.into(), user_code.into()]).await?.iter().map(account_from_row).collect()
}

/// AePS cash withdrawals of the agent that succeeded since `since_ms`, and its
/// settlements since then that did not fail, in paise: what the settleable amount is
/// computed from.
pub async fn settlement_totals(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    since_ms: i64,
) -> Result<(i64, i64), SqlError> {
    let business = db
        .query_one(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM aeps_transactions \
             WHERE partner_id = $1 AND user_code = $2 AND tx_type = 2 AND tx_status = 0 AND created_at_ms >= $3",
            &[partner_id.into(), user_code.into(), since_ms.into()],
        )
        .await?
        .int("total")?;
    let settled = db
        .query_one(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM payout_orders \
             WHERE partner_id = $1 AND user_code = $2 AND service_code = 39 AND tx_status NOT IN (1, 4) AND created_at_ms >= $3",
            &[partner_id.into(), user_code.into(), since_ms.into()],
        )
        .await?
        .int("total")?;
    Ok((business, settled))
}

/// The `user_code` of the partner's agent with this mobile number (the settlement
/// account balance names an agent's wallet by it).
pub async fn agent_by_mobile(db: &mut impl Conn, partner_id: PartnerId, mobile: &str) -> Result<Option<UserCode>, SqlError> {
    let row = db
        .query_opt("SELECT user_code FROM agents WHERE partner_id = $1 AND mobile = $2", &[partner_id.into(), mobile.into()])
        .await?;
    row.map(|r| r.id("user_code")).transpose()
}
