//! Operations: health, metrics, graceful shutdown and configuration, on both backends.

use kosh_core::clock::SystemClock;
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::config::{Config, HashStrictness};
use kosh_server::App;
use kosh_testkit::{Backend, BACKENDS};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

async fn config_for(backend: Backend) -> Config {
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    match backend {
        Backend::Sqlite => config.data_dir = kosh_testkit::scratch_dir(),
        Backend::Postgres => config.database_url = Some(kosh_testkit::fresh_database().await.into()),
    }
    config
}

async fn start(backend: Backend) -> App {
    App::start(config_for(backend).await, Arc::new(SystemClock)).await.expect("start kosh")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_store() {
    for backend in BACKENDS {
        let app = start(backend).await;
        let res = reqwest::get(format!("{}/healthz", app.url())).await.unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        let expected = if backend == Backend::Sqlite { "sqlite:" } else { "postgres:" };
        assert!(body["store"].as_str().unwrap().starts_with(expected), "{body}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_the_ledger() {
    for backend in BACKENDS {
        let app = start(backend).await;
        let client = Client::new(format!("{}/ekoapi/v1", app.url()), Credentials::sandbox());
        for _ in 0..3 {
            let answer = client.get("/user/services/user_code:20810200", &[]).await.unwrap();
            assert_eq!(answer.status, 200);
        }
        let text = reqwest::get(format!("{}/metrics", app.url())).await.unwrap().text().await.unwrap();
        let line = r#"kosh_http_requests_total{method="GET",route="/ekoapi/v1/user/services/{user_code}",status="200"} 3"#;
        assert!(text.contains(line), "{backend:?}: missing {line} in\n{text}");
        assert!(text.contains(r#"kosh_http_request_duration_seconds_count{route="/ekoapi/v1/user/services/{user_code}"} 3"#));
        // The sandbox seed posted the opening balance.
        assert!(text.contains("kosh_ledger_entries_posted_total 1"), "{text}");
        assert!(text.contains("kosh_store_batch_size_count"));
        app.stop().await;
    }
}

/// A request whose body is still arriving when shutdown starts is answered in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_requests_finish() {
    for backend in BACKENDS {
        let app = start(backend).await;
        let addr = app.addr;
        let headers = Credentials::sandbox().sign(SystemClock.now_ms_for_test());
        let body = "initiator_id=9962981729";
        let head = format!(
            "GET /ekoapi/v1/user/services/user_code:20810200 HTTP/1.1\r\nhost: {addr}\r\ndeveloper_key: {}\r\nsecret-key: {}\r\n\
             secret-key-timestamp: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            headers.developer_key,
            headers.secret_key,
            headers.secret_key_timestamp,
            body.len()
        );
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body.as_bytes()[..5]).unwrap();
        stream.flush().unwrap();
        // The request is in flight once the server has read every byte sent so far.
        let client = stream.local_addr().unwrap();
        wait_until("the server read the request's head", || unread_by_server(addr, client) == Some(0)).await;
        let stopping = tokio::spawn(app.stop());
        // Shutdown has begun once the listener is closed; it must then wait for the request.
        wait_until("the server stopped accepting connections", || std::net::TcpStream::connect(addr).is_err()).await;
        assert!(!stopping.is_finished(), "{backend:?}: shutdown must wait for the in-flight request");
        stream.write_all(&body.as_bytes()[5..]).unwrap();
        let mut response = String::new();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{backend:?}: {response}");
        assert!(response.contains("\"service_status_list\""), "{response}");
        tokio::time::timeout(WAIT, stopping).await.expect("shutdown finishes").unwrap();
        assert!(std::net::TcpStream::connect(addr).is_err(), "no new connections after shutdown");
    }
}

/// How long a test waits for a stated condition before it fails: generous, since it only
/// bounds a failure and a busy machine may be slow.
const WAIT: Duration = Duration::from_secs(60);

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out after {WAIT:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The bytes `client` sent that the server at `server` has not read yet, from the
/// kernel's table of TCP sockets (`rx_queue` of the server's end, `/proc/net/tcp`);
/// `None` while the server's end is not in the table.
fn unread_by_server(server: std::net::SocketAddr, client: std::net::SocketAddr) -> Option<u64> {
    let hex = |a: std::net::SocketAddr| match a.ip() {
        std::net::IpAddr::V4(ip) => format!("{:08X}:{:04X}", u32::from_le_bytes(ip.octets()), a.port()),
        std::net::IpAddr::V6(_) => unreachable!("the tests listen on 127.0.0.1"),
    };
    let (local, remote) = (hex(server), hex(client));
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let queues = (fields.get(1) == Some(&local.as_str()) && fields.get(2) == Some(&remote.as_str())).then(|| fields[4])?;
        u64::from_str_radix(queues.split(':').nth(1)?, 16).ok()
    })
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}

impl NowForTest for SystemClock {
    fn now_ms_for_test(&self) -> i64 {
        kosh_core::clock::Clock::now_ms(self)
    }
}

#[test]
fn config_file_overrides_defaults_and_rejects_unknown_keys() {
    let dir = kosh_testkit::scratch_dir();
    let path = dir.join("kosh.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9999\"\nrequest_hash = \"warn\"\ntimestamp_tolerance_secs = 60\nsandbox = false\n",
    )
    .unwrap();
    let config = Config::from_file(Some(&path)).unwrap();
    assert_eq!(config.listen.port(), 9999);
    assert_eq!(config.request_hash, HashStrictness::Warn);
    assert_eq!(config.timestamp_tolerance_secs, 60);
    assert!(!config.sandbox);
    assert_eq!(config.max_body_bytes, Config::default().max_body_bytes, "unset keys keep their defaults");

    std::fs::write(&path, "listne = \"127.0.0.1:9999\"\n").unwrap();
    let err = Config::from_file(Some(&path)).unwrap_err().to_string();
    assert!(err.contains("listne"), "a typo is named: {err}");
    assert!(Config::from_file(Some(&dir.join("missing.toml"))).is_err());
}

#[test]
fn config_limits_are_validated() {
    let ok = Config::default();
    assert!(ok.validate().is_ok());
    let cases = [
        Config { timestamp_tolerance_secs: 0, ..Config::default() },
        Config { max_body_bytes: 10, ..Config::default() },
        Config { otp_ttl_secs: 5, ..Config::default() },
        Config { admin_token: Some("short".into()), ..Config::default() },
        Config { database_url: Some("mysql://x".into()), ..Config::default() },
        Config { sandbox_wallet_rupees: -1, ..Config::default() },
        Config { echelon_token_pepper: Some("short".into()), ..Config::default() },
        Config { callbacks_attempts_retention_days: 0, ..Config::default() },
        Config { callbacks_attempts_retention_days: 3_651, ..Config::default() },
        Config { aeps_aadhaar_pepper: Some("x".repeat(31).into()), ..Config::default() },
        Config { echelon_worker_tick_ms: 5, ..Config::default() },
    ];
    for bad in cases {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    let no_payment_worker = Config { echelon_worker_tick_ms: 0, ..Config::default() };
    assert!(no_payment_worker.validate().is_ok(), "0 turns the node's Echelon payment worker off");
}

/// Outside sandbox mode the documented default pepper would let anyone who reads the
/// database mint Echelon tokens: a server refuses to start without its own pepper.
/// Admin commands (which never sign tokens) do not need it.
#[test]
fn a_pepper_is_required_outside_sandbox_mode() {
    let production = Config { sandbox: false, ..Config::default() };
    let err = production.validate().unwrap_err().to_string();
    assert!(err.contains("echelon_token_pepper is required when sandbox = false"), "{err}");
    assert!(production.validate_for_admin().is_ok(), "admin commands do not sign tokens");
    let with_pepper = Config {
        echelon_token_pepper: Some("p".repeat(32).into()),
        aeps_aadhaar_pepper: Some("k".repeat(32).into()),
        ..production.clone()
    };
    assert!(with_pepper.validate().is_ok());
    assert!(Config::default().validate().is_ok(), "sandbox mode keeps the documented default");
    assert!(Config { database_url: Some("mysql://x".into()), ..production }.validate_for_admin().is_err(), "other checks stay");
}

#[test]
fn the_aadhaar_hash_key_comes_from_configuration_and_is_required_outside_sandbox() {
    let sandbox = Config::default();
    assert_eq!(sandbox.aadhaar_pepper(), Some(kosh_server::config::SANDBOX_AADHAAR_PEPPER), "sandbox: the public default");
    assert!(sandbox.validate().is_ok());
    let production = Config { sandbox: false, echelon_token_pepper: Some("p".repeat(32).into()), ..Config::default() };
    assert_eq!(production.aadhaar_pepper(), None);
    assert!(production.validate_for_admin().is_ok(), "admin commands do not need the key");
    let err = production.validate().unwrap_err().to_string();
    assert!(
        err.contains("aeps_aadhaar_pepper is required outside sandbox mode") && err.contains("KOSH_AEPS_AADHAAR_PEPPER"),
        "{err}"
    );
    let key = "k".repeat(32);
    let configured = Config { aeps_aadhaar_pepper: Some(key.clone().into()), ..production };
    assert!(configured.validate().is_ok());
    assert_eq!(configured.aadhaar_pepper(), Some(key.as_str()));
    let short = Config { aeps_aadhaar_pepper: Some("k".repeat(31).into()), ..Config::default() };
    assert!(short.validate().unwrap_err().to_string().contains("at least 32 characters"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_credentials_exist_out_of_the_box_and_only_in_sandbox_mode() {
    for backend in BACKENDS {
        let app = start(backend).await;
        let client = Client::new(format!("{}/ekoapi/v2", app.url()), Credentials::sandbox());
        let answer = client.get("/user/services/user_code:20810200", &[]).await.unwrap();
        assert_eq!(answer.body["status"], 0, "{backend:?}: {}", answer.body);
        let active = answer.body["data"]["service_status_list"].as_array().unwrap();
        assert_eq!(active.len(), kosh_core::services::SERVICES.len());
        assert!(active.iter().all(|s| s["status"] == 1));
        app.stop().await;

        let mut production = config_for(backend).await;
        production.sandbox = false;
        production.echelon_token_pepper = Some("a-test-pepper-of-at-least-32-characters".into());
        let refused = App::start(production.clone(), Arc::new(SystemClock)).await.err().expect("no Aadhaar key: refused");
        assert!(refused.to_string().contains("aeps_aadhaar_pepper is required outside sandbox mode"), "{refused}");
        production.aeps_aadhaar_pepper = Some("production-aadhaar-pepper-0123456789".into());
        let app = App::start(production, Arc::new(SystemClock)).await.unwrap();
        let client = Client::new(format!("{}/ekoapi/v1", app.url()), Credentials::sandbox());
        let answer = client.get("/user/services/user_code:20810200", &[]).await.unwrap();
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body["message"], "Kindly use your production key");
        app.stop().await;
    }
}
