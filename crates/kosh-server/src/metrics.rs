//! Prometheus metrics through the Prometheus project's own client (`prometheus-client`,
//! OpenMetrics text): requests by route and status, a latency histogram, the store's
//! ledger and batch counters, the callback worker's counters and the process's own.
//!
//! Request counters live in the client's families (lock-free counters; a read lock to
//! find a series). The store and the callback worker keep plain atomics of their own,
//! which a [`Collector`] reads at each scrape, so neither depends on this crate.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kosh_store::stats::{StoreStats, BATCH_BUCKETS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BUCKETS_S: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// The route label of every request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The method label of every request whose method is not a standard one.
pub const OTHER_METHOD: &str = "other";

/// The labels of a request counter. The label space is bounded by construction:
/// routes are the router's patterns (every unmatched path is [`UNMATCHED_ROUTE`]),
/// methods HTTP's standard ones or [`OTHER_METHOD`], statuses what Kosh answers, so no
/// client can grow it by inventing paths or methods.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS_S)
}

/// The node's metrics, rendered at `/metrics`.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// The callback worker's counters.
    pub callbacks: Arc<crate::workers::callbacks::CallbackStats>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The registry, with the store's and this node's collectors attached.
    pub fn new(store: Arc<StoreStats>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("kosh_http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register("kosh_http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        let callbacks = Arc::new(crate::workers::callbacks::CallbackStats::default());
        registry.register_collector(Box::new(StoreCollector(store)));
        registry.register_collector(Box::new(CallbackCollector(callbacks.clone())));
        registry.register_collector(Box::new(ProcessCollector));
        Metrics { registry, requests, latency, callbacks }
    }

    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method, route: route.to_owned(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route: route.to_owned() }).observe(seconds);
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Encodes one unlabelled counter or gauge.
fn encode_value(encoder: &mut DescriptorEncoder, name: &str, help: &str, metric: &impl EncodeMetric) -> std::fmt::Result {
    let e = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(e)
}

/// The store's atomics, read at each scrape.
#[derive(Debug)]
struct StoreCollector(Arc<StoreStats>);

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let get = StoreStats::get;
        encode_value(
            &mut encoder,
            "kosh_ledger_entries_posted",
            "Ledger entries posted",
            &ConstCounter::new(get(&s.entries_posted)),
        )?;
        encode_value(
            &mut encoder,
            "kosh_store_retries",
            "Transactions retried after losing a race",
            &ConstCounter::new(get(&s.retries)),
        )?;
        // The store counts cumulatively (`le` semantics); the encoder wants each bucket's own.
        let mut buckets = Vec::with_capacity(BATCH_BUCKETS.len() + 1);
        let mut below = 0;
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&s.batch_size_buckets) {
            let cumulative = get(bucket);
            buckets.push((*bound as f64, cumulative.saturating_sub(below)));
            below = cumulative;
        }
        let batches = get(&s.batches);
        buckets.push((f64::MAX, batches.saturating_sub(below)));
        let mut e = encoder.encode_descriptor(
            "kosh_store_batch_size",
            "Commands per group-commit batch (embedded store)",
            None,
            MetricType::Histogram,
        )?;
        e.encode_histogram::<prometheus_client::encoding::NoLabelSet>(get(&s.batched_commands) as f64, batches, &buckets, None)
    }
}

/// The callback worker's atomics, read at each scrape.
#[derive(Debug)]
struct CallbackCollector(Arc<crate::workers::callbacks::CallbackStats>);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: &'static str,
    outcome: &'static str,
}

impl Collector for CallbackCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let stats = &self.0;
        let mut e = encoder.encode_descriptor(
            "kosh_callback_outcomes",
            "Callback claims by kind and how they ended",
            None,
            MetricType::Counter,
        )?;
        for (kind, outcome, n) in stats.outcomes() {
            ConstCounter::new(n).encode(e.encode_family(&OutcomeLabels { kind, outcome })?)?;
        }
        let in_flight = i64::try_from(stats.in_flight()).unwrap_or(i64::MAX);
        encode_value(
            &mut encoder,
            "kosh_callbacks_in_flight",
            "Callback deliveries in flight on this node",
            &ConstGauge::new(in_flight),
        )?;
        encode_value(
            &mut encoder,
            "kosh_callback_attempts_pruned",
            "Recorded callback attempts deleted after their retention",
            &ConstCounter::new(stats.pruned()),
        )
    }
}

/// The process's own figures, read from `/proc/self` at each scrape (Linux); names as
/// the Prometheus client libraries of other languages export them.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(p) = process::read() else { return Ok(()) };
        encode_value(
            &mut encoder,
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            &ConstCounter::new(p.cpu_seconds),
        )?;
        encode_value(
            &mut encoder,
            "process_resident_memory_bytes",
            "Resident memory size, in bytes",
            &ConstGauge::new(p.resident_bytes),
        )?;
        encode_value(
            &mut encoder,
            "process_virtual_memory_bytes",
            "Virtual memory size, in bytes",
            &ConstGauge::new(p.virtual_bytes),
        )?;
        encode_value(&mut encoder, "process_open_fds", "Open file descriptors", &ConstGauge::new(p.open_fds))?;
        encode_value(&mut encoder, "process_threads", "OS threads of the process", &ConstGauge::new(p.threads))?;
        encode_value(
            &mut encoder,
            "process_start_time_seconds",
            "Start time since the epoch, in seconds",
            &ConstGauge::new(p.start_time_secs),
        )
    }
}

mod process {
    /// What `/proc/self` says of the process.
    pub struct Process {
        pub cpu_seconds: f64,
        pub resident_bytes: i64,
        pub virtual_bytes: i64,
        pub open_fds: i64,
        pub threads: i64,
        pub start_time_secs: i64,
    }

    /// Reads `/proc/self/stat` (fields per proc(5)); `None` where there is no procfs.
    pub fn read() -> Option<Process> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) may hold spaces: fields are counted after its ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| -> Option<i64> { f.get(n - 3)?.parse().ok() };
        // SAFETY: sysconf only reads a system constant.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        let ticks = if ticks > 0 { ticks } else { 100 };
        let boot_secs = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<i64>().ok())?;
        let open_fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as i64).unwrap_or(0);
        Some(Process {
            cpu_seconds: (field(14)? + field(15)?) as f64 / ticks as f64,
            resident_bytes: field(24)? * page,
            virtual_bytes: field(23)?,
            open_fds,
            threads: field(20)?,
            start_time_secs: boot_secs + field(22)? / ticks,
        })
    }
}

/// Records every request's route (the matched pattern, never the raw path, so ids do not
/// explode the series count), status and latency.
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, |m| m.as_str()).to_owned();
    let response = next.run(req).await;
    app.metrics.observe(method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// The method's own name when it is one of HTTP's standard methods, else [`OTHER_METHOD`]:
/// a method name is whatever token the client sends, so it must not become a label.
fn method_label(method: &Method) -> &'static str {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD.iter().find(|m| *m == method).map_or(OTHER_METHOD, |m| m.as_str())
}

/// `GET /metrics`: OpenMetrics text; with `metrics_token` set, only for
/// `Authorization: Bearer <token>` (401 otherwise).
pub async fn render(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &app.config.metrics_token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| kosh_core::secret::constant_time_eq(g.trim(), token.expose())) {
            let challenge = [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")];
            return (StatusCode::UNAUTHORIZED, challenge, "metrics need Authorization: Bearer <metrics_token>\n").into_response();
        }
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], app.metrics.render()).into_response()
}
