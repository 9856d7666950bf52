//! A reference partner callback for the AePS gateway (feature `aeps-callback`): the
//! server side `seeds/001_*` asks every partner to build, done correctly, as an axum
//! router to mount at your `callback_url`.
//!
//! - **CORS** for the gateway's origin: `OPTIONS` answers `Access-Control-Allow-Methods:
//!   POST, OPTIONS`, `Access-Control-Allow-Origin: <gateway origin>`,
//!   `Access-Control-Allow-Headers: Content-Type` (plus your custom headers); `POST`
//!   answers `Access-Control-Allow-Origin`.
//! - **debit-hook**: checks the transaction (type, agent, amount limit), asks your
//!   [`Policy`], records it as pending in your [`CallbackStore`], and answers
//!   `{"action":"go","allow":true,"secret_key","secret_key_timestamp","request_hash"}`
//!   signed with your access key (request_hash over the timestamp and the
//!   `request_hash_params` present in `detail.data`, in order), or `allow:false` with a
//!   message for the agent. A transaction the store could not record is refused.
//! - **eko-response**: records the result it reports (`tx_status` 0 success, 1 failed,
//!   2 inquiry required, anything else suspicious) as an [`UnverifiedReport`].
//!
//! # eko-responses are not proof
//!
//! The gateway page sends every callback request **from the agent's browser**; an
//! eko-response carries no signature, so anyone who can reach your callback URL (the
//! agent included) can post one that says anything. The debit-hook is safe to answer
//! because your signed confirmation is what Kosh checks before moving money; an
//! eko-response is only news. Before you act on one (credit an agent, release goods,
//! mark a payment final), confirm the transaction from your server with the AePS
//! transaction inquiry: [`inquiry`] (`GET /ekoapi/v2/aeps/transactions/client_ref_id:…`,
//! signed with your keys), and act on what it answers.
//!
//! Storage is pluggable: [`MemoryStore`] (the default) keeps the latest [`MAX_RECORDS`]
//! in memory, enough for tests and demos; implement [`CallbackStore`] over your
//! database and pass it to [`AepsCallback::with_store`].
//!
//! ```no_run
//! # use kosh_sdk::aeps_callback::{AepsCallback, CallbackConfig};
//! # use kosh_sdk::eko::Credentials;
//! let callback = AepsCallback::new(CallbackConfig::new(Credentials::sandbox(), "https://gateway.example"));
//! let app: axum::Router = axum::Router::new().merge(callback.router("/eko_aeps_callback"));
//! ```

use crate::eko::{Answer, Client, Credentials};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kosh_core::aeps::{meaning_of, TxStatusMeaning, MAX_WITHDRAWAL_PAISE};
use kosh_core::clock::{SharedClock, SystemClock};
use kosh_core::money::Paise;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Most transactions and responses [`MemoryStore`] keeps (oldest dropped first).
pub const MAX_RECORDS: usize = 1000;
/// Most `request_hash_params` a debit-hook may list.
const MAX_HASH_PARAMS: usize = 16;
/// What the agent sees when the store could not record a transaction.
const NOT_RECORDED: &str = "The transaction could not be recorded by the partner. Please try again";

/// A debit-hook, read: what the gateway is about to do.
#[derive(Debug, Clone, PartialEq)]
pub struct DebitHook {
    pub client_ref_id: String,
    /// "2" cash withdrawal, "3" balance enquiry, "4" mini statement.
    pub tx_type: String,
    pub customer_id: String,
    pub user_code: String,
    pub bank_code: String,
    /// Rupees, as the gateway wrote them (cash withdrawals only).
    pub amount: Option<String>,
    /// The whole `detail`, custom parameters included.
    pub detail: Value,
}

/// What the partner decides about a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allow; optionally with the partner's own client_ref_id (≤ 20 characters).
    Allow { client_ref_id: Option<String> },
    /// Refuse; the message is shown to the agent.
    Deny { message: String },
}

/// Decides each debit-hook after the reference checks passed.
pub type Policy = Arc<dyn Fn(&DebitHook) -> Decision + Send + Sync>;

pub struct CallbackConfig {
    /// Your credentials: the access key signs the confirmation.
    pub credentials: Credentials,
    /// The gateway page's origin, exactly as the browser sends it in `Origin`.
    pub gateway_origin: String,
    /// Agents (user_codes) you accept; empty accepts any.
    pub user_codes: Vec<String>,
    /// Custom headers your gateway configuration adds (`callback_url_custom_headers`).
    pub custom_headers: Vec<String>,
    pub policy: Policy,
    pub clock: SharedClock,
}

impl CallbackConfig {
    /// Allows every well-formed transaction, on the wall clock.
    pub fn new(credentials: Credentials, gateway_origin: impl Into<String>) -> CallbackConfig {
        CallbackConfig {
            credentials,
            gateway_origin: gateway_origin.into(),
            user_codes: Vec::new(),
            custom_headers: Vec::new(),
            policy: Arc::new(|_| Decision::Allow { client_ref_id: None }),
            clock: Arc::new(SystemClock),
        }
    }
}

/// What the callback knows about one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The gateway's client_ref_id from the debit-hook.
    pub gateway_ref: String,
    /// The client_ref_id the transaction carries (yours, if you sent one): the one to
    /// inquire with.
    pub client_ref_id: String,
    pub hook: DebitHook,
    pub status: Status,
}

/// Where a transaction stands as far as the callback knows.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Allowed; no eko-response has arrived.
    Pending,
    Denied {
        message: String,
    },
    /// An eko-response arrived reporting this. **Unverified**: see [`UnverifiedReport`].
    Reported(UnverifiedReport),
}

/// What an eko-response *claims* happened to a transaction, by its `tx_status`.
///
/// Unverified: eko-responses reach you from the agent's browser, without any signature,
/// so anyone able to reach your callback URL can send one saying anything. Never act on
/// a report; confirm the transaction from your server with [`inquiry`] (the AePS
/// transaction inquiry) and act on what that answers.
#[derive(Debug, Clone, PartialEq)]
pub enum UnverifiedReport {
    /// `tx_status` 0.
    Successful { tid: String },
    /// `tx_status` 1.
    Failed { tid: String, reason: String },
    /// `tx_status` 2: "do the transaction inquiry".
    InquiryRequired { tid: String },
    /// Any other `tx_status`: suspicious, contact the platform.
    Suspicious { tx_status: String },
}

/// Where the callback keeps what it learns. [`MemoryStore`] is the default; implement
/// this over your database to keep transactions across restarts and nodes.
///
/// A debit-hook is recorded before it is answered: when [`record_hook`](Self::record_hook)
/// fails, the callback answers `allow: false`, so no transaction goes ahead that you
/// have no record of. When [`record_response`](Self::record_response) fails, the
/// eko-response is answered with HTTP 500.
pub trait CallbackStore: Send + Sync + 'static {
    /// Records a transaction as first decided: [`Status::Pending`] or [`Status::Denied`].
    fn record_hook(&self, tx: Transaction) -> impl Future<Output = Result<(), String>> + Send;

    /// Records an eko-response for the transaction with `client_ref_id`: the
    /// [unverified](UnverifiedReport) report it carries, and its whole body.
    fn record_response(
        &self,
        client_ref_id: String,
        report: UnverifiedReport,
        body: Value,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The default store: the latest [`MAX_RECORDS`] transactions and eko-response bodies,
/// in memory (lost on restart, not shared between nodes).
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<Records>,
}

#[derive(Default)]
struct Records {
    transactions: VecDeque<Transaction>,
    responses: VecDeque<Value>,
}

impl MemoryStore {
    /// Every transaction seen, oldest first.
    pub fn transactions(&self) -> Vec<Transaction> {
        self.records.lock().expect("records lock").transactions.iter().cloned().collect()
    }

    /// Every `eko-response` body received, oldest first. Unverified, like their reports.
    pub fn responses(&self) -> Vec<Value> {
        self.records.lock().expect("records lock").responses.iter().cloned().collect()
    }
}

impl CallbackStore for MemoryStore {
    async fn record_hook(&self, tx: Transaction) -> Result<(), String> {
        let mut records = self.records.lock().expect("records lock");
        if records.transactions.len() >= MAX_RECORDS {
            records.transactions.pop_front();
        }
        records.transactions.push_back(tx);
        Ok(())
    }

    async fn record_response(&self, client_ref_id: String, report: UnverifiedReport, body: Value) -> Result<(), String> {
        let mut records = self.records.lock().expect("records lock");
        if let Some(tx) = records.transactions.iter_mut().rev().find(|t| t.client_ref_id == client_ref_id) {
            tx.status = Status::Reported(report);
        }
        if records.responses.len() >= MAX_RECORDS {
            records.responses.pop_front();
        }
        records.responses.push_back(body);
        Ok(())
    }
}

/// Why a callback request was not answered normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackError {
    /// Not a callback request the gateway would send: answer HTTP 400.
    Malformed(String),
    /// The store failed to record an eko-response: answer HTTP 500.
    Store(String),
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed callback request: {m}"),
            Self::Store(m) => write!(f, "cannot record the eko-response: {m}"),
        }
    }
}

impl std::error::Error for CallbackError {}

/// The path of the AePS transaction inquiry for `client_ref_id`, relative to the API's
/// v2 base (`https://kosh.example/ekoapi/v2`).
pub fn inquiry_path(client_ref_id: &str) -> String {
    let encoded: String = client_ref_id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("/aeps/transactions/client_ref_id:{encoded}")
}

/// Asks the platform, from your server, where the transaction with `client_ref_id`
/// really stands: the AePS transaction inquiry, signed with `client`'s credentials.
/// `client` is based at the API's v2 prefix (`Client::new("https://kosh.example/ekoapi/v2", …)`).
/// Its `data.tx_status` is the answer to act on, not an eko-response's.
pub async fn inquiry(client: &Client, client_ref_id: &str) -> Result<Answer, reqwest::Error> {
    client.get(&inquiry_path(client_ref_id), &[]).await
}

/// The reference callback, keeping what it learns in `S` (by default in memory).
pub struct AepsCallback<S: CallbackStore = MemoryStore> {
    config: CallbackConfig,
    store: S,
}

impl AepsCallback {
    /// A callback that keeps its records in a [`MemoryStore`].
    pub fn new(config: CallbackConfig) -> Arc<AepsCallback> {
        Self::with_store(config, MemoryStore::default())
    }

    /// Every transaction seen, oldest first (see [`MemoryStore::transactions`]).
    pub fn transactions(&self) -> Vec<Transaction> {
        self.store.transactions()
    }

    /// Every `eko-response` body received, oldest first. Unverified.
    pub fn responses(&self) -> Vec<Value> {
        self.store.responses()
    }
}

impl<S: CallbackStore> AepsCallback<S> {
    /// A callback that keeps its records in your `store`.
    pub fn with_store(config: CallbackConfig, store: S) -> Arc<AepsCallback<S>> {
        Arc::new(AepsCallback { config, store })
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The callback's routes at `path` (OPTIONS and POST).
    pub fn router(self: &Arc<Self>, path: &str) -> Router {
        Router::new().route(path, post(handle::<S>).options(preflight::<S>)).with_state(self.clone())
    }

    fn cors(&self, response: &mut Response, preflight: bool) {
        let headers = response.headers_mut();
        if let Ok(origin) = HeaderValue::from_str(&self.config.gateway_origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
            let allowed = std::iter::once("Content-Type".to_owned()).chain(self.config.custom_headers.iter().cloned());
            if let Ok(value) = HeaderValue::from_str(&allowed.collect::<Vec<_>>().join(", ")) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
            }
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }

    /// Answers a callback request body, without HTTP: for partners whose web framework
    /// is not axum. `Ok` is the JSON to answer with HTTP 200.
    pub async fn answer(&self, body: &Value) -> Result<Value, CallbackError> {
        match body["action"].as_str() {
            Some("debit-hook") => self.debit_hook(&body["detail"]).await.map_err(CallbackError::Malformed),
            Some("eko-response") => {
                self.eko_response(body).await.map_err(CallbackError::Store)?;
                Ok(json!({ "status": "ok" }))
            }
            _ => Err(CallbackError::Malformed("action must be debit-hook or eko-response".into())),
        }
    }

    /// Answers a debit-hook: checks, decides, records, signs.
    async fn debit_hook(&self, detail: &Value) -> Result<Value, String> {
        let hook = read_hook(detail)?;
        let decision = self.check(&hook).unwrap_or_else(|| (self.config.policy)(&hook));
        let gateway_ref = hook.client_ref_id.clone();
        let (tx, answer) = match decision {
            Decision::Deny { message } => {
                let answer = json!({ "action": "go", "allow": false, "message": message });
                let status = Status::Denied { message };
                (Transaction { client_ref_id: gateway_ref.clone(), gateway_ref, hook, status }, answer)
            }
            Decision::Allow { client_ref_id } => {
                let mut answer = self.sign(detail)?;
                if let Some(own) = &client_ref_id {
                    answer["client_ref_id"] = json!(own);
                }
                let client_ref_id = client_ref_id.unwrap_or_else(|| gateway_ref.clone());
                (Transaction { gateway_ref, client_ref_id, hook, status: Status::Pending }, answer)
            }
        };
        match self.store.record_hook(tx).await {
            Ok(()) => Ok(answer),
            Err(_) => Ok(json!({ "action": "go", "allow": false, "message": NOT_RECORDED })),
        }
    }

    /// The reference checks every partner should make before allowing.
    fn check(&self, hook: &DebitHook) -> Option<Decision> {
        let deny = |message: &str| Some(Decision::Deny { message: message.into() });
        if !self.config.user_codes.is_empty() && !self.config.user_codes.contains(&hook.user_code) {
            return deny("This agent is not registered with us");
        }
        match (hook.tx_type.as_str(), &hook.amount) {
            ("2", Some(amount)) => match Paise::parse_rupees(amount) {
                Ok(p) if !p.is_zero() && p.get() <= MAX_WITHDRAWAL_PAISE => None,
                _ => deny("The amount is not allowed"),
            },
            ("2", None) => deny("The amount is missing"),
            ("3" | "4", _) => None,
            _ => deny("Unknown transaction type"),
        }
    }

    /// `{"action":"go","allow":true,…}` signed over the listed params present in `data`.
    fn sign(&self, detail: &Value) -> Result<Value, String> {
        let params = detail["request_hash_params"].as_array().ok_or("detail.request_hash_params must be a list")?;
        if params.len() > MAX_HASH_PARAMS {
            return Err("detail.request_hash_params is too long".into());
        }
        let values: Vec<String> = params
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|name| match &detail["data"][name] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        let fields: Vec<&str> = values.iter().map(String::as_str).collect();
        let now = self.config.clock.now_ms();
        let signed = self.config.credentials.sign(now);
        Ok(json!({
            "action": "go",
            "allow": true,
            "secret_key_timestamp": signed.secret_key_timestamp,
            "secret_key": signed.secret_key,
            "request_hash": self.config.credentials.request_hash(now, &fields),
        }))
    }

    /// Records an eko-response and the (unverified) status it reports.
    async fn eko_response(&self, body: &Value) -> Result<(), String> {
        let detail = &body["detail"];
        let data = &detail["response"]["data"];
        let text = |v: &Value| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|n| n.to_string())).unwrap_or_default();
        let tid = text(&data["tid"]);
        let tx_status = text(&data["tx_status"]);
        let report = match meaning_of(&tx_status) {
            TxStatusMeaning::Successful => UnverifiedReport::Successful { tid },
            TxStatusMeaning::Failed => UnverifiedReport::Failed { tid, reason: text(&data["reason"]) },
            TxStatusMeaning::InquiryRequired => UnverifiedReport::InquiryRequired { tid },
            TxStatusMeaning::Suspicious => UnverifiedReport::Suspicious { tx_status },
        };
        self.store.record_response(text(&detail["client_ref_id"]), report, body.clone()).await
    }
}

fn read_hook(detail: &Value) -> Result<DebitHook, String> {
    let data = detail.get("data").filter(|d| d.is_object()).ok_or("detail.data is missing")?;
    let text = |v: &Value| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|n| n.to_string()));
    let field = |name: &str| text(&data[name]).ok_or(format!("detail.data.{name} is missing"));
    Ok(DebitHook {
        client_ref_id: text(&detail["client_ref_id"]).ok_or("detail.client_ref_id is missing")?,
        tx_type: field("type")?,
        customer_id: field("customer_id")?,
        user_code: field("user_code")?,
        bank_code: field("bank_code")?,
        amount: text(&data["amount"]),
        detail: detail.clone(),
    })
}

async fn preflight<S: CallbackStore>(State(callback): State<Arc<AepsCallback<S>>>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    callback.cors(&mut response, true);
    response
}

async fn handle<S: CallbackStore>(State(callback): State<Arc<AepsCallback<S>>>, body: Bytes) -> Response {
    let answer = match serde_json::from_slice::<Value>(&body) {
        Ok(body) => callback.answer(&body).await,
        Err(e) => Err(CallbackError::Malformed(format!("the body is not JSON: {e}"))),
    };
    let mut response = match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => {
            let status = match e {
                CallbackError::Malformed(_) => StatusCode::BAD_REQUEST,
                CallbackError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, Json(json!({ "status": "error", "message": e.to_string() }))).into_response()
        }
    };
    callback.cors(&mut response, false);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::signing;

    fn hook(kind: &str, amount: Option<&str>) -> Value {
        let mut data = json!({ "customer_id": "9999999999", "bank_code": "PUNB", "type": kind, "user_code": "20810200" });
        if let Some(a) = amount {
            data["amount"] = json!(a);
        }
        json!({ "client_ref_id": "1540880592059", "request_hash_params": ["customer_id", "amount", "user_code"], "data": data,
                "param1": "value1" })
    }

    fn config_at(ms: i64) -> CallbackConfig {
        let mut config = CallbackConfig::new(Credentials::sandbox(), "http://gateway.test");
        config.clock = kosh_core::clock::ManualClock::new(ms);
        config
    }

    fn callback_at(ms: i64) -> Arc<AepsCallback> {
        AepsCallback::new(config_at(ms))
    }

    /// The seed's worked example: the signature over timestamp + customer_id + amount +
    /// user_code for a withdrawal, and without amount for a balance enquiry.
    #[tokio::test]
    async fn signs_the_seeds_concatenation() {
        let cb = callback_at(1_532_582_133_692);
        let answer = cb.debit_hook(&hook("2", Some("2000"))).await.unwrap();
        assert_eq!((answer["action"].as_str(), answer["allow"].as_bool()), (Some("go"), Some(true)));
        let key = &Credentials::sandbox().access_key;
        // The seed's request signature "15325821336929999999999200020810200".
        let message_after_timestamp = ["9999999999", "2000", "20810200"];
        assert_eq!(answer["request_hash"], signing::request_hash(key, "1532582133692", &message_after_timestamp));
        assert_eq!(answer["secret_key"], signing::secret_key(key, "1532582133692"));
        let be = cb.debit_hook(&hook("3", None)).await.unwrap();
        assert_eq!(be["request_hash"], signing::request_hash(key, "1532582133692", &["999999999920810200"]));
        assert_eq!(cb.transactions().len(), 2);
        assert_eq!(cb.transactions()[0].status, Status::Pending);
    }

    #[tokio::test]
    async fn refuses_what_a_partner_must_not_allow() {
        let cb = callback_at(1);
        assert_eq!(cb.debit_hook(&hook("2", Some("10000.01"))).await.unwrap()["allow"], false);
        assert_eq!(cb.debit_hook(&hook("2", None)).await.unwrap()["allow"], false);
        assert_eq!(cb.debit_hook(&hook("9", None)).await.unwrap()["allow"], false);
        assert!(cb.debit_hook(&json!({})).await.is_err());
        assert!(matches!(cb.transactions()[0].status, Status::Denied { .. }));
        let malformed = cb.answer(&json!({ "action": "other" })).await.unwrap_err();
        assert!(matches!(malformed, CallbackError::Malformed(_)), "{malformed}");
    }

    #[tokio::test]
    async fn eko_responses_are_recorded_as_unverified_reports_by_tx_status() {
        let cb = callback_at(1);
        for (i, status) in ["0", "1", "2", "7"].iter().enumerate() {
            let mut h = hook("3", None);
            h["client_ref_id"] = json!(format!("R{i}"));
            cb.debit_hook(&h).await.unwrap();
            let body = json!({ "action": "eko-response", "detail": { "client_ref_id": format!("R{i}"),
                "response": { "status": 0, "data": { "tx_status": status, "tid": "42", "reason": "x" } } } });
            assert_eq!(cb.answer(&body).await.unwrap(), json!({ "status": "ok" }));
        }
        let statuses: Vec<Status> = cb.transactions().into_iter().map(|t| t.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Reported(UnverifiedReport::Successful { tid: "42".into() }),
                Status::Reported(UnverifiedReport::Failed { tid: "42".into(), reason: "x".into() }),
                Status::Reported(UnverifiedReport::InquiryRequired { tid: "42".into() }),
                Status::Reported(UnverifiedReport::Suspicious { tx_status: "7".into() }),
            ]
        );
        assert_eq!(cb.responses().len(), 4);
    }

    /// A store that records in a shared list and can be told to fail.
    #[derive(Default)]
    struct Ledger {
        fail: bool,
        hooks: Mutex<Vec<(String, Status)>>,
        reports: Mutex<Vec<(String, UnverifiedReport)>>,
    }

    impl CallbackStore for Ledger {
        async fn record_hook(&self, tx: Transaction) -> Result<(), String> {
            if self.fail {
                return Err("database unavailable".into());
            }
            self.hooks.lock().unwrap().push((tx.client_ref_id, tx.status));
            Ok(())
        }

        async fn record_response(&self, client_ref_id: String, report: UnverifiedReport, _body: Value) -> Result<(), String> {
            if self.fail {
                return Err("database unavailable".into());
            }
            self.reports.lock().unwrap().push((client_ref_id, report));
            Ok(())
        }
    }

    #[tokio::test]
    async fn storage_is_pluggable_and_an_unrecorded_transaction_is_refused() {
        let cb = AepsCallback::with_store(config_at(1), Ledger::default());
        assert_eq!(cb.answer(&json!({ "action": "debit-hook", "detail": hook("3", None) })).await.unwrap()["allow"], true);
        let body = json!({ "action": "eko-response", "detail": { "client_ref_id": "1540880592059",
            "response": { "data": { "tx_status": "0", "tid": "9" } } } });
        cb.answer(&body).await.unwrap();
        assert_eq!(*cb.store().hooks.lock().unwrap(), [("1540880592059".to_owned(), Status::Pending)]);
        assert_eq!(
            *cb.store().reports.lock().unwrap(),
            [("1540880592059".to_owned(), UnverifiedReport::Successful { tid: "9".into() })]
        );

        let failing = AepsCallback::with_store(config_at(1), Ledger { fail: true, ..Ledger::default() });
        let answer = failing.answer(&json!({ "action": "debit-hook", "detail": hook("2", Some("100")) })).await.unwrap();
        assert_eq!((answer["allow"].as_bool(), answer["message"].as_str()), (Some(false), Some(NOT_RECORDED)), "{answer}");
        assert!(answer.get("request_hash").is_none(), "no confirmation for an unrecorded transaction");
        assert!(matches!(failing.answer(&body).await, Err(CallbackError::Store(_))));
    }

    #[test]
    fn inquiry_paths_encode_the_reference() {
        assert_eq!(inquiry_path("KG000000000001"), "/aeps/transactions/client_ref_id:KG000000000001");
        assert_eq!(inquiry_path("A/B?c#1%"), "/aeps/transactions/client_ref_id:A%2FB%3Fc%231%25");
    }
}
