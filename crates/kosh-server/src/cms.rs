//! The hosted CMS (cash drop) page: `GET /cms/{token}` opens the URL
//! `generateCmsUrl` answered (once: a second opening is refused; it expires
//! unopened after ten minutes, and ten minutes after opening). The agent picks the
//! biller, enters the loan reference and the EMI and submits (`POST
//! /cms/{token}/pay`); Kosh asks the partner's CMS debit-hook and shows its answer; on
//! proceed the agent confirms (`POST /cms/{token}/confirm`) and the wallet is debited.
//! Plain HTML forms that post to Kosh; the only script disables a button once pressed.
//! The Content-Security-Policy allows nothing beyond Kosh itself.

pub mod page;

use crate::eko::user::store_error;
use crate::service::cms::{self as service, Decision, PageError, PaymentForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kosh_core::collections::{self as rules, CollectionRejection};
use kosh_store::commands::cms::CmsOutcome;
use kosh_store::error::Rejection;
use page::{Outcome, Page};
use std::collections::HashMap;

/// The page's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cms/{token}", get(open))
        .route("/cms/{token}/pay", post(pay))
        .route("/cms/{token}/confirm", post(confirm))
}

async fn open(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    match service::open(&app, &token).await {
        Ok(session) => Page::form(&session.client_ref_id, session.user_code, &token, None).render(),
        Err(e) => refused_page(e),
    }
}

/// The page for a request that cannot go on: unknown, expired or used.
fn refused_page(e: PageError) -> Response {
    match e {
        PageError::Unknown => page::message(
            StatusCode::NOT_FOUND,
            "unknown",
            "This CMS link does not exist",
            "Check the link, or ask for a new one.",
        ),
        PageError::Store(e) => store_error(e).into_response(),
        PageError::Refused(e) => match e.rejection() {
            Some(Rejection::Collections(CollectionRejection::CmsSession(why))) => {
                page::message(StatusCode::GONE, "expired", why, "Nothing was debited. Ask your partner for a new CMS link.")
            }
            Some(Rejection::Collections(CollectionRejection::Invalid(why))) => {
                page::message(StatusCode::OK, "refused", &capitalised(why), "Nothing was debited.")
            }
            Some(Rejection::InsufficientFunds { available_paise }) => page::message(
                StatusCode::OK,
                "error",
                "Insufficient balance",
                &format!("The wallet has ₹{} available; nothing was debited.", rupees(*available_paise)),
            ),
            Some(r) => page::message(StatusCode::OK, "error", &r.to_string(), "Nothing was debited."),
            None => store_error(e).into_response(),
        },
    }
}

fn rupees(paise: i64) -> String {
    kosh_core::money::Paise::new(paise).map_or_else(|| paise.to_string(), |p| p.to_rupees_string())
}

/// The form's fields, checked; an error names the first bad one.
fn read_form(form: &HashMap<String, String>) -> Result<PaymentForm, String> {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let biller = rules::biller(field("biller")).ok_or("Choose the lender from the list.")?;
    let loan_reference = rules::parse_loan_reference(field("loan_reference")).map_err(|m| format!("The loan reference {m}."))?;
    let amount = rules::parse_amount(field("amount"), rules::MAX_CMS_PAISE).map_err(|m| format!("The amount (₹) {m}."))?;
    Ok(PaymentForm { biller_id: biller.id.to_owned(), loan_reference, amount })
}

async fn pay(State(app): State<AppState>, Path(token): Path<String>, Form(form): Form<HashMap<String, String>>) -> Response {
    let session = match service::session(&app, &token).await {
        Ok(s) => s,
        Err(e) => return refused_page(e),
    };
    let again = |message: String| Page::form(&session.client_ref_id, session.user_code, &token, Some(message));
    let request = match read_form(&form) {
        Ok(r) => r,
        Err(message) => return again(message).render(),
    };
    match service::request(&app, &token, &request).await {
        Ok(Decision::Approved(p)) => Page::confirm(&token, &p).render(),
        Ok(Decision::Refused(p)) => {
            again(format!("{}. Nothing was debited.", capitalised(&p.reason))).outcome(Outcome::Refused).render()
        }
        Ok(Decision::Unreachable(p)) => {
            again(format!("The partner's system could not approve this payment ({}). Nothing was debited.", p.reason))
                .outcome(Outcome::Error)
                .render()
        }
        Err(e) => refused_page(e),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

async fn confirm(State(app): State<AppState>, Path(token): Path<String>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    let Ok(tid) = field("tid").parse::<i64>() else {
        return page::message(StatusCode::OK, "refused", "The payment form is incomplete", "Nothing was debited.");
    };
    // What the form says now, as sent: a changed field is for the command to find.
    let amount = rules::parse_amount(&field("amount"), rules::MAX_CMS_PAISE).map_or(-1, |a| a.get());
    let request = PaymentForm {
        biller_id: field("biller"),
        loan_reference: field("loan_reference"),
        amount: kosh_core::money::Paise::new(amount).unwrap_or(kosh_core::money::Paise::ZERO),
    };
    match service::confirm(&app, &token, tid, &request).await {
        Ok(CmsOutcome::Paid { payment, wallet }) => Page::paid(&payment, &wallet).render(),
        Ok(CmsOutcome::Tampered(p)) => page::message(
            StatusCode::OK,
            "refused",
            "Payment refused: the form was changed after the partner approved it",
            &format!("Transaction {} failed; nothing was debited.", p.tid),
        ),
        Ok(other) => store_error(format!("unexpected CMS outcome {other:?}")).into_response(),
        Err(e) => refused_page(e),
    }
}
