//! The embedded backend: SQLite in WAL mode.
//!
//! Writes go through one writer thread that batches concurrent commands into one
//! transaction — a savepoint per command, so one command's failure rolls back only its
//! own work — and commits with `synchronous=FULL`, one fsync per batch. Every caller is
//! answered only after its batch is durable (group commit). Reads use a small pool of
//! separate connections, which WAL lets run beside the writer.

use crate::ops::ledger;
use crate::sql::{AccountCache, Cell, Columns, Conn, DeferredCounters, Dialect, Row, SqlError, Val};
use crate::stats::StoreStats;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement};
use std::collections::hash_map::{Entry, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::sync::{mpsc, oneshot};

/// Most commands one batch commits together. Bounds the latency a batch adds and the
/// work lost to one failed commit.
pub const MAX_BATCH: usize = 512;
/// Most commands waiting for the writer; senders wait (backpressure) beyond it.
pub const QUEUE_LEN: usize = 8_192;
/// Most idle read connections kept open.
const MAX_IDLE_READERS: usize = 16;
const BUSY_TIMEOUT_MS: u64 = 5_000;

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn sql_error(e: rusqlite::Error) -> SqlError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => SqlError::Unique(e.to_string()),
        rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            SqlError::Busy(e.to_string())
        }
        _ => SqlError::Other(e.to_string()),
    }
}

/// The parameter number (`$n`) of each of a statement's parameter indexes. SQLite
/// treats `$n` as a *named* parameter and numbers names in order of first appearance,
/// so positional binding would misplace `$2` written before `$1`; binding by name keeps
/// PostgreSQL's meaning.
fn parameter_numbers(stmt: &Statement<'_>) -> Result<Vec<usize>, SqlError> {
    (1..=stmt.parameter_count())
        .map(|index| {
            let name = stmt.parameter_name(index).unwrap_or_default();
            name.strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| SqlError::Other(format!("parameter {index} is {name:?}; write parameters as $1, $2, …")))
        })
        .collect()
}

fn bind(stmt: &mut Statement<'_>, numbers: &[usize], params: &[Val<'_>]) -> Result<(), SqlError> {
    for (index, number) in numbers.iter().enumerate() {
        let value = params.get(number - 1).ok_or_else(|| SqlError::Other(format!("no value for parameter ${number}")))?;
        stmt.raw_bind_parameter(index + 1, value).map_err(sql_error)?;
    }
    Ok(())
}

/// A statement the writer prepared once, with its parameter numbers and the names of
/// its result columns (built once: building them per query cost an allocation per
/// column on every read the writer makes).
struct Prepared<'c> {
    stmt: Statement<'c>,
    numbers: Vec<usize>,
    columns: Columns,
}

fn column_names(stmt: &Statement<'_>) -> Columns {
    stmt.column_names().into_iter().map(Box::from).collect()
}

/// A [`Conn`] over a borrowed SQLite connection. Its futures never pend.
pub struct SqliteConn<'c> {
    conn: &'c Connection,
    /// On the writer's connection, held for a whole batch.
    deferred: DeferredCounters,
    /// The writer's statements, kept for its whole life and found by the address of
    /// their SQL: every statement Kosh runs is a `&'static str`, so this is bounded by
    /// the program's text, and finding one costs no hashing of SQL (rusqlite's cache,
    /// used by short-lived read connections, hashes the whole text on every use).
    prepared: Option<HashMap<(usize, usize), Prepared<'c>>>,
    /// The writer's, kept for its whole life.
    accounts: Option<AccountCache>,
}

impl<'c> SqliteConn<'c> {
    /// A connection for one unit of work (a read).
    pub fn new(conn: &'c Connection) -> Self {
        SqliteConn { conn, deferred: DeferredCounters::default(), prepared: None, accounts: None }
    }

    /// The writer's long-lived connection.
    fn writer(conn: &'c Connection) -> Self {
        SqliteConn {
            conn,
            deferred: DeferredCounters::default(),
            prepared: Some(HashMap::new()),
            accounts: Some(AccountCache::default()),
        }
    }

    /// The underlying rusqlite connection.
    pub fn connection(&self) -> &'c Connection {
        self.conn
    }

    /// Runs `run` on the statement for `sql` with `params` bound, and its column names.
    fn with_statement<T>(
        &mut self,
        sql: &'static str,
        params: &[Val<'_>],
        run: impl FnOnce(&mut Statement<'_>, &dyn Fn(&Statement<'_>) -> Columns) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        match &mut self.prepared {
            Some(prepared) => {
                let p = match prepared.entry((sql.as_ptr() as usize, sql.len())) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let stmt = self.conn.prepare(sql).map_err(sql_error)?;
                        let numbers = parameter_numbers(&stmt)?;
                        let columns = column_names(&stmt);
                        e.insert(Prepared { stmt, numbers, columns })
                    }
                };
                bind(&mut p.stmt, &p.numbers, params)?;
                let columns = p.columns.clone();
                // SQLite re-prepares a statement whose schema changed; its columns
                // may have changed with it.
                run(&mut p.stmt, &|stmt| if stmt.column_count() == columns.len() { columns.clone() } else { column_names(stmt) })
            }
            None => {
                let mut stmt = self.conn.prepare_cached(sql).map_err(sql_error)?;
                let numbers = parameter_numbers(&stmt)?;
                bind(&mut stmt, &numbers, params)?;
                run(&mut stmt, &column_names)
            }
        }
    }

    fn run_exec(&mut self, sql: &'static str, params: &[Val<'_>]) -> Result<u64, SqlError> {
        self.with_statement(sql, params, |stmt, _| Ok(stmt.raw_execute().map_err(sql_error)? as u64))
    }

    fn run_query(&mut self, sql: &'static str, params: &[Val<'_>]) -> Result<Vec<Row>, SqlError> {
        self.with_statement(sql, params, |stmt, names| {
            let columns = names(stmt);
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(sql_error)? {
                let mut cells = Vec::with_capacity(columns.len());
                for i in 0..columns.len() {
                    cells.push(match row.get_ref(i).map_err(sql_error)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        other => return Err(SqlError::Decode(format!("unsupported column type {:?}", other.data_type()))),
                    });
                }
                out.push(Row::new(columns.clone(), cells));
            }
            Ok(out)
        })
    }

    /// Forgets the accounts the writer has seen: some may have been rolled back.
    fn forget_accounts(&mut self) {
        if let Some(cache) = &mut self.accounts {
            cache.clear();
        }
    }

    /// Runs one of the writer's transaction-control statements (prepared once).
    fn control(&mut self, sql: &'static str) -> Result<(), SqlError> {
        self.run_exec(sql, &[]).map(drop)
    }
}

impl Conn for SqliteConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn deferred_counters(&mut self) -> &mut DeferredCounters {
        &mut self.deferred
    }

    fn account_cache(&mut self) -> Option<&mut AccountCache> {
        self.accounts.as_mut()
    }

    fn exec(&mut self, sql: &'static str, params: &[Val<'_>]) -> impl Future<Output = Result<u64, SqlError>> {
        std::future::ready(self.run_exec(sql, params))
    }

    fn query(&mut self, sql: &'static str, params: &[Val<'_>]) -> impl Future<Output = Result<Vec<Row>, SqlError>> {
        std::future::ready(self.run_query(sql, params))
    }
}

/// Runs a future that cannot pend (every SQLite future here is ready at once).
pub fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a SQLite operation awaited something that can pend"),
    }
}

fn open_connection(path: &Path) -> Result<Connection, SqlError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql_error)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS)).map_err(sql_error)?;
    // temp_store=MEMORY keeps the savepoint journal (the undo images of each command in a
    // batch) in memory instead of a temporary file: it is only ever read to roll a
    // command back, never for durability, and writing it cost the writer ~13% of its time.
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;")
        .map_err(sql_error)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// A unit of work for the writer, type-erased so one queue carries every kind.
trait Work: Send {
    /// Runs inside the batch transaction; `true` keeps its changes, `false` undoes them.
    fn run(&mut self, db: &mut SqliteConn<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, batch: Result<(), SqlError>);
}

struct TypedWork<F, T, E> {
    work: Option<F>,
    result: Option<Result<T, E>>,
    done: oneshot::Sender<Result<Result<T, E>, SqlError>>,
}

impl<F, T, E> Work for TypedWork<F, T, E>
where
    F: FnOnce(&mut SqliteConn<'_>) -> Result<T, E> + Send,
    T: Send,
    E: Send,
{
    fn run(&mut self, db: &mut SqliteConn<'_>) -> bool {
        let work = self.work.take().expect("work runs once");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(db)));
        let Ok(result) = result else { return false };
        let keep = result.is_ok();
        self.result = Some(result);
        keep
    }

    fn finish(self: Box<Self>, batch: Result<(), SqlError>) {
        let answer = match (batch, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(result)) => Ok(result),
            (Ok(()), None) => Err(SqlError::Other("a command panicked; its changes were rolled back".into())),
        };
        let _ = self.done.send(answer);
    }
}

/// The SQLite backend: the writer thread's queue and a pool of read connections.
pub struct SqliteStore {
    path: PathBuf,
    jobs: mpsc::Sender<Box<dyn Work>>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating) the database at `path` and starts its writer thread.
    pub fn open(path: &Path, stats: Arc<StoreStats>) -> Result<SqliteStore, SqlError> {
        let writer = open_connection(path)?;
        let (jobs, queue) = mpsc::channel(QUEUE_LEN);
        std::thread::Builder::new()
            .name("kosh-sqlite-writer".into())
            .spawn(move || writer_loop(writer, queue, stats))
            .map_err(|e| SqlError::Other(format!("cannot start writer thread: {e}")))?;
        Ok(SqliteStore { path: path.to_owned(), jobs, readers: Mutex::new(Vec::new()) })
    }

    /// Runs `work` in the next batch and answers once the batch is durable. `work` runs
    /// inside a savepoint: when it returns `Err`, only its own changes are undone, and
    /// the error is the answer.
    pub async fn write<F, T, E>(&self, work: F) -> Result<Result<T, E>, SqlError>
    where
        F: FnOnce(&mut SqliteConn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (done, answer) = oneshot::channel();
        let job = Box::new(TypedWork { work: Some(work), result: None, done });
        self.jobs.send(job).await.map_err(|_| SqlError::Other("the writer has stopped".into()))?;
        answer.await.map_err(|_| SqlError::Other("the writer stopped before answering".into()))?
    }

    /// Runs `read` on a read connection. Reads in WAL mode see the last committed batch
    /// and never wait for the writer.
    pub fn read<T>(&self, read: impl FnOnce(&Connection) -> T) -> Result<T, SqlError> {
        let pooled = self.readers.lock().expect("reader pool lock").pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path)?,
        };
        let out = read(&conn);
        let mut pool = self.readers.lock().expect("reader pool lock");
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        Ok(out)
    }
}

fn writer_loop(conn: Connection, mut queue: mpsc::Receiver<Box<dyn Work>>, stats: Arc<StoreStats>) {
    let mut db = SqliteConn::writer(&conn);
    let mut batch: Vec<Box<dyn Work>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.record_batch(batch.len());
        let outcome = commit_batch(&mut db, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed; every command in the batch is answered with the error");
        }
        for job in batch.drain(..) {
            job.finish(outcome.clone());
        }
    }
}

/// Runs every job of the batch in one transaction, each in its own savepoint, then
/// writes the counters the batch's commands deferred (see [`DeferredCounters`]): the
/// platform's shared accounts, which nearly every command touches, are written once per
/// batch instead of once per command.
fn commit_batch(db: &mut SqliteConn<'_>, batch: &mut [Box<dyn Work>]) -> Result<(), SqlError> {
    db.control("BEGIN IMMEDIATE")?;
    let mut outcome = Ok(());
    for job in batch.iter_mut() {
        outcome = run_in_savepoint(db, job.as_mut());
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() {
        outcome = run_ready(ledger::flush_deferred(db));
    }
    let outcome = outcome.and_then(|()| db.control("COMMIT"));
    if outcome.is_err() {
        db.deferred = DeferredCounters::default();
        db.forget_accounts();
        if !db.conn.is_autocommit() {
            let _ = db.control("ROLLBACK");
        }
    }
    outcome
}

/// Runs one job in a savepoint. A job that fails is undone whole: its rows by the
/// savepoint, its deferred counter changes by restoring the batch's from before it, and
/// any account it created by the writer forgetting the accounts it knows.
fn run_in_savepoint(db: &mut SqliteConn<'_>, job: &mut dyn Work) -> Result<(), SqlError> {
    db.control("SAVEPOINT cmd")?;
    let before = db.deferred.clone();
    if job.run(db) {
        return db.control("RELEASE cmd");
    }
    db.deferred = before;
    db.forget_accounts();
    db.control("ROLLBACK TO cmd")?;
    db.control("RELEASE cmd")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why a test job gave up: its own refusal, or a failed statement.
    #[derive(Debug, thiserror::Error)]
    enum JobError {
        #[error("job {0} refused")]
        Refused(i64),
        #[error("refused after writing the batch's counters")]
        RefusedAfterFlush,
        #[error(transparent)]
        Sqlite(#[from] rusqlite::Error),
        #[error(transparent)]
        Sql(#[from] SqlError),
    }

    type Answer = oneshot::Receiver<Result<Result<(), JobError>, SqlError>>;

    /// A job that inserts `n`, then ends as `end` says.
    fn job(n: i64, end: &'static str) -> (Box<dyn Work>, Answer) {
        let (done, answer) = oneshot::channel();
        let work = move |db: &mut SqliteConn<'_>| {
            db.connection().execute("INSERT INTO t (n) VALUES (?1)", [n])?;
            match end {
                "ok" => Ok(()),
                "panic" => panic!("job {n} panics on purpose"),
                _ => Err(JobError::Refused(n)),
            }
        };
        (Box::new(TypedWork { work: Some(work), result: None, done }), answer)
    }

    /// Rows carry the names SQLite reports (a column's own name or its alias), on the
    /// writer's once-prepared statements as on a reader's cached ones.
    #[test]
    fn rows_are_read_by_column_name_on_writer_and_reader() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER, label TEXT); INSERT INTO t VALUES (3, 'c'), (4, 'd');").unwrap();
        const SQL: &str = "SELECT label, COUNT(*) AS rows_seen, t.n FROM t WHERE n = $1 GROUP BY n, label";
        for mut db in [SqliteConn::writer(&conn), SqliteConn::new(&conn)] {
            for n in [3, 4] {
                let rows = db.run_query(SQL, &[Val::Int(n)]).unwrap();
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].int("n").unwrap(), n);
                assert_eq!(rows[0].int("rows_seen").unwrap(), 1);
                assert_eq!(rows[0].text("label").unwrap(), if n == 3 { "c" } else { "d" });
            }
        }
    }

    /// The writer names a statement's columns once, when it prepares it, not on every
    /// query (the cost that reading rows by name had added to the write path).
    #[test]
    fn the_writer_names_a_statements_columns_once() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER, label TEXT); INSERT INTO t VALUES (3, 'c');").unwrap();
        const SQL: &str = "SELECT n, label FROM t WHERE n = $1";
        let mut writer = SqliteConn::writer(&conn);
        let first = writer.run_query(SQL, &[Val::Int(3)]).unwrap();
        let again = writer.run_query(SQL, &[Val::Int(3)]).unwrap();
        assert!(Arc::ptr_eq(first[0].columns(), again[0].columns()), "the same names, not built again");
        assert_eq!(again[0].text("label").unwrap(), "c");
    }

    /// A job's deferred counter changes live and die with its savepoint, even when it
    /// wrote the batch's earlier changes out (a read flushes them) before failing.
    #[test]
    fn a_failing_command_takes_only_its_own_deferred_counters_with_it() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE ledger_accounts (id INTEGER PRIMARY KEY, debits_posted INTEGER NOT NULL DEFAULT 0, \
             credits_posted INTEGER NOT NULL DEFAULT 0, debits_pending INTEGER NOT NULL DEFAULT 0, \
             credits_pending INTEGER NOT NULL DEFAULT 0); INSERT INTO ledger_accounts (id) VALUES (1);",
        )
        .unwrap();
        let deferring = |amount: i64, flush_then_fail: bool| {
            let (done, answer) = oneshot::channel::<Result<Result<(), JobError>, SqlError>>();
            let work = move |db: &mut SqliteConn<'_>| {
                db.deferred_counters().add(1, kosh_core::ledger::Side::Debit, false, amount);
                if flush_then_fail {
                    run_ready(ledger::flush_deferred(db))?;
                    return Err(JobError::RefusedAfterFlush);
                }
                Ok(())
            };
            (Box::new(TypedWork { work: Some(work), result: None, done }) as Box<dyn Work>, answer)
        };
        let (mut batch, answers): (Vec<_>, Vec<_>) =
            [(5, false), (7, true), (11, false)].map(|(a, f)| deferring(a, f)).into_iter().unzip();
        let mut db = SqliteConn::writer(&conn);
        let outcome = commit_batch(&mut db, &mut batch);
        assert!(outcome.is_ok());
        for job in batch {
            job.finish(outcome.clone());
        }
        let debits: i64 =
            conn.query_row("SELECT debits_posted FROM ledger_accounts WHERE id = 1", [], |r| r.get("debits_posted")).unwrap();
        assert_eq!(debits, 5 + 11, "the failed job's 7 is undone, the others' changes are written once");
        assert!(db.deferred_counters().is_empty(), "nothing is carried into the next batch");
        let refused = answers.into_iter().nth(1).unwrap().try_recv().expect("answered");
        assert!(matches!(refused, Ok(Err(_))), "{refused:?}");
    }

    /// One batch, four commands: the refused and the panicking one are undone alone;
    /// their neighbours commit and every caller gets its own answer.
    #[test]
    fn a_failing_command_is_undone_alone_in_its_batch() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER NOT NULL)").unwrap();
        let (jobs, mut answers): (Vec<_>, Vec<_>) =
            [(1, "ok"), (2, "refuse"), (3, "panic"), (4, "ok")].into_iter().map(|(n, end)| job(n, end)).unzip();
        let mut batch = jobs;
        let outcome = commit_batch(&mut SqliteConn::writer(&conn), &mut batch);
        assert!(outcome.is_ok());
        for job in batch {
            job.finish(outcome.clone());
        }
        let kept: Vec<i64> = conn
            .prepare("SELECT n FROM t ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get("n"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept, [1, 4]);
        let answers: Vec<_> = answers.iter_mut().map(|a| a.try_recv().expect("answered")).collect();
        assert!(matches!(answers[0], Ok(Ok(()))));
        assert!(matches!(&answers[1], Ok(Err(e)) if e.to_string() == "job 2 refused"));
        assert!(matches!(answers[2], Err(SqlError::Other(_))), "a panic answers an error: {:?}", answers[2]);
        assert!(matches!(answers[3], Ok(Ok(()))));
    }
}
