//! What the Echelon API tests share: a real server on port 0 on either backend, with a
//! hand-moved clock; a client that sends `X-API-Version: 2` and checks **every**
//! response against the vendor's OpenAPI spec (v2.47, `tests/data/echelon-openapi.yaml`)
//! with a small validator for the subset of JSON Schema the spec uses.
#![allow(dead_code)] // each test binary uses a different part of this module

use kosh_core::clock::{ManualClock, SharedClock};
use kosh_core::ids::{MerchantId, PartnerId};
use kosh_server::config::Config;
use kosh_server::sandbox::echelon::{MERCHANT_CODE, SECRET};
use kosh_server::App;
pub use kosh_testkit::Backend;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long a test waits for a stated condition before it fails: generous, since it only
/// bounds a failure and a busy machine may be slow.
pub const WAIT: Duration = Duration::from_secs(60);

/// The clock tests start at (2027-01-15), moved by hand.
pub const T0_MS: i64 = 1_800_000_000_000;

pub struct Echelon {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

/// A sandbox server with a fast worker tick, a high throttle (tests of the throttle set
/// their own) and a 5 s sandbox delay.
pub async fn start(backend: Backend) -> Echelon {
    start_with(backend, |_| {}).await
}

/// As [`start`], without the payment worker: nothing moves on until the test calls
/// [`Echelon::work`], so what a test sees between two passes cannot race the worker.
pub async fn start_without_worker(backend: Backend) -> Echelon {
    start_with(backend, |c| c.echelon_worker_tick_ms = 0).await
}

pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Echelon {
    let mut config = Config { listen: "127.0.0.1:0".parse().expect("address"), ..Config::default() };
    config.echelon_requests_per_sec = 100_000;
    config.echelon_worker_tick_ms = 20;
    match backend {
        Backend::Sqlite => config.data_dir = kosh_testkit::scratch_dir(),
        Backend::Postgres => config.database_url = Some(kosh_testkit::fresh_database().await.into()),
    }
    configure(&mut config);
    start_config(config).await
}

pub async fn start_config(config: Config) -> Echelon {
    let clock = ManualClock::new(T0_MS);
    let shared: SharedClock = clock.clone();
    let app = App::start(config, shared).await.expect("start the server");
    Echelon { app, clock, http: reqwest::Client::builder().no_proxy().build().expect("client") }
}

impl Echelon {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url())
    }

    /// Sends `method path` with `X-API-Version: 2`, the bearer `token` and the JSON
    /// `body`; checks the answer against the spec and returns status and body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method.parse().expect("method"), self.url(path)).header("X-API-Version", "2");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(method, path, req).await
    }

    /// Sends a prepared request for `method path`, checks the answer against the spec.
    pub async fn send(&self, method: &str, path: &str, req: reqwest::RequestBuilder) -> (u16, Value) {
        let response = req.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("read the body");
        let body: Value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
        spec().check_response(method, path, status, &body);
        (status, body)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// A token of the sandbox merchant for `operations`.
    pub async fn token(&self, operations: &[&str]) -> String {
        self.token_with(json!({ "operations": operations })).await
    }

    /// A token from `/auth-tokens` with `extra` fields added to the sandbox credentials.
    pub async fn token_with(&self, extra: Value) -> String {
        let mut body = json!({ "merchantCode": MERCHANT_CODE, "secret": SECRET });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, answer) = self.call("POST", "/auth-tokens", None, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().expect("token").to_owned()
    }

    /// A token of merchant `code` with `secret` for `operations`.
    pub async fn merchant_token(&self, code: &str, secret: &str, operations: &[&str]) -> String {
        let body = json!({ "merchantCode": code, "secret": secret, "operations": operations });
        let (status, answer) = self.call("POST", "/auth-tokens", None, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().expect("token").to_owned()
    }

    /// Sends `body_text` as it is (numbers JSON cannot round-trip through `Value`).
    pub async fn post_text(&self, path: &str, token: &str, body_text: &str) -> (u16, Value) {
        let req = self
            .http
            .post(self.url(path))
            .header("X-API-Version", "2")
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(body_text.to_owned());
        self.send("POST", path, req).await
    }

    /// A token that may do anything.
    pub async fn admin_token(&self) -> String {
        self.token(&["GET /.*", "POST /.*"]).await
    }

    pub fn sandbox_partner_id(&self) -> PartnerId {
        PartnerId::new(1)
    }

    /// Waits (bounded by [`WAIT`]) until the payment at `path` is no longer PROCESSING.
    pub async fn settled(&self, path: &str, token: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = self.get(path, token).await;
            assert_eq!(status, 200, "{body}");
            if body["process"]["status"] != "PROCESSING" {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} stayed PROCESSING for {WAIT:?}: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One pass of the payment worker, for a server started without it
    /// ([`start_without_worker`]): the test decides when payments move on.
    pub async fn work(&self) -> usize {
        kosh_server::workers::echelon_payments::run_once(&self.app.state).await.expect("a worker pass")
    }

    /// The `echelon.callback` events of the sandbox partner as the callback engine
    /// renders them, `{"url": …, "body": {…}}`, oldest first.
    pub async fn callbacks(&self) -> Vec<Value> {
        let events = self.app.state.store.recent_outbox(self.sandbox_partner_id(), 1000).await.expect("outbox");
        events.into_iter().rev().filter(|e| e.kind == "echelon.callback").map(|e| rendered(&e.kind, &e.payload)).collect()
    }
}

/// Creates a partner and a merchant on it through the store (what `kosh partner create`
/// and `kosh merchant create` do); answers the merchant id.
pub async fn add_merchant(e: &Echelon, code: &str, secret: &str) -> MerchantId {
    use kosh_core::echelon::merchant::StoredSecret;
    use kosh_store::commands::{Command, EchelonCommand, EchelonOutcome, Outcome};
    let store = &e.app.state.store;
    let partner = kosh_store::ops::partners::NewPartner {
        name: format!("partner-{code}"),
        developer_key: kosh_core::secret::new_developer_key(),
        access_key: kosh_core::secret::new_access_key().into(),
        // Distinct for every merchant this process adds (a wall-clock reading could repeat).
        initiator_id: {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
            format!("8{:09}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        },
        is_sandbox: false,
    };
    let Outcome::PartnerCreated(p) = store.execute(Command::CreatePartner(partner)).await.unwrap() else { panic!() };
    let stored = StoredSecret::derive(secret);
    let merchant = kosh_store::ops::echelon::NewMerchant {
        partner_id: p.id,
        merchant_code: code.into(),
        name: "Other Merchant".into(),
        secret_salt: stored.salt,
        secret_verifier: stored.verifier,
        token_key: stored.token_key,
        is_sandbox: false,
    };
    match store.execute(Command::Echelon(EchelonCommand::CreateMerchant(merchant))).await.unwrap() {
        Outcome::Echelon(EchelonOutcome::MerchantCreated(m)) => m.id,
        other => panic!("{other:?}"),
    }
}

/// A payin create body.
pub fn payin_body(amount: i64, method: Value) -> Value {
    json!({
        "paymentRequested": { "money": { "amount": amount, "currencyCode": "INR" } },
        "paymentMethod": method,
        "returnUrl": "https://shop.example.com/return",
        "callbackUrl": "http://127.0.0.1:9/echelon-callback",
    })
}

/// A payout create body (a bank transfer).
pub fn payout_body(amount: i64) -> Value {
    json!({
        "paymentRequested": { "money": { "amount": amount, "currencyCode": "INR" } },
        "paymentMethod": {
            "paymentMethodCode": "BANK_TRANSFER",
            "paymentOperatorCode": "IN_IMPS",
            "account": { "accountName": "Asha Verma", "accountNumber": "123456789012", "bankCode": "SBIN0001234" },
        },
        "callbackUrl": "http://127.0.0.1:9/echelon-callback",
    })
}

// ---- the spec and its validator ----

pub struct Spec {
    doc: Value,
}

pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/echelon-openapi.yaml"))
            .expect("read the spec");
        Spec { doc: serde_yaml::from_str(&text).expect("the spec is YAML") }
    })
}

impl Spec {
    /// The spec's path template for a request path: literal templates win over
    /// templates with parameters (`/payins/!availablePaymentOptions` over
    /// `/payins/{idPayin}`).
    pub fn template(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        // Newer than the 2.47 spec; documented to answer as `/auth-tokens` does.
        let path = if path == "/auth-tokens-by-action" { "/auth-tokens" } else { path };
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let fits = parts.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') {
                    true
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.as_ref().is_none_or(|(l, _)| literal > *l) {
                best = Some((literal, template.clone()));
            }
        }
        best.map(|(_, t)| t)
    }

    /// The response schema the spec gives for `status` of `method path`, if any.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        let template = self.template(path)?;
        let operation = &self.doc["paths"][template.as_str()][method.to_lowercase()];
        let response = &operation["responses"][status.to_string()];
        response.get("content").map(|c| &c["application/json"]["schema"])
    }

    pub fn schema(&self, name: &str) -> &Value {
        &self.doc["components"]["schemas"][name]
    }

    /// Panics unless `body` is what the spec says `method path` answers with `status`.
    /// Answers the spec does not list for the operation (404 for a bad version, 429 on
    /// the token endpoints, 413) must still be a non-empty `BasicError`.
    pub fn check_response(&self, method: &str, path: &str, status: u16, body: &Value) {
        if path.starts_with("/echelon/qr/") {
            return;
        }
        if status == 204 {
            assert!(body.is_null(), "{method} {path}: 204 with a body {body}");
            return;
        }
        let documented = self.response_schema(method, path, status);
        let schema = match documented {
            Some(s) => s.clone(),
            None => {
                assert_ne!(status, 406, "{method} {path}: the spec lists no 406 here");
                assert!(!(200..300).contains(&status), "{method} {path}: undocumented success {status}");
                json!({ "$ref": "#/components/schemas/BasicError" })
            }
        };
        let mut errors = Vec::new();
        self.validate(&schema, body, "$", &mut errors);
        assert!(errors.is_empty(), "{method} {path} → {status} breaks the spec:\n{}\nbody: {body}", errors.join("\n"));
        if status >= 400 && status != 406 {
            assert!(
                body["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path}: error without description: {body}"
            );
        }
        if status == 406 {
            let items = body.as_array().expect("406 is an array");
            assert!(!items.is_empty(), "{method} {path}: empty 406");
            assert!(items.iter().all(|i| i["description"].is_string()), "{body}");
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => self.resolve(self.schema(r.trim_start_matches("#/components/schemas/"))),
            None => schema,
        }
    }

    /// Checks `value` against `schema`; every problem goes to `errors` with its path.
    pub fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            self.validate_one_of(schema, options, value, at, errors);
            return;
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let fits = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "number" => value.is_number(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                _ => true,
            };
            if !fits {
                errors.push(format!("{at}: expected {t}, got {value}"));
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                errors.push(format!("{at}: {value} is not one of {allowed:?}"));
            }
        }
        match value {
            Value::Object(map) => {
                for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                    if !map.contains_key(name.as_str().unwrap_or_default()) {
                        errors.push(format!("{at}: missing required {name}"));
                    }
                }
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (name, sub) in props {
                        if let Some(v) = map.get(name) {
                            self.validate(sub, v, &format!("{at}.{name}"), errors);
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                    if (items.len() as u64) < min {
                        errors.push(format!("{at}: fewer than {min} items"));
                    }
                }
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.validate(item, v, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            Value::String(s) => self.validate_string(schema, s, at, errors),
            Value::Number(n) => self.validate_number(schema, n.as_f64().unwrap_or(f64::NAN), at, errors),
            _ => {}
        }
    }

    fn validate_one_of(&self, schema: &Value, options: &[Value], value: &Value, at: &str, errors: &mut Vec<String>) {
        if let Some(d) = schema.get("discriminator") {
            let property = d["propertyName"].as_str().unwrap_or_default();
            let tag = value[property].as_str().unwrap_or_default();
            match d["mapping"][tag].as_str() {
                Some(target) => self.validate(&json!({ "$ref": target }), value, at, errors),
                None => errors.push(format!("{at}: {property} {tag:?} is not in the discriminator mapping")),
            }
            return;
        }
        let matching = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                self.validate(o, value, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{at}: matches {matching} of the oneOf schemas, not exactly one"));
        }
    }

    fn validate_string(&self, schema: &Value, s: &str, at: &str, errors: &mut Vec<String>) {
        let chars = s.chars().count() as u64;
        if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| chars < min) {
            errors.push(format!("{at}: shorter than minLength"));
        }
        if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| chars > max) {
            errors.push(format!("{at}: longer than maxLength"));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("the spec's pattern {p:?} compiles: {e}"));
            if !re.is_match(s) {
                errors.push(format!("{at}: {s:?} does not match {p}"));
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time") && !is_date_time(s) {
            errors.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
        }
    }

    fn validate_number(&self, schema: &Value, n: f64, at: &str, errors: &mut Vec<String>) {
        let minimum = schema.get("minimum").and_then(Value::as_f64);
        match schema.get("exclusiveMinimum") {
            Some(Value::Number(bound)) if n <= bound.as_f64().unwrap_or(f64::MIN) => {
                errors.push(format!("{at}: {n} is not above {bound}"))
            }
            Some(Value::Bool(true)) if minimum.is_some_and(|m| n <= m) => {
                errors.push(format!("{at}: {n} is not above the minimum"))
            }
            _ if minimum.is_some_and(|m| n < m) => errors.push(format!("{at}: {n} is below the minimum")),
            _ => {}
        }
        if schema.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
            errors.push(format!("{at}: {n} is above the maximum"));
        }
    }
}

/// `2027-01-15T08:00:00.000Z`, with optional fraction and a `Z` or `±hh:mm` offset.
fn is_date_time(s: &str) -> bool {
    let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$").unwrap();
    re.is_match(s)
}

/// The validator itself is checked: it refuses what it must.
pub fn self_test() {
    let s = spec();
    let money = json!({ "$ref": "#/components/schemas/Money" });
    let mut e = Vec::new();
    s.validate(&money, &json!({ "amount": 0, "currencyCode": "INR" }), "$", &mut e);
    assert!(!e.is_empty(), "exclusiveMinimum");
    e.clear();
    s.validate(&money, &json!({ "amount": 5 }), "$", &mut e);
    assert!(!e.is_empty(), "required");
    e.clear();
    let process = json!({ "$ref": "#/components/schemas/PaymentProcess" });
    s.validate(&process, &json!({ "status": "DONE", "createdAt": "2027-01-15T08:00:00.000Z", "isTest": true }), "$", &mut e);
    assert!(!e.is_empty(), "enum");
    e.clear();
    s.validate(&process, &json!({ "status": "SUCCESS", "createdAt": "yesterday", "isTest": true }), "$", &mut e);
    assert!(!e.is_empty(), "date-time");
    e.clear();
    let detail = json!({ "$ref": "#/components/schemas/PayoutMethodResponse" });
    s.validate(&detail, &json!({ "paymentMethodCode": "CARD" }), "$", &mut e);
    assert!(!e.is_empty(), "discriminator");
    e.clear();
    let name = json!({ "$ref": "#/components/schemas/AccountPayoutRequestBankTransfer" });
    s.validate(&name, &json!({ "accountName": "Asha 2", "accountNumber": "1" }), "$", &mut e);
    assert!(!e.is_empty(), "pattern");
    assert_eq!(s.template("/payins/!availablePaymentOptions").as_deref(), Some("/payins/!availablePaymentOptions"));
    assert_eq!(s.template("/payins/TST-1/accounts").as_deref(), Some("/payins/{idPayin}/accounts"));
}

/// A stored `echelon.callback` payload as delivered: where it goes and its body.
fn rendered(kind: &str, payload: &Value) -> Value {
    let delivery = kosh_server::workers::callbacks::render(kind, &payload.to_string()).expect("a deliverable payload");
    let body: Value = serde_json::from_slice(&delivery.body.body).expect("a JSON body");
    serde_json::json!({ "url": delivery.url, "body": body })
}
