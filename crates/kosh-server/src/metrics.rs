//! Prometheus metrics, rendered by hand in the text exposition format: requests by
//! route and status, a latency histogram, and the store's ledger and batch counters.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kosh_store::stats::{StoreStats, BATCH_BUCKETS};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BUCKETS_S: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// Most distinct (method, route, status) series kept. Unmatched paths share one route
/// label and non-standard methods one method label, so clients cannot reach it by
/// inventing paths or methods; the cap guards against a bug elsewhere.
const MAX_SERIES: usize = 2_000;
/// The route label of every request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The method label of every request whose method is not a standard one.
pub const OTHER_METHOD: &str = "other";

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// The callback worker's counters.
    pub callbacks: std::sync::Arc<crate::workers::callbacks::CallbackStats>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().expect("metrics lock");
        let key = (method.to_owned(), route.to_owned(), status);
        if requests.len() < MAX_SERIES || requests.contains_key(&key) {
            *requests.entry(key).or_default() += 1;
        }
        drop(requests);
        let mut latency = self.latency.lock().expect("metrics lock");
        if latency.len() < MAX_SERIES || latency.contains_key(route) {
            let h = latency.entry(route.to_owned()).or_default();
            h.count += 1;
            h.sum_s += seconds;
            for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(h.buckets.iter_mut()) {
                if seconds <= *bound {
                    *bucket += 1;
                }
            }
        }
    }

    pub fn render(&self, store: &StoreStats) -> String {
        let mut out = String::new();
        out.push_str("# HELP kosh_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE kosh_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "kosh_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP kosh_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE kosh_http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().expect("metrics lock").iter() {
            for (bound, n) in LATENCY_BUCKETS_S.iter().zip(h.buckets) {
                let _ = writeln!(out, "kosh_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "kosh_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "kosh_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum_s);
            let _ = writeln!(out, "kosh_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        render_store(&mut out, store);
        self.callbacks.render(&mut out);
        out
    }
}

fn render_store(out: &mut String, s: &StoreStats) {
    let get = StoreStats::get;
    let _ = writeln!(
        out,
        "# HELP kosh_ledger_entries_posted_total Ledger entries posted.\n# TYPE kosh_ledger_entries_posted_total counter"
    );
    let _ = writeln!(out, "kosh_ledger_entries_posted_total {}", get(&s.entries_posted));
    let _ = writeln!(
        out,
        "# HELP kosh_store_retries_total Transactions retried after losing a race.\n# TYPE kosh_store_retries_total counter"
    );
    let _ = writeln!(out, "kosh_store_retries_total {}", get(&s.retries));
    let _ = writeln!(
        out,
        "# HELP kosh_store_batch_size Commands per group-commit batch (embedded store).\n# TYPE kosh_store_batch_size histogram"
    );
    for (bound, bucket) in BATCH_BUCKETS.iter().zip(&s.batch_size_buckets) {
        let _ = writeln!(out, "kosh_store_batch_size_bucket{{le=\"{bound}\"}} {}", get(bucket));
    }
    let _ = writeln!(out, "kosh_store_batch_size_bucket{{le=\"+Inf\"}} {}", get(&s.batches));
    let _ = writeln!(out, "kosh_store_batch_size_sum {}", get(&s.batched_commands));
    let _ = writeln!(out, "kosh_store_batch_size_count {}", get(&s.batches));
}

/// Records every request's route (the matched pattern, never the raw path, so ids do not
/// explode the series count), status and latency.
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method()).to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, |m| m.as_str()).to_owned();
    let response = next.run(req).await;
    app.metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
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

pub async fn render(State(app): State<AppState>) -> impl IntoResponse {
    ([("content-type", "text/plain; version=0.0.4")], app.metrics.render(app.store.stats()))
}
