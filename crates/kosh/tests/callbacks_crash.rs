//! Crash safety of the callback engine with the real binary: `kosh serve` delivers some
//! callbacks, then is killed with SIGKILL while more are queued and in flight; after a
//! restart every event is delivered, and none that was delivered is sent again. On
//! both backends.

mod common;

use kosh_testkit::{scratch_dir, Backend, BACKENDS};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KOSH: &str = env!("CARGO_BIN_EXE_kosh");
const EVENTS: usize = 40;
/// Of which delivered before the server is killed.
const DELIVERED_FIRST: usize = 10;

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(KOSH);
    cmd.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("KOSH_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn kosh_ok(args: &[&str]) -> String {
    let out = command(args).output().expect("run kosh");
    assert!(out.status.success(), "kosh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// What the receiver saw: per event id, the statuses it answered.
type Seen = Arc<Mutex<HashMap<String, Vec<u16>>>>;

/// A minimal HTTP receiver: while `hang` is set it reads requests and never answers;
/// otherwise it answers 200.
async fn receiver(hang: Arc<AtomicBool>, seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/status", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (hang, seen) = (hang.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let header =
                        |name: &str| head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_owned()));
                    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    if buf.len() < head_end + 4 + length {
                        continue;
                    }
                    let id = header("x-kosh-event-id").unwrap_or_default();
                    buf.drain(..head_end + 4 + length);
                    if hang.load(Ordering::SeqCst) {
                        seen.lock().unwrap().entry(id).or_default().push(0);
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    seen.lock().unwrap().entry(id).or_default().push(200);
                    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK").await;
                }
            });
        }
    });
    url
}

struct Server(Child);

impl Server {
    /// Attempts time out after 5 s: long enough that a receiver which answers is never
    /// cut off on a busy machine (that would send an acknowledged event again), short
    /// enough that the attempts the killed server leased (lease: twice the attempt's
    /// timeouts plus 5 s) come back well within the test's waits.
    fn start(store: &[String]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--callbacks-timeout-ms", "5000"];
        args.extend(["--callbacks-connect-timeout-ms", "2000", "--callbacks-tick-ms", "20"]);
        args.extend(["--callbacks-tx-status-interval-secs", "1", "--callbacks-jitter-pct", "0"]);
        args.extend(store.iter().map(String::as_str));
        let mut child = command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start kosh serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.starts_with("kosh listening on ") {
                    let _ = tx.send(());
                    break;
                }
            }
            // Keep draining stderr so the server never blocks on a full pipe.
            lines.for_each(drop);
        });
        rx.recv_timeout(WAIT).expect("kosh serve printed its address within the wait");
        Server(child)
    }

    fn sigkill(mut self) {
        self.0.kill().expect("SIGKILL kosh serve");
        self.0.wait().expect("reap kosh serve");
    }

    fn sigterm(mut self) {
        let pid = i32::try_from(self.0.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.0.try_wait().expect("wait for kosh serve") {
                break status;
            }
            assert!(Instant::now() < deadline, "kosh serve did not exit within {WAIT:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn store_flags(backend: Backend) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec!["--data-dir".into(), scratch_dir().display().to_string()],
        Backend::Postgres => vec!["--database-url".into(), common::fresh_database().await],
    }
}

/// How long a test waits for a stated condition before it fails: generous, since it only
/// bounds a failure and a busy machine may be slow.
const WAIT: Duration = Duration::from_secs(60);

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Event ids the receiver acknowledged (answered 200).
fn acknowledged(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().iter().filter(|(_, statuses)| statuses.contains(&200)).map(|(id, _)| id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_survive_sigkill_and_are_delivered_after_restart() {
    for backend in BACKENDS {
        let hang = Arc::new(AtomicBool::new(false));
        let seen: Seen = Arc::default();
        let url = receiver(hang.clone(), seen.clone()).await;
        let store = store_flags(backend).await;
        let with_store =
            |args: &[&str]| -> Vec<String> { args.iter().map(|a| a.to_string()).chain(store.iter().cloned()).collect() };
        let run = |args: Vec<String>| kosh_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let delivered_count =
            || run(with_store(&["callbacks", "list", "--state", "delivered", "--limit", "500"])).lines().count() - 1;

        let first = Server::start(&store);
        run(with_store(&["partner", "callbacks", "set", "--partner", "sandbox", "--kind", "tx_status", "--url", &url]));
        // Delivered before the crash: the receiver acknowledged them and Kosh recorded it.
        let count = DELIVERED_FIRST.to_string();
        run(with_store(&["callbacks", "send-test", "--partner", "sandbox", "--count", &count]));
        wait_until("the first events are acknowledged", || acknowledged(&seen).len() == DELIVERED_FIRST).await;
        wait_until("the first events are recorded delivered", || delivered_count() == DELIVERED_FIRST).await;
        let delivered_first = acknowledged(&seen);

        // Then more, held in flight by the receiver when the server dies.
        hang.store(true, Ordering::SeqCst);
        let count = (EVENTS - DELIVERED_FIRST).to_string();
        let queued = run(with_store(&["callbacks", "send-test", "--partner", "sandbox", "--count", &count]));
        assert!(queued.contains(&format!("queued {count} eko.tx_status")), "{queued}");
        wait_until("attempts are in flight", || seen.lock().unwrap().len() >= DELIVERED_FIRST + 8).await;
        first.sigkill();

        hang.store(false, Ordering::SeqCst);
        let second = Server::start(&store);
        wait_until("every event is acknowledged", || acknowledged(&seen).len() == EVENTS).await;
        wait_until("every event is recorded delivered", || delivered_count() == EVENTS).await;
        second.sigterm();
        let seen = seen.lock().unwrap();
        for id in &delivered_first {
            assert_eq!(seen[id], [200], "{backend:?}: event {id}, delivered before the kill, was not sent again");
        }
        for (id, statuses) in seen.iter() {
            assert_eq!(
                statuses.iter().filter(|s| **s == 200).count(),
                1,
                "{backend:?}: event {id} was acknowledged once: {statuses:?}"
            );
        }
        assert!(seen.values().any(|s| s.contains(&0)), "{backend:?}: some attempts were cut by the kill");
    }
}

fn kosh_fails(args: &[&str], message: &str) {
    let out = command(args).output().expect("run kosh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "expected a refusal: {stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_callbacks_are_set_shown_and_unset_by_the_cli() {
    for backend in BACKENDS {
        let store = store_flags(backend).await;
        let all = |args: &[&str]| -> Vec<String> { args.iter().map(|a| a.to_string()).chain(store.iter().cloned()).collect() };
        let run = |args: &[&str]| kosh_ok(&all(args).iter().map(String::as_str).collect::<Vec<_>>());
        let fails = |args: &[&str], message: &str| kosh_fails(&all(args).iter().map(String::as_str).collect::<Vec<_>>(), message);
        run(&["partner", "create", "--name", "acme"]);
        let set =
            ["partner", "callbacks", "set", "--partner", "acme", "--kind", "token_ack", "--url", "https://acme.example/ack"];
        let basic = ["--basic-user", "eko", "--basic-password", "pa55", "--header", "X-Env: test-api-key"];
        run(&[&set[..], &basic[..]].concat());
        let shown = run(&["partner", "callbacks", "show", "--partner", "acme"]);
        assert!(shown.contains("token_ack: https://acme.example/ack (Basic eko:***)"), "{backend:?}: {shown}");
        assert!(shown.contains("header X-Env: ***") && shown.contains("tx_status: (not set)"), "{shown}");
        assert!(!shown.contains("pa55"), "the password is never shown");
        assert!(!shown.contains("test-api-key"), "header values (API keys) are never shown: {shown}");
        let signing = run(&["partner", "callbacks", "signing", "--partner", "acme", "--on"]);
        assert!(signing.starts_with("signing_secret: whsec_"), "{signing}");
        assert!(run(&["partner", "callbacks", "show", "--partner", "acme"]).contains("signing: on"));
        // The CMS debit-hook (asked before an agent's wallet is debited) is a kind of its own.
        run(&[
            "partner",
            "callbacks",
            "set",
            "--partner",
            "acme",
            "--kind",
            "cms_debit_hook",
            "--url",
            "https://acme.example/cms",
        ]);
        let shown = run(&["partner", "callbacks", "show", "--partner", "acme"]);
        assert!(shown.contains("cms_debit_hook: https://acme.example/cms"), "{backend:?}: {shown}");
        run(&["partner", "callbacks", "unset", "--partner", "acme", "--kind", "token_ack"]);
        assert!(run(&["partner", "callbacks", "show", "--partner", "acme"]).contains("token_ack: (not set)"));

        let set_tx_status = |extra: &[&str], message: &str| {
            let base = ["partner", "callbacks", "set", "--partner", "acme", "--kind", "tx_status", "--url"];
            fails(&[&base[..], extra].concat(), message);
        };
        fails(
            &["partner", "callbacks", "set", "--partner", "acme", "--kind", "status", "--url", "https://x.example"],
            "unknown callback kind",
        );
        set_tx_status(&["ftp://x"], "must start with http:// or https://");
        set_tx_status(&["https://x.example", "--basic-user", "u"], "both the Basic user and the Basic password");
        set_tx_status(&["https://x.example", "--header", "Authorization: x"], "set by Kosh itself");
        fails(&["callbacks", "replay", "999"], "not found");
        let queued = run(&["callbacks", "send-test", "--partner", "acme"]);
        let id = queued.trim().rsplit(' ').next().unwrap().to_owned();
        let shown = run(&["callbacks", "show", &id]);
        assert!(shown.contains("kind: eko.tx_status") && shown.contains("state: pending"), "{backend:?}: {shown}");
        fails(&["callbacks", "replay", &id], "still queued");
    }
}

#[test]
fn bench_callbacks_delivers_every_event_and_reports_throughput() {
    // The 200 deliveries end the run, not the default 10 s duration, which a busy machine
    // may exceed; the duration only bounds a failure.
    let args = ["bench", "--scenario", "callbacks", "--events", "200", "--connections", "16", "--receiver-delay-ms", "5"];
    let out = command(&[&args[..], &["--duration-secs", "600"]].concat()).output().expect("run kosh bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("callbacks    200 delivered"), "{stdout}");
    assert!(stdout.contains("deliveries/s"), "{stdout}");
}
