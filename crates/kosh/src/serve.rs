//! `kosh serve` and the configuration flags shared by every command that opens the store.

use clap::Args;
use kosh_core::clock::SystemClock;
use kosh_core::secret::Secret;
use kosh_server::config::{Config, HashStrictness};
use kosh_server::App;
use kosh_store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the store is: shared by every command that opens it.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "KOSH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: ./kosh-data].
    #[arg(long, env = "KOSH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run on PostgreSQL instead: postgres://user:password@host:port/database.
    #[arg(long, env = "KOSH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
}

impl StoreArgs {
    /// The configuration: defaults, then the file, then these flags.
    pub fn config(&self) -> Result<Config, String> {
        let mut config = Config::from_file(self.config.as_deref()).map_err(|e| e.to_string())?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.database_url = Some(url.clone());
        }
        Ok(config)
    }

    /// Opens the store as it is, without migrating it.
    pub async fn connect(&self) -> Result<Store, String> {
        let config = self.config()?;
        config.validate_for_admin().map_err(|e| e.to_string())?;
        let location = config.location();
        let describe = location.describe();
        Store::open(location, Arc::new(SystemClock)).await.map_err(|e| format!("cannot open {describe}: {e}"))
    }

    /// Opens the store and applies pending migrations. Unlike `kosh serve`, it never
    /// seeds the sandbox partner: an admin command must not put public credentials into
    /// a database whose server runs with sandbox mode off.
    pub async fn open(&self) -> Result<Store, String> {
        let store = self.connect().await?;
        store.migrate().await.map_err(|e| format!("cannot migrate {}: {e}", store.location().describe()))?;
        Ok(store)
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "KOSH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Sandbox mode (public sandbox partner, readable OTPs, magic values) [default: true].
    #[arg(long, env = "KOSH_SANDBOX")]
    pub sandbox: Option<bool>,
    /// How far secret-key-timestamp may be from the server clock, in seconds [default: 300].
    #[arg(long, env = "KOSH_TIMESTAMP_TOLERANCE_SECS")]
    pub timestamp_tolerance_secs: Option<u64>,
    /// request_hash checking on financial endpoints: off, warn or enforce [default: enforce].
    #[arg(long, env = "KOSH_REQUEST_HASH")]
    pub request_hash: Option<HashStrictness>,
    /// A verified request_hash authorises one request only [default: true, false in sandbox mode].
    #[arg(long, env = "KOSH_REPLAY_PROTECTION")]
    pub replay_protection: Option<bool>,
    /// Largest request body in bytes [default: 65536].
    #[arg(long, env = "KOSH_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds a service that needs document review stays pending [default: 10].
    #[arg(long, env = "KOSH_SERVICE_REVIEW_SECS")]
    pub service_review_secs: Option<u64>,
    /// Seconds an OTP stays valid [default: 600].
    #[arg(long, env = "KOSH_OTP_TTL_SECS")]
    pub otp_ttl_secs: Option<u64>,
    /// The sandbox partner's opening balance in rupees [default: 1000000].
    #[arg(long, env = "KOSH_SANDBOX_WALLET_RUPEES")]
    pub sandbox_wallet_rupees: Option<i64>,
    /// Bearer token for the operator API under /admin (off without it).
    #[arg(long, env = "KOSH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Bearer token /metrics requires (open without it).
    #[arg(long, env = "KOSH_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
    /// Seconds shutdown waits for in-flight requests [default: 30].
    #[arg(long, env = "KOSH_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Seconds a Fino biometric e-KYC stays under review [default: 172800, at most 259200].
    #[arg(long, env = "KOSH_AEPS_FINO_EKYC_SECS")]
    pub aeps_fino_ekyc_secs: Option<u64>,
    /// Seconds the sandbox bank leaves an awaited AePS transaction unanswered [default: 60].
    #[arg(long, env = "KOSH_AEPS_AWAITED_SECS")]
    pub aeps_awaited_secs: Option<u64>,
    /// Seconds the AePS gateway page waits for the partner's debit-hook answer [default: 30].
    #[arg(long, env = "KOSH_GATEWAY_CALLBACK_TIMEOUT_SECS")]
    pub gateway_callback_timeout_secs: Option<u64>,
    /// Echelon: requests per second per merchant, across all nodes [default: 10].
    #[arg(long, env = "KOSH_ECHELON_REQUESTS_PER_SEC")]
    pub echelon_requests_per_sec: Option<u32>,
    /// Echelon: seconds a payin waits for its customer before ENTITY_EXPIRED [default: 7200].
    #[arg(long, env = "KOSH_ECHELON_PAYIN_EXPIRY_SECS")]
    pub echelon_payin_expiry_secs: Option<u64>,
    /// Echelon sandbox: seconds after acceptance at which the simulated customer acts [default: 5].
    #[arg(long, env = "KOSH_ECHELON_SANDBOX_DELAY_SECS")]
    pub echelon_sandbox_delay_secs: Option<u64>,
    /// Echelon: the server-side pepper of token signing keys (≥ 32 characters).
    #[arg(long, env = "KOSH_ECHELON_TOKEN_PEPPER", hide_env_values = true)]
    pub echelon_token_pepper: Option<Secret>,
    /// Echelon: the payment worker's tick in milliseconds, 0 for none on this node [default: 200].
    #[arg(long, env = "KOSH_ECHELON_WORKER_TICK_MS")]
    pub echelon_worker_tick_ms: Option<u64>,
    /// Run the callback worker on this node [default: true].
    #[arg(long, env = "KOSH_CALLBACKS_ENABLED")]
    pub callbacks_enabled: Option<bool>,
    /// How often the callback worker looks for due events, in ms [default: 200].
    #[arg(long, env = "KOSH_CALLBACKS_TICK_MS")]
    pub callbacks_tick_ms: Option<u64>,
    /// Most callback deliveries in flight on this node [default: 64].
    #[arg(long, env = "KOSH_CALLBACKS_CONCURRENCY")]
    pub callbacks_concurrency: Option<usize>,
    /// Most callback deliveries in flight to one partner [default: 8].
    #[arg(long, env = "KOSH_CALLBACKS_PER_PARTNER_CONCURRENCY")]
    pub callbacks_per_partner_concurrency: Option<usize>,
    /// Connect timeout of callbacks and Token fetches, in ms [default: 4000].
    #[arg(long, env = "KOSH_CALLBACKS_CONNECT_TIMEOUT_MS")]
    pub callbacks_connect_timeout_ms: Option<u64>,
    /// Whole-request timeout of callbacks and Token fetches, in ms [default: 10000].
    #[arg(long, env = "KOSH_CALLBACKS_TIMEOUT_MS")]
    pub callbacks_timeout_ms: Option<u64>,
    /// Random extra delay on each retry, in percent of its interval [default: 10].
    #[arg(long, env = "KOSH_CALLBACKS_JITTER_PCT")]
    pub callbacks_jitter_pct: Option<u32>,
    /// Eko status callbacks: seconds between retries [default: 600].
    #[arg(long, env = "KOSH_CALLBACKS_TX_STATUS_INTERVAL_SECS")]
    pub callbacks_tx_status_interval_secs: Option<u64>,
    /// Eko status callbacks: seconds to keep retrying [default: 86400].
    #[arg(long, env = "KOSH_CALLBACKS_TX_STATUS_HORIZON_SECS")]
    pub callbacks_tx_status_horizon_secs: Option<u64>,
    /// Echelon callbacks: seconds between retries [default: 120].
    #[arg(long, env = "KOSH_CALLBACKS_ECHELON_INTERVAL_SECS")]
    pub callbacks_echelon_interval_secs: Option<u64>,
    /// Echelon callbacks: retries after the first attempt [default: 4].
    #[arg(long, env = "KOSH_CALLBACKS_ECHELON_RETRIES")]
    pub callbacks_echelon_retries: Option<u32>,
    /// Token acknowledgements: seconds between retries [default: 3600].
    #[arg(long, env = "KOSH_CALLBACKS_TOKEN_ACK_INTERVAL_SECS")]
    pub callbacks_token_ack_interval_secs: Option<u64>,
    /// Token acknowledgements: seconds to keep retrying [default: 259200].
    #[arg(long, env = "KOSH_CALLBACKS_TOKEN_ACK_HORIZON_SECS")]
    pub callbacks_token_ack_horizon_secs: Option<u64>,
    /// Sandbox rail: NEFT settles at multiples of this many seconds [default: 1800].
    #[arg(long, env = "KOSH_NEFT_BATCH_SECS")]
    pub neft_batch_secs: Option<u64>,
    /// Sandbox rail: seconds a transfer on hold stays unanswered [default: 60].
    #[arg(long, env = "KOSH_RAIL_HOLD_SECS")]
    pub rail_hold_secs: Option<u64>,
    /// Sandbox rail: seconds before a transfer that fails after initiation fails [default: 30].
    #[arg(long, env = "KOSH_RAIL_LATE_FAILURE_SECS")]
    pub rail_late_failure_secs: Option<u64>,
    /// Milliseconds between rail worker rounds; 0 runs no rail worker on this node [default: 250].
    #[arg(long, env = "KOSH_RAIL_WORKER_TICK_MS")]
    pub rail_worker_tick_ms: Option<u64>,
    /// Seconds before the rail worker finishes a transfer whose request never reported the rail's answer [default: 30].
    #[arg(long, env = "KOSH_RAIL_RECOVERY_SECS")]
    pub rail_recovery_secs: Option<u64>,
    /// Seconds a transfer claimed by a rail worker stays reserved for it [default: 30].
    #[arg(long, env = "KOSH_RAIL_LEASE_SECS")]
    pub rail_lease_secs: Option<u64>,
    /// Days recorded callback attempts are kept; older ones are deleted [default: 30].
    #[arg(long, env = "KOSH_CALLBACKS_ATTEMPTS_RETENTION_DAYS")]
    pub callbacks_attempts_retention_days: Option<u64>,
    /// Days a verification's (masked) answer is kept; the worker then empties it [default: 30].
    #[arg(long, env = "KOSH_VERIFICATION_RETENTION_DAYS")]
    pub verification_retention_days: Option<u64>,
    /// Sandbox verification: seconds between bulk entries' answers, and a DigiLocker journey's length [default: 5].
    #[arg(long, env = "KOSH_VERIFICATION_ASYNC_STEP_SECS")]
    pub verification_async_step_secs: Option<u64>,
    /// Milliseconds between verification worker passes; 0 runs none on this node [default: 1000].
    #[arg(long, env = "KOSH_VERIFICATION_WORKER_TICK_MS")]
    pub verification_worker_tick_ms: Option<u64>,
    /// AePS: the key of Aadhaar-number hashes (≥ 32 characters, the same on every node,
    /// never stored in the database). Required outside sandbox mode.
    #[arg(long, env = "KOSH_AEPS_AADHAAR_PEPPER", hide_env_values = true)]
    pub aeps_aadhaar_pepper: Option<Secret>,
    /// Seconds a request head may take once its first byte arrived [default: 10].
    #[arg(long, env = "KOSH_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Seconds a request body may take once its head arrived; then 408 [default: 30].
    #[arg(long, env = "KOSH_HTTP_BODY_TIMEOUT_SECS")]
    pub http_body_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection waits for its next request [default: 60].
    #[arg(long, env = "KOSH_HTTP_IDLE_TIMEOUT_SECS")]
    pub http_idle_timeout_secs: Option<u64>,
    /// Most open connections, lowered to fit the open-files limit [default: 4096].
    #[arg(long, env = "KOSH_HTTP_MAX_CONNECTIONS")]
    pub http_max_connections: Option<usize>,
    /// Listen queue length [default: 1024].
    #[arg(long, env = "KOSH_HTTP_LISTEN_BACKLOG")]
    pub http_listen_backlog: Option<u32>,
}

impl ServeArgs {
    pub fn config(&self) -> Result<Config, String> {
        let mut c = self.store.config()?;
        macro_rules! apply {
            ($($field:ident),*) => { $( if let Some(v) = self.$field.clone() { c.$field = v; } )* };
        }
        apply!(
            listen,
            sandbox,
            timestamp_tolerance_secs,
            request_hash,
            max_body_bytes,
            service_review_secs,
            otp_ttl_secs,
            sandbox_wallet_rupees,
            shutdown_grace_secs,
            aeps_fino_ekyc_secs,
            aeps_awaited_secs,
            gateway_callback_timeout_secs,
            echelon_requests_per_sec,
            echelon_payin_expiry_secs,
            echelon_sandbox_delay_secs,
            echelon_worker_tick_ms
        );
        if let Some(pepper) = &self.echelon_token_pepper {
            c.echelon_token_pepper = Some(pepper.clone());
        }
        apply!(
            callbacks_enabled,
            callbacks_tick_ms,
            callbacks_concurrency,
            callbacks_per_partner_concurrency,
            callbacks_connect_timeout_ms,
            callbacks_timeout_ms,
            callbacks_jitter_pct,
            callbacks_tx_status_interval_secs,
            callbacks_tx_status_horizon_secs,
            callbacks_echelon_interval_secs,
            callbacks_echelon_retries,
            callbacks_token_ack_interval_secs,
            callbacks_token_ack_horizon_secs,
            neft_batch_secs,
            rail_hold_secs,
            rail_late_failure_secs,
            rail_worker_tick_ms,
            rail_recovery_secs,
            rail_lease_secs,
            callbacks_attempts_retention_days,
            verification_retention_days,
            verification_async_step_secs,
            verification_worker_tick_ms
        );
        if let Some(on) = self.replay_protection {
            c.replay_protection = Some(on);
        }
        apply!(
            http_header_timeout_secs,
            http_body_timeout_secs,
            http_idle_timeout_secs,
            http_max_connections,
            http_listen_backlog
        );
        if let Some(token) = &self.admin_token {
            c.admin_token = Some(token.clone());
        }
        if let Some(token) = &self.metrics_token {
            c.metrics_token = Some(token.clone());
        }
        if let Some(pepper) = &self.aeps_aadhaar_pepper {
            c.aeps_aadhaar_pepper = Some(pepper.clone());
        }
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KOSH_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // One JSON object a line (with the request's span and its request_id) for log
    // pipelines; text for people.
    let _ = match std::env::var("KOSH_LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().with_current_span(true).with_span_list(false).try_init(),
        _ => builder.try_init(),
    };
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    init_logging();
    let config = args.config()?;
    let app = App::start(config, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
    eprintln!("kosh listening on {} (store: {})", app.url(), app.state.store.location().describe());
    app.run_until(shutdown_signal()).await;
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

#[cfg(test)]
mod tests {
    use super::ServeArgs;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn config(args: &[&str]) -> kosh_server::config::Config {
        let argv = std::iter::once("kosh").chain(args.iter().copied());
        Cli::try_parse_from(argv).expect("flags parse").serve.config().expect("a valid configuration")
    }

    #[test]
    fn replay_protection_is_off_in_sandbox_mode_unless_turned_on() {
        assert!(!config(&[]).replay_protection_on(), "sandbox mode's default");
        assert!(config(&["--replay-protection", "true"]).replay_protection_on());
        let (aadhaar_key, token_pepper) = ("k".repeat(32), "p".repeat(32));
        let production = ["--sandbox", "false", "--aeps-aadhaar-pepper", &aadhaar_key, "--echelon-token-pepper", &token_pepper];
        assert!(config(&production).replay_protection_on(), "on by default outside sandbox mode");
        let off = [&production[..], &["--replay-protection", "false"]].concat();
        assert!(!config(&off).replay_protection_on());
    }
}
