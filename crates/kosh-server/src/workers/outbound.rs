//! Kosh's outgoing HTTP: callbacks and Token fetches. Bounded on every side: a connect
//! timeout, a whole-request timeout (so a slow-loris answer cannot hold a worker), a
//! cap on the answer's size, no redirects (a 3xx is an answer, recorded as such), and
//! rustls for `https://` (an invalid certificate is a failed attempt that says so).

use crate::config::Config;
use kosh_core::secret::Secret;
use std::time::Duration;

/// Most bytes of an answer read; a longer answer is a failure (Kosh stops reading).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Most bytes of an answer kept with an attempt.
pub const EXCERPT_BYTES: usize = 1024;

/// One outgoing request.
pub struct Request<'a> {
    pub get: bool,
    pub url: &'a str,
    pub body: Option<&'a [u8]>,
    pub basic: Option<(&'a str, &'a str)>,
    pub headers: &'a [(String, Secret)],
    /// Headers Kosh sets itself (event id, signature, the body's `content-type`).
    pub extra: Vec<(&'static str, String)>,
}

/// An answer read completely within the limits.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

impl Answer {
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]).into_owned()
}

/// A request that ended without a complete answer: the reason, and the status and
/// excerpt when the answer had begun.
#[derive(Debug)]
pub struct Failure {
    pub reason: String,
    pub status: Option<u16>,
    pub excerpt: Option<String>,
}

#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    timeout_ms: u64,
    connect_timeout_ms: u64,
}

impl Outbound {
    pub fn new(config: &Config) -> Outbound {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.callbacks_connect_timeout_ms))
            .timeout(Duration::from_millis(config.callbacks_timeout_ms))
            .pool_max_idle_per_host(config.callbacks_per_partner_concurrency)
            .user_agent(concat!("kosh-callbacks/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .build()
            .expect("the HTTP client builds with rustls and no proxy");
        Outbound { client, timeout_ms: config.callbacks_timeout_ms, connect_timeout_ms: config.callbacks_connect_timeout_ms }
    }

    pub async fn send(&self, req: Request<'_>) -> Result<Answer, Failure> {
        let mut builder = if req.get { self.client.get(req.url) } else { self.client.post(req.url) };
        builder = builder.header("accept", "application/json");
        if let Some(body) = req.body {
            // A caller that knows its body's type names it among the extra headers.
            if !req.extra.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                builder = builder.header("content-type", "application/json");
            }
            builder = builder.body(body.to_vec());
        }
        if let Some((user, password)) = req.basic {
            builder = builder.basic_auth(user, Some(password));
        }
        for (name, value) in req.headers {
            builder = builder.header(name.as_str(), value.expose());
        }
        for (name, value) in req.extra {
            builder = builder.header(name, value);
        }
        let https = req.url.starts_with("https://");
        let response = builder.send().await.map_err(|e| self.failure(&e, https, None))?;
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = self.read_bounded(response, status).await?;
        Ok(Answer { status, body, location })
    }

    async fn read_bounded(&self, mut response: reqwest::Response, status: u16) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        body.extend_from_slice(&chunk[..MAX_RESPONSE_BYTES - body.len()]);
                        let reason = format!(
                            "HTTP {status}, but the answer is larger than {MAX_RESPONSE_BYTES} bytes; Kosh stopped reading \
                             (answer with a short body)"
                        );
                        return Err(Failure { reason, status: Some(status), excerpt: Some(excerpt(&body)) });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => {
                    let mut failure = self.failure(&e, false, Some(status));
                    failure.excerpt = Some(excerpt(&body));
                    return Err(failure);
                }
            }
        }
    }

    fn failure(&self, e: &reqwest::Error, https: bool, status: Option<u16>) -> Failure {
        let chain = error_chain(e);
        let reason = if e.is_timeout() && status.is_some() {
            format!(
                "HTTP {} began, but the whole answer did not arrive within {} ms (callbacks_timeout_ms): {chain}",
                status.unwrap_or_default(),
                self.timeout_ms
            )
        } else if e.is_timeout() && e.is_connect() {
            format!("cannot connect within {} ms (callbacks_connect_timeout_ms): {chain}", self.connect_timeout_ms)
        } else if e.is_timeout() {
            format!("no answer within {} ms (callbacks_timeout_ms): {chain}", self.timeout_ms)
        } else if e.is_connect() && https && chain.contains("certificate") {
            format!(
                "TLS handshake failed: the receiver's certificate is invalid or untrusted (Kosh checks it against the \
                 Mozilla root certificates; self-signed, expired or wrong-host certificates are refused): {chain}"
            )
        } else if e.is_connect() && https && !chain.contains("os error") {
            format!("TLS handshake failed (not an https server, or no common protocol): {chain}")
        } else if e.is_connect() {
            format!("cannot connect: {chain}")
        } else {
            format!("the request failed: {chain}")
        };
        Failure { reason, status, excerpt: None }
    }
}

/// An error and its causes, outermost first, without repeats.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}
