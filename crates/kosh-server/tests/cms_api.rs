//! CMS cash drop on both backends, over signed HTTP and the hosted page's plain forms
//! (the page in a real browser is `cms_browser.rs`): the URL, the partner's debit-hook
//! before any debit (proceed 1, proceed 0, down), the single debit with its commission,
//! the status callback, inquiry, and every refusal moving nothing.

mod callback_support;
mod cms_support;
mod eko_support;
use kosh_testkit::on_both_backends;

use callback_support::wait_until;
use cms_support::*;
use eko_support::Backend;
use std::sync::atomic::Ordering;

on_both_backends!(
    an_emi_approved_by_the_debit_hook_is_paid_once,
    refusals_and_a_tampered_form_move_nothing,
    bad_url_requests_are_refused,
);

/// A page session over plain HTTP, as a browser without JavaScript would use it.
struct PageClient {
    http: reqwest::Client,
    url: String,
}

impl PageClient {
    fn new(url: String) -> PageClient {
        PageClient { http: reqwest::Client::new(), url }
    }

    async fn get(&self) -> (u16, String) {
        let r = self.http.get(&self.url).send().await.expect("the page answers");
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, step: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self.http.post(format!("{}/{step}", self.url)).form(form).send().await.expect("the page answers");
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn pay(&self, biller: &str, loan: &str, amount: &str) -> (u16, String) {
        self.post("pay", &[("biller", biller), ("loan_reference", loan), ("amount", amount)]).await
    }
}

/// The `data-state` of the page's result region.
fn state(html: &str) -> &str {
    html.split("id=\"result\" data-state=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("")
}

/// The value of a hidden field of the confirm form.
fn hidden<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|s| s.split('"').next()).unwrap_or_else(|| panic!("no {name} in {html}"))
}

async fn an_emi_approved_by_the_debit_hook_is_paid_once(backend: Backend) {
    let w = world(backend).await;
    let page = PageClient::new(w.url("CMS-OK-1").await);
    let (status, html) = page.get().await;
    assert_eq!((status, state(&html)), (200, "ready"), "{html}");
    assert!(html.contains("Tata Capital") && html.contains("<form id=\"pay-form\""), "{html}");
    // The URL opens once.
    let (status, again) = page.get().await;
    assert_eq!((status, state(&again)), (410, "expired"), "{again}");
    assert!(again.contains("already used"), "{again}");

    let before = w.wallet().await;
    let (_, confirm) = page.pay("TATACAP", "TC-2024-0042", "2500").await;
    assert_eq!(state(&confirm), "approved", "{confirm}");
    let tid = hidden(&confirm, "tid").to_owned();
    assert!(tid.parse::<i64>().unwrap() > 7_500_000_000, "CMS tids have their own counter: {tid}");
    let calls = w.hook_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0], serde_json::json!({"tid": tid, "amount": "2500.00", "client_ref_id": "CMS-OK-1", "service_code": "58"}));
    assert_eq!(w.wallet().await, before, "approval alone debits nothing");
    assert_eq!(w.inquiry(&tid).await.unwrap()["data"]["tx_status"], "5");

    let form = [("tid", tid.as_str()), ("biller", "TATACAP"), ("loan_reference", "TC-2024-0042"), ("amount", "2500.00")];
    let (_, paid) = page.post("confirm", &form).await;
    assert_eq!(state(&paid), "success", "{paid}");
    assert!(paid.contains("EMI paid") && paid.contains("₹12.50"), "{paid}");
    assert_eq!(before - w.wallet().await, EMI_DEBIT_PAISE, "₹2,500 less ₹12.50 commission plus ₹0.25 TDS");
    // Confirming again, or paying again on the used page, is refused.
    let (status, twice) = page.post("confirm", &form).await;
    assert_eq!((status, state(&twice)), (410, "expired"), "{twice}");
    let (status, more) = page.pay("TATACAP", "TC-2024-0042", "2500").await;
    assert_eq!((status, state(&more)), (410, "expired"), "{more}");
    assert_eq!(before - w.wallet().await, EMI_DEBIT_PAISE);

    wait_until("the status callback", || w.status_callbacks().len() == 1).await;
    let cb = &w.status_callbacks()[0];
    assert_eq!((cb["tx_status"].as_i64(), cb["old_tx_status"].as_i64()), (Some(0), Some(5)), "{cb}");
    assert_eq!(cb["tid"].as_i64().map(|t| t.to_string()), Some(tid.clone()));
    assert_eq!((cb["client_ref_id"].as_str(), cb["service_code"].as_str()), (Some("CMS-OK-1"), Some("58")));
    assert_eq!((cb["amount"].as_f64(), cb["partners_commision"].as_f64()), (Some(2500.0), Some(12.5)));
    assert_eq!(cb["operator_name"], "Tata Capital");
    for reference in [tid.as_str(), "CMS-OK-1", "client_ref_id:CMS-OK-1"] {
        let found = w.inquiry(reference).await.expect("found");
        assert_eq!((found["data"]["tid"].as_str(), found["data"]["tx_status"].as_str()), (Some(tid.as_str()), Some("0")));
    }
    let totals = w.app.state.store.ledger_totals().await.unwrap();
    assert_eq!(totals.debits_posted, totals.credits_posted);
    w.app.stop().await;
}

async fn refusals_and_a_tampered_form_move_nothing(backend: Backend) {
    let w = world(backend).await;
    let before = w.wallet().await;

    // proceed 0: the partner's reason is shown, the payment failed, the page can try again.
    w.hook.store(REFUSE, Ordering::SeqCst);
    let page = PageClient::new(w.url("CMS-NO-1").await);
    page.get().await;
    let (_, refused) = page.pay("BAJAJFIN", "BF-7788", "1200").await;
    assert_eq!(state(&refused), "refused", "{refused}");
    assert!(refused.contains("loan account is closed") && refused.contains("Nothing was debited"), "{refused}");
    assert_eq!(w.inquiry("CMS-NO-1").await.unwrap()["data"]["tx_status"], "1");

    // The debit-hook down: a clear message, nothing debited.
    w.hook_down().await;
    let (_, down) = page.pay("BAJAJFIN", "BF-7788", "1200").await;
    assert_eq!(state(&down), "error", "{down}");
    assert!(down.contains("could not approve this payment") && down.contains("Nothing was debited"), "{down}");

    // Bad input on the form: shown, nothing recorded.
    w.hook.store(PROCEED, Ordering::SeqCst);
    let hook_url = format!("{}/cms-hook", w.partner.url);
    callback_support::set_endpoint(&w.app.state.store, w.partner_id, "cms_debit_hook", &hook_url, None).await;
    for (biller, loan, amount, says) in [
        ("NOPE", "BF-7788", "10", "Choose the lender"),
        ("BAJAJFIN", "x", "10", "loan reference"),
        ("BAJAJFIN", "BF-7788", "10.001", "at most 2 decimals"),
        ("BAJAJFIN", "BF-7788", "0", "greater than zero"),
    ] {
        let (_, bad) = page.pay(biller, loan, amount).await;
        assert_eq!(state(&bad), "error", "{bad}");
        assert!(bad.contains(says), "{says}: {bad}");
    }
    let hooks_so_far = w.hook_calls().len();

    // A form changed after the debit-hook approved it (the amount, or the biller): refused, the payment failed.
    for (biller, amount) in [("BAJAJFIN", "1.00"), ("TATACAP", "1200.00")] {
        let (_, confirm) = page.pay("BAJAJFIN", "BF-7788", "1200").await;
        assert_eq!(state(&confirm), "approved", "{confirm}");
        let tid = hidden(&confirm, "tid").to_owned();
        let form = [("tid", tid.as_str()), ("biller", biller), ("loan_reference", "BF-7788"), ("amount", amount)];
        let (_, tampered) = page.post("confirm", &form).await;
        assert_eq!(state(&tampered), "refused", "{tampered}");
        assert!(tampered.contains("changed after the partner approved"), "{tampered}");
        let failed = w.inquiry(&tid).await.unwrap();
        assert_eq!(failed["data"]["tx_status"], "1", "{failed}");
        assert!(failed["data"]["reason"].as_str().unwrap().contains("changed"), "{failed}");
        // The failed payment cannot be confirmed afterwards, even with the approved form.
        let honest = [("tid", tid.as_str()), ("biller", "BAJAJFIN"), ("loan_reference", "BF-7788"), ("amount", "1200.00")];
        let (_, late) = page.post("confirm", &honest).await;
        assert_eq!(state(&late), "refused", "{late}");
        assert!(late.contains("not waiting for confirmation"), "{late}");
    }
    assert_eq!(w.hook_calls().len(), hooks_so_far + 2);

    // An unopened URL expires.
    let late = PageClient::new(w.url("CMS-LATE-1").await);
    w.clock.advance_ms(kosh_core::collections::CMS_URL_LIFETIME_MS);
    let (status, expired) = late.get().await;
    assert_eq!((status, state(&expired)), (410, "expired"), "{expired}");
    let (status, unknown) = PageClient::new(format!("{}/cms/not-a-token", w.app.url())).get().await;
    assert_eq!((status, state(&unknown)), (404, "unknown"), "{unknown}");

    assert_eq!(w.wallet().await, before, "nothing was debited");
    // Failed payments are told too (initiated → failed): proceed 0, down, tampered twice.
    wait_until("four failure callbacks", || w.status_callbacks().len() == 4).await;
    assert!(w.status_callbacks().iter().all(|c| c["tx_status"] == 1), "{:?}", w.status_callbacks());
    w.app.stop().await;
}

async fn bad_url_requests_are_refused(backend: Backend) {
    let w = world(backend).await;
    assert_eq!(w.generate("CMS-DUP-1").await["status"], 0);
    let duplicate = w.generate("CMS-DUP-1").await;
    assert_eq!((duplicate["status"].as_i64(), duplicate["message"].as_str()), (Some(1), Some("Duplicate client_ref_id")));
    let missing = w.v1.send_form(reqwest::Method::POST, GENERATE, &[("user_code", AGENT)]).await.unwrap().body;
    assert_eq!(eko_support::invalid_names(&missing), ["client_ref_id"], "{missing}");
    let stranger = w.generate_for("99999999", "CMS-X-1").await;
    assert_eq!(stranger["status"], 463, "{stranger}");
    // An agent without service 58.
    let user_code = eko_support::onboard(&w.v1, "ABCDE1234F", "9811100011").await;
    let refused = w.generate_for(&user_code, "CMS-X-2").await;
    assert_eq!(refused["status"], 346, "{refused}");
    assert!(refused["hint"].as_str().unwrap().contains("service 58"), "{refused}");
    w.app.stop().await;
}
