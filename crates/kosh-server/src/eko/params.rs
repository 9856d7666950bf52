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
/// Largest body of the routes that take document uploads (three documents under 1 MB
/// each, and the fields); every other route keeps `max_body_bytes`.
pub const MAX_UPLOAD_BYTES: usize = 4 * 1024 * 1024;
/// Longest parameter value, in bytes (PID XML for AePS is the largest legitimate value).
pub const MAX_VALUE_LEN: usize = 32 * 1024;

#[derive(Debug, Default, Clone)]
pub struct EkoParams {
    values: BTreeMap<String, String>,
    uploads: Vec<Upload>,
}

/// A file part of a multipart body: what Kosh keeps of an uploaded document (its
/// bytes are checked, never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The form field (`pan_card`, `aadhar_front`, …).
    pub field: String,
    /// The file name the client gave.
    pub filename: String,
    /// Its size in bytes.
    pub size: usize,
    /// What its first bytes say it is: `jpeg`, `pdf`, `png`, or `other`.
    pub media: &'static str,
}

/// The multipart part that carries every non-file parameter, as the vendor's SDKs send
/// uploads (a JSON object; older clients put form-urlencoded text there).
pub const MULTIPART_JSON_FIELD: &str = "form-data";

impl EkoParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// The file parts of a multipart body, in order.
    pub fn uploads(&self) -> &[Upload] {
        &self.uploads
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

    /// Adds a parameter taken from the path (`/agent/{user_code}/…`); the same name in
    /// the body or query with another value is refused as given twice.
    pub fn with_path(mut self, name: &str, value: &str) -> Result<EkoParams, EkoReply> {
        self.insert(name.into(), value.into())?;
        Ok(self)
    }

    /// Parameters from a query string and name/value pairs read elsewhere (the text
    /// parts of a multipart body), checked like every other parameter.
    pub fn from_query_and_pairs(query: &str, pairs: Vec<(String, String)>) -> Result<EkoParams, EkoReply> {
        let mut params = EkoParams::from_query(query)?;
        for (name, value) in pairs {
            params.insert(name, value)?;
        }
        Ok(params)
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

impl EkoParams {
    /// A buffered multipart/form-data body: the `form-data` part's parameters (JSON or
    /// form text), plain text parts as parameters, file parts as [`Upload`]s.
    fn add_multipart(&mut self, body: &[u8], content_type: &str) -> Result<(), EkoReply> {
        let boundary = multipart_boundary(content_type)
            .ok_or_else(|| bad_request("the multipart/form-data Content-Type has no boundary".into()))?;
        for part in multipart_parts(body, format!("--{boundary}").as_bytes())? {
            let (head, content) = split_once_bytes(part, b"\r\n\r\n")
                .ok_or_else(|| bad_request("a multipart part has no blank line after its headers".into()))?;
            let head = std::str::from_utf8(head).map_err(|_| bad_request("multipart part headers must be UTF-8".into()))?;
            let (name, filename) = disposition(head)?;
            match filename {
                Some(filename) => self.add_upload(name, filename, content)?,
                None if name == MULTIPART_JSON_FIELD => self.add_form_data_part(content)?,
                None => {
                    let text = std::str::from_utf8(content)
                        .map_err(|_| bad_request(format!("the multipart part {name:?} is not UTF-8 text")))?;
                    self.insert(name, text.to_owned())?;
                }
            }
        }
        Ok(())
    }

    fn add_form_data_part(&mut self, content: &[u8]) -> Result<(), EkoReply> {
        if content.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            self.add_json(content)
        } else {
            self.add_form(content, "form-data part")
        }
    }

    fn add_upload(&mut self, field: String, filename: String, content: &[u8]) -> Result<(), EkoReply> {
        if self.uploads.len() >= MAX_PARAMS {
            return Err(bad_request(format!("more than {MAX_PARAMS} files")));
        }
        let media = sniff_media(content);
        self.uploads.push(Upload {
            field: truncate(&field),
            filename: filename.chars().take(255).collect(),
            size: content.len(),
            media,
        });
        Ok(())
    }
}

/// What a file's first bytes say it is.
fn sniff_media(content: &[u8]) -> &'static str {
    if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "jpeg"
    } else if content.starts_with(b"%PDF-") {
        "pdf"
    } else if content.starts_with(b"\x89PNG") {
        "png"
    } else {
        "other"
    }
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "boundary").then(|| v.trim().trim_matches('"').to_owned()).filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// The parts between the boundary delimiters of a buffered body (RFC 7578).
fn multipart_parts<'a>(body: &'a [u8], delimiter: &[u8]) -> Result<Vec<&'a [u8]>, EkoReply> {
    let malformed = |why: &str| bad_request(format!("the multipart body is malformed: {why}"));
    let close = [b"\r\n".as_slice(), delimiter].concat();
    let first = find_bytes(body, delimiter).ok_or_else(|| malformed("the boundary never appears"))?;
    let mut rest = &body[first + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let after_line = rest.iter().position(|b| *b == b'\n').ok_or_else(|| malformed("a delimiter line does not end"))?;
        rest = &rest[after_line + 1..];
        let end = find_bytes(rest, &close).ok_or_else(|| malformed("a part is not closed by the boundary"))?;
        parts.push(&rest[..end]);
        if parts.len() > 2 * MAX_PARAMS {
            return Err(malformed("too many parts"));
        }
        rest = &rest[end + close.len()..];
    }
}

/// `name` and `filename` of a part's `Content-Disposition: form-data; …` header.
fn disposition(head: &str) -> Result<(String, Option<String>), EkoReply> {
    let line = head
        .split("\r\n")
        .find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-disposition")).map(|(_, v)| v))
        .ok_or_else(|| bad_request("a multipart part has no Content-Disposition header".into()))?;
    let mut name = None;
    let mut filename = None;
    for param in line.split(';').skip(1) {
        if let Some((k, v)) = param.split_once('=') {
            let v = v.trim().trim_matches('"').to_owned();
            match k.trim() {
                "name" => name = Some(v),
                "filename" => filename = Some(v),
                _ => {}
            }
        }
    }
    let name = name.filter(|n| !n.is_empty()).ok_or_else(|| bad_request("a multipart part has no name".into()))?;
    Ok((name, filename))
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_once_bytes<'a>(bytes: &'a [u8], separator: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    find_bytes(bytes, separator).map(|i| (&bytes[..i], &bytes[i + separator.len()..]))
}

/// Parameters whose wire format is a JSON object or array (kept as its JSON text);
/// every other parameter is a scalar.
const COMPOSITE: [&str; 9] = [
    "residence_address",
    "office_address",
    "address_as_per_proof",
    "total",
    "display_items",
    "custom_params",
    "custom_headers",
    "entries",
    "document_requested",
];

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
        // The boundary of a multipart body is case-sensitive; only the media type is not.
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            EkoReply::http_error(e.status(), format!("cannot read the request body: {}", e.body_text()))
                .with_hint("the body may be larger than the configured max_body_bytes")
        })?;
        let mut params = EkoParams::default();
        params.add_form(query.as_bytes(), "query string")?;
        if bytes.is_empty() {
            return Ok(params);
        }
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-www-form-urlencoded" => params.add_form(&bytes, "body")?,
            "application/json" => params.add_json(&bytes)?,
            "multipart/form-data" => params.add_multipart(&bytes, &content_type)?,
            "" => return Err(unsupported("a body was sent without a Content-Type")),
            other => return Err(unsupported(&format!("Content-Type {other} is not accepted"))),
        }
        Ok(params)
    }
}

fn unsupported(message: &str) -> EkoReply {
    EkoReply::http_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Unsupported Media Type: {message}"))
        .with_hint("send application/x-www-form-urlencoded, application/json, or multipart/form-data (one form-data JSON part plus file parts)")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(content_type: &str, body: &[u8]) -> Result<EkoParams, EkoReply> {
        let mut params = EkoParams::default();
        params.add_multipart(body, content_type).map(|()| params)
    }

    #[test]
    fn a_multipart_body_gives_its_json_or_form_part_text_parts_and_files() {
        let body = b"preamble\r\n--AbC\r\nContent-Disposition: form-data; name=\"form-data\"\r\n\r\n{\"a\":\"1\",\"n\":2}\r\n\
--AbC\r\ncontent-disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
--AbC\r\nContent-Disposition: form-data; name=\"pan_card\"; filename=\"p.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--AbC--\r\n";
        let params = parse("multipart/form-data; boundary=AbC", body).unwrap();
        assert_eq!((params.get("a"), params.get("n"), params.get("note")), (Some("1"), Some("2"), Some("hi")));
        assert_eq!(params.uploads(), [Upload { field: "pan_card".into(), filename: "p.pdf".into(), size: 8, media: "pdf" }]);

        let form = b"--b\r\nContent-Disposition: form-data; name=\"form-data\"\r\n\r\nuser_code=1&x=y\r\n--b--";
        assert_eq!(parse("multipart/form-data; boundary=\"b\"", form).unwrap().get("x"), Some("y"));
    }

    #[test]
    fn a_malformed_multipart_body_is_a_400_that_says_why() {
        let cases: [(&str, &[u8], &str); 4] = [
            ("multipart/form-data", b"--x\r\n", "no boundary"),
            ("multipart/form-data; boundary=abc", b"--ABC\r\n", "never appears"),
            ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nopen", "not closed"),
            ("multipart/form-data; boundary=x", b"--x\r\nX-Other: 1\r\n\r\nv\r\n--x--", "Content-Disposition"),
        ];
        for (content_type, body, why) in cases {
            let err = parse(content_type, body).unwrap_err();
            assert_eq!(err.http, StatusCode::BAD_REQUEST, "{why}");
            assert!(err.message.contains(why), "{}: {why}", err.message);
        }
    }
}
