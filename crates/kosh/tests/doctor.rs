//! `kosh doctor`, run as a partner runs it, against local receivers on 127.0.0.1: a
//! correct one (kosh-sdk's reference AePS callback, small correct Token and status
//! receivers) passes every check; deliberately broken ones fail with the failure named
//! and its fix; and against a running `kosh serve`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use kosh_core::signing;
use kosh_sdk::aeps_callback::{AepsCallback, CallbackConfig};
use kosh_sdk::eko::Credentials;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KOSH: &str = env!("CARGO_BIN_EXE_kosh");
const AK: &str = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30";
const DK: &str = "becbbce45f79c6f5109f848acd540567";
const ORIGIN: &str = "http://gateway.test";
/// How long a test waits for a stated condition before it fails.
const WAIT: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts every check passed.
    fn passed(&self) {
        assert_eq!(self.code, 0, "expected every check to pass:\n{}{}", self.stdout, self.stderr);
        assert!(!self.stdout.contains("FAIL"), "{}", self.stdout);
        assert!(self.stdout.contains("checks passed"), "{}", self.stdout);
    }

    /// Asserts the checkup failed, with a FAIL line containing every part of `words` and a fix.
    fn failed_with(&self, words: &[&str]) {
        assert_eq!(self.code, 1, "expected a failed checkup:\n{}{}", self.stdout, self.stderr);
        let line = self.stdout.lines().find(|l| l.starts_with("FAIL ") && words.iter().all(|w| l.contains(w)));
        let line = line.unwrap_or_else(|| panic!("no FAIL line with {words:?} in:\n{}", self.stdout));
        assert!(line.contains(". Fix: "), "a failure names its fix: {line}");
        assert!(self.stderr.contains("checks failed"), "{}", self.stderr);
    }

    fn ok_line(&self, words: &[&str]) {
        let found = self.stdout.lines().any(|l| l.starts_with("ok ") && words.iter().all(|w| l.contains(w)));
        assert!(found, "no ok line with {words:?} in:\n{}", self.stdout);
    }
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(KOSH);
    cmd.args(args);
    for name in
        ["KOSH_ACCESS_KEY", "KOSH_CALLBACK_BASIC_PASSWORD", "KOSH_CONFIG", "KOSH_DATA_DIR", "KOSH_DATABASE_URL", "KOSH_LISTEN"]
    {
        cmd.env_remove(name);
    }
    cmd
}

/// Runs `kosh` off the runtime's threads, so the receivers in this process keep answering.
async fn kosh(args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        command(&args).stdin(Stdio::null()).output().expect("run kosh")
    })
    .await
    .expect("the kosh run finished");
    Run {
        code: out.status.code().expect("kosh exited, not killed"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the receiver serves") });
    url
}

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

async fn debit_hook(url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["doctor", "callback", url, "--kind", "debit-hook", "--origin", ORIGIN];
    args.extend_from_slice(extra);
    kosh(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_aeps_callback_passes_every_check() {
    let callback = AepsCallback::new(CallbackConfig::new(Credentials::sandbox(), ORIGIN));
    let url = serve(callback.router("/eko_aeps_callback")).await + "/eko_aeps_callback";
    let run = debit_hook(&url, &["--access-key", AK, "--developer-key", DK]).await;
    run.passed();
    for words in [
        &["CORS preflight", "204"][..],
        &["preflight Access-Control-Allow-Origin", ORIGIN],
        &["Access-Control-Allow-Headers", "Content-Type"],
        &["debit-hook CORS"],
        &["debit-hook answer", "allow\":true"],
        &["secret_key:"],
        &["request_hash", "timestamp + customer_id + amount + user_code"],
        &["eko-response", "HTTP 200"],
    ] {
        run.ok_line(words);
    }
    assert_eq!(callback.transactions().len(), 1, "the sample debit-hook reached the callback");
    assert_eq!(callback.responses().len(), 1, "and its eko-response");
    assert!(callback.transactions()[0].client_ref_id.starts_with("DOCTOR"));

    let unverified = debit_hook(&url, &[]).await;
    unverified.passed();
    assert!(unverified.stdout.contains("skip secret_key, request_hash: pass --access-key"), "{}", unverified.stdout);
}

/// How a broken debit-hook receiver misbehaves.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// No CORS at all: OPTIONS is not routed (405), no Access-Control-* headers.
    NoCors,
    /// CORS for another origin.
    WrongOrigin,
    /// The preflight passes but Content-Type is not allowed.
    NoAllowHeaders,
    Status500,
    NotJson,
    WrongShape,
    HashWithDeveloperKey,
    HashInWrongOrder,
    HashOverSeconds,
    SecretKeyWithDeveloperKey,
    TimestampInSeconds,
}

fn cors(fault: Fault, response: &mut Response, preflight: bool) {
    let origin = match fault {
        Fault::NoCors => return,
        Fault::WrongOrigin => "https://elsewhere.example",
        _ => ORIGIN,
    };
    let h = response.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static(origin));
    if preflight {
        h.insert("access-control-allow-methods", HeaderValue::from_static("POST, OPTIONS"));
        if !matches!(fault, Fault::NoAllowHeaders) {
            h.insert("access-control-allow-headers", HeaderValue::from_static("Content-Type"));
        }
    }
}

fn confirmation(fault: Fault, detail: &Value) -> Value {
    let ts = now_ms().to_string();
    let data = &detail["data"];
    let field = |n: &str| data[n].as_str().unwrap_or_default().to_owned();
    let (c, a, u) = (field("customer_id"), field("amount"), field("user_code"));
    let mut fields = vec![c.as_str(), a.as_str(), u.as_str()];
    let (mut hash_key, mut hash_ts, mut sk_key, mut sent_ts) = (AK, ts.clone(), AK, ts.clone());
    match fault {
        Fault::HashWithDeveloperKey => hash_key = DK,
        Fault::HashInWrongOrder => fields.swap(0, 1),
        Fault::HashOverSeconds => hash_ts = (now_ms() / 1000).to_string(),
        Fault::SecretKeyWithDeveloperKey => sk_key = DK,
        Fault::TimestampInSeconds => {
            sent_ts = (now_ms() / 1000).to_string();
            hash_ts = sent_ts.clone();
        }
        _ => {}
    }
    let sk_ts = if matches!(fault, Fault::TimestampInSeconds) { sent_ts.clone() } else { ts.clone() };
    json!({ "action": "go", "allow": true, "secret_key_timestamp": sent_ts, "secret_key": signing::secret_key(sk_key, &sk_ts),
            "request_hash": signing::request_hash(hash_key, &hash_ts, &fields) })
}

async fn broken(State(fault): State<Fault>, method: Method, body: Bytes) -> Response {
    if method == Method::OPTIONS {
        if matches!(fault, Fault::NoCors) {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        cors(fault, &mut response, true);
        return response;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut response = match (fault, body["action"].as_str()) {
        (_, Some("eko-response")) => axum::Json(json!({ "status": "ok" })).into_response(),
        (Fault::Status500, _) => (StatusCode::INTERNAL_SERVER_ERROR, "database down").into_response(),
        (Fault::NotJson, _) => "OK".into_response(),
        (Fault::WrongShape, _) => axum::Json(json!({ "status": "ok" })).into_response(),
        _ => axum::Json(confirmation(fault, &body["detail"])).into_response(),
    };
    cors(fault, &mut response, false);
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_debit_hooks_are_named_with_their_fix() {
    let cases: [(Fault, &[&str]); 11] = [
        (Fault::NoCors, &["CORS preflight", "HTTP 405", "Connection to callback server failed"]),
        (Fault::WrongOrigin, &["Access-Control-Allow-Origin: it is \"https://elsewhere.example\"", "not the page's origin"]),
        (Fault::NoAllowHeaders, &["Access-Control-Allow-Headers", "does not allow Content-Type"]),
        (Fault::Status500, &["debit-hook answer", "HTTP 500", "database down"]),
        (Fault::NotJson, &["debit-hook answer", "not JSON", "Transaction verification timeout"]),
        (Fault::WrongShape, &["not a debit-hook answer", "(Status = 200 OK)"]),
        (Fault::HashWithDeveloperKey, &["request_hash", "computed with the developer_key"]),
        (Fault::HashInWrongOrder, &["request_hash", "over timestamp + amount + customer_id + user_code"]),
        (Fault::HashOverSeconds, &["request_hash", "timestamp in seconds"]),
        (Fault::SecretKeyWithDeveloperKey, &["secret_key", "not the developer_key"]),
        (Fault::TimestampInSeconds, &["secret_key_timestamp", "looks like seconds"]),
    ];
    for (fault, words) in cases {
        let url = serve(Router::new().route("/cb", any(broken)).with_state(fault)).await + "/cb";
        let run = debit_hook(&url, &["--access-key", AK, "--developer-key", DK]).await;
        println!("{fault:?}:\n{}", run.stdout);
        run.failed_with(words);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let run = debit_hook(&url, &["--timeout-secs", "1"]).await;
    run.ok_line(&["reachable"]);
    run.failed_with(&["CORS preflight", "no complete answer within 1 s", "gateway_callback_timeout_secs"]);
    let run = kosh(&["doctor", "callback", &url, "--kind", "tx-status", "--timeout-secs", "1"]).await;
    run.failed_with(&["status callback", "no complete answer within 1 s"]);
    let run = kosh(&["doctor", "server", &url, "--timeout-secs", "1"]).await;
    run.failed_with(&["version", "no complete answer within 1 s"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_callback_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    drop(listener);
    let run = kosh(&["doctor", "callback", &url, "--kind", "token-ack"]).await;
    run.failed_with(&["reachable", "refused"]);
    let hosted = kosh(&["doctor", "callback", "http://partner.invalid/cb", "--kind", "debit-hook", "--timeout-secs", "2"]).await;
    hosted.failed_with(&["https", "mixed content"]);
}

/// An `https://` receiver with the self-signed certificate of kosh-server's test data.
async fn self_signed_receiver() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{crypto::ring, ServerConfig};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("../../kosh-server/tests/data/self-signed-cert.pem"))
            .collect::<Result<_, _>>()
            .expect("the test certificate parses");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../../kosh-server/tests/data/self-signed-key.pem")).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await;
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_named() {
    let url = self_signed_receiver().await;
    for kind in ["debit-hook", "tx-status"] {
        let run = kosh(&["doctor", "callback", &url, "--kind", kind, "--origin", ORIGIN]).await;
        run.ok_line(&["reachable"]);
        run.failed_with(&["TLS", "self-signed", "UnknownIssuer"]);
        assert!(run.stdout.contains("public certificate authority"), "{}", run.stdout);
    }
}

/// The Token receivers: Fetch Details knows `T-1`; both want `kosh:pw` unless `open`.
#[derive(Clone, Copy)]
struct TokenPartner {
    open: bool,
    bad_amount: bool,
}

fn authorised(headers: &HeaderMap) -> bool {
    // base64("kosh:pw")
    headers.get("authorization").is_some_and(|v| v == "Basic a29zaDpwdw==")
}

async fn token_fetch(State(p): State<TokenPartner>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    if !p.open && !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !uri.query().unwrap_or_default().contains("client_ref_id=T-1") {
        return axum::Json(json!({ "status": 1, "response_code_desc": "Details not found" })).into_response();
    }
    let amount = if p.bad_amount { "15,00" } else { "1500.00" };
    axum::Json(json!({ "status": 0, "data": { "amount": amount, "customer_name": "Asha", "customer_mobile": "9400000000" } }))
        .into_response()
}

async fn token_ack(State(p): State<TokenPartner>, headers: HeaderMap, body: Bytes) -> Response {
    if !p.open && !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert!(body["token"].is_string() && body["tid"].is_string(), "Kosh's acknowledgement body: {body}");
    axum::Json(json!({ "status": 0, "data": { "partner_tid": "P-1" } })).into_response()
}

async fn token_partner(p: TokenPartner) -> String {
    let router = Router::new().route("/fetch", any(token_fetch)).route("/ack", post(token_ack)).with_state(p);
    serve(router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoints_are_checked_with_basic_auth() {
    let base = token_partner(TokenPartner { open: false, bad_amount: false }).await;
    let (fetch, ack) = (format!("{base}/fetch"), format!("{base}/ack"));
    let basic = ["--basic-user", "kosh", "--basic-password", "pw"];
    let with = |url: &str, kind: &str, extra: &[&str]| {
        let mut args = vec!["doctor".to_owned(), "callback".into(), url.to_owned(), "--kind".into(), kind.into()];
        args.extend(basic.iter().chain(extra).map(|a| (*a).to_owned()));
        args
    };
    let run = |args: Vec<String>| async move { kosh(&args.iter().map(String::as_str).collect::<Vec<_>>()).await };

    let good = run(with(&fetch, "token-fetch", &["--client-ref-id", "T-1"])).await;
    good.passed();
    good.ok_line(&["Fetch Details data", "amount 1500.00", "Asha", "9400000000"]);
    good.ok_line(&["Fetch Details without credentials", "refused (HTTP 401)"]);
    let sample = run(with(&fetch, "token-fetch", &[])).await;
    sample.passed();
    sample.ok_line(&["status 1", "Details not found", "DOCTOR"]);
    let acked = run(with(&ack, "token-ack", &[])).await;
    acked.passed();
    acked.ok_line(&["Acknowledgement answer", "partner_tid \"P-1\""]);

    let wrong =
        kosh(&["doctor", "callback", &ack, "--kind", "token-ack", "--basic-user", "kosh", "--basic-password", "nope"]).await;
    wrong.failed_with(&["Acknowledgement", "HTTP 401", "refused the credentials"]);
    let none = kosh(&["doctor", "callback", &fetch, "--kind", "token-fetch"]).await;
    none.failed_with(&["Fetch Details", "HTTP 401", "none were given"]);

    let open = token_partner(TokenPartner { open: true, bad_amount: true }).await;
    let anonymous = run(with(&format!("{open}/fetch"), "token-fetch", &["--client-ref-id", "T-1"])).await;
    anonymous.failed_with(&["Fetch Details data", "\"15,00\" is not a positive rupee amount"]);
    anonymous.failed_with(&["Fetch Details without credentials", "without Basic credentials"]);
    let anonymous_ack = run(with(&format!("{open}/ack"), "token-ack", &[])).await;
    anonymous_ack.failed_with(&["Acknowledgement without credentials", "mark your tokens paid"]);
}

async fn status_receiver(State(status): State<u16>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).expect("a JSON status callback");
    assert_eq!((body["tx_status"].as_i64(), body["old_tx_status"].as_i64()), (Some(0), Some(2)), "{body}");
    (StatusCode::from_u16(status).unwrap(), "ok").into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_callbacks_must_answer_200() {
    for (status, words) in [(200, None), (204, Some(&["HTTP 204", "only 200"][..])), (500, Some(&["HTTP 500"][..]))] {
        let url = serve(Router::new().route("/status", post(status_receiver)).with_state(status)).await + "/status";
        let run = kosh(&["doctor", "callback", &url, "--kind", "tx-status"]).await;
        match words {
            None => run.passed(),
            Some(words) => run.failed_with(words),
        }
    }
}

async fn sign(extra: &[&str], headers: &[(&str, String)]) -> Run {
    let curl: String = std::iter::once("curl 'http://127.0.0.1:8080/ekoapi/v2/aeps' \\\n".to_owned())
        .chain(headers.iter().map(|(n, v)| format!("  -H '{n}: {v}' \\\n")))
        .chain(std::iter::once("  -d 'amount=100'".to_owned()))
        .collect();
    let mut args = vec!["doctor", "sign", "--access-key", AK, "--curl", &curl];
    args.extend_from_slice(extra);
    kosh(&args).await
}

fn headers(ts: &str, secret_key: String, hash: Option<String>) -> Vec<(&'static str, String)> {
    let mut headers = vec![("developer_key", DK.to_owned()), ("secret-key", secret_key), ("secret-key-timestamp", ts.to_owned())];
    if let Some(hash) = hash {
        headers.push(("request_hash", hash));
    }
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_sign_names_each_signing_mistake() {
    let fields = ["9999999999", "100", "20810200"];
    let hash_fields = ["--developer-key", DK, "--hash-fields", "9999999999,100,20810200"];
    let ts = now_ms().to_string();
    let good = headers(&ts, signing::secret_key(AK, &ts), Some(signing::request_hash(AK, &ts, &fields)));
    let run = sign(&hash_fields, &good).await;
    run.passed();
    run.ok_line(&["request_hash", "matches timestamp + field 1 (\"9999999999\")"]);

    let mut missing = good.clone();
    missing.retain(|(n, _)| *n != "developer_key");
    missing.push(("developer-key", DK.to_owned()));
    sign(&hash_fields, &missing).await.failed_with(&[
        "headers",
        "missing developer_key",
        "rename developer-key to developer_key",
    ]);

    sign(&["--developer-key", "0123456789abcdef0123456789abcdef"], &good[..3])
        .await
        .failed_with(&["developer_key", "is not this partner's developer_key"]);

    let secs = (now_ms() / 1000).to_string();
    sign(&[], &headers(&secs, signing::secret_key(AK, &secs), None))
        .await
        .failed_with(&["secret-key-timestamp", "looks like seconds"]);
    let stale = (now_ms() - 3_600_000).to_string();
    sign(&[], &headers(&stale, signing::secret_key(AK, &stale), None)).await.failed_with(&[
        "secret-key-timestamp",
        "s old",
        "300 s",
    ]);
    let future = (now_ms() + 3_600_000).to_string();
    sign(&[], &headers(&future, signing::secret_key(AK, &future), None))
        .await
        .failed_with(&["secret-key-timestamp", "in the future"]);

    let with_dk = sign(&["--developer-key", DK], &headers(&ts, signing::secret_key(DK, &ts), None)).await;
    with_dk.failed_with(&["secret-key", "not the developer_key"]);
    let over_seconds = sign(&[], &headers(&ts, signing::secret_key(AK, &(now_ms() / 1000).to_string()), None)).await;
    over_seconds.failed_with(&["secret-key", "timestamp in seconds"]);
    sign(&[], &headers(&ts, "not-a-signature".into(), None))
        .await
        .failed_with(&["secret-key", "not a base64-encoded HMAC-SHA256"]);

    let reordered = signing::request_hash(AK, &ts, &["100", "9999999999", "20810200"]);
    let run = sign(&hash_fields, &headers(&ts, signing::secret_key(AK, &ts), Some(reordered))).await;
    run.failed_with(&["request_hash", "timestamp + field 2 (\"100\") + field 1 (\"9999999999\") + field 3"]);
    let hash_dk = signing::request_hash(DK, &ts, &fields);
    let run = sign(&hash_fields, &headers(&ts, signing::secret_key(AK, &ts), Some(hash_dk))).await;
    run.failed_with(&["request_hash", "computed with the developer_key"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_sign_reads_header_lines_from_stdin() {
    let ts = now_ms().to_string();
    let text = format!(
        "> POST /ekoapi/v1/x HTTP/1.1\n> developer_key: {DK}\n> secret-key: {}\n> secret-key-timestamp: {ts}\n",
        signing::secret_key(AK, &ts)
    );
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command(&["doctor", "sign", "--access-key", AK, "--headers", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("ok   secret-key: matches"), "{stdout}");
    assert!(stdout.contains("skip developer_key: pass --developer-key"), "{stdout}");
}

/// A `kosh serve` child on a scratch data dir, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        let dir = kosh_testkit::scratch_dir().display().to_string();
        let mut child = command(&["serve", "--listen", "127.0.0.1:0", "--data-dir", &dir])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kosh serve");
        let stderr = child.stderr.take().unwrap();
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
        let url = rx.recv_timeout(WAIT).expect("kosh serve printed its address");
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_server_reports_a_running_kosh() {
    let server = tokio::task::spawn_blocking(Server::start).await.unwrap();
    let run = kosh(&["doctor", "server", &server.url]).await;
    run.passed();
    run.ok_line(&["version", concat!("kosh ", env!("CARGO_PKG_VERSION")), "sandbox mode", "sqlite store"]);
    run.ok_line(&["ready", "/readyz"]);
    run.ok_line(&["clock skew", "this machine's"]);
}

async fn skewed(State(offset_secs): State<i64>, uri: axum::http::Uri) -> Response {
    let at = SystemTime::now() + Duration::from_secs(offset_secs.unsigned_abs());
    let date = httpdate::fmt_http_date(at);
    let body = if uri.path() == "/readyz" {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unready", "error": "schema migrations not applied: [9]; run kosh migrate" })),
        )
            .into_response()
    } else {
        axum::Json(json!({ "name": "kosh", "version": "0.1.0", "sandbox": false, "store": "postgres" })).into_response()
    };
    let mut response = body;
    response.headers_mut().insert("date", HeaderValue::from_str(&date).unwrap());
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_server_names_skew_and_unreadiness() {
    let url = serve(Router::new().fallback(skewed).with_state(3_600)).await;
    let run = kosh(&["doctor", "server", &url]).await;
    run.ok_line(&["version", "production mode", "postgres store"]);
    run.failed_with(&["clock skew", "ahead of this machine's", "timestamp_tolerance_secs"]);
    run.failed_with(&["ready", "HTTP 503", "migrations"]);
    assert!(run.stdout.contains("run kosh migrate"), "{}", run.stdout);
}
