//! User management under v3 (docs "User Management APIs", and the paths the vendor's
//! Python SDK calls): thin adapters over the v1 handlers' replies, so onboarding,
//! the service lifecycle and "Agent not allowed" follow one set of rules.
//!
//! | method and path | same as v1 | response_type_id |
//! |---|---|---|
//! | `PUT /user/account`, `POST /user/network/eps-agent` (SDK) | `PUT /user/onboard` | 1290 / 1307 |
//! | `GET /user/account/services?user_code=` | `GET /user/services/user_code:{uc}` | 1299 |
//! | `GET /tools/catalog/service-codes` | `GET /user/services` | 1280 |
//! | `PUT /admin/network/agent/{user_code}/service/{service_code}/activate` | `PUT /user/service/activate` | 1294 / 1295 |
//! | `PUT /admin/network/agent/{user_code}/service/{service_code}/deactivate` | `PUT /user/service/deactivate` | 1298 |
//! | `GET /user/account/balance?customer_id=` (docs), `GET /user/account/balance/{customer_id}` (SDK) | `GET /customers/mobile_number:{m}/balance` | 1 |
//! | `PUT /admin/network/agent/{user_code}/aeps-fingpay/activate` (multipart: `form-data` JSON part + `pan_card`, `aadhar_front`, `aadhar_back`) | activate service 43 with its documents | 1294 / 1295 |
//!
//! Path ids are taken plain (`/agent/20810200/…`) or in the colon form
//! (`/agent/user_code:20810200/…`).

use super::auth::Authenticated;
use super::envelope::{EkoReply, EkoResult, MISSING};
use super::params::{EkoParams, MAX_UPLOAD_BYTES};
use super::{balance, check_initiator, onboard, user};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use kosh_core::banks::{AccountNumber, Ifsc};
use kosh_core::validate::Text;

/// The v3 user-management routes, relative to a v3 prefix.
pub fn routes() -> Router<AppState> {
    let agent = "/admin/network/agent/{user_code}/service/{service_code}";
    Router::new()
        .route("/user/account", put(onboard::onboard))
        .route("/user/network/eps-agent", post(onboard::onboard))
        .route("/user/account/services", get(services))
        .route("/tools/catalog/service-codes", get(user::all_services))
        .route(&format!("{agent}/activate"), put(activate).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route(&format!("{agent}/deactivate"), put(deactivate))
        .route(
            "/admin/network/agent/{user_code}/aeps-fingpay/activate",
            put(activate_aeps_fingpay).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/user/account/balance/{customer_id}", get(balance_by_path))
}

/// A path id given plain (`20810200`) or in the colon form (`user_code:20810200`).
pub fn path_id<'a>(segment: &'a str, name: &str) -> Result<&'a str, EkoReply> {
    match segment.split_once(':') {
        None => Ok(segment),
        Some(_) => super::colon_id(segment, name),
    }
}

fn required<'a>(params: &'a EkoParams, name: &str) -> Result<&'a str, EkoReply> {
    params.get(name).ok_or_else(|| EkoReply::invalid(vec![(name.into(), MISSING.into())]))
}

/// `GET /user/account/services`: initiator_id*, user_code*.
async fn services(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    user::agent_services_reply(&app, &auth, required(&params, "user_code")?).await
}

/// The activation target from the path, merged into the body's parameters.
fn with_target(params: EkoParams, user_code: &str, service_code: &str) -> Result<EkoParams, EkoReply> {
    params
        .with_path("user_code", path_id(user_code, "user_code")?)?
        .with_path("service_code", path_id(service_code, "service_code")?)
}

async fn activate(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path((user_code, service_code)): Path<(String, String)>,
    params: EkoParams,
) -> EkoResult {
    user::activate_reply(&app, &auth, &with_target(params, &user_code, &service_code)?).await
}

async fn deactivate(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path((user_code, service_code)): Path<(String, String)>,
    params: EkoParams,
) -> EkoResult {
    user::deactivate_reply(&app, &auth, &with_target(params, &user_code, &service_code)?).await
}

/// The documents and bank details the Fingpay activation requires besides v1's fields.
const FINGPAY_DOCUMENTS: [&str; 3] = ["pan_card", "aadhar_front", "aadhar_back"];

/// `PUT /admin/network/agent/{user_code}/aeps-fingpay/activate`: service 43 with the
/// agent's settlement account (`account`, `ifsc`), `shop_type`, `aadhar` and the three
/// documents; the rest as v1's activation. The Aadhaar number is checked, never kept.
async fn activate_aeps_fingpay(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(user_code): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = with_target(params, &user_code, "43")?;
    let mut c = super::checker(&params, &auth)?;
    c.required(&params, "account", |t| AccountNumber::parse(t).map_err(|e| e.message()));
    c.required(&params, "ifsc", Ifsc::parse);
    c.required(&params, "shop_type", |t| Text::parse(t, 8));
    c.required(&params, "aadhar", super::aeps::parse_aadhaar);
    for name in ["modelname", "devicenumber", "office_address", "address_as_per_proof", "latlong"] {
        if params.get(name).is_none() {
            c.fail(name, MISSING);
        }
    }
    for document in FINGPAY_DOCUMENTS {
        if !params.uploads().iter().any(|u| u.field == document) {
            c.fail(document, "is required (a file part: JPEG or PDF under 1 MB)");
        }
    }
    c.finish()?;
    user::activate_reply(&app, &auth, &params).await
}

/// `customer_id_type` names what `customer_id` is; only mobile numbers name wallets.
fn check_id_type(params: &EkoParams) -> Result<(), EkoReply> {
    match params.get("customer_id_type").map(str::trim) {
        None | Some("mobile_number") => Ok(()),
        Some(_) => Err(EkoReply::invalid(vec![("customer_id_type".into(), "must be mobile_number".into())])),
    }
}

/// `GET /user/account/balance/{customer_id}` (the SDK's form).
async fn balance_by_path(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    check_initiator(&params, &auth)?;
    check_id_type(&params)?;
    balance::wallet_reply(&app, &auth, path_id(&segment, "customer_id")?, "customer_id").await
}
