//! Loans' rows: loans, their tranches, repayments.

use crate::sql::{Conn, Row, SqlError};
use kosh_core::loans::Tranche;
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// A loan as stored, with its tranches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loan {
    /// Kosh's loan id.
    pub loan_id: i64,
    /// The lender partner.
    pub lender_partner_id: i64,
    /// The borrowing agent's partner.
    pub partner_id: i64,
    /// The borrowing agent.
    pub user_code: i64,
    /// The lender's reference.
    pub client_ref_id: String,
    /// The lender's bank reference for the disbursal.
    pub bank_ref_num: String,
    /// The lender's sanction id.
    pub sanction_id: String,
    /// The principal.
    pub principal: Paise,
    /// What is still owed.
    pub outstanding: Paise,
    /// `active` or `repaid`.
    pub state: String,
    /// The disbursal's ledger entry.
    pub entry_id: i64,
    /// When it was disbursed.
    pub created_at_ms: i64,
    /// Its schedule.
    pub tranches: Vec<Tranche>,
}

fn loan_from_row(r: &Row, tranches: Vec<Tranche>) -> Result<Loan, SqlError> {
    Ok(Loan {
        loan_id: r.int("loan_id")?,
        lender_partner_id: r.int("lender_partner_id")?,
        partner_id: r.int("partner_id")?,
        user_code: r.int("user_code")?,
        client_ref_id: r.text("client_ref_id")?,
        bank_ref_num: r.text("bank_ref_num")?,
        sanction_id: r.text("sanction_id")?,
        principal: r.paise("principal")?,
        outstanding: r.paise("outstanding")?,
        state: r.text("state")?,
        entry_id: r.int("entry_id")?,
        created_at_ms: r.int("created_at_ms")?,
        tranches,
    })
}

/// Stores a loan and its tranches.
pub async fn insert(db: &mut impl Conn, l: &Loan) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO loans (loan_id, lender_partner_id, partner_id, user_code, client_ref_id, bank_ref_num, sanction_id, \
         principal, outstanding, state, entry_id, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        &[
            l.loan_id.into(),
            l.lender_partner_id.into(),
            l.partner_id.into(),
            l.user_code.into(),
            (&l.client_ref_id).into(),
            (&l.bank_ref_num).into(),
            (&l.sanction_id).into(),
            l.principal.into(),
            l.outstanding.into(),
            (&l.state).into(),
            l.entry_id.into(),
            l.created_at_ms.into(),
        ],
    )
    .await?;
    for t in &l.tranches {
        db.exec(
            "INSERT INTO loan_tranches (loan_id, tranche_no, amount, repaid, due_at_ms) VALUES ($1, $2, $3, $4, $5)",
            &[l.loan_id.into(), t.tranche_no.into(), t.amount_paise.into(), t.repaid_paise.into(), t.due_at_ms.into()],
        )
        .await?;
    }
    Ok(())
}

/// The loan `loan_id`, with its tranches.
pub async fn get(db: &mut impl Conn, loan_id: i64) -> Result<Option<Loan>, SqlError> {
    let Some(row) = db
        .query_opt(
            "SELECT loan_id, lender_partner_id, partner_id, user_code, client_ref_id, bank_ref_num, sanction_id, principal, \
             outstanding, state, entry_id, created_at_ms FROM loans WHERE loan_id = $1",
            &[loan_id.into()],
        )
        .await?
    else {
        return Ok(None);
    };
    let rows = db
        .query(
            "SELECT tranche_no, amount, repaid, due_at_ms, paid_at_ms, paid_late FROM loan_tranches \
             WHERE loan_id = $1 ORDER BY tranche_no",
            &[loan_id.into()],
        )
        .await?;
    let tranches = rows
        .iter()
        .map(|r| {
            Ok(Tranche {
                tranche_no: r.int("tranche_no")?,
                amount_paise: r.int("amount")?,
                repaid_paise: r.int("repaid")?,
                due_at_ms: r.int("due_at_ms")?,
                paid_at_ms: r.opt_int("paid_at_ms")?,
                paid_late: r.int("paid_late")? != 0,
            })
        })
        .collect::<Result<Vec<_>, SqlError>>()?;
    loan_from_row(&row, tranches).map(Some)
}

/// Adds `part` to a tranche's repaid amount (marking it paid when it is).
pub async fn repay_tranche(db: &mut impl Conn, loan_id: i64, t: &Tranche, part: i64, now_ms: i64) -> Result<(), SqlError> {
    if t.repaid_paise + part == t.amount_paise {
        let late = i64::from(now_ms >= t.due_at_ms);
        db.exec(
            "UPDATE loan_tranches SET repaid = repaid + $1, paid_at_ms = $2, paid_late = $3 WHERE loan_id = $4 AND tranche_no = $5",
            &[part.into(), now_ms.into(), late.into(), loan_id.into(), t.tranche_no.into()],
        )
        .await?;
    } else {
        db.exec(
            "UPDATE loan_tranches SET repaid = repaid + $1 WHERE loan_id = $2 AND tranche_no = $3",
            &[part.into(), loan_id.into(), t.tranche_no.into()],
        )
        .await?;
    }
    Ok(())
}

/// Lowers a loan's outstanding amount by `amount`, when it still owes at least that
/// (false otherwise: a concurrent repayment came first); repaid at zero.
pub async fn reduce_outstanding(db: &mut impl Conn, loan_id: i64, amount: i64, now_ms: i64) -> Result<bool, SqlError> {
    let n = db
        .exec(
            "UPDATE loans SET outstanding = outstanding - $1, \
             state = CASE WHEN outstanding - $1 = 0 THEN 'repaid' ELSE state END, updated_at_ms = $2 \
             WHERE loan_id = $3 AND outstanding >= $1",
            &[amount.into(), now_ms.into(), loan_id.into()],
        )
        .await?;
    Ok(n == 1)
}

/// A repayment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repayment {
    /// Kosh's id for it.
    pub repayment_id: i64,
    /// The loan repaid.
    pub loan_id: i64,
    /// The paying partner (the borrowing agent's).
    pub partner_id: i64,
    /// Its reference.
    pub client_ref_id: String,
    /// What was repaid.
    pub amount: Paise,
    /// Whether any of it paid a tranche past its due date.
    pub late: bool,
    /// Its ledger entry.
    pub entry_id: i64,
    /// When it was made.
    pub created_at_ms: i64,
}

/// Stores a repayment.
pub async fn insert_repayment(db: &mut impl Conn, r: &Repayment) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO loan_repayments (repayment_id, loan_id, partner_id, client_ref_id, amount, late, entry_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            r.repayment_id.into(),
            r.loan_id.into(),
            r.partner_id.into(),
            (&r.client_ref_id).into(),
            r.amount.into(),
            i64::from(r.late).into(),
            r.entry_id.into(),
            r.created_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The repayments of a loan, oldest first.
pub async fn repayments(db: &mut impl Conn, loan_id: i64) -> Result<Vec<Repayment>, SqlError> {
    let rows = db
        .query(
            "SELECT repayment_id, loan_id, partner_id, client_ref_id, amount, late, entry_id, created_at_ms \
             FROM loan_repayments WHERE loan_id = $1 ORDER BY repayment_id",
            &[loan_id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Repayment {
                repayment_id: r.int("repayment_id")?,
                loan_id: r.int("loan_id")?,
                partner_id: r.int("partner_id")?,
                client_ref_id: r.text("client_ref_id")?,
                amount: r.paise("amount")?,
                late: r.int("late")? != 0,
                entry_id: r.int("entry_id")?,
                created_at_ms: r.int("created_at_ms")?,
            })
        })
        .collect()
}

/// The partner of the agent `user_code` (user_codes are unique across partners).
pub async fn agent_partner(db: &mut impl Conn, user_code: i64) -> Result<Option<i64>, SqlError> {
    let row = db.query_opt("SELECT partner_id FROM agents WHERE user_code = $1", &[user_code.into()]).await?;
    row.map(|r| r.int("partner_id")).transpose()
}
