//! `kosh wallet credit|balance`: an operator loads e-value into a partner's wallet (a
//! ledger entry from the platform's funding account), and reads the balance.

use crate::partner;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::ledger::{AccountKind, Balance};
use kosh_core::money::Paise;
use kosh_store::commands::{CreditWallet, WalletCredit, MAX_REFERENCE_LEN};
use kosh_store::error::Rejection;

#[derive(Args, Debug)]
pub struct WalletArgs {
    #[command(subcommand)]
    command: WalletCmd,
}

#[derive(Subcommand, Debug)]
enum WalletCmd {
    /// Load e-value into a partner's wallet from the funding account; prints the new balance.
    Credit(CreditArgs),
    /// Print a partner's wallet balance (posted, and available after pending debits).
    Balance(BalanceArgs),
}

#[derive(Args, Debug)]
struct CreditArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
    /// Amount in rupees with at most 2 decimals, e.g. 5000 or 5000.00.
    #[arg(long, value_name = "RUPEES", allow_hyphen_values = true)]
    amount: String,
    /// Free text recorded with the ledger entry (at most 64 characters), e.g. the bank
    /// transfer that funded it.
    #[arg(long, default_value = "operator credit (kosh CLI)")]
    reference: String,
}

#[derive(Args, Debug)]
struct BalanceArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
}

pub async fn run(args: WalletArgs) -> Result<(), String> {
    match args.command {
        WalletCmd::Credit(args) => credit(args).await,
        WalletCmd::Balance(args) => balance(args).await,
    }
}

/// A positive rupee amount, parsed exactly; the error is the one to show the operator.
pub fn parse_amount(text: &str) -> Result<Paise, String> {
    let amount = Paise::parse_rupees(text).map_err(|e| e.to_string())?;
    if amount.is_zero() {
        return Err("amount must be greater than zero".into());
    }
    Ok(amount)
}

/// Paise as rupees with two decimals, negative amounts included.
pub fn rupees(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    let abs = paise.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

async fn credit(args: CreditArgs) -> Result<(), String> {
    let amount = parse_amount(&args.amount).map_err(|e| format!("--amount {:?}: {e}", args.amount))?;
    let reference = args.reference.trim().to_owned();
    if reference.chars().count() > MAX_REFERENCE_LEN {
        return Err(format!("--reference is longer than {MAX_REFERENCE_LEN} characters"));
    }
    let store = args.store.open().await?;
    let partner = partner::lookup(&store, &args.partner).await?;
    let cmd = CreditWallet { partner_id: partner.id, amount_paise: amount, reference };
    let WalletCredit { entry_id, balance } = store.execute(cmd).await.map_err(|e| match e.rejection() {
        Some(Rejection::PartnerNotFound) => format!("partner {} no longer exists", partner.id),
        _ => format!("cannot credit the wallet: {e}"),
    })?;
    println!("credited {amount} to partner {} {:?} (ledger entry {entry_id})", partner.id, partner.name);
    print_balance(&balance);
    Ok(())
}

async fn balance(args: BalanceArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    let partner = partner::lookup(&store, &args.partner).await?;
    let balance =
        store.balance(partner.id, &AccountKind::PartnerWallet).await.map_err(|e| format!("cannot read the balance: {e}"))?;
    println!("partner {} {:?}", partner.id, partner.name);
    print_balance(&balance);
    Ok(())
}

fn print_balance(balance: &Balance) {
    println!("balance: {}", rupees(balance.posted_credit()));
    println!("available: {}", rupees(balance.available_credit()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_positive() {
        assert_eq!(parse_amount("5000.00").unwrap().get(), 500_000);
        assert_eq!(parse_amount("0").unwrap_err(), "amount must be greater than zero");
        assert_eq!(parse_amount("1.005").unwrap_err(), "amount has more than 2 decimal places");
        assert_eq!(parse_amount("-1").unwrap_err(), "amount must not be negative");
    }

    #[test]
    fn rupees_format_both_signs() {
        assert_eq!(rupees(500_050), "5000.50");
        assert_eq!(rupees(-5), "-0.05");
        assert_eq!(rupees(0), "0.00");
    }
}
