//! Request ids: every request gets one, and every answer names it in `X-Request-Id`,
//! so a partner's support ticket and an operator's log search meet at one value.
//!
//! A client's own `X-Request-Id` is kept when it is a plausible id (1 to 128 visible
//! ASCII characters from a conservative set, so it cannot forge log lines or headers);
//! otherwise Kosh makes one. The request runs inside a `request` span carrying the id,
//! the method and the path, so every log line it causes names it.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header a request id travels in, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen request id kept.
pub const MAX_LEN: usize = 128;

/// A request's id, as handlers find it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether a client's id can be kept as it is.
fn acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// A fresh id: 128 random bits in hex.
fn fresh() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The middleware: takes or makes the id, runs the request in its span, and names the
/// id in the answer.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let given = request.headers().get(&HEADER).and_then(|v| v.to_str().ok()).filter(|id| acceptable(id));
    let id = given.map_or_else(fresh, str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    request.extensions_mut().insert(RequestId(id.clone()));
    let answered = async {
        let response = next.run(request).await;
        tracing::debug!(status = response.status().as_u16(), "answered");
        response
    };
    let mut response = answered.instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_ids_are_kept_and_others_are_not() {
        for ok in ["abc", "7f1c-22:req/1", &"a".repeat(MAX_LEN)] {
            assert!(acceptable(ok), "{ok}");
        }
        for bad in ["", "has space", "line\nbreak", "ünicode", &"a".repeat(MAX_LEN + 1)] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }

    #[test]
    fn fresh_ids_are_32_hex_digits_and_differ() {
        let (a, b) = (fresh(), fresh());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
