//! AePS storage: agents' e-KYC and daily authentication, transactions, the per-Aadhaar
//! daily counter, and the hosted gateway's sessions and intents. Aadhaar numbers arrive
//! here already masked and keyed-hashed; the clear number never reaches the store.

use crate::sql::{Conn, Row, SqlError};
use kosh_core::aeps::{AgentStanding, Ekyc};
use kosh_core::ids::{PartnerId, Tid, UserCode};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// An Aadhaar number as the store sees it: masked for display, hashed for matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AadhaarRef {
    /// `XXXX XXXX 1234`.
    pub masked: String,
    /// Keyed hash (see `kosh_core::aadhaar::Aadhaar::keyed_hash`).
    pub hash: String,
}

/// An agent's AePS record: e-KYC progress and daily authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AepsAgent {
    /// The partner the row belongs to (`partners.id`); every read is scoped by it.
    pub partner_id: PartnerId,
    /// The agent (`user_code`, unique within the partner).
    pub user_code: UserCode,
    /// Where the agent's one-time e-KYC stands.
    pub ekyc: Ekyc,
    /// `fingpay` or `fino`.
    pub provider: String,
    /// The agent's Aadhaar number (masked and keyed-hashed) that e-KYC used; later steps must use the same one.
    pub aadhaar: AadhaarRef,
    /// Where the Fingpay e-KYC OTP was sent.
    pub otp_mobile: Option<String>,
    /// The Fingpay e-KYC OTP in progress, if any.
    pub otp_ref_id: Option<i64>,
    /// Kosh's reference of the e-KYC attempt in progress, which step 2 must name.
    pub reference_tid: Option<i64>,
    /// The IST day (days since 1970-01-01) of the last daily authentication.
    pub daily_auth_day: Option<i64>,
    /// When that authentication happened (ms since the epoch).
    pub daily_auth_at_ms: Option<i64>,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

impl AepsAgent {
    /// The agent's readiness as `kosh-core` judges it.
    pub fn standing(&self) -> AgentStanding {
        AgentStanding { ekyc: self.ekyc, daily_auth_day: self.daily_auth_day }
    }
}

fn agent_from_row(r: &Row) -> Result<AepsAgent, SqlError> {
    let code = r.text("ekyc")?;
    let ekyc = Ekyc::from_code(&code, r.opt_int("ekyc_ready_at_ms")?)
        .ok_or_else(|| SqlError::Decode(format!("invalid e-KYC state {code:?}")))?;
    Ok(AepsAgent {
        partner_id: r.id("partner_id")?,
        user_code: r.id("user_code")?,
        ekyc,
        provider: r.text("ekyc_provider")?,
        aadhaar: AadhaarRef { masked: r.text("aadhaar_masked")?, hash: r.text("aadhaar_hash")? },
        otp_mobile: r.opt_text("otp_mobile")?,
        otp_ref_id: r.opt_int("otp_ref_id")?,
        reference_tid: r.opt_int("reference_tid")?,
        daily_auth_day: r.opt_int("daily_auth_day")?,
        daily_auth_at_ms: r.opt_int("daily_auth_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// The partner's agent's AePS record.
pub async fn agent(db: &mut impl Conn, partner_id: PartnerId, user_code: UserCode) -> Result<Option<AepsAgent>, SqlError> {
    let row = db
        .query_opt(
            "SELECT partner_id, user_code, ekyc, ekyc_provider, ekyc_ready_at_ms, aadhaar_masked, aadhaar_hash, otp_mobile, \
             otp_ref_id, reference_tid, daily_auth_day, daily_auth_at_ms, created_at_ms, updated_at_ms \
             FROM aeps_agents WHERE partner_id = $1 AND user_code = $2",
            &[partner_id.into(), user_code.into()],
        )
        .await?;
    row.as_ref().map(agent_from_row).transpose()
}

/// Inserts or replaces an agent's AePS record.
pub async fn put_agent(db: &mut impl Conn, a: &AepsAgent) -> Result<(), SqlError> {
    let ready_at_ms = match a.ekyc {
        Ekyc::FinoPending { ready_at_ms } => Some(ready_at_ms),
        _ => None,
    };
    db.exec(
        "INSERT INTO aeps_agents (partner_id, user_code, ekyc, ekyc_provider, ekyc_ready_at_ms, aadhaar_masked, aadhaar_hash, \
         otp_mobile, otp_ref_id, reference_tid, daily_auth_day, daily_auth_at_ms, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (partner_id, user_code) DO UPDATE SET ekyc = excluded.ekyc, ekyc_provider = excluded.ekyc_provider, \
         ekyc_ready_at_ms = excluded.ekyc_ready_at_ms, aadhaar_masked = excluded.aadhaar_masked, \
         aadhaar_hash = excluded.aadhaar_hash, otp_mobile = excluded.otp_mobile, otp_ref_id = excluded.otp_ref_id, \
         reference_tid = excluded.reference_tid, daily_auth_day = excluded.daily_auth_day, \
         daily_auth_at_ms = excluded.daily_auth_at_ms, updated_at_ms = excluded.updated_at_ms",
        &[
            a.partner_id.into(),
            a.user_code.into(),
            a.ekyc.code().into(),
            (&a.provider).into(),
            ready_at_ms.into(),
            (&a.aadhaar.masked).into(),
            (&a.aadhaar.hash).into(),
            a.otp_mobile.as_ref().into(),
            a.otp_ref_id.into(),
            a.reference_tid.into(),
            a.daily_auth_day.into(),
            a.daily_auth_at_ms.into(),
            a.created_at_ms.into(),
            a.updated_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// An AePS transaction as stored (without the Aadhaar hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AepsTransaction {
    /// Kosh's transaction id (unique across partners).
    pub tid: Tid,
    /// The partner the row belongs to (`partners.id`); every read is scoped by it.
    pub partner_id: PartnerId,
    /// The partner's unique reference for it (unique per partner).
    pub client_ref_id: String,
    /// `api` or `gateway`.
    pub channel: String,
    /// The agent (`user_code`, unique within the partner).
    pub user_code: UserCode,
    /// 2, 3 or 4 (`kosh_core::aeps::TxType`).
    pub tx_type: i64,
    /// The withdrawal amount, in paise (0 for enquiries).
    pub amount_paise: Paise,
    /// What the partner earns on it, in paise, before TDS.
    pub commission_paise: Paise,
    /// TDS withheld from the commission, in paise.
    pub tds_paise: Paise,
    /// The customer's 10-digit mobile number.
    pub customer_mobile: String,
    /// The bank's short code (the first four letters of its IFSC).
    pub bank_code: String,
    /// The customer's Aadhaar number, masked (`XXXX XXXX 1234`).
    pub aadhaar_masked: String,
    /// 0 success, 1 failed, 2 awaited.
    pub tx_status: i64,
    /// The bank's reason when the transaction failed; empty otherwise.
    pub reason: String,
    /// For an awaited transaction: when inquiry finds the bank's answer.
    pub resolve_at_ms: Option<i64>,
    /// The customer's bank balance after the transaction, as the (sandbox) bank says.
    pub customer_balance_paise: Option<Paise>,
    /// The entry crediting the partner's wallet with the amount and commission, less TDS
    /// (pending while the bank's answer is awaited); `None` when nothing is due.
    pub entry_id: Option<i64>,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

/// The columns [`tx_from_row`] reads, in order.
macro_rules! select_tx {
    ($where:literal) => {
        concat!(
            "SELECT tid, partner_id, client_ref_id, channel, user_code, tx_type, amount, commission, tds, customer_mobile, \
             bank_code, aadhaar_masked, tx_status, reason, resolve_at_ms, customer_balance, entry_id, created_at_ms, \
             updated_at_ms, awaited_verdict, aadhaar_hash FROM aeps_transactions WHERE ",
            $where
        )
    };
}

fn tx_from_row(r: &Row) -> Result<AepsTransaction, SqlError> {
    Ok(AepsTransaction {
        tid: r.id("tid")?,
        partner_id: r.id("partner_id")?,
        client_ref_id: r.text("client_ref_id")?,
        channel: r.text("channel")?,
        user_code: r.id("user_code")?,
        tx_type: r.int("tx_type")?,
        amount_paise: r.paise("amount")?,
        commission_paise: r.paise("commission")?,
        tds_paise: r.paise("tds")?,
        customer_mobile: r.text("customer_mobile")?,
        bank_code: r.text("bank_code")?,
        aadhaar_masked: r.text("aadhaar_masked")?,
        tx_status: r.int("tx_status")?,
        reason: r.text("reason")?,
        resolve_at_ms: r.opt_int("resolve_at_ms")?,
        customer_balance_paise: r.opt_paise("customer_balance")?,
        entry_id: r.opt_int("entry_id")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// The partner's transaction `tid`.
pub async fn tx_by_tid(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> Result<Option<AepsTransaction>, SqlError> {
    let row = db.query_opt(select_tx!("partner_id = $1 AND tid = $2"), &[partner_id.into(), tid.into()]).await?;
    row.as_ref().map(tx_from_row).transpose()
}

/// The partner's transaction with this `client_ref_id`.
pub async fn tx_by_ref(
    db: &mut impl Conn,
    partner_id: PartnerId,
    client_ref_id: &str,
) -> Result<Option<AepsTransaction>, SqlError> {
    let row =
        db.query_opt(select_tx!("partner_id = $1 AND client_ref_id = $2"), &[partner_id.into(), client_ref_id.into()]).await?;
    row.as_ref().map(tx_from_row).transpose()
}

/// What only the store reads of a transaction: the Aadhaar hash, and for an awaited
/// transaction what it resolves to (`approved` or the decline reason).
pub async fn tx_private(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
) -> Result<Option<(String, Option<String>)>, SqlError> {
    let row = db.query_opt(select_tx!("partner_id = $1 AND tid = $2"), &[partner_id.into(), tid.into()]).await?;
    row.map(|r| Ok((r.text("aadhaar_hash")?, r.opt_text("awaited_verdict")?))).transpose()
}

/// A transaction to insert, with what only the store keeps.
pub struct TxInsert<'a> {
    /// The transaction row.
    pub tx: &'a AepsTransaction,
    /// The keyed hash of the customer's Aadhaar number, for the per-day limit (never shown).
    pub aadhaar_hash: &'a str,
    /// The IST day (days since 1970-01-01) counted against the Aadhaar's daily limit.
    pub ist_day: i64,
    /// For an awaited transaction, what inquiry will find: `approved`, or the bank's reason
    /// for declining.
    pub awaited_verdict: Option<&'a str>,
}

/// Inserts a transaction with its private fields.
pub async fn insert_tx(db: &mut impl Conn, ins: &TxInsert<'_>) -> Result<(), SqlError> {
    let t = ins.tx;
    db.exec(
        "INSERT INTO aeps_transactions (tid, partner_id, client_ref_id, channel, user_code, tx_type, amount, commission, tds, \
         customer_mobile, bank_code, aadhaar_masked, aadhaar_hash, ist_day, tx_status, reason, awaited_verdict, resolve_at_ms, \
         customer_balance, entry_id, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        &[
            t.tid.into(),
            t.partner_id.into(),
            (&t.client_ref_id).into(),
            (&t.channel).into(),
            t.user_code.into(),
            t.tx_type.into(),
            t.amount_paise.into(),
            t.commission_paise.into(),
            t.tds_paise.into(),
            (&t.customer_mobile).into(),
            (&t.bank_code).into(),
            (&t.aadhaar_masked).into(),
            ins.aadhaar_hash.into(),
            ins.ist_day.into(),
            t.tx_status.into(),
            (&t.reason).into(),
            ins.awaited_verdict.into(),
            t.resolve_at_ms.into(),
            t.customer_balance_paise.into(),
            t.entry_id.into(),
            t.created_at_ms.into(),
            t.updated_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Settles an awaited transaction; false when it was no longer awaited.
pub async fn settle_tx(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
    tx_status: i64,
    reason: &str,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE aeps_transactions SET tx_status = $3, reason = $4, awaited_verdict = NULL, updated_at_ms = $5 \
             WHERE partner_id = $1 AND tid = $2 AND tx_status = 2",
            &[partner_id.into(), tid.into(), tx_status.into(), reason.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Records the customer's bank balance as the bank reported it with the transaction.
pub async fn set_customer_balance(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
    balance_paise: i64,
) -> Result<(), SqlError> {
    db.exec(
        "UPDATE aeps_transactions SET customer_balance = $3 WHERE partner_id = $1 AND tid = $2",
        &[partner_id.into(), tid.into(), balance_paise.into()],
    )
    .await?;
    Ok(())
}

/// Takes one of the Aadhaar's transactions for the day; `None` when `max` are taken.
/// One statement, so concurrent transactions for one Aadhaar cannot both take the last.
pub async fn take_aadhaar_slot(db: &mut impl Conn, aadhaar_hash: &str, ist_day: i64, max: i64) -> Result<Option<i64>, SqlError> {
    let row = db
        .query_opt(
            "INSERT INTO aeps_aadhaar_days (aadhaar_hash, ist_day, count) VALUES ($1, $2, 1) \
             ON CONFLICT (aadhaar_hash, ist_day) DO UPDATE SET count = aeps_aadhaar_days.count + 1 \
             WHERE aeps_aadhaar_days.count < $3 RETURNING count",
            &[aadhaar_hash.into(), ist_day.into(), max.into()],
        )
        .await?;
    row.map(|r| r.int("count")).transpose()
}

/// Transactions already counted for the Aadhaar on the day.
pub async fn aadhaar_day_count(db: &mut impl Conn, aadhaar_hash: &str, ist_day: i64) -> Result<i64, SqlError> {
    let row = db
        .query_opt(
            "SELECT count FROM aeps_aadhaar_days WHERE aadhaar_hash = $1 AND ist_day = $2",
            &[aadhaar_hash.into(), ist_day.into()],
        )
        .await?;
    Ok(row.map(|r| r.int("count")).transpose()?.unwrap_or(0))
}

/// Cash withdrawn from the customer's (sandbox) account through Kosh: successful and
/// awaited withdrawals (an awaited one holds its amount until it resolves).
pub async fn withdrawn_paise(db: &mut impl Conn, aadhaar_hash: &str) -> Result<i64, SqlError> {
    db.query_one(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS withdrawn FROM aeps_transactions \
         WHERE aadhaar_hash = $1 AND tx_type = 2 AND tx_status IN (0, 2)",
        &[aadhaar_hash.into()],
    )
    .await?
    .int("withdrawn")
}

/// A hosted gateway page's session, opened by a partner's form POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewaySession {
    /// The session id.
    pub id: i64,
    /// The partner the row belongs to (`partners.id`); every read is scoped by it.
    pub partner_id: PartnerId,
    /// The agent the session is for.
    pub user_code: UserCode,
    /// The partner's `callback_url`: where the page announces transactions and results.
    pub callback_url: String,
    /// JSON object: `callback_url_custom_params`.
    pub custom_params: String,
    /// JSON object: `callback_url_custom_headers` (their values may be credentials).
    pub custom_headers: kosh_core::secret::Secret,
    /// The partner's name, shown on the page.
    pub partner_name: String,
    /// The partner's logo, shown on the page.
    pub logo_url: String,
    /// The page's language: two lowercase letters (`en` when not given).
    pub language: String,
    /// Intents created in this session so far.
    pub intents: i64,
    /// When the session stops accepting transactions (ms since the epoch).
    pub expires_at_ms: i64,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

/// A session to open; the token is stored only hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewGatewaySession {
    /// The partner opening the session.
    pub partner_id: PartnerId,
    /// The keyed hash of the session token the page carries; the token itself is never stored.
    pub token_hash: String,
    /// The agent the session is for.
    pub user_code: UserCode,
    /// The partner's `callback_url`: where the page announces transactions and results.
    pub callback_url: String,
    /// JSON object: `callback_url_custom_params`.
    pub custom_params: String,
    /// JSON object: `callback_url_custom_headers` (their values may be credentials).
    pub custom_headers: kosh_core::secret::Secret,
    /// The partner's name, shown on the page.
    pub partner_name: String,
    /// The partner's logo, shown on the page.
    pub logo_url: String,
    /// The page's language: two lowercase letters (`en` when not given).
    pub language: String,
    /// When the session expires (ms since the epoch).
    pub expires_at_ms: i64,
}

/// Inserts a session; answers its id.
pub async fn insert_session(db: &mut impl Conn, s: &NewGatewaySession, now_ms: i64) -> Result<i64, SqlError> {
    db.query_one(
        "INSERT INTO aeps_gateway_sessions (partner_id, token_hash, user_code, callback_url, custom_params, custom_headers, \
         partner_name, logo_url, language, expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING id",
        &[
            s.partner_id.into(),
            (&s.token_hash).into(),
            s.user_code.into(),
            (&s.callback_url).into(),
            (&s.custom_params).into(),
            s.custom_headers.expose().into(),
            (&s.partner_name).into(),
            (&s.logo_url).into(),
            (&s.language).into(),
            s.expires_at_ms.into(),
            now_ms.into(),
        ],
    )
    .await?
    .int("id")
}

macro_rules! select_session {
    ($where:literal) => {
        concat!(
            "SELECT id, partner_id, user_code, callback_url, custom_params, custom_headers, partner_name, logo_url, language, \
             intents, expires_at_ms, created_at_ms FROM aeps_gateway_sessions WHERE ",
            $where
        )
    };
}

fn session_from_row(r: &Row) -> Result<GatewaySession, SqlError> {
    Ok(GatewaySession {
        id: r.int("id")?,
        partner_id: r.id("partner_id")?,
        user_code: r.id("user_code")?,
        callback_url: r.text("callback_url")?,
        custom_params: r.text("custom_params")?,
        custom_headers: r.text("custom_headers")?.into(),
        partner_name: r.text("partner_name")?,
        logo_url: r.text("logo_url")?,
        language: r.text("language")?,
        intents: r.int("intents")?,
        expires_at_ms: r.int("expires_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

/// The session whose token hashes to `token_hash`.
pub async fn session_by_token_hash(db: &mut impl Conn, token_hash: &str) -> Result<Option<GatewaySession>, SqlError> {
    let row = db.query_opt(select_session!("token_hash = $1"), &[token_hash.into()]).await?;
    row.as_ref().map(session_from_row).transpose()
}

/// The session with this id.
pub async fn session(db: &mut impl Conn, id: i64) -> Result<Option<GatewaySession>, SqlError> {
    let row = db.query_opt(select_session!("id = $1"), &[id.into()]).await?;
    row.as_ref().map(session_from_row).transpose()
}

/// Counts one more intent for the session; false when it already has `max`.
pub async fn count_intent(db: &mut impl Conn, session_id: i64, max: i64) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE aeps_gateway_sessions SET intents = intents + 1 WHERE id = $1 AND intents < $2",
            &[session_id.into(), max.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// A transaction the gateway page announced to the partner (the debit-hook), waiting
/// for the partner's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayIntent {
    /// Kosh's id for the intent (unique; reads name it with its session).
    pub id: i64,
    /// The partner the row belongs to (`partners.id`); every read is scoped by it.
    pub partner_id: PartnerId,
    /// The gateway session it belongs to.
    pub session_id: i64,
    /// Kosh's client_ref_id, announced in the debit-hook.
    pub client_ref_id: String,
    /// `awaiting`, `refused` or `done`.
    pub state: String,
    /// 2, 3 or 4 (`kosh_core::aeps::TxType`).
    pub tx_type: i64,
    /// The amount, in paise.
    pub amount_paise: Paise,
    /// The customer's 10-digit mobile number.
    pub customer_mobile: String,
    /// The bank's short code (the first four letters of its IFSC).
    pub bank_code: String,
    /// The customer's Aadhaar number, masked and keyed-hashed (never in clear).
    pub aadhaar: AadhaarRef,
    /// The `request_hash` of the confirmation that completed it.
    pub confirmation_hash: Option<String>,
    /// The transaction it ran as, once confirmed.
    pub tid: Option<Tid>,
    /// Why it was refused, when it was; empty otherwise.
    pub message: String,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
    /// When the row last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

macro_rules! select_intent {
    ($where:literal) => {
        concat!(
            "SELECT id, partner_id, session_id, client_ref_id, state, tx_type, amount, customer_mobile, bank_code, \
             aadhaar_masked, aadhaar_hash, tid, message, created_at_ms, updated_at_ms, confirmation_hash \
             FROM aeps_gateway_intents WHERE ",
            $where
        )
    };
}

fn intent_from_row(r: &Row) -> Result<GatewayIntent, SqlError> {
    Ok(GatewayIntent {
        id: r.int("id")?,
        partner_id: r.id("partner_id")?,
        session_id: r.int("session_id")?,
        client_ref_id: r.text("client_ref_id")?,
        state: r.text("state")?,
        tx_type: r.int("tx_type")?,
        amount_paise: r.paise("amount")?,
        customer_mobile: r.text("customer_mobile")?,
        bank_code: r.text("bank_code")?,
        aadhaar: AadhaarRef { masked: r.text("aadhaar_masked")?, hash: r.text("aadhaar_hash")? },
        confirmation_hash: r.opt_text("confirmation_hash")?,
        tid: r.opt_id("tid")?,
        message: r.text("message")?,
        created_at_ms: r.int("created_at_ms")?,
        updated_at_ms: r.int("updated_at_ms")?,
    })
}

/// The intent `intent_id` of session `session_id`.
pub async fn intent(db: &mut impl Conn, session_id: i64, intent_id: i64) -> Result<Option<GatewayIntent>, SqlError> {
    let row = db.query_opt(select_intent!("session_id = $1 AND id = $2"), &[session_id.into(), intent_id.into()]).await?;
    row.as_ref().map(intent_from_row).transpose()
}

/// The intent that already used a confirmation (its `request_hash`), if any.
pub async fn intent_by_confirmation(
    db: &mut impl Conn,
    partner_id: PartnerId,
    hash: &str,
) -> Result<Option<GatewayIntent>, SqlError> {
    let row =
        db.query_opt(select_intent!("partner_id = $1 AND confirmation_hash = $2"), &[partner_id.into(), hash.into()]).await?;
    row.as_ref().map(intent_from_row).transpose()
}

/// Fields of an intent to insert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIntent {
    /// The gateway session it belongs to.
    pub session_id: i64,
    /// 2, 3 or 4 (`kosh_core::aeps::TxType`).
    pub tx_type: i64,
    /// The withdrawal amount, in paise (0 for enquiries).
    pub amount_paise: Paise,
    /// The customer's 10-digit mobile number.
    pub customer_mobile: String,
    /// The bank's short code (the first four letters of its IFSC).
    pub bank_code: String,
    /// The customer's Aadhaar number, masked and keyed-hashed (never in clear).
    pub aadhaar: AadhaarRef,
}

/// Inserts an intent; its client_ref_id is derived from its id (`KG` + 12 digits).
pub async fn insert_intent(
    db: &mut impl Conn,
    partner_id: PartnerId,
    i: &NewIntent,
    now_ms: i64,
) -> Result<GatewayIntent, SqlError> {
    let id = db
        .query_one(
            "INSERT INTO aeps_gateway_intents (partner_id, session_id, client_ref_id, state, tx_type, amount, customer_mobile, \
             bank_code, aadhaar_masked, aadhaar_hash, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, '', 'awaiting', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            &[
                partner_id.into(),
                i.session_id.into(),
                i.tx_type.into(),
                i.amount_paise.into(),
                (&i.customer_mobile).into(),
                (&i.bank_code).into(),
                (&i.aadhaar.masked).into(),
                (&i.aadhaar.hash).into(),
                now_ms.into(),
            ],
        )
        .await?
        .int("id")?;
    let client_ref_id = format!("KG{id:012}");
    db.exec("UPDATE aeps_gateway_intents SET client_ref_id = $2 WHERE id = $1", &[id.into(), (&client_ref_id).into()]).await?;
    intent(db, i.session_id, id).await?.ok_or_else(|| SqlError::Decode("inserted intent vanished".into()))
}

/// Moves an awaiting intent to `state`; false when it was no longer awaiting.
pub async fn close_intent(
    db: &mut impl Conn,
    intent_id: i64,
    state: &str,
    confirmation_hash: Option<&str>,
    tid: Option<Tid>,
    message: &str,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE aeps_gateway_intents SET state = $2, confirmation_hash = $3, tid = $4, message = $5, updated_at_ms = $6 \
             WHERE id = $1 AND state = 'awaiting'",
            &[intent_id.into(), state.into(), confirmation_hash.into(), tid.into(), message.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Records the transaction a confirmed intent made.
pub async fn set_intent_tid(db: &mut impl Conn, intent_id: i64, tid: Tid, now_ms: i64) -> Result<(), SqlError> {
    db.exec(
        "UPDATE aeps_gateway_intents SET tid = $2, updated_at_ms = $3 WHERE id = $1",
        &[intent_id.into(), tid.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}
