//! Sandbox mode's Echelon merchant: in sandbox mode it exists out of the box, on the
//! public sandbox partner (so payins and payouts move the same wallet the Eko sandbox
//! uses), with the documented code and secret below; outside sandbox mode it is refused
//! even where an earlier sandbox run left it in the database. Its payout rail is
//! [`kosh_rails::sandbox::echelon_payout::SandboxPayoutRail`].

use kosh_core::echelon::merchant::StoredSecret;
use kosh_core::ids::PartnerId;
use kosh_store::commands::{Command, EchelonCommand, SeedSandboxMerchant};
use kosh_store::ops::echelon::NewMerchant;

pub const MERCHANT_CODE: &str = "KOSH-SANDBOX";
pub const SECRET: &str = "kosh-sandbox-merchant-secret-0123456789";
pub const NAME: &str = "Kosh Sandbox Merchant";

/// Creates the sandbox merchant once; nothing when it exists (or the sandbox partner
/// does not).
pub fn seed_command() -> Command {
    let stored = StoredSecret::derive(SECRET);
    Command::Echelon(EchelonCommand::SeedSandboxMerchant(SeedSandboxMerchant {
        developer_key: crate::sandbox::DEVELOPER_KEY.into(),
        merchant: NewMerchant {
            partner_id: PartnerId::new(0),
            merchant_code: MERCHANT_CODE.into(),
            name: NAME.into(),
            secret_salt: stored.salt,
            secret_verifier: stored.verifier,
            token_key: stored.token_key,
            is_sandbox: true,
        },
    }))
}
