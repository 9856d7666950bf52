//! Configuration: defaults, then an optional TOML file, then environment variables and
//! flags (`kosh serve` maps `KOSH_*` variables and `--flags` onto [`Config`] fields).

use kosh_core::secret::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How strictly `request_hash` is checked on financial endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashStrictness {
    /// Not checked.
    Off,
    /// Checked; a mismatch is logged and the request proceeds.
    Warn,
    /// Checked; a mismatch is refused with 403, as the real platform does.
    Enforce,
}

impl std::str::FromStr for HashStrictness {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Self::Off),
            "warn" => Ok(Self::Warn),
            "enforce" => Ok(Self::Enforce),
            other => Err(format!("request hash strictness must be off, warn or enforce, not {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database (`kosh.db`), used without `database_url`.
    pub data_dir: PathBuf,
    /// `postgres://…` to run on PostgreSQL instead of the embedded store (a secret: it
    /// usually carries the database password).
    pub database_url: Option<Secret>,
    /// Sandbox mode: the public sandbox partner exists, OTPs are readable, magic values apply.
    pub sandbox: bool,
    /// How far `secret-key-timestamp` may be from the server's clock, in seconds.
    pub timestamp_tolerance_secs: u64,
    /// `request_hash` checking on financial endpoints.
    pub request_hash: HashStrictness,
    /// Replay protection: a verified `request_hash` authorises one request per partner
    /// (its idempotent retries included) while its timestamp is within the tolerance.
    /// Unset: on outside sandbox mode, off in sandbox mode (see [`Config::replay_protection_on`]).
    pub replay_protection: Option<bool>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long activating a service that needs document review stays pending, in seconds.
    pub service_review_secs: u64,
    /// The sandbox partner's opening e-value balance, in rupees.
    pub sandbox_wallet_rupees: i64,
    /// How long OTPs stay valid, in seconds.
    pub otp_ttl_secs: u64,
    /// Bearer token for the operator API under `/admin`; without it the admin API is off.
    pub admin_token: Option<Secret>,
    /// Bearer token `/metrics` requires; without it `/metrics` is open (bind it to a
    /// private address then).
    pub metrics_token: Option<Secret>,
    /// How long shutdown waits for in-flight requests, in seconds.
    pub shutdown_grace_secs: u64,
    /// How long a Fino biometric e-KYC stays under review before it completes, in seconds.
    pub aeps_fino_ekyc_secs: u64,
    /// How long the sandbox bank leaves an awaited AePS transaction (tx_status 2)
    /// unanswered before transaction inquiry finds its answer, in seconds.
    pub aeps_awaited_secs: u64,
    /// How long the gateway page waits for the partner's debit-hook answer, in seconds.
    pub gateway_callback_timeout_secs: u64,
    /// Echelon: requests per second per merchant, across every node; above it, 429.
    pub echelon_requests_per_sec: u32,
    /// Echelon: how long a payin waits for the customer before it fails (ENTITY_EXPIRED), in seconds.
    pub echelon_payin_expiry_secs: u64,
    /// Echelon, sandbox mode: seconds after acceptance at which the simulated customer acts.
    pub echelon_sandbox_delay_secs: u64,
    /// Echelon: server-side pepper tokens are signed with (see README); never stored in the database.
    pub echelon_token_pepper: Option<Secret>,
    /// Echelon: how often the payment worker looks for due payins and payouts, in
    /// milliseconds; 0: no payment worker on this node.
    pub echelon_worker_tick_ms: u64,
    /// Whether this node runs the callback worker (delivers outbox events).
    pub callbacks_enabled: bool,
    /// How often the callback worker looks for due events, in real milliseconds.
    pub callbacks_tick_ms: u64,
    /// Most callback deliveries in flight on this node.
    pub callbacks_concurrency: usize,
    /// Most callback deliveries in flight to one partner, so a slow one cannot starve others.
    pub callbacks_per_partner_concurrency: usize,
    /// Connect timeout of outgoing callbacks and Token fetches, in milliseconds.
    pub callbacks_connect_timeout_ms: u64,
    /// Whole-request timeout (connect, send, read the answer), in milliseconds.
    pub callbacks_timeout_ms: u64,
    /// Random extra delay added to each retry, as a percentage of its interval.
    pub callbacks_jitter_pct: u32,
    /// Eko transaction-status callbacks: retry interval and how long to keep trying.
    pub callbacks_tx_status_interval_secs: u64,
    pub callbacks_tx_status_horizon_secs: u64,
    /// Echelon callbacks: retry interval and number of retries after the first attempt.
    pub callbacks_echelon_interval_secs: u64,
    pub callbacks_echelon_retries: u32,
    /// Token acknowledgements: retry interval and how long to keep trying.
    pub callbacks_token_ack_interval_secs: u64,
    pub callbacks_token_ack_horizon_secs: u64,
    /// Sandbox rail: NEFT settles in batches at multiples of this interval, in seconds.
    pub neft_batch_secs: u64,
    /// Sandbox rail: how long a transfer on hold stays unanswered, in seconds.
    pub rail_hold_secs: u64,
    /// Sandbox rail: how long a transfer that fails after initiation stays in processing, in seconds.
    pub rail_late_failure_secs: u64,
    /// How often this node's rail worker looks for transfers due for a rail inquiry, in
    /// milliseconds (real time; what is due is read from the injected clock); 0: no worker here.
    pub rail_worker_tick_ms: u64,
    /// How long a transfer request may take to report the rail's first answer before the
    /// rail worker finishes the transfer itself (a crashed or stalled node), in seconds.
    pub rail_recovery_secs: u64,
    /// How long a transfer claimed by a rail worker stays reserved for it, in seconds:
    /// longer than a round takes (up to 64 rail calls), or two workers ask about the same
    /// transfer (harmless, as every change is conditional, but wasted).
    pub rail_lease_secs: u64,
    /// The DMT pricing table (fee, GST, commission, TDS).
    pub dmt_pricing: kosh_core::pricing::Pricing,
    /// The pricing table of bill payments, recharges and credit-card bills on the instant channel.
    pub bbps_pricing: kosh_core::pricing::Pricing,
    /// The pricing table of bill payments on the offline high-commission channel (`hc_channel` 1).
    pub bbps_hc_pricing: kosh_core::pricing::Pricing,
    /// Sandbox biller: how long an offline (`hc_channel` 1) or slow-biller payment stays
    /// awaited before the biller completes it, in seconds (the platform allows 6 hours).
    pub bbps_awaited_secs: u64,
    /// The payout (fund transfer, UPI payment) fee table; GST inside the fee.
    pub payout_pricing: kosh_core::pricing::Pricing,
    /// AePS fund settlement: the RBI holidays (`YYYY-MM-DD`, IST) on which settlements
    /// wait for the next working day's window.
    pub settlement_holidays: Vec<String>,
    /// Payouts: how long after settling a payout is asked about once more, for a
    /// reversal (the sandbox payout bank reverses `…6666` accounts after this); 0 never.
    pub payout_reversal_secs: u64,
    /// The UPI QR collection pricing: `fee_bp` is the merchant discount rate (GST inside).
    pub qr_pricing: kosh_core::pricing::Pricing,
    /// The CMS (cash drop) pricing: the partner's commission is `commission_bp` of the fee.
    pub cms_pricing: kosh_core::pricing::Pricing,
    /// How long recorded callback attempts are kept, in days; the worker deletes older ones.
    pub callbacks_attempts_retention_days: u64,
    /// AePS: the key of the keyed hashes (HMAC-SHA256) under which Aadhaar numbers are
    /// stored, ≥ 32 characters, the same on every node. Never stored in the database, so
    /// a copy of the database alone cannot be searched for an Aadhaar number. Required
    /// outside sandbox mode; sandbox mode without it uses [`SANDBOX_AADHAAR_PEPPER`].
    pub aeps_aadhaar_pepper: Option<Secret>,
    /// Verification: how long a verification's answer (masked) is kept, in days; the
    /// verification worker then empties it.
    pub verification_retention_days: u64,
    /// Verification (sandbox provider): seconds between the answers of a bulk request's
    /// entries, and how long a DigiLocker journey takes.
    pub verification_async_step_secs: u64,
    /// How often this node's verification worker purges and refunds, in milliseconds
    /// (real time); 0: no worker here.
    pub verification_worker_tick_ms: u64,
    /// HTTP: seconds a request head may take to arrive once its first byte has (slow clients).
    pub http_header_timeout_secs: u64,
    /// HTTP: seconds a request body may take to arrive once its head has; then 408.
    pub http_body_timeout_secs: u64,
    /// HTTP: seconds an idle keep-alive connection stays open waiting for its next request.
    pub http_idle_timeout_secs: u64,
    /// HTTP: most connections open at once (lowered to fit the open-files limit); further
    /// connections wait in the listen queue until one closes.
    pub http_max_connections: usize,
    /// HTTP: the listen queue of connections not yet accepted.
    pub http_listen_backlog: u32,
}

/// The Aadhaar hash key of a sandbox-mode server configured without
/// `aeps_aadhaar_pepper`. Public (it is in the README), so sandbox data is protected by
/// nothing but being test data; a server outside sandbox mode refuses to start without
/// a key of its own.
pub const SANDBOX_AADHAAR_PEPPER: &str = "kosh-sandbox-aadhaar-pepper-public-not-a-secret";

/// The shortest `aeps_aadhaar_pepper` accepted, in characters.
pub const MIN_AADHAAR_PEPPER_CHARS: usize = 32;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./kosh-data"),
            database_url: None,
            sandbox: true,
            timestamp_tolerance_secs: 300,
            request_hash: HashStrictness::Enforce,
            replay_protection: None,
            max_body_bytes: 64 * 1024,
            service_review_secs: 10,
            sandbox_wallet_rupees: 1_000_000,
            otp_ttl_secs: 600,
            admin_token: None,
            metrics_token: None,
            shutdown_grace_secs: 30,
            aeps_fino_ekyc_secs: 2 * 86_400,
            aeps_awaited_secs: 60,
            gateway_callback_timeout_secs: 30,
            echelon_requests_per_sec: 10,
            echelon_payin_expiry_secs: 7200,
            echelon_sandbox_delay_secs: 5,
            echelon_token_pepper: None,
            echelon_worker_tick_ms: 200,
            callbacks_enabled: true,
            callbacks_tick_ms: 200,
            callbacks_concurrency: 64,
            callbacks_per_partner_concurrency: 8,
            callbacks_connect_timeout_ms: 4_000,
            callbacks_timeout_ms: 10_000,
            callbacks_jitter_pct: 10,
            callbacks_tx_status_interval_secs: 600,
            callbacks_tx_status_horizon_secs: 86_400,
            callbacks_echelon_interval_secs: 120,
            callbacks_echelon_retries: 4,
            callbacks_token_ack_interval_secs: 3_600,
            callbacks_token_ack_horizon_secs: 3 * 86_400,
            neft_batch_secs: 30 * 60,
            rail_hold_secs: 60,
            rail_late_failure_secs: 30,
            rail_worker_tick_ms: 250,
            rail_recovery_secs: 30,
            rail_lease_secs: 30,
            dmt_pricing: kosh_core::pricing::Pricing::default(),
            bbps_pricing: bbps_pricing(6_700),
            bbps_hc_pricing: bbps_pricing(9_000),
            bbps_awaited_secs: 6 * 3_600,
            payout_pricing: kosh_core::payouts::default_pricing(),
            settlement_holidays: Vec::new(),
            payout_reversal_secs: 172_800,
            qr_pricing: kosh_core::collections::default_qr_pricing(),
            cms_pricing: kosh_core::collections::default_cms_pricing(),
            callbacks_attempts_retention_days: 30,
            aeps_aadhaar_pepper: None,
            verification_retention_days: 30,
            verification_async_step_secs: 5,
            verification_worker_tick_ms: 1_000,
            http_header_timeout_secs: 10,
            http_body_timeout_secs: 30,
            http_idle_timeout_secs: 60,
            http_max_connections: 4096,
            http_listen_backlog: 1024,
        }
    }
}

/// A flat ₹5 convenience fee (GST inside) of which the partner earns `commission_bp`
/// net of GST: the default bill-payment tables differ only in the commission.
fn bbps_pricing(commission_bp: i64) -> kosh_core::pricing::Pricing {
    let flat_fee = kosh_core::money::Paise::from_rupees(5).expect("₹5 is an amount");
    kosh_core::pricing::Pricing {
        fee_bp: 0,
        fee_min_paise: flat_fee,
        fee_max_paise: flat_fee,
        commission_bp,
        ..kosh_core::pricing::Pricing::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults overlaid with the TOML file at `path`, when given.
    pub fn from_file(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else { return Ok(Config::default()) };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })
    }

    /// Checks limits that a typo could break, and what a serving node needs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_settings(true)
    }

    /// What an admin command (`kosh merchant`, `kosh partner`, …) needs: every check of
    /// [`Config::validate`] but the ones only a serving node needs (the token pepper and
    /// the Aadhaar hash key).
    /// Admin commands never sign tokens, and operators keep the pepper in the server's
    /// environment rather than in a config file the commands read.
    pub fn validate_for_admin(&self) -> Result<(), ConfigError> {
        self.validate_settings(false)
    }

    fn validate_settings(&self, serving: bool) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if !(1..=86_400).contains(&self.timestamp_tolerance_secs) {
            return bad("timestamp_tolerance_secs must be between 1 and 86400");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_body_bytes) {
            return bad("max_body_bytes must be between 1024 and 16777216");
        }
        if !(30..=86_400).contains(&self.otp_ttl_secs) {
            return bad("otp_ttl_secs must be between 30 and 86400");
        }
        if self.service_review_secs > 30 * 86_400 {
            return bad("service_review_secs must be at most 2592000 (30 days)");
        }
        if !(0..=1_000_000_000).contains(&self.sandbox_wallet_rupees) {
            return bad("sandbox_wallet_rupees must be between 0 and 1000000000");
        }
        if matches!(&self.admin_token, Some(t) if t.expose().len() < 16) {
            return bad("admin_token must be at least 16 characters");
        }
        if matches!(&self.metrics_token, Some(t) if t.expose().len() < 16) {
            return bad("metrics_token must be at least 16 characters");
        }
        if self.aeps_fino_ekyc_secs > 3 * 86_400 {
            return bad("aeps_fino_ekyc_secs must be at most 259200 (3 days)");
        }
        if self.aeps_awaited_secs > 86_400 {
            return bad("aeps_awaited_secs must be at most 86400");
        }
        if !(1..=120).contains(&self.gateway_callback_timeout_secs) {
            return bad("gateway_callback_timeout_secs must be between 1 and 120");
        }
        if matches!(&self.aeps_aadhaar_pepper, Some(p) if p.expose().chars().count() < MIN_AADHAAR_PEPPER_CHARS) {
            return bad("aeps_aadhaar_pepper must be at least 32 characters");
        }
        if matches!(&self.database_url, Some(u) if !u.expose().starts_with("postgres://") && !u.expose().starts_with("postgresql://"))
        {
            return bad("database_url must start with postgres:// or postgresql://");
        }
        self.validate_echelon(serving)?;
        if serving {
            self.require_aadhaar_pepper()?;
        }
        self.validate_callbacks()?;
        self.validate_rails()?;
        self.validate_http()?;
        self.validate_bbps()?;
        self.qr_pricing.validate().map_err(|e| ConfigError::Invalid(format!("qr_pricing: {e}")))?;
        self.cms_pricing.validate().map_err(|e| ConfigError::Invalid(format!("cms_pricing: {e}")))?;
        self.dmt_pricing.validate().map_err(|e| ConfigError::Invalid(format!("dmt_pricing: {e}")))?;
        self.payout_pricing.validate().map_err(|e| ConfigError::Invalid(format!("payout_pricing: {e}")))?;
        if self.payout_reversal_secs > 30 * 86_400 {
            return Err(ConfigError::Invalid("payout_reversal_secs must be between 0 and 2592000 (30 days)".into()));
        }
        self.holidays().map(|_| ())
    }

    /// [`Config::payout_reversal_secs`] in ms.
    pub fn payout_reversal_ms(&self) -> i64 {
        i64::try_from(self.payout_reversal_secs).unwrap_or(0).saturating_mul(1000)
    }

    /// The settlement holiday table, read.
    pub fn holidays(&self) -> Result<Vec<kosh_core::civil::Date>, ConfigError> {
        kosh_core::settlement::parse_holidays(&self.settlement_holidays)
            .map_err(|e| ConfigError::Invalid(format!("settlement_holidays: {e}")))
    }

    fn validate_bbps(&self) -> Result<(), ConfigError> {
        if self.bbps_awaited_secs > 2 * 86_400 {
            return Err(ConfigError::Invalid("bbps_awaited_secs must be at most 172800 (2 days)".into()));
        }
        self.bbps_pricing.validate().map_err(|e| ConfigError::Invalid(format!("bbps_pricing: {e}")))?;
        self.bbps_hc_pricing.validate().map_err(|e| ConfigError::Invalid(format!("bbps_hc_pricing: {e}")))
    }

    fn validate_echelon(&self, serving: bool) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if !(1..=1_000_000).contains(&self.echelon_requests_per_sec) {
            return bad("echelon_requests_per_sec must be between 1 and 1000000");
        }
        if !(60..=7 * 86_400).contains(&self.echelon_payin_expiry_secs) {
            return bad("echelon_payin_expiry_secs must be between 60 and 604800");
        }
        if self.echelon_sandbox_delay_secs > 3_600 {
            return bad("echelon_sandbox_delay_secs must be at most 3600");
        }
        if matches!(&self.echelon_token_pepper, Some(p) if p.expose().len() < 32) {
            return bad("echelon_token_pepper must be at least 32 characters");
        }
        // The default pepper is documented, so without one anybody who can read the
        // database could mint Echelon tokens: acceptable in sandbox mode only.
        if serving && !self.sandbox && self.echelon_token_pepper.is_none() {
            return bad("echelon_token_pepper is required when sandbox = false: set a secret of at least 32 characters \
                 (KOSH_ECHELON_TOKEN_PEPPER or --echelon-token-pepper), the same on every node");
        }
        if self.echelon_worker_tick_ms != 0 && !(10..=60_000).contains(&self.echelon_worker_tick_ms) {
            return bad("echelon_worker_tick_ms must be between 10 and 60000 (0 turns this node's payment worker off)");
        }
        Ok(())
    }

    fn validate_callbacks(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if !(1..=60_000).contains(&self.callbacks_tick_ms) {
            return bad("callbacks_tick_ms must be between 1 and 60000");
        }
        if !(1..=4_096).contains(&self.callbacks_concurrency) {
            return bad("callbacks_concurrency must be between 1 and 4096");
        }
        if !(1..=self.callbacks_concurrency).contains(&self.callbacks_per_partner_concurrency) {
            return bad("callbacks_per_partner_concurrency must be between 1 and callbacks_concurrency");
        }
        if !(1..=60_000).contains(&self.callbacks_connect_timeout_ms) || !(1..=300_000).contains(&self.callbacks_timeout_ms) {
            return bad("callbacks_connect_timeout_ms must be 1 to 60000 and callbacks_timeout_ms 1 to 300000");
        }
        if self.callbacks_jitter_pct > 100 {
            return bad("callbacks_jitter_pct must be between 0 and 100");
        }
        let intervals = [
            self.callbacks_tx_status_interval_secs,
            self.callbacks_echelon_interval_secs,
            self.callbacks_token_ack_interval_secs,
        ];
        if intervals.iter().any(|i| !(1..=86_400).contains(i)) {
            return bad("callback retry intervals (callbacks_*_interval_secs) must be between 1 and 86400");
        }
        let horizons = [self.callbacks_tx_status_horizon_secs, self.callbacks_token_ack_horizon_secs];
        if horizons.iter().any(|h| *h > 30 * 86_400) {
            return bad("callback horizons (callbacks_*_horizon_secs) must be at most 2592000 (30 days)");
        }
        if self.callbacks_echelon_retries > 100 {
            return bad("callbacks_echelon_retries must be at most 100");
        }
        if !(1..=3_650).contains(&self.callbacks_attempts_retention_days) {
            return bad("callbacks_attempts_retention_days must be between 1 and 3650");
        }
        if !(1..=3_650).contains(&self.verification_retention_days) {
            return bad("verification_retention_days must be between 1 and 3650");
        }
        if self.verification_async_step_secs > 3_600 || self.verification_worker_tick_ms > 60_000 {
            return bad("verification_async_step_secs must be at most 3600 and verification_worker_tick_ms at most 60000");
        }
        Ok(())
    }

    fn validate_rails(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if !(1..=86_400).contains(&self.neft_batch_secs) {
            return bad("neft_batch_secs must be between 1 and 86400");
        }
        if self.rail_hold_secs > 86_400 || self.rail_late_failure_secs > 86_400 {
            return bad("rail_hold_secs and rail_late_failure_secs must be at most 86400");
        }
        if self.rail_worker_tick_ms > 60_000 {
            return bad("rail_worker_tick_ms must be at most 60000 (0 turns this node's rail worker off)");
        }
        if !(1..=3_600).contains(&self.rail_recovery_secs) {
            return bad("rail_recovery_secs must be between 1 and 3600");
        }
        if !(1..=3_600).contains(&self.rail_lease_secs) {
            return bad("rail_lease_secs must be between 1 and 3600");
        }
        Ok(())
    }

    fn validate_http(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        let timeouts = [self.http_header_timeout_secs, self.http_body_timeout_secs, self.http_idle_timeout_secs];
        if timeouts.iter().any(|t| !(1..=3_600).contains(t)) {
            return bad("http_header_timeout_secs, http_body_timeout_secs and http_idle_timeout_secs must be between 1 and 3600");
        }
        if !(1..=1_000_000).contains(&self.http_max_connections) {
            return bad("http_max_connections must be between 1 and 1000000");
        }
        if !(1..=65_535).contains(&self.http_listen_backlog) {
            return bad("http_listen_backlog must be between 1 and 65535");
        }
        Ok(())
    }

    /// Outside sandbox mode a serving node needs an Aadhaar hash key of its own.
    fn require_aadhaar_pepper(&self) -> Result<(), ConfigError> {
        if !self.sandbox && self.aeps_aadhaar_pepper.is_none() {
            return Err(ConfigError::Invalid(
                "aeps_aadhaar_pepper is required outside sandbox mode: set a random value of at least 32 characters, the same \
                 on every node (--aeps-aadhaar-pepper, KOSH_AEPS_AADHAAR_PEPPER or the config file). It keys the hashes of \
                 Aadhaar numbers and is never stored in the database; changing it later orphans the hashes already stored"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Whether a verified `request_hash` is single-use. Off by default in sandbox mode,
    /// where the vendor's examples and test scripts send one set of headers for several
    /// requests; on by default everywhere else, since the vendor's signature covers only
    /// the timestamp and captured headers would sign any request for the whole tolerance.
    pub fn replay_protection_on(&self) -> bool {
        self.replay_protection.unwrap_or(!self.sandbox)
    }

    /// The sandbox rail's timings.
    pub fn sandbox_rail(&self) -> kosh_rails::sandbox::rail::SandboxSettings {
        let ms = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX / 1000) * 1000;
        kosh_rails::sandbox::rail::SandboxSettings {
            neft_batch_ms: ms(self.neft_batch_secs),
            hold_ms: ms(self.rail_hold_secs),
            late_failure_ms: ms(self.rail_late_failure_secs),
        }
    }

    /// The key of Aadhaar hashes: the configured one, or in sandbox mode the public
    /// default; `None` outside sandbox mode without one (the server does not start so).
    pub fn aadhaar_pepper(&self) -> Option<&str> {
        match &self.aeps_aadhaar_pepper {
            Some(p) => Some(p.expose()),
            None if self.sandbox => Some(SANDBOX_AADHAAR_PEPPER),
            None => None,
        }
    }

    /// Where the data lives under this configuration.
    pub fn location(&self) -> kosh_store::Location {
        match &self.database_url {
            Some(url) => kosh_store::Location::Postgres(url.expose().to_owned()),
            None => kosh_store::Location::Sqlite(self.data_dir.join("kosh.db")),
        }
    }
}
