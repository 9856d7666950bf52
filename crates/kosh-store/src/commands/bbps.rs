//! Bill-payment commands (BBPS bills, recharges, credit-card bills). Each runs as one
//! atomic unit with everything it touches: the bill row, the payment row, its ledger
//! entry and the outbox.
//!
//! A payment's life in commands, like a transfer's:
//! 1. [`RecordBill`] stores a bill the biller answered a fetch with.
//! 2. [`NewBillPayment`] checks the bill it pays (fetched, unpaid, the same amount),
//!    records the payment (`tx_status` 2) and a **pending** ledger entry reserving the
//!    wallet debit, and claims the bill. A payment whose amount differs from the fetched
//!    bill is recorded failed with nothing reserved: the platform answers 208 with a tid.
//! 3. The server asks the biller (outside any transaction), then [`ApplyBillerReport`]
//!    applies the answer: paid → posted (0); refused before taking it → voided (1);
//!    taken then failed → voided, refunded (4); awaited (offline channel, slow biller)
//!    → stays 2 with a time to ask again, which the worker ([`ClaimDuePayments`]) keeps.
//!
//! Every status change after the partner's initial answer appends a
//! `bbps.payment_status_changed.v1` event (the status callback).

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::bbps::{self as rows, Bill, Payment};
use crate::ops::{agents, dmt_customers, dmt_recipients, dmt_transfers, ledger, outbox};
use crate::sql::Conn;
use kosh_core::bbps::{self, BbpsRejection, PaymentKind};
use kosh_core::dmt::{DmtRejection, TxStatus};
use kosh_core::events::{BillPaymentStatusChanged, Event};
use kosh_core::ids::{PartnerId, RecipientId, Tid, UserCode};
use kosh_core::ledger::{AccountKind, Entry, EntryState, Leg, Side};
use kosh_core::money::Paise;
use kosh_core::pricing::{Charges, Pricing};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The ledger entry kind of a bill payment.
pub const ENTRY_KIND: &str = "bbps_payment";

/// A bill-payment command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BbpsCommand {
    /// Stores a fetched bill (or finds it paid already).
    RecordBill(RecordBill),
    /// Records a payment and reserves its debit; the biller is asked afterwards.
    RecordPayment(NewBillPayment),
    /// Applies what the biller said about payment `tid`.
    ApplyBillerReport(ApplyBillerReport),
    /// Leases up to `limit` payments whose time to ask the biller has come.
    ClaimDuePayments(ClaimDuePayments),
}

/// A bill the biller answered a fetch with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBill {
    /// The partner the command acts for; it reads and changes only that partner's rows.
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
    /// When the bill was issued, as the biller prints it.
    pub bill_date: String,
    /// When the bill falls due, as the biller prints it.
    pub due_date: String,
    /// The biller's (BBPS) reference.
    pub biller_reference: String,
    /// The opaque `billfetchresponse` (random, made by the caller).
    pub fetch_token: String,
}

/// Which fetched bill a payment pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillChoice {
    /// The operator does not fetch: no bill (recharges, DTH, credit cards).
    NoFetch,
    /// The latest bill fetched for the account.
    Latest,
    /// The bill with this `billfetchresponse`.
    Token(String),
}

/// A payment request, checked for shape (and against the operator's rules) by the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBillPayment {
    /// The partner paying; its wallet pays.
    pub partner_id: PartnerId,
    /// The agent at whose counter the customer stands; 0 when the request names none
    /// (a credit-card bill may not).
    pub user_code: UserCode,
    /// The partner's unique reference.
    pub client_ref_id: String,
    /// A catalogue bill or a credit-card bill.
    pub kind: PaymentKind,
    /// The biller (`operator_id` of the catalogue).
    pub operator_id: i64,
    /// The operator's name, from this server's catalogue.
    pub operator_name: String,
    /// For a credit-card bill: replaced by the recipient's account.
    pub utility_acc_no: String,
    /// The customer's mobile (`confirmation_mobile_no`; for a card bill the DMT customer).
    pub customer_mobile: String,
    /// For a credit-card bill: replaced by the DMT customer's name.
    pub sender_name: String,
    /// For a credit-card bill: the DMT recipient paid; it must be the customer's.
    pub recipient_id: Option<RecipientId>,
    /// The amount, in paise.
    pub amount_paise: Paise,
    /// The offline (high-commission) channel.
    pub hc_channel: bool,
    /// Which fetched bill it pays.
    pub bill: BillChoice,
    /// This server's pricing table for the channel.
    pub pricing: Pricing,
    /// How long the request may take to report the biller's first answer before the
    /// worker takes over.
    pub recovery_ms: i64,
}

impl NewBillPayment {
    /// The fields the partner sent (see [`super::Command::fingerprint_fields`]), not this
    /// server's settings or catalogue. Destructured in full so a new field must be sorted.
    pub fn fingerprint_fields(&self) -> Value {
        let NewBillPayment {
            partner_id,
            user_code,
            client_ref_id,
            kind,
            operator_id,
            operator_name: _,
            utility_acc_no,
            customer_mobile,
            sender_name,
            recipient_id,
            amount_paise,
            hc_channel,
            bill,
            pricing: _,
            recovery_ms: _,
        } = self;
        json!({
            "partner_id": partner_id, "user_code": user_code, "client_ref_id": client_ref_id, "kind": kind,
            "operator_id": operator_id, "utility_acc_no": utility_acc_no, "customer_mobile": customer_mobile,
            "sender_name": sender_name, "recipient_id": recipient_id, "amount_paise": amount_paise,
            "hc_channel": hc_channel, "bill": bill,
        })
    }
}

/// What a biller said about a payment, in the store's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillerReport {
    /// The biller accepted the payment.
    Paid {
        /// The biller's (BBPS) reference for it.
        biller_reference: String,
    },
    /// The biller refused it.
    Failed {
        /// The biller's reason, as the partner will see it.
        reason: String,
        /// True when the biller had taken the payment before failing it.
        accepted: bool,
    },
    /// Not final: ask again at `check_at_ms`.
    Awaited {
        /// When to ask the biller again (ms since the epoch).
        check_at_ms: i64,
    },
    /// The biller could not be reached: nothing was paid.
    Unavailable {
        /// Why, kept as the payment's `reason`.
        reason: String,
        /// When to try again (ms since the epoch).
        retry_at_ms: i64,
    },
}

/// Applies what the biller said about payment `tid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyBillerReport {
    /// The partner the row or command belongs to (`partners.id`).
    pub partner_id: PartnerId,
    /// The payment's transaction id.
    pub tid: Tid,
    /// What the biller said.
    pub report: BillerReport,
    /// The partner has had its first answer: a change is announced through the outbox.
    pub notify: bool,
}

/// Leases up to `limit` payments whose time to ask the biller has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimDuePayments {
    /// How long a claimed payment is leased to this worker, in ms.
    pub lease_ms: i64,
    /// Most payments per claim.
    pub limit: i64,
}

/// A payment, and the partner's available e-value after the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    /// The payment after the command.
    pub payment: Payment,
    /// The partner's available e-value after the command, in paise.
    pub balance_paise: i64,
}

/// What a [`BbpsCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BbpsOutcome {
    /// The bill, stored.
    BillRecorded(Bill),
    /// The same bill was paid before (by `tid`): nothing is due.
    BillAlreadyPaid {
        /// The payment that paid it.
        tid: Tid,
    },
    /// Recorded, its debit reserved (or, for a mismatch, recorded failed).
    PaymentRecorded(PaymentView),
    /// The amount differs from the fetched bill: recorded failed, nothing reserved.
    AmountMismatch {
        /// The failed payment, and the wallet (untouched).
        view: PaymentView,
        /// The fetched bill's amount.
        bill_amount_paise: Paise,
    },
    /// `changed` is false when the payment had already moved on.
    PaymentUpdated {
        /// The payment after the report, and the wallet.
        view: PaymentView,
        /// False when the payment had already moved on (another writer).
        changed: bool,
    },
    /// The payments leased to the caller.
    DuePayments(Vec<Payment>),
}

impl BbpsOutcome {
    /// Ledger entries posted (for metrics).
    pub fn entries_posted(&self) -> u64 {
        matches!(self, Self::PaymentUpdated { view, changed: true } if view.payment.tx_status == TxStatus::Success).into()
    }

    /// Ledger entries recorded pending (for metrics).
    pub fn entries_pending(&self) -> u64 {
        matches!(self, Self::PaymentRecorded(_)).into()
    }

    /// Ledger entries voided (for metrics).
    pub fn entries_voided(&self) -> u64 {
        let voided = |v: &PaymentView| matches!(v.payment.tx_status, TxStatus::Fail | TxStatus::Refunded);
        matches!(self, Self::PaymentUpdated { view, changed: true } if voided(view)).into()
    }
}

/// What [`RecordBill`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillFetch {
    /// The bill, stored (boxed: far larger than the other answer).
    Recorded(Box<Bill>),
    /// The same bill was paid before: nothing is due.
    AlreadyPaid {
        /// The payment that paid it.
        tid: Tid,
    },
}

/// What [`NewBillPayment`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentRecord {
    /// Recorded, its debit reserved; the biller has not been asked yet.
    Recorded(PaymentView),
    /// The amount differs from the fetched bill: recorded failed, nothing reserved.
    AmountMismatch {
        /// The failed payment, and the wallet (untouched).
        view: PaymentView,
        /// The fetched bill's amount.
        bill_amount_paise: Paise,
    },
}

/// What [`ApplyBillerReport`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentUpdate {
    /// The payment after the report, and the wallet.
    pub view: PaymentView,
    /// False when the payment had already moved on (another writer).
    pub changed: bool,
}

fn bbps_outcome(outcome: Outcome) -> CmdResult<BbpsOutcome> {
    match outcome {
        Outcome::Bbps(o) => Ok(o),
        other => unexpected(other),
    }
}

store_command!(RecordBill => BillFetch, |c| Command::Bbps(BbpsCommand::RecordBill(c)), bbps_outcome,
    BbpsOutcome::BillRecorded(bill) => BillFetch::Recorded(Box::new(bill)),
    BbpsOutcome::BillAlreadyPaid { tid } => BillFetch::AlreadyPaid { tid });
store_command!(NewBillPayment => PaymentRecord, |c| Command::Bbps(BbpsCommand::RecordPayment(c)), bbps_outcome,
    BbpsOutcome::PaymentRecorded(view) => PaymentRecord::Recorded(view),
    BbpsOutcome::AmountMismatch { view, bill_amount_paise } => PaymentRecord::AmountMismatch { view, bill_amount_paise });
store_command!(ApplyBillerReport => PaymentUpdate, |c| Command::Bbps(BbpsCommand::ApplyBillerReport(c)), bbps_outcome,
    BbpsOutcome::PaymentUpdated { view, changed } => PaymentUpdate { view, changed });
store_command!(ClaimDuePayments => Vec<Payment>, |c| Command::Bbps(BbpsCommand::ClaimDuePayments(c)), bbps_outcome,
    BbpsOutcome::DuePayments(due) => due);

fn refuse(r: BbpsRejection) -> crate::error::CommandError {
    Rejection::Bbps(r).into()
}

fn refuse_dmt(r: DmtRejection) -> crate::error::CommandError {
    Rejection::Dmt(r).into()
}

pub(super) async fn apply(db: &mut impl Conn, cmd: &BbpsCommand, now_ms: i64) -> CmdResult<Outcome> {
    let outcome = match cmd {
        BbpsCommand::RecordBill(b) => record_bill(db, b, now_ms).await?,
        BbpsCommand::RecordPayment(p) => record_payment(db, p, now_ms).await?,
        BbpsCommand::ApplyBillerReport(ApplyBillerReport { partner_id, tid, report, notify }) => {
            apply_report(db, *partner_id, *tid, report, *notify, now_ms).await?
        }
        BbpsCommand::ClaimDuePayments(ClaimDuePayments { lease_ms, limit }) => {
            BbpsOutcome::DuePayments(rows::claim_due(db, now_ms, now_ms.saturating_add(*lease_ms), *limit).await?)
        }
    };
    Ok(Outcome::Bbps(outcome))
}

async fn record_bill(db: &mut impl Conn, b: &RecordBill, now_ms: i64) -> CmdResult<BbpsOutcome> {
    let paid = rows::paid_bill(db, b.partner_id, b.operator_id, &b.utility_acc_no, &b.bill_number).await?;
    if let Some(tid) = paid.and_then(|b| b.paid_tid) {
        return Ok(BbpsOutcome::BillAlreadyPaid { tid });
    }
    let mut bill = Bill {
        bill_id: 0,
        partner_id: b.partner_id,
        operator_id: b.operator_id,
        utility_acc_no: b.utility_acc_no.clone(),
        amount_paise: b.amount_paise,
        customer_name: b.customer_name.clone(),
        bill_number: b.bill_number.clone(),
        bill_date: b.bill_date.clone(),
        due_date: b.due_date.clone(),
        biller_reference: b.biller_reference.clone(),
        fetch_token: b.fetch_token.clone(),
        fetched_at_ms: now_ms,
        paid_tid: None,
    };
    bill.bill_id = rows::insert_bill(db, &bill).await?;
    Ok(BbpsOutcome::BillRecorded(bill))
}

/// The bill a payment pays, unpaid; `None` for an operator that does not fetch.
async fn chosen_bill(db: &mut impl Conn, p: &NewBillPayment) -> CmdResult<Option<Bill>> {
    let bill = match &p.bill {
        BillChoice::NoFetch => return Ok(None),
        BillChoice::Latest => rows::latest_bill(db, p.partner_id, p.operator_id, &p.utility_acc_no).await?,
        BillChoice::Token(token) => {
            let bill = rows::bill_by_token(db, p.partner_id, token).await?;
            let ours = |b: &Bill| b.operator_id == p.operator_id && b.utility_acc_no == p.utility_acc_no;
            Some(bill.filter(ours).ok_or_else(|| refuse(BbpsRejection::UnknownBillFetchResponse))?)
        }
    };
    let bill = bill.ok_or_else(|| refuse(BbpsRejection::BillNotFetched))?;
    match bill.paid_tid {
        Some(tid) => Err(refuse(BbpsRejection::BillAlreadyPaid { tid })),
        None => Ok(Some(bill)),
    }
}

/// A credit-card bill's account and customer name: its recipient's and its customer's.
async fn card_holder(db: &mut impl Conn, p: &NewBillPayment) -> CmdResult<(String, String)> {
    let customer = dmt_customers::get(db, p.partner_id, &p.customer_mobile).await?;
    let customer = customer.ok_or_else(|| refuse_dmt(DmtRejection::CustomerNotFound))?;
    if !customer.state.may_transact() {
        return Err(refuse_dmt(DmtRejection::CustomerNotVerified));
    }
    let recipient_id = p.recipient_id.ok_or_else(|| refuse_dmt(DmtRejection::RecipientNotFound))?;
    let recipient = dmt_recipients::get(db, p.partner_id, recipient_id).await?;
    let recipient = recipient.ok_or_else(|| refuse_dmt(DmtRejection::RecipientNotFound))?;
    if recipient.customer_mobile != customer.mobile {
        return Err(refuse_dmt(DmtRejection::RecipientOfAnotherCustomer));
    }
    Ok((recipient.details.account, customer.name))
}

async fn record_payment(db: &mut impl Conn, p: &NewBillPayment, now_ms: i64) -> CmdResult<BbpsOutcome> {
    super::require_partner(db, p.partner_id).await?;
    if p.user_code.get() != 0 {
        agents::get(db, p.partner_id, p.user_code).await?.ok_or(Rejection::AgentNotFound)?;
    }
    bbps::check_amount(p.amount_paise.get()).map_err(|m| refuse(BbpsRejection::AmountOutOfBounds(m)))?;
    p.pricing.validate().map_err(Rejection::InvalidEntry)?;
    let (account, sender_name) = match p.kind {
        PaymentKind::CreditCard => card_holder(db, p).await?,
        PaymentKind::Bill => (p.utility_acc_no.clone(), p.sender_name.clone()),
    };
    let bill = chosen_bill(db, p).await?;
    let tid = rows::next_tid(db).await?;
    let mut payment = Payment {
        tid,
        partner_id: p.partner_id,
        client_ref_id: p.client_ref_id.clone(),
        user_code: p.user_code,
        kind: p.kind,
        operator_id: p.operator_id,
        operator_name: p.operator_name.clone(),
        utility_acc_no: account,
        customer_mobile: p.customer_mobile.clone(),
        sender_name,
        recipient_id: p.recipient_id,
        bill_id: bill.as_ref().map(|b| b.bill_id),
        bill_number: bill.as_ref().map(|b| b.bill_number.clone()).unwrap_or_default(),
        bill_date: bill.as_ref().map(|b| b.bill_date.clone()).unwrap_or_default(),
        bill_customer_name: bill.as_ref().map(|b| b.customer_name.clone()).unwrap_or_default(),
        hc_channel: p.hc_channel,
        charges: p.pricing.charges(p.amount_paise),
        entry_id: None,
        tx_status: TxStatus::Initiated,
        answered: false,
        biller_reference: String::new(),
        reason: String::new(),
        check_at_ms: Some(now_ms.saturating_add(p.recovery_ms)),
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    if let Some(bill) = bill.as_ref().filter(|b| b.amount_paise != p.amount_paise) {
        return mismatch(db, payment, bill).await;
    }
    if let Some(bill) = &bill {
        if !rows::claim_bill(db, bill.bill_id, tid).await? {
            let current = rows::bill_by_token(db, p.partner_id, &bill.fetch_token).await?;
            let holder = current.and_then(|b| b.paid_tid);
            return Err(holder
                .map_or_else(|| refuse(BbpsRejection::BillNotFetched), |tid| refuse(BbpsRejection::BillAlreadyPaid { tid })));
        }
    }
    let entry = payment_entry(db, p.partner_id, &payment.charges, now_ms).await?;
    let entry_id = ledger::record(db, p.partner_id, ENTRY_KIND, &tid.to_string(), &entry, EntryState::Pending, now_ms).await?;
    payment.entry_id = Some(entry_id);
    rows::insert(db, &payment).await?;
    Ok(BbpsOutcome::PaymentRecorded(view(db, payment).await?))
}

/// Records a payment whose amount is not the fetched bill's: failed, nothing reserved.
async fn mismatch(db: &mut impl Conn, mut payment: Payment, bill: &Bill) -> CmdResult<BbpsOutcome> {
    let zero = Paise::ZERO;
    payment.charges = Charges {
        amount_paise: payment.charges.amount_paise,
        fee_paise: zero,
        gst_paise: zero,
        commission_paise: zero,
        tds_paise: zero,
    };
    payment.tx_status = TxStatus::Fail;
    payment.answered = true;
    payment.check_at_ms = None;
    payment.reason = format!(
        "amount mismatch: the amount paid ({}) is not the fetched bill's amount ({})",
        payment.charges.amount_paise, bill.amount_paise
    );
    rows::insert(db, &payment).await?;
    Ok(BbpsOutcome::AmountMismatch { view: view(db, payment).await?, bill_amount_paise: bill.amount_paise })
}

/// The payment's ledger entry: the wallet pays amount + fee − commission + TDS; the
/// BBPS clearing account receives the amount, the platform its revenue, GST and TDS.
async fn payment_entry(db: &mut impl Conn, partner_id: PartnerId, c: &Charges, now_ms: i64) -> CmdResult<Entry> {
    let [wallet, clearing, revenue, gst, tds] = dmt_transfers::ledger_accounts(db, partner_id, "bbps", now_ms).await?;
    let legs = [
        (wallet, Side::Debit, c.debit_paise()),
        (clearing, Side::Credit, Some(c.amount_paise)),
        (revenue, Side::Credit, c.revenue_paise()),
        (gst, Side::Credit, Some(c.gst_paise)),
        (tds, Side::Credit, Some(c.tds_paise)),
    ];
    let mut resolved = Vec::with_capacity(legs.len());
    for (account_id, side, amount) in legs {
        let amount = amount.ok_or_else(|| Rejection::InvalidEntry(format!("a leg of charges {c:?} is out of range")))?;
        if !amount.is_zero() {
            resolved.push(Leg { account_id, side, amount });
        }
    }
    Entry::new(resolved).map_err(|e| Rejection::InvalidEntry(e.to_string()).into())
}

async fn view(db: &mut impl Conn, payment: Payment) -> CmdResult<PaymentView> {
    let balance_paise = ledger::balance_of(db, payment.partner_id.get(), &AccountKind::PartnerWallet).await?.available_credit();
    Ok(PaymentView { payment, balance_paise })
}

/// The status a report moves a payment to, or `None` when it changes nothing. A refusal
/// heard before the partner's first answer is a plain failure (nothing was ever taken);
/// after it, or once the biller had taken the payment, the debit is refunded.
fn next_status(p: &Payment, report: &BillerReport) -> Option<TxStatus> {
    let to = match report {
        BillerReport::Paid { .. } => TxStatus::Success,
        BillerReport::Failed { accepted: false, .. } | BillerReport::Unavailable { .. } if !p.answered => TxStatus::Fail,
        BillerReport::Failed { .. } => TxStatus::Refunded,
        BillerReport::Unavailable { .. } | BillerReport::Awaited { .. } => TxStatus::Initiated,
    };
    bbps::may_become(p.tx_status, to).then_some(to)
}

async fn apply_report(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
    report: &BillerReport,
    notify: bool,
    now_ms: i64,
) -> CmdResult<BbpsOutcome> {
    let before = payment(db, partner_id, tid).await?;
    let Some(to) = next_status(&before, report) else { return unchanged(db, before).await };
    let mut after = Payment { tx_status: to, answered: true, updated_at_ms: now_ms, check_at_ms: None, ..before.clone() };
    match report {
        BillerReport::Paid { biller_reference } => after.biller_reference = biller_reference.clone(),
        BillerReport::Failed { reason, .. } => after.reason = reason.clone(),
        BillerReport::Awaited { check_at_ms } => after.check_at_ms = Some(*check_at_ms),
        BillerReport::Unavailable { reason, retry_at_ms } => {
            after.reason = reason.clone();
            if to == TxStatus::Initiated {
                after.check_at_ms = Some(*retry_at_ms);
            }
        }
    }
    if !rows::update(db, &after, before.tx_status).await? {
        let current = payment(db, partner_id, tid).await?;
        return unchanged(db, current).await;
    }
    resolve_money(db, &after, now_ms).await?;
    if notify && to != before.tx_status {
        outbox::append_event(db, partner_id, &status_event(&after, before.tx_status, now_ms)?, now_ms).await?;
    }
    Ok(BbpsOutcome::PaymentUpdated { view: view(db, after).await?, changed: true })
}

/// Posts the reserved debit of a paid payment; voids it (and frees its bill) for a
/// failed one.
async fn resolve_money(db: &mut impl Conn, p: &Payment, now_ms: i64) -> CmdResult<()> {
    let Some(entry_id) = p.entry_id else { return Ok(()) };
    match p.tx_status {
        TxStatus::Success => ledger::resolve(db, entry_id, EntryState::Posted, now_ms).await?,
        TxStatus::Fail | TxStatus::Refunded => {
            ledger::resolve(db, entry_id, EntryState::Voided, now_ms).await?;
            if let Some(bill_id) = p.bill_id {
                rows::release_bill(db, bill_id, p.tid).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

async fn payment(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> CmdResult<Payment> {
    rows::get(db, partner_id, tid).await?.ok_or_else(|| refuse(BbpsRejection::PaymentNotFound))
}

async fn unchanged(db: &mut impl Conn, payment: Payment) -> CmdResult<BbpsOutcome> {
    Ok(BbpsOutcome::PaymentUpdated { view: view(db, payment).await?, changed: false })
}

/// The status change as the outbox stores it; the Eko dialect renders the status
/// callback from it at delivery.
pub fn status_event(p: &Payment, old: TxStatus, now_ms: i64) -> CmdResult<Event> {
    let c = &p.charges;
    Ok(Event::BillPaymentStatusChanged(BillPaymentStatusChanged {
        tid: p.tid,
        partner_reference: p.client_ref_id.clone(),
        user_code: p.user_code,
        old_status: old,
        status: p.tx_status,
        payment_kind: p.kind,
        operator_id: p.operator_id,
        operator_name: p.operator_name.clone(),
        account: p.utility_acc_no.clone(),
        amount: c.amount_paise,
        fee: c.fee_paise,
        gst: c.gst_paise,
        commission: c.commission_paise,
        tds: c.tds_paise,
        biller_reference: p.biller_reference.clone(),
        sender_name: p.sender_name.clone(),
        customer_mobile: p.customer_mobile.clone(),
        reason: p.reason.clone(),
        at_ms: now_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status: TxStatus, answered: bool) -> Payment {
        Payment {
            tid: Tid::new(6_000_000_001),
            partner_id: PartnerId::new(1),
            client_ref_id: "B1".into(),
            user_code: UserCode::new(20_810_200),
            kind: PaymentKind::Bill,
            operator_id: 1,
            operator_name: "BSES Rajdhani".into(),
            utility_acc_no: "151627591".into(),
            customer_mobile: "9999999999".into(),
            sender_name: "Kaushik".into(),
            recipient_id: None,
            bill_id: Some(3),
            bill_number: "BN0000000001".into(),
            bill_date: "01-11-2023".into(),
            bill_customer_name: "RAMANI DEKA".into(),
            hc_channel: false,
            charges: Pricing::default().charges(Paise::new(67_300).unwrap()),
            entry_id: Some(9),
            tx_status: status,
            answered,
            biller_reference: String::new(),
            reason: String::new(),
            check_at_ms: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn reports_move_payments_along_the_state_machine() {
        let refused = BillerReport::Failed { reason: "no".into(), accepted: false };
        let taken = BillerReport::Failed { reason: "reversed".into(), accepted: true };
        let down = BillerReport::Unavailable { reason: "down".into(), retry_at_ms: 5 };
        let paid = BillerReport::Paid { biller_reference: "R".into() };
        assert_eq!(next_status(&payment(TxStatus::Initiated, false), &refused), Some(TxStatus::Fail));
        assert_eq!(next_status(&payment(TxStatus::Initiated, false), &down), Some(TxStatus::Fail));
        assert_eq!(next_status(&payment(TxStatus::Initiated, false), &taken), Some(TxStatus::Refunded));
        assert_eq!(next_status(&payment(TxStatus::Initiated, true), &refused), Some(TxStatus::Refunded));
        assert_eq!(next_status(&payment(TxStatus::Initiated, true), &down), Some(TxStatus::Initiated));
        assert_eq!(next_status(&payment(TxStatus::Initiated, true), &paid), Some(TxStatus::Success));
        for done in [TxStatus::Success, TxStatus::Fail, TxStatus::Refunded] {
            assert_eq!(next_status(&payment(done, true), &paid), None, "{done:?}");
        }
    }

    #[test]
    fn the_status_event_is_typed_and_carries_no_wire_field_names() {
        let mut p = payment(TxStatus::Success, true);
        p.biller_reference = "BBPS123".into();
        let Event::BillPaymentStatusChanged(e) = status_event(&p, TxStatus::Initiated, 1_700_000_000_000).unwrap() else {
            panic!("a bill payment's status change")
        };
        assert_eq!((e.old_status, e.status, e.amount.get()), (TxStatus::Initiated, TxStatus::Success, 67_300));
        let stored = serde_json::to_value(Event::BillPaymentStatusChanged(e)).unwrap();
        assert_eq!(stored["kind"], "bbps.payment_status_changed.v1");
        for wire in kosh_core::events::DIALECT_FIELD_NAMES {
            assert!(stored.get(wire).is_none(), "{wire} in {stored}");
        }
        assert!(Event::from_payload(&stored).unwrap().is_some());
    }
}
