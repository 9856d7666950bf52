//! # kosh-server: the HTTP server
//!
//! A guided tour:
//! - [`config`]: every setting, with defaults, from a TOML file, env and flags.
//! - [`App::start`] opens the store, applies migrations, seeds the sandbox, and serves
//!   until told to stop, finishing in-flight requests first.
//! - [`eko`]: the Eko dialect (auth, envelope, params, one module per API family).
//! - [`gateway`]: the hosted AePS gateway page (`/v2/aeps`) and its partner callback protocol.
//! - [`echelon`]: the Echelon dialect (scoped JWTs, payins, payouts, balances) at the
//!   spec's root paths, and its payment worker.
//! - [`metrics`]: Prometheus metrics; `/healthz` answers when the store does.
//! - [`connections`]: the accept loop: listen backlog, connection cap, header, body and
//!   idle timeouts.
//! - [`rejections`]: every error answer, the framework's own included, in the dialect
//!   of its path.
//! - [`sandbox`]: the public sandbox credentials that exist out of the box.
//! - [`workers::rail`]: asks the rail about transfers whose time has come (NEFT batches,
//!   holds, late failures, transfers a crashed request left unanswered).

pub mod admin;
pub mod config;
pub mod connections;
pub mod echelon;
pub mod eko;
pub mod gateway;
pub mod json_strict;
pub mod metrics;
pub mod rejections;
pub mod sandbox;
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
        .route("/metrics", get(metrics::render))
        .merge(eko::router(state.clone()))
        .merge(echelon::router(state.clone()))
        .merge(admin::router(state.clone()))
        .merge(eko::otp::sandbox_router(state.clone()))
        .merge(gateway::router(state.clone()))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(rejections::dialect_errors))
        .with_state(state)
}

async fn healthz(State(app): State<AppState>) -> Response {
    match app.store.partner(0).await {
        Ok(_) => Json(json!({ "status": "ok", "store": app.store.location().describe() })).into_response(),
        Err(e) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "error": e.to_string() }))).into_response()
        }
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
    /// The callback worker, unless `callbacks_enabled` is off.
    callbacks: Option<workers::callbacks::CallbackWorker>,
    rail_worker: Option<workers::rail::Worker>,
}

impl App {
    /// Opens the store and starts serving on `config.listen` (port 0 picks a free port).
    pub async fn start(config: Config, clock: SharedClock) -> Result<App, StartError> {
        config.validate()?;
        let store = open_store(&config, clock).await?;
        Self::start_with_store(config, Arc::new(store)).await
    }

    pub async fn start_with_store(config: Config, store: Arc<Store>) -> Result<App, StartError> {
        config.validate()?;
        let listener = connections::listen(config.listen, config.http_listen_backlog)
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let echelon = Arc::new(echelon::EchelonState::new(&config));
        let config_rail = config.sandbox_rail();
        let state = AppState {
            store,
            partners: Arc::new(PartnerCache::new()),
            outbound: workers::outbound::Outbound::new(&config),
            metrics: Arc::new(metrics::Metrics::default()),
            rail: config
                .sandbox
                .then(|| Arc::new(kosh_rails::sandbox::rail::SandboxRail::new(config_rail)) as Arc<dyn kosh_rails::Rail>),
            echelon,
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
        let request_hash_worker = workers::request_hashes::spawn(state.store.clone());
        tracing::info!(%addr, store = %state.store.location().describe(), sandbox = state.config.sandbox, "kosh is serving");
        Ok(App { addr, state, shutdown: Some(shutdown), task, echelon_worker, request_hash_worker, callbacks, rail_worker })
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
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(worker) = self.rail_worker.take() {
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
