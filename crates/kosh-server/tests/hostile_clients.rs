//! Under hostile clients on 127.0.0.1: slow heads, slow bodies and idle connections are
//! closed by their timeouts, the connection cap holds new connections until one closes,
//! the listen queue is the configured one, and junk methods and paths cannot crowd real
//! routes out of /metrics. Timeouts are short here and every wait is for a stated
//! condition with a bounded deadline; no assertion is about how long anything took.
//! Nothing here depends on the store's backend, so these run on SQLite only.

#[allow(unused_macros)] // the both-backends macro: these tests need one backend
mod eko_support;

use eko_support::Backend;
use kosh_server::config::Config;
use kosh_server::App;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough never to fire during a test.
const NEVER: u64 = 3_600;
/// How long a test waits for the server to close a connection before failing.
const DEADLINE: Duration = Duration::from_secs(60);

async fn start(configure: impl FnOnce(&mut Config)) -> App {
    eko_support::start(Backend::Sqlite, |c| {
        c.http_header_timeout_secs = NEVER;
        c.http_body_timeout_secs = NEVER;
        c.http_idle_timeout_secs = NEVER;
        configure(c);
    })
    .await
}

/// Whether the server closed `stream` (end of stream or an error) within `wait`; bytes
/// it sends are collected into `answer`.
async fn closed_within(stream: &mut TcpStream, wait: Duration, answer: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => {
            answer.extend_from_slice(&buf[..n]);
            false
        }
        Err(_) => false,
    }
}

/// Sends `bytes` one at a time until the server closes the connection; fails after [`DEADLINE`].
async fn trickle_until_closed(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    for byte in bytes.iter().cycle() {
        assert!(started.elapsed() < DEADLINE, "the server never closed a connection trickling one byte at a time");
        if stream.write_all(&[*byte]).await.is_err() || closed_within(stream, Duration::from_millis(200), &mut answer).await {
            return answer;
        }
    }
    unreachable!("cycle never ends")
}

async fn wait_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let started = tokio::time::Instant::now();
    while started.elapsed() < DEADLINE {
        if closed_within(stream, Duration::from_millis(200), &mut answer).await {
            return answer;
        }
    }
    panic!("the server did not close the connection within {DEADLINE:?}");
}

async fn connect(app: &App) -> TcpStream {
    TcpStream::connect(app.addr).await.expect("connect to the server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_sent_one_byte_at_a_time_is_closed_by_the_header_timeout() {
    let app = start(|c| c.http_header_timeout_secs = 1).await;
    let mut slow = connect(&app).await;
    // A head that never ends: header lines, one byte at a time.
    let answer = trickle_until_closed(&mut slow, b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").await;
    assert!(answer.is_empty(), "nothing is answered to an unfinished head: {:?}", String::from_utf8_lossy(&answer));
    let health = reqwest::get(format!("{}/healthz", app.url())).await.expect("a real request answers");
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_by_the_idle_timeout() {
    let app = start(|c| c.http_idle_timeout_secs = 1).await;
    // Silent from the start.
    let mut silent = connect(&app).await;
    wait_until_closed(&mut silent).await;
    // Silent after one request on a keep-alive connection.
    let mut kept = connect(&app).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: kosh\r\n\r\n").await.unwrap();
    let answer = wait_until_closed(&mut kept).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "the request was answered before the idle close: {text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_slowly_is_refused_with_408_by_the_body_timeout() {
    let app = start(|c| c.http_body_timeout_secs = 1).await;
    let mut slow = connect(&app).await;
    let head =
        "POST /v2/aeps/api/intents HTTP/1.1\r\nHost: kosh\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n";
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = trickle_until_closed(&mut slow, b"{\"session\":\"").await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.to_ascii_lowercase().contains("content-type: application/json"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let body: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(body["status"], 408, "the Eko envelope of the gateway API: {body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_until_one_closes() {
    let logs = captured_warnings();
    let app = start(|c| c.http_max_connections = 2).await;
    let mut held = [connect(&app).await, connect(&app).await];
    // Both slots are taken once each connection has been served a request.
    for stream in &mut held {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: kosh\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut buf)).await.expect("answered").unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
    let mut waiting = connect(&app).await; // the kernel completes the handshake; Kosh does not accept yet
    waiting.write_all(b"GET /healthz HTTP/1.1\r\nHost: kosh\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut early = Vec::new();
    assert!(!closed_within(&mut waiting, Duration::from_millis(500), &mut early).await);
    assert!(early.is_empty(), "a third connection is not served while two are open");
    wait_for_log(&logs, "connection cap reached: 2 connections are open").await;
    drop(held);
    let answer = wait_until_closed(&mut waiting).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "served once a slot freed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_requests_answer_while_slow_and_idle_clients_hold_every_slot() {
    let app = start(|c| {
        c.http_max_connections = 6;
        c.http_header_timeout_secs = 1;
        c.http_idle_timeout_secs = 1;
    })
    .await;
    let mut hostile = Vec::new();
    for i in 0..6 {
        let mut stream = connect(&app).await;
        if i % 2 == 0 {
            stream.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: a").await.unwrap();
        }
        hostile.push(stream);
    }
    let http = reqwest::Client::builder().timeout(DEADLINE).build().unwrap();
    for _ in 0..10 {
        let health = http.get(format!("{}/healthz", app.url())).send().await.expect("a real request answers");
        assert_eq!(health.status(), 200);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listen_queue_is_the_configured_one() {
    let app = start(|c| c.http_listen_backlog = 1000).await;
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn").map_or(4096, |s| s.trim().parse().unwrap());
    let out = std::process::Command::new("ss").args(["-ltnH", &format!("sport = :{}", app.addr.port())]).output();
    let Ok(out) = out else {
        eprintln!("ss is not installed; the listen queue is not checked");
        return app.stop().await;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // For a listening socket, ss shows the queue's length as Send-Q (the third column).
    let queue: u32 = text.split_whitespace().nth(2).and_then(|q| q.parse().ok()).unwrap_or_else(|| panic!("ss: {text}"));
    assert_eq!(queue, 1000.min(somaxconn), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_methods_and_paths_cannot_crowd_real_routes_out_of_metrics() {
    let app = start(|_| {}).await;
    let http = reqwest::Client::new();
    for i in 0..3_000 {
        let method = reqwest::Method::from_bytes(format!("JUNK{i}").as_bytes()).unwrap();
        let res = http.request(method, format!("{}/junk/{i}", app.url())).send().await.expect("answered");
        assert!(res.status().is_client_error());
    }
    let res = http.request(reqwest::Method::from_bytes(b"BREW").unwrap(), format!("{}/healthz", app.url())).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(http.get(format!("{}/healthz", app.url())).send().await.unwrap().status(), 200);
    let text = http.get(format!("{}/metrics", app.url())).send().await.unwrap().text().await.unwrap();
    let real = r#"kosh_http_requests_total{method="GET",route="/healthz",status="200"} 1"#;
    assert!(text.contains(real), "missing {real} in\n{text}");
    let junk = r#"kosh_http_requests_total{method="other",route="unmatched",status="404"} 3000"#;
    assert!(text.contains(junk), "missing {junk} in\n{text}");
    assert!(text.contains(r#"kosh_http_requests_total{method="other",route="/healthz",status="405"} 1"#), "{text}");
    app.stop().await;
}

#[test]
fn http_limits_are_validated() {
    let bad = [
        Config { http_header_timeout_secs: 0, ..Config::default() },
        Config { http_body_timeout_secs: 3_601, ..Config::default() },
        Config { http_idle_timeout_secs: 0, ..Config::default() },
        Config { http_max_connections: 0, ..Config::default() },
        Config { http_listen_backlog: 0, ..Config::default() },
        Config { http_listen_backlog: 65_536, ..Config::default() },
    ];
    for config in bad {
        assert!(config.validate().is_err(), "{config:?}");
    }
    assert!(Config::default().validate().is_ok());
}

/// Warnings logged through `tracing` in this test binary (the servers run in it).
fn captured_warnings() -> Arc<Mutex<Vec<u8>>> {
    eko_support::captured_logs(tracing_subscriber::filter::LevelFilter::WARN)
}

async fn wait_for_log(logs: &Mutex<Vec<u8>>, text: &str) {
    let started = tokio::time::Instant::now();
    while started.elapsed() < DEADLINE {
        if String::from_utf8_lossy(&logs.lock().expect("log buffer")).contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing logged {text:?} within {DEADLINE:?}");
}
