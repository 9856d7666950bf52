//! Test support: every storage test runs on both backends.
//!
//! PostgreSQL comes from the system's server binaries. When `KOSH_TEST_DATABASE_URL`
//! names a server (the test script starts one cluster for the whole run), each test
//! gets a fresh database on it; otherwise the first test in a process starts a
//! throwaway cluster in a temporary directory, which dies with the process. As root,
//! the cluster runs as the `postgres` user, since PostgreSQL refuses to run as root.
//! A missing PostgreSQL is a test failure with instructions, never a silent skip.

use kosh_core::clock::SharedClock;
use kosh_store::{Location, Store};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The two backends every storage test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Generates, for each scenario `async fn name(backend: Backend)` at the root of a test
/// crate, one test per backend: `sqlite::name` and `postgres::name`, each on a two-thread
/// tokio runtime (the calling crate depends on `tokio` with its `macros` feature). A test
/// file lists its scenarios once, `on_both_backends!(first_scenario, second_scenario);`,
/// and writes each scenario as a plain async function of the backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Postgres).await
            })*
        }
    };
}

/// A fresh, empty location on `backend`: a new SQLite file or a new PostgreSQL database.
pub async fn fresh_location(backend: Backend) -> Location {
    match backend {
        Backend::Sqlite => Location::Sqlite(scratch_dir().join("kosh.db")),
        Backend::Postgres => Location::Postgres(fresh_database().await),
    }
}

/// A fresh, migrated store on `backend`.
pub async fn fresh_store(backend: Backend, clock: SharedClock) -> Store {
    let store = Store::open(fresh_location(backend).await, clock).await.expect("open store");
    store.migrate().await.expect("migrate");
    store
}

/// A new empty directory under the system temp dir. A test process keeps its own (so a
/// failure can be inspected while it runs); the first call of a later process removes
/// those of processes that have ended, so scratch space stays bounded across runs.
pub fn scratch_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(sweep_dead_scratch_dirs);
    let dir = std::env::temp_dir().join(format!("kosh-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Removes `kosh-test-PID-N` directories whose process no longer exists.
fn sweep_dead_scratch_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("kosh-test-")).and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        let alive = pid.parse::<u32>().map(|pid| Path::new(&format!("/proc/{pid}")).exists()).unwrap_or(true);
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The server URL tests create their databases on.
fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("KOSH_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => Cluster::start().url(),
    })
    .clone()
}

/// Creates a database with a unique name and returns its URL.
pub async fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = server_url();
    let name = format!("kosh_t{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst), nanos());
    let (client, conn) = connect_with_retry(&base).await;
    let task = tokio::spawn(conn);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    drop(client);
    let _ = task.await;
    with_database(&base, &name)
}

/// How long the kit waits for PostgreSQL to come up before the test fails: generous,
/// since it only bounds a failure and a busy machine may be slow to start a cluster.
const WAIT: Duration = Duration::from_secs(60);

/// Connects, waiting out a server that is still starting up (bounded by [`WAIT`]).
async fn connect_with_retry(
    url: &str,
) -> (tokio_postgres::Client, tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>) {
    let deadline = Instant::now() + WAIT;
    loop {
        match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            Ok(pair) => return pair,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot connect to the test PostgreSQL server at {url}: {e}"),
        }
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    match base.split_once('?') {
        Some((before, query)) => format!("{}/{name}?{query}", before.rsplit_once('/').map_or(before, |(b, _)| b)),
        None => format!("{}/{name}", base.rsplit_once('/').map_or(base, |(b, _)| b)),
    }
}

/// The plain-SQL dump of the PostgreSQL database at `url`: every row of every table, as
/// text. Made with `pg_dump` from the same binaries the test cluster runs on, so a test
/// can search a database's whole content.
pub fn pg_dump(url: &str) -> String {
    let bin = find_bindir().expect("PostgreSQL binaries (pg_dump) were not found").join("pg_dump");
    let out = Command::new(&bin)
        .args(["--no-owner", "--no-privileges", "--dbname", url])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("pg_dump writes UTF-8 for a UTF-8 database")
}

/// A throwaway PostgreSQL cluster owned by this process.
struct Cluster {
    socket_dir: PathBuf,
    port: u16,
    _child: Mutex<Child>,
}

impl Cluster {
    fn url(&self) -> String {
        format!("postgres://postgres@localhost:{}/postgres?host={}", self.port, self.socket_dir.display())
    }

    fn start() -> Cluster {
        let bin = find_bindir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, postgres) were not found. Install them \
                 (Debian: apt-get install postgresql) or run the README's test command, which installs them."
            )
        });
        let dir = scratch_dir().join("pg");
        let (data, socket_dir) = (dir.join("data"), dir.join("sock"));
        std::fs::create_dir_all(&socket_dir).expect("create cluster dirs");
        let owner = run_as();
        if let Some((uid, gid)) = owner {
            for d in [&dir, &socket_dir] {
                std::os::unix::fs::chown(d, Some(uid), Some(gid)).expect("chown cluster dir to postgres");
            }
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.args(["-D", path_str(&data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--no-locale"]);
        as_owner(&mut initdb, owner);
        let out = initdb.output().expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .args(["-D", path_str(&data), "-p", &port.to_string(), "-k", path_str(&socket_dir), "-c", "listen_addresses="])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_owner(&mut postgres, owner);
        // The cluster must not outlive the test process, however the process ends. The
        // parent-death signal fires when the spawning *thread* exits, so the spawn
        // happens on a thread that lives as long as the process.
        unsafe {
            postgres.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("kosh-test-postgres".into())
            .spawn(move || {
                tx.send(postgres.spawn()).expect("report postgres start");
                loop {
                    std::thread::park();
                }
            })
            .expect("start the cluster's keeper thread");
        let child = rx.recv().expect("keeper thread answers").expect("start postgres");
        wait_for_socket(&socket_dir, port);
        Cluster { socket_dir, port, _child: Mutex::new(child) }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn find_bindir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").exists() && d.join("postgres").exists();
    if let Ok(dir) = std::env::var("KOSH_PG_BINDIR") {
        return Some(PathBuf::from(dir)).filter(|d| has(d));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has(d))
        .collect();
    versions.sort();
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).find(|d| has(d)))
}

/// As root, the `postgres` user's uid and gid.
fn run_as() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"));
    let fields: Vec<&str> =
        line.expect("running as root needs a postgres user (installed with the postgresql package)").split(':').collect();
    Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
}

fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn wait_for_socket(socket_dir: &Path, port: u16) {
    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
    let deadline = Instant::now() + WAIT;
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "PostgreSQL did not accept connections within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The folder `scripts/setup-sdks` installs the vendor's SDKs into (`KOSH_SDK_DIR`
/// overrides it).
fn sdk_root() -> PathBuf {
    match std::env::var_os("KOSH_SDK_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/sdks"),
    }
}

fn installed_sdk(name: &str, marker_prefix: &str) -> PathBuf {
    let dir = sdk_root().join(name);
    let installed = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with(marker_prefix)))
        .unwrap_or(false);
    assert!(
        installed,
        "the vendor's {name} SDK is not installed in {}: run scripts/setup-sdks (scripts/test does)",
        dir.display()
    );
    dir
}

/// Where the vendor's Python SDK (PyPI `eps-sdk`, pinned in `scripts/setup-sdks`) is
/// installed: put it on `PYTHONPATH` and `import eps_sdk`. Panics with instructions
/// when it is missing: a test that needs the SDK fails, it is never skipped.
pub fn python_sdk() -> PathBuf {
    installed_sdk("python", ".installed-")
}

/// Where the vendor's Node SDK (npm `@ekoindia/eko-sdk-node`, pinned in
/// `scripts/setup-sdks`) is installed: run `node` with this folder as its working
/// directory (or `NODE_PATH=<it>/node_modules`) and `require("@ekoindia/eko-sdk-node")`.
/// Panics with instructions when it is missing.
pub fn node_sdk() -> PathBuf {
    installed_sdk("node", ".installed-")
}
