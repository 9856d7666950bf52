//! # kosh-store: one domain-level store, two backends
//!
//! A guided tour:
//! - [`Store`] is the whole interface the server sees: [`Store::execute`] runs a
//!   [`commands::Command`] atomically (optionally guarded by an idempotency key), and
//!   read methods answer queries. It does not expose SQL.
//! - [`commands`] turns a command into domain operations; [`ops`] holds those
//!   operations, each written once against [`sql::Conn`].
//! - [`sqlite`] is the embedded backend: a single writer thread with group commit.
//! - [`postgres`] is the scale-out backend: pooled transactions, retried when they lose
//!   a race, coordinated only through rows.
//! - [`migrate`] applies the embedded schema migrations of either backend.

pub mod commands;
pub mod error;
pub mod migrate;
pub mod ops;
pub mod postgres;
pub mod scopes;
pub mod sql;
pub mod sqlite;
pub mod stats;

use commands::{Command, Executed, Guard, IdemKey, Outcome, RequestHashUse};
use error::{CmdResult, CommandError};
use kosh_core::clock::SharedClock;
use kosh_core::ledger::{AccountKind, Balance};
use kosh_core::services::AgentService;
use ops::agents::Agent;
use ops::outbox::OutboxEvent;
use ops::partners::Partner;
use postgres::{PgConn, PgStore};
use sql::SqlError;
use sqlite::{run_ready, SqliteConn, SqliteStore};
use stats::StoreStats;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Where the data lives. Its `Debug` is [`Location::describe`]: a PostgreSQL URL's
/// password never prints.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file (its directory is created if missing).
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Location {
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("sqlite:{}", path.display()),
            Location::Postgres(url) => format!("postgres:{}", redact_url(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

pub struct Store {
    backend: Backend,
    location: Location,
    clock: SharedClock,
    stats: Arc<StoreStats>,
}

/// Runs a read on either backend: `read!(self, db => some_op(db, args))`, where the
/// expression is a future over `db: &mut impl Conn`.
macro_rules! read {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite(s) => s.read(|conn| {
                let $db = &mut SqliteConn::new(conn);
                run_ready($body)
            })?,
            Backend::Postgres(p) => {
                let client = p.client().await?;
                let $db = &mut PgConn::new(&client);
                $body.await
            }
        }
    };
}

// The Echelon dialect's read methods (after `read!`, which they use).
mod dmt_reads;
mod echelon_reads;

impl Store {
    /// Opens the store. Call [`Store::migrate`] before use on a new database.
    pub async fn open(location: Location, clock: SharedClock) -> Result<Store, SqlError> {
        let stats = Arc::new(StoreStats::default());
        let backend = match &location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| SqlError::Other(format!("cannot create {}: {e}", dir.display())))?;
                }
                Backend::Sqlite(SqliteStore::open(path, stats.clone())?)
            }
            Location::Postgres(url) => Backend::Postgres(PgStore::connect(url)?),
        };
        Ok(Store { backend, location, clock, stats })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Applies pending schema migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, SqlError> {
        match (&self.backend, &self.location) {
            (Backend::Sqlite(_), Location::Sqlite(path)) => migrate::sqlite(path, self.now_ms()),
            (Backend::Postgres(p), _) => migrate::postgres(p, self.now_ms()).await,
            _ => unreachable!("backend and location are built together"),
        }
    }

    /// Runs a command as one atomic unit.
    pub async fn execute(&self, cmd: Command) -> CmdResult<Outcome> {
        Ok(self.run(None, None, cmd).await?.outcome)
    }

    /// Runs a command guarded by an idempotency key, in the same atomic unit: the same
    /// command again answers the first outcome; a different one under the key is refused.
    pub async fn execute_idempotent(&self, key: IdemKey, cmd: Command) -> CmdResult<Executed> {
        self.run(Some(key), None, cmd).await
    }

    /// [`Store::execute_idempotent`], also recording `request_hash` (when given) as used
    /// by this request, in the same atomic unit: another request under it is refused
    /// ([`error::Rejection::RequestHashUsed`]); a retry of this one is answered as usual.
    pub async fn execute_idempotent_with_hash(
        &self,
        key: IdemKey,
        request_hash: Option<RequestHashUse>,
        cmd: Command,
    ) -> CmdResult<Executed> {
        self.run(Some(key), request_hash, cmd).await
    }

    async fn run(&self, key: Option<IdemKey>, request_hash: Option<RequestHashUse>, cmd: Command) -> CmdResult<Executed> {
        let guard = key.map(|key| Guard::new(key, &cmd).with_request_hash(request_hash));
        let executed = match &self.backend {
            Backend::Sqlite(s) => {
                let clock = self.clock.clone();
                s.write(move |db| run_ready(commands::apply_request(db, guard.as_ref(), &cmd, clock.now_ms())))
                    .await
                    .map_err(CommandError::Sql)??
            }
            Backend::Postgres(p) => self.run_postgres(p, guard.as_ref(), &cmd).await?,
        };
        if !executed.replayed {
            let outcome = &executed.outcome;
            self.stats.entries_posted.fetch_add(outcome.entries_posted(), Ordering::Relaxed);
            self.stats.entries_pending.fetch_add(outcome.entries_pending(), Ordering::Relaxed);
            self.stats.entries_voided.fetch_add(outcome.entries_voided(), Ordering::Relaxed);
        }
        Ok(executed)
    }

    /// Applies the command in `tx`, then writes the counters it deferred: the platform's
    /// shared accounts are locked only from there to the commit.
    async fn apply_postgres(
        tx: &deadpool_postgres::Transaction<'_>,
        guard: Option<&Guard>,
        cmd: &Command,
        now_ms: i64,
    ) -> CmdResult<Executed> {
        let mut db = PgConn::new(tx);
        let executed = commands::apply_request(&mut db, guard, cmd, now_ms).await?;
        ops::ledger::flush_deferred(&mut db).await?;
        Ok(executed)
    }

    /// One transaction per attempt; an attempt that lost a race is run again whole.
    async fn run_postgres(&self, p: &PgStore, guard: Option<&Guard>, cmd: &Command) -> CmdResult<Executed> {
        let mut attempt = 0;
        loop {
            let _slot = p.write_slot().await;
            let mut client = p.client().await?;
            let tx = client.transaction().await.map_err(postgres::sql_error)?;
            let result = match Self::apply_postgres(&tx, guard, cmd, self.now_ms()).await {
                Ok(done) => tx.commit().await.map(|()| done).map_err(|e| postgres::sql_error(e).into()),
                Err(e) => Err(e),
            };
            match result {
                Err(CommandError::Sql(e)) if e.is_retryable() && attempt < postgres::MAX_RETRIES => {
                    attempt += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
                }
                other => return other,
            }
        }
    }

    pub async fn partner_by_developer_key(&self, key: &str) -> Result<Option<Partner>, SqlError> {
        read!(self, db => ops::partners::by_developer_key(db, key))
    }

    pub async fn partner(&self, id: i64) -> Result<Option<Partner>, SqlError> {
        read!(self, db => ops::partners::by_id(db, id))
    }

    /// A partner by numeric id or by name.
    pub async fn find_partner(&self, id_or_name: &str) -> Result<Option<Partner>, SqlError> {
        read!(self, db => ops::partners::by_id_or_name(db, id_or_name))
    }

    pub async fn partners(&self) -> Result<Vec<Partner>, SqlError> {
        read!(self, db => ops::partners::list(db))
    }

    pub async fn agent(&self, partner_id: i64, user_code: i64) -> Result<Option<Agent>, SqlError> {
        read!(self, db => ops::agents::get(db, partner_id, user_code))
    }

    pub async fn agent_services(&self, partner_id: i64, user_code: i64) -> Result<Vec<AgentService>, SqlError> {
        read!(self, db => ops::services::list(db, partner_id, user_code))
    }

    pub async fn agent_service(
        &self,
        partner_id: i64,
        user_code: i64,
        service_code: u16,
    ) -> Result<Option<AgentService>, SqlError> {
        read!(self, db => ops::services::get(db, partner_id, user_code, service_code))
    }

    /// An agent's standing for one service in one read: the service row, if any, and
    /// whether the agent exists (answered `true` without asking when the row exists).
    pub async fn agent_standing(
        &self,
        partner_id: i64,
        user_code: i64,
        service_code: u16,
    ) -> Result<(Option<AgentService>, bool), SqlError> {
        read!(self, db => async {
            let service = ops::services::get(db, partner_id, user_code, service_code).await?;
            let exists = service.is_some() || ops::agents::get(db, partner_id, user_code).await?.is_some();
            Ok((service, exists))
        })
    }

    /// The balance of an account; zero when it was never used.
    pub async fn balance(&self, owner_id: i64, kind: &AccountKind) -> Result<Balance, SqlError> {
        read!(self, db => ops::ledger::balance_of(db, owner_id, kind))
    }

    pub async fn is_mobile_verified(&self, partner_id: i64, mobile: &str) -> Result<bool, SqlError> {
        read!(self, db => ops::otp::is_mobile_verified(db, partner_id, mobile))
    }

    /// The newest unused sandbox OTP: `(otp_ref_id, code, expires_at_ms)`.
    pub async fn sandbox_otp(
        &self,
        partner_id: i64,
        purpose: &str,
        subject: &str,
    ) -> Result<Option<(i64, String, i64)>, SqlError> {
        read!(self, db => ops::otp::sandbox_latest(db, partner_id, purpose, subject))
    }

    pub async fn recent_outbox(&self, partner_id: i64, limit: i64) -> Result<Vec<OutboxEvent>, SqlError> {
        read!(self, db => ops::outbox::recent(db, partner_id, limit))
    }

    pub async fn callback_endpoint(&self, partner_id: i64, kind: &str) -> Result<Option<ops::callbacks::Endpoint>, SqlError> {
        read!(self, db => ops::callbacks::endpoint(db, partner_id, kind))
    }

    pub async fn callback_endpoints(&self, partner_id: i64) -> Result<Vec<ops::callbacks::Endpoint>, SqlError> {
        read!(self, db => ops::callbacks::endpoints(db, partner_id))
    }

    pub async fn callback_signing_secret(&self, partner_id: i64) -> Result<Option<kosh_core::secret::Secret>, SqlError> {
        read!(self, db => ops::callbacks::signing_secret(db, partner_id))
    }

    /// Whether any deliverable outbox event is due now.
    pub async fn callbacks_due(&self) -> Result<bool, SqlError> {
        let now_ms = self.now_ms();
        read!(self, db => ops::callbacks::any_due(db, now_ms))
    }

    pub async fn callback_event(&self, id: i64) -> Result<Option<ops::callbacks::CallbackEvent>, SqlError> {
        read!(self, db => ops::callbacks::event(db, id))
    }

    pub async fn callback_events(
        &self,
        filter: &ops::callbacks::EventFilter,
    ) -> Result<Vec<ops::callbacks::CallbackEvent>, SqlError> {
        read!(self, db => ops::callbacks::events(db, filter))
    }

    pub async fn callback_attempts(&self, outbox_id: i64) -> Result<Vec<ops::callbacks::AttemptRecord>, SqlError> {
        read!(self, db => ops::callbacks::attempts(db, outbox_id))
    }

    /// Whether an idempotency key was used (a command under it committed).
    pub async fn idempotency_key_used(&self, key: &IdemKey) -> Result<bool, SqlError> {
        read!(self, db => ops::idempotency::is_used(db, key.partner_id, &key.scope, &key.key))
    }

    /// The recorded use of a request_hash by the partner (replay protection), if any.
    pub async fn request_hash_use(
        &self,
        partner_id: i64,
        hash: &str,
    ) -> Result<Option<ops::request_hashes::HashUseRecord>, SqlError> {
        read!(self, db => ops::request_hashes::used(db, partner_id, hash))
    }

    pub async fn token_by_number(&self, token: &str) -> Result<Option<ops::tokens::Token>, SqlError> {
        read!(self, db => ops::tokens::by_number(db, token))
    }

    pub async fn token_by_client_ref_id(
        &self,
        partner_id: i64,
        client_ref_id: &str,
    ) -> Result<Option<ops::tokens::Token>, SqlError> {
        read!(self, db => ops::tokens::by_client_ref_id(db, partner_id, client_ref_id))
    }

    pub async fn ledger_totals(&self) -> Result<Balance, SqlError> {
        read!(self, db => ops::ledger::totals(db))
    }

    pub async fn ledger_limit_violations(&self) -> Result<i64, SqlError> {
        read!(self, db => ops::ledger::limit_violations(db))
    }

    pub async fn ledger_entry(&self, entry_id: i64) -> Result<Option<ops::ledger::EntryRecord>, SqlError> {
        read!(self, db => ops::ledger::entry(db, entry_id))
    }

    // AePS reads.

    pub async fn aeps_agent(&self, partner_id: i64, user_code: i64) -> Result<Option<ops::aeps::AepsAgent>, SqlError> {
        read!(self, db => ops::aeps::agent(db, partner_id, user_code))
    }

    pub async fn aeps_transaction(&self, partner_id: i64, tid: i64) -> Result<Option<ops::aeps::AepsTransaction>, SqlError> {
        read!(self, db => ops::aeps::tx_by_tid(db, partner_id, tid))
    }

    pub async fn aeps_transaction_by_ref(
        &self,
        partner_id: i64,
        client_ref_id: &str,
    ) -> Result<Option<ops::aeps::AepsTransaction>, SqlError> {
        read!(self, db => ops::aeps::tx_by_ref(db, partner_id, client_ref_id))
    }

    /// Transactions counted against an Aadhaar (by keyed hash) on an IST day.
    pub async fn aeps_aadhaar_day_count(&self, aadhaar_hash: &str, ist_day: i64) -> Result<i64, SqlError> {
        read!(self, db => ops::aeps::aadhaar_day_count(db, aadhaar_hash, ist_day))
    }

    pub async fn aeps_gateway_session(&self, token_hash: &str) -> Result<Option<ops::aeps::GatewaySession>, SqlError> {
        read!(self, db => ops::aeps::session_by_token_hash(db, token_hash))
    }

    pub async fn aeps_gateway_intent(
        &self,
        session_id: i64,
        intent_id: i64,
    ) -> Result<Option<ops::aeps::GatewayIntent>, SqlError> {
        read!(self, db => ops::aeps::intent(db, session_id, intent_id))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_only_a_password() {
        assert_eq!(super::redact_url("postgres://kosh:secret@db:5432/kosh"), "postgres://kosh:***@db:5432/kosh");
        assert_eq!(super::redact_url("postgres://postgres@localhost/kosh"), "postgres://postgres@localhost/kosh");
        assert_eq!(super::redact_url("postgres://localhost/kosh"), "postgres://localhost/kosh");
    }
}
