//! `kosh bench --scenario dmt-imps`: signed IMPS money transfers, `POST
//! /ekoapi/v1/transactions`, each with a unique `client_ref_id`.
//!
//! Before the clock starts, each connection gets its own verified customer and
//! recipient (customers have a monthly limit, so one per connection spreads the load
//! the way real traffic does): the customer is enrolled, its OTP read from the sandbox
//! OTP reader (so the server must run in sandbox mode), verified, and a recipient whose
//! account settles at once is added. Every transfer is ₹1.00; success is Eko status 0
//! with `tx_status` 0 (settled), which means the transfer was recorded, its e-value
//! reserved, the rail asked, and the pending debit posted: two durable commands.

use kosh_core::clock::{Clock, SystemClock};
use kosh_core::ids::UserCode;
use kosh_sdk::eko::{Client, Credentials};
use rand::Rng;
use reqwest::Method;
use serde_json::Value;

/// The amount of each transfer.
pub const AMOUNT: &str = "1.00";

/// What the workers send: one customer and recipient per connection.
pub struct Prepared {
    pub url: String,
    pub credentials: Credentials,
    pub user_code: String,
    /// `(customer mobile, recipient_id)`, one per connection.
    pub customers: Vec<(String, String)>,
    /// Makes this run's `client_ref_id`s differ from earlier runs'.
    pub run: u32,
}

/// Enrols, verifies and gives a recipient to one customer per connection.
pub async fn prepare(base: &str, credentials: Credentials, user_code: UserCode, connections: u32) -> Result<Prepared, String> {
    let api = Client::new(format!("{base}/ekoapi/v1"), credentials.clone());
    let root = Client::new(base.to_owned(), credentials.clone());
    let mut rng = rand::rng();
    let first: u64 = rng.random_range(6_000_000_000..9_000_000_000);
    let user_code = user_code.to_string();
    let mut customers = Vec::with_capacity(connections as usize);
    for i in 0..u64::from(connections) {
        let mobile = (first + i).to_string();
        enrol(&api, &root, &user_code, &mobile).await?;
        let recipient_id = add_recipient(&api, &user_code, &mobile, &format!("77{:010}", first % 10_000_000_000 + i)).await?;
        customers.push((mobile, recipient_id));
    }
    Ok(Prepared {
        url: format!("{base}/ekoapi/v1/transactions"),
        credentials,
        user_code,
        customers,
        run: rng.random_range(0..0x10_0000),
    })
}

fn fail(what: &str, answer: &kosh_sdk::eko::Answer) -> String {
    format!("{what}: HTTP {} {}", answer.status, answer.body)
}

async fn enrol(api: &Client, root: &Client, user_code: &str, mobile: &str) -> Result<(), String> {
    let address = r#"{"line":"1 Bench Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#;
    let form = [("user_code", user_code), ("name", "Bench Customer"), ("dob", "1990-01-01"), ("residence_address", address)];
    let path = format!("/customers/mobile_number:{mobile}");
    let created = api.send_form(Method::PUT, &path, &form).await.map_err(|e| format!("enrol {mobile}: {e}"))?;
    match created.body["status"].as_i64() {
        Some(0) => {}
        Some(17) => return Ok(()), // verified in an earlier run
        _ => return Err(fail(&format!("enrol {mobile}"), &created)),
    }
    let otp = root
        .get("/sandbox/otp", &[("mobile", mobile), ("purpose", "dmt_customer")])
        .await
        .map_err(|e| format!("read the OTP of {mobile}: {e}"))?;
    let code = otp.body["data"]["otp"]
        .as_str()
        .ok_or_else(|| fail("read the customer OTP (the dmt-imps scenario needs a server in sandbox mode)", &otp))?;
    let verify = [("user_code", user_code), ("id_type", "mobile_number"), ("id", mobile)];
    let verified = api
        .send_form(Method::PUT, &format!("/customers/verification/otp:{code}"), &verify)
        .await
        .map_err(|e| format!("verify {mobile}: {e}"))?;
    if verified.body["status"] != 0 {
        return Err(fail(&format!("verify {mobile}"), &verified));
    }
    Ok(())
}

async fn add_recipient(api: &Client, user_code: &str, mobile: &str, account: &str) -> Result<String, String> {
    let path = format!("/customers/mobile_number:{mobile}/recipients/acc_ifsc:{account}_SBIN0000001");
    let form = [("user_code", user_code), ("recipient_name", "Bench Recipient"), ("recipient_mobile", "9876543210")];
    let added = api.send_form(Method::PUT, &path, &form).await.map_err(|e| format!("add a recipient for {mobile}: {e}"))?;
    match (added.body["status"].as_i64(), added.body["data"]["recipient_id"].as_i64()) {
        (Some(0 | 342), Some(id)) => Ok(id.to_string()),
        _ => Err(fail(&format!("add a recipient for {mobile}"), &added)),
    }
}

impl Prepared {
    /// The form body of connection `connection`'s `n`th transfer.
    pub fn body(&self, connection: usize, n: u64) -> String {
        let (mobile, recipient_id) = &self.customers[connection % self.customers.len()];
        let client_ref_id = format!("K{:05x}{connection:03x}{n:07x}", self.run);
        serde_urlencoded::to_string([
            ("initiator_id", self.credentials.initiator_id.as_str()),
            ("user_code", self.user_code.as_str()),
            ("customer_id", mobile),
            ("recipient_id", recipient_id),
            ("amount", AMOUNT),
            ("timestamp", "2026-11-21T10:00:00.000Z"),
            ("currency", "INR"),
            ("client_ref_id", &client_ref_id),
            ("state", "1"),
            ("channel", "2"),
            ("latlong", "28.4595,77.0266"),
        ])
        .expect("a form encodes")
    }

    /// Sends one transfer; `Err` names what went wrong.
    pub async fn send(&self, client: &reqwest::Client, connection: usize, n: u64) -> Result<(), SendError> {
        let signed = self.credentials.sign(SystemClock.now_ms());
        let res = client
            .post(&self.url)
            .header("developer_key", signed.developer_key)
            .header("secret-key", signed.secret_key)
            .header("secret-key-timestamp", signed.secret_key_timestamp)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(self.body(connection, n))
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

pub enum SendError {
    Transport(reqwest::Error),
    Answer(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ref_ids_are_unique_and_short() {
        let prepared = Prepared {
            url: String::new(),
            credentials: Credentials::sandbox(),
            user_code: "20810200".into(),
            customers: vec![("9000000001".into(), "1".into())],
            run: 0xf_ffff,
        };
        let body = prepared.body(1023, 9_999_999);
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
        let reference = &pairs.iter().find(|(k, _)| k == "client_ref_id").unwrap().1;
        assert!(reference.len() <= 20, "{reference}");
        assert_ne!(prepared.body(0, 1), prepared.body(0, 2));
        assert_ne!(prepared.body(0, 1), prepared.body(1, 1));
    }
}
