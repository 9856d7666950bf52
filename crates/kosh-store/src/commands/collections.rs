//! Commands of collections: UPI QR codes and their payments, CMS cash drop.
//!
//! A QR payment is accepted as a *pending* ledger entry (the UPI network owes the amount,
//! `clearing:upi`; the partner's wallet is owed the amount less the fee plus its
//! commission net of TDS), with the first status callback (tx_status 5); at settlement
//! (T+1) the entry is posted and the final callback queued. A dynamic QR is deactivated
//! by the payment that pays it, in the same transaction, so it is paid once.

use super::ledger_entries::{record_entry, LegSpec};
use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::collections::{self as ops, NewQr, QrCode, QrPayment};
use crate::ops::{agents, ledger, outbox};
use crate::sql::{Conn, SqlError};
use kosh_core::collections::{self as rules, CollectionRejection, PaymentStatus, QrStatus};
use kosh_core::events::{Event, QrPaymentStatusChanged};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, EntryState, Side};
use kosh_core::pricing::Charges;
use serde::{Deserialize, Serialize};

pub use super::cms::{CmsCommand, CmsOutcome};

/// The counter QR payment tids come from.
const QR_TID_COUNTER: &str = "qr_tid";
/// Most payments one settlement pass settles.
pub const MAX_SETTLE_BATCH: i64 = 200;

/// A command of collections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionsCommand {
    /// Generates a QR code.
    CreateQr(CreateQr),
    /// A customer paid a QR code.
    AcceptQrPayment(AcceptQrPayment),
    /// Settles payments whose T+1 has come.
    SettleDueQrPayments(SettleDueQrPayments),
    /// CMS cash drop: pages, payments.
    Cms(CmsCommand),
}

/// Generates a QR code (a static one again: the one that exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateQr {
    /// The QR as asked for.
    pub qr: NewQr,
}

/// A customer paid a QR code: accepted, settled at `settle_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptQrPayment {
    /// The partner whose QR was paid.
    pub partner_id: i64,
    /// The QR's reference (`client_ref_id`).
    pub qr_reference: String,
    /// What the customer paid and what it costs and earns (from the pricing table).
    pub charges: Charges,
    /// The paying customer's VPA.
    pub payer_vpa: String,
    /// The UPI network's reference (RRN).
    pub utr: String,
    /// When the payment settles (T+1).
    pub settle_at_ms: i64,
}

/// Settles at most `limit` accepted payments whose settlement is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleDueQrPayments {
    /// At most this many per command.
    pub limit: i64,
}

/// What a collections command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionsOutcome {
    /// The QR; `created` false when the static QR existed already.
    Qr {
        /// The QR code.
        qr: QrCode,
        /// False when the (static) QR existed already.
        created: bool,
    },
    /// The payment, accepted, and the QR it paid.
    QrPaymentAccepted {
        /// The payment, initiated.
        payment: QrPayment,
        /// The QR after it (a dynamic QR: inactive).
        qr: QrCode,
    },
    /// How many payments were settled.
    QrPaymentsSettled(u64),
    /// A CMS command's outcome.
    Cms(CmsOutcome),
}

/// What [`CreateQr`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCreated {
    /// The QR code.
    pub qr: QrCode,
    /// False when the (static) QR existed already.
    pub created: bool,
}

/// What [`AcceptQrPayment`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPaymentAccepted {
    /// The payment, initiated.
    pub payment: QrPayment,
    /// The QR code.
    pub qr: QrCode,
}

pub(super) fn collections_outcome(outcome: Outcome) -> CmdResult<CollectionsOutcome> {
    match outcome {
        Outcome::Collections(c) => Ok(*c),
        other => unexpected(other),
    }
}

store_command!(CreateQr => QrCreated, |c| Command::Collections(CollectionsCommand::CreateQr(c)), collections_outcome,
    CollectionsOutcome::Qr { qr, created } => QrCreated { qr, created });
store_command!(AcceptQrPayment => QrPaymentAccepted, |c| Command::Collections(CollectionsCommand::AcceptQrPayment(c)),
    collections_outcome, CollectionsOutcome::QrPaymentAccepted { payment, qr } => QrPaymentAccepted { payment, qr });
store_command!(SettleDueQrPayments => u64, |c| Command::Collections(CollectionsCommand::SettleDueQrPayments(c)),
    collections_outcome, CollectionsOutcome::QrPaymentsSettled(n) => n);

/// Runs a collections command inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &CollectionsCommand, now_ms: i64) -> CmdResult<CollectionsOutcome> {
    match cmd {
        CollectionsCommand::CreateQr(c) => create_qr(db, &c.qr, now_ms).await,
        CollectionsCommand::AcceptQrPayment(a) => accept(db, a, now_ms).await,
        CollectionsCommand::SettleDueQrPayments(s) => settle_due(db, s.limit, now_ms).await,
        CollectionsCommand::Cms(c) => Ok(CollectionsOutcome::Cms(super::cms::apply(db, c, now_ms).await?)),
    }
}

fn refuse(r: CollectionRejection) -> Rejection {
    Rejection::Collections(r)
}

async fn create_qr(db: &mut impl Conn, q: &NewQr, now_ms: i64) -> CmdResult<CollectionsOutcome> {
    agents::get(db, PartnerId::new(q.partner_id), UserCode::new(q.user_code)).await?.ok_or(Rejection::AgentNotFound)?;
    if q.amount.is_none() {
        if let Some(qr) = ops::static_qr(db, q.partner_id, &q.sender_id, q.bank).await? {
            return Ok(CollectionsOutcome::Qr { qr, created: false });
        }
    }
    if q.amount.is_some_and(|a| a.is_zero()) {
        return Err(refuse(CollectionRejection::Invalid("a dynamic QR's amount must be positive".into())).into());
    }
    let vpa = rules::qr_vpa(q.partner_id, q.user_code);
    let qr_string = rules::upi_intent(&vpa, &q.name, &q.client_ref_id, q.amount);
    let id = ops::insert_qr(db, q, &vpa, &qr_string, now_ms).await?;
    let qr = ops::qr_by_id(db, id).await?.ok_or_else(|| SqlError::Decode("the QR just stored".into()))?;
    Ok(CollectionsOutcome::Qr { qr, created: true })
}

async fn accept(db: &mut impl Conn, a: &AcceptQrPayment, now_ms: i64) -> CmdResult<CollectionsOutcome> {
    let qr = ops::qr_by_ref(db, a.partner_id, &a.qr_reference).await?.ok_or(refuse(CollectionRejection::QrNotFound))?;
    let c = &a.charges;
    if c.amount_paise.is_zero() || c.amount_paise.get() > rules::MAX_QR_PAISE {
        return Err(refuse(CollectionRejection::Invalid("the payment's amount is out of range".into())).into());
    }
    if qr.status != QrStatus::QrActive {
        return Err(refuse(CollectionRejection::QrInactive).into());
    }
    if let Some(expected) = qr.amount {
        if expected != c.amount_paise {
            return Err(refuse(CollectionRejection::AmountMismatch { expected: expected.to_rupees_string() }).into());
        }
        // The conditional move is the guard: of two concurrent payments one moves it.
        if !ops::set_qr_status(db, qr.id, QrStatus::QrActive, QrStatus::QrInactive, now_ms).await? {
            return Err(refuse(CollectionRejection::QrInactive).into());
        }
    }
    let tid = agents::next_counter(db, QR_TID_COUNTER).await?;
    let entry_id = record_credit(db, a.partner_id, tid, c, now_ms).await?;
    let payment = QrPayment {
        tid,
        partner_id: a.partner_id,
        qr_id: qr.id,
        user_code: qr.user_code,
        amount: c.amount_paise,
        fee: c.fee_paise,
        gst: c.gst_paise,
        commission: c.commission_paise,
        tds: c.tds_paise,
        payer_vpa: a.payer_vpa.clone(),
        utr: a.utr.clone(),
        status: PaymentStatus::Initiated,
        entry_id,
        settle_at_ms: a.settle_at_ms,
        settled_at_ms: None,
        created_at_ms: now_ms,
    };
    ops::insert_payment(db, &payment, qr.is_dynamic()).await?;
    outbox::append_event(db, PartnerId::new(a.partner_id), &qr_event(&payment, &qr, None, now_ms), now_ms).await?;
    let qr = ops::qr_by_id(db, qr.id).await?.ok_or_else(|| SqlError::Decode("the QR just paid".into()))?;
    Ok(CollectionsOutcome::QrPaymentAccepted { payment, qr })
}

/// The pending entry of a payment: clearing:upi owes the amount; the wallet is owed the
/// amount less the fee plus commission net of TDS; GST, revenue and TDS take the rest.
async fn record_credit(db: &mut impl Conn, partner_id: i64, tid: i64, c: &Charges, now_ms: i64) -> CmdResult<i64> {
    let p = PartnerId::new(partner_id);
    let revenue = c.revenue_paise().ok_or_else(|| Rejection::InvalidEntry("the fee is smaller than its parts".into()))?;
    let credits = [
        (AccountKind::PartnerWallet, rules::qr_wallet_credit(c)),
        (AccountKind::GstPayable, c.gst_paise.get()),
        (AccountKind::FeeRevenue, revenue.get()),
        (AccountKind::TdsPayable, c.tds_paise.get()),
    ];
    let mut legs = vec![LegSpec::new(p, &AccountKind::RailClearing { rail: "upi" }, Side::Debit, c.amount_paise.get())];
    legs.extend(credits.iter().filter(|(_, v)| *v > 0).map(|(k, v)| LegSpec::new(p, k, Side::Credit, *v)));
    match record_entry(db, p, "qr_collection", &tid.to_string(), &legs, true, now_ms).await? {
        Outcome::EntryRecorded { entry_id, .. } => Ok(entry_id),
        other => Err(SqlError::Decode(format!("unexpected ledger outcome {other:?}")).into()),
    }
}

async fn settle_due(db: &mut impl Conn, limit: i64, now_ms: i64) -> CmdResult<CollectionsOutcome> {
    let mut settled = 0;
    for payment in ops::due_payments(db, now_ms, limit.clamp(1, MAX_SETTLE_BATCH)).await? {
        if !ops::settle_payment(db, payment.tid, now_ms).await? {
            continue;
        }
        ledger::resolve(db, payment.entry_id, EntryState::Posted, now_ms).await?;
        let qr = ops::qr_by_id(db, payment.qr_id).await?.ok_or_else(|| SqlError::Decode("a paid QR".into()))?;
        let settled_payment = QrPayment { status: PaymentStatus::Success, settled_at_ms: Some(now_ms), ..payment };
        let event = qr_event(&settled_payment, &qr, Some(PaymentStatus::Initiated), now_ms);
        outbox::append_event(db, PartnerId::new(settled_payment.partner_id), &event, now_ms).await?;
        settled += 1;
    }
    Ok(CollectionsOutcome::QrPaymentsSettled(settled))
}

fn qr_event(p: &QrPayment, qr: &QrCode, old_status: Option<PaymentStatus>, now_ms: i64) -> Event {
    Event::QrPaymentStatusChanged(QrPaymentStatusChanged {
        tid: p.tid,
        qr_reference: qr.client_ref_id.clone(),
        user_code: p.user_code,
        sender_mobile: qr.sender_id.clone(),
        old_status,
        status: p.status,
        amount: p.amount,
        fee: p.fee,
        gst: p.gst,
        commission: p.commission,
        tds: p.tds,
        payer_vpa: p.payer_vpa.clone(),
        utr: p.utr.clone(),
        at_ms: now_ms,
    })
}
