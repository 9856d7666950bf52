//! What the CMS tests share: a sandbox server, a partner server on 127.0.0.1 that
//! plays the CMS debit-hook (proceed 1, proceed 0, or down) and receives the status
//! callbacks, and issuing a page URL over signed HTTP.
#![allow(dead_code)]

use crate::callback_support::{closed_port, reply, set_endpoint, ClosedPort, Receiver};
use crate::eko_support::{start_with_clock, Backend};
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::App;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

pub const AGENT: &str = "20810200";
pub const GENERATE: &str = "/marketuat/airtelPartner/generateCmsUrl";

/// How the partner's debit-hook answers.
pub const PROCEED: u8 = 1;
pub const REFUSE: u8 = 0;

pub struct World {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub partner_id: kosh_core::ids::PartnerId,
    pub v1: Client,
    pub partner: Receiver,
    pub hook: Arc<AtomicU8>,
    /// A port nothing listens on: the debit-hook "down".
    pub down: ClosedPort,
}

pub async fn world(backend: Backend) -> World {
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = start_with_clock(backend, clock.clone(), |c| c.callbacks_tick_ms = 5).await;
    let hook = Arc::new(AtomicU8::new(PROCEED));
    let mode = hook.clone();
    let partner = Receiver::start(
        clock.clone(),
        Arc::new(move |r| {
            if r.path != "/cms-hook" {
                return reply(200, "{}");
            }
            let tid = r.json()["tid"].clone();
            match mode.load(Ordering::SeqCst) {
                PROCEED => reply(200, &json!({"ekoTxnId": tid, "proceed": 1}).to_string()),
                _ => reply(200, &json!({"ekoTxnId": tid, "proceed": 0, "message": "loan account is closed"}).to_string()),
            }
        }),
    )
    .await;
    let store = &app.state.store;
    let partner_id = crate::callback_support::partner_id(store, "sandbox").await;
    set_endpoint(store, partner_id, "cms_debit_hook", &format!("{}/cms-hook", partner.url), None).await;
    set_endpoint(store, partner_id, "tx_status", &format!("{}/status", partner.url), None).await;
    let v1 = Client::new(format!("{}/ekoapi/v1", app.url()), Credentials::sandbox());
    World { app, clock, partner_id, v1, partner, hook, down: closed_port() }
}

impl World {
    /// `generateCmsUrl` for the sandbox agent; answers the body.
    pub async fn generate(&self, client_ref_id: &str) -> Value {
        self.generate_for(AGENT, client_ref_id).await
    }

    pub async fn generate_for(&self, user_code: &str, client_ref_id: &str) -> Value {
        let form = [("user_code", user_code), ("client_ref_id", client_ref_id), ("latlong", "28.4595,77.0266"), ("locale", "en")];
        let answer = self.v1.send_form(reqwest::Method::POST, GENERATE, &form).await.expect("the server answers");
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    /// A fresh page URL.
    pub async fn url(&self, client_ref_id: &str) -> String {
        let body = self.generate(client_ref_id).await;
        assert_eq!(body["status"], 0, "{body}");
        body["data"]["url"].as_str().expect("data.url").to_owned()
    }

    /// Points the debit-hook at a port nothing listens on.
    pub async fn hook_down(&self) {
        let url = format!("http://127.0.0.1:{}/cms-hook", self.down.port);
        set_endpoint(&self.app.state.store, self.partner_id, "cms_debit_hook", &url, None).await;
    }

    pub async fn wallet(&self) -> i64 {
        self.app.state.store.balance(self.partner_id, &AccountKind::PartnerWallet).await.unwrap().available_credit()
    }

    /// The debit-hook requests the partner got.
    pub fn hook_calls(&self) -> Vec<Value> {
        self.partner.received().iter().filter(|r| r.path == "/cms-hook").map(|r| r.json()).collect()
    }

    /// The status callbacks the partner got.
    pub fn status_callbacks(&self) -> Vec<Value> {
        self.partner.received().iter().filter(|r| r.path == "/status").map(|r| r.json()).collect()
    }

    pub async fn inquiry(&self, reference: &str) -> Option<Value> {
        let reply = kosh_server::eko::cms::inquiry_reply(&self.app.state, self.partner_id, reference).await;
        reply.unwrap_or_else(|e| panic!("inquiry failed: {}", e.body())).map(|r| r.body())
    }
}

/// ₹2,500 EMI at the default CMS pricing: ₹12.50 commission, ₹0.25 TDS.
pub const EMI_DEBIT_PAISE: i64 = 250_000 - 1_250 + 25;
