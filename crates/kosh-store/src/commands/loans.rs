//! Commands of working-capital loans: disbursal and repayment, each one balanced
//! ledger entry of four legs. The e-value moves wallet to wallet (the lender's to the
//! borrowing agent's partner's, and back); the principal is kept in its own pair of
//! accounts: the lender's `loan_receivable` (debit) against the borrowing partner's
//! `loan_outstanding` (credit), so what lenders are owed always equals what agents owe.

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::loans::{self as ops, Loan, Repayment};
use crate::ops::{agents, ledger, outbox, partners};
use crate::sql::{Conn, SqlError};
use kosh_core::events::{Event, LoanChanged};
use kosh_core::ids::PartnerId;
use kosh_core::ledger::{AccountKind, Entry, EntryState, Leg, Side};
use kosh_core::loans::{self as rules, LoanRejection};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// The counter loan and repayment ids come from.
const LOAN_COUNTER: &str = "loan_id";

/// A command of loans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoanCommand {
    /// A lender disburses a loan as e-value to an agent.
    Disburse(DisburseLoan),
    /// The agent's partner repays part or all of a loan.
    Repay(RepayLoan),
}

/// A lender disburses a loan to an agent (of another partner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisburseLoan {
    /// The lender partner.
    pub lender_partner_id: i64,
    /// The borrowing agent (user_codes are unique across partners).
    pub user_code: i64,
    /// The lender's reference.
    pub client_ref_id: String,
    /// The lender's bank reference for the disbursal.
    pub bank_ref_num: String,
    /// The lender's sanction id.
    pub sanction_id: String,
    /// The principal.
    pub principal: Paise,
    /// How many tranches it is repaid in.
    pub tranches: i64,
    /// Days between tranche due dates.
    pub tranche_days: i64,
}

/// The borrowing agent's partner repays `amount` of loan `loan_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepayLoan {
    /// The paying partner (must be the borrowing agent's).
    pub partner_id: i64,
    /// The loan.
    pub loan_id: i64,
    /// The paying partner's reference.
    pub client_ref_id: String,
    /// What is repaid.
    pub amount: Paise,
}

/// What a loan command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoanOutcome {
    /// The loan, disbursed.
    Disbursed(Loan),
    /// The repayment and the loan after it.
    Repaid {
        /// The repayment.
        repayment: Repayment,
        /// The loan after it.
        loan: Loan,
    },
}

/// What [`RepayLoan`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanRepaid {
    /// The repayment.
    pub repayment: Repayment,
    /// The loan after it.
    pub loan: Loan,
}

fn loan_outcome(outcome: Outcome) -> CmdResult<LoanOutcome> {
    match outcome {
        Outcome::Loan(l) => Ok(*l),
        other => unexpected(other),
    }
}

store_command!(DisburseLoan => Loan, |c| Command::Loan(LoanCommand::Disburse(c)), loan_outcome,
    LoanOutcome::Disbursed(l) => l);
store_command!(RepayLoan => LoanRepaid, |c| Command::Loan(LoanCommand::Repay(c)), loan_outcome,
    LoanOutcome::Repaid { repayment, loan } => LoanRepaid { repayment, loan });

/// Runs a loan command inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &LoanCommand, now_ms: i64) -> CmdResult<LoanOutcome> {
    match cmd {
        LoanCommand::Disburse(d) => disburse(db, d, now_ms).await,
        LoanCommand::Repay(r) => repay(db, r, now_ms).await,
    }
}

fn refuse(r: LoanRejection) -> Rejection {
    Rejection::Loan(r)
}

/// One entry: `from`'s wallet pays `to`'s, and the principal moves between the pair.
async fn move_money(
    db: &mut impl Conn,
    wallets: (i64, i64),
    principal: (i64, AccountKind, i64, AccountKind),
    amount: Paise,
    kind: &str,
    reference: i64,
    now_ms: i64,
) -> CmdResult<i64> {
    let (from, to) = wallets;
    let (debit_owner, debit_kind, credit_owner, credit_kind) = principal;
    let ids = [
        ledger::account(db, from, &AccountKind::PartnerWallet, now_ms).await?,
        ledger::account(db, to, &AccountKind::PartnerWallet, now_ms).await?,
        ledger::account(db, debit_owner, &debit_kind, now_ms).await?,
        ledger::account(db, credit_owner, &credit_kind, now_ms).await?,
    ];
    let leg = |account_id, side| Leg { account_id, side, amount };
    let legs = vec![leg(ids[0], Side::Debit), leg(ids[1], Side::Credit), leg(ids[2], Side::Debit), leg(ids[3], Side::Credit)];
    let entry = Entry::new(legs).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
    ledger::record(db, PartnerId::new(from), kind, &reference.to_string(), &entry, EntryState::Posted, now_ms).await
}

async fn disburse(db: &mut impl Conn, d: &DisburseLoan, now_ms: i64) -> CmdResult<LoanOutcome> {
    partners::by_id(db, PartnerId::new(d.lender_partner_id)).await?.ok_or(Rejection::PartnerNotFound)?;
    let borrower = ops::agent_partner(db, d.user_code).await?.ok_or(Rejection::AgentNotFound)?;
    if borrower == d.lender_partner_id {
        return Err(refuse(LoanRejection::OwnAgent).into());
    }
    let p = d.principal.get();
    if p <= 0 || p > rules::MAX_LOAN_PAISE || !(1..=rules::MAX_TRANCHES).contains(&d.tranches) || d.tranches > p {
        return Err(refuse(LoanRejection::Invalid("the principal or the tranche count is out of range".into())).into());
    }
    if !(1..=rules::MAX_TRANCHE_DAYS).contains(&d.tranche_days) {
        return Err(refuse(LoanRejection::Invalid("tranche_days is out of range".into())).into());
    }
    let loan_id = agents::next_counter(db, LOAN_COUNTER).await?;
    let pair = (d.lender_partner_id, AccountKind::LoanReceivable, borrower, AccountKind::LoanOutstanding);
    let entry_id = move_money(db, (d.lender_partner_id, borrower), pair, d.principal, "loan_disbursal", loan_id, now_ms).await?;
    let loan = Loan {
        loan_id,
        lender_partner_id: d.lender_partner_id,
        partner_id: borrower,
        user_code: d.user_code,
        client_ref_id: d.client_ref_id.clone(),
        bank_ref_num: d.bank_ref_num.clone(),
        sanction_id: d.sanction_id.clone(),
        principal: d.principal,
        outstanding: d.principal,
        state: "active".into(),
        entry_id,
        created_at_ms: now_ms,
        tranches: rules::schedule(p, d.tranches, d.tranche_days, now_ms),
    };
    ops::insert(db, &loan).await?;
    outbox::append_event(
        db,
        PartnerId::new(loan.lender_partner_id),
        &event(&loan, "disbursed", None, d.principal, false, now_ms),
        now_ms,
    )
    .await?;
    Ok(LoanOutcome::Disbursed(loan))
}

async fn repay(db: &mut impl Conn, r: &RepayLoan, now_ms: i64) -> CmdResult<LoanOutcome> {
    let loan = ops::get(db, r.loan_id).await?.filter(|l| l.partner_id == r.partner_id);
    let loan = loan.ok_or(refuse(LoanRejection::NotFound))?;
    if loan.state == "repaid" {
        return Err(refuse(LoanRejection::Repaid).into());
    }
    let (parts, late) = rules::allocate(&loan.tranches, r.amount.get(), now_ms).map_err(refuse)?;
    if !ops::reduce_outstanding(db, loan.loan_id, r.amount.get(), now_ms).await? {
        let outstanding_paise = loan.outstanding.get();
        return Err(refuse(LoanRejection::MoreThanOutstanding { outstanding_paise }).into());
    }
    for (t, part) in loan.tranches.iter().zip(parts).filter(|(_, part)| *part > 0) {
        ops::repay_tranche(db, loan.loan_id, t, part, now_ms).await?;
    }
    let repayment_id = agents::next_counter(db, LOAN_COUNTER).await?;
    let pair = (loan.partner_id, AccountKind::LoanOutstanding, loan.lender_partner_id, AccountKind::LoanReceivable);
    let wallets = (loan.partner_id, loan.lender_partner_id);
    let entry_id = move_money(db, wallets, pair, r.amount, "loan_repayment", repayment_id, now_ms).await?;
    let repayment = Repayment {
        repayment_id,
        loan_id: loan.loan_id,
        partner_id: r.partner_id,
        client_ref_id: r.client_ref_id.clone(),
        amount: r.amount,
        late,
        entry_id,
        created_at_ms: now_ms,
    };
    ops::insert_repayment(db, &repayment).await?;
    let after = ops::get(db, loan.loan_id).await?.ok_or_else(|| SqlError::Decode("the loan just repaid".into()))?;
    let change = if after.state == "repaid" { "repaid" } else { "repayment" };
    let e = event(&after, change, Some(repayment_id), r.amount, late, now_ms);
    outbox::append_event(db, PartnerId::new(after.lender_partner_id), &e, now_ms).await?;
    Ok(LoanOutcome::Repaid { repayment, loan: after })
}

fn event(l: &Loan, change: &str, repayment_id: Option<i64>, amount: Paise, late: bool, now_ms: i64) -> Event {
    Event::LoanChanged(LoanChanged {
        loan_id: l.loan_id,
        partner_reference: l.client_ref_id.clone(),
        change: change.into(),
        repayment_id,
        user_code: l.user_code,
        principal: l.principal,
        amount,
        outstanding: l.outstanding,
        late,
        at_ms: now_ms,
    })
}
