//! Money transfer outside sandbox mode: Kosh ships no real bank connector yet, so the
//! sandbox rail must never stand in for a bank. A transfer is refused before anything is
//! recorded or reserved.

mod eko_support;
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::transfer_form;
use eko_support::{onboard, Backend};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::{Client, Credentials};
use serde_json::json;

on_both_backends!(transfers_are_refused_without_a_bank_rail);

async fn transfers_are_refused_without_a_bank_rail(backend: Backend) {
    let app = eko_support::start(backend, eko_support::production).await;
    let credentials = Credentials {
        developer_key: "prod0000000000000000000000000001".into(),
        access_key: "0b6c3f6e-0000-4000-8000-000000000001".into(),
        initiator_id: "9000000001".into(),
    };
    let partner = eko_support::create_partner(&app, "production partner", &credentials).await;
    let eko = Client::new(format!("{}/ekoapi/v1", app.url()), credentials);
    let user_code = onboard(&eko, "ABCPK1234F", "9000000002").await;

    let form = transfer_form(&user_code, "9000000003", "1", "100.00", "PROD-1", "2");
    let answer = eko.send_form(reqwest::Method::POST, "/transactions", &form).await.expect("the server answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!((&answer.body["status"], &answer.body["response_status_id"]), (&json!(544), &json!(1)), "{}", answer.body);
    assert!(answer.body.to_string().contains("no bank rail connector is configured"), "{}", answer.body);

    let wallet = app.state.store.balance(partner.id, &AccountKind::PartnerWallet).await.expect("balance");
    assert_eq!((wallet.debits_pending, wallet.debits_posted), (0, 0), "nothing reserved or debited");
    assert!(app.state.store.dmt_transfer_by_client_ref(partner.id, "PROD-1").await.expect("read").is_none(), "nothing recorded");
    app.stop().await;
}
