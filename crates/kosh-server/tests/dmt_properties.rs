//! Money-transfer invariants under random sequences and under concurrency, on both
//! backends, through the signed API:
//! - after every step of a random sequence of transfers (every sandbox outcome),
//!   replays, clock moves, rail rounds, inquiries and refunds: every ledger entry
//!   balances, no wallet is negative, each partner's wallet equals its credits minus the
//!   debits of its transfers (posted for settled ones, pending for those in flight), each
//!   entry's state matches its transfer's status, and each customer's used limit is the
//!   sum of its transfers that count;
//! - many concurrent transfers against a wallet that affords only some: exactly those
//!   succeed.

mod eko_support;
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::money::Paise;
use kosh_testkit::on_both_backends;
mod dmt_support;

use dmt_support::{available, call, recipient, stored_otp, verified_customer};
use eko_support::Backend;
use kosh_core::dmt::{month_key, TxStatus};
use kosh_core::ledger::AccountKind;
use kosh_core::pricing::Pricing;
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::App;
use kosh_store::commands::{Command, CreditWallet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use std::collections::BTreeMap;

on_both_backends!(random_sequences_keep_the_ledger_consistent, concurrent_transfers_spend_exactly_the_wallet);

/// Seeds of the random sequences, and steps per sequence: bounded, reproducible.
const SEEDS: [u64; 3] = [7, 2026, 42];
const STEPS: usize = 80;

/// A partner with its own credentials, agent and funded wallet.
struct Partner {
    id: PartnerId,
    client: Client,
    user_code: String,
    credits_paise: i64,
    customers: Vec<(String, Vec<String>)>,
}

async fn new_partner(app: &App, n: u32, wallet_paise: i64) -> Partner {
    let credentials = Credentials {
        developer_key: format!("devkey-prop-{n}-0123456789abcdef"),
        access_key: format!("access-prop-{n}-0123456789abcdef"),
        initiator_id: format!("98000000{n:02}"),
    };
    let p = eko_support::create_partner(app, &format!("prop-{n}"), &credentials).await;
    let credit = Command::CreditWallet(CreditWallet {
        partner_id: p.id,
        amount_paise: Paise::new(wallet_paise).unwrap(),
        reference: "test".into(),
    });
    app.state.store.execute(credit).await.expect("credit");
    let client = Client::new(format!("{}/ekoapi/v1", app.url()), credentials);
    let user_code = eko_support::onboard(&client, &format!("ABCPQ{:04}K", n), &format!("97000000{n:02}")).await;
    Partner { id: p.id, client, user_code, credits_paise: wallet_paise, customers: Vec::new() }
}

/// Account suffixes of every sandbox outcome (plain accounts settle).
const ACCOUNTS: [&str; 7] = ["10000001", "10000002", "00001111", "00002222", "00003333", "00004444", "00005555"];

async fn add_customers(app: &App, p: &mut Partner, first_mobile: u64, count: u64) {
    for i in 0..count {
        let mobile = (first_mobile + i).to_string();
        verified_customer(app, &p.client, &p.user_code, &mobile).await;
        let mut rids = Vec::new();
        for (k, suffix) in ACCOUNTS.iter().enumerate() {
            rids.push(recipient(&p.client, &p.user_code, &mobile, &format!("5{i}{k}{suffix}"), "SBIN0000001").await);
        }
        p.customers.push((mobile, rids));
    }
}

async fn random_sequences_keep_the_ledger_consistent(backend: Backend) {
    for seed in SEEDS {
        let (app, clock) = dmt_support::start(backend, |c| c.rail_worker_tick_ms = 0).await;
        let mut partners = vec![new_partner(&app, 1, 10_000_000).await, new_partner(&app, 2, 2_000_000).await];
        for (i, p) in partners.iter_mut().enumerate() {
            add_customers(&app, p, 9_300_000_000 + 100 * i as u64, 3).await;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut refs: Vec<(usize, Vec<(&'static str, String)>)> = Vec::new();
        for step in 0..STEPS {
            let which = rng.random_range(0..partners.len());
            let p = &partners[which];
            match rng.random_range(0..10) {
                0..=4 => {
                    let (mobile, rids) = &p.customers[rng.random_range(0..p.customers.len())];
                    let rid = &rids[rng.random_range(0..rids.len())];
                    let amount = format!("{}.{:02}", rng.random_range(1..=4_999), rng.random_range(0..100));
                    let channel = if rng.random_bool(0.3) { "1" } else { "2" };
                    let form = vec![
                        ("user_code", p.user_code.clone()),
                        ("customer_id", mobile.clone()),
                        ("recipient_id", rid.clone()),
                        ("amount", amount),
                        ("timestamp", "2026-11-21T10:00:00Z".to_owned()),
                        ("currency", "INR".to_owned()),
                        ("client_ref_id", format!("P{seed}S{step}")),
                        ("state", "1".to_owned()),
                        ("channel", channel.to_owned()),
                        ("latlong", "28.45,77.02".to_owned()),
                    ];
                    send_transfer(p, &form).await;
                    refs.push((which, form));
                }
                5 if !refs.is_empty() => {
                    // A replay: the same request again changes nothing.
                    let (owner, form) = &refs[rng.random_range(0..refs.len())];
                    send_transfer(&partners[*owner], form).await;
                }
                5 | 6 => {
                    clock.advance_ms(rng.random_range(0..90_000));
                    kosh_server::workers::rail::run_once(&app.state).await.expect("a rail round");
                }
                7 => inquire_any(&app, p, &mut rng).await,
                _ => refund_any(&app, p, &mut rng).await,
            }
            for p in &partners {
                check_invariants(&app, p, seed, step).await;
            }
        }
        let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
        for p in &partners {
            for t in app.state.store.dmt_transfers(p.id, Tid::new(0)).await.expect("list") {
                *seen.entry(t.tx_status.code()).or_default() += 1;
            }
        }
        eprintln!("seed {seed}: transfers by tx_status {seen:?}");
        assert!(seen.len() >= 4, "the sequence reached several outcomes: {seen:?}");
        app.stop().await;
    }
}

async fn send_transfer(p: &Partner, form: &[(&'static str, String)]) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = call(&p.client, Method::POST, "/transactions", &pairs).await;
    // Every answer is a transfer or one of the platform's refusals.
    let allowed = [0, 55, 544, 314, 347];
    assert!(allowed.contains(&body["status"].as_i64().unwrap_or(-1)), "{body}");
}

async fn inquire_any(app: &App, p: &Partner, rng: &mut StdRng) {
    let transfers = app.state.store.dmt_transfers(p.id, Tid::new(0)).await.expect("list");
    if transfers.is_empty() {
        return;
    }
    let t = &transfers[rng.random_range(0..transfers.len())];
    let body = dmt_support::get(&p.client, &format!("/transactions/{}", t.tid), &[]).await;
    assert_eq!(body["status"], 0, "{body}");
}

async fn refund_any(app: &App, p: &Partner, rng: &mut StdRng) {
    let transfers = app.state.store.dmt_transfers(p.id, Tid::new(0)).await.expect("list");
    let pending: Vec<_> = transfers.iter().filter(|t| t.tx_status == TxStatus::RefundPending).collect();
    if pending.is_empty() {
        return;
    }
    let t = pending[rng.random_range(0..pending.len())];
    let path = format!("/transactions/{}/refund", t.tid);
    if rng.random_bool(0.3) {
        let wrong = call(&p.client, Method::POST, &path, &[("user_code", &p.user_code), ("otp", "1234567")]).await;
        assert_eq!(wrong["status"], 302, "{wrong}");
    }
    let otp = stored_otp(app, &p.client, &t.customer_mobile, &format!("dmt_refund:{}", t.tid)).await;
    let body = call(&p.client, Method::POST, &path, &[("user_code", &p.user_code), ("otp", &otp)]).await;
    assert_eq!(body["response_type_id"], 74, "{body}");
}

async fn check_invariants(app: &App, p: &Partner, seed: u64, step: usize) {
    let at = format!("seed {seed}, step {step}, partner {}", p.id);
    let store = &app.state.store;
    let totals = store.ledger_totals().await.expect("totals");
    assert_eq!(totals.debits_posted, totals.credits_posted, "posted entries balance ({at})");
    assert_eq!(totals.debits_pending, totals.credits_pending, "pending entries balance ({at})");
    assert_eq!(store.ledger_limit_violations().await.expect("violations"), 0, "no wallet is negative ({at})");

    let transfers = store.dmt_transfers(p.id, Tid::new(0)).await.expect("list");
    let (mut posted, mut pending) = (0, 0);
    let mut used: BTreeMap<&str, i64> = BTreeMap::new();
    let month = month_key(store.now_ms());
    for t in &transfers {
        let debit = t.charges.debit_paise().expect("a debit in range").get();
        let entry = store.ledger_entry(t.entry_id).await.expect("read").expect("entry");
        let expected_state = match t.tx_status {
            TxStatus::Success => {
                posted += debit;
                "posted"
            }
            TxStatus::Fail | TxStatus::Refunded => "voided",
            TxStatus::Initiated | TxStatus::Hold | TxStatus::RefundPending => {
                pending += debit;
                "pending"
            }
        };
        assert_eq!(entry.state, expected_state, "transfer {} in {:?} ({at})", t.tid, t.tx_status);
        assert_eq!(entry.amount_paise.get(), debit, "the entry moves the transfer's debit ({at})");
        if t.tx_status.uses_limit() && t.limit_month == month {
            *used.entry(t.customer_mobile.as_str()).or_default() += t.charges.amount_paise.get();
        }
    }
    let wallet = store.balance(p.id, &AccountKind::PartnerWallet).await.expect("wallet");
    assert_eq!(wallet.credits_posted, p.credits_paise, "only the opening credit ({at})");
    assert_eq!((wallet.debits_posted, wallet.debits_pending), (posted, pending), "wallet = credits − transfer debits ({at})");
    assert!(wallet.available_credit() >= 0, "{at}");
    for (mobile, _) in &p.customers {
        let c = store.dmt_customer(p.id, mobile).await.expect("read").expect("customer");
        let counted = if c.used_month == month { c.used_paise.get() } else { 0 };
        assert_eq!(counted, used.get(mobile.as_str()).copied().unwrap_or(0), "used limit of {mobile} ({at})");
    }
}

async fn concurrent_transfers_spend_exactly_the_wallet(backend: Backend) {
    let (app, _clock) = dmt_support::start(backend, |_| {}).await;
    let debit = Pricing::default().charges(Paise::new(100_000).unwrap()).debit_paise().expect("in range").get();
    let affordable = 17;
    let mut p = new_partner(&app, 3, affordable * debit + debit / 2).await;
    let mut rids = Vec::new();
    for i in 0..8u64 {
        let mobile = (9_400_000_000 + i).to_string();
        verified_customer(&app, &p.client, &p.user_code, &mobile).await;
        let rid = recipient(&p.client, &p.user_code, &mobile, &format!("600000000{i}"), "HDFC0000001").await;
        rids.push((mobile, rid));
    }
    p.customers.clear();
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let client = p.client.clone();
            let user_code = p.user_code.clone();
            let (mobile, rid) = rids[i % rids.len()].clone();
            tokio::spawn(async move {
                let reference = format!("CONC-{i}");
                let form = dmt_support::transfer_form(&user_code, &mobile, &rid, "1000", &reference, "2");
                call(&client, Method::POST, "/transactions", &form).await
            })
        })
        .collect();
    let mut by_status: BTreeMap<i64, usize> = BTreeMap::new();
    for h in handles {
        let body = h.await.expect("task");
        *by_status.entry(body["status"].as_i64().expect("status")).or_default() += 1;
        if body["status"] == 0 {
            assert_eq!(body["data"]["tx_status"], "0", "{body}");
        }
    }
    assert_eq!(
        by_status,
        BTreeMap::from([(0, affordable as usize), (347, 40 - affordable as usize)]),
        "exactly the affordable ones succeed"
    );
    assert_eq!(available(&app, p.id).await, debit / 2, "what is left cannot pay for another");
    let settled = app.state.store.dmt_transfers(p.id, Tid::new(0)).await.expect("list");
    assert_eq!(settled.len(), affordable as usize, "refused transfers left no record");
    assert!(settled.iter().all(|t| t.tx_status == TxStatus::Success));
    assert_eq!(app.state.store.ledger_limit_violations().await.expect("violations"), 0);
    let totals = app.state.store.ledger_totals().await.expect("totals");
    assert_eq!((totals.debits_posted, totals.debits_pending), (totals.credits_posted, totals.credits_pending));
    app.stop().await;
}
