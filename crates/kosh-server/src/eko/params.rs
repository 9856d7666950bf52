//! Request parameters, wherever the partner put them: the query string, and a body that
//! is form-urlencoded or JSON (clients in the wild disagree, so every write endpoint
//! accepts both). Values arrive as text; JSON numbers keep their literal text and JSON
//! objects (like `residence_address`) become their JSON text.

use super::envelope::{EkoReply, MISSING};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::Value;
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
        let value: Value = serde_json::from_slice(bytes).map_err(|e| bad_request(format!("the body is not valid JSON: {e}")))?;
        let Value::Object(object) = value else { return Err(bad_request("the JSON body must be an object".into())) };
        for (name, value) in object {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                composite => composite.to_string(),
            };
            self.insert(name, text)?;
        }
        Ok(())
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
