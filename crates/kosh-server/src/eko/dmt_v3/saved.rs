//! Saved transactions (docs "Saved Transactions APIs"): a v3 transfer request sent with
//! `save=1` is checked, its transaction OTP used up as the customer's consent, and kept
//! instead of sent. The agent later commits it (`PUT /customer/payment/saved`), cancels it,
//! or schedules it; the rail worker commits a scheduled one when its time comes (on the
//! server's clock), retrying every minute while the wallet lacks the funds. A commit runs
//! the same family transfer command under the request's `client_ref_id`, so a repeated or
//! racing commit makes one transfer.
//!
//! The docs give no response_type_ids for these answers; Kosh's are:
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `POST /customer/payment/{family}` with `save=1` | saved (`data.tid`, `state` saved) | 0 | 1480 |
//! | `GET /customer/payment/saved` (user_code*) | the agent's saved ones, `data.saved_list` | 0 | 1481 |
//! | `PUT /customer/payment/saved` (user_code*, tid: one or a comma list; default all) | each commit's result, `data.committed` | 0 | 1484 |
//! | `DELETE /customer/payment/saved/{tid}` (user_code*) | cancelled | 0 | 1483 |
//! | `PUT /customer/payment/schedule/{tid}` (user_code*, commit_at_ms) | scheduled (at once when no time is given) | 0 | 1482 |
//! | `GET /customer/payment/scheduled` (user_code*) | the agent's scheduled ones, `data.scheduled_list` | 0 | 1481 |
//! | unknown tid / another agent's | | 168 | 168 |
//! | committed, cancelled or failed already | | 1 | -1 |

use super::gate;
use crate::eko::auth::Authenticated;
use crate::eko::dmt::{parse_id, refusal};
use crate::eko::envelope::{EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use crate::eko::user::store_error;
use crate::service::dmt as service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{delete, get, put};
use axum::{Extension, Router};
use kosh_core::ids::{PartnerId, Tid, UserCode};
use kosh_store::commands::dmt::{ChangeSaved, FamilyTransfer, SaveTransfer, SavedChange};
use kosh_store::ops::dmt_saved::{SavedState, SavedTransfer};
use serde_json::{json, Value};

/// Kosh's `response_type_id`s for saved transactions.
pub mod rt {
    pub const SAVED: i64 = 1480;
    pub const LIST: i64 = 1481;
    pub const SCHEDULED: i64 = 1482;
    pub const CANCELLED: i64 = 1483;
    pub const COMMITTED: i64 = 1484;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customer/payment/saved", get(list_saved).put(commit))
        .route("/customer/payment/saved/{tid}", delete(cancel))
        .route("/customer/payment/schedule/{tid}", put(schedule))
        .route("/customer/payment/scheduled", get(list_scheduled))
}

/// A saved transaction as the answers show it.
pub fn saved_json(s: &SavedTransfer) -> Value {
    let request: Option<FamilyTransfer> = serde_json::from_str(&s.request).ok();
    let t = request.as_ref().map(|r| &r.transfer);
    json!({
        "tid": s.tid.to_string(),
        "client_ref_id": s.client_ref_id,
        "state": s.state.code(),
        "user_code": s.user_code.to_string(),
        "service": request.as_ref().map(|r| r.family.family().slug),
        "customer_id": t.map(|t| t.customer_mobile.clone()),
        "recipient_id": t.map(|t| t.recipient_id),
        "amount": t.map(|t| t.amount_paise.to_rupees_string()),
        "commit_at": s.commit_at_ms.map(kosh_core::civil::iso_utc),
        "transfer_tid": s.transfer_tid.map(|tid| tid.to_string()),
        "reason": s.reason,
        "timestamp": kosh_core::civil::iso_utc(s.created_at_ms),
    })
}

/// Keeps a checked transfer request (its OTP used up) instead of sending it.
pub async fn save(app: &AppState, request: FamilyTransfer) -> EkoResult {
    let saved = app.store.execute(SaveTransfer { request }).await.map_err(refusal)?;
    Ok(EkoReply::ok_transaction(rt::SAVED, "Transaction saved", saved_json(&saved)).with_hint(
        "commit it with PUT /customer/payment/saved, schedule it with PUT /customer/payment/schedule/{tid}, or cancel it with DELETE /customer/payment/saved/{tid}",
    ))
}

async fn listed(app: &AppState, auth: &Authenticated, params: &EkoParams, state: SavedState, key: &str) -> EkoResult {
    let user_code = gate(app, auth, params).await?;
    let rows = app.store.dmt_saved_list(auth.partner.id, user_code, state).await.map_err(store_error)?;
    let list: Vec<Value> = rows.iter().map(saved_json).collect();
    Ok(EkoReply::ok(rt::LIST, format!("{} {} transaction(s)", list.len(), state.code()), json!({ key: list })))
}

/// `GET /customer/payment/saved`: user_code*.
pub async fn list_saved(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    listed(&app, &auth, &params, SavedState::Saved, "saved_list").await
}

/// `GET /customer/payment/scheduled`: user_code*.
pub async fn list_scheduled(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    listed(&app, &auth, &params, SavedState::Scheduled, "scheduled_list").await
}

fn tid_list(params: &EkoParams) -> Result<Option<Vec<Tid>>, EkoReply> {
    let Some(text) = params.get("tid") else { return Ok(None) };
    let tids: Result<Vec<Tid>, _> = text.split(',').map(parse_id).collect();
    tids.map(Some).map_err(|m| EkoReply::invalid(vec![("tid".into(), format!("{m}, or a comma-separated list of them"))]))
}

/// `PUT /customer/payment/saved`: user_code*, tid (one or a comma list; all when absent).
pub async fn commit(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let user_code = gate(&app, &auth, &params).await?;
    let wanted = tid_list(&params)?;
    let rows = match &wanted {
        Some(tids) => {
            let mut rows = Vec::with_capacity(tids.len());
            for tid in tids {
                rows.push(own_saved(&app, auth.partner.id, user_code, *tid).await?);
            }
            rows
        }
        None => app.store.dmt_saved_list(auth.partner.id, user_code, SavedState::Saved).await.map_err(store_error)?,
    };
    let mut results = Vec::with_capacity(rows.len());
    for row in rows.iter().filter(|r| r.state.is_open()) {
        let done = service::commit_saved(&app, row, false).await.map_err(store_error)?;
        let mut entry = saved_json(&done);
        if let Some(tid) = done.transfer_tid {
            if let Some(t) = app.store.dmt_transfer(auth.partner.id, tid).await.map_err(store_error)? {
                entry["tx_status"] = json!(t.tx_status.code().to_string());
                entry["txstatus_desc"] = json!(t.tx_status.desc());
            }
        }
        results.push(entry);
    }
    Ok(EkoReply::ok_transaction(
        rt::COMMITTED,
        format!("{} saved transaction(s) committed", results.len()),
        json!({ "committed": results }),
    ))
}

async fn own_saved(app: &AppState, partner_id: PartnerId, user_code: UserCode, tid: Tid) -> Result<SavedTransfer, EkoReply> {
    match app.store.dmt_saved(partner_id, tid).await.map_err(store_error)? {
        Some(row) if row.user_code == user_code => Ok(row),
        _ => Err(super::rejection(kosh_store::commands::dmt::DmtRejection::SavedNotFound)),
    }
}

fn tid_path(segment: &str) -> Result<Tid, EkoReply> {
    parse_id(segment.split_once(':').map_or(segment, |(_, v)| v)).map_err(|m| EkoReply::invalid(vec![("tid".into(), m.into())]))
}

/// `DELETE /customer/payment/saved/{tid}`: user_code*.
pub async fn cancel(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let tid = tid_path(&segment)?;
    let user_code = gate(&app, &auth, &params).await?;
    let cmd = ChangeSaved { partner_id: auth.partner.id, user_code, tid, change: SavedChange::Cancel };
    let row = app.store.execute(cmd).await.map_err(refusal)?;
    Ok(EkoReply::ok_transaction(rt::CANCELLED, "Saved transaction cancelled", saved_json(&row)))
}

/// `PUT /customer/payment/schedule/{tid}`: user_code*, commit_at_ms (ms since the epoch;
/// now when absent).
pub async fn schedule(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let tid = tid_path(&segment)?;
    let mut c = crate::eko::params::Checker::default();
    let at_ms = c.optional(&params, "commit_at_ms", |t| {
        t.trim().parse::<i64>().ok().filter(|ms| *ms >= 0).ok_or("must be ms since the epoch")
    });
    c.finish()?;
    let user_code = gate(&app, &auth, &params).await?;
    let at_ms = at_ms.unwrap_or_else(|| app.now_ms());
    let cmd = ChangeSaved { partner_id: auth.partner.id, user_code, tid, change: SavedChange::Schedule { at_ms } };
    let row = app.store.execute(cmd).await.map_err(refusal)?;
    Ok(EkoReply::ok_transaction(rt::SCHEDULED, "Saved transaction scheduled", saved_json(&row)))
}
