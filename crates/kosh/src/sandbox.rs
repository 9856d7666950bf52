//! `kosh sandbox otp`: the OTPs a sandbox would have sent by SMS. OTPs are stored
//! hashed; in sandbox mode only, the server also keeps the code readable for this.

use crate::partner;
use crate::serve::StoreArgs;
use clap::{Args, Subcommand};
use kosh_core::validate::Mobile;
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
    }
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
