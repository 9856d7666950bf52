//! # kosh-store: one domain-level store, two backends
//!
//! [`Store`] is the whole interface the server sees. It takes domain commands and
//! answers domain outcomes; it never exposes SQL, and the server never knows which
//! backend it talks to. The same operations run on the embedded SQLite backend and on
//! PostgreSQL, and every storage test runs on both.
//!
//! ## The path of a write
//!
//! Follow a DMT transfer (`DmtCommand::InitiateTransfer`) from the handler to the disk:
//!
//! 1. **Entry.** The server builds a typed command (here [`commands::dmt::NewTransfer`],
//!    a [`commands::StoreCommand`] whose output is the recorded transfer) and calls
//!    [`Store::execute`], or [`Store::execute_idempotent`] /
//!    [`Store::execute_idempotent_with_hash`] with the partner's
//!    [`commands::IdemKey`] (its `client_ref_id` in a scope). All three turn it into the
//!    [`commands::Command`] enum and go through one private `Store::run`.
//! 2. **Guard.** Before touching the database, `Store::run` wraps the key in a
//!    [`commands::Guard`]: [`commands::Guard::new`] fingerprints the command (a keyed
//!    hash of [`commands::Command::fingerprint_fields`], or of the whole command), so a
//!    retry with the same key is recognised and a different request under the same key
//!    is refused. This is done on the caller's task, not on the SQLite writer thread.
//! 3. **One transaction.**
//!    - *SQLite* ([`sqlite`]): [`sqlite::SqliteStore::write`] queues the work for the
//!      single writer thread. The writer takes up to [`sqlite::MAX_BATCH`] queued
//!      commands, runs each inside its own `SAVEPOINT` in one transaction (a refused
//!      command rolls back only its own rows and its deferred counters), commits with
//!      one fsync for the whole batch, and only then answers every caller: group
//!      commit.
//!    - *PostgreSQL* ([`postgres`]): each command gets its own READ COMMITTED
//!      transaction from the pool ([`postgres::PgStore::client`], bounded by
//!      [`postgres::PgStore::write_slot`]). An attempt that loses a race
//!      (serialization failure 40001, deadlock 40P01, unique violation: see
//!      [`sql::SqlError::is_retryable`]) is rolled back and run again whole, up to
//!      [`postgres::MAX_RETRIES`] times.
//!
//!    Either way the command sees one [`sql::Conn`], the small SQL surface both
//!    backends implement.
//! 4. **Idempotency.** Inside that transaction, [`commands::apply_request`] calls
//!    [`commands::apply_idempotent`] when there is a guard:
//!    [`ops::idempotency::claim`] inserts the key's record or finds it. A replay
//!    answers the stored outcome without running anything; a conflicting fingerprint is
//!    [`error::Rejection::IdempotencyConflict`]. A single-use Eko `request_hash` is
//!    recorded in the same transaction ([`ops::request_hashes::record`]), so a refused
//!    command leaves it unused.
//! 5. **The command.** [`commands::apply`] dispatches on the command: the shared ones
//!    (partners, agents, services, OTPs, wallet credits) are in `commands.rs`; each
//!    product has its module: [`commands::dmt`], [`commands::aeps`],
//!    [`commands::tokens`], [`commands::callbacks`], and the private
//!    `commands::echelon` and `commands::ledger_entries`. A command checks the
//!    product's rules (in `kosh-core`, e.g. [`kosh_core::dmt`]) and refuses with an
//!    [`error::Rejection`], which leaves the store unchanged.
//! 6. **Operations.** A command changes rows only through [`ops`], one module per table
//!    family ([`ops::dmt_transfers`], [`ops::dmt_customers`], [`ops::agents`],
//!    [`ops::otp`], …), each written once against [`sql::Conn`].
//! 7. **Money, in the same transaction.** A command that moves money builds a balanced
//!    [`kosh_core::ledger::Entry`] and records it with [`ops::ledger::record`] (pending
//!    or posted; [`ops::ledger::resolve`] posts or voids a pending one later). A wallet
//!    is changed by a conditional `UPDATE` that cannot take it below its limit, so an
//!    overdraft is [`error::Rejection::InsufficientFunds`] whatever the interleaving.
//!    The platform's unlimited accounts are summed in [`sql::DeferredCounters`] and
//!    written by [`ops::ledger::flush_deferred`] before the commit (once per batch on
//!    SQLite).
//! 8. **Side effects, in the same transaction.** What others must hear about is an
//!    outbox row ([`ops::outbox::append`]); the server's callback worker delivers it
//!    later ([`ops::callbacks`]), so a callback is sent if and only if the change
//!    committed. Then the idempotency record is completed with the outcome
//!    ([`ops::idempotency::complete`]).
//! 9. **The answer.** The transaction commits and the caller gets an
//!    [`commands::Executed`]: the command's own output (converted from the recorded
//!    [`commands::Outcome`] by [`commands::StoreCommand::output`]) and whether it was a
//!    replay.
//!    Errors are a [`error::CommandError`]: a rejection, or a storage failure
//!    ([`sql::SqlError`]).
//!
//! ## Reads
//!
//! Read methods on [`Store`] (`partner`, `agent`, `balance`, `dmt_*`, `echelon_*`, …)
//! run one [`ops`] function through the private `read!` macro: on SQLite on a pooled
//! read connection beside the writer (WAL mode, [`sqlite::SqliteStore::read`]), on
//! PostgreSQL on a pooled client. They never block the writer. The DMT and Echelon
//! read methods live in the private `dmt_reads.rs` and `echelon_reads.rs`.
//!
//! ## Migrations
//!
//! [`Store::migrate`] applies [`migrate::MIGRATIONS`], embedded in the binary, one SQL
//! file per backend and version (`migrations/sqlite/NNNN_*.sql`,
//! `migrations/postgres/NNNN_*.sql`). Each is recorded in `schema_migrations` in the
//! transaction that applies it, so concurrent nodes cannot apply one twice.
//!
//! ## Where each backend's SQL lives
//!
//! Almost all SQL is in [`ops`], in the subset both engines share (`$n` parameters,
//! `RETURNING`, `ON CONFLICT`). Where they differ, an operation asks
//! [`sql::Conn::dialect`] and carries both texts side by side (e.g. the next DMT `tid`
//! in [`ops::dmt_transfers`], the callback claim in [`ops::callbacks`]). The backends
//! themselves ([`sqlite`], [`postgres`]) hold only connection handling: pragmas,
//! parameter binding, transactions, savepoints. [`stats`] counts what the store did for
//! `/metrics`.

#![warn(missing_docs)]

pub mod commands;
pub mod error;
pub mod migrate;
pub mod ops;
pub mod postgres;
pub mod scopes;
pub mod sql;
pub mod sqlite;
pub mod stats;

use commands::{Command, Executed, Guard, IdemKey, RequestHashUse, StoreCommand};
use error::{CmdResult, CommandError};
use kosh_core::clock::SharedClock;
use kosh_core::ids::{PartnerId, Tid, UserCode};
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
    /// A description for logs and `Debug`: the backend and path, or the URL without its password.
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

/// The domain-level store: commands in, outcomes out, on either backend (see the crate docs).
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
mod bbps_reads;
mod collections_reads;
mod dmt_reads;
mod echelon_reads;
mod payout_reads;
mod verification_reads;

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

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// What the store has done, for `/metrics`.
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// The same counters, shared: a metrics collector reads them at each scrape.
    pub fn shared_stats(&self) -> Arc<StoreStats> {
        self.stats.clone()
    }

    /// Now, by the store's clock (ms since the epoch): the time every command is stamped with.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The store's clock, shared with the server's workers.
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

    /// Runs a command as one atomic unit; answers the command's own output.
    pub async fn execute<C: StoreCommand>(&self, cmd: C) -> CmdResult<C::Output> {
        C::output(self.run(None, None, cmd.into_command()).await?.outcome)
    }

    /// Runs a command guarded by an idempotency key, in the same atomic unit: the same
    /// command again answers the first outcome; a different one under the key is refused.
    pub async fn execute_idempotent<C: StoreCommand>(&self, key: IdemKey, cmd: C) -> CmdResult<Executed<C::Output>> {
        self.run(Some(key), None, cmd.into_command()).await?.typed::<C>()
    }

    /// [`Store::execute_idempotent`], also recording `request_hash` (when given) as used
    /// by this request, in the same atomic unit: another request under it is refused
    /// ([`error::Rejection::RequestHashUsed`]); a retry of this one is answered as usual.
    pub async fn execute_idempotent_with_hash<C: StoreCommand>(
        &self,
        key: IdemKey,
        request_hash: Option<RequestHashUse>,
        cmd: C,
    ) -> CmdResult<Executed<C::Output>> {
        self.run(Some(key), request_hash, cmd.into_command()).await?.typed::<C>()
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

    /// The schema migrations this binary knows that the database lacks (see
    /// [`migrate::pending`]); an error when the store cannot be read at all.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, SqlError> {
        read!(self, db => migrate::pending(db))
    }

    /// The partner whose developer key this is.
    pub async fn partner_by_developer_key(&self, key: &str) -> Result<Option<Partner>, SqlError> {
        read!(self, db => ops::partners::by_developer_key(db, key))
    }

    /// The partner with this id.
    pub async fn partner(&self, id: PartnerId) -> Result<Option<Partner>, SqlError> {
        read!(self, db => ops::partners::by_id(db, id))
    }

    /// A partner by numeric id or by name.
    pub async fn find_partner(&self, id_or_name: &str) -> Result<Option<Partner>, SqlError> {
        read!(self, db => ops::partners::by_id_or_name(db, id_or_name))
    }

    /// Every partner (for the admin console).
    pub async fn partners(&self) -> Result<Vec<Partner>, SqlError> {
        read!(self, db => ops::partners::list(db))
    }

    /// The partner's agent with this `user_code`.
    pub async fn agent(&self, partner_id: PartnerId, user_code: UserCode) -> Result<Option<Agent>, SqlError> {
        read!(self, db => ops::agents::get(db, partner_id, user_code))
    }

    /// The agent's standing for every service it asked for.
    pub async fn agent_services(&self, partner_id: PartnerId, user_code: UserCode) -> Result<Vec<AgentService>, SqlError> {
        read!(self, db => ops::services::list(db, partner_id, user_code))
    }

    /// The agent's standing for one service; `None` if it never asked for it.
    pub async fn agent_service(
        &self,
        partner_id: PartnerId,
        user_code: UserCode,
        service_code: u16,
    ) -> Result<Option<AgentService>, SqlError> {
        read!(self, db => ops::services::get(db, partner_id, user_code, service_code))
    }

    /// An agent's standing for one service in one read: the service row, if any, and
    /// whether the agent exists (answered `true` without asking when the row exists).
    pub async fn agent_standing(
        &self,
        partner_id: PartnerId,
        user_code: UserCode,
        service_code: u16,
    ) -> Result<(Option<AgentService>, bool), SqlError> {
        read!(self, db => async {
            let service = ops::services::get(db, partner_id, user_code, service_code).await?;
            let exists = service.is_some() || ops::agents::get(db, partner_id, user_code).await?.is_some();
            Ok((service, exists))
        })
    }

    /// The balance of an account; zero when it was never used. `owner` is a partner's
    /// id for its wallets, [`kosh_core::ledger::PLATFORM`] for the platform's accounts.
    pub async fn balance(&self, owner: impl Into<i64>, kind: &AccountKind) -> Result<Balance, SqlError> {
        let owner_id = owner.into();
        read!(self, db => ops::ledger::balance_of(db, owner_id, kind))
    }

    /// Whether the partner verified this mobile number with an OTP (agent onboarding).
    pub async fn is_mobile_verified(&self, partner_id: PartnerId, mobile: &str) -> Result<bool, SqlError> {
        read!(self, db => ops::otp::is_mobile_verified(db, partner_id, mobile))
    }

    /// The newest unused sandbox OTP: `(otp_ref_id, code, expires_at_ms)`.
    pub async fn sandbox_otp(
        &self,
        partner_id: PartnerId,
        purpose: &str,
        subject: &str,
    ) -> Result<Option<(i64, String, i64)>, SqlError> {
        read!(self, db => ops::otp::sandbox_latest(db, partner_id, purpose, subject))
    }

    /// The partner's latest outbox events, newest first, at most `limit`.
    pub async fn recent_outbox(&self, partner_id: PartnerId, limit: i64) -> Result<Vec<OutboxEvent>, SqlError> {
        read!(self, db => ops::outbox::recent(db, partner_id, limit))
    }

    /// The partner's callback endpoint for event `kind`.
    pub async fn callback_endpoint(
        &self,
        partner_id: PartnerId,
        kind: &str,
    ) -> Result<Option<ops::callbacks::Endpoint>, SqlError> {
        read!(self, db => ops::callbacks::endpoint(db, partner_id, kind))
    }

    /// Every callback endpoint of the partner.
    pub async fn callback_endpoints(&self, partner_id: PartnerId) -> Result<Vec<ops::callbacks::Endpoint>, SqlError> {
        read!(self, db => ops::callbacks::endpoints(db, partner_id))
    }

    /// The partner's callback signing secret, when callbacks are signed.
    pub async fn callback_signing_secret(&self, partner_id: PartnerId) -> Result<Option<kosh_core::secret::Secret>, SqlError> {
        read!(self, db => ops::callbacks::signing_secret(db, partner_id))
    }

    /// Whether any deliverable outbox event is due now.
    pub async fn callbacks_due(&self) -> Result<bool, SqlError> {
        let now_ms = self.now_ms();
        read!(self, db => ops::callbacks::any_due(db, now_ms))
    }

    /// The outbox event with this id, with its delivery state.
    pub async fn callback_event(&self, id: i64) -> Result<Option<ops::callbacks::CallbackEvent>, SqlError> {
        read!(self, db => ops::callbacks::event(db, id))
    }

    /// Outbox events of the partner, newest first (the delivery log).
    pub async fn callback_events(
        &self,
        filter: &ops::callbacks::EventFilter,
    ) -> Result<Vec<ops::callbacks::CallbackEvent>, SqlError> {
        read!(self, db => ops::callbacks::events(db, filter))
    }

    /// Every delivery attempt of outbox event `outbox_id`, oldest first.
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
        partner_id: PartnerId,
        hash: &str,
    ) -> Result<Option<ops::request_hashes::HashUseRecord>, SqlError> {
        read!(self, db => ops::request_hashes::used(db, partner_id, hash))
    }

    /// The token with this number.
    pub async fn token_by_number(&self, token: &str) -> Result<Option<ops::tokens::Token>, SqlError> {
        read!(self, db => ops::tokens::by_number(db, token))
    }

    /// The partner's token with this `client_ref_id`.
    pub async fn token_by_client_ref_id(
        &self,
        partner_id: PartnerId,
        client_ref_id: &str,
    ) -> Result<Option<ops::tokens::Token>, SqlError> {
        read!(self, db => ops::tokens::by_client_ref_id(db, partner_id, client_ref_id))
    }

    /// The token `payer_partner_id` paid, by the payment's tid.
    pub async fn token_by_payment_tid(
        &self,
        payer_partner_id: PartnerId,
        tid: &str,
    ) -> Result<Option<ops::tokens::Token>, SqlError> {
        read!(self, db => ops::tokens::by_payment_tid(db, payer_partner_id, tid))
    }

    /// The token `payer_partner_id` paid under its own `client_ref_id`.
    pub async fn token_by_payment_ref(
        &self,
        payer_partner_id: PartnerId,
        reference: &str,
    ) -> Result<Option<ops::tokens::Token>, SqlError> {
        read!(self, db => ops::tokens::by_payment_ref(db, payer_partner_id, reference))
    }

    /// Every counter summed over all accounts (posted debits must equal posted credits).
    pub async fn ledger_totals(&self) -> Result<Balance, SqlError> {
        read!(self, db => ops::ledger::totals(db))
    }

    /// How many accounts break their limit (there must never be any).
    pub async fn ledger_limit_violations(&self) -> Result<i64, SqlError> {
        read!(self, db => ops::ledger::limit_violations(db))
    }

    /// The ledger entry with its legs.
    pub async fn ledger_entry(&self, entry_id: i64) -> Result<Option<ops::ledger::EntryRecord>, SqlError> {
        read!(self, db => ops::ledger::entry(db, entry_id))
    }

    // AePS reads.

    /// The agent's AePS record (e-KYC, daily authentication).
    pub async fn aeps_agent(&self, partner_id: PartnerId, user_code: UserCode) -> Result<Option<ops::aeps::AepsAgent>, SqlError> {
        read!(self, db => ops::aeps::agent(db, partner_id, user_code))
    }

    /// The partner's AePS transaction `tid`.
    pub async fn aeps_transaction(
        &self,
        partner_id: PartnerId,
        tid: Tid,
    ) -> Result<Option<ops::aeps::AepsTransaction>, SqlError> {
        read!(self, db => ops::aeps::tx_by_tid(db, partner_id, tid))
    }

    /// The partner's AePS transaction with this `client_ref_id`.
    pub async fn aeps_transaction_by_ref(
        &self,
        partner_id: PartnerId,
        client_ref_id: &str,
    ) -> Result<Option<ops::aeps::AepsTransaction>, SqlError> {
        read!(self, db => ops::aeps::tx_by_ref(db, partner_id, client_ref_id))
    }

    /// Transactions counted against an Aadhaar (by keyed hash) on an IST day.
    pub async fn aeps_aadhaar_day_count(&self, aadhaar_hash: &str, ist_day: i64) -> Result<i64, SqlError> {
        read!(self, db => ops::aeps::aadhaar_day_count(db, aadhaar_hash, ist_day))
    }

    /// The gateway session whose token hashes to `token_hash`.
    pub async fn aeps_gateway_session(&self, token_hash: &str) -> Result<Option<ops::aeps::GatewaySession>, SqlError> {
        read!(self, db => ops::aeps::session_by_token_hash(db, token_hash))
    }

    /// The intent `intent_id` of gateway session `session_id`.
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
    /// `error` and `sql` are the store's bottom layer: their code names nothing from
    /// `commands` or `ops`, so no import cycle can run through them (doc links may).
    #[test]
    fn error_and_sql_import_nothing_from_above() {
        for (file, source) in [("error.rs", include_str!("error.rs")), ("sql.rs", include_str!("sql.rs"))] {
            let code = source.lines().enumerate().filter(|(_, line)| !line.trim_start().starts_with("//"));
            for (n, line) in code {
                for above in ["crate::commands", "crate::ops", "super::", "commands::", "ops::"] {
                    assert!(!line.contains(above), "{file}:{}: {line:?} names {above}", n + 1);
                }
            }
        }
    }
}
