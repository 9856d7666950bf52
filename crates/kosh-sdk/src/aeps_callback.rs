//! A reference partner callback for the AePS gateway (feature `aeps-callback`): the
//! server side `seeds/001_*` asks every partner to build, done correctly, as an axum
//! router to mount at your `callback_url`.
//!
//! - **CORS** for the gateway's origin: `OPTIONS` answers `Access-Control-Allow-Methods:
//!   POST, OPTIONS`, `Access-Control-Allow-Origin: <gateway origin>`,
//!   `Access-Control-Allow-Headers: Content-Type` (plus your custom headers); `POST`
//!   answers `Access-Control-Allow-Origin`.
//! - **debit-hook**: checks the transaction (type, agent, amount limit), asks your
//!   [`Policy`], records it as pending, and answers `{"action":"go","allow":true,
//!   "secret_key","secret_key_timestamp","request_hash"}` signed with your access key
//!   (request_hash over the timestamp and the `request_hash_params` present in
//!   `detail.data`, in order), or `allow:false` with a message for the agent.
//! - **eko-response**: stores the final result and the transaction's status
//!   (`tx_status` 0 success, 1 failed, 2 inquiry required, anything else suspicious).
//!
//! ```no_run
//! # use kosh_sdk::aeps_callback::{AepsCallback, CallbackConfig};
//! # use kosh_sdk::eko::Credentials;
//! let callback = AepsCallback::new(CallbackConfig::new(Credentials::sandbox(), "https://gateway.example"));
//! let app: axum::Router = axum::Router::new().merge(callback.router("/eko_aeps_callback"));
//! ```

use crate::eko::Credentials;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kosh_core::aeps::{meaning_of, TxStatusMeaning, MAX_WITHDRAWAL_PAISE};
use kosh_core::clock::{SharedClock, SystemClock};
use kosh_core::money::Paise;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Most transactions and responses kept in memory (oldest dropped first).
pub const MAX_RECORDS: usize = 1000;
/// Most `request_hash_params` a debit-hook may list.
const MAX_HASH_PARAMS: usize = 16;

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
    /// The client_ref_id the transaction carries (yours, if you sent one).
    pub client_ref_id: String,
    pub hook: DebitHook,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Allowed; the result has not arrived.
    Pending,
    Denied {
        message: String,
    },
    Successful {
        tid: String,
    },
    Failed {
        tid: String,
        reason: String,
    },
    /// tx_status 2: ask transaction inquiry (from your server).
    InquiryRequired {
        tid: String,
    },
    /// Any other tx_status: contact the platform.
    Suspicious {
        tx_status: String,
    },
}

#[derive(Default)]
struct Records {
    transactions: VecDeque<Transaction>,
    responses: VecDeque<Value>,
}

pub struct AepsCallback {
    config: CallbackConfig,
    records: Mutex<Records>,
}

impl AepsCallback {
    pub fn new(config: CallbackConfig) -> Arc<AepsCallback> {
        Arc::new(AepsCallback { config, records: Mutex::new(Records::default()) })
    }

    /// The callback's routes at `path` (OPTIONS and POST).
    pub fn router(self: &Arc<Self>, path: &str) -> Router {
        Router::new().route(path, post(handle).options(preflight)).with_state(self.clone())
    }

    /// Every transaction seen, oldest first.
    pub fn transactions(&self) -> Vec<Transaction> {
        self.records.lock().expect("records lock").transactions.iter().cloned().collect()
    }

    /// Every `eko-response` body received, oldest first.
    pub fn responses(&self) -> Vec<Value> {
        self.records.lock().expect("records lock").responses.iter().cloned().collect()
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

    fn remember(&self, tx: Transaction) {
        let mut records = self.records.lock().expect("records lock");
        if records.transactions.len() >= MAX_RECORDS {
            records.transactions.pop_front();
        }
        records.transactions.push_back(tx);
    }

    /// Answers a debit-hook: checks, decides, signs.
    fn debit_hook(&self, detail: &Value) -> Result<Value, String> {
        let hook = read_hook(detail)?;
        let decision = self.check(&hook).unwrap_or_else(|| (self.config.policy)(&hook));
        let gateway_ref = hook.client_ref_id.clone();
        match decision {
            Decision::Deny { message } => {
                let status = Status::Denied { message: message.clone() };
                self.remember(Transaction { client_ref_id: gateway_ref.clone(), gateway_ref, hook, status });
                Ok(json!({ "action": "go", "allow": false, "message": message }))
            }
            Decision::Allow { client_ref_id } => {
                let mut answer = self.sign(detail)?;
                if let Some(own) = &client_ref_id {
                    answer["client_ref_id"] = json!(own);
                }
                let client_ref_id = client_ref_id.unwrap_or_else(|| gateway_ref.clone());
                self.remember(Transaction { gateway_ref, client_ref_id, hook, status: Status::Pending });
                Ok(answer)
            }
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

    /// Stores an eko-response and the status it reports.
    fn eko_response(&self, body: &Value) {
        let detail = &body["detail"];
        let data = &detail["response"]["data"];
        let text = |v: &Value| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|n| n.to_string())).unwrap_or_default();
        let tid = text(&data["tid"]);
        let tx_status = text(&data["tx_status"]);
        let status = match meaning_of(&tx_status) {
            TxStatusMeaning::Successful => Status::Successful { tid },
            TxStatusMeaning::Failed => Status::Failed { tid, reason: text(&data["reason"]) },
            TxStatusMeaning::InquiryRequired => Status::InquiryRequired { tid },
            TxStatusMeaning::Suspicious => Status::Suspicious { tx_status },
        };
        let client_ref_id = text(&detail["client_ref_id"]);
        let mut records = self.records.lock().expect("records lock");
        if let Some(tx) = records.transactions.iter_mut().rev().find(|t| t.client_ref_id == client_ref_id) {
            tx.status = status;
        }
        if records.responses.len() >= MAX_RECORDS {
            records.responses.pop_front();
        }
        records.responses.push_back(body.clone());
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

async fn preflight(State(callback): State<Arc<AepsCallback>>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    callback.cors(&mut response, true);
    response
}

impl AepsCallback {
    /// Answers a callback request body, without HTTP: for partners whose web framework
    /// is not axum. `Err` is a malformed request (answer it with HTTP 400).
    pub fn answer(&self, body: &Value) -> Result<Value, String> {
        match body["action"].as_str() {
            Some("debit-hook") => self.debit_hook(&body["detail"]),
            Some("eko-response") => {
                self.eko_response(body);
                Ok(json!({ "status": "ok" }))
            }
            _ => Err("action must be debit-hook or eko-response".into()),
        }
    }
}

async fn handle(State(callback): State<Arc<AepsCallback>>, _headers: HeaderMap, body: Bytes) -> Response {
    let answer = serde_json::from_slice::<Value>(&body)
        .map_err(|e| format!("the body is not JSON: {e}"))
        .and_then(|body| callback.answer(&body));
    let mut response = match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, Json(json!({ "status": "error", "message": message }))).into_response(),
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

    fn callback_at(ms: i64) -> Arc<AepsCallback> {
        let mut config = CallbackConfig::new(Credentials::sandbox(), "http://gateway.test");
        config.clock = kosh_core::clock::ManualClock::new(ms);
        AepsCallback::new(config)
    }

    /// The seed's worked example: the signature over timestamp + customer_id + amount +
    /// user_code for a withdrawal, and without amount for a balance enquiry.
    #[test]
    fn signs_the_seeds_concatenation() {
        let cb = callback_at(1_532_582_133_692);
        let answer = cb.debit_hook(&hook("2", Some("2000"))).unwrap();
        assert_eq!((answer["action"].as_str(), answer["allow"].as_bool()), (Some("go"), Some(true)));
        let key = &Credentials::sandbox().access_key;
        // The seed's request signature "15325821336929999999999200020810200".
        let message_after_timestamp = ["9999999999", "2000", "20810200"];
        assert_eq!(answer["request_hash"], signing::request_hash(key, "1532582133692", &message_after_timestamp));
        assert_eq!(answer["secret_key"], signing::secret_key(key, "1532582133692"));
        let be = cb.debit_hook(&hook("3", None)).unwrap();
        assert_eq!(be["request_hash"], signing::request_hash(key, "1532582133692", &["999999999920810200"]));
        assert_eq!(cb.transactions().len(), 2);
        assert_eq!(cb.transactions()[0].status, Status::Pending);
    }

    #[test]
    fn refuses_what_a_partner_must_not_allow() {
        let cb = callback_at(1);
        assert_eq!(cb.debit_hook(&hook("2", Some("10000.01"))).unwrap()["allow"], false);
        assert_eq!(cb.debit_hook(&hook("2", None)).unwrap()["allow"], false);
        assert_eq!(cb.debit_hook(&hook("9", None)).unwrap()["allow"], false);
        assert!(cb.debit_hook(&json!({})).is_err());
        assert!(matches!(cb.transactions()[0].status, Status::Denied { .. }));
    }

    #[test]
    fn eko_responses_set_the_status_by_tx_status() {
        let cb = callback_at(1);
        for (i, status) in ["0", "1", "2", "7"].iter().enumerate() {
            let mut h = hook("3", None);
            h["client_ref_id"] = json!(format!("R{i}"));
            cb.debit_hook(&h).unwrap();
            let body = json!({ "action": "eko-response", "detail": { "client_ref_id": format!("R{i}"),
                "response": { "status": 0, "data": { "tx_status": status, "tid": "42", "reason": "x" } } } });
            cb.eko_response(&body);
        }
        let statuses: Vec<Status> = cb.transactions().into_iter().map(|t| t.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Successful { tid: "42".into() },
                Status::Failed { tid: "42".into(), reason: "x".into() },
                Status::InquiryRequired { tid: "42".into() },
                Status::Suspicious { tx_status: "7".into() },
            ]
        );
        assert_eq!(cb.responses().len(), 4);
    }
}
