//! Sandbox mode: the public sandbox partner from the vendor's documentation exists out of
//! the box, so the vendor's own examples and SDKs work unchanged against a fresh Kosh.
//!
//! This module and [`echelon`] (the sandbox merchant) hold what sandbox mode *seeds*.
//! The simulated banks it talks to are connectors and live in
//! [`kosh_rails::sandbox`] (the DMT rail, the Echelon payout rail); the AePS sandbox bank
//! is `kosh_core::aeps::sandbox`, consulted by the store command that records a
//! transaction. The sandbox's OTP reader is an Eko route, in [`crate::eko::otp`].

pub mod echelon;

use kosh_core::ids::UserCode;
use kosh_core::money::Paise;
use kosh_store::commands::{Command, SeedSandbox};
use kosh_store::ops::agents::NewAgent;
use kosh_store::ops::partners::NewPartner;

pub const DEVELOPER_KEY: &str = "becbbce45f79c6f5109f848acd540567";
pub const ACCESS_KEY: &str = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30";
pub const INITIATOR_ID: &str = "9962981729";
pub const USER_CODE: UserCode = UserCode::new(20_810_200);
pub const PARTNER_NAME: &str = "sandbox";

/// The command that creates the sandbox partner, its agent (every service active) and its
/// funded wallet; it does nothing when they exist.
pub fn seed_command(wallet_rupees: i64) -> Command {
    Command::SeedSandbox(SeedSandbox {
        partner: NewPartner {
            name: PARTNER_NAME.into(),
            developer_key: DEVELOPER_KEY.into(),
            access_key: ACCESS_KEY.into(),
            initiator_id: INITIATOR_ID.into(),
            is_sandbox: true,
        },
        agent: NewAgent {
            pan: "ABCPS1234K".into(),
            mobile: "9962981729".into(),
            first_name: "Sandbox".into(),
            middle_name: String::new(),
            last_name: "Agent".into(),
            email: "sandbox.agent@example.com".into(),
            dob: "1990-01-01".into(),
            shop_name: "Sandbox Store".into(),
            residence_address: r#"{"line":"1 Sandbox Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#.into(),
        },
        // The configuration keeps it within 0..=₹100 crore, the most one amount may be.
        wallet_paise: Paise::from_rupees(wallet_rupees).unwrap_or(Paise::ZERO),
    })
}
