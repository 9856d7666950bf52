//! `kosh bench --scenario callbacks`: callback delivery throughput, in-process.
//!
//! Starts a local receiver on 127.0.0.1 that answers `200` after `--receiver-delay-ms`,
//! queues `--events` `eko.tx_status` events for the sandbox partner in a fresh store
//! (a scratch SQLite database, or `--database-url`), then starts a Kosh server whose
//! callback worker delivers them with `--connections` deliveries in flight (the
//! per-partner bound lifted to match, as every event is one partner's), and times the
//! run from the worker's start until every event is recorded delivered.

use kosh_core::clock::SystemClock;
use kosh_core::ids::PartnerId;
use kosh_server::config::Config;
use kosh_server::App;
use kosh_store::commands::callbacks::{Enqueue, SetEndpoint};
use kosh_store::ops::callbacks::{Endpoint, EventFilter, TX_STATUS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run is asked for.
pub struct Plan {
    pub events: u64,
    pub concurrency: u32,
    pub receiver_delay_ms: u64,
    pub database_url: Option<String>,
    pub max_secs: u64,
}

pub async fn run(plan: Plan) -> Result<(), String> {
    let delivered = Arc::new(AtomicU64::new(0));
    let receiver = receiver(plan.receiver_delay_ms, delivered.clone()).await?;
    let mut config = Config { listen: "127.0.0.1:0".parse().expect("address"), ..Config::default() };
    let scratch = std::env::temp_dir().join(format!("kosh-bench-callbacks-{}", std::process::id()));
    match &plan.database_url {
        Some(url) => config.database_url = Some(url.as_str().into()),
        None => config.data_dir = scratch.clone(),
    }
    let result = measure(plan, config, receiver, delivered).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn measure(plan: Plan, mut config: Config, receiver: String, delivered: Arc<AtomicU64>) -> Result<(), String> {
    let concurrency = usize::try_from(plan.concurrency).unwrap_or(usize::MAX);
    config.callbacks_concurrency = concurrency;
    // Every event is one partner's: the per-partner bound (8 by default, which alone
    // would cap a 200 ms receiver near 40/s) is lifted to the concurrency for the run.
    config.callbacks_per_partner_concurrency = concurrency;
    config.callbacks_tick_ms = 20;
    let store = Arc::new(kosh_server::open_store(&config, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?);
    let partner = store.find_partner("sandbox").await.map_err(|e| e.to_string())?.ok_or("the sandbox partner is missing")?;
    let endpoint =
        Endpoint { kind: "tx_status".into(), url: receiver, basic_user: None, basic_password: None, headers: Vec::new() };
    execute(&store, SetEndpoint { partner_id: partner.id, endpoint }).await?;
    let backlog_before = pending(&store).await?;
    eprintln!("kosh bench: queueing {} callbacks in {}", plan.events, store.location().describe());
    queue(&store, partner.id, plan.events).await?;

    let started = Instant::now();
    let app = App::start_with_store(config, store.clone()).await.map_err(|e| e.to_string())?;
    let deadline = started + Duration::from_secs(plan.max_secs);
    let target = plan.events + backlog_before;
    while delivered.load(Ordering::Relaxed) < target || pending(&store).await? > 0 {
        if Instant::now() > deadline {
            app.stop().await;
            return Err(format!(
                "only {} of {target} callbacks delivered within {} s",
                delivered.load(Ordering::Relaxed),
                plan.max_secs
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    app.stop().await;
    println!("callbacks    {} delivered (HTTP 200 from a receiver answering after {} ms)", plan.events, plan.receiver_delay_ms);
    println!(
        "in flight    {} at most (callbacks_concurrency; the per-partner bound is lifted to it for this one-partner run)",
        plan.concurrency
    );
    println!("elapsed      {elapsed:.2} s");
    println!("throughput   {:.0} deliveries/s", plan.events as f64 / elapsed);
    Ok(())
}

async fn execute<C: kosh_store::commands::StoreCommand>(store: &kosh_store::Store, cmd: C) -> Result<C::Output, String> {
    store.execute(cmd).await.map_err(|e| e.to_string())
}

/// Queues the events, 64 commands at a time (the store batches them).
async fn queue(store: &Arc<kosh_store::Store>, partner_id: PartnerId, events: u64) -> Result<(), String> {
    let mut queued = 0;
    while queued < events {
        let batch = (events - queued).min(64);
        let mut tasks = Vec::new();
        for n in queued..queued + batch {
            let store = store.clone();
            let payload_json =
                serde_json::json!({"tx_status": 0, "txstatus_desc": "Success", "tid": n, "client_ref_id": format!("B{n}")})
                    .to_string();
            tasks.push(tokio::spawn(async move {
                execute(&store, Enqueue { partner_id, kind: TX_STATUS.into(), payload_json }).await
            }));
        }
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        queued += batch;
    }
    Ok(())
}

/// Deliverable events not yet delivered (at most a page: only "none" matters).
async fn pending(store: &kosh_store::Store) -> Result<u64, String> {
    let mut total = 0;
    for state in ["pending", "delivering"] {
        let filter = EventFilter { state: Some(state.into()), limit: 500, ..EventFilter::default() };
        total += store.callback_events(&filter).await.map_err(|e| e.to_string())?.len() as u64;
    }
    Ok(total)
}

/// A receiver that answers 200 after `delay_ms`, counting what it answered.
async fn receiver(delay_ms: u64, delivered: Arc<AtomicU64>) -> Result<String, String> {
    let handler = move || {
        let delivered = delivered.clone();
        async move {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            delivered.fetch_add(1, Ordering::Relaxed);
            "OK"
        }
    };
    let app = axum::Router::new().route("/status", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot start the receiver: {e}"))?;
    let url = format!("http://{}/status", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}
