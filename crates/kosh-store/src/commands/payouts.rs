//! Payout commands (fund transfers, UPI payments). Each runs as one atomic unit with
//! everything it touches: the order row, its ledger entry and the outbox.
//!
//! An order's life in commands:
//! 1. [`NewPayout`] (`RecordPayout`) checks the agent's service, the amount and the
//!    mode's rules, prices the payout, records the order (`tx_status` 2) and a
//!    **pending** ledger entry reserving amount + fee. Run under the partner's
//!    `client_ref_id` idempotency key, so a duplicate (even a concurrent one) answers
//!    the first order and debits once.
//! 2. The server asks the rail (outside any transaction), then [`ApplyPayoutReport`]
//!    applies the answer: settled → posted (0); refused before the bank took it →
//!    voided (1); failed after the bank took it → voided, the money back in the wallet
//!    at once (4, refunded); waiting → 2, or hold 5, with a time to ask again.
//! 3. If the server dies between 1 and 2, the order's `check_at_ms` (set in 1) comes
//!    due and the payout worker, claiming it with [`ClaimDuePayouts`], finishes it.
//!
//! Every move to a final status appends a typed `PayoutStatusChanged` event: the
//! partner's common status callback.

use super::dmt::RailReport;
use super::{require_partner, store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::dmt_transfers;
use crate::ops::payouts::{self as orders, PayoutOrder, SettlementAccount};
use crate::ops::{agents, ledger, outbox, services};
use crate::sql::Conn;
use kosh_core::dmt::TxStatus;
use kosh_core::events::{Event, PayoutStatusChanged};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Entry, EntryState, Leg, Side};
use kosh_core::money::Paise;
use kosh_core::payouts::{self as rules, PaymentMode, PayoutRejection};
use kosh_core::pricing::{Charges, Pricing};
use kosh_core::settlement::{self, SETTLEMENT_SERVICE_CODE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The ledger entry kind of a payout.
pub const ENTRY_KIND: &str = "payout";

/// A payout command: record, apply the rail's report, claim due orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayoutCommand {
    /// Records a payout and reserves its debit; the rail is asked afterwards. Boxed:
    /// a request is much larger than the other commands.
    RecordPayout(Box<NewPayout>),
    /// Applies what the rail said about payout `tid`.
    ApplyPayoutReport(ApplyPayoutReport),
    /// Leases up to `limit` orders whose time to ask the rail has come.
    ClaimDuePayouts(ClaimDuePayouts),
    /// Registers an agent's bank account for AePS fund settlement.
    AddSettlementAccount(AddSettlementAccount),
}

/// Registers an agent's bank account for AePS fund settlement (its service 39 must be
/// active).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddSettlementAccount {
    /// The account; `recipient_id` and `created_at_ms` are ignored (the store sets them).
    pub account: SettlementAccount,
}

/// What makes a payout an AePS fund settlement (service 39).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementOrder {
    /// The agent's settlement account paid (its account, IFSC and name are used).
    pub recipient_id: i64,
    /// When the settlement may go to the bank: the request's time inside the window,
    /// otherwise the next window's opening (a server setting: the holiday table).
    pub submit_at_ms: i64,
}

/// A payout request, checked for shape by the dialect adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPayout {
    /// The partner paying; its wallet is debited.
    pub partner_id: PartnerId,
    /// The agent it is made for (its service 45 must be active); 0: the partner itself.
    pub user_code: UserCode,
    /// The service the agent must have active (45 payouts; UPI payments too).
    pub service_code: u16,
    /// The partner's unique reference.
    pub client_ref_id: String,
    /// NEFT, IMPS, RTGS or UPI.
    pub mode: PaymentMode,
    /// What the beneficiary gets.
    pub amount_paise: Paise,
    /// The beneficiary's name.
    pub recipient_name: String,
    /// Account number (checked), or VPA for UPI (checked).
    pub account: String,
    /// IFSC (checked); empty for UPI.
    pub ifsc: String,
    /// The sender's name.
    pub sender_name: String,
    /// The purpose, free text.
    pub tag: String,
    /// 1 savings, 2 current.
    pub account_type: Option<i64>,
    /// For a settlement (service 39): the account and when it may be submitted.
    pub settlement: Option<SettlementOrder>,
    /// This server's fee table.
    pub pricing: Pricing,
    /// How long the request may take to report the rail's first answer before the
    /// payout worker takes over.
    pub recovery_ms: i64,
}

impl NewPayout {
    /// The fields the partner sent (see [`Command::fingerprint_fields`]): not `pricing`
    /// nor `recovery_ms`, which are this server's settings.
    pub fn fingerprint_fields(&self) -> Value {
        let NewPayout {
            partner_id,
            user_code,
            service_code,
            client_ref_id,
            mode,
            amount_paise,
            recipient_name,
            account,
            ifsc,
            sender_name,
            tag,
            account_type,
            settlement,
            pricing: _,
            recovery_ms: _,
        } = self;
        json!({
            "partner_id": partner_id, "user_code": user_code, "service_code": service_code,
            "client_ref_id": client_ref_id, "mode": mode, "amount_paise": amount_paise,
            "recipient_name": recipient_name, "account": account, "ifsc": ifsc,
            "sender_name": sender_name, "tag": tag, "account_type": account_type,
            "recipient_id": settlement.as_ref().map(|s| s.recipient_id),
        })
    }
}

/// Applies what the rail said about payout `tid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPayoutReport {
    /// The partner the payout belongs to.
    pub partner_id: PartnerId,
    /// The payout.
    pub tid: i64,
    /// What the rail said.
    pub report: RailReport,
    /// How long after settling a payout is asked about once more, for a reversal (the
    /// beneficiary bank returning the money); 0: never (a server setting).
    pub reversal_watch_ms: i64,
}

/// Leases up to `limit` orders whose time to ask the rail has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimDuePayouts {
    /// How long a claimed order is leased to this worker, in ms.
    pub lease_ms: i64,
    /// Most orders per claim.
    pub limit: i64,
}

/// A payout and the partner's available e-value after the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutView {
    /// The order after the command.
    pub order: PayoutOrder,
    /// The partner's available e-value after it, in paise.
    pub balance_paise: i64,
}

/// What a [`PayoutCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayoutOutcome {
    /// Recorded, its debit reserved; the rail has not been asked yet.
    Recorded(PayoutView),
    /// `changed` false: the order had already moved on (another writer).
    Updated {
        /// The order after the report, and the wallet.
        view: PayoutView,
        /// False when nothing changed.
        changed: bool,
    },
    /// The orders leased to the caller.
    Due(Vec<PayoutOrder>),
    /// The settlement account, as registered.
    AccountAdded(SettlementAccount),
}

/// What [`ApplyPayoutReport`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutUpdate {
    /// The order after the report, and the wallet.
    pub view: PayoutView,
    /// False when the order had already moved on.
    pub changed: bool,
}

impl PayoutOutcome {
    /// Ledger entries posted (for metrics).
    pub fn entries_posted(&self) -> u64 {
        matches!(self, Self::Updated { view, changed: true } if view.order.tx_status == TxStatus::Success).into()
    }

    /// Ledger entries recorded pending (for metrics).
    pub fn entries_pending(&self) -> u64 {
        matches!(self, Self::Recorded(_)).into()
    }

    /// Ledger entries voided (for metrics).
    pub fn entries_voided(&self) -> u64 {
        matches!(self, Self::Updated { view, changed: true } if matches!(view.order.tx_status, TxStatus::Fail | TxStatus::Refunded))
            .into()
    }
}

fn payout_outcome(outcome: Outcome) -> CmdResult<PayoutOutcome> {
    match outcome {
        Outcome::Payout(p) => Ok(p),
        other => unexpected(other),
    }
}

store_command!(PayoutCommand => PayoutOutcome, Command::Payout, payout_outcome, o => o);
store_command!(NewPayout => PayoutView, |c| Command::Payout(PayoutCommand::RecordPayout(Box::new(c))), payout_outcome,
    PayoutOutcome::Recorded(view) => view);
store_command!(ApplyPayoutReport => PayoutUpdate, |c| Command::Payout(PayoutCommand::ApplyPayoutReport(c)), payout_outcome,
    PayoutOutcome::Updated { view, changed } => PayoutUpdate { view, changed });
store_command!(AddSettlementAccount => SettlementAccount, |c| Command::Payout(PayoutCommand::AddSettlementAccount(c)), payout_outcome,
    PayoutOutcome::AccountAdded(account) => account);
store_command!(ClaimDuePayouts => Vec<PayoutOrder>, |c| Command::Payout(PayoutCommand::ClaimDuePayouts(c)), payout_outcome,
    PayoutOutcome::Due(due) => due);

fn refuse(r: PayoutRejection) -> crate::error::CommandError {
    Rejection::Payout(r).into()
}

pub(super) async fn apply(db: &mut impl Conn, cmd: &PayoutCommand, now_ms: i64) -> CmdResult<Outcome> {
    let outcome = match cmd {
        PayoutCommand::RecordPayout(new) => PayoutOutcome::Recorded(record(db, new, now_ms).await?),
        PayoutCommand::ApplyPayoutReport(ApplyPayoutReport { partner_id, tid, report, reversal_watch_ms }) => {
            let before = orders::get(db, *partner_id, *tid).await?.ok_or_else(|| refuse(PayoutRejection::NotFound))?;
            if before.tx_status == TxStatus::Success {
                after_success(db, before, report, now_ms).await?
            } else {
                apply_report(db, before, report, *reversal_watch_ms, now_ms).await?
            }
        }
        PayoutCommand::ClaimDuePayouts(ClaimDuePayouts { lease_ms, limit }) => {
            PayoutOutcome::Due(orders::claim_due(db, now_ms, now_ms.saturating_add(*lease_ms), *limit).await?)
        }
        PayoutCommand::AddSettlementAccount(AddSettlementAccount { account }) => {
            PayoutOutcome::AccountAdded(add_account(db, account, now_ms).await?)
        }
    };
    Ok(Outcome::Payout(outcome))
}

async fn require_service(
    db: &mut impl Conn,
    partner_id: PartnerId,
    user_code: UserCode,
    service_code: u16,
    now_ms: i64,
) -> CmdResult<()> {
    agents::get(db, partner_id, user_code).await?.ok_or(Rejection::AgentNotFound)?;
    let standing = services::get(db, partner_id, user_code, service_code).await?;
    if !standing.is_some_and(|s| s.is_active_at(now_ms)) {
        return Err(Rejection::ServiceNotActive.into());
    }
    Ok(())
}

async fn add_account(db: &mut impl Conn, a: &SettlementAccount, now_ms: i64) -> CmdResult<SettlementAccount> {
    require_partner(db, a.partner_id).await?;
    require_service(db, a.partner_id, a.user_code, SETTLEMENT_SERVICE_CODE, now_ms).await?;
    let new = SettlementAccount { recipient_id: 0, created_at_ms: now_ms, ..a.clone() };
    if let Some(added) = orders::insert_account(db, &new).await? {
        return Ok(added);
    }
    let existing = orders::accounts(db, a.partner_id, a.user_code).await?;
    let same = existing.iter().find(|e| e.account == a.account && e.ifsc == a.ifsc).map_or(0, |e| e.recipient_id);
    Err(refuse(PayoutRejection::AccountExists { recipient_id: same }))
}

/// A settlement's account (filled into the order) and its limit, checked.
async fn settlement_account(db: &mut impl Conn, p: &NewPayout, s: &SettlementOrder, now_ms: i64) -> CmdResult<SettlementAccount> {
    let accounts = orders::accounts(db, p.partner_id, p.user_code).await?;
    let account = accounts.into_iter().find(|a| a.recipient_id == s.recipient_id);
    let account = account.ok_or_else(|| refuse(PayoutRejection::UnknownSettlementAccount))?;
    let (business, settled) =
        orders::settlement_totals(db, p.partner_id, p.user_code, now_ms - settlement::SETTLEABLE_WINDOW_MS).await?;
    let (_, remaining_paise) = settlement::remaining_limit(business, settled);
    if p.amount_paise.get() > remaining_paise {
        return Err(refuse(PayoutRejection::AboveRemainingLimit { remaining_paise }));
    }
    Ok(account)
}

async fn check_request(db: &mut impl Conn, p: &NewPayout, now_ms: i64) -> CmdResult<()> {
    require_partner(db, p.partner_id).await?;
    if p.user_code.get() != 0 {
        require_service(db, p.partner_id, p.user_code, p.service_code, now_ms).await?;
    }
    rules::check_amount(p.mode, p.amount_paise).map_err(refuse)?;
    if p.mode == PaymentMode::Rtgs && !rules::rtgs_open(now_ms) {
        return Err(refuse(PayoutRejection::RtgsClosed));
    }
    p.pricing.validate().map_err(Rejection::InvalidEntry)?;
    if orders::by_client_ref(db, p.partner_id, &p.client_ref_id).await?.is_some() {
        return Err(refuse(PayoutRejection::DuplicateReference));
    }
    Ok(())
}

async fn record(db: &mut impl Conn, p: &NewPayout, now_ms: i64) -> CmdResult<PayoutView> {
    check_request(db, p, now_ms).await?;
    let mut p = p.clone();
    let mut check_at_ms = now_ms.saturating_add(p.recovery_ms);
    if let Some(s) = &p.settlement {
        let account = settlement_account(db, &p, s, now_ms).await?;
        (p.account, p.ifsc, p.recipient_name) = (account.account, account.ifsc, account.name);
        if s.submit_at_ms > now_ms {
            // Queued for the window: the payout worker submits it when it opens.
            check_at_ms = s.submit_at_ms;
        }
    }
    let p = &p;
    let charges = p.pricing.charges(p.amount_paise);
    let tid = orders::next_tid(db).await?;
    let entry = payout_entry(db, p.partner_id, p.mode, &charges, now_ms).await?;
    let entry_id = ledger::record(db, p.partner_id, ENTRY_KIND, &tid.to_string(), &entry, EntryState::Pending, now_ms).await?;
    let order = PayoutOrder {
        tid,
        partner_id: p.partner_id,
        client_ref_id: p.client_ref_id.clone(),
        user_code: p.user_code,
        service_code: p.service_code,
        recipient_id: p.settlement.as_ref().map(|s| s.recipient_id),
        mode: p.mode,
        amount_paise: charges.amount_paise.get(),
        fee_paise: charges.fee_paise.get(),
        gst_paise: charges.gst_paise.get(),
        recipient_name: p.recipient_name.clone(),
        account: p.account.clone(),
        ifsc: p.ifsc.clone(),
        sender_name: p.sender_name.clone(),
        tag: p.tag.clone(),
        account_type: p.account_type,
        entry_id,
        tx_status: TxStatus::Initiated,
        answered: false,
        bank_ref_num: String::new(),
        reason: String::new(),
        check_at_ms: Some(check_at_ms),
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    orders::insert(db, &order).await?;
    view(db, order).await
}

/// The payout's entry: the wallet pays amount + fee; the rail's clearing account
/// receives the amount, the platform the fee net of GST, and the GST payable its part.
async fn payout_entry(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mode: PaymentMode,
    c: &Charges,
    now_ms: i64,
) -> CmdResult<Entry> {
    let [wallet, clearing, revenue, gst, _tds] = dmt_transfers::ledger_accounts(db, partner_id, mode.rail_name(), now_ms).await?;
    let (amount, fee, gst_part) = (c.amount_paise.get(), c.fee_paise.get(), c.gst_paise.get());
    let legs = [
        (wallet, Side::Debit, amount + fee),
        (clearing, Side::Credit, amount),
        (revenue, Side::Credit, fee - gst_part),
        (gst, Side::Credit, gst_part),
    ];
    let mut resolved = Vec::with_capacity(legs.len());
    for (account_id, side, amount) in legs.into_iter().filter(|leg| leg.2 > 0) {
        let amount = Paise::new(amount).ok_or_else(|| Rejection::InvalidEntry(format!("leg amount {amount} is out of range")))?;
        resolved.push(Leg { account_id, side, amount });
    }
    Entry::new(resolved).map_err(|e| Rejection::InvalidEntry(e.to_string()).into())
}

async fn view(db: &mut impl Conn, order: PayoutOrder) -> CmdResult<PayoutView> {
    let balance_paise = ledger::balance_of(db, order.partner_id.get(), &AccountKind::PartnerWallet).await?.available_credit();
    Ok(PayoutView { order, balance_paise })
}

/// The status a report moves an order to, or `None` when it changes nothing.
///
/// A failure before the bank took the order (and before anyone was told it was under
/// way) is a decline: voided (1). A failure after the bank took it is refunded at once
/// (4): unlike a DMT transfer there is no customer at a counter to consent, the money
/// simply goes back to the wallet that paid. Either way the outcome depends only on
/// what the rail says, not on who asked.
pub fn next_status(o: &PayoutOrder, report: &RailReport) -> Option<TxStatus> {
    if o.tx_status.is_final() {
        return None;
    }
    let to = match report {
        RailReport::Settled { .. } => TxStatus::Success,
        RailReport::Failed { accepted: false, .. } | RailReport::Unavailable { .. } if !o.answered => TxStatus::Fail,
        RailReport::Failed { .. } => TxStatus::Refunded,
        RailReport::Unavailable { .. } => o.tx_status,
        RailReport::Waiting { hold: true, .. } => TxStatus::Hold,
        RailReport::Waiting { hold: false, .. } => match o.tx_status {
            TxStatus::Hold => TxStatus::Hold,
            _ => TxStatus::Initiated,
        },
    };
    // A declined settlement is refunded automatically (catalogue §3.7: tx_status 4).
    Some(if to == TxStatus::Fail && o.service_code == SETTLEMENT_SERVICE_CODE { TxStatus::Refunded } else { to })
}

async fn apply_report(
    db: &mut impl Conn,
    before: PayoutOrder,
    report: &RailReport,
    reversal_watch_ms: i64,
    now_ms: i64,
) -> CmdResult<PayoutOutcome> {
    let (partner_id, tid) = (before.partner_id, before.tid);
    let Some(to) = next_status(&before, report) else { return unchanged(db, before).await };
    let mut after = PayoutOrder { tx_status: to, answered: true, updated_at_ms: now_ms, check_at_ms: None, ..before.clone() };
    match report {
        RailReport::Settled { utr } => {
            after.bank_ref_num = utr.clone();
            // Asked once more later: a beneficiary bank may still return the money.
            after.check_at_ms = (reversal_watch_ms > 0).then(|| now_ms.saturating_add(reversal_watch_ms));
        }
        RailReport::Failed { reason, .. } => after.reason = reason.clone(),
        RailReport::Unavailable { reason, retry_at_ms } => {
            after.reason = reason.clone();
            if to != TxStatus::Fail {
                after.check_at_ms = Some(*retry_at_ms);
            }
        }
        RailReport::Waiting { check_at_ms, .. } => after.check_at_ms = Some(*check_at_ms),
    }
    if !orders::update(db, &after, before.tx_status, before.answered).await? {
        let current = orders::get(db, partner_id, tid).await?.ok_or_else(|| refuse(PayoutRejection::NotFound))?;
        return unchanged(db, current).await;
    }
    match to {
        TxStatus::Success => ledger::resolve(db, before.entry_id, EntryState::Posted, now_ms).await?,
        TxStatus::Fail | TxStatus::Refunded => ledger::resolve(db, before.entry_id, EntryState::Voided, now_ms).await?,
        _ => {}
    }
    if to.is_final() {
        outbox::append_event(db, partner_id, &status_event(&after, before.tx_status, now_ms)?, now_ms).await?;
    }
    Ok(PayoutOutcome::Updated { view: view(db, after).await?, changed: true })
}

/// A settled payout asked about once more: returned by the bank (a reversal) → the
/// money goes back to the wallet in a new posted entry, `tx_status` 4, with a status
/// event; still settled → nothing more is awaited.
async fn after_success(db: &mut impl Conn, before: PayoutOrder, report: &RailReport, now_ms: i64) -> CmdResult<PayoutOutcome> {
    let mut after = PayoutOrder { check_at_ms: None, updated_at_ms: now_ms, ..before.clone() };
    let reversed = match report {
        RailReport::Failed { reason, .. } => {
            (after.tx_status, after.reason) = (TxStatus::Refunded, reason.clone());
            true
        }
        RailReport::Unavailable { retry_at_ms, .. } => {
            after.check_at_ms = Some(*retry_at_ms);
            false
        }
        RailReport::Settled { .. } | RailReport::Waiting { .. } => false,
    };
    if before.check_at_ms.is_none() || !orders::update(db, &after, TxStatus::Success, before.answered).await? {
        let current = orders::get(db, before.partner_id, before.tid).await?.ok_or_else(|| refuse(PayoutRejection::NotFound))?;
        return unchanged(db, current).await;
    }
    if reversed {
        let paise = |p: i64| Paise::new(p).ok_or_else(|| Rejection::InvalidEntry(format!("a stored amount of {p} paise")));
        let charges = Charges {
            amount_paise: paise(before.amount_paise)?,
            fee_paise: paise(before.fee_paise)?,
            gst_paise: paise(before.gst_paise)?,
            commission_paise: Paise::ZERO,
            tds_paise: Paise::ZERO,
        };
        let entry = reversal_entry(db, before.partner_id, before.mode, &charges, now_ms).await?;
        ledger::record(db, before.partner_id, REVERSAL_KIND, &before.tid.to_string(), &entry, EntryState::Posted, now_ms).await?;
        outbox::append_event(db, before.partner_id, &status_event(&after, TxStatus::Success, now_ms)?, now_ms).await?;
    }
    Ok(PayoutOutcome::Updated { view: view(db, after).await?, changed: true })
}

/// The ledger entry kind of a reversal.
pub const REVERSAL_KIND: &str = "payout_reversal";

/// A reversal's entry: the payout's entry the other way round (amount and fee back to
/// the wallet).
async fn reversal_entry(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mode: PaymentMode,
    c: &Charges,
    now_ms: i64,
) -> CmdResult<Entry> {
    let forward = payout_entry(db, partner_id, mode, c, now_ms).await?;
    let flip = |side: Side| if side == Side::Debit { Side::Credit } else { Side::Debit };
    let legs = forward.legs().iter().map(|l| Leg { side: flip(l.side), ..*l }).collect();
    Entry::new(legs).map_err(|e| Rejection::InvalidEntry(e.to_string()).into())
}

async fn unchanged(db: &mut impl Conn, order: PayoutOrder) -> CmdResult<PayoutOutcome> {
    Ok(PayoutOutcome::Updated { view: view(db, order).await?, changed: false })
}

/// The status change as the outbox stores it; the Eko dialect renders the common
/// status callback's body from it at delivery.
pub fn status_event(o: &PayoutOrder, old: TxStatus, now_ms: i64) -> CmdResult<Event> {
    let paise = |amount: i64| {
        Paise::try_from(amount).map_err(|e| crate::sql::SqlError::Decode(format!("a stored charge of {amount} paise: {e}")))
    };
    Ok(Event::PayoutStatusChanged(PayoutStatusChanged {
        tid: o.tid,
        partner_reference: o.client_ref_id.clone(),
        old_status: old,
        status: o.tx_status,
        mode: o.mode,
        amount: paise(o.amount_paise)?,
        fee: paise(o.fee_paise)?,
        gst: paise(o.gst_paise)?,
        utr: o.bank_ref_num.clone(),
        recipient_name: o.recipient_name.clone(),
        account: o.account.clone(),
        ifsc: o.ifsc.clone(),
        sender_name: o.sender_name.clone(),
        account_type: o.account_type,
        reason: o.reason.clone(),
        at_ms: now_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: TxStatus, answered: bool) -> PayoutOrder {
        PayoutOrder {
            tid: 4_000_000_001,
            partner_id: PartnerId::new(1),
            client_ref_id: "P1".into(),
            user_code: UserCode::new(0),
            service_code: 45,
            recipient_id: None,
            mode: PaymentMode::Imps,
            amount_paise: 12_000,
            fee_paise: 500,
            gst_paise: 76,
            recipient_name: "Ravi".into(),
            account: "123456789012".into(),
            ifsc: "SBIN0000001".into(),
            sender_name: "Flipkarti".into(),
            tag: String::new(),
            account_type: None,
            entry_id: 3,
            tx_status: status,
            answered,
            bank_ref_num: String::new(),
            reason: String::new(),
            check_at_ms: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn reports_move_payouts_to_one_final_state() {
        let declined = RailReport::Failed { reason: "declined".into(), accepted: false };
        let returned = RailReport::Failed { reason: "returned".into(), accepted: true };
        let down = RailReport::Unavailable { reason: "down".into(), retry_at_ms: 5 };
        let hold = RailReport::Waiting { check_at_ms: 5, hold: true };
        let wait = RailReport::Waiting { check_at_ms: 5, hold: false };
        let settled = RailReport::Settled { utr: "1".into() };
        assert_eq!(next_status(&order(TxStatus::Initiated, false), &declined), Some(TxStatus::Fail));
        assert_eq!(next_status(&order(TxStatus::Initiated, false), &down), Some(TxStatus::Fail));
        assert_eq!(next_status(&order(TxStatus::Initiated, false), &returned), Some(TxStatus::Refunded));
        assert_eq!(next_status(&order(TxStatus::Hold, true), &declined), Some(TxStatus::Refunded));
        assert_eq!(next_status(&order(TxStatus::Hold, true), &down), Some(TxStatus::Hold));
        assert_eq!(next_status(&order(TxStatus::Hold, true), &wait), Some(TxStatus::Hold));
        assert_eq!(next_status(&order(TxStatus::Initiated, true), &hold), Some(TxStatus::Hold));
        assert_eq!(next_status(&order(TxStatus::Initiated, true), &settled), Some(TxStatus::Success));
        for done in [TxStatus::Success, TxStatus::Fail, TxStatus::Refunded] {
            assert_eq!(next_status(&order(done, true), &settled), None, "{done:?}");
        }
        let settlement = PayoutOrder { service_code: 39, ..order(TxStatus::Initiated, false) };
        assert_eq!(next_status(&settlement, &declined), Some(TxStatus::Refunded), "a declined settlement is refunded");
    }

    #[test]
    fn the_status_event_carries_no_wire_field_names() {
        let mut o = order(TxStatus::Success, true);
        o.bank_ref_num = "123456789012".into();
        let event = status_event(&o, TxStatus::Initiated, 1_700_000_000_000).unwrap();
        let stored = serde_json::to_value(&event).unwrap();
        assert_eq!(stored["kind"], "payout.status_changed.v1");
        for wire in kosh_core::events::DIALECT_FIELD_NAMES {
            assert!(stored.get(wire).is_none(), "{wire} in {stored}");
        }
    }
}
