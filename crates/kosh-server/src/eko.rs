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

pub mod accounts;
pub mod aeps;
pub mod auth;
pub mod balance;
pub mod bbps;
pub mod callbacks;
pub mod cms;
pub mod collections;
pub mod dmt;
pub mod dmt_v3;
pub mod envelope;
pub mod inquiry;
pub mod loans;
pub mod multipart;
pub mod onboard;
pub mod otp;
pub mod params;
pub mod payouts;
pub mod settlement;
pub mod token;
pub mod user;
pub mod verification;

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, OriginalUri};
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
        .route("/user/service/activate", put(user::activate).layer(DefaultBodyLimit::max(params::MAX_UPLOAD_BYTES)))
        .route("/user/service/deactivate", put(user::deactivate))
        .route("/user/onboard", put(onboard::onboard))
        .route("/user/request/otp", put(otp::request))
        .route("/user/verify", put(otp::verify))
        .route("/customers/{customer_id}/balance", get(balance::balance))
        .merge(dmt_routes())
        .merge(bbps::routes())
        .merge(verification::routes().0)
        .merge(payout_routes())
        .merge(collections::routes())
        .merge(cms::routes())
        .merge(loans::routes())
}

/// Payouts (service 45) under v1/v2: the agent's settlement path.
fn payout_routes() -> Router<AppState> {
    Router::new()
        .route("/agent/{user_code}/settlement", post(payouts::settlement))
        .route("/agent/{user_code}/settlementaccount", put(settlement::add_account_v1))
        .route("/agent/{user_code}/settlementaccounts", get(settlement::accounts_v1))
}

/// Payouts and UPI payments under v3.
fn payout_v3_routes() -> Router<AppState> {
    Router::new()
        .route("/user/payment/fund-transfer", post(payouts::fund_transfer))
        .route("/customer/payment/upi", post(payouts::upi))
        .route("/customer/payment/upi-mobile", post(payouts::upi_mobile))
        .route("/user/payment/aeps/settlement", post(settlement::settle_v3))
        .route("/user/payment/aeps/settlement/account", post(settlement::add_account_v3))
        .route("/user/payment/aeps/settlement/accounts", get(settlement::accounts_v3))
        // The partner's or an agent's wallet (`eko::accounts` serves the path form).
        .route("/user/account/balance", get(balance::settlement_account_balance))
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
        .merge(bbps::v3_routes())
        .merge(payout_v3_routes())
        .merge(verification::routes().1)
        .merge(collections::v3_routes())
        .merge(cms::routes())
        .merge(dmt_v3::routes())
        .merge(common_routes())
        .merge(accounts::routes())
}

/// The v3 common APIs: the one transaction inquiry over every product.
fn common_routes() -> Router<AppState> {
    Router::new()
        .route("/tools/reference/transaction", get(inquiry::by_query))
        .route("/tools/reference/transaction/{reference}", get(inquiry::by_path))
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

/// Every path Kosh serves, relative to its prefix, by group (`v1`: under v1 and v2;
/// `v2`: v2 only; `v3`), for the "No mapping rule matched" hint; `tests/v3_core.rs`
/// checks each is served.
pub const SERVED: &[(&str, &str)] = &[
    ("v1", "/user/services"),
    ("v1", "/user/services/{user_code}"),
    ("v1", "/user/service/activate"),
    ("v1", "/user/service/deactivate"),
    ("v1", "/user/onboard"),
    ("v1", "/user/request/otp"),
    ("v1", "/user/verify"),
    ("v1", "/customers/{customer_id}/balance"),
    ("v1", "/customers/{customer_id}"),
    ("v1", "/customers/{customer_id}/otp"),
    ("v1", "/customers/verification/{otp}"),
    ("v1", "/customers/{customer_id}/recipients"),
    ("v1", "/customers/{customer_id}/recipients/{recipient}"),
    ("v1", "/banks"),
    ("v1", "/transactions"),
    ("v1", "/transactions/{tid}"),
    ("v1", "/transactions/{tid}/refund"),
    ("v1", "/transactions/{tid}/refund/otp"),
    ("v2", "/aeps"),
    ("v2", "/aeps/aepsmerchantauth"),
    ("v2", "/aeps/transactions/{reference}"),
    ("v3", "/customer/payment/token"),
    ("v3", "/customer/payment/token/{token}"),
    ("v3", "/customer/payment/token/{token}/pay"),
    ("v3", "/tools/reference/transaction"),
    ("v3", "/tools/reference/transaction/{reference}"),
    ("v3", "/user/account"),
    ("v3", "/user/network/eps-agent"),
    ("v3", "/user/account/services"),
    ("v3", "/tools/catalog/service-codes"),
    ("v3", "/admin/network/agent/{user_code}/service/{service_code}/activate"),
    ("v3", "/admin/network/agent/{user_code}/service/{service_code}/deactivate"),
    ("v3", "/user/account/balance"),
    ("v3", "/user/account/balance/{customer_id}"),
    ("v3", "/admin/network/agent/{user_code}/aeps-fingpay/activate"),
    ("v3", "/user/collection/aeps-fingpay/kyc/otp"),
    ("v3", "/user/collection/aeps-fingpay/kyc/otp/verify"),
    ("v3", "/user/collection/aeps-fingpay/kyc/biometric"),
    ("v3", "/user/collection/aeps-fingpay/kyc/biometric/daily"),
    ("v3", "/user/collection/aeps-fino/kyc/biometric"),
    ("v3", "/aeps/transactions/{reference}"),
    ("v3", "/customer/collection/aeps-fingpay/cash-withdrawl/{customer_id}"),
    ("v3", "/customer/collection/aeps-fingpay/balance-enquiry/{customer_id}"),
    ("v3", "/customer/collection/aeps-fingpay/mini-statement/{customer_id}"),
    ("v3", "/customer/collection/aeps-fingpay/aadhaar-pay/{customer_id}"),
    ("v3", "/customer/collection/aeps-fingpay/cash-withdrawal/otp/{customer_id}"),
    ("v1", "/banks/{bank_id}/accounts/{account}"),
    ("v3", "/tools/kyc/bank-account/bulk/status"),
    ("v3", "/tools/kyc/pan/bulk/status"),
    ("v3", "/tools/kyc/digilocker/status"),
    ("v3", "/tools/kyc/digilocker/document/{document_type}"),
];

/// Every path Kosh serves: [`SERVED`] and each verification kind's own path.
pub fn served_paths() -> impl Iterator<Item = (&'static str, &'static str)> {
    use kosh_core::verification::{Route, KINDS};
    let kinds = KINDS.iter().filter_map(|k| match k.route {
        Route::V3(_, path) => Some(("v3", path)),
        // A legacy kind with a path id is served by its own route, listed in SERVED.
        Route::Legacy(_, path) if path.contains('{') => None,
        Route::Legacy(_, path) => Some(("v1", path)),
    });
    SERVED.iter().copied().chain(kinds)
}

/// Longest unmatched path (after the version) that gets a nearest-path suggestion.
const MAX_HINTED_PATH_LEN: usize = 256;

/// The answer for an Eko path no route matched: the platform's "No mapping rule
/// matched", with a hint naming the nearest path Kosh serves.
pub fn no_mapping_rule(path: &str) -> EkoReply {
    let mut segments = path.splitn(4, '/').skip(1);
    let (family, version, rest) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""), segments.next().unwrap_or(""));
    let rest = format!("/{rest}");
    let hint = match nearest_served(version, &rest) {
        Some((v, served)) => {
            let note = match (version, v) {
                ("v3", "v1" | "v2") => " (served under v1 and v2; v3 paths differ from v1 and v2)",
                ("v1" | "v2" | "v3", _) => "",
                _ => " (Kosh serves the versions v1, v2 and v3)",
            };
            format!("no API is served at {path}; the nearest path Kosh serves is /{family}/{v}{served}{note}")
        }
        None => format!("no API is served at {path}"),
    };
    EkoReply::http_error(StatusCode::NOT_FOUND, "No mapping rule matched").with_hint(hint)
}

/// The served path nearest `rest` (segment edit distance; a `{param}` matches any
/// segment), preferring paths served under the requested version; answers the version
/// to name with it.
fn nearest_served(version: &str, rest: &str) -> Option<(&'static str, &'static str)> {
    // The distance costs length × length per template: a hostile path gets no suggestion.
    if rest.len() > MAX_HINTED_PATH_LEN {
        return None;
    }
    let asked: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    served_paths()
        .map(|(group, served)| {
            let template: Vec<&str> = served.split('/').filter(|s| !s.is_empty()).collect();
            let named = served_version(group, version);
            (segment_distance(&asked, &template) * 2 + usize::from(named != version), named, served)
        })
        .min_by_key(|(cost, _, _)| *cost)
        .map(|(_, named, served)| (named, served))
}

/// The version to name for a path of `group` ("v1": served under v1 and v2; "v2": v2
/// only; "v3") when `asked` was requested.
fn served_version(group: &str, asked: &str) -> &'static str {
    match (group, asked) {
        ("v1", "v2") | ("v2", _) => "v2",
        ("v1", _) => "v1",
        _ => "v3",
    }
}

/// Edit distance between two paths, segment by segment: replacing a segment costs its
/// character edit distance (1 against a `{param}`: any value fits, but a literal that
/// matches is nearer), adding or dropping one its length.
fn segment_distance(asked: &[&str], template: &[&str]) -> usize {
    let weight = |s: &str| if s.starts_with('{') { 3 } else { s.chars().count() };
    let mut row: Vec<usize> = std::iter::once(0)
        .chain(template.iter().scan(0, |acc, t| {
            *acc += weight(t);
            Some(*acc)
        }))
        .collect();
    for a in asked {
        let mut next = vec![row[0] + a.chars().count()];
        for (j, t) in template.iter().enumerate() {
            let replace = if t.starts_with('{') { 1 } else { char_distance(a, t) };
            next.push((row[j] + replace).min(row[j + 1] + a.chars().count()).min(next[j] + weight(t)));
        }
        row = next;
    }
    row[template.len()]
}

fn char_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut next = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            next.push((row[j] + usize::from(ca != *cb)).min(row[j + 1] + 1).min(next[j] + 1));
        }
        row = next;
    }
    row[b.len()]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(path: &str) -> String {
        no_mapping_rule(path).hint.unwrap()
    }

    #[test]
    fn the_hint_names_the_nearest_served_path() {
        assert!(hint("/ekoapi/v3/customer/collection/aeps-fingpay/cash-withdrawal/9812345678")
            .ends_with("nearest path Kosh serves is /ekoapi/v3/customer/collection/aeps-fingpay/cash-withdrawl/{customer_id}"));
        assert!(hint("/ekoicici/v3/tools/reference/transactions/123")
            .contains("/ekoicici/v3/tools/reference/transaction/{reference}"));
        assert!(
            hint("/ekoapi/v1/transaction/123").contains("/ekoapi/v1/transactions/{tid}"),
            "{}",
            hint("/ekoapi/v1/transaction/123")
        );
        assert!(hint("/ekoapi/v2/user/service/activat").contains("/ekoapi/v2/user/service/activate"));
        assert!(hint("/ekoapi/v3/user/acount/services").contains("/ekoapi/v3/user/account/services"));
    }

    #[test]
    fn a_very_long_path_gets_no_suggestion() {
        let long = format!("/ekoapi/v3/{}", "x".repeat(MAX_HINTED_PATH_LEN + 1));
        assert_eq!(hint(&long), format!("no API is served at {long}"));
    }

    #[test]
    fn segment_distance_treats_params_as_wildcards() {
        assert_eq!(segment_distance(&["a", "123"], &["a", "{id}"]), 1);
        assert_eq!(segment_distance(&["a", "123"], &["a", "b"]), 3);
        assert_eq!(segment_distance(&["a"], &["a", "{id}"]), 2);
        assert_eq!(char_distance("withdrawal", "withdrawl"), 1);
    }
}
