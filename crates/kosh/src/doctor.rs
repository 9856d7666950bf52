//! `kosh doctor`: tells a partner why their integration fails, before a customer finds
//! out. Three checkups, each a list of checks printed one a line, `ok …` or `FAIL …`
//! with the fix in one sentence (the way the seed's FAQ answers):
//!
//! - [`callback`]: the partner's endpoints, called exactly as Kosh (or, for the AePS
//!   debit-hook, the gateway page in a browser) calls them;
//! - [`sign`]: the Eko headers a partner sent, or a pasted curl command: which signing
//!   mistake was made;
//! - [`server`]: a running Kosh: reachable, ready, its version, the clocks' skew.
//!
//! The exit status is 0 when every check passed, 1 otherwise. Every network call is
//! bounded by `--timeout-secs`, so a doctor never hangs on a silent endpoint.

mod callback;
mod hash;
mod net;
mod report;
mod server;
mod sign;

use clap::{Args, Subcommand};
use report::Report;

#[derive(Args)]
pub struct DoctorArgs {
    #[command(subcommand)]
    command: DoctorCmd,
}

#[derive(Subcommand)]
enum DoctorCmd {
    /// Check a partner endpoint: the AePS debit-hook (CORS, answer, signature), Token
    /// Fetch Details / Acknowledgement (Basic auth, answer), or the status callback.
    Callback(callback::CallbackArgs),
    /// Check Eko request headers (a `Name: value` list, or a pasted curl command) and say
    /// which signing mistake they carry, offline.
    Sign(sign::SignArgs),
    /// Check a running Kosh: reachable, ready, its version and the clocks' skew.
    Server(server::ServerArgs),
}

pub async fn run(args: DoctorArgs) -> Result<(), String> {
    let mut report = Report::default();
    match args.command {
        DoctorCmd::Callback(args) => callback::run(args, &mut report).await?,
        DoctorCmd::Sign(args) => sign::run(args, &mut report)?,
        DoctorCmd::Server(args) => server::run(args, &mut report).await?,
    }
    report.finish()
}
