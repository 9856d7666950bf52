//! The embedded backend: SQLite in WAL mode.
//!
//! Writes go through one writer thread that batches concurrent commands into one
//! transaction — a savepoint per command, so one command's failure rolls back only its
//! own work — and commits with `synchronous=FULL`, one fsync per batch. Every caller is
//! answered only after its batch is durable (group commit). Reads use a small pool of
//! separate connections, which WAL lets run beside the writer.

use crate::sql::{Cell, Conn, Dialect, Row, SqlError, Val};
use crate::stats::StoreStats;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
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

/// Binds `$n` parameters by number. SQLite treats `$n` as a *named* parameter and
/// numbers names in order of first appearance, so positional binding would misplace
/// `$2` written before `$1`; binding by name keeps PostgreSQL's meaning.
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, params: &[Val<'_>]) -> Result<(), SqlError> {
    for index in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(index).unwrap_or_default();
        let number: usize = name
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| SqlError::Other(format!("parameter {index} is {name:?}; write parameters as $1, $2, …")))?;
        let value = params.get(number - 1).ok_or_else(|| SqlError::Other(format!("no value for parameter ${number}")))?;
        stmt.raw_bind_parameter(index, value).map_err(sql_error)?;
    }
    Ok(())
}

/// A [`Conn`] over a borrowed SQLite connection. Its futures never pend.
pub struct SqliteConn<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteConn<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        SqliteConn { conn }
    }

    fn run_exec(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, SqlError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_error)?;
        bind(&mut stmt, params)?;
        Ok(stmt.raw_execute().map_err(sql_error)? as u64)
    }

    fn run_query(&self, sql: &str, params: &[Val<'_>]) -> Result<Vec<Row>, SqlError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_error)?;
        let columns = stmt.column_count();
        bind(&mut stmt, params)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_error)? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(match row.get_ref(i).map_err(sql_error)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    other => return Err(SqlError::Decode(format!("unsupported column type {:?}", other.data_type()))),
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }
}

impl Conn for SqliteConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
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
    fn run(&mut self, conn: &Connection) -> bool;
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
    F: FnOnce(&Connection) -> Result<T, E> + Send,
    T: Send,
    E: Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let work = self.work.take().expect("work runs once");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)));
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
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
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
        let outcome = commit_batch(&conn, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed; every command in the batch is answered with the error");
        }
        for job in batch.drain(..) {
            job.finish(outcome.clone());
        }
    }
}

/// Runs every job of the batch in one transaction, each in its own savepoint.
fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Work>]) -> Result<(), SqlError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_error)?;
    for job in batch.iter_mut() {
        if let Err(e) = run_in_savepoint(conn, job.as_mut()) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        sql_error(e)
    })
}

fn run_in_savepoint(conn: &Connection, job: &mut dyn Work) -> Result<(), SqlError> {
    conn.execute_batch("SAVEPOINT cmd").map_err(sql_error)?;
    let end = if job.run(conn) { "RELEASE cmd" } else { "ROLLBACK TO cmd; RELEASE cmd" };
    conn.execute_batch(end).map_err(sql_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Answer = oneshot::Receiver<Result<Result<(), String>, SqlError>>;

    /// A job that inserts `n`, then ends as `end` says.
    fn job(n: i64, end: &'static str) -> (Box<dyn Work>, Answer) {
        let (done, answer) = oneshot::channel();
        let work = move |conn: &Connection| {
            conn.execute("INSERT INTO t (n) VALUES (?1)", [n]).map_err(|e| e.to_string())?;
            match end {
                "ok" => Ok(()),
                "panic" => panic!("job {n} panics on purpose"),
                _ => Err(format!("job {n} refused")),
            }
        };
        (Box::new(TypedWork { work: Some(work), result: None, done }), answer)
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
        let outcome = commit_batch(&conn, &mut batch);
        assert!(outcome.is_ok());
        for job in batch {
            job.finish(outcome.clone());
        }
        let kept: Vec<i64> = conn
            .prepare("SELECT n FROM t ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept, [1, 4]);
        let answers: Vec<_> = answers.iter_mut().map(|a| a.try_recv().expect("answered")).collect();
        assert!(matches!(answers[0], Ok(Ok(()))));
        assert!(matches!(&answers[1], Ok(Err(e)) if e == "job 2 refused"));
        assert!(matches!(answers[2], Err(SqlError::Other(_))), "a panic answers an error: {:?}", answers[2]);
        assert!(matches!(answers[3], Ok(Ok(()))));
    }
}
