//! Agent (user) services: the service catalogue and an agent's service enquiry.

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::{check_initiator, colon_id};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::services::{AgentService, SERVICES};
use kosh_core::{civil, validate};
use serde_json::{json, Value};

/// `GET /user/services`: every service an agent can be activated for (rt 1280).
pub async fn all_services(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    let list: Vec<Value> =
        SERVICES.iter().map(|s| json!({ "service_code": s.code.to_string(), "service_name": s.name })).collect();
    Ok(EkoReply::ok(1280, "Service list", json!({ "service_list": list })))
}

/// `GET /user/services/user_code:{user_code}`: the agent's standing per service (rt 1299).
pub async fn agent_services(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let user_code = colon_id(&segment, "user_code")?;
    check_initiator(&params, &auth)?;
    let user_code = validate::parse_user_code(user_code).map_err(|m| EkoReply::invalid(vec![("user_code".into(), m.into())]))?;
    let partner_id = auth.partner.id;
    if app.store.agent(partner_id, user_code).await.map_err(store_error)?.is_none() {
        return Err(EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found"));
    }
    let now_ms = app.now_ms();
    let services = app.store.agent_services(partner_id, user_code).await.map_err(store_error)?;
    let list: Vec<Value> = services.iter().map(|s| service_json(&s.at(now_ms))).collect();
    let data =
        json!({ "user_code": user_code.to_string(), "initiator_id": auth.partner.initiator_id, "service_status_list": list });
    Ok(EkoReply::ok(1299, "User services enquiry successful", data))
}

/// One entry of `service_status_list`.
pub fn service_json(s: &AgentService) -> Value {
    json!({
        "service_code": s.service_code.to_string(),
        "status": s.status as i64,
        "status_desc": s.status.desc(),
        "verification_status": s.verification as i64,
        "comments": s.comments,
        "createdAt": civil::iso_utc(s.created_at_ms),
        "updatedAt": civil::iso_utc(s.updated_at_ms),
    })
}

/// A storage failure, answered without internals.
pub fn store_error(e: impl std::fmt::Display) -> EkoReply {
    tracing::error!(error = %e, "store failure");
    EkoReply::http_error(axum::http::StatusCode::SERVICE_UNAVAILABLE, "The platform is temporarily unable to process the request")
}
