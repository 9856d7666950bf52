//! `kosh partner create|list`: the partners (fintechs) of the platform and their Eko
//! credentials.

use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::secret::{new_access_key, new_developer_key};
use kosh_core::validate::Mobile;
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::partners::{NewPartner, Partner};
use kosh_store::Store;
use rand::Rng;

/// Longest partner name, in characters.
const MAX_NAME_CHARS: usize = 64;
/// Random initiator ids drawn before giving up on collisions (each is 1 in 4·10⁹).
const MAX_RANDOM_INITIATOR_TRIES: u32 = 5;

#[derive(Args, Debug)]
pub struct PartnerArgs {
    #[command(subcommand)]
    command: PartnerCmd,
}

#[derive(Subcommand, Debug)]
enum PartnerCmd {
    /// Create a partner with fresh credentials. The access_key is printed this once only.
    Create(CreateArgs),
    /// List partners: id, name, developer_key, initiator_id (never access keys).
    List(ListArgs),
    /// Where the partner's callbacks go: set, show, unset URLs; signing on or off.
    Callbacks(crate::partner_callbacks::CallbacksArgs),
}

#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Unique name of the partner. Not all digits: `--partner` options elsewhere take an
    /// id or a name, and a numeric name would read as an id.
    #[arg(long)]
    name: String,
    /// The partner's registered mobile number, sent as `initiator_id` on every Eko
    /// request [default: a random valid 10-digit mobile].
    #[arg(long, value_name = "MOBILE")]
    initiator_id: Option<String>,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: PartnerArgs) -> Result<(), String> {
    match args.command {
        PartnerCmd::Create(args) => create(args).await,
        PartnerCmd::List(args) => list(args).await,
        PartnerCmd::Callbacks(args) => crate::partner_callbacks::run(args).await,
    }
}

/// A partner by numeric id or by name, or an error that says how to find one.
pub async fn lookup(store: &Store, id_or_name: &str) -> Result<Partner, String> {
    let found = store.find_partner(id_or_name.trim()).await.map_err(|e| format!("cannot read partners: {e}"))?;
    found.ok_or_else(|| format!("no partner with id or name {:?} (`kosh partner list` shows them)", id_or_name.trim()))
}

fn parse_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("--name must be 1 to {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("--name must not contain control characters".into());
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err("--name must not be all digits (it would read as a partner id)".into());
    }
    Ok(name.to_owned())
}

/// A random mobile number that [`Mobile::parse`] accepts: 6–9, then nine digits.
fn random_mobile() -> String {
    let mut rng = rand::rng();
    format!("{}{:09}", rng.random_range(6..=9u8), rng.random_range(0..1_000_000_000u32))
}

async fn create(args: CreateArgs) -> Result<(), String> {
    let name = parse_name(&args.name)?;
    let given = match &args.initiator_id {
        Some(text) => Some(Mobile::parse(text).map_err(|m| format!("--initiator-id {m}"))?.as_str().to_owned()),
        None => None,
    };
    let store = args.store.open().await?;
    let mut tries = 0;
    let partner = loop {
        tries += 1;
        let initiator_id = given.clone().unwrap_or_else(random_mobile);
        let new = NewPartner {
            name: name.clone(),
            developer_key: new_developer_key(),
            access_key: new_access_key().into(),
            initiator_id: initiator_id.clone(),
            is_sandbox: false,
        };
        match store.execute(new).await {
            Ok(partner) => break partner,
            Err(CommandError::Rejected(Rejection::PartnerExists { field: "initiator_id" }))
                if given.is_none() && tries < MAX_RANDOM_INITIATOR_TRIES => {}
            Err(e) => return Err(create_error(&e, &name, &initiator_id)),
        }
    };
    println!("created partner {} {:?}", partner.id, partner.name);
    println!("developer_key: {}", partner.developer_key);
    println!("access_key: {}", partner.access_key.expose());
    println!("initiator_id: {}", partner.initiator_id);
    eprintln!("note: the access_key is shown this once only (`kosh partner list` never prints it); store it securely now");
    Ok(())
}

fn create_error(e: &CommandError, name: &str, initiator_id: &str) -> String {
    match e.rejection() {
        Some(Rejection::PartnerExists { field: "name" }) => format!("a partner named {name:?} already exists"),
        Some(Rejection::PartnerExists { field: "initiator_id" }) => {
            format!("initiator_id {initiator_id} is already registered to another partner")
        }
        _ => format!("cannot create the partner: {e}"),
    }
}

async fn list(args: ListArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    let partners = store.partners().await.map_err(|e| format!("cannot read partners: {e}"))?;
    if partners.is_empty() {
        println!("no partners in {} (`kosh partner create --name NAME` adds one)", store.location().describe());
        return Ok(());
    }
    let mut rows = vec![["ID".to_owned(), "NAME".into(), "DEVELOPER_KEY".into(), "INITIATOR_ID".into(), "SANDBOX".into()]];
    for p in &partners {
        let sandbox = if p.is_sandbox { "yes" } else { "no" };
        rows.push([p.id.to_string(), p.name.clone(), p.developer_key.clone(), p.initiator_id.clone(), sandbox.into()]);
    }
    print_table(&rows);
    Ok(())
}

/// Prints rows as left-aligned columns separated by two spaces.
fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_mobiles_are_valid() {
        for _ in 0..1000 {
            let mobile = random_mobile();
            assert!(Mobile::parse(&mobile).is_ok(), "{mobile}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(parse_name("  acme pay ").unwrap(), "acme pay");
        assert!(parse_name("").is_err());
        assert!(parse_name("12345").unwrap_err().contains("all digits"));
        assert!(parse_name(&"x".repeat(65)).is_err());
        assert!(parse_name("a\tb").is_err());
    }
}
