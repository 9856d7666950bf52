//! The AePS gateway page in a real headless Chromium (driven through chromedriver),
//! opened by a partner page's form POST, talking to partner callbacks on another
//! origin. SQLite backend; the gateway's storage paths run on both backends in
//! `gateway_api.rs`. A screenshot of each final state is kept under
//! `target/test-artifacts/`.

mod browser;
#[allow(unused_macros)]
mod eko_support;
mod gateway_support;

use browser::Browser;
use eko_support::Backend;
use gateway_support::{agent_aadhaar, customer_aadhaar, ready_agent, start_partner, Callback, Misbehaviour};
use kosh_core::ledger::AccountKind;
use kosh_sdk::aeps_callback::{inquiry, AepsCallback, CallbackConfig, Decision, Status, UnverifiedReport};
use kosh_sdk::eko::Credentials;
use kosh_server::App;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One browser at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const WAIT: Duration = browser::WAIT;
/// The result region's state once the page is done: anything but empty and "working".
const FINAL_STATE: &str =
    "const r = document.getElementById('result'); const s = r && r.dataset.state; return s && s !== 'working' ? s : ''";

async fn wallet_paise(app: &App) -> i64 {
    let partner = app.state.store.find_partner("sandbox").await.unwrap().unwrap();
    app.state.store.balance(partner.id, &AccountKind::PartnerWallet).await.unwrap().available_credit()
}

fn reference(app: &App, configure: impl FnOnce(&mut CallbackConfig)) -> Arc<AepsCallback> {
    let mut config = CallbackConfig::new(Credentials::sandbox(), app.url());
    config.user_codes = vec![gateway_support::AGENT.into()];
    configure(&mut config);
    AepsCallback::new(config)
}

/// Opens the gateway from the partner's page and waits for the form.
async fn open_gateway(browser: &Browser, partner_origin: &str) {
    browser.goto(&format!("{partner_origin}/start")).await;
    let title = "return document.getElementById('tx-form') ? document.title : ''";
    let title = browser.wait_for("the gateway page", title, WAIT).await;
    assert!(title.contains("Test Partner"), "{title}");
}

/// Fills the transaction form and proceeds; answers the final result state.
async fn transact(browser: &Browser, kind: &str, amount: Option<&str>) -> String {
    browser.click(&format!("#type-{kind}")).await;
    browser.type_into("#customer-mobile", "9812345678").await;
    browser.type_into("#customer-aadhaar", customer_aadhaar().digits()).await;
    if let Some(amount) = amount {
        browser.type_into("#amount", amount).await;
    }
    browser.click("#capture").await;
    assert_eq!(browser.text("#capture-status").await, "Fingerprint captured");
    browser.click("#proceed").await;
    browser.wait_for("the transaction result", FINAL_STATE, WAIT).await
}

async fn delivered(browser: &Browser) -> String {
    browser.wait_for("the eko-response delivery", "return document.getElementById('result').dataset.delivered || ''", WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_confirmed_by_the_reference_callback_completes() {
    let _one = ONE_BROWSER.lock().await;
    let app = eko_support::start(Backend::Sqlite, |_| {}).await;
    ready_agent(&app.url(), false).await;
    let callback = reference(&app, |_| {});
    let (partner, _server) = start_partner(&app.url(), Callback::Reference(callback.clone())).await;
    let browser = Browser::start().await;
    open_gateway(&browser, &partner).await;

    // Daily authentication from the page itself.
    browser.type_into("#agent-aadhaar", agent_aadhaar().digits()).await;
    browser.click("#agent-capture").await;
    browser.click("#daily-auth").await;
    let daily = browser
        .wait_for("daily authentication", "return document.getElementById('daily-status').dataset.state || ''", WAIT)
        .await;
    assert_eq!(daily, "ok", "{}", browser.text("#daily-status").await);

    let before = wallet_paise(&app).await;
    let state = transact(&browser, "2", Some("2000")).await;
    let shown = browser.text("#result").await;
    assert_eq!(state, "success", "{shown}");
    assert!(shown.contains("Transaction successful") && shown.contains("2000.0") && shown.contains("XXXX XXXX"), "{shown}");
    assert_eq!(delivered(&browser).await, "yes");
    browser.screenshot("gateway-withdrawal-success").await;
    assert_eq!(wallet_paise(&app).await - before, 200_784, "₹2,000 + ₹8 commission − ₹0.16 TDS");

    let txs = callback.transactions();
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert!(matches!(&txs[0].status, Status::Reported(UnverifiedReport::Successful { .. })), "{txs:?}");
    // The browser's report is unverified: the partner confirms it from its server.
    let client = kosh_sdk::eko::Client::new(format!("{}/ekoapi/v2", app.url()), Credentials::sandbox());
    let confirmed = inquiry(&client, &txs[0].client_ref_id).await.expect("inquiry");
    assert_eq!(
        (confirmed.body["response_type_id"].as_i64(), confirmed.body["data"]["tx_status"].as_str()),
        (Some(1472), Some("0")),
        "{}",
        confirmed.body
    );
    assert_eq!(txs[0].hook.amount.as_deref(), Some("2000"));
    let responses = callback.responses();
    assert_eq!(responses[0]["param1"], "value1", "custom params ride along: {}", responses[0]);
    assert_eq!(responses[0]["detail"]["response"]["data"]["tx_status"], "0");
    assert_eq!(responses[0]["detail"]["is_final"], true);
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balance_enquiry_shows_the_customers_balance() {
    let _one = ONE_BROWSER.lock().await;
    let app = eko_support::start(Backend::Sqlite, |_| {}).await;
    ready_agent(&app.url(), true).await;
    let callback = reference(&app, |_| {});
    let (partner, _server) = start_partner(&app.url(), Callback::Reference(callback.clone())).await;
    let browser = Browser::start().await;
    open_gateway(&browser, &partner).await;
    let before = wallet_paise(&app).await;
    let state = transact(&browser, "3", None).await;
    let shown = browser.text("#result").await;
    assert_eq!(state, "success", "{shown}");
    assert!(shown.contains("Balance enquiry") && shown.contains("50000.0"), "{shown}");
    assert_eq!(delivered(&browser).await, "yes");
    browser.screenshot("gateway-balance-enquiry").await;
    assert_eq!(wallet_paise(&app).await, before, "a balance enquiry moves no money");
    assert_eq!(callback.transactions()[0].hook.amount, None, "no amount in a balance enquiry's debit-hook");
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_refuses_is_shown_and_nothing_moves() {
    let _one = ONE_BROWSER.lock().await;
    let app = eko_support::start(Backend::Sqlite, |_| {}).await;
    ready_agent(&app.url(), true).await;
    let callback = reference(&app, |c| {
        c.policy = Arc::new(|_| Decision::Deny { message: "Customer is blocked by Test Partner".into() });
    });
    let (partner, _server) = start_partner(&app.url(), Callback::Reference(callback.clone())).await;
    let browser = Browser::start().await;
    open_gateway(&browser, &partner).await;
    let before = wallet_paise(&app).await;
    let state = transact(&browser, "2", Some("1500")).await;
    let shown = browser.text("#result").await;
    assert_eq!(state, "refused", "{shown}");
    assert!(shown.contains("Customer is blocked by Test Partner"), "{shown}");
    browser.screenshot("gateway-partner-refused").await;
    assert_eq!(wallet_paise(&app).await, before, "nothing moved");
    let gateway_ref = &callback.transactions()[0].gateway_ref;
    let partner_id = app.state.store.find_partner("sandbox").await.unwrap().unwrap().id;
    assert!(
        app.state.store.aeps_transaction_by_ref(partner_id, gateway_ref).await.unwrap().is_none(),
        "no transaction was stored"
    );
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_cors_headers_fails_the_connection() {
    let _one = ONE_BROWSER.lock().await;
    let app = eko_support::start(Backend::Sqlite, |_| {}).await;
    ready_agent(&app.url(), true).await;
    let callback = reference(&app, |_| {});
    let (partner, _server) = start_partner(&app.url(), Callback::NoCors(callback.clone())).await;
    let browser = Browser::start().await;
    open_gateway(&browser, &partner).await;
    let before = wallet_paise(&app).await;
    let state = transact(&browser, "2", Some("1000")).await;
    let shown = browser.text("#result").await;
    assert_eq!(state, "error", "{shown}");
    assert!(shown.contains("Connection to callback server failed. Please try again"), "{shown}");
    browser.screenshot("gateway-no-cors").await;
    assert_eq!(wallet_paise(&app).await, before, "nothing moved");
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_request_hash_is_refused_and_nothing_moves() {
    let _one = ONE_BROWSER.lock().await;
    let app = eko_support::start(Backend::Sqlite, |_| {}).await;
    ready_agent(&app.url(), true).await;
    let (partner, _server) = start_partner(&app.url(), Callback::WrongHashOrder).await;
    let browser = Browser::start().await;
    open_gateway(&browser, &partner).await;
    let before = wallet_paise(&app).await;
    let state = transact(&browser, "2", Some("2500")).await;
    let shown = browser.text("#result").await;
    assert_eq!(state, "error", "{shown}");
    assert!(shown.contains("Authentication for request-hash failed"), "{shown}");
    browser.screenshot("gateway-wrong-request-hash").await;
    assert_eq!(wallet_paise(&app).await, before, "nothing moved");
    browser.close().await;
    app.stop().await;
}

/// The FAQ's words for a callback that answers, but not with a confirmation: a body that
/// is not JSON, or no answer within `gateway_callback_timeout_secs`, is "Transaction
/// verification timeout"; JSON of another shape is "Connection to callback server
/// failed. Please try again (Status = 200 OK)". Each transaction is refused, nothing moves.
/// The timeout is long enough for the answering callbacks on a busy machine; the slow one
/// never answers within a test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_answers_that_are_not_confirmations_show_the_faqs_words() {
    let _one = ONE_BROWSER.lock().await;
    let app = eko_support::start(Backend::Sqlite, |c| c.gateway_callback_timeout_secs = 10).await;
    ready_agent(&app.url(), true).await;
    let mode = Arc::new(AtomicU8::new(Misbehaviour::NotJson as u8));
    let (partner, _server) = start_partner(&app.url(), Callback::Misbehaving(mode.clone())).await;
    let browser = Browser::start().await;
    open_gateway(&browser, &partner).await;
    let before = wallet_paise(&app).await;
    let cases = [
        (Misbehaviour::NotJson, "Transaction verification timeout", "gateway-callback-not-json"),
        (
            Misbehaviour::WrongShape,
            "Connection to callback server failed. Please try again (Status = 200 OK)",
            "gateway-callback-wrong-shape",
        ),
        (Misbehaviour::Slow, "Transaction verification timeout", "gateway-callback-timeout"),
    ];
    for (behaviour, expected, screenshot) in cases {
        mode.store(behaviour as u8, Ordering::SeqCst);
        // Forget the previous result, so the wait below sees this transaction's.
        browser.script("document.getElementById('result').dataset.state = ''; return ''").await;
        let state = transact(&browser, "2", Some("1000")).await;
        let shown = browser.text("#result-message").await;
        assert_eq!((state.as_str(), shown.as_str()), ("error", expected), "{behaviour:?}: {}", browser.text("#result").await);
        browser.screenshot(screenshot).await;
    }
    assert_eq!(wallet_paise(&app).await, before, "nothing moved");
    // A fresh database: the page's session is 1 and its transactions 1 to 3. Each was
    // closed with the message the agent saw, so no late confirmation can complete it.
    for (intent_id, (_, expected, _)) in (1..).zip(cases) {
        let intent = app.state.store.aeps_gateway_intent(1, intent_id).await.unwrap().expect("the announced transaction");
        assert_eq!((intent.state.as_str(), intent.message.as_str()), ("refused", expected), "{intent:?}");
    }
    browser.close().await;
    app.stop().await;
}
