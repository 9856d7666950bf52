//! Bill payments outside sandbox mode: Kosh ships no real biller connector yet, so the
//! sandbox biller must never stand in for one. Fetches and payments are refused with
//! the reason before anything is recorded or reserved.

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::{onboard, put, Backend};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::{Client, Credentials};
use reqwest::Method;
use serde_json::json;

on_both_backends!(bills_are_refused_without_a_biller_connector);

async fn bills_are_refused_without_a_biller_connector(backend: Backend) {
    let app = eko_support::start(backend, eko_support::production).await;
    let credentials = Credentials {
        developer_key: "prod0000000000000000000000000053".into(),
        access_key: "0b6c3f6e-0000-4000-8000-000000000053".into(),
        initiator_id: "9000000053".into(),
    };
    let partner = eko_support::create_partner(&app, "production partner", &credentials).await;
    let eko = Client::new(format!("{}/ekoapi/v2", app.url()), credentials.clone());
    let user_code = onboard(&eko, "ABCPK1234F", "9000000054").await;
    let activated = put(&eko, "/user/service/activate", &[("service_code", "53"), ("user_code", &user_code)]).await;
    assert_eq!(activated["status"], 0, "{activated}");

    let bill = json!({
        "initiator_id": credentials.initiator_id, "user_code": user_code, "client_ref_id": "PROD-B1",
        "utility_acc_no": "151627591", "confirmation_mobile_no": "9999999999", "sender_name": "Kaushik",
        "operator_id": "1", "source_ip": "121.121.1.1", "latlong": "28.4595,77.0266", "amount": "100",
    });
    let fetched = eko.send_json(Method::POST, "/billpayments/fetchbill", &bill, None).await.unwrap().body;
    assert_eq!((&fetched["status"], &fetched["response_status_id"]), (&json!(544), &json!(1)), "{fetched}");
    assert!(fetched.to_string().contains("no biller connector is configured"), "{fetched}");
    let hash_fields = ["151627591", "100", user_code.as_str()];
    let paid = eko.send_json(Method::POST, "/billpayments/paybill", &bill, Some(&hash_fields)).await.unwrap().body;
    assert_eq!(paid["status"], 544, "{paid}");
    assert!(paid.to_string().contains("no biller connector is configured"), "{paid}");

    let wallet = app.state.store.balance(partner.id, &AccountKind::PartnerWallet).await.expect("balance");
    assert_eq!((wallet.debits_pending, wallet.debits_posted), (0, 0), "nothing reserved or debited");
    assert!(app.state.store.bbps_payment_by_client_ref(partner.id, "PROD-B1").await.unwrap().is_none(), "nothing recorded");
    app.stop().await;
}
