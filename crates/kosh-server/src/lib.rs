//! # kosh-server: the HTTP server
//!
//! A guided tour, in the order a request meets the code. Take `POST
//! /ekoapi/v2/transactions` (a DMT transfer) as the running example.
//!
//! 1. **Start.** [`App::start`] validates the [`config`], opens the store with
//!    [`open_store`] (migrated, and in sandbox mode seeded by [`sandbox`] and
//!    [`sandbox::echelon`]), builds the shared [`state::AppState`] (store, partner cache,
//!    outbound HTTP client, metrics, the rail) and starts the [`workers`].
//! 2. **Connections.** [`connections::listen`] binds with the configured backlog;
//!    [`connections::serve`] accepts, caps connections and applies the header, body and
//!    idle timeouts, then hands each request to the [`router`].
//! 3. **Rejections and metrics.** The outermost layer, [`rejections::dialect_errors`],
//!    rewrites every error answer (the framework's own included: bad JSON, body too
//!    large, unknown path) into the dialect of its path; inside it the body limit and
//!    [`metrics::track`] (Prometheus, rendered at `/metrics`; `/healthz` answers when the
//!    store does).
//! 4. **Router.** [`router`] merges one router per dialect, each an adapter from a wire
//!    format to store commands:
//!    - [`eko`] ([`eko::router`]): the Eko API under `/ekoapi/v1`, `/ekoapi/v2`,
//!      `/ekoicici/…` and v3; one module per family ([`eko::user`], [`eko::onboard`],
//!      [`eko::otp`], [`eko::balance`], [`eko::dmt`] with [`eko::dmt::transfers`] and its
//!      siblings, [`eko::aeps`], [`eko::token`]);
//!    - [`echelon`] ([`echelon::router`]): scoped JWTs, payins, payouts and balances at
//!      the spec's root paths;
//!    - [`gateway`]: the hosted AePS gateway page (`/v2/aeps`) and its partner callback
//!      protocol; [`cms`]: the hosted CMS (cash drop) page;
//!    - [`admin`]: the operator's API under `/admin/v1` (only with an `admin_token`).
//!
//!    Unmatched paths fall back to each dialect's own "not found".
//! 5. **Authentication and parameters.** The Eko routes run
//!    [`eko::auth::authenticate`] (developer key, secret-key and its timestamp), which
//!    leaves an [`eko::auth::Authenticated`] partner for the handler; the handler reads
//!    form or JSON bodies as [`eko::params::EkoParams`] and checks them with a
//!    [`eko::params::Checker`], which lists every bad field at once; handlers whose
//!    requests carry a `request_hash` check it over the parsed fields with
//!    [`eko::auth::accept_request_hash`]. Echelon routes run
//!    [`echelon::auth::require_version`] and [`echelon::auth::require_token`] (leaving
//!    an [`echelon::Caller`]) and parse bodies with `echelon::input`.
//! 6. **Service and store command.** The handler turns the request into a typed one
//!    and calls its [`service`] (a money flow), or builds one
//!    [`kosh_store::commands::Command`] itself; either runs it with
//!    [`kosh_store::Store::execute`], or
//!    [`kosh_store::Store::execute_idempotent`] under an
//!    [`IdemKey`](kosh_store::commands::IdemKey) in one of the
//!    [`kosh_store::scopes`] (the transfer: [`service::dmt::initiate`] records
//!    `InitiateTransfer` under the partner's `client_ref_id`). The command runs in one
//!    transaction: it validates, posts or reserves money with
//!    [`kosh_store::ops::ledger::record`], changes state, and appends the events that
//!    describe the change with [`kosh_store::ops::outbox::append`]; either all of it
//!    commits or none does.
//! 7. **Rail.** A transfer that was recorded goes to the bank: the service
//!    ([`service::dmt`]) asks the rail (in sandbox mode
//!    [`kosh_rails::sandbox::rail::SandboxRail`]) and applies its answer as another
//!    command. Only services call rails and partners' APIs; handlers never do.
//! 8. **Envelope.** The handler answers an [`eko::envelope::EkoReply`] (`status`,
//!    `response_status_id`, `response_type_id`, `message`, `data`, `invalid_params`);
//!    an Echelon handler answers JSON or an [`echelon::error::ApiError`] in the spec's
//!    error shape.
//! 9. **Workers**, after the answer, on short real-time ticks against the injected
//!    clock, coordinating through rows in the store:
//!    [`workers::callbacks`] delivers outbox events to partners (with
//!    [`workers::policy`] retries, over [`workers::outbound`]); [`workers::rail`] asks
//!    the rail about transfers whose time has come (NEFT batches, holds, late
//!    failures, transfers a crashed request left unanswered);
//!    [`workers::echelon_payments`] moves payins and payouts on; and
//!    [`workers::request_hashes`] forgets stale `request_hash` uses.
//!
//! [`App::stop`] stops accepting, lets in-flight requests finish within the grace
//! period, and stops the workers.

pub mod admin;
pub mod cms;
pub mod config;
pub mod connections;
pub mod echelon;
pub mod eko;
pub mod front;
pub mod gateway;
pub mod json_strict;
pub mod metrics;
pub mod rejections;
pub mod request_id;
pub mod sandbox;
pub mod service;
pub mod state;
pub mod workers;

use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use config::Config;
use kosh_core::clock::SharedClock;
use kosh_core::ids::PartnerId;
use kosh_store::Store;
use serde_json::json;
use state::{AppState, PartnerCache};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("storage: {0}")]
    Store(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Opens the store for `config`, migrated and (in sandbox mode) seeded.
pub async fn open_store(config: &Config, clock: SharedClock) -> Result<Store, StartError> {
    config.validate()?;
    let store = Store::open(config.location(), clock).await.map_err(|e| StartError::Store(e.to_string()))?;
    store.migrate().await.map_err(|e| StartError::Store(e.to_string()))?;
    if config.sandbox {
        store.execute(sandbox::seed_command(config.sandbox_wallet_rupees)).await.map_err(|e| StartError::Store(e.to_string()))?;
        store.execute(sandbox::echelon::seed_command()).await.map_err(|e| StartError::Store(e.to_string()))?;
    }
    Ok(store)
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .merge(eko::router(state.clone()))
        .merge(echelon::router(state.clone()))
        .merge(admin::router(state.clone()))
        .merge(eko::otp::sandbox_router(state.clone()))
        .merge(gateway::router(state.clone()))
        .merge(front::router())
        .merge(cms::router())
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(rejections::dialect_errors))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

async fn healthz(State(app): State<AppState>) -> Response {
    match app.store.partner(PartnerId::new(0)).await {
        Ok(_) => Json(json!({ "status": "ok", "store": app.store.location().describe() })).into_response(),
        Err(e) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "error": e.to_string() }))).into_response()
        }
    }
}

/// Readiness, for load balancers and orchestrators: the store answers and has every
/// migration this binary knows. Reads `schema_migrations` only, never a business table,
/// so a busy ledger cannot make a node look unready.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.pending_migrations().await {
        Ok(pending) if pending.is_empty() => {
            Json(json!({ "status": "ready", "version": env!("CARGO_PKG_VERSION") })).into_response()
        }
        Ok(pending) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unready", "error": format!("schema migrations not applied: {pending:?}; run kosh migrate") }),
            ),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unready", "error": e.to_string() }))).into_response(),
    }
}

async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    if eko::is_eko_path(uri.path()) {
        return eko::no_mapping_rule(uri.path()).into_response();
    }
    if echelon::is_echelon_path(uri.path()) {
        return echelon::not_found(uri.path()).into_response();
    }
    (StatusCode::NOT_FOUND, Json(json!({ "status": 404, "message": format!("no such path: {}", uri.path()) }))).into_response()
}

/// A running server.
pub struct App {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    /// The Echelon payment worker, unless `echelon_worker_tick_ms` is 0.
    echelon_worker: Option<tokio::task::JoinHandle<()>>,
    /// Prunes stale request_hash uses.
    request_hash_worker: tokio::task::JoinHandle<()>,
    /// Purges verification answers past their retention, unless `verification_worker_tick_ms` is 0.
    verification_worker: Option<tokio::task::JoinHandle<()>>,
    /// Settles UPI QR payments at T+1.
    collections_worker: tokio::task::JoinHandle<()>,
    /// The callback worker, unless `callbacks_enabled` is off.
    callbacks: Option<workers::callbacks::CallbackWorker>,
    rail_worker: Option<workers::rail::Worker>,
    /// Finishes awaited bill payments (offline channel, slow billers).
    bbps_worker: Option<workers::bbps::Worker>,
    payout_worker: Option<workers::payouts::Worker>,
}

impl App {
    /// Opens the store and starts serving on `config.listen` (port 0 picks a free port).
    pub async fn start(config: Config, clock: SharedClock) -> Result<App, StartError> {
        config.validate()?;
        let store = open_store(&config, clock).await?;
        Self::start_with_store(config, Arc::new(store)).await
    }

    pub async fn start_with_store(config: Config, store: Arc<Store>) -> Result<App, StartError> {
        let payout_rail = service::payouts::payout_rail(&config);
        Self::start_with_payout_rail(config, store, payout_rail).await
    }

    /// [`App::start_with_store`] with the payout rail given: a test hands every server
    /// instance it starts the same sandbox bank, as real nodes share one bank.
    pub async fn start_with_payout_rail(
        config: Config,
        store: Arc<Store>,
        payout_rail: Option<Arc<dyn kosh_rails::Rail>>,
    ) -> Result<App, StartError> {
        config.validate()?;
        let listener = connections::listen(config.listen, config.http_listen_backlog)
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let echelon = Arc::new(echelon::EchelonState::new(&config));
        let config_rail = config.sandbox_rail();
        let store_stats = store.shared_stats();
        let state = AppState {
            store,
            partners: Arc::new(PartnerCache::new()),
            outbound: workers::outbound::Outbound::new(&config),
            metrics: Arc::new(metrics::Metrics::new(store_stats)),
            rail: config
                .sandbox
                .then(|| Arc::new(kosh_rails::sandbox::rail::SandboxRail::new(config_rail)) as Arc<dyn kosh_rails::Rail>),
            payout_rail,
            echelon,
            biller: config.sandbox.then(|| service::bbps::sandbox_biller(&config)),
            verifier: config.sandbox.then(|| {
                let step_ms = i64::try_from(config.verification_async_step_secs).unwrap_or(3_600) * 1000;
                Arc::new(kosh_rails::sandbox::verify::SandboxVerifier { step_ms })
                    as Arc<dyn kosh_rails::verify::VerificationProvider>
            }),
            config: Arc::new(config),
        };
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let app = router(state.clone());
        let limits = connections::Limits::from_config(&state.config);
        let task = tokio::spawn(connections::serve(listener, app, limits, async move {
            let _ = stop.await;
        }));
        let echelon_worker = workers::echelon_payments::spawn(state.clone());
        let callbacks = state.config.callbacks_enabled.then(|| {
            workers::callbacks::CallbackWorker::start(state.store.clone(), &state.config, state.metrics.callbacks.clone())
        });
        let rail_worker = workers::rail::spawn(state.clone());
        let bbps_worker = workers::bbps::spawn(state.clone());
        let payout_worker = workers::payouts::spawn(state.clone());
        let request_hash_worker = workers::request_hashes::spawn(state.store.clone());
        let verification_worker = workers::verifications::spawn(&state);
        let collections_worker = workers::collections::spawn(state.store.clone());
        tracing::info!(%addr, store = %state.store.location().describe(), sandbox = state.config.sandbox, "kosh is serving");
        Ok(App {
            addr,
            state,
            shutdown: Some(shutdown),
            task,
            echelon_worker,
            request_hash_worker,
            collections_worker,
            callbacks,
            rail_worker,
            bbps_worker,
            verification_worker,
            payout_worker,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish (up to the grace
    /// period), stops the callback worker (its unfinished deliveries are handed back to
    /// the outbox), and returns.
    pub async fn stop(mut self) {
        // The worker's moves are atomic commands: stopping it between two loses nothing.
        if let Some(worker) = &self.echelon_worker {
            worker.abort();
        }
        self.request_hash_worker.abort();
        if let Some(worker) = &self.verification_worker {
            worker.abort();
        }
        self.collections_worker.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(worker) = self.rail_worker.take() {
            worker.stop().await;
        }
        if let Some(worker) = self.bbps_worker.take() {
            worker.stop().await;
        }
        if let Some(worker) = self.payout_worker.take() {
            worker.stop().await;
        }
        let grace = Duration::from_secs(self.state.config.shutdown_grace_secs);
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(_) => tracing::info!("kosh stopped"),
            Err(_) => {
                tracing::warn!("in-flight requests did not finish within the grace period; stopping anyway");
                self.task.abort();
            }
        }
        if let Some(worker) = self.callbacks.take() {
            worker.stop().await;
        }
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        self.stop().await;
    }
}
