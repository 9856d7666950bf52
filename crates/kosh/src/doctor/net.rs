//! The doctor's HTTP: one client with a timeout on every call, no redirects followed
//! (Kosh follows none) and rustls with the Mozilla roots (what Kosh trusts), and the
//! first two checks of every remote checkup: reachable (TCP), then TLS (the first
//! `https://` exchange).

use super::report::Report;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Url};
use std::time::Duration;

/// Most bytes of an answer read (Kosh's own limit for callback answers).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A complete answer.
pub struct Answer {
    pub status: u16,
    /// The reason phrase as the browser shows it (`200 OK`).
    pub status_text: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first 200 characters of the body, for a failure's message.
    pub fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(200).collect();
        if text.is_empty() {
            "an empty body".to_owned()
        } else {
            format!("{text:?}")
        }
    }

    /// Every value of a header, as text.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned()).collect()
    }
}

/// The endpoint under examination and how it is reached.
pub struct Probe {
    pub client: reqwest::Client,
    pub url: Url,
    pub timeout: Duration,
    tls_reported: bool,
}

/// Parses the URL the user gave: http or https, with a host.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http:// or https:// URL with a host"));
    }
    Ok(url)
}

impl Probe {
    pub fn new(url: Url, timeout_secs: u64) -> Result<Probe, String> {
        let timeout = Duration::from_secs(timeout_secs.clamp(1, 300));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .no_proxy()
            .user_agent(concat!("kosh-doctor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Probe { client, url, timeout, tls_reported: false })
    }

    fn host_port(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        let port = self.url.port_or_known_default().unwrap_or(80);
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }

    /// The first check: the name resolves and a TCP connection opens in time. Answers
    /// whether the checkup can go on.
    pub async fn reachable(&self, report: &mut Report) -> bool {
        let target = self.host_port();
        let lookup = tokio::time::timeout(self.timeout, tokio::net::lookup_host(target.clone())).await;
        let addrs: Vec<_> = match lookup {
            Err(_) => return self.unreachable(report, format!("resolving {target} took longer than {} s", self.secs())),
            Ok(Err(e)) => {
                return self.unreachable(report, format!("the host name of {target} does not resolve ({e})"));
            }
            Ok(Ok(addrs)) => addrs.collect(),
        };
        let mut last_error = String::from("no address");
        for addr in &addrs {
            match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => {
                    report.ok("reachable", format!("{target} ({addr}) accepts TCP connections"));
                    return true;
                }
                Ok(Err(e)) => last_error = format!("connecting to {addr}: {e}"),
                Err(_) => last_error = format!("connecting to {addr} took longer than {} s", self.secs()),
            }
        }
        self.unreachable(report, last_error)
    }

    fn unreachable(&self, report: &mut Report, problem: String) -> bool {
        report.fail(
            "reachable",
            problem,
            "start the server behind this URL, check its host and port, and open the port to Kosh's address in your firewall",
        );
        false
    }

    pub fn secs(&self) -> u64 {
        self.timeout.as_secs()
    }

    /// Sends one request and reads its whole answer (bounded). A failure is reported as
    /// the failed check `check`, with `slow_fix` when it timed out; the first exchange
    /// with an `https://` URL also reports the TLS check.
    pub async fn exchange(
        &mut self,
        report: &mut Report,
        check: &str,
        request: RequestBuilder,
        slow_fix: &str,
    ) -> Option<Answer> {
        let https = self.url.scheme() == "https";
        let result = self.send(request).await;
        let host = self.url.host_str().unwrap_or_default().to_owned();
        match result {
            Ok(answer) => {
                if https && !self.tls_reported {
                    self.tls_reported = true;
                    report.ok("TLS", format!("the certificate is valid for {host} and chains to a trusted root"));
                }
                Some(answer)
            }
            Err(e) => {
                let chain = error_chain(&e);
                if e.is_timeout() {
                    report.fail(check, format!("no complete answer within {} s", self.secs()), slow_fix);
                } else if https && e.is_connect() && !chain.contains("os error") {
                    self.tls_reported = true;
                    let (problem, fix) = tls_problem(&chain, &host);
                    report.fail("TLS", format!("{problem} ({chain})"), fix);
                } else {
                    report.fail(
                        check,
                        format!("the request failed: {chain}"),
                        "make sure the URL serves HTTP and keeps the connection open until it has answered",
                    );
                }
                None
            }
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Answer, reqwest::Error> {
        let mut response = request.send().await?;
        let status = response.status();
        let status_text = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            let room = MAX_ANSWER_BYTES - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ANSWER_BYTES {
                break;
            }
        }
        Ok(Answer { status: status.as_u16(), status_text: status_text.trim().to_owned(), headers, body })
    }
}

/// What a TLS failure means, from rustls's words in the error chain, and its fix.
fn tls_problem(chain: &str, host: &str) -> (String, String) {
    let (problem, fix) = if chain.contains("UnknownIssuer") || chain.contains("self-signed") || chain.contains("self signed") {
        (
            "the certificate is invalid: self-signed, or not issued by a certificate authority Kosh and browsers trust"
                .to_owned(),
            "install a certificate from a public certificate authority (e.g. Let's Encrypt), with its intermediate certificates"
                .to_owned(),
        )
    } else if chain.contains("NotValidForName") || chain.contains("not valid for") {
        (
            format!("the certificate is for another name, not {host}"),
            format!("use a certificate whose subjectAltName includes {host}, or call the name the certificate is for"),
        )
    } else if chain.contains("Expired") {
        ("the certificate has expired".to_owned(), "renew the certificate and reload the server".to_owned())
    } else if chain.contains("NotValidYet") {
        (
            "the certificate is not valid yet".to_owned(),
            "check the server's clock, or wait until the certificate's start date".to_owned(),
        )
    } else if chain.contains("certificate") {
        (
            "the certificate is invalid or untrusted".to_owned(),
            "serve a valid certificate from a public certificate authority for this host name".to_owned(),
        )
    } else {
        (
            "the TLS handshake failed (is this port serving https?)".to_owned(),
            "serve https on this port, or use an http:// URL if the port serves plain HTTP".to_owned(),
        )
    };
    (problem, fix)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_failures_are_named() {
        let (p, _) = tls_problem("invalid peer certificate: UnknownIssuer", "h");
        assert!(p.contains("self-signed"), "{p}");
        let (p, fix) = tls_problem("invalid peer certificate: NotValidForName", "pay.example");
        assert!(p.contains("another name") && fix.contains("pay.example"), "{p} {fix}");
        assert!(tls_problem("invalid peer certificate: Expired", "h").0.contains("expired"));
        assert!(tls_problem("received corrupt message", "h").0.contains("handshake"));
    }

    #[test]
    fn only_web_urls_are_taken() {
        assert!(parse_url("https://pay.example/cb").is_ok());
        assert!(parse_url("ftp://pay.example/cb").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
