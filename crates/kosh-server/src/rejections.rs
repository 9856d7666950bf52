//! Every refusal in the caller's dialect. Handlers answer in their dialect already; the
//! framework's own refusals (a path that does not decode, JSON that does not parse, a
//! body over the limit, a method a route does not serve) are `text/plain` or empty, so
//! [`dialect_errors`] rewrites every error answer that is not JSON into the envelope of
//! the path's dialect: the Eko envelope under `/ekoapi`, `/ekoicici` and the AePS
//! gateway (`/v2/aeps`), Echelon's `BasicError` on Echelon paths, the admin API's
//! `{"error": {code, message}}` under `/admin`, and `{status, message}` elsewhere.
//! It also refuses, in the same shapes, a request target or header block larger than
//! Kosh serves (hyper's own refusals of those carry no body at all).

use crate::admin::AdminError;
use crate::echelon::error::ApiError;
use crate::eko::envelope::EkoReply;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Longest request target (path and query) served, in bytes; longer answers 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest header block served (names and values), in bytes; larger answers 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most headers one request may carry; more answers 431.
pub const MAX_HEADERS: usize = 100;
/// How much of a framework refusal's text is kept as the message.
const MAX_MESSAGE_BYTES: usize = 1024;

/// The API family a path belongs to, which decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Eko,
    Echelon,
    Admin,
    Other,
}

impl Dialect {
    pub fn of(path: &str) -> Dialect {
        if crate::eko::is_eko_path(path) || path == "/v2/aeps" || path.starts_with("/v2/aeps/") {
            Dialect::Eko
        } else if path == "/admin" || path.starts_with("/admin/") {
            Dialect::Admin
        } else if crate::echelon::is_echelon_path(path) {
            Dialect::Echelon
        } else {
            Dialect::Other
        }
    }
}

/// An error answer with `status` and `message` in the dialect of `path`.
pub fn dialect_error(path: &str, status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    match Dialect::of(path) {
        Dialect::Eko => EkoReply::http_error(status, message).into_response(),
        Dialect::Echelon => ApiError::Basic(status, message).into_response(),
        Dialect::Admin => AdminError::new(status, admin_code(status), message).into_response(),
        Dialect::Other => (status, Json(json!({ "status": status.as_u16(), "message": message }))).into_response(),
    }
}

/// The admin API's stable error code for a framework refusal.
fn admin_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        _ => "http_error",
    }
}

/// The outermost layer: refuses oversized request heads and rewrites non-JSON error
/// answers into the dialect's envelope.
pub async fn dialect_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(refusal) = oversized_head(&req) {
        return refusal;
    }
    let response = next.run(req).await;
    if !needs_rewrite(&response) {
        return response;
    }
    rewrite(&path, response).await
}

fn oversized_head(req: &Request) -> Option<Response> {
    let path = req.uri().path();
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        let message =
            format!("the request target is {target} bytes; at most {MAX_URI_BYTES} are served (send large values in the body)");
        return Some(dialect_error(path, StatusCode::URI_TOO_LONG, message));
    }
    let headers = req.headers();
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        let message = format!(
            "the request carries {} headers of {bytes} bytes; at most {MAX_HEADERS} headers of {MAX_HEADER_BYTES} bytes are served",
            headers.len()
        );
        return Some(dialect_error(path, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message));
    }
    None
}

/// An error whose body is not JSON (framework refusals are `text/plain` or empty).
/// HTML error pages (the gateway page) stay as they are.
fn needs_rewrite(response: &Response) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    let media = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media.is_empty() || media == "text/plain"
}

async fn rewrite(path: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let message = refusal_text(body, parts.status).await;
    let mut rewritten = dialect_error(path, parts.status, message);
    keep_headers(&parts.headers, rewritten.headers_mut());
    rewritten
}

/// The framework's own explanation, or the status's reason when it sent none.
async fn refusal_text(body: Body, status: StatusCode) -> String {
    let bytes = to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if text.is_empty() {
        return status.canonical_reason().unwrap_or("the request was refused").to_owned();
    }
    let mut end = text.len().min(MAX_MESSAGE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Headers of the original refusal that still apply (`Allow` on 405, `Retry-After`,
/// `Connection: close`, …); the body's own headers are the new body's.
fn keep_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !to.contains_key(name) {
            to.insert(name.clone(), value.clone());
        }
    }
}
