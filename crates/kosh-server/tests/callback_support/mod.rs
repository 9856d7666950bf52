//! What the callback tests share: receivers on 127.0.0.1 that record what they get and
//! answer as told, and helpers to configure partners and queue events.
#![allow(dead_code)] // each test binary uses a different part of this module

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kosh_core::clock::SharedClock;
use kosh_core::ids::PartnerId;
use kosh_store::commands::callbacks::{CallbackCommand, CallbackOutcome, Enqueue, SetEndpoint};
use kosh_store::commands::{Command, Outcome};
use kosh_store::ops::callbacks::{CallbackEvent, Endpoint};
use kosh_store::Store;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The injected clock's time when it arrived.
    pub at_ms: i64,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An answer: status, extra headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);
pub type Responder = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

#[derive(Clone)]
struct ReceiverState {
    clock: SharedClock,
    respond: Arc<Mutex<Responder>>,
    log: Arc<Mutex<Vec<Received>>>,
}

pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Vec<Received>>>,
    respond: Arc<Mutex<Responder>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(clock: SharedClock, respond: Responder) -> Receiver {
        let log = Arc::new(Mutex::new(Vec::new()));
        let respond = Arc::new(Mutex::new(respond));
        let state = ReceiverState { clock, respond: respond.clone(), log: log.clone() };
        let app = axum::Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Receiver { url, log, respond, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn answer_with(&self, respond: Responder) {
        *self.respond.lock().unwrap() = respond;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(s): State<ReceiverState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> Response {
    let mut received = Received {
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers,
        body: body.to_vec(),
        at_ms: s.clock.now_ms(),
        status: 0,
    };
    let respond = s.respond.lock().unwrap().clone();
    let (status, extra, text) = respond(&received);
    received.status = status;
    s.log.lock().unwrap().push(received);
    let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

pub fn reply(status: u16, body: &str) -> Reply {
    (status, vec![("content-type", "application/json".into())], body.to_owned())
}

/// `{"status":0, …, "data":{"partner_tid": tid}}`, the Acknowledgement API's answer.
pub fn ack_ok(tid: &str) -> Reply {
    reply(200, &format!(r#"{{"status":0,"status_desc":"Success","response_code":"00","data":{{"partner_tid":"{tid}"}}}}"#))
}

pub async fn partner_id(store: &Store, name: &str) -> PartnerId {
    store.find_partner(name).await.unwrap().expect("partner exists").id
}

pub async fn set_endpoint(store: &Store, partner_id: PartnerId, kind: &str, url: &str, basic: Option<(&str, &str)>) {
    let endpoint = Endpoint {
        kind: kind.into(),
        url: url.into(),
        basic_user: basic.map(|b| b.0.into()),
        basic_password: basic.map(|b| b.1.into()),
        headers: vec![("X-Partner-Tag".into(), "kosh-test".into())],
    };
    store
        .execute(Command::Callbacks(CallbackCommand::SetEndpoint(SetEndpoint { partner_id, endpoint })))
        .await
        .expect("set endpoint");
}

pub async fn enqueue(store: &Store, partner_id: PartnerId, kind: &str, payload: serde_json::Value) -> i64 {
    let cmd = CallbackCommand::Enqueue(Enqueue { partner_id, kind: kind.into(), payload_json: payload.to_string() });
    match store.execute(Command::Callbacks(cmd)).await.expect("enqueue") {
        Outcome::Callbacks(CallbackOutcome::Enqueued(id)) => id,
        other => panic!("unexpected {other:?}"),
    }
}

pub async fn event(store: &Store, id: i64) -> CallbackEvent {
    store.callback_event(id).await.unwrap().expect("event exists")
}

/// Waits (at most [`WAIT`] of real time) until `done` holds for the event; returns it.
pub async fn wait_for(store: &Store, id: i64, what: &str, done: impl Fn(&CallbackEvent) -> bool) -> CallbackEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        let e = event(store, id).await;
        if done(&e) {
            return e;
        }
        assert!(Instant::now() < deadline, "event {id} never became {what}: {e:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long a test waits for a stated condition before it fails: generous, since it only
/// bounds a failure and a busy machine may be slow.
pub const WAIT: Duration = Duration::from_secs(60);

/// A port on 127.0.0.1 where connections are refused for as long as this value lives: it
/// is bound (so no other socket can take it, as one could a port merely closed) but
/// never listens.
pub struct ClosedPort {
    pub port: u16,
    _socket: tokio::net::TcpSocket,
}

pub fn closed_port() -> ClosedPort {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind a port");
    let port = socket.local_addr().expect("its address").port();
    ClosedPort { port, _socket: socket }
}

/// A server that answers `200` with a promised 1000-byte body, then sends one byte
/// every 100 ms: a slow-loris answer.
pub async fn slow_loris() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ =
                    socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{").await;
                for _ in 0..600 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, task)
}

/// Counts of a [`HoldingReceiver`].
#[derive(Default)]
struct HoldCounts {
    in_flight: std::sync::atomic::AtomicUsize,
    most_in_flight: std::sync::atomic::AtomicUsize,
    total: std::sync::atomic::AtomicUsize,
}

/// One request held: counted in flight until the receiver answers (or the request is
/// dropped), so the count never lags behind the sender.
struct Held(Arc<HoldCounts>);

impl Held {
    fn new(counts: Arc<HoldCounts>) -> Held {
        use std::sync::atomic::Ordering::SeqCst;
        counts.total.fetch_add(1, SeqCst);
        let now = counts.in_flight.fetch_add(1, SeqCst) + 1;
        counts.most_in_flight.fetch_max(now, SeqCst);
        Held(counts)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A slow partner: holds every request until [`HoldingReceiver::release`] (at most
/// `max_hold`), then answers `200 {}`; counts the requests it holds at once.
pub struct HoldingReceiver {
    pub url: String,
    gate: tokio::sync::watch::Sender<bool>,
    counts: Arc<HoldCounts>,
    task: tokio::task::JoinHandle<()>,
}

impl HoldingReceiver {
    pub async fn start(max_hold: Duration) -> HoldingReceiver {
        let (gate, open) = tokio::sync::watch::channel(false);
        let counts = Arc::new(HoldCounts::default());
        let state = (open, counts.clone());
        let app = axum::Router::new()
            .fallback(move |State((mut open, counts)): State<(tokio::sync::watch::Receiver<bool>, Arc<HoldCounts>)>| async move {
                let held = Held::new(counts);
                let _ = tokio::time::timeout(max_hold, open.wait_for(|open| *open)).await;
                // The count drops before the answer is written: the sender cannot start
                // another delivery while this one is still counted.
                drop(held);
                (StatusCode::OK, "{}")
            })
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        HoldingReceiver { url, gate, counts, task }
    }

    /// Answers every held request, and every later one at once.
    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    pub fn in_flight(&self) -> usize {
        self.counts.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The most requests it held at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.counts.most_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn total(&self) -> usize {
        self.counts.total.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for HoldingReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (at most [`WAIT`] of real time) until `done` holds.
pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An `https://` receiver whose certificate is self-signed (`tests/data/self-signed-*.pem`):
/// a client that checks certificates refuses it. It counts the TLS handshakes begun and
/// answers `200 {}` to any request that gets through.
pub async fn self_signed_tls_receiver() -> (String, Arc<std::sync::atomic::AtomicUsize>, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{crypto::ring, ServerConfig};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(include_bytes!("../data/self-signed-cert.pem"))
        .collect::<Result<_, _>>()
        .expect("the test certificate parses");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../data/self-signed-key.pem")).expect("the test key parses");
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the test certificate and key match");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
    let url = format!("https://{}/tls", listener.local_addr().unwrap());
    let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = handshakes.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
    (url, handshakes, task)
}
