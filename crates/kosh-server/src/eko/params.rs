//! Request parameters, wherever the partner put them: the query string, and a body that
//! is form-urlencoded or JSON (clients in the wild disagree, so every write endpoint
//! accepts both). Values arrive as text; JSON numbers keep their exact source text and
//! the few composite parameters (like `residence_address`) their JSON text. Booleans,
//! objects or arrays in scalar parameters, and keys given twice are refused.

use super::envelope::{EkoReply, MISSING};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;
/// Longest parameter name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest parameter value, in bytes (PID XML for AePS is the largest legitimate value).
pub const MAX_VALUE_LEN: usize = 32 * 1024;

#[derive(Debug, Default, Clone)]
pub struct EkoParams {
    values: BTreeMap<String, String>,
}

impl EkoParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    fn insert(&mut self, name: String, value: String) -> Result<(), EkoReply> {
        if name.len() > MAX_NAME_LEN || value.len() > MAX_VALUE_LEN {
            return Err(EkoReply::invalid(vec![(truncate(&name), "is too long".into())]));
        }
        if self.values.len() >= MAX_PARAMS {
            return Err(bad_request(format!("more than {MAX_PARAMS} parameters")));
        }
        match self.values.get(&name) {
            Some(existing) if *existing != value => {
                Err(EkoReply::invalid(vec![(name, "was given twice with different values".into())]))
            }
            _ => {
                self.values.insert(name, value);
                Ok(())
            }
        }
    }

    /// Parameters from a query string alone (GET requests).
    pub fn from_query(query: &str) -> Result<EkoParams, EkoReply> {
        let mut params = EkoParams::default();
        params.add_form(query.as_bytes(), "query string")?;
        Ok(params)
    }

    fn add_form(&mut self, bytes: &[u8], what: &str) -> Result<(), EkoReply> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|e| bad_request(format!("the {what} is not valid form-urlencoded text: {e}")))?;
        for (name, value) in pairs {
            self.insert(name, value)?;
        }
        Ok(())
    }

    fn add_json(&mut self, bytes: &[u8]) -> Result<(), EkoReply> {
        let Members(members) = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => bad_request("the JSON body must be an object".into()),
            _ => bad_request(json_error(&e)),
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for (name, raw) in members {
            if !seen.insert(name.clone()) {
                return Err(EkoReply::invalid(vec![(truncate(&name), "was given twice in the JSON body".into())]));
            }
            if let Some(text) = json_text(&name, &raw)? {
                self.insert(name, text)?;
            }
        }
        Ok(())
    }
}

/// Parameters whose wire format is a JSON object or array (kept as its JSON text);
/// every other parameter is a scalar.
const COMPOSITE: [&str; 7] =
    ["residence_address", "total", "display_items", "custom_params", "custom_headers", "entries", "document_requested"];

/// A member's value as parameter text: a string's content, a number's exact source text
/// (`1e-400` stays `1e-400`), a composite parameter's JSON text; `None` for null.
/// Booleans, and objects or arrays where a scalar belongs, are refused: taking their
/// JSON text would store `["A1","B2"]` as a `client_ref_id`.
fn json_text(name: &str, raw: &RawValue) -> Result<Option<String>, EkoReply> {
    let text = raw.get();
    let refuse = |what: &str| Err(EkoReply::invalid(vec![(truncate(name), format!("must be a string, not {what}"))]));
    match text.as_bytes().first() {
        Some(b'n') => Ok(None),
        Some(b'"') => serde_json::from_str::<String>(text).map(Some).map_err(|e| bad_request(json_error(&e))),
        Some(b't' | b'f') => refuse("a boolean"),
        Some(b'{' | b'[') if COMPOSITE.contains(&name) => {
            crate::json_strict::from_str(text).map_err(|e| bad_request(format!("the body is not valid JSON: {e}")))?;
            Ok(Some(text.to_owned()))
        }
        Some(b'{') => refuse("a JSON object"),
        Some(b'[') => refuse("a JSON array"),
        _ => Ok(Some(text.to_owned())),
    }
}

fn json_error(e: &serde_json::Error) -> String {
    format!("the body is not valid JSON: {e}")
}

/// A JSON object's members in source order, duplicates included, each value as its
/// exact source text.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the JSON body to be an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    members.push((name, map.next_value::<Box<RawValue>>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

fn truncate(name: &str) -> String {
    name.chars().take(MAX_NAME_LEN).collect()
}

fn bad_request(message: String) -> EkoReply {
    EkoReply::http_error(StatusCode::BAD_REQUEST, message)
}

impl<S: Send + Sync> FromRequest<S> for EkoParams {
    type Rejection = EkoReply;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_owned();
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            EkoReply::http_error(e.status(), format!("cannot read the request body: {}", e.body_text()))
                .with_hint("the body may be larger than the configured max_body_bytes")
        })?;
        let mut params = EkoParams::default();
        params.add_form(query.as_bytes(), "query string")?;
        if bytes.is_empty() {
            return Ok(params);
        }
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/x-www-form-urlencoded" => params.add_form(&bytes, "body")?,
            "application/json" => params.add_json(&bytes)?,
            "" => return Err(unsupported("a body was sent without a Content-Type")),
            other => return Err(unsupported(&format!("Content-Type {other} is not accepted"))),
        }
        Ok(params)
    }
}

fn unsupported(message: &str) -> EkoReply {
    EkoReply::http_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Unsupported Media Type: {message}"))
        .with_hint("send application/x-www-form-urlencoded or application/json")
}

/// Collects field errors so one answer lists every bad parameter.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<(String, String)>,
}

impl Checker {
    /// A required parameter, parsed; records an error and returns `None` when bad.
    pub fn required<T>(
        &mut self,
        params: &EkoParams,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        match params.get(name) {
            None => {
                self.errors.push((name.into(), MISSING.into()));
                None
            }
            Some(text) => self.parsed(name, parse(text)),
        }
    }

    /// An optional parameter, parsed when present.
    pub fn optional<T>(
        &mut self,
        params: &EkoParams,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        params.get(name).and_then(|text| self.parsed(name, parse(text)))
    }

    fn parsed<T>(&mut self, name: &str, result: Result<T, &'static str>) -> Option<T> {
        result.map_err(|msg| self.errors.push((name.into(), msg.into()))).ok()
    }

    pub fn fail(&mut self, name: &str, message: &str) {
        self.errors.push((name.into(), message.into()));
    }

    /// `Err` with every recorded problem, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), EkoReply> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(EkoReply::invalid(self.errors))
        }
    }
}
