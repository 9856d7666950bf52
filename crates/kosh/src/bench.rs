//! `kosh bench`: a closed-loop load generator against a running Kosh server.
//!
//! Each of `--connections` workers owns one HTTP/1.1 keep-alive connection and sends
//! its next request as soon as the previous one is answered, until `--duration-secs`
//! or `--requests` runs out, whichever comes first. Every latency is kept (in
//! microseconds, at most `--requests` of them), so the percentiles are exact.
//!
//! Scenarios:
//! - `services`: `GET /ekoapi/v1/user/services/user_code:…`, signed afresh for every
//!   request (HMAC, partner lookup, a store read); success is HTTP 200 with Eko status 0.
//! - `wallet`: `POST /admin/v1/partners/{partner}/wallet/credit` of ₹1.00 with the
//!   operator token; every success is a durable ledger posting. The wallet balance is
//!   read before and after, and its growth is checked against the successes.
//! - `payout`: Echelon `POST /payouts/{id}` of ₹1 (a bank transfer; a fresh id each
//!   time) with a bearer token from `/auth-tokens`; every success is a durable payment
//!   row and a pending ledger reservation. Success is HTTP 201.
//! - `payout-detail`: Echelon `GET /payouts/{id}` of one payout created first.
//!   The server must allow the load: `echelon_requests_per_sec` (default 10).
//! - `dmt-imps`: signed IMPS money transfers of ₹1.00, `POST /ekoapi/v1/transactions`,
//!   unique `client_ref_id`s, one prepared customer per connection (see [`crate::bench_dmt`]).

use crate::wallet::rupees;
use clap::{Args, ValueEnum};
use kosh_core::clock::{Clock, SystemClock};
use kosh_core::ids::UserCode;
use kosh_core::secret::Secret;
use kosh_sdk::eko::Credentials;
use kosh_server::sandbox;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAX_CONNECTIONS: u32 = 1024;
const MAX_DURATION_SECS: u64 = 3600;
/// Caps the kept latencies at 40 MB.
const MAX_REQUESTS: u64 = 10_000_000;
const MAX_TIMEOUT_SECS: u64 = 300;
/// The amount of one `wallet` credit, in paise (₹1.00).
const WALLET_CREDIT_PAISE: i64 = 100;
/// A worker whose request failed below HTTP waits this long before the next, so a
/// dead server is not hammered in a tight loop.
const TRANSPORT_ERROR_PAUSE: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Signed Eko service enquiry (a read): GET /ekoapi/v1/user/services/user_code:{user_code}.
    Services,
    /// Admin wallet credits of ₹1.00 (durable ledger postings); needs --admin-token.
    Wallet,
    /// Echelon payout creates of ₹1 (POST /payouts/{id}), as the sandbox merchant by default.
    Payout,
    /// Echelon payout detail reads (GET /payouts/{id}) of one payout.
    PayoutDetail,
    /// Callback deliveries, in-process: --events to a local receiver answering after
    /// --receiver-delay-ms, with --connections deliveries in flight (--url is not used).
    Callbacks,
    /// Signed IMPS money transfers of ₹1.00 (POST /ekoapi/v1/transactions); needs a sandbox-mode server.
    DmtImps,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// What to send.
    #[arg(long, value_enum, default_value_t = Scenario::Services)]
    scenario: Scenario,
    /// Concurrent connections, each one HTTP/1.1 keep-alive connection (1 to 1024).
    #[arg(long, default_value_t = 8)]
    connections: u32,
    /// Stop after this many seconds (1 to 3600).
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Stop after this many requests (1 to 10000000).
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Seconds one request may take before it counts as a timeout (1 to 300).
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// services, dmt-imps: the developer_key to send [default: the public sandbox partner's].
    #[arg(long, default_value = sandbox::DEVELOPER_KEY, hide_default_value = true)]
    developer_key: String,
    /// services, dmt-imps: the access key to sign with [default: the public sandbox partner's].
    #[arg(long, default_value = sandbox::ACCESS_KEY, hide_default_value = true)]
    access_key: Secret,
    /// services, dmt-imps: the initiator_id to send [default: the public sandbox partner's].
    #[arg(long, default_value = sandbox::INITIATOR_ID, hide_default_value = true)]
    initiator_id: String,
    /// services: the agent whose services are enquired; dmt-imps: the agent who sends.
    #[arg(long, default_value_t = sandbox::USER_CODE)]
    user_code: UserCode,
    /// wallet: the operator token the server runs with (its --admin-token).
    #[arg(long, env = "KOSH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<Secret>,
    /// wallet: the partner (id or name) whose wallet is credited.
    #[arg(long, default_value = sandbox::PARTNER_NAME)]
    partner: String,
    /// payout, payout-detail: the Echelon merchantCode [default: the sandbox merchant's].
    #[arg(long, default_value = kosh_server::sandbox::echelon::MERCHANT_CODE)]
    merchant_code: String,
    /// payout, payout-detail: the merchant secret [default: the sandbox merchant's].
    #[arg(long, env = "KOSH_MERCHANT_SECRET", default_value = kosh_server::sandbox::echelon::SECRET, hide_default_value = true, hide_env_values = true)]
    merchant_secret: Secret,
    /// callbacks: how many callbacks to deliver (1 to 1000000).
    #[arg(long, default_value_t = 5_000)]
    events: u64,
    /// callbacks: how long the receiver takes to answer, in ms (0 to 10000).
    #[arg(long, default_value_t = 0)]
    receiver_delay_ms: u64,
    /// callbacks: run on this PostgreSQL database instead of a scratch SQLite one.
    #[arg(long)]
    database_url: Option<Secret>,
}

/// Makes every payout id of a run unique (with the run's random prefix).
static PAYOUT_SEQ: AtomicU64 = AtomicU64::new(0);

const PAYOUT_BODY: &str = r#"{"paymentRequested":{"money":{"amount":1,"currencyCode":"INR"}},"paymentMethod":{"paymentMethodCode":"BANK_TRANSFER","paymentOperatorCode":"IN_IMPS","account":{"accountName":"Bench Beneficiary","accountNumber":"123456789012","bankCode":"SBIN0001234"}}}"#;

/// One request of a scenario, prepared once and sent many times.
enum Target {
    Services { url: String, credentials: Credentials },
    Wallet { url: String, authorization: String, body: &'static str },
    Payout { base: String, prefix: String, authorization: String },
    PayoutDetail { url: String, authorization: String },
    Dmt(crate::bench_dmt::Prepared),
}

/// Counters shared by the workers and the progress line.
struct Shared {
    issued: AtomicU64,
    completed: AtomicU64,
    errors: AtomicU64,
    max_requests: u64,
    deadline: Instant,
}

/// What one worker saw.
#[derive(Default)]
struct WorkerReport {
    latencies_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    check_limits(&args)?;
    if args.scenario == Scenario::Callbacks {
        if !(1..=1_000_000).contains(&args.events) || args.receiver_delay_ms > 10_000 {
            return Err("--events must be 1 to 1000000 and --receiver-delay-ms at most 10000".into());
        }
        let plan = crate::bench_callbacks::Plan {
            events: args.events,
            concurrency: args.connections,
            receiver_delay_ms: args.receiver_delay_ms,
            database_url: args.database_url.as_ref().map(|url| url.expose().to_owned()),
            max_secs: args.duration_secs,
        };
        return crate::bench_callbacks::run(plan).await;
    }
    let base = args.url.trim_end_matches('/').to_owned();
    let probe = client(Duration::from_secs(args.timeout_secs))?;
    preflight(&probe, &base).await?;
    let target = Arc::new(target(&args, &base, &probe).await?);
    let before = match &*target {
        Target::Wallet { authorization, .. } => Some(wallet_balance(&probe, &base, &args.partner, authorization).await?),
        _ => None,
    };
    let (describe, connections) = (describe(&target), args.connections);
    eprintln!("kosh bench: {describe}, {connections} connections, up to {} s or {} requests", args.duration_secs, args.requests);

    let started = Instant::now();
    let shared = Arc::new(Shared {
        issued: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        max_requests: args.requests,
        deadline: started + Duration::from_secs(args.duration_secs),
    });
    let progress = tokio::spawn(progress(shared.clone(), started));
    let mut workers = Vec::with_capacity(connections as usize);
    for index in 0..connections as usize {
        let client = client(Duration::from_secs(args.timeout_secs))?;
        workers.push(tokio::spawn(worker(index, client, target.clone(), shared.clone())));
    }
    let mut total = WorkerReport::default();
    for handle in workers {
        let report = handle.await.map_err(|e| format!("a worker failed: {e}"))?;
        total.latencies_us.extend(report.latencies_us);
        for (kind, n) in report.errors {
            *total.errors.entry(kind).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    progress.abort();
    eprintln!();

    print_summary(&describe, connections, elapsed, &mut total);
    if let (Some(before), Target::Wallet { authorization, .. }) = (before, &*target) {
        let after = wallet_balance(&probe, &base, &args.partner, authorization).await?;
        let ok = total.latencies_us.len() as u64 - total.errors.values().sum::<u64>();
        print_ledger_check(before, after, ok);
    }
    if total.latencies_us.is_empty() || total.errors.values().sum::<u64>() == total.latencies_us.len() as u64 {
        return Err("no request succeeded".into());
    }
    Ok(())
}

fn check_limits(args: &BenchArgs) -> Result<(), String> {
    let within = |name: &str, value: u64, max: u64| {
        if (1..=max).contains(&value) {
            Ok(())
        } else {
            Err(format!("--{name} must be between 1 and {max}, not {value}"))
        }
    };
    within("connections", u64::from(args.connections), u64::from(MAX_CONNECTIONS))?;
    within("duration-secs", args.duration_secs, MAX_DURATION_SECS)?;
    within("requests", args.requests, MAX_REQUESTS)?;
    within("timeout-secs", args.timeout_secs, MAX_TIMEOUT_SECS)?;
    if !args.url.starts_with("http://") {
        return Err(format!("--url must start with http:// (kosh bench speaks plain HTTP), not {:?}", args.url));
    }
    Ok(())
}

async fn target(args: &BenchArgs, base: &str, probe: &reqwest::Client) -> Result<Target, String> {
    let credentials = Credentials {
        developer_key: args.developer_key.trim().to_owned(),
        access_key: args.access_key.expose().trim().to_owned(),
        initiator_id: args.initiator_id.trim().to_owned(),
    };
    match args.scenario {
        Scenario::Payout | Scenario::PayoutDetail => echelon_target(args, base, probe).await,
        Scenario::Services => Ok(Target::Services {
            url: format!("{base}/ekoapi/v1/user/services/user_code:{}?initiator_id={}", args.user_code, args.initiator_id.trim()),
            credentials,
        }),
        Scenario::DmtImps => {
            eprintln!("kosh bench: preparing {} verified customers with a recipient each", args.connections);
            Ok(Target::Dmt(crate::bench_dmt::prepare(base, credentials, args.user_code, args.connections).await?))
        }
        Scenario::Wallet => {
            let token = args
                .admin_token
                .as_ref()
                .map(Secret::expose)
                .ok_or("the wallet scenario needs --admin-token (the server's --admin-token)")?;
            Ok(Target::Wallet {
                url: format!("{base}/admin/v1/partners/{}/wallet/credit", args.partner.trim()),
                authorization: format!("Bearer {token}"),
                body: r#"{"amount":"1.00","reference":"kosh bench"}"#,
            })
        }
        Scenario::Callbacks => Err("the callbacks scenario runs in-process".into()),
    }
}

/// Gets a token for the Echelon scenarios (and, for `payout-detail`, the payout read).
async fn echelon_target(args: &BenchArgs, base: &str, probe: &reqwest::Client) -> Result<Target, String> {
    let body = serde_json::json!({ "merchantCode": args.merchant_code, "secret": args.merchant_secret, "validitySecs": 3600,
                                   "operations": ["POST /payouts/.*", "GET /payouts/.*"] });
    let res = probe.post(format!("{base}/auth-tokens")).header("X-API-Version", "2").json(&body).send().await;
    let res = res.map_err(|e| format!("POST /auth-tokens: {e}"))?;
    let status = res.status().as_u16();
    let answer: serde_json::Value = res.json().await.unwrap_or_default();
    let token = answer["token"].as_str().ok_or_else(|| format!("POST /auth-tokens answered HTTP {status} {answer}"))?;
    let authorization = format!("Bearer {token}");
    let prefix = format!("B{}", kosh_core::secret::new_token(8));
    if args.scenario == Scenario::Payout {
        return Ok(Target::Payout { base: base.to_owned(), prefix, authorization });
    }
    let url = format!("{base}/payouts/{prefix}-detail");
    let res = probe
        .post(&url)
        .header("X-API-Version", "2")
        .header("authorization", &authorization)
        .header("content-type", "application/json")
        .body(PAYOUT_BODY)
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    if res.status().as_u16() != 201 {
        return Err(format!("POST {url} answered HTTP {}", res.status().as_u16()));
    }
    Ok(Target::PayoutDetail { url, authorization })
}

fn describe(target: &Target) -> String {
    match target {
        Target::Payout { base, .. } => format!("payout: POST {base}/payouts/{{id}} (1 INR each)"),
        Target::PayoutDetail { url, .. } => format!("payout-detail: GET {url}"),
        Target::Services { url, .. } => format!("services: GET {url}"),
        Target::Wallet { url, .. } => format!("wallet: POST {url} (1.00 each)"),
        Target::Dmt(p) => format!("dmt-imps: POST {} (IMPS, {} each, unique client_ref_id)", p.url, crate::bench_dmt::AMOUNT),
    }
}

/// A client that keeps exactly one HTTP/1.1 connection alive.
fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Fails early, and clearly, when the server is not there.
async fn preflight(client: &reqwest::Client, base: &str) -> Result<(), String> {
    let res = client.get(format!("{base}/healthz")).send().await.map_err(|e| format!("cannot reach {base}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{base}/healthz answered HTTP {}; is the server healthy?", res.status().as_u16()));
    }
    Ok(())
}

/// The partner's posted wallet balance in paise, through the admin API.
async fn wallet_balance(client: &reqwest::Client, base: &str, partner: &str, authorization: &str) -> Result<i64, String> {
    let url = format!("{base}/admin/v1/partners/{}/wallet", partner.trim());
    let res = client.get(&url).header("authorization", authorization).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    match status {
        200 => body["balance_paise"].as_i64().ok_or_else(|| format!("GET {url}: no balance_paise in {body}")),
        401 => Err("the server refused --admin-token (HTTP 401)".into()),
        404 if body["error"]["code"] == "partner_not_found" => Err(format!("no partner {partner:?} on the server")),
        404 => Err("the server's admin API is off: start it with --admin-token".into()),
        _ => Err(format!("GET {url}: HTTP {status} {body}")),
    }
}

async fn worker(index: usize, client: reqwest::Client, target: Arc<Target>, shared: Arc<Shared>) -> WorkerReport {
    let mut report = WorkerReport::default();
    let mut sent = 0u64;
    while Instant::now() < shared.deadline && shared.issued.fetch_add(1, Ordering::Relaxed) < shared.max_requests {
        let started = Instant::now();
        sent += 1;
        let result = send(&client, &target, index, sent).await;
        report.latencies_us.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        shared.completed.fetch_add(1, Ordering::Relaxed);
        if let Err(failure) = result {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            if failure.transport {
                tokio::time::sleep(TRANSPORT_ERROR_PAUSE).await;
            }
            *report.errors.entry(failure.kind).or_default() += 1;
        }
    }
    report
}

/// Why a request did not succeed: its HTTP status (and Eko status), or a transport error.
struct Failure {
    kind: String,
    transport: bool,
}

impl Failure {
    fn transport(e: reqwest::Error) -> Failure {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect error"
        } else {
            "transport error"
        };
        Failure { kind: kind.into(), transport: true }
    }

    fn http(kind: String) -> Failure {
        Failure { kind, transport: false }
    }
}

async fn send(client: &reqwest::Client, target: &Target, index: usize, n: u64) -> Result<(), Failure> {
    match target {
        Target::Dmt(prepared) => prepared.send(client, index, n).await.map_err(|e| match e {
            crate::bench_dmt::SendError::Transport(e) => Failure::transport(e),
            crate::bench_dmt::SendError::Answer(kind) => Failure::http(kind),
        }),
        Target::Services { url, credentials } => {
            let signed = credentials.sign(SystemClock.now_ms());
            let res = client
                .get(url)
                .header("developer_key", signed.developer_key)
                .header("secret-key", signed.secret_key)
                .header("secret-key-timestamp", signed.secret_key_timestamp)
                .send()
                .await
                .map_err(Failure::transport)?;
            let status = res.status().as_u16();
            let body = res.bytes().await.map_err(Failure::transport)?;
            let eko_status = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| v["status"].as_i64());
            match (status, eko_status) {
                (200, Some(0)) => Ok(()),
                (200, Some(s)) => Err(Failure::http(format!("HTTP 200 with Eko status {s}"))),
                _ => Err(Failure::http(format!("HTTP {status}"))),
            }
        }
        Target::Wallet { url, authorization, body } => {
            let res = client
                .post(url)
                .header("authorization", authorization)
                .header("content-type", "application/json")
                .body(*body)
                .send()
                .await
                .map_err(Failure::transport)?;
            let status = res.status().as_u16();
            res.bytes().await.map_err(Failure::transport)?;
            if status == 200 {
                Ok(())
            } else {
                Err(Failure::http(format!("HTTP {status}")))
            }
        }
        Target::Payout { base, prefix, authorization } => {
            let url = format!("{base}/payouts/{prefix}-{}", PAYOUT_SEQ.fetch_add(1, Ordering::Relaxed));
            let req = client.post(url).header("content-type", "application/json").body(PAYOUT_BODY);
            echelon_send(req, authorization, 201).await
        }
        Target::PayoutDetail { url, authorization } => echelon_send(client.get(url), authorization, 200).await,
    }
}

async fn echelon_send(req: reqwest::RequestBuilder, authorization: &str, ok: u16) -> Result<(), Failure> {
    let res = req.header("X-API-Version", "2").header("authorization", authorization).send().await.map_err(Failure::transport)?;
    let status = res.status().as_u16();
    res.bytes().await.map_err(Failure::transport)?;
    if status == ok {
        Ok(())
    } else {
        Err(Failure::http(format!("HTTP {status}")))
    }
}

/// Rewrites one stderr line about once a second until aborted.
async fn progress(shared: Arc<Shared>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = 0;
    loop {
        tick.tick().await;
        let done = shared.completed.load(Ordering::Relaxed);
        let errors = shared.errors.load(Ordering::Relaxed);
        eprint!("\r{:>5.1} s  {done} requests  {} req/s now  {errors} errors   ", started.elapsed().as_secs_f64(), done - last);
        let _ = std::io::stderr().flush();
        last = done;
    }
}

fn print_summary(describe: &str, connections: u32, elapsed: Duration, total: &mut WorkerReport) {
    let requests = total.latencies_us.len() as u64;
    let errors: u64 = total.errors.values().sum();
    let secs = elapsed.as_secs_f64();
    total.latencies_us.sort_unstable();
    let l = &total.latencies_us;
    println!("scenario     {describe}");
    println!("connections  {connections}");
    println!("duration     {secs:.2} s");
    println!("requests     {requests} (ok {}, errors {errors})", requests - errors);
    println!("throughput   {:.0} req/s", requests as f64 / secs.max(f64::EPSILON));
    println!(
        "latency      p50 {}  p99 {}  p99.9 {}  max {}",
        ms(percentile(l, 0.50)),
        ms(percentile(l, 0.99)),
        ms(percentile(l, 0.999)),
        ms(l.last().copied().unwrap_or(0))
    );
    if !total.errors.is_empty() {
        let kinds: Vec<String> = total.errors.iter().map(|(kind, n)| format!("{kind}: {n}")).collect();
        println!("errors       {}", kinds.join(", "));
    }
}

fn print_ledger_check(before_paise: i64, after_paise: i64, ok: u64) {
    let grew = after_paise - before_paise;
    let expected = i64::try_from(ok).unwrap_or(i64::MAX).saturating_mul(WALLET_CREDIT_PAISE);
    let verdict = if grew == expected {
        "matches the successful credits".to_owned()
    } else {
        // A credit whose answer timed out here may still have committed on the server.
        format!("DIFFERS from the {} expected for {ok} successful credits", rupees(expected))
    };
    println!("ledger       wallet {} -> {} (+{}): {verdict}", rupees(before_paise), rupees(after_paise), rupees(grew));
}

/// The nearest-rank percentile of sorted latencies.
fn percentile(sorted_us: &[u32], q: f64) -> u32 {
    if sorted_us.is_empty() {
        return 0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1]
}

fn ms(us: u32) -> String {
    format!("{:.3} ms", f64::from(us) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 0.50), 500);
        assert_eq!(percentile(&sorted, 0.99), 990);
        assert_eq!(percentile(&sorted, 0.999), 999);
        assert_eq!(percentile(&sorted, 1.0), 1000);
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn latencies_print_in_milliseconds() {
        assert_eq!(ms(1_234), "1.234 ms");
    }
}
