//! `kosh dmt`: an operator's view of money transfers, read from the store.
//!
//! - `kosh dmt transfer --partner P (--tid T | --client-ref-id R)`: one transfer, every field.
//! - `kosh dmt transfers --partner P [--after-tid T]`: the partner's transfers, oldest first,
//!   one line each (at most 1,000; page on with `--after-tid`).

use crate::partner;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::ids::Tid;
use kosh_core::money::Paise;
use kosh_store::ops::dmt_transfers::Transfer;

#[derive(Args, Debug)]
pub struct DmtArgs {
    #[command(subcommand)]
    command: DmtCmd,
}

#[derive(Subcommand, Debug)]
enum DmtCmd {
    /// Print one transfer: status, amounts, bank reference, refund.
    Transfer(TransferArgs),
    /// List a partner's transfers, oldest first.
    Transfers(ListArgs),
}

#[derive(Args, Debug)]
struct TransferArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
    /// The platform's transaction id.
    #[arg(long, conflicts_with = "client_ref_id", required_unless_present = "client_ref_id")]
    tid: Option<Tid>,
    /// The partner's reference.
    #[arg(long)]
    client_ref_id: Option<String>,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
    /// List transfers after this tid (for the next page).
    #[arg(long, default_value_t = Tid::new(0))]
    after_tid: Tid,
}

pub async fn run(args: DmtArgs) -> Result<(), String> {
    match args.command {
        DmtCmd::Transfer(args) => show(args).await,
        DmtCmd::Transfers(args) => list(args).await,
    }
}

fn rupees(paise: Option<Paise>) -> String {
    paise.map_or_else(|| "out of range".to_owned(), Paise::to_rupees_string)
}

async fn show(args: TransferArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    let p = partner::lookup(&store, &args.partner).await?;
    let found = match (&args.tid, &args.client_ref_id) {
        (Some(tid), _) => store.dmt_transfer(p.id, *tid).await,
        (None, Some(reference)) => store.dmt_transfer_by_client_ref(p.id, reference.trim()).await,
        (None, None) => return Err("give --tid or --client-ref-id".into()),
    };
    let t = found
        .map_err(|e| format!("cannot read transfers: {e}"))?
        .ok_or_else(|| format!("partner {} {:?} has no such transfer (tid and client_ref_id are per partner)", p.id, p.name))?;
    let c = &t.charges;
    println!("tid: {}", t.tid);
    println!("client_ref_id: {}", t.client_ref_id);
    println!("tx_status: {} ({})", t.tx_status.code(), t.tx_status.desc());
    println!("channel: {}", t.channel.desc());
    println!("amount: {}", rupees(Some(c.amount_paise)));
    println!(
        "fee: {} (gst {}), commission: {}, tds: {}",
        rupees(Some(c.fee_paise)),
        rupees(Some(c.gst_paise)),
        rupees(Some(c.commission_paise)),
        rupees(Some(c.tds_paise))
    );
    println!("wallet_debit: {}", rupees(c.debit_paise()));
    println!("customer: {} ({})", t.customer_mobile, t.sender_name);
    println!("recipient: {} {} {} ({})", t.recipient_id, t.account, t.ifsc, t.recipient_name);
    println!("bank_ref_num: {}", t.bank_ref_num);
    println!("reason: {}", t.reason);
    println!("refund_tid: {}", t.refund_tid.map_or_else(String::new, |r| r.to_string()));
    println!("ledger_entry: {}", t.entry_id);
    println!("created: {}", kosh_core::civil::iso_utc(t.created_at_ms));
    println!("updated: {}", kosh_core::civil::iso_utc(t.updated_at_ms));
    if let Some(at) = t.check_at_ms {
        println!("next_rail_check: {}", kosh_core::civil::iso_utc(at));
    }
    Ok(())
}

fn line(t: &Transfer) -> String {
    format!(
        "{}  {:<20}  {:<14}  {:>10}  {}  {}",
        t.tid,
        t.client_ref_id,
        t.tx_status.desc(),
        rupees(Some(t.charges.amount_paise)),
        t.channel.desc(),
        kosh_core::civil::iso_utc(t.created_at_ms)
    )
}

async fn list(args: ListArgs) -> Result<(), String> {
    let store = args.store.open().await?;
    let p = partner::lookup(&store, &args.partner).await?;
    let transfers = store.dmt_transfers(p.id, args.after_tid).await.map_err(|e| format!("cannot read transfers: {e}"))?;
    for t in &transfers {
        println!("{}", line(t));
    }
    eprintln!("{} transfer(s)", transfers.len());
    Ok(())
}
