use kosh_core::clock::ManualClock;
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_store::commands::{Command, CreditWallet, Outcome};
use kosh_store::ops::partners::NewPartner;
use kosh_testkit::{fresh_store, BACKENDS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_and_wallet_credit_on_both_backends() {
    for backend in BACKENDS {
        let store = fresh_store(backend, ManualClock::new(1_700_000_000_000)).await;
        let p = NewPartner {
            name: "acme".into(),
            developer_key: "dk".into(),
            access_key: "ak".into(),
            initiator_id: "9999999999".into(),
            is_sandbox: false,
        };
        let Outcome::PartnerCreated(partner) = store.execute(Command::CreatePartner(p)).await.unwrap() else { panic!() };
        store
            .execute(Command::CreditWallet(CreditWallet {
                partner_id: partner.id,
                amount_paise: Paise::new(500_000).unwrap(),
                reference: "r".into(),
            }))
            .await
            .unwrap();
        let b = store.balance(partner.id, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!(b.available_credit(), 500_000, "{backend:?}");
        assert_eq!(store.ledger_totals().await.unwrap().debits_posted, 500_000);
    }
}
