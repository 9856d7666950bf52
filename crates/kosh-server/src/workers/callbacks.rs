//! The callback worker: one per node. On every tick it claims due deliverable outbox
//! events (bounded by free capacity, and per partner, so a slow partner cannot take
//! every slot), delivers each concurrently, and records every attempt and the event's
//! next state. It also deletes attempt records past `callbacks_attempts_retention_days`,
//! one bounded batch per tick until caught up, then hourly (injected clock). Nodes share nothing but rows: a claim is a lease in the outbox row, so a
//! crashed node's events come back when their lease runs out, and a late answer from a
//! lost lease is not recorded.

use super::outbound::{Answer, Failure, Outbound, Request};
use super::policy::Policies;
use crate::config::Config;
use crate::echelon::callbacks as echelon_callbacks;
use crate::eko::callbacks as eko_callbacks;
use crate::service::StoreError;
use kosh_core::events::Event;
use kosh_core::ids::PartnerId;
use kosh_core::secret::Secret;
use kosh_core::webhook;
use kosh_store::commands::callbacks::{PruneAttempts, Release};
use kosh_store::ops::callbacks::{
    self as ops, Attempt, ClaimRequest, Claimed, Finish, Next, TokenAck, ECHELON_CALLBACK, TOKEN_ACK,
};
use kosh_store::Store;
use rand::Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What every delivery task shares.
struct Ctx {
    store: Arc<Store>,
    outbound: Outbound,
    policies: Policies,
    stats: Arc<CallbackStats>,
}

/// How an attempt (or a claim that made none) ended, for metrics.
const OUTCOMES: [&str; 5] = ["delivered", "retry", "gave_up", "unconfigured", "lease_lost"];

/// Counters for `/metrics`: attempts by kind and outcome, deliveries in flight, and
/// attempt records pruned.
#[derive(Debug, Default)]
pub struct CallbackStats {
    outcomes: [[AtomicU64; OUTCOMES.len()]; ops::DELIVERABLE_KINDS.len()],
    in_flight: AtomicU64,
    pruned: AtomicU64,
}

impl CallbackStats {
    fn count(&self, kind: &str, outcome: &str) {
        let k = ops::DELIVERABLE_KINDS.iter().position(|d| *d == kind);
        let o = OUTCOMES.iter().position(|x| *x == outcome);
        if let (Some(k), Some(o)) = (k, o) {
            self.outcomes[k][o].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every (kind, outcome) counter, for `/metrics`.
    pub fn outcomes(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> + '_ {
        ops::DELIVERABLE_KINDS.iter().zip(&self.outcomes).flat_map(|(kind, row)| {
            OUTCOMES.iter().zip(row).map(move |(outcome, n)| (*kind, *outcome, n.load(Ordering::Relaxed)))
        })
    }

    /// Deliveries in flight on this node now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Attempt records pruned since start.
    pub fn pruned(&self) -> u64 {
        self.pruned.load(Ordering::Relaxed)
    }
}

/// The worker's own bounds.
struct Limits {
    tick: Duration,
    concurrency: usize,
    per_partner: usize,
    lease_ms: i64,
    /// How long stopping waits for deliveries in flight.
    drain: Duration,
    /// How long attempt records are kept (injected clock).
    retention_ms: i64,
}

/// How often (on the injected clock) a caught-up worker prunes old attempt records.
const PRUNE_EVERY_MS: i64 = 3_600_000;
/// How soon a failed prune is tried again.
const PRUNE_RETRY_MS: i64 = 60_000;

/// A running callback worker.
pub struct CallbackWorker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CallbackWorker {
    pub fn start(store: Arc<Store>, config: &Config, stats: Arc<CallbackStats>) -> CallbackWorker {
        let ctx = Arc::new(Ctx { store, outbound: Outbound::new(config), policies: Policies::from_config(config), stats });
        let timeout_ms = i64::try_from(config.callbacks_timeout_ms + config.callbacks_connect_timeout_ms).unwrap_or(i64::MAX / 4);
        let limits = Limits {
            tick: Duration::from_millis(config.callbacks_tick_ms),
            concurrency: config.callbacks_concurrency,
            per_partner: config.callbacks_per_partner_concurrency,
            // Well past the longest attempt, so a live worker never loses its lease.
            lease_ms: 2 * timeout_ms + 5_000,
            drain: Duration::from_millis(config.callbacks_timeout_ms + 1_000),
            retention_ms: i64::try_from(config.callbacks_attempts_retention_days).unwrap_or(3_650) * 86_400_000,
        };
        let (stop, stopped) = watch::channel(false);
        let node = format!("{:016x}", rand::rng().random::<u64>());
        let task = tokio::spawn(run(ctx, limits, node, stopped));
        CallbackWorker { stop, task }
    }

    /// Stops claiming, lets deliveries in flight finish (bounded), and hands back the
    /// events of any that did not, due at once.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the callback worker ended abnormally");
        }
    }
}

/// Deliveries in flight: their tasks, and per event its partner and lease token.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<i64>,
    events: HashMap<i64, (PartnerId, String)>,
    per_partner: HashMap<PartnerId, usize>,
}

impl InFlight {
    fn add(&mut self, ctx: &Arc<Ctx>, claimed: Claimed, lease_token: &str) {
        *self.per_partner.entry(claimed.partner_id).or_default() += 1;
        ctx.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        self.events.insert(claimed.id, (claimed.partner_id, lease_token.to_owned()));
        self.tasks.spawn(deliver(ctx.clone(), claimed, lease_token.to_owned()));
    }

    fn done(&mut self, ctx: &Ctx, id: i64) {
        let Some((partner_id, _)) = self.events.remove(&id) else { return };
        ctx.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(n) = self.per_partner.get_mut(&partner_id) {
            *n -= 1;
            if *n == 0 {
                self.per_partner.remove(&partner_id);
            }
        }
    }

    fn count(&self, partner_id: PartnerId) -> usize {
        self.per_partner.get(&partner_id).copied().unwrap_or(0)
    }
}

async fn run(ctx: Arc<Ctx>, limits: Limits, node: String, mut stopped: watch::Receiver<bool>) {
    let mut flight = InFlight::default();
    let mut claims = 0u64;
    let mut next_prune_at_ms = i64::MIN;
    tracing::info!(node = %node, concurrency = limits.concurrency, "callback worker started");
    loop {
        let free = limits.concurrency - flight.events.len();
        if free > 0 {
            claims += 1;
            let lease_token = format!("{node}-{claims}");
            if let Err(e) = claim_and_spawn(&ctx, &limits, &mut flight, free, &lease_token).await {
                tracing::warn!(error = %e, "claiming callbacks failed; retrying next tick");
            }
        }
        if ctx.store.now_ms() >= next_prune_at_ms {
            next_prune_at_ms = prune(&ctx, &limits).await;
        }
        let tick = tokio::time::sleep(limits.tick);
        tokio::pin!(tick);
        loop {
            tokio::select! {
                _ = stopped.changed() => return drain(&ctx, &limits, flight).await,
                _ = &mut tick => break,
                Some(done) = flight.tasks.join_next(), if !flight.tasks.is_empty() => {
                    if let Ok(id) = done {
                        flight.done(&ctx, id);
                    }
                    // Claim again early once a quarter of the slots are free.
                    if flight.events.len() * 4 <= limits.concurrency * 3 {
                        break;
                    }
                }
            }
        }
    }
}

async fn claim_and_spawn(
    ctx: &Arc<Ctx>,
    limits: &Limits,
    flight: &mut InFlight,
    free: usize,
    lease_token: &str,
) -> Result<(), StoreError> {
    if !ctx.store.callbacks_due().await? {
        return Ok(());
    }
    let exclude_partners: Vec<PartnerId> =
        flight.per_partner.iter().filter(|(_, n)| **n >= limits.per_partner).map(|(p, _)| *p).collect();
    let req = ClaimRequest {
        lease_until_ms: ctx.store.now_ms() + limits.lease_ms,
        lease_token: lease_token.to_owned(),
        limit: i64::try_from(free).unwrap_or(i64::MAX),
        per_partner: i64::try_from(limits.per_partner).unwrap_or(i64::MAX),
        exclude_partners,
    };
    let claimed = ctx.store.execute(req).await?;
    let mut excess = Vec::new();
    for c in claimed {
        if flight.count(c.partner_id) >= limits.per_partner {
            excess.push(c.id);
        } else {
            flight.add(ctx, c, lease_token);
        }
    }
    if !excess.is_empty() {
        release(ctx, excess, lease_token).await;
    }
    Ok(())
}

/// Deletes one bounded batch of attempt records older than the retention; answers when
/// to prune next: at the next tick while batches come back full, else in an hour.
async fn prune(ctx: &Ctx, limits: &Limits) -> i64 {
    let now_ms = ctx.store.now_ms();
    let cmd = PruneAttempts { before_ms: now_ms.saturating_sub(limits.retention_ms), limit: ops::PRUNE_BATCH };
    match ctx.store.execute(cmd).await {
        Ok(n) => {
            ctx.stats.pruned.fetch_add(n, Ordering::Relaxed);
            if n > 0 {
                tracing::debug!(deleted = n, "pruned callback attempts past their retention");
            }
            if i64::try_from(n).unwrap_or(i64::MAX) >= ops::PRUNE_BATCH {
                now_ms
            } else {
                now_ms + PRUNE_EVERY_MS
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "pruning callback attempts failed; trying again in a minute");
            now_ms + PRUNE_RETRY_MS
        }
    }
}

async fn release(ctx: &Ctx, ids: Vec<i64>, lease_token: &str) {
    let cmd = Release { ids, lease_token: lease_token.to_owned() };
    if let Err(e) = ctx.store.execute(cmd).await {
        tracing::warn!(error = %e, "handing back claimed callbacks failed; their lease will expire");
    }
}

/// Waits (bounded) for deliveries in flight, then cancels the rest and hands their
/// events back.
async fn drain(ctx: &Arc<Ctx>, limits: &Limits, mut flight: InFlight) {
    let deadline = tokio::time::sleep(limits.drain);
    tokio::pin!(deadline);
    while !flight.tasks.is_empty() {
        tokio::select! {
            _ = &mut deadline => break,
            Some(done) = flight.tasks.join_next() => if let Ok(id) = done { flight.done(ctx, id) },
        }
    }
    flight.tasks.abort_all();
    while flight.tasks.join_next().await.is_some() {}
    ctx.stats.in_flight.fetch_sub(flight.events.len() as u64, Ordering::Relaxed);
    let mut by_token: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, (_, token)) in flight.events.drain() {
        by_token.entry(token).or_default().push(id);
    }
    for (token, ids) in by_token {
        release(ctx, ids, &token).await;
    }
    tracing::info!("callback worker stopped");
}

/// The content type of every callback body today.
pub const JSON: &str = "application/json";

/// A callback body as a dialect renders it from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// Where and how one event is sent.
struct Target {
    url: String,
    body: Rendered,
    basic: Option<(String, Secret)>,
    headers: Vec<(String, Secret)>,
    secret: Option<Secret>,
    /// For a Token acknowledgement: the token it acknowledges.
    token: Option<String>,
}

/// Why an event cannot be attempted.
enum NoTarget {
    /// The partner configured no URL for it.
    Unconfigured(String),
    /// The payload cannot be delivered as written.
    Malformed(String),
    Store(String),
}

async fn target(store: &Store, c: &Claimed) -> Result<Target, NoTarget> {
    let store_err = |e: kosh_store::sql::SqlError| NoTarget::Store(e.to_string());
    let secret = store.callback_signing_secret(c.partner_id).await.map_err(store_err)?;
    let Delivery { url, body, token } = render(&c.kind, &c.payload).map_err(|e| NoTarget::Malformed(e.to_string()))?;
    if let Some(url) = url {
        ops::validate_url(&url).map_err(|e| NoTarget::Malformed(e.to_string()))?;
        return Ok(Target { url, body, basic: None, headers: Vec::new(), secret, token });
    }
    let kind = ops::endpoint_kind(&c.kind).ok_or_else(|| NoTarget::Malformed(format!("{} is not delivered", c.kind)))?;
    let Some(endpoint) = store.callback_endpoint(c.partner_id, kind).await.map_err(store_err)? else {
        return Err(NoTarget::Unconfigured(format!(
            "partner {} has no {kind} callback URL; set one (`kosh partner callbacks set --partner {} --kind {kind} --url …`), \
             then replay this event (`kosh callbacks replay {}`)",
            c.partner_id, c.partner_id, c.id
        )));
    };
    let basic = endpoint.basic_user.zip(endpoint.basic_password);
    Ok(Target { url: endpoint.url, body, basic, headers: endpoint.headers, secret, token })
}

/// What an outbox event is delivered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Where it goes when the event itself says (Echelon's `callbackUrl`); `None`: to
    /// the partner's endpoint of the event's kind.
    pub url: Option<String>,
    pub body: Rendered,
    /// For a Token acknowledgement: the token it acknowledges.
    pub token: Option<String>,
}

/// Renders a stored outbox payload of `kind` as it is delivered: a typed event by the
/// dialect it belongs to; an untyped payload (rows from before typed events, events
/// queued by hand) as it is stored. Pure, so every retry sends the same bytes.
pub fn render(kind: &str, payload: &str) -> Result<Delivery, RenderError> {
    let delivery = |url, body, token| Ok(Delivery { url, body, token });
    match typed_event(kind, payload)? {
        Some(Event::TransferStatusChanged(e)) => delivery(None, eko_callbacks::transfer_status(&e), None),
        Some(Event::BillPaymentStatusChanged(e)) => delivery(None, eko_callbacks::bill_payment_status(&e), None),
        Some(Event::TokenPaid(e)) => delivery(None, eko_callbacks::token_ack(&e), Some(e.token)),
        Some(Event::PayoutStatusChanged(e)) => delivery(None, eko_callbacks::payout_status(&e), None),
        Some(Event::PaymentStatusChanged(e)) => {
            let (url, body) = echelon_callbacks::payment_status(&e);
            delivery(Some(url.to_owned()), body, None)
        }
        Some(e @ Event::AepsTransactionChanged(_)) => Err(RenderError::Internal(e.kind())),
        Some(Event::QrPaymentStatusChanged(e)) => delivery(None, eko_callbacks::qr_status(&e), None),
        Some(Event::CmsPaymentStatusChanged(e)) => delivery(None, eko_callbacks::cms_status(&e), None),
        Some(Event::LoanChanged(e)) => delivery(None, eko_callbacks::loan_status(&e), None),
        None if kind == ECHELON_CALLBACK => {
            let (url, body) = stored_echelon(payload)?;
            delivery(Some(url), body, None)
        }
        None => delivery(None, Rendered { body: payload.as_bytes().to_vec(), content_type: JSON }, stored_token(payload)),
    }
}

/// Why a stored outbox payload cannot be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The event kind stays inside Kosh.
    #[error("{0} events are internal, never delivered")]
    Internal(&'static str),
    /// A typed event stored under another outbox kind.
    #[error("a {event} event cannot be delivered as {kind}")]
    WrongKind {
        /// The event's own kind.
        event: &'static str,
        /// The outbox kind it was stored under.
        kind: String,
    },
    /// The payload is not what its kind needs.
    #[error("{0}")]
    Malformed(String),
}

/// The payload's typed event, or `None` for an untyped payload.
fn typed_event(kind: &str, payload: &str) -> Result<Option<Event>, RenderError> {
    let Ok(payload) = serde_json::from_str::<Value>(payload) else { return Ok(None) };
    let event = Event::from_payload(&payload).map_err(RenderError::Malformed)?;
    match &event {
        Some(e) if ops::outbox_kind(e) != kind => Err(RenderError::WrongKind { event: e.kind(), kind: kind.to_owned() }),
        _ => Ok(event),
    }
}

/// An untyped Echelon payload: `{"url": …, "body": {…}}`.
fn stored_echelon(payload: &str) -> Result<(String, Rendered), RenderError> {
    let malformed =
        || RenderError::Malformed("an echelon.callback payload must be {\"url\": \"http…\", \"body\": {…}}".to_owned());
    let payload: Value = serde_json::from_str(payload).map_err(|e| RenderError::Malformed(e.to_string()))?;
    let url = payload["url"].as_str().filter(|u| ops::validate_url(u).is_ok()).ok_or_else(malformed)?;
    let body = payload.get("body").filter(|b| b.is_object()).ok_or_else(malformed)?;
    let body = Rendered { body: serde_json::to_vec(body).expect("JSON values serialise"), content_type: JSON };
    Ok((url.to_owned(), body))
}

/// Delivers one claimed event and records the outcome; answers the event id.
async fn deliver(ctx: Arc<Ctx>, c: Claimed, lease_token: String) -> i64 {
    let finish = match target(&ctx.store, &c).await {
        Ok(target) => attempt(&ctx, &c, &target, lease_token).await,
        Err(NoTarget::Store(e)) => {
            tracing::warn!(event = c.id, error = %e, "cannot read the callback's target; its lease will bring it back");
            return c.id;
        }
        Err(NoTarget::Unconfigured(reason)) => {
            Finish { id: c.id, lease_token, attempt: None, next: Next::Unconfigured, error: Some(reason), token_ack: None }
        }
        Err(NoTarget::Malformed(reason)) => {
            Finish { id: c.id, lease_token, attempt: None, next: Next::GiveUp, error: Some(reason), token_ack: None }
        }
    };
    let outcome = match finish.next {
        Next::Delivered => "delivered",
        Next::RetryAt(_) => "retry",
        Next::GiveUp => "gave_up",
        Next::Unconfigured => "unconfigured",
    };
    match ctx.store.execute(finish).await {
        Ok(false) => {
            ctx.stats.count(&c.kind, "lease_lost");
            tracing::warn!(event = c.id, "the lease on a callback ran out during its attempt; another worker owns it now");
        }
        Ok(true) => ctx.stats.count(&c.kind, outcome),
        Err(e) => tracing::warn!(event = c.id, error = %e, "recording a callback attempt failed; its lease will bring it back"),
    }
    c.id
}

/// The verdict on one attempt.
struct Verdict {
    status: Option<u16>,
    excerpt: Option<String>,
    error: Option<String>,
    partner_tid: Option<String>,
}

async fn attempt(ctx: &Ctx, c: &Claimed, target: &Target, lease_token: String) -> Finish {
    let started_at_ms = ctx.store.now_ms();
    let body = &target.body.body;
    let mut extra = vec![
        ("content-type", target.body.content_type.to_owned()),
        (webhook::EVENT_ID_HEADER, c.id.to_string()),
        ("x-kosh-attempt", (c.attempts + 1).to_string()),
    ];
    if let Some(secret) = &target.secret {
        extra.push((webhook::TIMESTAMP_HEADER, started_at_ms.to_string()));
        extra.push((webhook::SIGNATURE_HEADER, webhook::signature(secret.expose(), started_at_ms, body)));
        // Standard Webhooks, for receivers using that spec's libraries: only a `whsec_`
        // + base64 secret has the key bytes the spec signs with.
        if let Some(key) = webhook::standard::key(secret.expose()) {
            let (id, secs) = (c.id.to_string(), started_at_ms.div_euclid(1000));
            extra.push((webhook::standard::SIGNATURE_HEADER, webhook::standard::signature(&key, &id, secs, body)));
            extra.push((webhook::standard::TIMESTAMP_HEADER, secs.to_string()));
            extra.push((webhook::standard::ID_HEADER, id));
        }
    }
    let request = Request {
        get: false,
        url: &target.url,
        body: Some(body),
        basic: target.basic.as_ref().map(|(u, p)| (u.as_str(), p.expose())),
        headers: &target.headers,
        extra,
    };
    let clock = Instant::now();
    let result = ctx.outbound.send(request).await;
    let latency_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let verdict = judge(&c.kind, result);
    let succeeded = verdict.error.is_none();
    let attempt = Attempt {
        started_at_ms,
        url: target.url.clone(),
        request_body: String::from_utf8_lossy(body).into_owned(),
        response_status: verdict.status.map(i64::from),
        response_excerpt: verdict.excerpt,
        latency_ms,
        error: verdict.error.clone(),
        succeeded,
    };
    let (next, error) =
        if succeeded { (Next::Delivered, None) } else { schedule(ctx, c, started_at_ms, verdict.error.unwrap_or_default()) };
    let token_ack = target.token.clone().filter(|_| succeeded && c.kind == TOKEN_ACK);
    let token_ack = token_ack.map(|token| TokenAck { token, partner_tid: verdict.partner_tid });
    Finish { id: c.id, lease_token, attempt: Some(attempt), next, error, token_ack }
}

/// After a failed attempt: the next attempt per the kind's policy, or giving up.
fn schedule(ctx: &Ctx, c: &Claimed, attempted_at_ms: i64, reason: String) -> (Next, Option<String>) {
    let Some(policy) = ctx.policies.for_kind(&c.kind) else { return (Next::GiveUp, Some(reason)) };
    let max_jitter = ctx.policies.max_jitter_ms(&policy);
    let jitter = if max_jitter > 0 { rand::rng().random_range(0..=max_jitter) } else { 0 };
    let attempts = c.cycle_attempts + 1;
    match policy.next_attempt(c.cycle_started_at_ms, attempts, attempted_at_ms, jitter) {
        Some(at) => (Next::RetryAt(at), Some(reason)),
        None => (Next::GiveUp, Some(format!("gave up after {attempts} attempts (retry policy of {}); last: {reason}", c.kind))),
    }
}

/// The token an untyped acknowledgement payload names.
fn stored_token(payload: &str) -> Option<String> {
    let payload: Value = serde_json::from_str(payload).ok()?;
    Some(payload["token"].as_str()?.to_owned())
}

/// Success is HTTP 200 exactly (the seeds' and the Echelon spec's rule), with the
/// whole answer read within the limits; a Token acknowledgement must also answer JSON
/// (its `data.partner_tid` is kept).
fn judge(kind: &str, result: Result<Answer, Failure>) -> Verdict {
    let answer = match result {
        Ok(answer) => answer,
        Err(f) => return Verdict { status: f.status, excerpt: f.excerpt, error: Some(f.reason), partner_tid: None },
    };
    let mut verdict = Verdict { status: Some(answer.status), excerpt: Some(answer.excerpt()), error: None, partner_tid: None };
    if (300..400).contains(&answer.status) {
        let to = answer.location.as_deref().unwrap_or("no Location");
        verdict.error =
            Some(format!("HTTP {}: redirect to {to}; Kosh does not follow redirects, configure the final URL", answer.status));
    } else if answer.status == 401 || answer.status == 403 {
        verdict.error = Some(format!(
            "HTTP {}: the receiver refused Kosh's credentials (check the endpoint's Basic user and password, or its \
             extra headers); it must answer 200 to acknowledge",
            answer.status
        ));
    } else if answer.status != 200 {
        verdict.error = Some(format!("HTTP {}: the receiver must answer 200 to acknowledge", answer.status));
    } else if kind == TOKEN_ACK {
        match serde_json::from_slice::<Value>(&answer.body) {
            Ok(Value::Object(body)) => verdict.partner_tid = partner_tid(&body),
            _ => {
                verdict.error = Some(
                    "HTTP 200, but the answer is not a JSON object; the Acknowledgement API answers \
                     {\"status\":0, …, \"data\":{\"partner_tid\":…}}"
                        .into(),
                )
            }
        }
    }
    verdict
}

fn partner_tid(body: &serde_json::Map<String, Value>) -> Option<String> {
    match body.get("data")?.get("partner_tid")? {
        Value::String(s) if !s.is_empty() => Some(ops::truncate(s, 64).to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::events::TokenPaid;
    use kosh_core::money::Paise;
    use kosh_store::ops::callbacks::TX_STATUS;

    fn paid() -> Event {
        Event::TokenPaid(TokenPaid {
            token: "123456789012345".into(),
            partner_reference: "T-1".into(),
            customer: "9400000000".into(),
            customer_name: "Asha".into(),
            amount: Paise::new(150_000).unwrap(),
            tid: "42".into(),
        })
    }

    #[test]
    fn a_typed_event_is_rendered_by_its_dialect() {
        let stored = serde_json::to_string(&paid()).unwrap();
        let delivery = render(TOKEN_ACK, &stored).unwrap();
        let Event::TokenPaid(e) = paid() else { unreachable!() };
        assert_eq!(delivery, Delivery { url: None, body: eko_callbacks::token_ack(&e), token: Some(e.token) });
        let wrong = render(TX_STATUS, &stored).unwrap_err().to_string();
        assert!(wrong.contains("cannot be delivered as eko.tx_status"), "{wrong}");
    }

    #[test]
    fn an_untyped_payload_is_delivered_as_stored() {
        // A row written before typed events: the body itself, byte for byte.
        let old = r#"{"tx_status":0, "txstatus_desc":"Success","tid":7}"#;
        let delivery = render(TX_STATUS, old).unwrap();
        assert_eq!((delivery.url, delivery.body.body, delivery.token), (None, old.as_bytes().to_vec(), None));
        let ack = render(TOKEN_ACK, r#"{"token":"111","tid":"9"}"#).unwrap();
        assert_eq!(ack.token.as_deref(), Some("111"));
        let echelon = render(ECHELON_CALLBACK, r#"{"url":"http://127.0.0.1:9/cb","body":{"idEntity":"X"}}"#).unwrap();
        assert_eq!(echelon.url.as_deref(), Some("http://127.0.0.1:9/cb"));
        assert_eq!(echelon.body, Rendered { body: br#"{"idEntity":"X"}"#.to_vec(), content_type: JSON });
        assert!(render(ECHELON_CALLBACK, r#"{"body":{}}"#).unwrap_err().to_string().contains("must be {\"url\""));
    }
}
