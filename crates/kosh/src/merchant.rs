//! `kosh merchant create|list|secret`: Echelon merchants. A merchant is a partner's
//! Echelon identity: a `merchantCode` and a secret that signs in at `/auth-tokens`. The
//! secret is printed once; the database keeps only one-way values derived from it (see
//! `kosh_core::echelon::merchant`), so `list` can never show it and a lost secret is
//! replaced with `secret`.

use crate::partner::lookup;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::echelon::merchant::{new_secret, StoredSecret};
use kosh_core::echelon::{is_account_name, is_entity_id};
use kosh_store::commands::RotateSecret;
use kosh_store::ops::echelon::NewMerchant;

#[derive(Args, Debug)]
pub struct MerchantArgs {
    #[command(subcommand)]
    command: MerchantCmd,
}

#[derive(Subcommand, Debug)]
enum MerchantCmd {
    /// Create a merchant for a partner; prints its merchantCode and secret (this once only).
    Create(CreateArgs),
    /// List merchants: code, name, partner, state (never secrets).
    List(ListArgs),
    /// Issue a new secret for a merchant (printed once); tokens of the old one stop working.
    Secret(SecretArgs),
}

#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner (id or name) whose wallet the merchant's payins and payouts move.
    #[arg(long)]
    partner: String,
    /// The merchantCode: 1 to 64 letters, digits, '_' or '-'.
    #[arg(long)]
    code: String,
    /// The name customers see (merchantName, channelInfo.name): letters, spaces and
    /// punctuation, no digits, at most 64 characters.
    #[arg(long)]
    name: String,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
struct SecretArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The merchantCode.
    #[arg(long)]
    code: String,
}

pub async fn run(args: MerchantArgs) -> Result<(), String> {
    match args.command {
        MerchantCmd::Create(args) => create(args).await,
        MerchantCmd::List(args) => list(args).await,
        MerchantCmd::Secret(args) => rotate(args).await,
    }
}

fn check_code(code: &str) -> Result<&str, String> {
    let code = code.trim();
    if code.len() > 64 || !is_entity_id(code) {
        return Err("--code must be 1 to 64 letters, digits, '_' or '-'".into());
    }
    Ok(code)
}

async fn create(args: CreateArgs) -> Result<(), String> {
    let code = check_code(&args.code)?.to_owned();
    let name = args.name.trim().to_owned();
    if !is_account_name(&name) {
        return Err("--name must be 1 to 64 letters, spaces or punctuation (no digits): it is shown as an account name".into());
    }
    let store = args.store.open().await?;
    let partner = lookup(&store, &args.partner).await?;
    let secret = new_secret();
    let stored = StoredSecret::derive(&secret);
    let merchant = NewMerchant {
        partner_id: partner.id,
        merchant_code: code.clone(),
        name,
        secret_salt: stored.salt,
        secret_verifier: stored.verifier,
        token_key: stored.token_key,
        is_sandbox: false,
    };
    match store.execute(merchant).await {
        Ok(Some(m)) => {
            println!("created merchant {} for partner {} {:?}", m.merchant_code, partner.id, partner.name);
            println!("merchantCode: {}", m.merchant_code);
            println!("secret: {secret}");
            eprintln!("note: the secret is shown this once only (Kosh keeps only a one-way verifier); store it securely now");
            Ok(())
        }
        Ok(None) => Err(format!("merchant code {code:?} is taken")),
        Err(e) => Err(format!("cannot create the merchant: {e}")),
    }
}

async fn list(args: ListArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    let merchants = store.echelon_merchants().await.map_err(|e| format!("cannot read merchants: {e}"))?;
    if merchants.is_empty() {
        println!("no merchants (`kosh merchant create --partner P --code C --name N` adds one)");
        return Ok(());
    }
    println!("{:<24}  {:<32}  {:>7}  {:<8}  SANDBOX", "CODE", "NAME", "PARTNER", "ACTIVE");
    for m in merchants {
        let yes = |b: bool| if b { "yes" } else { "no" };
        println!("{:<24}  {:<32}  {:>7}  {:<8}  {}", m.merchant_code, m.name, m.partner_id, yes(m.active), yes(m.is_sandbox));
    }
    Ok(())
}

async fn rotate(args: SecretArgs) -> Result<(), String> {
    let code = check_code(&args.code)?.to_owned();
    let store = args.store.open().await?;
    let secret = new_secret();
    let stored = StoredSecret::derive(&secret);
    let cmd =
        RotateSecret { merchant_code: code.clone(), salt: stored.salt, verifier: stored.verifier, token_key: stored.token_key };
    match store.execute(cmd).await {
        Ok(true) => {
            println!("merchantCode: {code}");
            println!("secret: {secret}");
            eprintln!(
                "note: shown this once only; tokens issued with the old secret stop working (within 5 s on running servers)"
            );
            Ok(())
        }
        Ok(false) => Err(format!("no merchant {code:?} (`kosh merchant list`)")),
        Err(e) => Err(format!("cannot issue a new secret: {e}")),
    }
}
