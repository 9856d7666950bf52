//! The hosted CMS page in a real headless Chromium (driven through chromedriver), on
//! the SQLite backend (the page's storage paths run on both backends in `cms_api.rs`):
//! pay an EMI that the partner's debit-hook approves; proceed 0; the debit-hook down;
//! the URL reused or expired; the form tampered with after approval. A screenshot of
//! each final state is kept under `target/test-artifacts/`.

mod browser;
mod callback_support;
mod cms_support;
#[allow(unused_macros)]
mod eko_support;

use browser::Browser;
use callback_support::wait_until;
use cms_support::*;
use eko_support::Backend;
use std::sync::atomic::Ordering;

/// One browser at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The result region's state once a page has loaded after a step (not the form's own).
const SETTLED: &str = "const r = document.getElementById('result'); const s = r && r.dataset.state; \
    return s && s !== 'ready' ? s : ''";

/// Opens a page URL and waits for its form.
async fn open_form(browser: &Browser, url: &str) {
    browser.goto(url).await;
    let ready = "return document.getElementById('pay-form') ? document.title : ''";
    let title = browser.wait_for("the CMS page", ready, browser::WAIT).await;
    assert!(title.contains("CMS"), "{title}");
}

/// Fills the form and continues; answers the state of the page that comes back.
async fn submit(browser: &Browser, biller: &str, loan: &str, amount: &str) -> String {
    browser.script(&format!("document.getElementById('biller').value = {}; return ''", serde_json::json!(biller))).await;
    browser.type_into("#loan_reference", loan).await;
    browser.type_into("#amount", amount).await;
    forget_result(browser).await;
    browser.click("#pay").await;
    browser.wait_for("the debit-hook's answer", SETTLED, browser::WAIT).await
}

/// Marks the shown result as stale before a form is posted: until the browser has
/// loaded the answer page, the old page (and its old state) is still there, and a wait
/// must not mistake it for the new answer.
async fn forget_result(browser: &Browser) {
    browser.script("const r = document.getElementById('result'); if (r) { r.dataset.state = 'ready'; } return ''").await;
}

/// Confirms the approved payment; answers the final state.
async fn confirm(browser: &Browser) -> String {
    forget_result(browser).await;
    browser.click("#confirm").await;
    let done = "const r = document.getElementById('result'); const s = r && r.dataset.state; \
        return s && s !== 'approved' && s !== 'ready' ? s : ''";
    browser.wait_for("the payment's result", done, browser::WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emi_is_paid_and_its_url_cannot_be_used_again() {
    let _one = ONE_BROWSER.lock().await;
    let w = world(Backend::Sqlite).await;
    let browser = Browser::start().await;
    let url = w.url("CMS-B-OK").await;
    open_form(&browser, &url).await;
    let before = w.wallet().await;
    assert_eq!(submit(&browser, "HDFCLOAN", "HL-99001234", "2500").await, "approved");
    assert!(browser.text("#details").await.contains("HDFC Bank Loans"));
    assert_eq!(w.wallet().await, before, "the debit-hook's approval alone debits nothing");
    assert_eq!(confirm(&browser).await, "success", "{}", browser.text("main").await);
    let shown = browser.text("main").await;
    assert!(shown.contains("EMI paid") && shown.contains("₹2500.00") && shown.contains("HL-99001234"), "{shown}");
    browser.screenshot("cms-emi-paid").await;
    assert_eq!(before - w.wallet().await, EMI_DEBIT_PAISE);
    wait_until("the status callback", || w.status_callbacks().iter().any(|c| c["tx_status"] == 0)).await;

    // The same URL again: refused.
    browser.goto(&url).await;
    assert_eq!(browser.wait_for("the refusal", SETTLED, browser::WAIT).await, "expired");
    assert!(browser.text("#result-message").await.contains("already used"), "{}", browser.text("main").await);
    browser.screenshot("cms-url-reused").await;
    assert_eq!(before - w.wallet().await, EMI_DEBIT_PAISE, "debited once");
    browser.close().await;
    w.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_show_why_and_debit_nothing() {
    let _one = ONE_BROWSER.lock().await;
    let w = world(Backend::Sqlite).await;
    let browser = Browser::start().await;
    let before = w.wallet().await;

    // proceed 0.
    w.hook.store(REFUSE, Ordering::SeqCst);
    open_form(&browser, &w.url("CMS-B-NO").await).await;
    assert_eq!(submit(&browser, "MUTHOOT", "MF-123456", "800").await, "refused");
    let shown = browser.text("#result-message").await;
    assert!(shown.contains("loan account is closed") && shown.contains("Nothing was debited"), "{shown}");
    browser.screenshot("cms-proceed-0").await;

    // The debit-hook down (the page still offers the form to try again).
    w.hook_down().await;
    assert_eq!(submit(&browser, "MUTHOOT", "MF-123456", "800").await, "error");
    let shown = browser.text("#result-message").await;
    assert!(shown.contains("could not approve this payment") && shown.contains("Nothing was debited"), "{shown}");
    browser.screenshot("cms-debit-hook-down").await;

    // Tampered after approval: the hidden amount changed in the page.
    w.hook.store(PROCEED, Ordering::SeqCst);
    let hook_url = format!("{}/cms-hook", w.partner.url);
    callback_support::set_endpoint(&w.app.state.store, w.partner_id, "cms_debit_hook", &hook_url, None).await;
    assert_eq!(submit(&browser, "MUTHOOT", "MF-123456", "800").await, "approved");
    browser.script("document.querySelector('#confirm-form input[name=amount]').value = '8.00'; return ''").await;
    assert_eq!(confirm(&browser).await, "refused");
    assert!(browser.text("#result-message").await.contains("changed after the partner approved"));
    browser.screenshot("cms-form-tampered").await;

    // An unopened URL past its lifetime.
    let late = w.url("CMS-B-LATE").await;
    w.clock.advance_ms(kosh_core::collections::CMS_URL_LIFETIME_MS);
    browser.goto(&late).await;
    assert_eq!(browser.wait_for("the refusal", SETTLED, browser::WAIT).await, "expired");
    assert!(browser.text("#result-message").await.contains("expired"));
    browser.screenshot("cms-url-expired").await;

    assert_eq!(w.wallet().await, before, "nothing was debited");
    browser.close().await;
    w.app.stop().await;
}
