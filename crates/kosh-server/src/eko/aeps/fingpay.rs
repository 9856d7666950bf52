//! AePS (Fingpay) transactions under v3, at the paths the vendor's SDK calls: the
//! customer's mobile is in the path and the path names the transaction type, the rest
//! is the v2 transaction's body (`POST /ekoapi/v2/aeps`), answered by the same
//! [`transact::transact_reply`] over the same domain (limits, daily authentication,
//! commission and TDS, awaited → inquiry).
//!
//! | path (under v3) | type | response_type_id |
//! |---|---|---|
//! | `POST /customer/collection/aeps-fingpay/cash-withdrawl/{customer_id}` (sic) | cash withdrawal | 1463 / 1464 / 1465 |
//! | `POST /customer/collection/aeps-fingpay/balance-enquiry/{customer_id}` | balance enquiry (`amount` 0 or absent) | 1466 / 1467 |
//! | `POST /customer/collection/aeps-fingpay/mini-statement/{customer_id}` | mini statement (`amount` 0 or absent) | 1527 / 1528 |
//! | `POST /customer/collection/aeps-fingpay/aadhaar-pay/{customer_id}` (Kosh's path: the platform documents none) | Aadhaar Pay (service 51): up to ₹10,000, the agent's e-value credited | 1463 / 1464 / 1465 |
//!
//! The SDK sends no `request_hash` here and the platform accepts that: the hash is
//! checked when sent ([`crate::eko::auth::HashRule::IfSent`]).

use super::transact;
use crate::eko::accounts::path_id;
use crate::eko::auth::Authenticated;
use crate::eko::envelope::EkoResult;
use crate::eko::params::EkoParams;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Extension, Router};

const BASE: &str = "/customer/collection/aeps-fingpay";

/// The v3 transaction routes, relative to a v3 prefix.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/cash-withdrawl/{{customer_id}}"), post(cash_withdrawal))
        .route(&format!("{BASE}/balance-enquiry/{{customer_id}}"), post(balance_enquiry))
        .route(&format!("{BASE}/mini-statement/{{customer_id}}"), post(mini_statement))
        .route(&format!("{BASE}/aadhaar-pay/{{customer_id}}"), post(aadhaar_pay))
}

async fn cash_withdrawal(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = params.with_path("customer_id", path_id(&customer, "customer_id")?)?.with_path("service_type", "2")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/cash-withdrawl/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

/// The parameters of an enquiry: `amount` is 0 whether sent as 0 or not at all.
fn enquiry(params: EkoParams, customer: &str, service_type: &str) -> Result<EkoParams, crate::eko::envelope::EkoReply> {
    let params = params.with_path("customer_id", path_id(customer, "customer_id")?)?.with_path("service_type", service_type)?;
    if params.get("amount").is_some() {
        Ok(params)
    } else {
        params.with_path("amount", "0")
    }
}

async fn balance_enquiry(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = enquiry(params, &customer, "3")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/balance-enquiry/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

async fn mini_statement(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = enquiry(params, &customer, "4")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/mini-statement/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}

async fn aadhaar_pay(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let params = params.with_path("customer_id", path_id(&customer, "customer_id")?)?.with_path("service_type", "5")?;
    let endpoint = "POST /v3/customer/collection/aeps-fingpay/aadhaar-pay/{customer_id}";
    transact::transact_reply(&app, &auth, &headers, &params, endpoint).await
}
