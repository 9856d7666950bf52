//! Agent (user) services: the service catalogue, an agent's service enquiry, activation
//! and deactivation, and [`require_active_service`], the gate every capability that
//! needs a service passes through.
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `GET /user/services` | the catalogue | 0 | 1280 |
//! | `GET /user/services/user_code:{uc}` | the agent's standing per service | 0 | 1299 |
//! | `PUT /user/service/activate` | activated now (or already) | 0 | 1294 (Kosh's choice) |
//! | `PUT /user/service/activate` | pending document review (43, 51, 52) | 0 | 1295 (Kosh's choice) |
//! | `PUT /user/service/deactivate` | deactivated | 0 | 1298 (Kosh's choice) |
//! | activate / deactivate / enquiry | unknown user_code | 463 | -1 |
//! | deactivate | the service was never activated | 1 | -1 |
//! | any capability | service not active | 346 "Agent not allowed" | -1 |
//!
//! The vendor documents no response_type_id for activation; clients branch on
//! `data.status` (1 ACTIVATED, 2 PENDING, 0 DEACTIVATED), which these answers carry in
//! the same shape as one entry of the enquiry's `service_status_list`.

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::{Checker, EkoParams};
use super::{check_initiator, colon_id};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::civil;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::services::{self, AgentService, ServiceStatus, SERVICES};
use kosh_core::validate::{self, Address, Text};
use kosh_store::commands::{ActivateService, DeactivateService, ServiceActivation};
use kosh_store::error::{CommandError, Rejection};
use serde_json::{json, Map, Value};

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
        return Err(user_not_found(user_code));
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

/// Longest AePS device field (`modelname`, `devicenumber`), in characters.
const MAX_DEVICE_FIELD_CHARS: usize = 64;
/// Longest address given as plain text rather than a JSON object, in characters.
const MAX_ADDRESS_TEXT_CHARS: usize = 256;

/// `PUT /user/service/activate`: service_code*, user_code*, latlong, and the AePS
/// fields modelname, devicenumber, office_address, address_as_per_proof (kept as the
/// activation's details). Services that need document review stay pending for
/// `service_review_secs`, then read as activated.
pub async fn activate(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let target = service_target(&mut c, &params);
    let details = activation_details(&mut c, &params);
    c.finish()?;
    let Some((user_code, service_code)) = target else { unreachable!("the checker fails when a required field is bad") };
    let review_ms = i64::try_from(app.config.service_review_secs).unwrap_or(i64::MAX / 1000) * 1000;
    let cmd = ActivateService {
        partner_id: auth.partner.id,
        user_code,
        service_code,
        review_ms,
        details_json: Value::Object(details).to_string(),
    };
    let (service, changed) = match app.store.execute(cmd).await {
        Ok(ServiceActivation { service, changed }) => (service, changed),
        Err(e) => return Err(service_command_error(e, user_code)),
    };
    let service = service.at(app.now_ms());
    let data = standing_json(&auth, user_code, &service);
    let reply = match (service.status, changed) {
        (ServiceStatus::Pending, true) => EkoReply::ok(1295, "Service activation request accepted; pending verification", data)
            .with_hint(format!(
                "the documents are under review; the service activates by itself in {} s (service_review_secs); poll GET /user/services/user_code:{user_code}",
                app.config.service_review_secs
            )),
        (ServiceStatus::Pending, false) => EkoReply::ok(1295, "Service activation is already pending verification", data),
        (_, true) => EkoReply::ok(1294, "Service activated successfully", data),
        (_, false) => EkoReply::ok(1294, "Service is already activated", data),
    };
    Ok(reply)
}

/// `PUT /user/service/deactivate`: service_code*, user_code*. The agent must activate
/// the service again (re-submit documents, for reviewed services) to use it.
pub async fn deactivate(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let target = service_target(&mut c, &params);
    c.finish()?;
    let Some((user_code, service_code)) = target else { unreachable!("the checker fails when a required field is bad") };
    let cmd = DeactivateService { partner_id: auth.partner.id, user_code, service_code };
    let service = match app.store.execute(cmd).await {
        Ok(service) => service,
        Err(e) => return Err(service_command_error(e, user_code)),
    };
    Ok(EkoReply::ok(1298, "Service deactivated successfully", standing_json(&auth, user_code, &service)))
}

/// `Ok` when `user_code` may use `service_code` now; otherwise the answer to give:
/// 346 "Agent not allowed" naming the service and how to activate it (or when a
/// pending review ends), or 463 when the agent does not exist.
pub async fn require_active_service(
    app: &AppState,
    partner_id: PartnerId,
    user_code: UserCode,
    service_code: u16,
) -> Result<(), EkoReply> {
    let now_ms = app.now_ms();
    let (standing, exists) = app.store.agent_standing(partner_id, user_code, service_code).await.map_err(store_error)?;
    if standing.as_ref().is_some_and(|s| s.is_active_at(now_ms)) {
        return Ok(());
    }
    if !exists {
        return Err(user_not_found(user_code));
    }
    let name = services::service(service_code).map_or("this service", |s| s.name);
    let activate = format!("activate it with PUT /user/service/activate (service_code={service_code}, user_code={user_code})");
    let hint = match standing.map(|s| s.at(now_ms)) {
        Some(AgentService { status: ServiceStatus::Pending, review_done_at_ms: Some(done), .. }) => format!(
            "service {service_code} ({name}) is pending verification for user_code {user_code} until {}; try again then",
            civil::iso_utc(done)
        ),
        Some(_) => format!("service {service_code} ({name}) was deactivated for user_code {user_code}; {activate}"),
        None => format!("service {service_code} ({name}) is not activated for user_code {user_code}; {activate}"),
    };
    Err(EkoReply::failure(status::AGENT_NOT_ALLOWED, -1, "Agent not allowed").with_hint(hint))
}

/// `user_code` and `service_code`, both required; an unknown code lists the known ones.
fn service_target(c: &mut Checker, params: &EkoParams) -> Option<(UserCode, u16)> {
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    let code = c.required(params, "service_code", |t| t.trim().parse::<u16>().map_err(|_| "must be a service code number"));
    let service_code = code.and_then(|code| match services::service(code) {
        Some(info) => Some(info.code),
        None => {
            let known: Vec<String> = SERVICES.iter().map(|s| s.code.to_string()).collect();
            c.fail("service_code", &format!("is not a known service code (known: {}; see GET /user/services)", known.join(", ")));
            None
        }
    });
    user_code.zip(service_code)
}

/// The optional activation fields, checked and bounded, as a JSON object.
fn activation_details(c: &mut Checker, params: &EkoParams) -> Map<String, Value> {
    let mut details = Map::new();
    if let Some((lat, long)) = c.optional(params, "latlong", validate::parse_latlong) {
        details.insert("latlong".into(), json!(format!("{lat},{long}")));
    }
    for name in ["modelname", "devicenumber"] {
        if let Some(text) = c.optional(params, name, |t| Text::parse(t, MAX_DEVICE_FIELD_CHARS)) {
            details.insert(name.into(), json!(text.as_str()));
        }
    }
    for name in ["office_address", "address_as_per_proof"] {
        if let Some(address) = c.optional(params, name, parse_any_address) {
            details.insert(name.into(), address);
        }
    }
    details
}

/// An address as a JSON object (`{line,city,state,pincode,…}`), or as plain text.
fn parse_any_address(text: &str) -> Result<Value, &'static str> {
    if text.trim_start().starts_with('{') {
        let address = Address::parse(text)?;
        return Ok(serde_json::to_value(address).expect("addresses serialise"));
    }
    Text::parse(text, MAX_ADDRESS_TEXT_CHARS).map(|t| json!(t.as_str()))
}

/// An activation answer's data: the standing, shaped like an enquiry entry.
fn standing_json(auth: &Authenticated, user_code: UserCode, service: &AgentService) -> Value {
    let mut data = service_json(service);
    data["user_code"] = json!(user_code.to_string());
    data["initiator_id"] = json!(auth.partner.initiator_id);
    data
}

fn service_command_error(e: CommandError, user_code: UserCode) -> EkoReply {
    match e.rejection() {
        Some(Rejection::AgentNotFound) => user_not_found(user_code),
        Some(Rejection::ServiceNotActive) => EkoReply::failure(status::FAILED, -1, "Service is not activated for this user")
            .with_hint("only a service that was activated can be deactivated"),
        _ => store_error(e),
    }
}

fn user_not_found(user_code: UserCode) -> EkoReply {
    EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found")
        .with_hint(format!("no user (agent) {user_code} was onboarded by you; onboard one with PUT /user/onboard"))
}
