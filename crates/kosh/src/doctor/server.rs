//! `kosh doctor server URL`: a running Kosh, from where the partner's code runs:
//! reachable, its version (the JSON of `GET /`), ready (`/readyz`), and how far its
//! clock is from this machine's (signatures made here are refused past the tolerance).

use super::net::{self, Answer, Probe};
use super::report::Report;
use clap::Args;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Beyond this skew the check fails: it eats a fifth of the default 300 s tolerance.
const MAX_SKEW_MS: i64 = 60_000;

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Give up on any one request after this many seconds.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub async fn run(args: ServerArgs, report: &mut Report) -> Result<(), String> {
    let mut url = net::parse_url(&args.url)?;
    url.set_path("/");
    url.set_query(None);
    let mut probe = Probe::new(url, args.timeout_secs)?;
    if !probe.reachable(report).await {
        return Ok(());
    }
    let slow = "check that the server is not overloaded or stuck, and that nothing between you holds the connection";
    let sent_ms = now_ms();
    let front = probe.client.get(probe.url.clone()).header("accept", "application/json");
    let Some(answer) = probe.exchange(report, "version", front, slow).await else { return Ok(()) };
    let received_ms = now_ms();
    check_version(report, &answer);
    check_skew(report, &answer, sent_ms, received_ms);
    let ready = probe.client.get(probe.url.join("readyz").expect("a relative path joins"));
    if let Some(answer) = probe.exchange(report, "ready", ready, slow).await {
        check_ready(report, &answer);
    }
    Ok(())
}

fn check_version(report: &mut Report, answer: &Answer) {
    let facts = serde_json::from_slice::<Value>(&answer.body).ok().filter(|f| f["name"] == "kosh");
    let Some(facts) = facts.filter(|_| answer.status == 200) else {
        report.fail(
            "version",
            format!("GET / answered HTTP {} with {}, not Kosh's description of itself", answer.status, answer.excerpt()),
            "point the URL at Kosh itself (scheme, host and port, no path), not at a proxy's error page or another service",
        );
        return;
    };
    let mode = if facts["sandbox"] == true { "sandbox mode" } else { "production mode" };
    let version = facts["version"].as_str().unwrap_or("unknown");
    let store = facts["store"].as_str().unwrap_or("unknown");
    report.ok("version", format!("kosh {version}, {mode}, {store} store (this kosh is {})", env!("CARGO_PKG_VERSION")));
}

fn check_ready(report: &mut Report, answer: &Answer) {
    let body = serde_json::from_slice::<Value>(&answer.body).unwrap_or(Value::Null);
    if answer.status == 200 && body["status"] == "ready" {
        report.ok("ready", "/readyz: the store answers and every schema migration is applied");
        return;
    }
    let why = body["error"].as_str().map_or_else(|| answer.excerpt(), str::to_owned);
    let fix = if why.contains("migrations") {
        "run kosh migrate against the server's database (kosh serve applies them at start)"
    } else {
        "check the server's log and that its database is up and reachable from it"
    };
    report.fail("ready", format!("/readyz answered HTTP {}: {why}", answer.status), fix);
}

/// The server's `Date` header against this machine's clock, at the middle of the
/// exchange. `Date` has whole seconds, so the server's time lies within the second after
/// it: the estimate is good to about half a second plus half the round trip.
fn check_skew(report: &mut Report, answer: &Answer, sent_ms: i64, received_ms: i64) {
    let date = answer.header_values("date").into_iter().next();
    let Some(server_ms) = date
        .as_deref()
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .map(|t| t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)) + 500)
    else {
        report.fail(
            "clock skew",
            format!("the answer has no valid Date header ({date:?}), so the clocks cannot be compared"),
            "let the server (or the proxy in front of it) send the Date header HTTP requires",
        );
        return;
    };
    let local_ms = sent_ms + (received_ms - sent_ms) / 2;
    let skew_ms = server_ms - local_ms;
    let ahead = if skew_ms >= 0 { "ahead of" } else { "behind" };
    let text = format!(
        "the server's clock is {:.1} s {ahead} this machine's (±{:.1} s)",
        skew_ms.abs() as f64 / 1000.0,
        0.5 + (received_ms - sent_ms) as f64 / 2000.0
    );
    if skew_ms.abs() > MAX_SKEW_MS {
        report.fail(
            "clock skew",
            format!("{text}; timestamps signed here are refused once the difference passes timestamp_tolerance_secs (300 s by default)"),
            "synchronise both clocks with NTP (timedatectl set-ntp true)",
        );
    } else {
        report.ok("clock skew", text);
    }
}
