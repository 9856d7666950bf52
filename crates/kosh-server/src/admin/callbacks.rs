//! The operator API for callbacks:
//!
//! - `GET /admin/v1/callbacks?partner=&state=&kind=&all=true&before=&limit=`: events,
//!   newest first (deliverable kinds only, unless `all=true`).
//! - `GET /admin/v1/callbacks/{id}`: one event with every attempt.
//! - `POST /admin/v1/callbacks/{id}/replay`: queues a failed or unconfigured event again.
//! - `GET /admin/v1/partners/{partner}/callbacks`: the partner's endpoints (passwords
//!   and extra header values masked) and whether signing is on.
//! - `PUT /admin/v1/partners/{partner}/callbacks/{kind}` with `{"url", "basic_user",
//!   "basic_password", "headers": {"Name": "value"}}`; `DELETE` the same path.
//! - `POST /admin/v1/partners/{partner}/callbacks/test` with `{"kind": "eko.tx_status",
//!   "payload": {…}}` (payload optional for `eko.tx_status` and `token.ack`): queues a
//!   test event exactly as a producer would.

use super::{command_error, find_partner, AdminError};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kosh_core::civil::iso_utc;
use kosh_core::secret::Secret;
use kosh_store::commands::callbacks::{Enqueue, Replay, SetEndpoint, UnsetEndpoint};
use kosh_store::commands::StoreCommand;
use kosh_store::ops::callbacks::{AttemptRecord, CallbackEvent, Endpoint, EventFilter, TOKEN_ACK, TX_STATUS};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/callbacks", get(list))
        .route("/callbacks/{id}", get(show))
        .route("/callbacks/{id}/replay", post(replay))
        .route("/partners/{partner}/callbacks", get(endpoints))
        .route("/partners/{partner}/callbacks/test", post(send_test))
        .route("/partners/{partner}/callbacks/{kind}", put(set_endpoint).delete(unset_endpoint))
}

fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(iso_utc(ms)))
}

pub fn event_json(e: &CallbackEvent) -> Value {
    json!({
        "id": e.id,
        "partner_id": e.partner_id,
        "kind": e.kind,
        "state": if e.deliverable() { e.state.as_str() } else { "internal" },
        "attempts": e.attempts,
        "created_at": time(Some(e.created_at_ms)),
        "due_at": if matches!(e.state.as_str(), "pending" | "delivering") && e.deliverable() { time(Some(e.due_at_ms)) } else { Value::Null },
        "last_attempt_at": time(e.last_attempt_at_ms),
        "delivered_at": time(e.delivered_at_ms),
        "last_error": e.last_error,
        "payload": serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
    })
}

pub fn attempt_json(a: &AttemptRecord) -> Value {
    json!({
        "attempt": a.attempt_no,
        "started_at": iso_utc(a.attempt.started_at_ms),
        "url": a.attempt.url,
        "request_body": a.attempt.request_body,
        "response_status": a.attempt.response_status,
        "response_excerpt": a.attempt.response_excerpt,
        "latency_ms": a.attempt.latency_ms,
        "error": a.attempt.error,
        "succeeded": a.attempt.succeeded,
    })
}

fn bad(code: &'static str, message: impl Into<String>) -> AdminError {
    AdminError::new(StatusCode::BAD_REQUEST, code, message)
}

async fn list(State(app): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, AdminError> {
    let number = |name: &str| -> Result<Option<i64>, AdminError> {
        q.get(name).map(|v| v.parse::<i64>().map_err(|_| bad("invalid_query", format!("{name} must be an integer")))).transpose()
    };
    let partner_id = match q.get("partner") {
        Some(p) => Some(find_partner(&app, p).await?.id),
        None => None,
    };
    let filter = EventFilter {
        partner_id,
        state: q.get("state").cloned(),
        kind: q.get("kind").cloned(),
        include_internal: q.get("all").is_some_and(|v| v == "true"),
        before_id: number("before")?,
        limit: number("limit")?.unwrap_or(50),
    };
    let events = app.store.callback_events(&filter).await.map_err(AdminError::store)?;
    Ok(Json(json!({ "events": events.iter().map(event_json).collect::<Vec<_>>() })))
}

async fn show(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AdminError> {
    let event = app.store.callback_event(id).await.map_err(AdminError::store)?.ok_or_else(|| not_found(id))?;
    let attempts = app.store.callback_attempts(id).await.map_err(AdminError::store)?;
    Ok(Json(json!({ "event": event_json(&event), "attempts": attempts.iter().map(attempt_json).collect::<Vec<_>>() })))
}

fn not_found(id: i64) -> AdminError {
    AdminError::new(StatusCode::NOT_FOUND, "callback_not_found", format!("no outbox event {id}"))
}

async fn execute<C: StoreCommand>(app: &AppState, cmd: C) -> Result<C::Output, AdminError> {
    app.store.execute(cmd).await.map_err(command_error)
}

async fn replay(State(app): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AdminError> {
    let event = execute(&app, Replay { id }).await?;
    Ok(Json(json!({ "event": event_json(&event) })))
}

/// What a secret is shown as.
pub const MASK: &str = "***";

/// An endpoint as shown: the password and the extra headers' values masked (they may
/// carry API keys); the header names stay, so an operator sees what is configured.
pub fn endpoint_json(e: &Endpoint) -> Value {
    let headers: BTreeMap<&str, &str> = e.headers.iter().map(|(n, _)| (n.as_str(), MASK)).collect();
    json!({
        "kind": e.kind,
        "url": e.url,
        "basic_user": e.basic_user,
        "basic_password": e.basic_password.as_ref().map(|_| MASK),
        "headers": headers,
    })
}

async fn endpoints(State(app): State<AppState>, Path(partner): Path<String>) -> Result<Json<Value>, AdminError> {
    let partner = find_partner(&app, &partner).await?;
    let endpoints = app.store.callback_endpoints(partner.id).await.map_err(AdminError::store)?;
    let signing = app.store.callback_signing_secret(partner.id).await.map_err(AdminError::store)?.is_some();
    Ok(Json(json!({
        "partner_id": partner.id,
        "endpoints": endpoints.iter().map(endpoint_json).collect::<Vec<_>>(),
        "signing": signing,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointRequest {
    url: String,
    basic_user: Option<String>,
    basic_password: Option<Secret>,
    #[serde(default)]
    headers: BTreeMap<String, Secret>,
}

async fn set_endpoint(
    State(app): State<AppState>,
    Path((partner, kind)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AdminError> {
    let req: EndpointRequest = serde_json::from_slice(&body).map_err(|e| {
        bad("invalid_json", format!("the body must be JSON like {{\"url\": \"https://…\", \"basic_user\": …, \"basic_password\": …, \"headers\": {{}}}}: {e}"))
    })?;
    let partner = find_partner(&app, &partner).await?;
    let endpoint = Endpoint {
        kind,
        url: req.url,
        basic_user: req.basic_user,
        basic_password: req.basic_password,
        headers: req.headers.into_iter().collect(),
    };
    execute(&app, SetEndpoint { partner_id: partner.id, endpoint: endpoint.clone() }).await?;
    Ok(Json(endpoint_json(&endpoint)))
}

async fn unset_endpoint(
    State(app): State<AppState>,
    Path((partner, kind)): Path<(String, String)>,
) -> Result<Json<Value>, AdminError> {
    let partner = find_partner(&app, &partner).await?;
    let removed = execute(&app, UnsetEndpoint { partner_id: partner.id, kind: kind.clone() }).await?;
    Ok(Json(json!({ "kind": kind, "removed": removed })))
}

/// A sample body for a test event of `kind`, shaped like the real callback.
pub fn sample_payload(kind: &str, now_ms: i64) -> Option<Value> {
    match kind {
        TX_STATUS => Some(json!({
            "tx_status": 0, "txstatus_desc": "Success", "old_tx_status": 2, "old_tx_status_desc": "Initiated",
            "tid": now_ms % 1_000_000_000_000, "client_ref_id": format!("TEST{}", now_ms % 1_000_000_000), "amount": 100,
            "fee": 0, "gst": 0, "tds": 0, "payment_mode": "5", "bank_ref_num": "TEST", "timestamp": kosh_core::civil::ist_datetime(now_ms),
        })),
        TOKEN_ACK => Some(json!({
            "client_ref_id": format!("TEST{}", now_ms % 1_000_000_000), "amount": 100, "customer_name": "Test Customer",
            "customer_id": "9400000000", "tid": (now_ms % 1_000_000_000_000).to_string(), "token": "000000000000000",
        })),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRequest {
    kind: String,
    payload: Option<Value>,
}

async fn send_test(
    State(app): State<AppState>,
    Path(partner): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    let req: TestRequest = serde_json::from_slice(&body).map_err(|e| {
        bad("invalid_json", format!("the body must be JSON like {{\"kind\": \"eko.tx_status\", \"payload\": {{…}}}}: {e}"))
    })?;
    let partner = find_partner(&app, &partner).await?;
    let payload = match req.payload {
        Some(p) => p,
        None => sample_payload(&req.kind, app.now_ms())
            .ok_or_else(|| bad("payload_required", format!("give a payload for {} events", req.kind)))?,
    };
    let cmd = Enqueue { partner_id: partner.id, kind: req.kind, payload_json: payload.to_string() };
    let id = execute(&app, cmd).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}
