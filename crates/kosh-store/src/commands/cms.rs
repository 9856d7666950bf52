//! Commands of CMS (cash drop): the hosted page's session, and each payment on it.
//!
//! A payment is *recorded* (initiated, nothing moved), then the partner's debit-hook is
//! asked (outside any command), then it is *approved* or *failed*; an approved payment
//! is *confirmed* from the page: the form must still name what the partner approved,
//! and the debit of the agent's wallet and its commission are one ledger entry.

use super::collections::{collections_outcome, CollectionsCommand, CollectionsOutcome};
use super::ledger_entries::{record_entry, LegSpec};
use super::{store_command, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::collections::{self as ops, CmsPayment, CmsSession, NewCmsSession};
use crate::ops::{agents, ledger, outbox};
use crate::sql::{Conn, SqlError};
use kosh_core::collections::{self as rules, CollectionRejection, PaymentStatus};
use kosh_core::events::{CmsPaymentStatusChanged, Event};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Balance, Side};
use kosh_core::pricing::Charges;
use serde::{Deserialize, Serialize};

/// The counter CMS tids come from.
const CMS_TID_COUNTER: &str = "cms_tid";
/// Why a payment failed when its form changed after the partner approved it.
pub const TAMPERED: &str = "the payment form was changed after the partner approved it";

/// A command of CMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmsCommand {
    /// Issues a page URL (its token hashed).
    CreateSession(CreateCmsSession),
    /// The URL was opened: it opens no more.
    OpenSession(OpenCmsSession),
    /// Records a payment, initiated, before the partner is asked.
    Record(RecordCmsPayment),
    /// The partner's debit-hook said proceed.
    Approve(ApproveCmsPayment),
    /// The partner refused, or could not be asked.
    Fail(FailCmsPayment),
    /// The agent confirmed an approved payment: the wallet is debited.
    Confirm(ConfirmCmsPayment),
}

/// Issues a page URL for an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCmsSession {
    /// The session as asked for.
    pub session: NewCmsSession,
}

/// Opens an issued session for `lifetime_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenCmsSession {
    /// The session.
    pub session_id: i64,
    /// How long the opened page may be used.
    pub lifetime_ms: i64,
}

/// Records a payment on an open session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCmsPayment {
    /// The session.
    pub session_id: i64,
    /// The biller paid.
    pub biller_id: String,
    /// The loan or account reference.
    pub loan_reference: String,
    /// The EMI, with the commission and TDS from the pricing table.
    pub charges: Charges,
}

/// The partner approved payment `tid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproveCmsPayment {
    /// The payment.
    pub tid: i64,
}

/// Payment `tid` failed before any debit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailCmsPayment {
    /// The payment.
    pub tid: i64,
    /// Why.
    pub reason: String,
}

/// The agent confirmed payment `tid` with the form as it came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmCmsPayment {
    /// The session the form belongs to.
    pub session_id: i64,
    /// The payment.
    pub tid: i64,
    /// The form's biller.
    pub biller_id: String,
    /// The form's loan reference.
    pub loan_reference: String,
    /// The form's amount, in paise.
    pub amount_paise: i64,
}

/// What a CMS command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmsOutcome {
    /// The session, as it is now.
    Session(CmsSession),
    /// The payment, as it is now.
    Payment(CmsPayment),
    /// Paid: the payment and the partner's wallet after the debit.
    Paid {
        /// The payment, successful.
        payment: CmsPayment,
        /// The wallet after the debit.
        wallet: Balance,
    },
    /// The form differed from what was approved: the payment failed, nothing moved.
    Tampered(CmsPayment),
}

fn cms_outcome(outcome: Outcome) -> CmdResult<CmsOutcome> {
    match collections_outcome(outcome)? {
        CollectionsOutcome::Cms(c) => Ok(c),
        other => super::unexpected(other),
    }
}

fn wrap(c: CmsCommand) -> Command {
    Command::Collections(CollectionsCommand::Cms(c))
}

store_command!(CreateCmsSession => CmsSession, |c| wrap(CmsCommand::CreateSession(c)), cms_outcome,
    CmsOutcome::Session(s) => s);
store_command!(OpenCmsSession => CmsSession, |c| wrap(CmsCommand::OpenSession(c)), cms_outcome,
    CmsOutcome::Session(s) => s);
store_command!(RecordCmsPayment => CmsPayment, |c| wrap(CmsCommand::Record(c)), cms_outcome,
    CmsOutcome::Payment(p) => p);
store_command!(ApproveCmsPayment => CmsPayment, |c| wrap(CmsCommand::Approve(c)), cms_outcome,
    CmsOutcome::Payment(p) => p);
store_command!(FailCmsPayment => CmsPayment, |c| wrap(CmsCommand::Fail(c)), cms_outcome,
    CmsOutcome::Payment(p) => p);
store_command!(ConfirmCmsPayment => CmsOutcome, |c| wrap(CmsCommand::Confirm(c)), cms_outcome, o => o);

/// Runs a CMS command inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &CmsCommand, now_ms: i64) -> CmdResult<CmsOutcome> {
    match cmd {
        CmsCommand::CreateSession(c) => create(db, &c.session, now_ms).await,
        CmsCommand::OpenSession(o) => open(db, o, now_ms).await,
        CmsCommand::Record(r) => record(db, r, now_ms).await,
        CmsCommand::Approve(a) => Ok(CmsOutcome::Payment(approve(db, a.tid, now_ms).await?)),
        CmsCommand::Fail(f) => Ok(CmsOutcome::Payment(fail(db, f.tid, &f.reason, now_ms).await?)),
        CmsCommand::Confirm(c) => confirm(db, c, now_ms).await,
    }
}

/// The page itself refuses: unknown, expired or used.
fn refuse(why: impl Into<String>) -> Rejection {
    Rejection::Collections(CollectionRejection::CmsSession(why.into()))
}

/// The payment is not in the step the request is for.
fn out_of_step(why: impl Into<String>) -> Rejection {
    Rejection::Collections(CollectionRejection::Invalid(why.into()))
}

async fn create(db: &mut impl Conn, s: &NewCmsSession, now_ms: i64) -> CmdResult<CmsOutcome> {
    agents::get(db, PartnerId::new(s.partner_id), UserCode::new(s.user_code)).await?.ok_or(Rejection::AgentNotFound)?;
    let id = ops::insert_session(db, s, now_ms).await?;
    Ok(CmsOutcome::Session(ops::session(db, id).await?.ok_or_else(|| SqlError::Decode("the session just stored".into()))?))
}

/// The session, refused unless it is open and unexpired.
async fn open_session(db: &mut impl Conn, session_id: i64, now_ms: i64) -> CmdResult<CmsSession> {
    let session = ops::session(db, session_id).await?.ok_or_else(|| refuse("this CMS page does not exist"))?;
    if session.state == "used" {
        return Err(refuse("this CMS page was already used for a payment").into());
    }
    if session.state != "opened" || now_ms >= session.expires_at_ms {
        return Err(refuse("this CMS page has expired; ask for a new one").into());
    }
    Ok(session)
}

async fn open(db: &mut impl Conn, o: &OpenCmsSession, now_ms: i64) -> CmdResult<CmsOutcome> {
    let session = ops::session(db, o.session_id).await?.ok_or_else(|| refuse("this CMS page does not exist"))?;
    if now_ms >= session.expires_at_ms && session.state == "issued" {
        return Err(refuse("this CMS link has expired; ask for a new one").into());
    }
    if !ops::open_session(db, session.id, o.lifetime_ms, now_ms).await? {
        return Err(refuse("this CMS link was already used; each link opens once").into());
    }
    Ok(CmsOutcome::Session(ops::session(db, session.id).await?.ok_or_else(|| refuse("this CMS page does not exist"))?))
}

async fn record(db: &mut impl Conn, r: &RecordCmsPayment, now_ms: i64) -> CmdResult<CmsOutcome> {
    let session = open_session(db, r.session_id, now_ms).await?;
    let c = &r.charges;
    if rules::biller(&r.biller_id).is_none() || c.amount_paise.is_zero() || c.amount_paise.get() > rules::MAX_CMS_PAISE {
        return Err(Rejection::Collections(CollectionRejection::Invalid("unknown biller or amount out of range".into())).into());
    }
    let payment = CmsPayment {
        tid: agents::next_counter(db, CMS_TID_COUNTER).await?,
        partner_id: session.partner_id,
        session_id: session.id,
        user_code: session.user_code,
        client_ref_id: session.client_ref_id.clone(),
        biller_id: r.biller_id.clone(),
        loan_reference: r.loan_reference.clone(),
        amount: c.amount_paise,
        commission: c.commission_paise,
        tds: c.tds_paise,
        state: "initiated".into(),
        reason: String::new(),
        entry_id: None,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    ops::insert_cms_payment(db, &payment).await?;
    Ok(CmsOutcome::Payment(payment))
}

async fn reread(db: &mut impl Conn, tid: i64) -> CmdResult<CmsPayment> {
    Ok(ops::cms_payment(db, tid).await?.ok_or_else(|| out_of_step("no such CMS payment"))?)
}

async fn approve(db: &mut impl Conn, tid: i64, now_ms: i64) -> CmdResult<CmsPayment> {
    if !ops::set_cms_state(db, tid, "initiated", "approved", "", None, now_ms).await? {
        return Err(out_of_step("this payment is not waiting for the partner's answer").into());
    }
    reread(db, tid).await
}

async fn fail(db: &mut impl Conn, tid: i64, reason: &str, now_ms: i64) -> CmdResult<CmsPayment> {
    let before = reread(db, tid).await?;
    if !matches!(before.state.as_str(), "initiated" | "approved")
        || !ops::set_cms_state(db, tid, &before.state, "failed", reason, None, now_ms).await?
    {
        return Err(out_of_step("this payment is already final").into());
    }
    let failed = reread(db, tid).await?;
    outbox::append_event(db, PartnerId::new(failed.partner_id), &cms_event(&failed, now_ms), now_ms).await?;
    Ok(failed)
}

async fn confirm(db: &mut impl Conn, c: &ConfirmCmsPayment, now_ms: i64) -> CmdResult<CmsOutcome> {
    let session = open_session(db, c.session_id, now_ms).await?;
    let payment = reread(db, c.tid).await?;
    if payment.session_id != session.id || payment.state != "approved" {
        return Err(out_of_step("this payment is not waiting for confirmation on this page").into());
    }
    let same =
        payment.biller_id == c.biller_id && payment.loan_reference == c.loan_reference && payment.amount.get() == c.amount_paise;
    if !same {
        return Ok(CmsOutcome::Tampered(fail(db, c.tid, TAMPERED, now_ms).await?));
    }
    let entry_id = record_debit(db, &payment, now_ms).await?;
    ops::set_cms_state(db, c.tid, "approved", "success", "", Some(entry_id), now_ms).await?;
    ops::set_session_state(db, session.id, "opened", "used", now_ms).await?;
    let paid = reread(db, c.tid).await?;
    outbox::append_event(db, PartnerId::new(paid.partner_id), &cms_event(&paid, now_ms), now_ms).await?;
    let wallet = ledger::balance_of(db, paid.partner_id, &AccountKind::PartnerWallet).await?;
    Ok(CmsOutcome::Paid { payment: paid, wallet })
}

/// One entry: the wallet pays the EMI less its commission net of TDS; the biller
/// network is owed the EMI less the commission it pays; the TDS is payable.
async fn record_debit(db: &mut impl Conn, p: &CmsPayment, now_ms: i64) -> CmdResult<i64> {
    let (amount, commission, tds) = (p.amount.get(), p.commission.get(), p.tds.get());
    let pid = PartnerId::new(p.partner_id);
    let mut legs = vec![
        LegSpec::new(pid, &AccountKind::PartnerWallet, Side::Debit, amount - commission + tds),
        LegSpec::new(pid, &AccountKind::RailClearing { rail: "cms" }, Side::Credit, amount - commission),
    ];
    if tds > 0 {
        legs.push(LegSpec::new(pid, &AccountKind::TdsPayable, Side::Credit, tds));
    }
    match record_entry(db, pid, "cms_payment", &p.tid.to_string(), &legs, false, now_ms).await? {
        Outcome::EntryRecorded { entry_id, .. } => Ok(entry_id),
        other => Err(SqlError::Decode(format!("unexpected ledger outcome {other:?}")).into()),
    }
}

fn cms_event(p: &CmsPayment, now_ms: i64) -> Event {
    Event::CmsPaymentStatusChanged(CmsPaymentStatusChanged {
        tid: p.tid,
        partner_reference: p.client_ref_id.clone(),
        user_code: p.user_code,
        old_status: PaymentStatus::Initiated,
        status: p.status(),
        amount: p.amount,
        commission: p.commission,
        tds: p.tds,
        biller_id: p.biller_id.clone(),
        biller_name: rules::biller(&p.biller_id).map_or_else(String::new, |b| b.name.to_owned()),
        loan_reference: p.loan_reference.clone(),
        reason: p.reason.clone(),
        at_ms: now_ms,
    })
}
