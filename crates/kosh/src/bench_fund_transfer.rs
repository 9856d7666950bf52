//! `kosh bench --scenario fund-transfer`: signed v3 fund transfers (payouts, service
//! 45), `POST /ekoapi/v3/user/payment/fund-transfer`, IMPS, ₹1.00 each, each with a
//! unique `client_ref_id`, to an account that settles at once in sandbox mode.
//!
//! Success is Eko status 0 with `tx_status` 0: the payout was recorded (its key
//! claimed, amount and fee reserved), handed to the sandbox bank, and its debit
//! posted with a status event on the outbox: two durable commands per request.

use kosh_core::clock::{Clock, SystemClock};
use kosh_sdk::eko::Credentials;
use rand::Rng;
use serde_json::{json, Value};

/// The amount of each payout.
pub const AMOUNT: &str = "1.00";

/// What the workers send.
pub struct Prepared {
    pub url: String,
    pub credentials: Credentials,
    pub user_code: String,
    /// Makes this run's `client_ref_id`s differ from earlier runs'.
    pub run: u32,
}

impl Prepared {
    pub fn new(base: &str, credentials: Credentials, user_code: kosh_core::ids::UserCode) -> Prepared {
        Prepared {
            url: format!("{base}/ekoapi/v3/user/payment/fund-transfer"),
            credentials,
            user_code: user_code.to_string(),
            run: rand::rng().random_range(0..0x10_0000),
        }
    }

    /// The JSON body of connection `connection`'s `n`th payout.
    pub fn body(&self, connection: usize, n: u64) -> Value {
        json!({
            "initiator_id": self.credentials.initiator_id,
            "user_code": self.user_code,
            "client_ref_id": format!("F{:05x}{connection:03x}{n:07x}", self.run),
            "service_code": 45,
            "payment_mode": 5,
            "recipient_name": "Bench Recipient",
            "account": "234243534",
            "ifsc": "SBIN0000001",
            "amount": AMOUNT,
            "sender_name": "Kosh Bench",
        })
    }

    /// Sends one payout; `Err` names what went wrong.
    pub async fn send(&self, client: &reqwest::Client, connection: usize, n: u64) -> Result<(), crate::bench_dmt::SendError> {
        use crate::bench_dmt::SendError;
        let signed = self.credentials.sign(SystemClock.now_ms());
        let res = client
            .post(&self.url)
            .header("developer_key", signed.developer_key)
            .header("secret-key", signed.secret_key)
            .header("secret-key-timestamp", signed.secret_key_timestamp)
            .json(&self.body(connection, n))
            .send()
            .await
            .map_err(SendError::Transport)?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.map_err(SendError::Transport)?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        match (status, body["status"].as_i64(), body["data"]["tx_status"].as_str()) {
            (200, Some(0), Some("0")) => Ok(()),
            (200, Some(0), Some(tx)) => Err(SendError::Answer(format!("tx_status {tx}"))),
            (200, Some(s), _) => Err(SendError::Answer(format!("HTTP 200 with Eko status {s}"))),
            _ => Err(SendError::Answer(format!("HTTP {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ref_ids_are_unique_and_short() {
        let prepared = Prepared {
            run: 0xf_ffff,
            ..Prepared::new("http://127.0.0.1:1", Credentials::sandbox(), kosh_core::ids::UserCode::new(20_810_200))
        };
        let reference = prepared.body(1023, 9_999_999)["client_ref_id"].as_str().unwrap().to_owned();
        assert!(reference.len() <= 20, "{reference}");
        assert_ne!(prepared.body(0, 1), prepared.body(0, 2));
        assert_ne!(prepared.body(0, 1), prepared.body(1, 1));
        assert_eq!(prepared.url, "http://127.0.0.1:1/ekoapi/v3/user/payment/fund-transfer");
    }
}
