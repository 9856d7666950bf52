//! `kosh doctor callback URL --kind …`: a partner endpoint called exactly as Kosh calls
//! it (for the AePS debit-hook: as the gateway page calls it from the agent's browser),
//! and its answers judged by the rules Kosh applies. Sample requests carry a
//! `client_ref_id` starting with `DOCTOR`, so a receiver can recognise them.

mod aeps;
mod token;

use super::net::{self, Probe};
use super::report::Report;
use clap::{Args, ValueEnum};
use kosh_core::clock::{Clock, SystemClock};
use kosh_core::secret::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// The AePS gateway's callback_url: CORS preflight, debit-hook, eko-response.
    DebitHook,
    /// The Token Fetch Details API (GET ?client_ref_id=…, Basic auth).
    TokenFetch,
    /// The Token Acknowledgement API (POST, Basic auth).
    TokenAck,
    /// The transaction status callback (POST).
    TxStatus,
}

#[derive(Args, Debug)]
pub struct CallbackArgs {
    /// The endpoint's URL, as configured (callback_url, or `kosh partner callbacks set --url`).
    url: String,
    /// Which endpoint it is.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The AePS gateway page's origin as the browser sends it: the Kosh URL the agent opens.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    origin: String,
    /// Your access key: verifies the debit-hook answer's secret_key and request_hash.
    #[arg(long, env = "KOSH_ACCESS_KEY", hide_env_values = true)]
    access_key: Option<Secret>,
    /// Your developer_key: recognised when a signature was made with it by mistake.
    #[arg(long)]
    developer_key: Option<String>,
    /// The Basic auth user Kosh sends (the Token APIs require Basic auth).
    #[arg(long, requires = "basic_password")]
    basic_user: Option<String>,
    /// The Basic auth password Kosh sends.
    #[arg(long, env = "KOSH_CALLBACK_BASIC_PASSWORD", hide_env_values = true, requires = "basic_user")]
    basic_password: Option<Secret>,
    /// The agent named in the sample debit-hook (one your callback accepts).
    #[arg(long, default_value = "20810200")]
    user_code: String,
    /// The client_ref_id of the sample (token-fetch: a token you issued, to check its details).
    #[arg(long)]
    client_ref_id: Option<String>,
    /// Give up on any one request after this many seconds.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
}

impl CallbackArgs {
    fn basic(&self) -> Option<(&str, &str)> {
        self.basic_user.as_deref().zip(self.basic_password.as_ref().map(Secret::expose))
    }

    /// The sample's reference: given, or `DOCTOR` + the time (≤ 20 characters).
    fn reference(&self, now_ms: i64) -> String {
        self.client_ref_id.clone().unwrap_or_else(|| format!("DOCTOR{now_ms}"))
    }
}

pub async fn run(args: CallbackArgs, report: &mut Report) -> Result<(), String> {
    let url = net::parse_url(&args.url)?;
    let mut probe = Probe::new(url, args.timeout_secs)?;
    let now_ms = SystemClock.now_ms();
    if args.kind == Kind::DebitHook {
        aeps::check_scheme(&probe.url, report);
    }
    if !probe.reachable(report).await {
        return Ok(());
    }
    match args.kind {
        Kind::DebitHook => aeps::run(&args, &mut probe, report, now_ms).await,
        Kind::TokenFetch => token::fetch(&args, &mut probe, report, now_ms).await,
        Kind::TokenAck => token::ack(&args, &mut probe, report, now_ms).await,
        Kind::TxStatus => token::tx_status(&args, &mut probe, report, now_ms).await,
    }
    Ok(())
}

/// The verdict Kosh's callback worker gives an answer's status: 200 exactly.
fn judge_status(report: &mut Report, check: &str, answer: &net::Answer, retried: &str) -> bool {
    let status = answer.status;
    if status == 200 {
        report.ok(check, "HTTP 200");
        return true;
    }
    let (problem, fix) = match status {
        300..=399 => {
            let to = answer.header_values("location").into_iter().next().unwrap_or_else(|| "no Location".into());
            (format!("HTTP {status}: a redirect to {to}; Kosh follows no redirects"), "configure the final URL".to_owned())
        }
        401 | 403 => (
            format!("HTTP {status}: the receiver refused the credentials"),
            "give Kosh the Basic user and password (and headers) your endpoint expects: kosh partner callbacks set … --basic-user U --basic-password P".to_owned(),
        ),
        200..=299 => (
            format!("HTTP {status}: Kosh counts only 200 as delivered ({retried})"),
            "answer HTTP 200".to_owned(),
        ),
        _ => (
            format!("HTTP {status} ({}): Kosh counts only 200 as delivered ({retried})", answer.excerpt()),
            "answer HTTP 200 once you have stored the callback; log the request to see why it fails".to_owned(),
        ),
    };
    report.fail(check, problem, fix);
    false
}
