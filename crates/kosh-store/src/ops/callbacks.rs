//! The callback engine's storage: per-partner endpoints and signing secrets, claiming
//! due outbox events under a lease, recording each attempt, and replaying.
//!
//! Delivery states of a deliverable outbox event ([`DELIVERABLE_KINDS`]):
//! `pending` (due at `due_at_ms`) → `delivering` (claimed; `due_at_ms` is the lease
//! expiry, after which any node may claim it again) → `delivered`, back to `pending`
//! (a retry), `failed` (the policy gave up) or `unconfigured` (the partner has no URL
//! for it). `failed` and `unconfigured` events are replayed by hand. Events of every
//! other kind are internal: they stay as written and no worker ever claims them.

use crate::error::{CmdResult, Rejection};
use crate::sql::{Conn, Dialect, Row, SqlError};
use kosh_core::events::Event;
use kosh_core::ids::PartnerId;
use kosh_core::secret::Secret;
use serde::{Deserialize, Serialize};

// A deliverable payload is a typed [`Event`] (what producers write; the worker renders
// the body) or, without an event `kind` tag, the body itself as it is sent (rows from
// before typed events, and events queued by hand).

/// An Eko transaction-status callback (DMT, payout, QR, CMS).
pub const TX_STATUS: &str = "eko.tx_status";
/// An Echelon callback; an untyped payload is `{"url": …, "body": {…}}`.
pub const ECHELON_CALLBACK: &str = "echelon.callback";
/// A Token acknowledgement.
pub const TOKEN_ACK: &str = "token.ack";
/// An AePS transaction's change: internal, never delivered.
pub const AEPS_TRANSACTION: &str = "aeps.transaction";
/// The outbox kinds the callback worker delivers; every other kind is internal.
pub const DELIVERABLE_KINDS: [&str; 3] = [TX_STATUS, ECHELON_CALLBACK, TOKEN_ACK];

/// The endpoint kinds a partner configures.
pub const ENDPOINT_KINDS: [&str; 4] = ["tx_status", "token_fetch", "token_ack", CMS_DEBIT_HOOK];
/// The endpoint kind of the partner's CMS debit-hook (asked before an agent is debited).
pub const CMS_DEBIT_HOOK: &str = "cms_debit_hook";
/// Most extra headers on one endpoint.
pub const MAX_HEADERS: usize = 8;
/// Longest extra header name.
pub const MAX_HEADER_NAME_LEN: usize = 64;
/// Longest extra header value.
pub const MAX_HEADER_VALUE_LEN: usize = 512;
/// Longest endpoint URL, in bytes.
pub const MAX_URL_LEN: usize = 1000;
/// Longest Basic user name or password.
pub const MAX_CREDENTIAL_LEN: usize = 128;
/// Headers Kosh sets itself, which an extra header must not replace.
const RESERVED_HEADERS: [&str; 6] =
    ["content-type", "content-length", "authorization", "host", "transfer-encoding", "connection"];
/// Longest request body stored with an attempt (the payload is bounded by its producer).
pub const MAX_STORED_BODY_LEN: usize = 16 * 1024;
/// Most events one claim takes, and most rows one list answers.
pub const MAX_CLAIM: i64 = 1_000;
/// Most rows one list answers.
pub const MAX_LIST: i64 = 500;

/// The endpoint kind whose URL an outbox kind is delivered to (`None`: the payload
/// carries its own URL, or the kind is not delivered).
pub fn endpoint_kind(event_kind: &str) -> Option<&'static str> {
    match event_kind {
        TX_STATUS => Some("tx_status"),
        TOKEN_ACK => Some("token_ack"),
        _ => None,
    }
}

/// The outbox kind (delivery channel, retry policy, endpoint) an event is queued on.
pub fn outbox_kind(event: &Event) -> &'static str {
    match event {
        Event::TransferStatusChanged(_) | Event::BillPaymentStatusChanged(_) | Event::PayoutStatusChanged(_) => TX_STATUS,
        Event::TokenPaid(_) => TOKEN_ACK,
        Event::PaymentStatusChanged(_) => ECHELON_CALLBACK,
        Event::AepsTransactionChanged(_) => AEPS_TRANSACTION,
        // A lender hears of its loans at its status callback URL.
        Event::QrPaymentStatusChanged(_) | Event::CmsPaymentStatusChanged(_) | Event::LoanChanged(_) => TX_STATUS,
    }
}

/// Whether events of `kind` are delivered to partners (others are internal).
pub fn is_deliverable(kind: &str) -> bool {
    DELIVERABLE_KINDS.contains(&kind)
}

/// Why a callback endpoint, URL or hand-queued payload was refused; the message says
/// what to fix (it is the text of [`crate::error::Rejection::InvalidCallbackConfig`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackConfigError {
    /// The outbox kind is not one Kosh delivers.
    #[error("{0:?} is not a deliverable kind; kinds are {kinds}", kinds = DELIVERABLE_KINDS.join(", "))]
    NotDeliverable(String),
    /// The payload is larger than the outbox keeps.
    #[error("the payload is larger than {} bytes", MAX_STORED_BODY_LEN)]
    PayloadTooLarge,
    /// The payload is not JSON.
    #[error("the payload is not JSON: {0}")]
    PayloadNotJson(String),
    /// The payload is JSON but not an object.
    #[error("the payload must be a JSON object")]
    PayloadNotObject,
    /// The payload names a typed event but does not hold one.
    #[error("{0}")]
    MalformedEvent(String),
    /// A typed event queued on another kind than its own.
    #[error("a {event} event is queued as {expected}, not {kind}")]
    WrongKind {
        /// The event's own kind.
        event: String,
        /// The outbox kind it belongs on.
        expected: &'static str,
        /// The kind it was queued as.
        kind: String,
    },
    /// An `echelon.callback` payload without its `url`.
    #[error("an echelon.callback payload is {{\"url\": …, \"body\": {{…}}}}")]
    EchelonPayloadShape,
    /// An `echelon.callback` payload whose `body` is not an object.
    #[error("an echelon.callback payload needs a JSON object \"body\"")]
    EchelonBodyNotObject,
    /// Not an `http(s)` URL.
    #[error("the URL must start with http:// or https://, not {0:?}")]
    UrlScheme(String),
    /// A URL past [`MAX_URL_LEN`].
    #[error("the URL is longer than {} characters", MAX_URL_LEN)]
    UrlTooLong,
    /// A URL without a host, or with whitespace.
    #[error("the URL {0:?} has no host or contains whitespace")]
    UrlNoHost(String),
    /// An endpoint kind Kosh does not know.
    #[error("unknown callback kind {0:?}; kinds are {kinds}", kinds = ENDPOINT_KINDS.join(", "))]
    UnknownKind(String),
    /// A Basic user that is empty, too long, or has ':' or control characters.
    #[error("the Basic user must be 1 to {} characters, without ':'", MAX_CREDENTIAL_LEN)]
    BasicUser,
    /// A Basic password that is too long or has control characters.
    #[error("the Basic password must be at most {} characters", MAX_CREDENTIAL_LEN)]
    BasicPassword,
    /// Only one half of Basic credentials.
    #[error("give both the Basic user and the Basic password, or neither")]
    BasicHalf,
    /// More extra headers than [`MAX_HEADERS`].
    #[error("at most {} extra headers", MAX_HEADERS)]
    TooManyHeaders,
    /// A header name that is not a short HTTP token.
    #[error("header name {0:?} must be 1 to {max} token characters", max = MAX_HEADER_NAME_LEN)]
    HeaderName(String),
    /// A header Kosh sets itself.
    #[error("header {0} is set by Kosh itself and cannot be configured")]
    ReservedHeader(String),
    /// A header value that is too long or has control characters.
    #[error("the value of header {0} must be at most {max} characters, without control characters", max = MAX_HEADER_VALUE_LEN)]
    HeaderValue(String),
}

/// Parses a hand-queued payload of a deliverable `kind`, checking its shape and size.
pub fn check_payload(kind: &str, payload_json: &str) -> Result<serde_json::Value, CallbackConfigError> {
    if !is_deliverable(kind) {
        return Err(CallbackConfigError::NotDeliverable(kind.to_owned()));
    }
    if payload_json.len() > MAX_STORED_BODY_LEN {
        return Err(CallbackConfigError::PayloadTooLarge);
    }
    let payload: serde_json::Value =
        serde_json::from_str(payload_json).map_err(|e| CallbackConfigError::PayloadNotJson(e.to_string()))?;
    if !payload.is_object() {
        return Err(CallbackConfigError::PayloadNotObject);
    }
    if let Some(event) = Event::from_payload(&payload).map_err(CallbackConfigError::MalformedEvent)? {
        return match outbox_kind(&event) {
            expected if expected == kind => Ok(payload),
            expected => Err(CallbackConfigError::WrongKind { event: event.kind().to_string(), expected, kind: kind.to_owned() }),
        };
    }
    if kind == ECHELON_CALLBACK {
        let url = payload["url"].as_str().ok_or(CallbackConfigError::EchelonPayloadShape)?;
        validate_url(url)?;
        if !payload["body"].is_object() {
            return Err(CallbackConfigError::EchelonBodyNotObject);
        }
    }
    Ok(payload)
}

/// A partner's endpoint for one kind of callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Which callbacks it receives (one of [`ENDPOINT_KINDS`]).
    pub kind: String,
    /// Where they are sent (an `http(s)` URL of at most [`MAX_URL_LEN`] bytes).
    pub url: String,
    /// The HTTP Basic user name, when the endpoint wants one.
    pub basic_user: Option<String>,
    /// The HTTP Basic password, with `basic_user`.
    pub basic_password: Option<Secret>,
    /// Extra headers sent with every request, in order (values may be credentials).
    pub headers: Vec<(String, Secret)>,
}

impl Endpoint {
    /// Checks every limit; the message says what to fix.
    pub fn validate(&self) -> Result<(), CallbackConfigError> {
        if !ENDPOINT_KINDS.contains(&self.kind.as_str()) {
            return Err(CallbackConfigError::UnknownKind(self.kind.clone()));
        }
        validate_url(&self.url)?;
        match (&self.basic_user, &self.basic_password) {
            (None, None) => {}
            (Some(user), Some(password)) => {
                let password = password.expose();
                if user.is_empty() || user.len() > MAX_CREDENTIAL_LEN || user.contains(':') || has_control(user) {
                    return Err(CallbackConfigError::BasicUser);
                }
                if password.len() > MAX_CREDENTIAL_LEN || has_control(password) {
                    return Err(CallbackConfigError::BasicPassword);
                }
            }
            _ => return Err(CallbackConfigError::BasicHalf),
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(CallbackConfigError::TooManyHeaders);
        }
        for (name, value) in &self.headers {
            let value = value.expose();
            let token = |b: u8| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b);
            if name.is_empty() || name.len() > MAX_HEADER_NAME_LEN || !name.bytes().all(token) {
                return Err(CallbackConfigError::HeaderName(name.clone()));
            }
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-kosh-") {
                return Err(CallbackConfigError::ReservedHeader(name.clone()));
            }
            if value.len() > MAX_HEADER_VALUE_LEN || has_control(value) {
                return Err(CallbackConfigError::HeaderValue(name.clone()));
            }
        }
        Ok(())
    }
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// A callback URL: `http://` or `https://`, a host, bounded, no whitespace.
pub fn validate_url(url: &str) -> Result<(), CallbackConfigError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else { return Err(CallbackConfigError::UrlScheme(url.to_owned())) };
    if url.len() > MAX_URL_LEN {
        return Err(CallbackConfigError::UrlTooLong);
    }
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CallbackConfigError::UrlNoHost(url.to_owned()));
    }
    Ok(())
}

fn endpoint_from_row(r: &Row) -> Result<Endpoint, SqlError> {
    let headers: Vec<(String, Secret)> =
        serde_json::from_str(&r.text("headers")?).map_err(|e| SqlError::Decode(e.to_string()))?;
    let basic_password = r.opt_text("basic_password")?.map(Secret::from);
    Ok(Endpoint { kind: r.text("kind")?, url: r.text("url")?, basic_user: r.opt_text("basic_user")?, basic_password, headers })
}

/// Creates or replaces the partner's endpoint of `e.kind`.
pub async fn put_endpoint(db: &mut impl Conn, partner_id: PartnerId, e: &Endpoint, now_ms: i64) -> CmdResult<()> {
    e.validate().map_err(|e| Rejection::InvalidCallbackConfig(e.to_string()))?;
    let headers = serde_json::to_string(&e.headers).expect("headers serialise");
    db.exec(
        "INSERT INTO callback_endpoints (partner_id, kind, url, basic_user, basic_password, headers, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (partner_id, kind) DO UPDATE SET url = excluded.url, \
         basic_user = excluded.basic_user, basic_password = excluded.basic_password, headers = excluded.headers, \
         updated_at_ms = excluded.updated_at_ms",
        &[
            partner_id.into(),
            (&e.kind).into(),
            (&e.url).into(),
            e.basic_user.as_ref().into(),
            e.basic_password.as_ref().map(Secret::expose).into(),
            (&headers).into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Removes an endpoint; answers whether there was one.
pub async fn delete_endpoint(db: &mut impl Conn, partner_id: PartnerId, kind: &str) -> Result<bool, SqlError> {
    Ok(db.exec("DELETE FROM callback_endpoints WHERE partner_id = $1 AND kind = $2", &[partner_id.into(), kind.into()]).await?
        > 0)
}

/// The partner's endpoint of `kind`.
pub async fn endpoint(db: &mut impl Conn, partner_id: PartnerId, kind: &str) -> Result<Option<Endpoint>, SqlError> {
    db.query_opt(
        "SELECT kind, url, basic_user, basic_password, headers FROM callback_endpoints WHERE partner_id = $1 AND kind = $2",
        &[partner_id.into(), kind.into()],
    )
    .await?
    .as_ref()
    .map(endpoint_from_row)
    .transpose()
}

/// Every endpoint of the partner.
pub async fn endpoints(db: &mut impl Conn, partner_id: PartnerId) -> Result<Vec<Endpoint>, SqlError> {
    let rows = db
        .query(
            "SELECT kind, url, basic_user, basic_password, headers FROM callback_endpoints WHERE partner_id = $1 ORDER BY kind",
            &[partner_id.into()],
        )
        .await?;
    rows.iter().map(endpoint_from_row).collect()
}

/// Sets (`Some`) or removes (`None`) the partner's signing secret.
pub async fn set_signing(db: &mut impl Conn, partner_id: PartnerId, secret: Option<&str>, now_ms: i64) -> CmdResult<()> {
    match secret {
        Some(secret) => {
            if !(16..=128).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(
                    Rejection::InvalidCallbackConfig("a signing secret is 16 to 128 printable ASCII characters".into()).into()
                );
            }
            db.exec(
                "INSERT INTO callback_signing (partner_id, secret, updated_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (partner_id) DO UPDATE SET secret = excluded.secret, updated_at_ms = excluded.updated_at_ms",
                &[partner_id.into(), secret.into(), now_ms.into()],
            )
            .await?;
        }
        None => {
            db.exec("DELETE FROM callback_signing WHERE partner_id = $1", &[partner_id.into()]).await?;
        }
    }
    Ok(())
}

/// The partner's signing secret, when callbacks are signed.
pub async fn signing_secret(db: &mut impl Conn, partner_id: PartnerId) -> Result<Option<Secret>, SqlError> {
    db.query_opt("SELECT secret FROM callback_signing WHERE partner_id = $1", &[partner_id.into()])
        .await?
        .map(|r| r.text("secret").map(Secret::from))
        .transpose()
}

/// An event a worker claimed: it holds the lease until `lease_until_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimed {
    /// The outbox id of the event.
    pub id: i64,
    /// The partner the event is for.
    pub partner_id: PartnerId,
    /// The event kind, which picks the endpoint.
    pub kind: String,
    /// The payload exactly as the producer wrote it.
    pub payload: String,
    /// Attempts before this one, over the event's life.
    pub attempts: i64,
    /// When the current retry cycle began (creation, or the last replay).
    pub cycle_started_at_ms: i64,
    /// Attempts before this one in the current cycle.
    pub cycle_attempts: i64,
}

/// What bounds one claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// The lease ends then (ms since the epoch); after it another worker may claim the event.
    pub lease_until_ms: i64,
    /// The claiming worker's token; only it may finish or release the events.
    pub lease_token: String,
    /// Most events in all.
    pub limit: i64,
    /// Most events of one partner.
    pub per_partner: i64,
    /// Partners whose events are not claimed now (the worker's busy ones).
    pub exclude_partners: Vec<PartnerId>,
}

/// How many due rows a claim looks at to rank per partner: enough that one partner's
/// backlog does not hide the others' due events.
const CLAIM_SCAN_FACTOR: i64 = 8;

const CLAIM_POSTGRES: &str = "WITH ranked AS ( \
       SELECT id, row_number() OVER (PARTITION BY partner_id ORDER BY due_at_ms, id) AS rn FROM ( \
         SELECT id, partner_id, due_at_ms FROM outbox \
         WHERE state IN ('pending', 'delivering') AND kind IN ('eko.tx_status', 'echelon.callback', 'token.ack') \
           AND due_at_ms <= $1 AND NOT (partner_id = ANY (string_to_array($2, ',')::bigint[])) \
         ORDER BY due_at_ms, id LIMIT $3) due \
     ), picked AS ( \
       SELECT o.id FROM outbox o JOIN ranked r ON r.id = o.id \
       WHERE r.rn <= $4 AND o.state IN ('pending', 'delivering') AND o.due_at_ms <= $1 \
       ORDER BY o.due_at_ms, o.id LIMIT $5 FOR UPDATE OF o SKIP LOCKED \
     ) \
     UPDATE outbox SET state = 'delivering', due_at_ms = $6, lease_token = $7, \
       cycle_started_at_ms = COALESCE(cycle_started_at_ms, created_at_ms) \
     FROM picked WHERE outbox.id = picked.id \
     RETURNING outbox.id, outbox.partner_id, outbox.kind, outbox.payload, outbox.attempts, \
       outbox.cycle_started_at_ms, outbox.cycle_attempts";

// SQLite has one writer, so the claim needs no row locks: it runs alone.
const CLAIM_SQLITE: &str = "UPDATE outbox SET state = 'delivering', due_at_ms = $6, lease_token = $7, \
       cycle_started_at_ms = COALESCE(cycle_started_at_ms, created_at_ms) \
     WHERE id IN (SELECT id FROM ( \
       SELECT id, due_at_ms, row_number() OVER (PARTITION BY partner_id ORDER BY due_at_ms, id) AS rn FROM ( \
         SELECT id, partner_id, due_at_ms FROM outbox \
         WHERE state IN ('pending', 'delivering') AND kind IN ('eko.tx_status', 'echelon.callback', 'token.ack') \
           AND due_at_ms <= $1 AND instr(',' || $2 || ',', ',' || partner_id || ',') = 0 \
         ORDER BY due_at_ms, id LIMIT $3)) \
       WHERE rn <= $4 ORDER BY due_at_ms, id LIMIT $5) \
     RETURNING id, partner_id, kind, payload, attempts, cycle_started_at_ms, cycle_attempts";

/// Claims due deliverable events, oldest first, at most `per_partner` of one partner.
/// On PostgreSQL, rows another node is claiming at the same moment are skipped.
pub async fn claim(db: &mut impl Conn, req: &ClaimRequest, now_ms: i64) -> Result<Vec<Claimed>, SqlError> {
    let limit = req.limit.clamp(0, MAX_CLAIM);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let exclude = req.exclude_partners.iter().map(PartnerId::to_string).collect::<Vec<_>>().join(",");
    let sql = match db.dialect() {
        Dialect::Postgres => CLAIM_POSTGRES,
        Dialect::Sqlite => CLAIM_SQLITE,
    };
    let params = [
        now_ms.into(),
        (&exclude).into(),
        (limit * CLAIM_SCAN_FACTOR).into(),
        req.per_partner.max(1).into(),
        limit.into(),
        req.lease_until_ms.into(),
        (&req.lease_token).into(),
    ];
    let rows = db.query(sql, &params).await?;
    let mut claimed = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                id: r.int("id")?,
                partner_id: r.id("partner_id")?,
                kind: r.text("kind")?,
                payload: r.text("payload")?,
                attempts: r.int("attempts")?,
                cycle_started_at_ms: r.int("cycle_started_at_ms")?,
                cycle_attempts: r.int("cycle_attempts")?,
            })
        })
        .collect::<Result<Vec<_>, SqlError>>()?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Whether any deliverable event is due (a cheap read before claiming).
pub async fn any_due(db: &mut impl Conn, now_ms: i64) -> Result<bool, SqlError> {
    Ok(db
        .query_opt(
            "SELECT id FROM outbox WHERE state IN ('pending', 'delivering') \
             AND kind IN ('eko.tx_status', 'echelon.callback', 'token.ack') AND due_at_ms <= $1 LIMIT 1",
            &[now_ms.into()],
        )
        .await?
        .is_some())
}

/// Hands claimed events back unattempted, due at once.
pub async fn release(db: &mut impl Conn, ids: &[i64], lease_token: &str, now_ms: i64) -> Result<u64, SqlError> {
    let mut released = 0;
    for id in ids {
        released += db
            .exec(
                "UPDATE outbox SET state = 'pending', due_at_ms = $3, lease_token = NULL \
                 WHERE id = $1 AND lease_token = $2 AND state = 'delivering'",
                &[(*id).into(), lease_token.into(), now_ms.into()],
            )
            .await?;
    }
    Ok(released)
}

/// One delivery attempt, as it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When the request started (ms since the epoch).
    pub started_at_ms: i64,
    /// Where it was sent.
    pub url: String,
    /// The body sent, at most [`MAX_STORED_BODY_LEN`] bytes of it.
    pub request_body: String,
    /// The HTTP status, when a response came.
    pub response_status: Option<i64>,
    /// The start of the response body, for the operator.
    pub response_excerpt: Option<String>,
    /// How long the request took, in ms.
    pub latency_ms: i64,
    /// Why it failed (connection, timeout, status), when it did.
    pub error: Option<String>,
    /// Whether the receiver accepted it (no error).
    pub succeeded: bool,
}

/// What happens to an event after an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Next {
    /// The receiver accepted it: done.
    Delivered,
    /// Try again then (ms since the epoch).
    RetryAt(i64),
    /// Attempts are exhausted: the event failed (an operator may replay it).
    GiveUp,
    /// No attempt was made: the partner has no URL for this kind.
    Unconfigured,
}

/// The end of one claim of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    /// The outbox id of the event.
    pub id: i64,
    /// The lease the event was claimed under; a lost lease records nothing.
    pub lease_token: String,
    /// The attempt made, if one was.
    pub attempt: Option<Attempt>,
    /// What happens to the event now.
    pub next: Next,
    /// Why the event is not delivered (yet), for the operator.
    pub error: Option<String>,
    /// For a delivered Token acknowledgement: the token and the partner's reference.
    pub token_ack: Option<TokenAck>,
}

/// A delivered Token acknowledgement, which marks the token acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAck {
    /// The token acknowledged.
    pub token: String,
    /// The issuing partner's own transaction reference from its answer, if it gave one.
    pub partner_tid: Option<String>,
}

/// Records an attempt and the event's next state, if this worker still holds the
/// lease; answers `None` when the lease was lost (another node took the event over),
/// else the event's partner and kind.
pub async fn finish(db: &mut impl Conn, f: &Finish, now_ms: i64) -> Result<Option<(PartnerId, String)>, SqlError> {
    let (state, due) = match f.next {
        Next::Delivered => ("delivered", now_ms),
        Next::RetryAt(at) => ("pending", at),
        Next::GiveUp => ("failed", now_ms),
        Next::Unconfigured => ("unconfigured", now_ms),
    };
    let counted = i64::from(f.attempt.is_some());
    let row = db
        .query_opt(
            "UPDATE outbox SET state = $3, due_at_ms = $4, lease_token = NULL, attempts = attempts + $5, \
               cycle_attempts = cycle_attempts + $5, last_attempt_at_ms = COALESCE($6, last_attempt_at_ms), \
               delivered_at_ms = CASE WHEN $3 = 'delivered' THEN $7 ELSE delivered_at_ms END, last_error = $8 \
             WHERE id = $1 AND lease_token = $2 AND state = 'delivering' \
             RETURNING partner_id, kind, attempts",
            &[
                f.id.into(),
                (&f.lease_token).into(),
                state.into(),
                due.into(),
                counted.into(),
                f.attempt.as_ref().map(|a| a.started_at_ms).into(),
                now_ms.into(),
                f.error.as_ref().into(),
            ],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let (partner_id, kind, attempts) = (row.id::<PartnerId>("partner_id")?, row.text("kind")?, row.int("attempts")?);
    if let Some(a) = &f.attempt {
        db.exec(
            "INSERT INTO callback_attempts (outbox_id, partner_id, attempt_no, started_at_ms, url, request_body, \
               response_status, response_excerpt, latency_ms, error, succeeded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                f.id.into(),
                partner_id.into(),
                attempts.into(),
                a.started_at_ms.into(),
                (&a.url).into(),
                truncate(&a.request_body, MAX_STORED_BODY_LEN).into(),
                a.response_status.into(),
                a.response_excerpt.as_ref().into(),
                a.latency_ms.into(),
                a.error.as_ref().into(),
                i64::from(a.succeeded).into(),
            ],
        )
        .await?;
    }
    Ok(Some((partner_id, kind)))
}

/// Most attempt records one prune deletes (the worker prunes again while batches are full).
pub const PRUNE_BATCH: i64 = 1_000;

/// Deletes up to `limit` (at most [`PRUNE_BATCH`]) attempt records that started before
/// `before_ms`, oldest first; answers how many it deleted. The events keep their state
/// and attempt count. Nodes may prune at once: a row another node deleted is skipped.
pub async fn prune_attempts(db: &mut impl Conn, before_ms: i64, limit: i64) -> Result<u64, SqlError> {
    db.exec(
        "DELETE FROM callback_attempts WHERE id IN ( \
           SELECT id FROM callback_attempts WHERE started_at_ms < $1 ORDER BY started_at_ms LIMIT $2)",
        &[before_ms.into(), limit.clamp(1, PRUNE_BATCH).into()],
    )
    .await
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Queues a failed or unconfigured event again, due now, with a fresh retry cycle.
pub async fn replay(db: &mut impl Conn, id: i64, now_ms: i64) -> CmdResult<CallbackEvent> {
    let event = event(db, id).await?.ok_or(Rejection::CallbackNotFound)?;
    if !is_deliverable(&event.kind) {
        return Err(Rejection::CallbackNotReplayable(format!("{} events are internal and never delivered", event.kind)).into());
    }
    if !matches!(event.state.as_str(), "failed" | "unconfigured") {
        let why = match event.state.as_str() {
            "delivered" => "it was delivered already".to_owned(),
            other => format!("it is {other} (still queued)"),
        };
        return Err(Rejection::CallbackNotReplayable(why).into());
    }
    db.exec(
        "UPDATE outbox SET state = 'pending', due_at_ms = $2, cycle_started_at_ms = $2, cycle_attempts = 0, \
           lease_token = NULL WHERE id = $1",
        &[id.into(), now_ms.into()],
    )
    .await?;
    Ok(self::event(db, id).await?.ok_or(Rejection::CallbackNotFound)?)
}

/// An outbox event with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackEvent {
    /// The outbox id.
    pub id: i64,
    /// The partner the event is for.
    pub partner_id: PartnerId,
    /// The event kind (`eko.tx_status`, `echelon.callback`, …).
    pub kind: String,
    /// The payload exactly as the producer wrote it (JSON text).
    pub payload: String,
    /// `pending`, `delivering`, `delivered`, `failed`, `unconfigured`; internal events
    /// keep the state they were written with.
    pub state: String,
    /// Delivery attempts so far, over the event's life.
    pub attempts: i64,
    /// When it is next due for delivery (ms since the epoch).
    pub due_at_ms: i64,
    /// When the producer wrote it (ms since the epoch).
    pub created_at_ms: i64,
    /// When the current retry cycle began (creation, or the last replay).
    pub cycle_started_at_ms: Option<i64>,
    /// When the last attempt started.
    pub last_attempt_at_ms: Option<i64>,
    /// When it was delivered, if it was.
    pub delivered_at_ms: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

impl CallbackEvent {
    /// Whether the event is delivered to partners (not internal).
    pub fn deliverable(&self) -> bool {
        is_deliverable(&self.kind)
    }
}

fn event_from_row(r: &Row) -> Result<CallbackEvent, SqlError> {
    Ok(CallbackEvent {
        id: r.int("id")?,
        partner_id: r.id("partner_id")?,
        kind: r.text("kind")?,
        payload: r.text("payload")?,
        state: r.text("state")?,
        attempts: r.int("attempts")?,
        due_at_ms: r.int("due_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
        cycle_started_at_ms: r.opt_int("cycle_started_at_ms")?,
        last_attempt_at_ms: r.opt_int("last_attempt_at_ms")?,
        delivered_at_ms: r.opt_int("delivered_at_ms")?,
        last_error: r.opt_text("last_error")?,
    })
}

/// The event with this outbox id.
pub async fn event(db: &mut impl Conn, id: i64) -> Result<Option<CallbackEvent>, SqlError> {
    db.query_opt(
        "SELECT id, partner_id, kind, payload, state, attempts, due_at_ms, created_at_ms, \
           cycle_started_at_ms, last_attempt_at_ms, delivered_at_ms, last_error FROM outbox WHERE id = $1",
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(event_from_row)
    .transpose()
}

/// Which events a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Only this partner's events.
    pub partner_id: Option<PartnerId>,
    /// Only events in this state.
    pub state: Option<String>,
    /// Only events of this kind.
    pub kind: Option<String>,
    /// Internal events too (by default only deliverable ones).
    pub include_internal: bool,
    /// Only events with a smaller id (paging, newest first).
    pub before_id: Option<i64>,
    /// Most events answered (clamped to 1..=[`MAX_LIST`]).
    pub limit: i64,
}

/// Events matching the filter, newest first.
pub async fn events(db: &mut impl Conn, f: &EventFilter) -> Result<Vec<CallbackEvent>, SqlError> {
    let rows = db
        .query(
            "SELECT id, partner_id, kind, payload, state, attempts, due_at_ms, created_at_ms, \
               cycle_started_at_ms, last_attempt_at_ms, delivered_at_ms, last_error FROM outbox \
             WHERE (CAST($1 AS BIGINT) IS NULL OR partner_id = $1) AND (CAST($2 AS TEXT) IS NULL OR state = $2) \
               AND (CAST($3 AS TEXT) IS NULL OR kind = $3) AND (CAST($4 AS BIGINT) IS NULL OR id < $4) \
               AND ($5 = 1 OR kind IN ('eko.tx_status', 'echelon.callback', 'token.ack')) \
             ORDER BY id DESC LIMIT $6",
            &[
                f.partner_id.into(),
                f.state.as_ref().into(),
                f.kind.as_ref().into(),
                f.before_id.into(),
                i64::from(f.include_internal).into(),
                f.limit.clamp(1, MAX_LIST).into(),
            ],
        )
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// A recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The attempt's number, from 1, over the event's life.
    pub attempt_no: i64,
    /// What happened.
    pub attempt: Attempt,
}

/// The attempts of an event, oldest first (at most the newest 1000).
pub async fn attempts(db: &mut impl Conn, outbox_id: i64) -> Result<Vec<AttemptRecord>, SqlError> {
    let rows = db
        .query(
            "SELECT attempt_no, started_at_ms, url, request_body, response_status, response_excerpt, latency_ms, error, \
               succeeded FROM (SELECT * FROM callback_attempts WHERE outbox_id = $1 ORDER BY id DESC LIMIT 1000) newest \
             ORDER BY attempt_no",
            &[outbox_id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AttemptRecord {
                attempt_no: r.int("attempt_no")?,
                attempt: Attempt {
                    started_at_ms: r.int("started_at_ms")?,
                    url: r.text("url")?,
                    request_body: r.text("request_body")?,
                    response_status: r.opt_int("response_status")?,
                    response_excerpt: r.opt_text("response_excerpt")?,
                    latency_ms: r.int("latency_ms")?,
                    error: r.opt_text("error")?,
                    succeeded: r.int("succeeded")? != 0,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint { kind: "tx_status".into(), url: url.into(), basic_user: None, basic_password: None, headers: Vec::new() }
    }

    /// The validators answer a typed error whose text is what partners and operators
    /// have always been shown.
    #[test]
    fn validators_answer_typed_errors_with_the_same_messages() {
        assert_eq!(validate_url("ftp://x"), Err(CallbackConfigError::UrlScheme("ftp://x".into())));
        assert_eq!(
            validate_url("https:// x").unwrap_err().to_string(),
            "the URL \"https:// x\" has no host or contains whitespace"
        );
        let long = format!("https://{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(validate_url(&long).unwrap_err().to_string(), "the URL is longer than 1000 characters");
        let half = Endpoint { basic_user: Some("eko".into()), ..endpoint("https://p.example/cb") };
        assert_eq!(half.validate(), Err(CallbackConfigError::BasicHalf));
        let reserved = Endpoint { headers: vec![("X-Kosh-Signature".into(), "v".into())], ..endpoint("https://p.example/cb") };
        assert_eq!(
            reserved.validate().unwrap_err().to_string(),
            "header X-Kosh-Signature is set by Kosh itself and cannot be configured"
        );
        assert!(endpoint("https://p.example/cb").validate().is_ok());
        let not_deliverable = check_payload("nope", "{}").unwrap_err();
        assert!(not_deliverable.to_string().starts_with("\"nope\" is not a deliverable kind; kinds are "), "{not_deliverable}");
        assert_eq!(check_payload(TX_STATUS, "[1]"), Err(CallbackConfigError::PayloadNotObject));
        assert_eq!(
            check_payload(ECHELON_CALLBACK, "{}").unwrap_err().to_string(),
            "an echelon.callback payload is {\"url\": …, \"body\": {…}}"
        );
    }
}
