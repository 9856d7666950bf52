//! Serving connections under hostile clients: a listen backlog sized for bursts, a cap
//! on open connections (bounded by the descriptor limit), and three timeouts hyper does
//! not give separately: the request head must arrive within `http_header_timeout_secs`
//! of its first byte, the body within `http_body_timeout_secs` of the head, and an idle
//! keep-alive connection must start its next request within `http_idle_timeout_secs`.
//!
//! At the cap, Kosh stops accepting: new connections wait in the kernel's listen queue
//! until an open one closes (every open one is bounded by the timeouts above), and a
//! warning is logged at most every [`CAP_LOG_EVERY`].

use crate::config::Config;
use crate::rejections::dialect_error;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tower_service::Service;

/// How often "the connection cap is reached" may be logged.
pub const CAP_LOG_EVERY: Duration = Duration::from_secs(10);
/// Descriptors kept free of connections for the store, callbacks and logs.
const RESERVED_FDS: u64 = 64;

/// The timeouts and cap of every served connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header: Duration,
    pub body: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// The configured limits, the connection cap lowered to what the descriptor limit allows.
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            header: Duration::from_secs(config.http_header_timeout_secs),
            body: Duration::from_secs(config.http_body_timeout_secs),
            idle: Duration::from_secs(config.http_idle_timeout_secs),
            max_connections: bounded_by_fd_limit(config.http_max_connections),
        }
    }
}

fn bounded_by_fd_limit(configured: usize) -> usize {
    let Some(limit) = open_files_limit() else { return configured };
    // A quarter of the descriptors (at least RESERVED_FDS) stays free for everything else.
    let usable = limit.saturating_sub(RESERVED_FDS.max(limit / 4)).max(1);
    let usable = usize::try_from(usable).unwrap_or(usize::MAX);
    if usable < configured {
        tracing::warn!(
            configured,
            allowed = usable,
            open_files_limit = limit,
            "http_max_connections is above what the open-files limit allows; serving at most {usable} connections \
             (raise the limit with ulimit -n or LimitNOFILE to serve more)"
        );
    }
    configured.min(usable)
}

/// The soft limit of open descriptors of this process, when it has one.
fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// A listener on `addr` with a listen queue of `backlog` (the standard library's is 128,
/// which a burst of connects overflows).
pub fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves `app` on `listener` until `stop` completes, then lets open connections finish
/// their requests and close.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    tokio::pin!(stop);
    let mut last_cap_log: Option<Instant> = None;
    loop {
        let permit = tokio::select! {
            permit = acquire_slot(&slots, &mut last_cap_log, limits.max_connections) => permit,
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        match stream {
            Ok((stream, _)) => {
                let conn = serve_connection(stream, app.clone(), limits, closed.clone());
                tokio::spawn(async move {
                    conn.await;
                    drop(permit);
                });
            }
            Err(e) => accept_failed(e).await,
        }
    }
    drop(listener);
    let _ = closing.send(true);
    // Every open connection holds a slot: all slots back means all connections closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

async fn acquire_slot(slots: &Arc<Semaphore>, last_log: &mut Option<Instant>, max: usize) -> tokio::sync::OwnedSemaphorePermit {
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return permit;
    }
    if last_log.is_none_or(|at| at.elapsed() >= CAP_LOG_EVERY) {
        *last_log = Some(Instant::now());
        tracing::warn!(
            max_connections = max,
            "connection cap reached: {max} connections are open; new connections wait in the listen queue until one \
             closes (raise http_max_connections, or look for clients holding connections idle)"
        );
    }
    slots.clone().acquire_owned().await.expect("the connection semaphore is never closed")
}

/// Accept errors are the process's (out of descriptors, …), not the client's: wait a
/// moment rather than spin.
async fn accept_failed(e: io::Error) {
    tracing::error!(error = %e, "cannot accept a connection; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn serve_connection(stream: TcpStream, app: Router, limits: Limits, mut closing: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let phase = Arc::new(Mutex::new(Phase::new()));
    let io = TokioIo::new(TimedIo::new(stream, phase.clone(), limits));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        answer(app.clone(), req.map(Body::new), phase.clone(), limits.body)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // TimedIo times the head; hyper's own header timer would also run while idle.
    builder.header_read_timeout(None).max_headers(4 * crate::rejections::MAX_HEADERS);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return log_connection_end(result),
        _ = closing.wait_for(|closing| *closing) => conn.as_mut().graceful_shutdown(),
    }
    log_connection_end(conn.await);
}

fn log_connection_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Answers one request, its body read under the body deadline.
async fn answer(
    mut app: Router,
    req: Request,
    phase: Arc<Mutex<Phase>>,
    body_timeout: Duration,
) -> Result<Response, std::convert::Infallible> {
    lock(&phase).request_started();
    let path = req.uri().path().to_owned();
    let expired = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| Body::new(DeadlineBody::new(body, body_timeout, expired.clone())));
    let response = app.call(req).await;
    lock(&phase).request_finished();
    let mut response = response?;
    if expired.load(Ordering::Relaxed) {
        let message = format!("the request body did not arrive within {} s", body_timeout.as_secs());
        response = dialect_error(&path, StatusCode::REQUEST_TIMEOUT, message);
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

fn lock(phase: &Mutex<Phase>) -> std::sync::MutexGuard<'_, Phase> {
    phase.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a connection is between requests, which decides the deadline of its next read.
#[derive(Debug)]
struct Phase {
    /// A request is with the application (its body has its own deadline).
    busy: bool,
    /// The first byte of the next request head arrived then.
    head_started: Option<Instant>,
    /// Bytes last moved either way then.
    last_activity: Instant,
    /// The task of the read waiting on the old deadline: hyper reads nothing more until
    /// woken, so a new deadline must wake it.
    reader: Option<Waker>,
}

impl Phase {
    fn new() -> Phase {
        Phase { busy: false, head_started: None, last_activity: Instant::now(), reader: None }
    }

    fn request_started(&mut self) {
        self.busy = true;
        self.head_started = None;
    }

    fn request_finished(&mut self) {
        self.busy = false;
        self.last_activity = Instant::now();
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
    }

    fn bytes_read(&mut self) {
        let now = Instant::now();
        if !self.busy && self.head_started.is_none() {
            self.head_started = Some(now);
        }
        self.last_activity = now;
    }

    /// When a read that is still waiting must give up, or `None` while a request is served.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match (self.busy, self.head_started) {
            (true, _) => None,
            (false, Some(started)) => Some(started + limits.header),
            (false, None) => Some(self.last_activity + limits.idle),
        }
    }
}

/// A TCP stream whose reads fail once the connection's phase deadline passes, which
/// makes hyper close it.
struct TimedIo {
    stream: TcpStream,
    phase: Arc<Mutex<Phase>>,
    limits: Limits,
    timer: Pin<Box<Sleep>>,
}

impl TimedIo {
    fn new(stream: TcpStream, phase: Arc<Mutex<Phase>>, limits: Limits) -> TimedIo {
        let timer = Box::pin(tokio::time::sleep(limits.idle));
        TimedIo { stream, phase, limits, timer }
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = {
            let mut phase = lock(&self.phase);
            phase.reader = Some(cx.waker().clone());
            phase.deadline(&self.limits)
        };
        let Some(deadline) = deadline else { return Poll::Pending };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client sent nothing in time")),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    lock(&self.phase).bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_deadline(cx).map(Err),
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            lock(&self.phase).last_activity = Instant::now();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A request body that fails once its deadline passes, and says so through `expired` so
/// the answer can be 408 rather than the extractor's generic refusal.
struct DeadlineBody {
    inner: Body,
    timer: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

impl DeadlineBody {
    fn new(inner: Body, timeout: Duration, expired: Arc<AtomicBool>) -> DeadlineBody {
        DeadlineBody { inner, timer: Box::pin(tokio::time::sleep(timeout)), expired }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired.store(true, Ordering::Relaxed);
                let late = io::Error::new(io::ErrorKind::TimedOut, "the request body did not arrive in time");
                Poll::Ready(Some(Err(axum::Error::new(late))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
