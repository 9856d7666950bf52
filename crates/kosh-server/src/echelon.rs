//! The Echelon dialect: scoped JWTs, payins, payouts, balances and reference data at the
//! root paths of the vendor's spec (v2.47), a thin adapter over store commands.
//!
//! - [`auth`]: `X-API-Version`, bearer tokens, the database-backed throttle, operations.
//! - [`tokens`]: `POST /auth-tokens` and `POST /auth-tokens-by-action`.
//! - [`payments`]: payins and payouts (create, detail, accounts, external reference,
//!   available options) and their wire shapes.
//! - [`reference`](mod@reference): balances, currencies, segments, methods, operators, options,
//!   merchant info.
//! - [`qr`]: the QR images payins point customers at, served by Kosh.
//! - its payment worker lives with the others:
//!   [`workers::echelon_payments`](crate::workers::echelon_payments) moves processing
//!   payins and payouts on (sandbox outcomes, the rail, expiry) and prunes old throttle
//!   windows.
//! - the documented sandbox merchant is seeded by [`crate::sandbox::echelon`]; the
//!   payout rail comes from [`crate::service::echelon_payments::payout_rail`].
//! - [`targets`]: where callbacks may go (`callbackUrl`, the SSRF guard).

pub mod auth;
pub mod callbacks;
pub mod error;
pub mod input;
pub mod payments;
pub mod qr;
pub mod reference;
pub mod targets;
pub mod tokens;

use crate::config::Config;
use crate::service::echelon_payments::{payout_rail, PayoutRail};
use crate::state::AppState;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use error::{ApiError, ApiResult};
use kosh_core::echelon::jwt::TokenMoney;
use kosh_core::echelon::merchant::{signing_key, DEFAULT_PEPPER};
use kosh_core::echelon::operations::{Grants, OperationError};
use kosh_core::ids::MerchantId;
use kosh_core::secret::Secret;
use kosh_store::ops::echelon::Merchant;
use kosh_store::sql::SqlError;
use kosh_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Who is calling: the merchant a verified token names, and its money restriction.
#[derive(Debug, Clone)]
pub struct Caller {
    pub merchant: Arc<Merchant>,
    pub money: Option<TokenMoney>,
}

/// How long a node trusts its cached copy of a merchant, in milliseconds of the injected
/// clock (a rotated secret or a deactivation reaches every node within this).
pub const MERCHANT_TTL_MS: i64 = 5_000;
/// Most entries in each of the caches below; a full cache is cleared.
const MAX_CACHED: usize = 10_000;

/// What the Echelon dialect keeps per node: caches only, never state another node
/// would need, and the payout rail.
pub struct EchelonState {
    pepper: Secret,
    /// Merchants by code, with the (injected) time they were read.
    merchants: Mutex<HashMap<String, (Arc<Merchant>, i64)>>,
    /// Compiled operations by token signature (unique per token).
    grants: Mutex<HashMap<String, Arc<Grants>>>,
    /// Merchants whose throttle window is known to be full: merchant id → window.
    full_windows: Mutex<HashMap<MerchantId, i64>>,
    /// The rail payouts go out on: in sandbox mode the simulator driven by magic
    /// amounts (`SandboxPayoutRail`); outside it none until a real
    /// connector is configured, so payouts are refused rather than simulated.
    pub rail: Option<PayoutRail>,
}

impl EchelonState {
    pub fn new(config: &Config) -> EchelonState {
        let rail = payout_rail(config);
        EchelonState {
            // Config::validate requires a pepper outside sandbox mode.
            pepper: config.echelon_token_pepper.clone().unwrap_or_else(|| DEFAULT_PEPPER.into()),
            merchants: Mutex::new(HashMap::new()),
            grants: Mutex::new(HashMap::new()),
            full_windows: Mutex::new(HashMap::new()),
            rail,
        }
    }

    pub fn signing_key(&self, merchant: &Merchant) -> [u8; 32] {
        signing_key(self.pepper.expose(), merchant.token_key.expose())
    }

    /// A merchant by code, cached for [`MERCHANT_TTL_MS`] of the store's clock.
    pub async fn merchant(&self, store: &Store, code: &str) -> Result<Option<Arc<Merchant>>, SqlError> {
        let now_ms = store.now_ms();
        if let Some((m, at_ms)) = self.merchants.lock().expect("merchant cache").get(code) {
            if (*at_ms..*at_ms + MERCHANT_TTL_MS).contains(&now_ms) {
                return Ok(Some(m.clone()));
            }
        }
        let Some(m) = store.echelon_merchant(code).await? else { return Ok(None) };
        let m = Arc::new(m);
        let mut cache = self.merchants.lock().expect("merchant cache");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(code.to_owned(), (m.clone(), now_ms));
        Ok(Some(m))
    }

    /// Forgets a cached merchant (after its secret changed on this node).
    pub fn forget_merchant(&self, code: &str) {
        self.merchants.lock().expect("merchant cache").remove(code);
    }

    /// The compiled grants of a verified token.
    fn grants(&self, token: &str, operations: &[String]) -> ApiResult<Arc<Grants>> {
        let signature = token.rsplit('.').next().unwrap_or(token);
        if let Some(g) = self.grants.lock().expect("grants cache").get(signature) {
            return Ok(g.clone());
        }
        let compiled = Arc::new(Grants::compile(operations).map_err(|e| match e {
            OperationError::Schema(m) | OperationError::Invalid(m) => ApiError::unauthorized(format!("invalid token: {m}")),
        })?);
        let mut cache = self.grants.lock().expect("grants cache");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(signature.to_owned(), compiled.clone());
        Ok(compiled)
    }

    fn known_full(&self, merchant_id: MerchantId, window_s: i64) -> bool {
        self.full_windows.lock().expect("throttle cache").get(&merchant_id) == Some(&window_s)
    }

    fn mark_full(&self, merchant_id: MerchantId, window_s: i64) {
        let mut full = self.full_windows.lock().expect("throttle cache");
        if full.len() >= MAX_CACHED {
            full.clear();
        }
        full.insert(merchant_id, window_s);
    }
}

/// Refuses the documented sandbox merchant outside sandbox mode: its secret is public,
/// so a database that once ran in sandbox mode must not keep it usable.
pub fn check_mode(app: &AppState, merchant: &Merchant) -> ApiResult<()> {
    if merchant.is_sandbox && !app.config.sandbox {
        return Err(ApiError::unauthorized(format!(
            "{} is the public sandbox merchant; it works only on a server in sandbox mode",
            merchant.merchant_code
        )));
    }
    Ok(())
}

/// The Echelon routes. Every route needs `X-API-Version`; all but the token endpoints
/// need a bearer token.
pub fn router(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/payins/!availablePaymentOptions", post(payments::payin_options))
        .route("/payouts/!availablePaymentOptions", post(payments::payout_options))
        .route("/payins/{id}", post(payments::create_payin).get(payments::payin_detail))
        .route("/payins/{id}/accounts", get(payments::payin_accounts))
        .route("/payins/{id}/!setExternalReference", post(payments::set_external_reference))
        .route("/payouts/{id}", post(payments::create_payout).get(payments::payout_detail))
        .route("/balances", get(reference::balances))
        .route("/currencies", get(reference::currencies))
        .route("/segments", get(reference::segments))
        .route("/payment-methods", get(reference::payment_methods))
        .route("/payment-operators", get(reference::payment_operators))
        .route("/payment-options", get(reference::payment_options))
        .route("/merchant-info", get(reference::merchant_info))
        .route_layer(from_fn_with_state(state, auth::require_token));
    let open = Router::new()
        .route("/auth-tokens", post(tokens::auth_tokens))
        .route("/auth-tokens-by-action", post(tokens::auth_tokens_by_action));
    // Unknown methods on these routes answer in the spec's shape too (unknown paths:
    // [`not_found`], from the application's fallback).
    protected.merge(open).route_layer(from_fn(auth::require_version)).merge(qr::router()).method_not_allowed_fallback(not_allowed)
}

/// The first path segments of the Echelon dialect: the spec's and Kosh's own (`echelon`).
const TOP_SEGMENTS: &[&str] = &[
    "payins",
    "payouts",
    "auth-tokens",
    "auth-tokens-by-action",
    "balances",
    "currencies",
    "segments",
    "payment-methods",
    "payment-operators",
    "payment-options",
    "merchant-info",
    "echelon",
];

/// Whether an unmatched path belongs to the Echelon dialect (and so is answered in its
/// shape): its first segment is one of the dialect's.
pub fn is_echelon_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    TOP_SEGMENTS.contains(&first)
}

/// 404 for an Echelon path no route serves, as a `BasicError`.
pub fn not_found(path: &str) -> ApiError {
    let path: String = path.chars().take(200).collect();
    ApiError::not_found(format!("no Echelon API is served at {path}; see the API list in the README"))
}

/// 405 for an Echelon route called with another method, as a `BasicError` (axum adds
/// the `Allow` header).
async fn not_allowed(method: axum::http::Method, axum::extract::OriginalUri(uri): axum::extract::OriginalUri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::Basic(axum::http::StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not served at {path}; see the Allow header"))
}

/// The base URL customers reach this server at, for links in answers (QR images): the
/// request's `Host`.
pub fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).filter(|h| is_host(h)).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn is_host(text: &str) -> bool {
    !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}
