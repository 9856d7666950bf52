//! Working-capital loans on both backends, over signed HTTP (signed on the server's
//! injected clock, which the tests move by weeks): a lender partner disburses e-value
//! to another partner's agent; that partner repays in parts until repaid; a tranche
//! falls overdue on the injected clock and is repaid late; a repayment larger than the
//! outstanding amount is refused; the lender is told at its status callback URL; the
//! lender's receivable always equals the borrower's outstanding principal.

mod callback_support;
mod eko_support;
use kosh_testkit::on_both_backends;

use callback_support::{reply, set_endpoint, wait_until, Receiver};
use eko_support::{send, signed_at, start_with_clock, Backend};
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::ledger::AccountKind;
use kosh_sdk::eko::Credentials;
use kosh_server::App;
use kosh_store::commands::CreditWallet;
use serde_json::Value;
use std::sync::Arc;

on_both_backends!(a_loan_is_disbursed_repaid_in_parts_and_repaid, bad_loan_requests_move_nothing);

const AGENT: &str = "20810200";
const DAY_MS: i64 = 86_400_000;

struct World {
    app: App,
    clock: Arc<ManualClock>,
    lender: Credentials,
    lender_id: kosh_core::ids::PartnerId,
    borrower_id: kosh_core::ids::PartnerId,
    receiver: Receiver,
}

async fn world(backend: Backend) -> World {
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = start_with_clock(backend, clock.clone(), |c| c.callbacks_tick_ms = 5).await;
    let lender = Credentials {
        developer_key: "lender-developer-key".into(),
        access_key: "lender-access-key".into(),
        initiator_id: "9811122299".into(),
    };
    let lender_id = eko_support::create_partner(&app, "lender", &lender).await.id;
    let store = &app.state.store;
    store
        .execute(CreditWallet {
            partner_id: lender_id,
            amount_paise: kosh_core::money::Paise::new(1_000_000).unwrap(),
            reference: "capital".into(),
        })
        .await
        .unwrap();
    let receiver = Receiver::start(clock.clone(), Arc::new(|_| reply(200, "{}"))).await;
    set_endpoint(store, lender_id, "tx_status", &format!("{}/lender", receiver.url), None).await;
    let borrower_id = callback_support::partner_id(store, "sandbox").await;
    World { app, clock, lender, lender_id, borrower_id, receiver }
}

impl World {
    /// A signed request for `credentials` at the server's (injected) time.
    async fn call(&self, method: reqwest::Method, path: &str, credentials: &Credentials, form: &[(&str, &str)]) -> Value {
        let mut pairs = vec![("initiator_id", credentials.initiator_id.as_str())];
        pairs.extend_from_slice(form);
        let url = format!("{}/ekoicici/v1{path}", self.app.url());
        let req = reqwest::Client::new().request(method.clone(), url);
        let req = if method == reqwest::Method::GET { req.query(&pairs) } else { req.form(&pairs) };
        let (status, body) = send(signed_at(req, credentials, self.clock.now_ms())).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn disburse(&self, form: &[(&str, &str)]) -> Value {
        self.call(reqwest::Method::PUT, "/loan/create/evalue", &self.lender, form).await
    }

    async fn repay(&self, loan_id: &str, amount: &str, reference: &str) -> Value {
        let form = [("loan_id", loan_id), ("repay_amount", amount), ("client_ref_id", reference)];
        self.call(reqwest::Method::POST, "/loan/repayment", &Credentials::sandbox(), &form).await
    }

    async fn loan(&self, loan_id: &str, credentials: &Credentials) -> Value {
        self.call(reqwest::Method::GET, &format!("/loan/loanid:{loan_id}"), credentials, &[]).await
    }

    async fn balance(&self, partner_id: kosh_core::ids::PartnerId, kind: AccountKind) -> kosh_core::ledger::Balance {
        self.app.state.store.balance(partner_id, &kind).await.unwrap()
    }

    async fn wallets(&self) -> (i64, i64) {
        let lender = self.balance(self.lender_id, AccountKind::PartnerWallet).await.available_credit();
        let borrower = self.balance(self.borrower_id, AccountKind::PartnerWallet).await.available_credit();
        (lender, borrower)
    }

    /// What the lender is owed and what the borrower owes, by the ledger.
    async fn principal_books(&self) -> (i64, i64) {
        let receivable = self.balance(self.lender_id, AccountKind::LoanReceivable).await;
        let outstanding = self.balance(self.borrower_id, AccountKind::LoanOutstanding).await;
        (receivable.debits_posted - receivable.credits_posted, outstanding.credits_posted - outstanding.debits_posted)
    }

    fn lender_callbacks(&self) -> Vec<Value> {
        self.receiver.received().iter().map(|r| r.json()).collect()
    }
}

fn disbursal<'a>(reference: &'a str, amount: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("agent_code", AGENT),
        ("amount", amount),
        ("client_ref_id", reference),
        ("bank_ref_num", "UTR0001"),
        ("sanction_id", "SAN-42"),
        ("tranches", "3"),
        ("tranche_days", "30"),
    ]
}

async fn a_loan_is_disbursed_repaid_in_parts_and_repaid(backend: Backend) {
    let w = world(backend).await;
    let (lender0, borrower0) = w.wallets().await;
    let loan = w.disburse(&disbursal("LOAN-1", "3000")).await;
    assert_eq!((loan["status"].as_i64(), loan["response_type_id"].as_i64()), (Some(0), Some(1950)), "{loan}");
    let loan_id = loan["data"]["loan_id"].as_str().unwrap().to_owned();
    assert!(loan_id.parse::<i64>().unwrap() > 8_000_000_000, "{loan_id}");
    assert_eq!(w.wallets().await, (lender0 - 300_000, borrower0 + 300_000));
    assert_eq!(w.principal_books().await, (300_000, 300_000));
    // The same request again answers the same loan, and lends nothing more.
    let again = w.disburse(&disbursal("LOAN-1", "3000")).await;
    assert_eq!(again["data"]["loan_id"], loan_id.as_str());
    assert_eq!(w.wallets().await, (lender0 - 300_000, borrower0 + 300_000));

    // Both sides see it: three tranches of ₹1,000, due every 30 days.
    for who in [&w.lender, &Credentials::sandbox()] {
        let shown = w.loan(&loan_id, who).await;
        assert_eq!(shown["response_type_id"], 1951, "{shown}");
        let tranches = shown["data"]["tranches"].as_array().unwrap();
        assert_eq!(tranches.iter().map(|t| t["amount"].as_str().unwrap()).collect::<Vec<_>>(), ["1000.00", "1000.00", "1000.00"]);
        assert!(tranches.iter().all(|t| t["status"] == "due"));
    }

    // An on-time repayment pays the first tranche.
    let paid = w.repay(&loan_id, "1000", "REPAY-1").await;
    assert_eq!((paid["status"].as_i64(), paid["response_type_id"].as_i64()), (Some(0), Some(1952)), "{paid}");
    assert_eq!(paid["data"]["outstanding"], "2000.00");
    assert_eq!(paid["data"]["repayment"]["late"], false);
    assert_eq!(paid["data"]["tranches"][0]["status"], "paid");

    // Day 61: the second tranche (due on day 60) is overdue; the next repayment is late.
    w.clock.advance_ms(61 * DAY_MS);
    let shown = w.loan(&loan_id, &w.lender).await;
    assert_eq!(shown["data"]["overdue_tranches"], 1, "{shown}");
    assert_eq!(shown["data"]["tranches"][1]["status"], "overdue");
    assert_eq!(shown["data"]["tranches"][2]["status"], "due");
    let late = w.repay(&loan_id, "1500", "REPAY-2").await;
    assert_eq!(late["data"]["repayment"]["late"], true, "{late}");
    assert_eq!(late["data"]["tranches"][1]["status"], "paid_late");
    assert_eq!(late["data"]["tranches"][2]["repaid"], "500.00");

    // More than the ₹500 outstanding: refused, nothing moves.
    let before = w.wallets().await;
    let too_much = w.repay(&loan_id, "500.01", "REPAY-3").await;
    assert_eq!(too_much["status"], 1, "{too_much}");
    assert!(too_much["hint"].as_str().unwrap().contains("at most ₹500.00"), "{too_much}");
    assert_eq!(w.wallets().await, before);

    let last = w.repay(&loan_id, "500", "REPAY-4").await;
    assert_eq!((last["message"].as_str(), last["data"]["loan_status"].as_str()), (Some("Loan repaid in full"), Some("repaid")));
    assert_eq!(w.wallets().await, (lender0, borrower0), "every rupee went back");
    assert_eq!(w.principal_books().await, (0, 0));
    let closed = w.repay(&loan_id, "1", "REPAY-5").await;
    assert_eq!(closed["message"], "the loan is already repaid", "{closed}");

    // The lender heard of the disbursal and of each repayment, once each.
    wait_until("the lender's callbacks", || w.lender_callbacks().len() == 4).await;
    // Deliveries run concurrently, so they may arrive in any order: compare as a multiset.
    let mut events: Vec<String> = w.lender_callbacks().iter().map(|c| c["event"].as_str().unwrap().to_owned()).collect();
    events.sort_unstable();
    assert_eq!(events, ["disbursed", "repaid", "repayment", "repayment"]);
    assert!(w
        .lender_callbacks()
        .iter()
        .all(|c| c["loan_id"].as_i64().map(|i| i.to_string()).as_deref() == Some(loan_id.as_str())
            && c["client_ref_id"] == "LOAN-1"));
    let totals = w.app.state.store.ledger_totals().await.unwrap();
    assert_eq!(totals.debits_posted, totals.credits_posted);
    w.app.stop().await;
}

async fn bad_loan_requests_move_nothing(backend: Backend) {
    let w = world(backend).await;
    let start = w.wallets().await;
    let missing = w.disburse(&[("agent_code", AGENT)]).await;
    assert_eq!(eko_support::invalid_names(&missing), ["amount", "bank_ref_num", "client_ref_id"], "{missing}");
    for amount in ["0", "10.001", "-3"] {
        let bad = w.disburse(&disbursal("LOAN-BAD", amount)).await;
        assert_eq!(eko_support::invalid_names(&bad), ["amount"], "{amount}: {bad}");
    }
    let mut stranger = disbursal("LOAN-X", "100");
    stranger[0] = ("agent_code", "99999999");
    assert_eq!(w.disburse(&stranger).await["status"], 463);
    // More than the lender's wallet holds.
    let broke = w.disburse(&disbursal("LOAN-BIG", "10001")).await;
    assert_eq!(broke["status"], 347, "{broke}");
    // A loan is private to its lender and its borrower's partner.
    let loan = w.disburse(&disbursal("LOAN-2", "100")).await;
    let loan_id = loan["data"]["loan_id"].as_str().unwrap().to_owned();
    let outsider =
        Credentials { developer_key: "o-key".into(), access_key: "o-access".into(), initiator_id: "9811122288".into() };
    eko_support::create_partner(&w.app, "outsider", &outsider).await;
    assert_eq!(w.loan(&loan_id, &outsider).await["message"], "Loan not found");
    let form = [("loan_id", loan_id.as_str()), ("repay_amount", "10"), ("client_ref_id", "R-OUT")];
    let theirs = w.call(reqwest::Method::POST, "/loan/repayment", &outsider, &form).await;
    assert_eq!(theirs["message"], "Loan not found", "only the borrower's partner repays");
    assert_eq!(w.wallets().await, (start.0 - 10_000, start.1 + 10_000), "only LOAN-2 moved money");
    w.app.stop().await;
}
