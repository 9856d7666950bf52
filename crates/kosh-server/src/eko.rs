//! The Eko dialect: a thin adapter from Eko's wire format (paths with colon ids, form or
//! JSON bodies, the envelope) to store commands and back.
//!
//! The same routes are mounted under every prefix partners use: `/ekoapi/v1`,
//! `/ekoapi/v2`, `/ekoicici/v1`, `/ekoicici/v2`. Unknown paths answer "No mapping rule
//! matched" (404), wrong methods 405, each as JSON that says what to fix.
//!
//! One module per API family: [`user`] (service catalogue, activation, enquiry),
//! [`onboard`] (agent onboarding), [`otp`] (mobile OTPs, and the sandbox's OTP reader),
//! [`balance`] (the partner's e-value wallet), and money transfer: [`dmt`] (what the
//! DMT endpoints share, and one module per endpoint group under it: [`dmt::customers`],
//! [`dmt::recipients`], [`dmt::banks`], [`dmt::transfers`] (initiate, inquiry),
//! [`dmt::refunds`]).

// Handlers return `Result<EkoReply, EkoReply>`: the error *is* the answer, built once
// per request, so boxing it to shrink the `Result` would buy nothing.
#![allow(clippy::result_large_err)]

pub mod aeps;
pub mod auth;
pub mod balance;
pub mod callbacks;
pub mod cms;
pub mod collections;
pub mod dmt;
pub mod envelope;
pub mod loans;
pub mod onboard;
pub mod otp;
pub mod params;
pub mod token;
pub mod user;
pub mod verification;

use crate::state::AppState;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::Router;
use envelope::{EkoReply, EkoResult};
use params::{Checker, EkoParams};

/// The prefixes every Eko route is served under.
pub const PREFIXES: [&str; 4] = ["/ekoapi/v1", "/ekoapi/v2", "/ekoicici/v1", "/ekoicici/v2"];
/// The prefixes of the v3 API, whose paths differ from v1/v2.
pub const V3_PREFIXES: [&str; 2] = ["/ekoapi/v3", "/ekoicici/v3"];

/// The Eko routes, relative to a prefix.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/user/services", get(user::all_services))
        .route("/user/services/{user_code}", get(user::agent_services))
        .route("/user/service/activate", put(user::activate))
        .route("/user/service/deactivate", put(user::deactivate))
        .route("/user/onboard", put(onboard::onboard))
        .route("/user/request/otp", put(otp::request))
        .route("/user/verify", put(otp::verify))
        .route("/customers/{customer_id}/balance", get(balance::balance))
        .merge(dmt_routes())
        .merge(verification::routes().0)
        .merge(collections::routes())
        .merge(cms::routes())
        .merge(loans::routes())
}

/// Money transfer: customers, recipients, banks, transactions, refunds.
fn dmt_routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{customer_id}", get(dmt::customers::get_customer).put(dmt::customers::create))
        .route("/customers/{customer_id}/otp", post(dmt::customers::resend_otp))
        .route("/customers/verification/{otp}", put(dmt::customers::verify))
        .route("/customers/{customer_id}/recipients", get(dmt::recipients::list))
        .route(
            "/customers/{customer_id}/recipients/{recipient}",
            get(dmt::recipients::get).put(dmt::recipients::add).delete(dmt::recipients::remove),
        )
        .route("/banks", get(dmt::banks::banks))
        .route("/transactions", post(dmt::transfers::initiate))
        .route("/transactions/{tid}", get(dmt::transfers::inquiry))
        .route("/transactions/{tid}/refund", post(dmt::refunds::refund))
        .route("/transactions/{tid}/refund/otp", post(dmt::refunds::resend_otp))
}

/// The v3 routes, relative to a v3 prefix.
fn v3_routes() -> Router<AppState> {
    Router::new()
        .route("/customer/payment/token", post(token::generate))
        .route("/customer/payment/token/{token}", get(token::inquiry))
        .route("/customer/payment/token/{token}/pay", post(token::pay))
        .merge(verification::routes().1)
        .merge(collections::v3_routes())
        .merge(cms::routes())
}

pub fn router(state: AppState) -> Router<AppState> {
    let api = routes()
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate))
        .method_not_allowed_fallback(method_not_allowed);
    let v3 = v3_routes()
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate))
        .method_not_allowed_fallback(method_not_allowed);
    let router = PREFIXES.iter().fold(Router::new(), |router, prefix| router.nest(prefix, api.clone()));
    let router = V3_PREFIXES.iter().fold(router, |router, prefix| router.nest(prefix, v3.clone()));
    router.merge(aeps::router(state.clone())).merge(collections::sandbox_router(state))
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> EkoReply {
    EkoReply::http_error(StatusCode::METHOD_NOT_ALLOWED, format!("Method {method} is not allowed on {}", uri.path()))
        .with_hint("check the HTTP method in the API reference (GET, POST or PUT)")
}

/// Whether `path` belongs to the Eko dialect.
pub fn is_eko_path(path: &str) -> bool {
    path.starts_with("/ekoapi/") || path.starts_with("/ekoicici/")
}

/// The answer for an Eko path no route matched: the platform's "No mapping rule matched".
pub fn no_mapping_rule(path: &str) -> EkoReply {
    let version = path.split('/').nth(2).unwrap_or("");
    let hint = if version == "v3" {
        format!(
            "no API is served at {path}; v3 paths differ from v1 and v2 (Kosh serves AePS e-KYC and Token collection under v3)"
        )
    } else if PREFIXES.iter().any(|p| p.ends_with(&format!("/{version}"))) {
        format!("no API is served at {path}; check the path, or swap the version segment ({version}) between v1 and v2")
    } else {
        format!("unknown API version {version:?}; Kosh serves v1, v2 and (AePS, Token) v3")
    };
    EkoReply::http_error(StatusCode::NOT_FOUND, "No mapping rule matched").with_hint(hint)
}

/// Reads a colon path id such as `user_code:20810200`, checking its name.
pub fn colon_id<'a>(segment: &'a str, name: &str) -> Result<&'a str, EkoReply> {
    match segment.split_once(':') {
        Some((n, value)) if n == name && !value.is_empty() => Ok(value),
        _ => Err(EkoReply::http_error(StatusCode::NOT_FOUND, "No mapping rule matched")
            .with_hint(format!("this path segment must be {name}:<value>, not {segment:?}"))),
    }
}

/// Checks the `initiator_id` parameter names the authenticated partner.
pub fn check_initiator(params: &EkoParams, auth: &auth::Authenticated) -> EkoResult {
    match params.get("initiator_id") {
        None => Err(EkoReply::invalid(vec![("initiator_id".into(), envelope::MISSING.into())])),
        Some(id) if id.trim() == auth.partner.initiator_id => Ok(EkoReply::ok(0, "", serde_json::json!({}))),
        Some(_) => Err(invalid_initiator()),
    }
}

/// Starts checking a write request's parameters. A wrong `initiator_id` is refused at
/// once (status 319); a missing one is listed with the other bad fields.
pub fn checker(params: &EkoParams, auth: &auth::Authenticated) -> Result<Checker, EkoReply> {
    let mut checker = Checker::default();
    match params.get("initiator_id") {
        None => checker.fail("initiator_id", envelope::MISSING),
        Some(id) if id.trim() == auth.partner.initiator_id => {}
        Some(_) => return Err(invalid_initiator()),
    }
    Ok(checker)
}

fn invalid_initiator() -> EkoReply {
    EkoReply::failure(envelope::status::INVALID_INITIATOR, -1, "Invalid Sender/Initiator")
        .with_hint("initiator_id must be the registered mobile number of the partner whose developer_key you send")
}
