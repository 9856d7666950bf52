//! Working-capital loans (v1 paths, all prefixes): a lender partner disburses a loan as
//! e-value to an agent of another partner; the agent's partner repays it from its
//! wallet in tranches, each due on a date; the lender is told of each change at its
//! status callback URL.
//!
//! | endpoint | who | outcome | status | response_type_id |
//! |---|---|---|---|---|
//! | `PUT /loan/create/evalue` (`agent_code`, `amount`, `client_ref_id`, `bank_ref_num`, `sanction_id`, `tranches`, `tranche_days`) | lender | disbursed; the loan and its tranches | 0 | 1950 |
//! | `GET /loan/loanid:{loan_id}` | lender or borrower's partner | the loan, its tranches (`due`, `overdue`, `paid`, `paid_late`) and repayments | 0 | 1951 |
//! | `POST /loan/repayment` (`loan_id`, `repay_amount`, `client_ref_id`) | borrower's partner | repaid, oldest tranche first | 0 | 1952 |
//! | repayment | | more than outstanding | 1 | -1 |
//! | repayment | | wallet too low | 347 | -1 |
//!
//! The response_type_ids are Kosh's choice (the catalogue documents none). Both writes
//! are idempotent by `client_ref_id` in the scope of every Eko `client_ref_id`.

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::store_error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use kosh_core::civil;
use kosh_core::loans::{self as rules, LoanRejection};
use kosh_core::money::Paise;
use kosh_core::validate::{self, ClientRefId, Text};
use kosh_store::commands::loans::{DisburseLoan, RepayLoan};
use kosh_store::commands::IdemKey;
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::loans::{Loan, Repayment};
use kosh_store::scopes;
use serde_json::{json, Value};

const RT_DISBURSED: i64 = 1950;
const RT_LOAN: i64 = 1951;
const RT_REPAID: i64 = 1952;
/// Longest bank reference or sanction id.
const MAX_REFERENCE_CHARS: usize = 40;

/// The loan routes (relative to any v1/v2 prefix).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/loan/create/evalue", put(disburse))
        .route("/loan/{loan}", get(loan))
        .route("/loan/repayment", post(repay))
}

fn amount(text: &str) -> Result<Paise, &'static str> {
    kosh_core::collections::parse_amount(text, rules::MAX_LOAN_PAISE)
}

fn count(min: i64, max: i64) -> impl Fn(&str) -> Result<i64, &'static str> {
    move |t| t.trim().parse::<i64>().ok().filter(|n| (min..=max).contains(n)).ok_or("is out of range")
}

async fn disburse(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let user_code = c.required(&params, "agent_code", validate::parse_user_code);
    let principal = c.required(&params, "amount", amount);
    let reference = c.required(&params, "client_ref_id", ClientRefId::parse);
    let bank_ref = c.required(&params, "bank_ref_num", |t| Text::parse(t, MAX_REFERENCE_CHARS));
    let sanction = c.optional(&params, "sanction_id", |t| Text::parse(t, MAX_REFERENCE_CHARS));
    let tranches = c.optional(&params, "tranches", count(1, rules::MAX_TRANCHES)).unwrap_or(1);
    let days = c.optional(&params, "tranche_days", count(1, rules::MAX_TRANCHE_DAYS)).unwrap_or(rules::DEFAULT_TRANCHE_DAYS);
    c.finish()?;
    let (Some(user_code), Some(principal), Some(reference), Some(bank_ref)) = (user_code, principal, reference, bank_ref) else {
        unreachable!("checked above")
    };
    let cmd = DisburseLoan {
        lender_partner_id: auth.partner.id.get(),
        user_code: user_code.get(),
        client_ref_id: reference.as_str().into(),
        bank_ref_num: bank_ref.as_str().into(),
        sanction_id: sanction.map_or_else(String::new, |s| s.as_str().into()),
        principal,
        tranches,
        tranche_days: days,
    };
    let key = IdemKey { partner_id: auth.partner.id, scope: scopes::EKO_CLIENT_REF.into(), key: reference.as_str().into() };
    let executed = app.store.execute_idempotent(key, cmd).await.map_err(refusal)?;
    let reply = EkoReply::ok_transaction(RT_DISBURSED, "Loan disbursed", loan_json(&executed.outcome, &[], app.now_ms()));
    Ok(if executed.replayed { reply.with_hint("this loan was disbursed before; nothing moved again") } else { reply })
}

async fn loan(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    super::check_initiator(&params, &auth)?;
    let id = super::colon_id(&segment, "loanid")?;
    let found = match id.parse::<i64>() {
        Ok(id) => app.store.loan(id).await.map_err(store_error)?,
        Err(_) => None,
    };
    let mine = |l: &Loan| auth.partner.id == l.lender_partner_id || auth.partner.id == l.partner_id;
    let loan = found.filter(mine).ok_or_else(not_found)?;
    let repayments = app.store.loan_repayments(loan.loan_id).await.map_err(store_error)?;
    Ok(EkoReply::ok(RT_LOAN, "Loan details", loan_json(&loan, &repayments, app.now_ms())))
}

async fn repay(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let loan_id = c.required(&params, "loan_id", |t| t.trim().parse::<i64>().map_err(|_| "must be a loan id"));
    let repay_amount = c.required(&params, "repay_amount", amount);
    let reference = c.required(&params, "client_ref_id", ClientRefId::parse);
    c.finish()?;
    let (Some(loan_id), Some(repay_amount), Some(reference)) = (loan_id, repay_amount, reference) else {
        unreachable!("checked above")
    };
    let cmd =
        RepayLoan { partner_id: auth.partner.id.get(), loan_id, client_ref_id: reference.as_str().into(), amount: repay_amount };
    let key = IdemKey { partner_id: auth.partner.id, scope: scopes::EKO_CLIENT_REF.into(), key: reference.as_str().into() };
    let executed = app.store.execute_idempotent(key, cmd).await.map_err(refusal)?;
    let (repayment, loan) = (executed.outcome.repayment, executed.outcome.loan);
    let mut data = loan_json(&loan, std::slice::from_ref(&repayment), app.now_ms());
    data["repayment"] = repayment_json(&repayment);
    let message = if loan.state == "repaid" { "Loan repaid in full" } else { "Repayment successful" };
    Ok(EkoReply::ok_transaction(RT_REPAID, message, data))
}

fn not_found() -> EkoReply {
    EkoReply::failure(status::FAILED, -1, "Loan not found")
        .with_hint("no loan of yours (as lender or as the borrowing agent's partner) has this loan_id")
}

fn refusal(e: CommandError) -> EkoReply {
    match e.rejection() {
        Some(Rejection::Loan(LoanRejection::NotFound)) => not_found(),
        Some(Rejection::Loan(r @ LoanRejection::MoreThanOutstanding { outstanding_paise })) => {
            EkoReply::failure(status::FAILED, -1, "Repayment is more than the outstanding amount")
                .with_hint(format!("{r}; at most ₹{} may be repaid; nothing was debited", rupees(*outstanding_paise)))
        }
        Some(Rejection::Loan(r)) => EkoReply::failure(status::FAILED, -1, r.to_string()).with_hint("nothing moved"),
        Some(Rejection::InsufficientFunds { available_paise }) => {
            EkoReply::failure(status::INSUFFICIENT_BALANCE, -1, "Insufficient balance")
                .with_hint(format!("the wallet has ₹{} available; nothing moved", rupees(*available_paise)))
        }
        Some(Rejection::AgentNotFound) => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found")
            .with_hint("agent_code is not the user_code of any onboarded agent"),
        Some(Rejection::IdempotencyConflict) => EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id")
            .with_hint("this client_ref_id was already used for a different request; send a new one"),
        _ => store_error(e),
    }
}

fn rupees(paise: i64) -> String {
    Paise::new(paise).map_or_else(|| paise.to_string(), Paise::to_rupees_string)
}

fn repayment_json(r: &Repayment) -> Value {
    json!({
        "repayment_id": r.repayment_id.to_string(),
        "client_ref_id": r.client_ref_id,
        "amount": r.amount.to_rupees_string(),
        "late": r.late,
        "timestamp": civil::ist_datetime(r.created_at_ms),
    })
}

/// A loan as the loan APIs answer it, its tranches as of `now_ms`.
pub fn loan_json(l: &Loan, repayments: &[Repayment], now_ms: i64) -> Value {
    let tranches: Vec<Value> = l
        .tranches
        .iter()
        .map(|t| {
            json!({
                "tranche_id": t.tranche_no.to_string(),
                "amount": rupees(t.amount_paise),
                "repaid": rupees(t.repaid_paise),
                "due_date": civil::ist_datetime(t.due_at_ms),
                "status": t.state_at(now_ms),
            })
        })
        .collect();
    json!({
        "loan_id": l.loan_id.to_string(),
        "client_ref_id": l.client_ref_id,
        "agent_code": l.user_code.to_string(),
        "amount": l.principal.to_rupees_string(),
        "outstanding": l.outstanding.to_rupees_string(),
        "loan_status": l.state,
        "overdue_tranches": l.tranches.iter().filter(|t| t.state_at(now_ms) == "overdue").count(),
        "bank_ref_num": l.bank_ref_num,
        "sanction_id": l.sanction_id,
        "disbursed_at": civil::ist_datetime(l.created_at_ms),
        "tranches": tranches,
        "repayments": repayments.iter().map(repayment_json).collect::<Vec<_>>(),
    })
}
