//! `kosh sandbox otp`: the OTPs a sandbox would have sent by SMS. OTPs are stored
//! hashed; in sandbox mode only, the server also keeps the code readable for this.
//! `kosh sandbox qr-pay`: a simulated customer pays a UPI QR code (as `POST
//! /sandbox/qr/pay` does), priced by the configuration's `qr_pricing`.

use crate::partner;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::collections as rules;
use kosh_core::validate::Mobile;
use kosh_server::service::collections::accept_payment;
use kosh_store::commands::USER_MOBILE_OTP;

#[derive(Args, Debug)]
pub struct SandboxArgs {
    #[command(subcommand)]
    command: SandboxCmd,
}

#[derive(Subcommand, Debug)]
enum SandboxCmd {
    /// Print the latest usable (unused, unexpired) OTP sent to a mobile number.
    Otp(OtpArgs),
    /// Pay a UPI QR code as a simulated customer (accepted now, settled at T+1).
    QrPay(QrPayArgs),
}

#[derive(Args, Debug)]
struct QrPayArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name (the public sandbox partner is named `sandbox`).
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
    /// The QR's client_ref_id, as generate-static-qr / generate-dynamic-qr answered it.
    #[arg(long, value_name = "CLIENT_REF_ID")]
    qr: String,
    /// The amount the customer pays, in rupees (a dynamic QR: exactly its amount).
    #[arg(long, value_name = "RUPEES")]
    amount: String,
}

#[derive(Args, Debug)]
struct OtpArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The partner's id or name (the public sandbox partner is named `sandbox`).
    #[arg(long, value_name = "ID_OR_NAME")]
    partner: String,
    /// The mobile number the OTP was sent to.
    #[arg(long)]
    mobile: String,
    /// What the OTP authorises: `user_mobile` verifies an agent's mobile number.
    #[arg(long, default_value = USER_MOBILE_OTP)]
    purpose: String,
}

pub async fn run(args: SandboxArgs) -> Result<(), String> {
    match args.command {
        SandboxCmd::Otp(args) => otp(args).await,
        SandboxCmd::QrPay(args) => qr_pay(args).await,
    }
}

async fn qr_pay(args: QrPayArgs) -> Result<(), String> {
    let amount = rules::parse_amount(&args.amount, rules::MAX_QR_PAISE).map_err(|m| format!("--amount {m}"))?;
    let config = args.store.config()?;
    let store = args.store.open().await?;
    let partner = partner::lookup(&store, &args.partner).await?;
    let paid = accept_payment(&store, &config.qr_pricing, partner.id.get(), args.qr.trim(), amount)
        .await
        .map_err(|e| format!("the payment was refused: {e}"))?;
    let p = &paid.payment;
    println!("tid: {}", p.tid);
    println!("tx_status: {} ({})", p.status.code(), p.status.desc());
    println!("amount: {}", p.amount.to_rupees_string());
    println!("fee: {}", p.fee.to_rupees_string());
    println!("commission: {}", p.commission.to_rupees_string());
    println!("tds: {}", p.tds.to_rupees_string());
    println!("qr_status: {} ({})", paid.qr.status.code(), paid.qr.status.desc());
    println!("settles_at: {} IST", kosh_core::civil::ist_datetime(p.settle_at_ms));
    Ok(())
}

async fn otp(args: OtpArgs) -> Result<(), String> {
    let mobile = Mobile::parse(&args.mobile).map_err(|m| format!("--mobile {m}"))?;
    let purpose = args.purpose.trim();
    let store = args.store.open().await?;
    let partner = partner::lookup(&store, &args.partner).await?;
    let latest = store.sandbox_otp(partner.id, purpose, mobile.as_str()).await.map_err(|e| format!("cannot read OTPs: {e}"))?;
    let Some((otp_ref_id, code, expires_at_ms)) = latest else {
        return Err(format!(
            "no unused OTP for mobile {} (purpose {purpose}) of partner {} {:?}; request one through the API first \
             (OTPs are readable only when the server runs in sandbox mode)",
            mobile.as_str(),
            partner.id,
            partner.name
        ));
    };
    let left_ms = expires_at_ms - store.now_ms();
    if left_ms <= 0 {
        return Err(format!(
            "the latest OTP for mobile {} (purpose {purpose}) expired {} s ago; request a new one",
            mobile.as_str(),
            -left_ms / 1000
        ));
    }
    println!("otp: {code}");
    println!("otp_ref_id: {otp_ref_id}");
    println!("expires_in_secs: {}", left_ms / 1000);
    Ok(())
}
