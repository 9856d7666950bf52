//! Token payments on both backends: racing payments of one token pay it once; the money
//! moves in one balanced entry; the acknowledgement is queued with it.

mod common;

use common::{agent, credit, partner, store};
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_core::token::TokenRejection;
use kosh_store::commands::tokens::{CreateToken, PayToken, TokenCommand, TokenOutcome};
use kosh_store::commands::{Command, Outcome};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::tokens::{NewToken, Payment};
use kosh_testkit::BACKENDS;

fn new_token(client_ref_id: &str, expires_at_ms: i64) -> NewToken {
    kosh_testkit::sample_token(client_ref_id, expires_at_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_payments_pay_a_token_once() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let issuer = partner(&store, 1).await;
        let payer = partner(&store, 2).await;
        credit(&store, payer, 10_000_000).await;
        let user_code = agent(&store, payer, "ABCDE1234F", "9876500001").await;
        let create = Command::Token(TokenCommand::Create(CreateToken {
            partner_id: issuer,
            token: new_token("CR1", store.now_ms() + 60_000),
        }));
        let Outcome::Token(created) = store.execute(create).await.unwrap() else { panic!() };
        let TokenOutcome::Created(token) = *created else { panic!() };

        let mut tasks = Vec::new();
        for n in 0..10 {
            let store = store.clone();
            let number = token.token.clone();
            tasks.push(tokio::spawn(async move {
                let payment = Payment {
                    payer_partner_id: payer,
                    user_code,
                    pay_client_ref_id: format!("PAY-{n}"),
                    amount_paise: Paise::new(150_000).unwrap(),
                    customer_name: "Ram".into(),
                    customer_mobile: "9400000000".into(),
                };
                store.execute(Command::Token(TokenCommand::Pay(PayToken { token: number, payment }))).await
            }));
        }
        let mut paid = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(Outcome::Token(outcome)) if matches!(*outcome, TokenOutcome::Paid { .. }) => paid += 1,
                Err(CommandError::Rejected(Rejection::Token(TokenRejection::AlreadyPaid { .. }))) => {}
                other => panic!("{backend:?}: unexpected {other:?}"),
            }
        }
        assert_eq!(paid, 1, "{backend:?}: exactly one payment");
        let wallet = |p| store.balance(p, &AccountKind::PartnerWallet);
        assert_eq!(wallet(payer).await.unwrap().posted_credit(), 10_000_000 - 150_000, "{backend:?}");
        assert_eq!(wallet(issuer).await.unwrap().posted_credit(), 150_000, "{backend:?}");
        let acks: Vec<_> = store.recent_outbox(issuer, 10).await.unwrap().into_iter().filter(|e| e.kind == "token.ack").collect();
        assert_eq!(acks.len(), 1, "{backend:?}: one acknowledgement queued");
        common::assert_ledger_sound(&store, &format!("{backend:?}")).await;
    }
}
