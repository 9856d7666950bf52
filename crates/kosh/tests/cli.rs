//! The `kosh` binary, run as a user runs it: on a scratch SQLite data dir and on a fresh
//! PostgreSQL database.

mod common;

use kosh_core::clock::SystemClock;
use kosh_core::ids::PartnerId;
use kosh_core::validate::Mobile;
use kosh_store::commands::{Command as StoreCommand, IssueOtp, Outcome, USER_MOBILE_OTP};
use kosh_store::ops::otp::{OtpIssue, OtpRequest};
use kosh_store::{Location, Store};
use kosh_testkit::{scratch_dir, Backend, BACKENDS};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KOSH: &str = env!("CARGO_BIN_EXE_kosh");
const SANDBOX_ACCESS_KEY: &str = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30";
const SANDBOX_DEVELOPER_KEY: &str = "becbbce45f79c6f5109f848acd540567";
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The environment variables `kosh` reads; tests must not inherit them.
const KOSH_ENV: [&str; 9] = [
    "KOSH_METRICS_TOKEN",
    "KOSH_CONFIG",
    "KOSH_DATA_DIR",
    "KOSH_DATABASE_URL",
    "KOSH_ADMIN_TOKEN",
    "KOSH_ACCESS_KEY",
    "KOSH_LISTEN",
    "KOSH_SANDBOX",
    "KOSH_AEPS_AADHAAR_PEPPER",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The value of a `name: value` line of stdout.
    fn field(&self, name: &str) -> &str {
        let prefix = format!("{name}: ");
        let line = self.stdout.lines().find(|l| l.starts_with(&prefix));
        line.unwrap_or_else(|| panic!("no {name} line in:\n{}", self.stdout))[prefix.len()..].trim()
    }
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(KOSH);
    cmd.args(args);
    for name in KOSH_ENV {
        cmd.env_remove(name);
    }
    cmd
}

fn kosh(args: &[&str]) -> Run {
    let out = command(args).output().expect("run kosh");
    Run {
        code: out.status.code().expect("kosh exited, not killed"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Runs `kosh` with `args` and then the store flags; asserts it succeeded.
fn ok(args: &[&str], store: &[String]) -> Run {
    let run = failing(args, store);
    assert_eq!(run.code, 0, "kosh {args:?} failed:\n{}", run.stderr);
    run
}

/// Runs `kosh` with `args` and then the store flags.
fn failing(args: &[&str], store: &[String]) -> Run {
    let all: Vec<&str> = args.iter().copied().chain(store.iter().map(String::as_str)).collect();
    kosh(&all)
}

/// Asserts `kosh` refused with exit status 1 and `message` on stderr.
fn refused(run: &Run, message: &str) {
    assert_eq!(run.code, 1, "expected a refusal, got:\n{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(message), "expected {message:?} on stderr, got:\n{}", run.stderr);
}

/// The store flags for a fresh, empty location on `backend`.
async fn store_flags(backend: Backend) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec!["--data-dir".into(), scratch_dir().display().to_string()],
        Backend::Postgres => vec!["--database-url".into(), common::fresh_database().await],
    }
}

#[tokio::test]
async fn migrate_applies_the_schema_once_then_reports_up_to_date() {
    for backend in BACKENDS {
        let store = store_flags(backend).await;
        let first = ok(&["migrate"], &store);
        assert!(first.stdout.contains("applied migration 1 init"), "{backend:?}: {}", first.stdout);
        let second = ok(&["migrate"], &store);
        assert!(second.stdout.contains("up to date"), "{backend:?}: {}", second.stdout);
        assert!(!second.stdout.contains("applied"), "{backend:?}: {}", second.stdout);
    }
}

#[tokio::test]
async fn partner_create_prints_fresh_credentials_once_and_refuses_a_taken_name() {
    for backend in BACKENDS {
        let store = store_flags(backend).await;
        let created = ok(&["partner", "create", "--name", "acme"], &store);
        let developer_key = created.field("developer_key").to_owned();
        let access_key = created.field("access_key").to_owned();
        assert_eq!(developer_key.len(), 32, "{backend:?}");
        assert!(developer_key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(access_key.len(), 36);
        assert!(Mobile::parse(created.field("initiator_id")).is_ok(), "a random initiator_id is a valid mobile");
        assert!(created.stderr.contains("shown this once only"), "{}", created.stderr);

        let given = ok(&["partner", "create", "--name", "beta", "--initiator-id", "9876543210"], &store);
        assert_eq!(given.field("initiator_id"), "9876543210");
        assert_ne!(given.field("access_key"), access_key);

        refused(&failing(&["partner", "create", "--name", "acme"], &store), "a partner named \"acme\" already exists");
        refused(
            &failing(&["partner", "create", "--name", "gamma", "--initiator-id", "9876543210"], &store),
            "initiator_id 9876543210 is already registered",
        );
        refused(&failing(&["partner", "create", "--name", "delta", "--initiator-id", "12345"], &store), "--initiator-id must be");
        refused(&failing(&["partner", "create", "--name", "42"], &store), "must not be all digits");

        let list = ok(&["partner", "list"], &store);
        assert!(list.stdout.contains(&developer_key), "{backend:?}: {}", list.stdout);
        assert!(list.stdout.contains("acme") && list.stdout.contains("beta") && list.stdout.contains("9876543210"));
        assert!(!list.stdout.contains(&access_key), "partner list must never print access keys");
        assert_eq!(list.stdout.lines().count(), 3, "a header and two partners:\n{}", list.stdout);
    }
}

#[tokio::test]
async fn wallet_credit_prints_the_new_balance_and_refuses_bad_input() {
    for backend in BACKENDS {
        let store = store_flags(backend).await;
        ok(&["partner", "create", "--name", "acme"], &store);
        let credited = ok(&["wallet", "credit", "--partner", "acme", "--amount", "5000.00", "--reference", "NEFT N123"], &store);
        assert_eq!(credited.field("balance"), "5000.00", "{backend:?}");
        let by_id = ok(&["wallet", "credit", "--partner", "1", "--amount", "0.5"], &store);
        assert_eq!(by_id.field("balance"), "5000.50");
        assert_eq!(ok(&["wallet", "balance", "--partner", "acme"], &store).field("available"), "5000.50");

        let credit = |amount: &str| failing(&["wallet", "credit", "--partner", "acme", "--amount", amount], &store);
        refused(&credit("1.005"), "amount has more than 2 decimal places");
        refused(&credit("-10"), "amount must not be negative");
        refused(&credit("ten"), "amount must be a plain decimal number");
        refused(&credit("0.00"), "amount must be greater than zero");
        refused(&credit("1000000000.01"), "amount is larger than the maximum");
        refused(
            &failing(&["wallet", "credit", "--partner", "nobody", "--amount", "1"], &store),
            "no partner with id or name \"nobody\"",
        );
        let long = "x".repeat(65);
        refused(
            &failing(&["wallet", "credit", "--partner", "acme", "--amount", "1", "--reference", &long], &store),
            "--reference is longer than 64 characters",
        );
        refused(&failing(&["wallet", "balance", "--partner", "7"], &store), "no partner with id or name \"7\"");
        assert_eq!(ok(&["wallet", "balance", "--partner", "acme"], &store).field("balance"), "5000.50", "refusals wrote nothing");
    }
}

#[test]
fn store_problems_are_refused_with_a_clear_message() {
    refused(
        &kosh(&["partner", "list", "--database-url", "mysql://kosh@localhost/kosh"]),
        "database_url must start with postgres://",
    );
    refused(&kosh(&["migrate", "--database-url", "postgres://kosh@127.0.0.1:1/kosh"]), "cannot migrate postgres:");
}

#[test]
fn serve_outside_sandbox_mode_needs_an_aadhaar_hash_key() {
    let data_dir = scratch_dir().display().to_string();
    let pepper = "an-echelon-token-pepper-of-32-chars-at-least";
    let production =
        ["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_dir, "--sandbox", "false", "--echelon-token-pepper", pepper];
    refused(&kosh(&production), "aeps_aadhaar_pepper is required outside sandbox mode");
    let short: Vec<&str> = production.iter().copied().chain(["--aeps-aadhaar-pepper", "too-short"]).collect();
    refused(&kosh(&short), "aeps_aadhaar_pepper must be at least 32 characters");
}

#[test]
fn sign_prints_the_known_answer_headers() {
    let run = kosh(&["sign", "--access-key", SANDBOX_ACCESS_KEY, "--timestamp", "1700000000000"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "secret-key: qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=\nsecret-key-timestamp: 1700000000000\n");
    let run = kosh(&[
        "sign",
        "--access-key",
        SANDBOX_ACCESS_KEY,
        "--timestamp",
        "1700000000000",
        "--hash-fields",
        "151627591,50,20810200",
        "--developer-key",
        SANDBOX_DEVELOPER_KEY,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.field("developer_key"), SANDBOX_DEVELOPER_KEY);
    assert_eq!(run.field("secret-key"), "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=");
    assert_eq!(run.field("request_hash"), "TO65c2+vieXFx4+yDLN50NoAHe1fnfyWfIAB2NJkiNc=");
}

#[test]
fn sign_defaults_to_now_and_refuses_a_bad_timestamp() {
    let wall_ms = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let before = wall_ms();
    let run = kosh(&["sign", "--access-key", SANDBOX_ACCESS_KEY]);
    let after = wall_ms();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ts: i64 = run.field("secret-key-timestamp").parse().expect("a numeric timestamp");
    // Bracketed by the run itself, however long the machine takes to start the binary.
    assert!((before..=after).contains(&ts), "the default timestamp is now, in milliseconds: {ts} not in {before}..={after}");
    assert!(!run.stdout.contains("request_hash"), "no request_hash without --hash-fields");
    refused(&kosh(&["sign", "--access-key", "k", "--timestamp", "17e11"]), "must be milliseconds since the Unix epoch");
    refused(&kosh(&["sign", "--access-key", "k", "--timestamp", "-5"]), "must be milliseconds since the Unix epoch");
    let seconds = kosh(&["sign", "--access-key", "k", "--timestamp", "1700000000"]);
    assert_eq!(seconds.code, 0);
    assert!(seconds.stderr.contains("looks like seconds"), "{}", seconds.stderr);
}

/// Issues an OTP directly through the store, as the Eko OTP endpoints do.
async fn issue_otp(location: Location, partner_id: PartnerId, mobile: &str, code: &str, ttl_ms: i64) {
    let store = Store::open(location, Arc::new(SystemClock)).await.expect("open store");
    let request = OtpRequest {
        purpose: USER_MOBILE_OTP.into(),
        subject: mobile.into(),
        code: code.into(),
        ttl_ms,
        max_attempts: 3,
        sandbox_visible: true,
    };
    let outcome = store.execute(StoreCommand::IssueOtp(IssueOtp { partner_id, request })).await.expect("issue OTP");
    assert!(matches!(outcome, Outcome::OtpIssued(OtpIssue::Issued { .. })), "{outcome:?}");
}

#[tokio::test]
async fn sandbox_otp_prints_the_latest_usable_code() {
    for backend in BACKENDS {
        let store = store_flags(backend).await;
        let location = match backend {
            Backend::Sqlite => Location::Sqlite(std::path::Path::new(&store[1]).join("kosh.db")),
            Backend::Postgres => Location::Postgres(store[1].clone()),
        };
        ok(&["partner", "create", "--name", "acme"], &store);
        let otp = |mobile: &str| failing(&["sandbox", "otp", "--partner", "acme", "--mobile", mobile], &store);
        refused(&otp("9876543210"), "no unused OTP for mobile 9876543210");

        issue_otp(location.clone(), PartnerId::new(1), "9876543210", "111111", 600_000).await;
        let issued = Instant::now();
        issue_otp(location.clone(), PartnerId::new(1), "9876543210", "246810", 600_000).await;
        let run = otp("9876543210");
        let elapsed_secs = i64::try_from(issued.elapsed().as_secs()).unwrap();
        assert_eq!(run.code, 0, "{backend:?}: {}", run.stderr);
        assert_eq!(run.field("otp"), "246810", "the latest OTP");
        // 600 s from issue, less what the wall clock moved while the CLI ran.
        let expires_in: i64 = run.field("expires_in_secs").parse().unwrap();
        assert!((600 - elapsed_secs - 1..=600).contains(&expires_in), "{expires_in} s left, {elapsed_secs} s after issue");

        issue_otp(location, PartnerId::new(1), "9876543211", "999999", 1).await;
        std::thread::sleep(Duration::from_millis(5));
        refused(&otp("9876543211"), "expired");
        refused(&otp("12345"), "--mobile must be a 10-digit mobile number");
    }
}

/// A `kosh serve` child process, killed if a test fails before stopping it.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts `kosh serve` on a free port and waits for its "listening" line.
    fn start(extra: &[&str]) -> Server {
        let args: Vec<&str> = ["serve", "--listen", "127.0.0.1:0"].iter().copied().chain(extra.iter().copied()).collect();
        let mut child = command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start kosh serve");
        let url = listening_url(child.stderr.take().expect("piped stderr"));
        assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "the real port: {url}");
        Server { child, url }
    }

    /// Sends SIGTERM and returns how the server exited.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("pid fits in i32");
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "send SIGTERM");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for kosh serve") {
                return status;
            }
            assert!(Instant::now() < deadline, "kosh serve did not exit within {WAIT:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// How long a test waits for a stated condition before it fails: generous, since it only
/// bounds a failure and a busy machine may be slow.
const WAIT: Duration = Duration::from_secs(60);

/// Reads `kosh serve`'s stderr (bounded by [`WAIT`]) until its "listening" line; answers
/// the URL, and keeps draining stderr so the server never blocks on a full pipe.
fn listening_url(stderr: std::process::ChildStderr) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("kosh listening on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                break;
            }
        }
        lines.for_each(drop);
    });
    rx.recv_timeout(WAIT).expect("kosh serve printed its address before exiting, within the wait")
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn serve_answers_a_request_signed_with_kosh_sign_and_stops_on_sigterm() {
    let data_dir = scratch_dir().display().to_string();
    let server = Server::start(&["--data-dir", &data_dir]);
    let signed = kosh(&["sign", "--access-key", SANDBOX_ACCESS_KEY, "--developer-key", SANDBOX_DEVELOPER_KEY]);
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let mut request =
        reqwest::Client::new().get(format!("{}/ekoapi/v1/user/services/user_code:20810200?initiator_id=9962981729", server.url));
    for line in signed.stdout.lines() {
        let (name, value) = line.split_once(": ").expect("header: value");
        request = request.header(name, value);
    }
    let res = request.send().await.expect("request");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(body["status"], 0, "{body}");
    assert_eq!(body["data"]["user_code"], "20810200", "{body}");

    let status = server.terminate();
    assert!(status.success(), "kosh serve exits 0 on SIGTERM, got {status:?}");
}

#[test]
fn bench_runs_both_scenarios_and_checks_the_ledger() {
    let data_dir = scratch_dir().display().to_string();
    let server = Server::start(&["--data-dir", &data_dir, "--admin-token", ADMIN_TOKEN]);
    let bench = |extra: &[&str]| {
        let args: Vec<&str> =
            ["bench", "--url", &server.url, "--connections", "2", "--requests", "40"].iter().chain(extra).copied().collect();
        kosh(&args)
    };
    // The 40 requests end each run, not the default 10 s duration or 10 s per request,
    // which a busy machine may exceed; these only bound a failure.
    const PATIENT: [&str; 4] = ["--duration-secs", "600", "--timeout-secs", "120"];
    let patient = |extra: &[&str]| bench(&[extra, &PATIENT[..]].concat());
    let services = patient(&["--scenario", "services"]);
    assert_eq!(services.code, 0, "{}{}", services.stdout, services.stderr);
    assert!(services.stdout.contains("requests     40 (ok 40, errors 0)"), "{}", services.stdout);
    assert!(services.stdout.contains("latency      p50 "), "{}", services.stdout);

    let wallet = patient(&["--scenario", "wallet", "--admin-token", ADMIN_TOKEN]);
    assert_eq!(wallet.code, 0, "{}{}", wallet.stdout, wallet.stderr);
    assert!(wallet.stdout.contains("requests     40 (ok 40, errors 0)"), "{}", wallet.stdout);
    assert!(wallet.stdout.contains("(+40.00): matches the successful credits"), "{}", wallet.stdout);

    refused(&bench(&["--scenario", "wallet"]), "needs --admin-token");
    refused(&bench(&["--scenario", "wallet", "--admin-token", "wrong-token-0123456789"]), "refused --admin-token");
    refused(&bench(&["--duration-secs", "0"]), "--duration-secs must be between 1 and 3600");
    let signed_wrong = patient(&["--access-key", "not-the-access-key"]);
    refused(&signed_wrong, "no request succeeded");
    assert!(signed_wrong.stdout.contains("errors       HTTP 403: 40"), "{}", signed_wrong.stdout);
    assert!(server.terminate().success());
}

/// The v3 fund-transfer scenario against a sandbox server: every payout settles at
/// once, and the run reports them all as successes.
#[test]
fn bench_runs_the_fund_transfer_scenario() {
    let data_dir = scratch_dir().display().to_string();
    let server = Server::start(&["--data-dir", &data_dir]);
    let args = [
        "bench",
        "--url",
        &server.url,
        "--scenario",
        "fund-transfer",
        "--connections",
        "2",
        "--requests",
        "40",
        "--duration-secs",
        "600",
        "--timeout-secs",
        "120",
    ];
    let run = kosh(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("fund-transfer: POST "), "{}", run.stdout);
    assert!(run.stdout.contains("requests     40 (ok 40, errors 0)"), "{}", run.stdout);
    assert!(server.terminate().success());
}

/// `scripts/test` (which `.ci/run` runs) passes `--no-fail-fast`, so one run reports the
/// failures of every test binary, and hands its arguments on. A stand-in `cargo` (a shell
/// function every bash of the scripts loads through `BASH_ENV`, so no freshly written
/// executable is run) records how it was called.
#[test]
fn the_test_script_runs_every_test_binary_and_ci_runs_the_script() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = scratch_dir();
    let (record, env) = (dir.join("cargo-args"), dir.join("fake-cargo.sh"));
    std::fs::write(&env, format!("cargo() {{ printf '%s\\n' \"$*\" >> '{}'; }}\n", record.display())).unwrap();
    for (script, args, expected) in [
        ("scripts/test", &["-p", "kosh-core"][..], "test --workspace --locked --no-fail-fast -p kosh-core\n"),
        (".ci/run", &[][..], "test --workspace --locked --no-fail-fast\n"),
    ] {
        std::fs::write(&record, "").unwrap();
        let out = Command::new(root.join(script)).args(args).env("BASH_ENV", &env).output().expect("run the script");
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        let called = std::fs::read_to_string(&record).unwrap();
        assert_eq!(called, expected, "{script} runs cargo once, reporting every failure");
    }
}

/// `kosh sandbox qr-pay`: a simulated customer pays a dynamic QR once, exactly its amount.
#[tokio::test]
async fn sandbox_qr_pay_pays_a_qr_once() {
    use kosh_store::commands::collections::CreateQr;
    use kosh_store::commands::OnboardAgent;
    use kosh_store::ops::agents::NewAgent;
    use kosh_store::ops::collections::NewQr;
    for backend in BACKENDS {
        let store = store_flags(backend).await;
        let location = match backend {
            Backend::Sqlite => Location::Sqlite(std::path::Path::new(&store[1]).join("kosh.db")),
            Backend::Postgres => Location::Postgres(store[1].clone()),
        };
        ok(&["partner", "create", "--name", "acme"], &store);
        let db = Store::open(location, Arc::new(SystemClock)).await.expect("open store");
        let agent = NewAgent {
            pan: "ABCDE1234F".into(),
            mobile: "9876500001".into(),
            first_name: "Asha".into(),
            middle_name: String::new(),
            last_name: "Rao".into(),
            email: "asha@example.com".into(),
            dob: "1990-01-01".into(),
            shop_name: "Asha Stores".into(),
            residence_address: r#"{"line":"1 Main Rd","city":"Pune","state":"MH","pincode":"411001"}"#.into(),
        };
        let user_code = db
            .execute(OnboardAgent { partner_id: kosh_core::ids::PartnerId::new(1), agent })
            .await
            .expect("onboard")
            .agent
            .user_code;
        let qr = NewQr {
            partner_id: 1,
            user_code: user_code.get(),
            sender_id: "9876500001".into(),
            bank: kosh_core::collections::QrBank::Razorpay,
            amount: kosh_core::money::Paise::new(25_000),
            client_ref_id: "qr_cli0000000001".into(),
            utility_acc_no: "cust_cli0000000001".into(),
            name: "Asha Stores".into(),
            email: String::new(),
        };
        db.execute(CreateQr { qr }).await.expect("create the QR");
        let pay = |amount: &str| {
            failing(&["sandbox", "qr-pay", "--partner", "acme", "--qr", "qr_cli0000000001", "--amount", amount], &store)
        };
        refused(&pay("249"), "exactly 250.00");
        let run = pay("250");
        assert_eq!(run.code, 0, "{backend:?}: {}", run.stderr);
        assert_eq!(run.field("tx_status"), "5 (Payment Initiated)");
        assert_eq!(run.field("qr_status"), "3 (QR_INACTIVE)");
        let tid: i64 = run.field("tid").parse().unwrap();
        let payment = db.qr_payment(1, tid).await.unwrap().expect("the payment is stored");
        assert_eq!(payment.amount.get(), 25_000);
        refused(&pay("250"), "does not accept payments");
        refused(&pay("2.505"), "--amount must be rupees with at most 2 decimals");
    }
}

/// `kosh --version` names the commit it was built from.
#[test]
fn version_names_the_commit() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let head = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(root).output().expect("run git");
    let head = String::from_utf8(head.stdout).unwrap();
    let version = kosh(&["--version"]);
    assert_eq!(version.code, 0, "{}", version.stderr);
    let expected = format!("kosh {} (commit {})\n", env!("CARGO_PKG_VERSION"), head.trim());
    assert_eq!(version.stdout, expected);
}

/// `kosh ready` (the container's health check) exits 0 for a ready server and 1, with
/// the reason, for a server that never answers.
#[test]
fn ready_asks_the_server() {
    let data_dir = scratch_dir().display().to_string();
    let server = Server::start(&["--data-dir", &data_dir]);
    let ready = kosh(&["ready", "--url", &server.url]);
    assert_eq!(ready.code, 0, "{}", ready.stderr);
    assert!(ready.stdout.contains(r#""status":"ready""#), "{}", ready.stdout);
    assert!(server.terminate().success());
    // A listener that never accepts: the connection waits in its queue, never answered,
    // so the call ends at its timeout whatever the machine's speed.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    refused(&kosh(&["ready", "--url", &url, "--timeout-secs", "1"]), "not reachable");
}

/// `KOSH_LOG_FORMAT=json`: one JSON object a line, and a request's lines carry its
/// request id in their span.
#[test]
fn json_logs_name_the_request_id() {
    let dir = scratch_dir();
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let data_dir = dir.join("data").display().to_string();
    let mut child = command(&["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_dir])
        .env("KOSH_LOG_FORMAT", "json")
        .env("KOSH_LOG", "kosh_server=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start kosh serve");
    let deadline = Instant::now() + WAIT;
    let url = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("kosh listening on ")) {
            break line.split_whitespace().next().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "kosh serve did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let answered = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: json-log-test-1\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.starts_with("HTTP/1.1 200")
    };
    assert!(answered, "healthz answered");
    let found = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert!(!lines.is_empty(), "JSON log lines:\n{text}");
        if let Some(line) = lines.iter().find(|l| l["span"]["request_id"] == "json-log-test-1") {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "no log line of the request in:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(found["span"]["path"], "/healthz", "{found}");
    assert_eq!(found["fields"]["status"], 200, "{found}");
    let _ = child.kill();
    let _ = child.wait();
}
