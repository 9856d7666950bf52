//! `kosh ready`: asks a running server's `/readyz`, for container health checks and
//! scripts (the runtime image has no curl). Never hangs: the whole call has a timeout.

use clap::Args;
use std::time::Duration;

#[derive(Args)]
pub struct ReadyArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
}

pub async fn run(args: ReadyArgs) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs.clamp(1, 300)))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let url = format!("{}/readyz", args.url.trim_end_matches('/'));
    let answer = client.get(&url).send().await.map_err(|e| format!("{url}: not reachable: {e}"))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if status.is_success() {
        println!("{body}");
        Ok(())
    } else {
        Err(format!("{url}: not ready ({status}): {body}"))
    }
}
