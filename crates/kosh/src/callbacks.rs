//! `kosh callbacks list|show|replay|send-test`: the delivery log of every callback, and
//! replay by hand.

use crate::partner;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::civil::iso_utc;
use kosh_server::admin::callbacks::sample_payload;
use kosh_store::commands::callbacks::{Enqueue, Replay};
use kosh_store::ops::callbacks::{CallbackEvent, EventFilter, MAX_LIST};

#[derive(Args, Debug)]
pub struct CallbacksArgs {
    #[command(subcommand)]
    command: CallbacksCmd,
}

#[derive(Subcommand, Debug)]
enum CallbacksCmd {
    /// List callback events, newest first.
    List(ListArgs),
    /// Show one event and every delivery attempt (URL, body, status, answer, latency, error).
    Show(IdArgs),
    /// Queue an event that gave up (or had no URL configured) again, with a fresh retry cycle.
    Replay(IdArgs),
    /// Queue a test callback to a partner, exactly as a producer would.
    SendTest(SendTestArgs),
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this partner's events (id or name).
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: Option<String>,
    /// Only events in this state: pending, delivering, delivered, failed, unconfigured.
    #[arg(long)]
    state: Option<String>,
    /// Only events of this kind (eko.tx_status, echelon.callback, token.ack, …).
    #[arg(long)]
    kind: Option<String>,
    /// Internal events too (recorded, never delivered).
    #[arg(long)]
    all: bool,
    /// Only events older than this id (paging).
    #[arg(long)]
    before: Option<i64>,
    /// At most this many (1 to 500).
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

#[derive(Args, Debug)]
struct IdArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The event id (from `kosh callbacks list`).
    id: i64,
}

#[derive(Args, Debug)]
struct SendTestArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
    /// eko.tx_status, token.ack or echelon.callback.
    #[arg(long, default_value = "eko.tx_status")]
    kind: String,
    /// The JSON payload [default: a sample body of the kind; required for echelon.callback,
    /// which is {"url": …, "body": {…}}].
    #[arg(long)]
    payload: Option<String>,
    /// Queue this many copies (1 to 100000).
    #[arg(long, default_value_t = 1)]
    count: u32,
}

pub async fn run(args: CallbacksArgs) -> Result<(), String> {
    match args.command {
        CallbacksCmd::List(args) => list(args).await,
        CallbacksCmd::Show(args) => show(args).await,
        CallbacksCmd::Replay(args) => replay(args).await,
        CallbacksCmd::SendTest(args) => send_test(args).await,
    }
}

fn state(e: &CallbackEvent) -> &str {
    if e.deliverable() {
        &e.state
    } else {
        "internal"
    }
}

async fn list(args: ListArgs) -> Result<(), String> {
    if !(1..=MAX_LIST).contains(&args.limit) {
        return Err(format!("--limit must be between 1 and {MAX_LIST}"));
    }
    let store = args.store.open().await?;
    let partner_id = match &args.partner {
        Some(p) => Some(partner::lookup(&store, p).await?.id),
        None => None,
    };
    let filter = EventFilter {
        partner_id,
        state: args.state,
        kind: args.kind,
        include_internal: args.all,
        before_id: args.before,
        limit: args.limit,
    };
    let events = store.callback_events(&filter).await.map_err(|e| format!("cannot read callbacks: {e}"))?;
    if events.is_empty() {
        println!("no callback events match");
        return Ok(());
    }
    println!("{:<8} {:<8} {:<17} {:<13} {:>8}  {:<24}  LAST ERROR", "ID", "PARTNER", "KIND", "STATE", "ATTEMPTS", "CREATED");
    for e in &events {
        let error: String = e.last_error.as_deref().unwrap_or("").chars().take(80).collect();
        println!(
            "{:<8} {:<8} {:<17} {:<13} {:>8}  {:<24}  {error}",
            e.id,
            e.partner_id,
            e.kind,
            state(e),
            e.attempts,
            iso_utc(e.created_at_ms)
        );
    }
    Ok(())
}

async fn show(args: IdArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    let e = store
        .callback_event(args.id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no callback event {}", args.id))?;
    println!("id: {}", e.id);
    println!("partner: {}", e.partner_id);
    println!("kind: {}", e.kind);
    println!("state: {}", state(&e));
    println!("attempts: {}", e.attempts);
    println!("created_at: {}", iso_utc(e.created_at_ms));
    if e.deliverable() && matches!(e.state.as_str(), "pending" | "delivering") {
        println!("next_attempt_at: {}", iso_utc(e.due_at_ms));
    }
    if let Some(at) = e.delivered_at_ms {
        println!("delivered_at: {}", iso_utc(at));
    }
    if let Some(error) = &e.last_error {
        println!("last_error: {error}");
    }
    println!("payload: {}", e.payload);
    for a in store.callback_attempts(e.id).await.map_err(|e| e.to_string())? {
        let t = &a.attempt;
        let status = t.response_status.map_or("-".to_owned(), |s| s.to_string());
        let verdict = if t.succeeded { "ok" } else { "failed" };
        println!(
            "attempt {}: {} POST {} -> {status} in {} ms, {verdict}",
            a.attempt_no,
            iso_utc(t.started_at_ms),
            t.url,
            t.latency_ms
        );
        if let Some(error) = &t.error {
            println!("  error: {error}");
        }
        if let Some(excerpt) = t.response_excerpt.as_deref().filter(|x| !x.is_empty()) {
            println!("  answer: {}", excerpt.chars().take(200).collect::<String>());
        }
    }
    Ok(())
}

async fn execute<C: kosh_store::commands::StoreCommand>(store: &kosh_store::Store, cmd: C) -> Result<C::Output, String> {
    store.execute(cmd).await.map_err(|e| e.to_string())
}

async fn replay(args: IdArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    execute(&store, Replay { id: args.id }).await?;
    println!("event {} queued again; a running server delivers it now", args.id);
    Ok(())
}

async fn send_test(args: SendTestArgs) -> Result<(), String> {
    if !(1..=100_000).contains(&args.count) {
        return Err("--count must be between 1 and 100000".into());
    }
    let store = args.store.open().await?;
    let partner = partner::lookup(&store, &args.partner).await?;
    let payload = match &args.payload {
        Some(p) => p.clone(),
        None => sample_payload(&args.kind, store.now_ms())
            .ok_or_else(|| format!("give --payload for {} events", args.kind))?
            .to_string(),
    };
    let mut last = 0;
    for _ in 0..args.count {
        let cmd = Enqueue { partner_id: partner.id, kind: args.kind.clone(), payload_json: payload.clone() };
        last = execute(&store, cmd).await?;
    }
    println!("queued {} {} event(s) for partner {}; last id {last}", args.count, args.kind, partner.id);
    Ok(())
}
