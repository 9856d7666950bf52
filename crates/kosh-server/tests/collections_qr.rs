//! UPI QR collection end to end, on both backends, over signed HTTP: static and dynamic
//! QR generation (the image decodes to the returned `qr_string`), a simulated customer
//! payment that credits the partner exactly once at settlement (T+1 on the injected
//! clock), both status callbacks at a local receiver, a dynamic QR paid once and only
//! its amount, inquiry by tid and client_ref_id, and the refusals of bad input.

mod eko_support;
use kosh_testkit::on_both_backends;
mod callback_support;

use callback_support::*;
use eko_support::{start_with_clock, Backend};
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::App;
use serde_json::Value;
use std::sync::Arc;

on_both_backends!(
    static_qr_is_one_per_agent_and_its_image_decodes_to_its_string,
    a_dynamic_qr_is_paid_once_exactly_its_amount_and_settles_at_t_plus_1,
    a_magic_amount_pays_a_dynamic_qr_at_once,
    bad_qr_requests_are_refused_and_move_nothing,
);

const AGENT_MOBILE: &str = "9962981729";
const STATIC: &str = "/user/collection/upi-razorpay/generate-static-qr";
const DYNAMIC: &str = "/user/collection/upi-razorpay/generate-dynamic-qr";

struct World {
    app: App,
    clock: Arc<ManualClock>,
    partner_id: kosh_core::ids::PartnerId,
    v3: Client,
    receiver: Receiver,
}

async fn world(backend: Backend) -> World {
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400;
        c.callbacks_tick_ms = 5;
    })
    .await;
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    let partner_id = partner_id(&app.state.store, "sandbox").await;
    set_endpoint(&app.state.store, partner_id, "tx_status", &format!("{}/status", receiver.url), None).await;
    let v3 = Client::new(format!("{}/ekoapi/v3", app.url()), Credentials::sandbox());
    World { app, clock, partner_id, v3, receiver }
}

impl World {
    async fn post(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> Value {
        let answer = client.send_form(reqwest::Method::POST, path, form).await.expect("the server answers");
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    async fn qr(&self, path: &str, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![("sender_id", AGENT_MOBILE), ("name", "Asha Store"), ("email", "asha@example.com")];
        form.extend_from_slice(extra);
        self.post(&self.v3, path, &form).await
    }

    async fn pay(&self, qr_reference: &str, amount: &str) -> Value {
        let root = eko_support::root(&self.app);
        self.post(&root, "/sandbox/qr/pay", &[("client_ref_id", qr_reference), ("amount", amount)]).await
    }

    async fn wallet(&self) -> (i64, i64) {
        let b = self.app.state.store.balance(self.partner_id, &AccountKind::PartnerWallet).await.unwrap();
        (b.available_credit(), b.posted_credit())
    }

    async fn inquiry(&self, reference: &str) -> Option<Value> {
        let reply = kosh_server::eko::collections::inquiry_reply(&self.app.state, self.partner_id, reference).await;
        reply.unwrap_or_else(|e| panic!("inquiry failed: {}", e.body())).map(|r| r.body())
    }

    /// The status callbacks received for `tid`, in order.
    fn callbacks_for(&self, tid: &str) -> Vec<Value> {
        self.receiver
            .received()
            .iter()
            .map(|r| r.json())
            .filter(|b| b["tid"].as_i64().map(|t| t.to_string()).as_deref() == Some(tid))
            .collect()
    }
}

/// Rasterises the SVG Kosh draws (one `M x y h8v8h-8z` square per dark module) and
/// decodes it as a camera would.
fn decode_qr_image(data_url: &str) -> String {
    use base64::Engine;
    let encoded = data_url.strip_prefix("data:image/svg+xml;base64,").expect("an SVG data URL");
    let svg = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    let size: usize = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let path = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut dark = vec![false; size * size];
    for square in path.split('M').filter(|s| !s.is_empty()) {
        let (x, rest) = square.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let side: usize = rest.split('v').next().unwrap().parse().unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        for row in y..y + side {
            dark[row * size + x..row * size + x + side].iter_mut().for_each(|d| *d = true);
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| if dark[y * size + x] { 0 } else { 255 });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("the QR decodes").1
}

async fn static_qr_is_one_per_agent_and_its_image_decodes_to_its_string(backend: Backend) {
    let w = world(backend).await;
    let first = w.qr(STATIC, &[]).await;
    assert_eq!((first["status"].as_i64(), first["response_type_id"].as_i64()), (Some(0), Some(1888)), "{first}");
    assert_eq!(first["response_status_id"], -1);
    let data = &first["data"];
    assert_eq!(data["status"], 2, "QR_ACTIVE");
    assert_eq!(data["sender_id"], AGENT_MOBILE);
    let reference = data["client_ref_id"].as_str().unwrap();
    let qr_string = data["qr_string"].as_str().unwrap();
    assert!(qr_string.starts_with("upi://pay?ver=01&mode=01&pa=kosh.qr"), "{qr_string}");
    assert!(qr_string.contains("@kosh&pn=Asha%20Store&"), "{qr_string}");
    assert!(qr_string.contains(&format!("&tr={reference}&cu=INR")), "{qr_string}");
    assert!(!qr_string.contains("am="), "a static QR has no amount: {qr_string}");
    assert_eq!(decode_qr_image(data["qr_image"].as_str().unwrap()), qr_string);

    // One QR per sender_id: asking again (and by the legacy v2 path) answers the same QR.
    let again = w.qr(STATIC, &[]).await;
    assert_eq!(again["data"]["client_ref_id"], reference);
    let v2 = Client::new(format!("{}/ekoapi/v2", w.app.url()), Credentials::sandbox());
    let legacy = w.post(&v2, "/customer/createcustomer", &[("customer_id", AGENT_MOBILE), ("name", "Asha Store")]).await;
    assert_eq!(legacy["data"]["client_ref_id"], reference, "{legacy}");

    // The AU path needs its service_code (85) and makes the agent's AU QR.
    let no_code = w.qr("/user/collection/upi-au/generate-static-qr", &[]).await;
    assert_eq!(eko_support::invalid_names(&no_code), ["service_code"], "{no_code}");
    let au = w.qr("/user/collection/upi-au/generate-static-qr", &[("service_code", "85")]).await;
    assert_eq!(au["status"], 0, "{au}");
    assert_ne!(au["data"]["client_ref_id"], reference);

    // A static QR takes many payments of any amount; each is its own transaction.
    let before = w.wallet().await;
    let p1 = w.pay(reference, "150").await;
    let p2 = w.pay(reference, "20.50").await;
    assert_eq!((p1["data"]["tx_status"].as_str(), p2["data"]["tx_status"].as_str()), (Some("5"), Some("5")), "{p1} {p2}");
    assert_ne!(p1["data"]["tid"], p2["data"]["tid"]);
    let latest = w.inquiry(&format!("client_ref_id:{reference}")).await.expect("the newest payment");
    assert_eq!(latest["data"]["tid"], p2["data"]["tid"]);
    w.clock.advance_ms(86_400_000);
    let tid1 = p1["data"]["tid"].as_str().unwrap().to_owned();
    let tid2 = p2["data"]["tid"].as_str().unwrap().to_owned();
    wait_until("both payments settled and called back", || {
        w.callbacks_for(&tid1).len() == 2 && w.callbacks_for(&tid2).len() == 2
    })
    .await;
    let credit = |p: &Value| -> i64 {
        let r = |k: &str| kosh_core::money::Paise::parse_rupees(p["data"][k].as_str().unwrap()).unwrap().get();
        r("amount") - r("fee") + r("partners_commision") - r("tds")
    };
    let after = w.wallet().await;
    assert_eq!(after.1 - before.1, credit(&p1) + credit(&p2));
    w.app.stop().await;
}

async fn a_dynamic_qr_is_paid_once_exactly_its_amount_and_settles_at_t_plus_1(backend: Backend) {
    let w = world(backend).await;
    let qr = w.qr(DYNAMIC, &[("amount", "1000")]).await;
    assert_eq!(qr["status"], 0, "{qr}");
    let reference = qr["data"]["client_ref_id"].as_str().unwrap().to_owned();
    let qr_string = qr["data"]["qr_string"].as_str().unwrap();
    assert!(qr_string.ends_with("&am=1000.00"), "{qr_string}");
    assert_eq!(decode_qr_image(qr["data"]["qr_image"].as_str().unwrap()), qr_string);
    // Each dynamic QR is its own (a second one for the same agent is another QR).
    let other = w.qr(DYNAMIC, &[("amount", "1000")]).await;
    assert_ne!(other["data"]["client_ref_id"], qr["data"]["client_ref_id"]);

    let start = w.wallet().await;
    let wrong = w.pay(&reference, "999").await;
    assert_eq!(wrong["status"], 1, "{wrong}");
    assert!(wrong["message"].as_str().unwrap().contains("exactly 1000.00"), "{wrong}");
    assert!(w.inquiry(&reference).await.is_none(), "the refused payment left no transaction");

    let paid = w.pay(&reference, "1000").await;
    assert_eq!(paid["status"], 0, "{paid}");
    let data = &paid["data"];
    assert_eq!((data["tx_status"].as_str(), data["txstatus_desc"].as_str()), (Some("5"), Some("Payment Initiated")));
    let tid = data["tid"].as_str().unwrap().to_owned();
    assert!(tid.parse::<i64>().unwrap() > 7_000_000_000, "QR tids come from their own counter: {tid}");
    // Default pricing: 0.50% MDR (₹5.00, GST ₹0.76 inside), half of the net to the partner (₹2.12), 2% TDS (₹0.04).
    assert_eq!(
        [&data["fee"], &data["gst"], &data["partners_commision"], &data["tds"]].map(|v| v.as_str().unwrap()),
        ["5.00", "0.76", "2.12", "0.04"]
    );
    let second = w.pay(&reference, "1000").await;
    assert_eq!(second["status"], 1, "a dynamic QR is paid once: {second}");
    assert!(second["message"].as_str().unwrap().contains("does not accept payments"), "{second}");

    // Accepted: one callback (tx_status 5), and the wallet is not credited yet.
    wait_until("the acceptance callback", || w.callbacks_for(&tid).len() == 1).await;
    let first = &w.callbacks_for(&tid)[0];
    assert_eq!((first["tx_status"].as_i64(), first["txstatus_desc"].as_str()), (Some(5), Some("Payment Initiated")));
    assert_eq!(first["client_ref_id"], reference.as_str());
    assert_eq!(first["service_code"], "59");
    assert_eq!(first["amount"].as_f64(), Some(1000.0));
    assert_eq!(w.wallet().await, start, "nothing is credited before settlement");
    let inquiry = w.inquiry(&tid).await.expect("found by tid");
    assert_eq!(inquiry["data"]["tx_status"], "5");

    // T+1: settled, credited once, the final callback.
    w.clock.advance_ms(86_400_000 - 1);
    kosh_server::workers::collections::settle(&w.app.state.store).await;
    assert_eq!(w.wallet().await, start, "not due a millisecond before T+1");
    w.clock.advance_ms(1);
    wait_until("the settlement callback", || w.callbacks_for(&tid).len() == 2).await;
    let last = &w.callbacks_for(&tid)[1];
    assert_eq!((last["tx_status"].as_i64(), last["old_tx_status"].as_i64()), (Some(0), Some(5)), "{last}");
    assert_eq!(last["partners_commision"].as_f64(), Some(2.12));
    let credited = 100_000 - 500 + 212 - 4;
    assert_eq!(w.wallet().await, (start.0 + credited, start.1 + credited));
    for reference in [tid.clone(), reference.clone(), format!("client_ref_id:{reference}")] {
        let found = w.inquiry(&reference).await.expect("found");
        assert_eq!((found["data"]["tid"].as_str(), found["data"]["tx_status"].as_str()), (Some(tid.as_str()), Some("0")));
    }
    // Settling again moves nothing.
    kosh_server::workers::collections::settle(&w.app.state.store).await;
    assert_eq!(w.wallet().await.1, start.1 + credited);
    assert_eq!(w.callbacks_for(&tid).len(), 2);
    let totals = w.app.state.store.ledger_totals().await.unwrap();
    assert_eq!(totals.debits_posted, totals.credits_posted);
    w.app.stop().await;
}

async fn a_magic_amount_pays_a_dynamic_qr_at_once(backend: Backend) {
    let w = world(backend).await;
    let qr = w.qr(DYNAMIC, &[("amount", "100.11")]).await;
    assert_eq!(qr["status"], 0, "{qr}");
    assert_eq!(qr["data"]["status"], 3, "paid, so QR_INACTIVE: {qr}");
    let reference = qr["data"]["client_ref_id"].as_str().unwrap();
    let paid = w.inquiry(reference).await.expect("the simulated customer paid it");
    assert_eq!((paid["data"]["amount"].as_str(), paid["data"]["tx_status"].as_str()), (Some("100.11"), Some("5")));
    let plain = w.qr(DYNAMIC, &[("amount", "100.10")]).await;
    assert_eq!(plain["data"]["status"], 2, "an ordinary amount waits for its customer");
    assert!(w.inquiry(plain["data"]["client_ref_id"].as_str().unwrap()).await.is_none());
    w.app.stop().await;
}

async fn bad_qr_requests_are_refused_and_move_nothing(backend: Backend) {
    let w = world(backend).await;
    let start = w.wallet().await;
    for amount in ["10.505", "0", "0.00", "-5", "ten"] {
        let bad = w.qr(DYNAMIC, &[("amount", amount)]).await;
        assert_eq!(eko_support::invalid_names(&bad), ["amount"], "amount {amount}: {bad}");
    }
    let missing = w.post(&w.v3, DYNAMIC, &[("sender_id", AGENT_MOBILE), ("name", "Asha Store")]).await;
    assert_eq!(eko_support::invalid_names(&missing), ["amount"], "{missing}");
    let stranger = w.post(&w.v3, STATIC, &[("sender_id", "9000000009"), ("name", "Nobody")]).await;
    assert_eq!(stranger["status"], 463, "{stranger}");

    // An agent without service 59.
    let v1 = Client::new(format!("{}/ekoapi/v1", w.app.url()), Credentials::sandbox());
    eko_support::onboard(&v1, "ABCDE1234F", "9811100011").await;
    let refused = w.post(&w.v3, STATIC, &[("sender_id", "9811100011"), ("name", "New Agent")]).await;
    assert_eq!(refused["status"], 346, "{refused}");
    assert!(refused["hint"].as_str().unwrap().contains("service 59"), "{refused}");

    let unknown = w.pay("qr_doesnotexist", "10").await;
    assert_eq!(unknown["status"], 1, "{unknown}");
    assert_eq!(unknown["message"], "QR code not found");
    assert_eq!(w.wallet().await, start);
    assert!(w.app.state.store.recent_outbox(w.partner_id, 50).await.unwrap().iter().all(|e| e.kind != "eko.tx_status"));
    w.app.stop().await;
}
