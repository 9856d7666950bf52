//! `kosh partner callbacks set|show|unset|signing`: where a partner's callbacks go.
//!
//! Kinds: `tx_status` (Eko transaction-status callbacks: DMT, payout, QR, CMS),
//! `token_fetch` (Token Fetch Details, called before a payment), `token_ack` (Token
//! Acknowledgement) and `cms_debit_hook` (the CMS debit-hook, asked before an agent's
//! wallet is debited for a cash drop). Echelon callbacks go to the `callbackUrl` of
//! each payin/payout.

use crate::partner;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::secret::Secret;
use kosh_store::commands::callbacks::{SetEndpoint, SetSigning, UnsetEndpoint};
use kosh_store::ops::callbacks::{Endpoint, ENDPOINT_KINDS};
use kosh_store::Store;

#[derive(Args, Debug)]
pub struct CallbacksArgs {
    #[command(subcommand)]
    command: CallbacksCmd,
}

#[derive(Subcommand, Debug)]
enum CallbacksCmd {
    /// Set (create or replace) the URL of one kind of callback, with optional Basic auth
    /// and extra headers.
    Set(SetArgs),
    /// Show the partner's callback URLs (passwords and header values masked) and whether signing is on.
    Show(PartnerOnly),
    /// Remove the URL of one kind of callback.
    Unset(UnsetArgs),
    /// Turn signed callbacks on (prints a new secret once) or off.
    Signing(SigningArgs),
}

#[derive(Args, Debug)]
struct PartnerOnly {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
}

#[derive(Args, Debug)]
struct SetArgs {
    #[command(flatten)]
    target: PartnerOnly,
    /// tx_status, token_fetch, token_ack or cms_debit_hook.
    #[arg(long)]
    kind: String,
    /// http:// or https:// URL (at most 1000 characters). Redirects are not followed.
    #[arg(long)]
    url: String,
    /// Basic-auth user (with --basic-password); the Token APIs require Basic auth.
    #[arg(long)]
    basic_user: Option<String>,
    /// Basic-auth password (env KOSH_CALLBACK_BASIC_PASSWORD keeps it out of the shell history).
    #[arg(long, env = "KOSH_CALLBACK_BASIC_PASSWORD", hide_env_values = true)]
    basic_password: Option<Secret>,
    /// An extra header, `Name: value` (repeatable, at most 8).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
}

#[derive(Args, Debug)]
struct UnsetArgs {
    #[command(flatten)]
    target: PartnerOnly,
    #[arg(long)]
    kind: String,
}

#[derive(Args, Debug)]
struct SigningArgs {
    #[command(flatten)]
    target: PartnerOnly,
    /// Generate a new secret and sign every callback to this partner.
    #[arg(long, conflicts_with = "off")]
    on: bool,
    /// Stop signing.
    #[arg(long)]
    off: bool,
}

pub async fn run(args: CallbacksArgs) -> Result<(), String> {
    match args.command {
        CallbacksCmd::Set(args) => set(args).await,
        CallbacksCmd::Show(args) => show(args).await,
        CallbacksCmd::Unset(args) => unset(args).await,
        CallbacksCmd::Signing(args) => signing(args).await,
    }
}

impl PartnerOnly {
    /// The store, and the partner named in it.
    async fn open(&self) -> Result<(Store, kosh_store::ops::partners::Partner), String> {
        let store = self.store.open().await?;
        let partner = partner::lookup(&store, &self.partner).await?;
        Ok((store, partner))
    }
}

fn parse_header(text: &str) -> Result<(String, Secret), String> {
    let (name, value) = text.split_once(':').ok_or_else(|| format!("--header {text:?} must look like 'Name: value'"))?;
    Ok((name.trim().to_owned(), value.trim().into()))
}

async fn execute<C: kosh_store::commands::StoreCommand>(store: &Store, cmd: C) -> Result<C::Output, String> {
    store.execute(cmd).await.map_err(|e| e.to_string())
}

async fn set(args: SetArgs) -> Result<(), String> {
    let headers = args.headers.iter().map(|h| parse_header(h)).collect::<Result<Vec<_>, _>>()?;
    let endpoint =
        Endpoint { kind: args.kind, url: args.url, basic_user: args.basic_user, basic_password: args.basic_password, headers };
    endpoint.validate().map_err(|e| e.to_string())?;
    let (store, partner) = args.target.open().await?;
    execute(&store, SetEndpoint { partner_id: partner.id, endpoint: endpoint.clone() }).await?;
    println!("partner {} {:?}: {} callbacks go to {}", partner.id, partner.name, endpoint.kind, endpoint.url);
    Ok(())
}

async fn show(args: PartnerOnly) -> Result<(), String> {
    let (store, partner) = args.open().await?;
    let endpoints = store.callback_endpoints(partner.id).await.map_err(|e| format!("cannot read callbacks: {e}"))?;
    let signing = store.callback_signing_secret(partner.id).await.map_err(|e| format!("cannot read callbacks: {e}"))?;
    println!("partner {} {:?}", partner.id, partner.name);
    for kind in ENDPOINT_KINDS {
        match endpoints.iter().find(|e| e.kind == kind) {
            None => println!("{kind}: (not set)"),
            Some(e) => {
                let auth = e.basic_user.as_ref().map_or(String::new(), |u| format!(" (Basic {u}:***)"));
                println!("{kind}: {}{auth}", e.url);
                // Header values may carry API keys: only their names are shown.
                for (name, _) in &e.headers {
                    println!("  header {name}: ***");
                }
            }
        }
    }
    println!("signing: {}", if signing.is_some() { "on" } else { "off" });
    Ok(())
}

async fn unset(args: UnsetArgs) -> Result<(), String> {
    let (store, partner) = args.target.open().await?;
    match execute(&store, UnsetEndpoint { partner_id: partner.id, kind: args.kind.clone() }).await? {
        true => println!("removed the {} callback URL of partner {}", args.kind, partner.id),
        false => println!("partner {} had no {} callback URL", partner.id, args.kind),
    }
    Ok(())
}

async fn signing(args: SigningArgs) -> Result<(), String> {
    if args.on == args.off {
        return Err("say --on or --off".into());
    }
    let (store, partner) = args.target.open().await?;
    let secret = args.on.then(kosh_core::webhook::standard::new_secret);
    execute(&store, SetSigning { partner_id: partner.id, secret: secret.as_deref().map(Secret::from) }).await?;
    match secret {
        Some(secret) => {
            println!("signing_secret: {secret}");
            eprintln!("note: the secret is shown this once; give it to the partner to verify X-Kosh-Signature");
        }
        None => println!("signing is off for partner {}", partner.id),
    }
    Ok(())
}
