//! `PUT /user/onboard`: a partner onboards an agent (the platform calls it a "user").
//!
//! | outcome | status | response_status_id | response_type_id | message |
//! |---|---|---|---|---|
//! | onboarded | 0 | -1 | 1290 | "User onboarding successfull" (the vendor's spelling) |
//! | PAN already onboarded | 0 | -1 | 1307 | "User already exists" (data names the existing user_code) |
//! | mobile used by another agent | 31 | 1 | -1 | "Agent can not be registered" |
//! | bad fields | 97 or 1 | 1 | -1 | every bad field in `invalid_params` |
//!
//! The PAN identifies the person, so onboarding the same PAN again is harmless and
//! answers with the agent that exists, whatever the other fields say.

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::store_error;
use crate::state::AppState;
use axum::extract::State;
use axum::Extension;
use kosh_core::validate::{self, Address, Email, Mobile, Pan, PersonName, Text};
use kosh_store::commands::OnboardAgent;
use kosh_store::error::Rejection;
use kosh_store::ops::agents::NewAgent;
use serde_json::json;

/// Longest shop name, in characters.
const MAX_SHOP_NAME_CHARS: usize = 100;

pub async fn onboard(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let agent = parse(&params, &auth, app.now_ms(), app.config.sandbox)?;
    let mobile = agent.mobile.clone();
    let cmd = OnboardAgent { partner_id: auth.partner.id, agent };
    let onboarded = match app.store.execute(cmd).await {
        Ok(onboarded) => onboarded,
        Err(e) => return Err(match e.rejection() {
            Some(Rejection::AgentMobileTaken) => EkoReply::failure(status::CANNOT_REGISTER_AGENT, -1, "Agent can not be registered")
                .with_hint(format!("mobile {mobile} is already registered to another of your users (agents) with a different PAN; each agent needs its own mobile number")),
            _ => store_error(e),
        }),
    };
    let data = json!({ "user_code": onboarded.agent.user_code.to_string(), "initiator_id": auth.partner.initiator_id });
    if onboarded.created {
        Ok(EkoReply::ok(1290, "User onboarding successfull", data))
    } else {
        Ok(EkoReply::ok(1307, "User already exists", data)
            .with_hint("this PAN was onboarded before; data.user_code is the existing agent (the other fields were not changed)"))
    }
}

/// The onboarding fields, each checked, every problem reported at once. A sandbox
/// also takes the documentation's example PAN, so the vendor's examples work as written.
fn parse(params: &EkoParams, auth: &Authenticated, now_ms: i64, sandbox: bool) -> Result<NewAgent, EkoReply> {
    let mut c = super::checker(params, auth)?;
    let pan = c.required(params, "pan_number", if sandbox { Pan::parse_sandbox } else { Pan::parse });
    let mobile = c.required(params, "mobile", Mobile::parse);
    let first_name = c.required(params, "first_name", PersonName::parse);
    let middle_name = c.optional(params, "middle_name", PersonName::parse);
    let last_name = c.optional(params, "last_name", PersonName::parse);
    let email = c.required(params, "email", Email::parse);
    let address = c.required(params, "residence_address", Address::parse);
    let dob = c.required(params, "dob", |t| validate::parse_adult_dob(t, now_ms));
    let shop_name = c.required(params, "shop_name", |t| Text::parse(t, MAX_SHOP_NAME_CHARS));
    let required = (pan, mobile, first_name, email, address, dob, shop_name);
    c.finish()?;
    let (Some(pan), Some(mobile), Some(first_name), Some(email), Some(address), Some(dob), Some(shop_name)) = required else {
        unreachable!("the checker fails when a required field is missing or bad")
    };
    Ok(NewAgent {
        pan: pan.as_str().into(),
        mobile: mobile.as_str().into(),
        first_name: first_name.as_str().into(),
        middle_name: middle_name.map_or_else(String::new, |n| n.as_str().into()),
        last_name: last_name.map_or_else(String::new, |n| n.as_str().into()),
        email: email.as_str().into(),
        dob: dob.to_iso(),
        shop_name: shop_name.as_str().into(),
        residence_address: serde_json::to_string(&address).expect("addresses serialise"),
    })
}
