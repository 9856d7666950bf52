//! `kosh`: run the server and administer it.
//!
//! One file per command: [`serve`] (and the store flags every command shares),
//! [`migrate`], [`partner`] (and [`partner_callbacks`]), [`wallet`], [`merchant`], [`sign`], [`sandbox`],
//! [`bench`], [`callbacks`] and [`ready`]. Each command
//! returns `Err(message)` for anything the user should fix; `main` prints it on stderr
//! and exits with status 1. (Usage errors that clap catches, such as a missing flag,
//! exit with clap's status 2.)

mod bench;
mod bench_callbacks;
mod bench_dmt;
mod callbacks;
mod dmt;
mod merchant;
mod migrate;
mod partner;
mod partner_callbacks;
mod ready;
mod sandbox;
mod serve;
mod sign;
mod wallet;

use clap::{Parser, Subcommand};
use std::future::Future;
use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: a request's buffers, rows and replies
/// are allocated on one thread and often freed on another (the SQLite writer, the
/// runtime's workers), and with glibc's per-thread arenas those frees took about a
/// fifth of the server's time under load (a `perf` profile of `kosh bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "kosh", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("KOSH_COMMIT"), ")"), about = "Kosh: an open-source payments platform server")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (embedded SQLite under --data-dir unless --database-url is given).
    Serve(Box<serve::ServeArgs>),
    /// Apply pending schema migrations and print the versions applied.
    Migrate(migrate::MigrateArgs),
    /// Create and list partners (fintechs) and their Eko credentials.
    Partner(partner::PartnerArgs),
    /// Load e-value into a partner's wallet and read its balance.
    Wallet(wallet::WalletArgs),
    /// Echelon merchants: create (code + secret, shown once), list, issue a new secret.
    Merchant(merchant::MerchantArgs),
    /// Print Eko authentication headers (secret-key, request_hash) for an access key; offline.
    Sign(sign::SignArgs),
    /// Sandbox helpers: read the OTPs a sandbox would have sent by SMS.
    Sandbox(sandbox::SandboxArgs),
    /// Load-test a running server and print throughput and latency percentiles.
    Bench(bench::BenchArgs),
    /// The callback delivery log: list, show attempts, replay, send a test callback.
    Callbacks(callbacks::CallbacksArgs),
    /// Money transfers: show one, or list a partner's.
    Dmt(dmt::DmtArgs),
    /// Ask a running server whether it is ready (exit 0) or not (exit 1): for health checks.
    Ready(ready::ReadyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Serve(args) => block_on(serve::run(*args)),
        Cmd::Migrate(args) => block_on(migrate::run(args)),
        Cmd::Partner(args) => block_on(partner::run(args)),
        Cmd::Wallet(args) => block_on(wallet::run(args)),
        Cmd::Merchant(args) => block_on(merchant::run(args)),
        // Signing needs no store and no runtime.
        Cmd::Sign(args) => sign::run(args),
        Cmd::Sandbox(args) => block_on(sandbox::run(args)),
        Cmd::Bench(args) => block_on(bench::run(args)),
        Cmd::Callbacks(args) => block_on(callbacks::run(args)),
        Cmd::Dmt(args) => block_on(dmt::run(args)),
        Cmd::Ready(args) => block_on(ready::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kosh: {message}");
            ExitCode::FAILURE
        }
    }
}

fn block_on(command: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("start the async runtime");
    runtime.block_on(command)
}
