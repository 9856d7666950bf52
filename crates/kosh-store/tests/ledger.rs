//! The ledger commands on both backends: a seeded random walk checked against an
//! in-test model, refusals that change nothing, the pending lifecycle, and a wallet
//! raced by many debits.

mod common;

use common::{assert_ledger_sound, credit, leg, partner, recorded, rejection, store};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::ledger::{AccountKind, Balance, Side, MAX_LEGS, PLATFORM};
use kosh_core::money::MAX_PAISE;
use kosh_store::commands::{AccountSpec, Command, LegSpec, Outcome, RecordEntry, ResolveEntry};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::stats::StoreStats;
use kosh_store::Store;
use kosh_testkit::BACKENDS;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// An account in the model: its owner and code, as the store keys it.
type Key = (i64, String);

fn key(l: &LegSpec) -> Key {
    (l.owner_id, l.account.kind().expect("model legs name known accounts").code())
}

fn is_wallet(spec: &AccountSpec) -> bool {
    matches!(spec, AccountSpec::PartnerWallet | AccountSpec::AgentWallet { .. })
}

/// What the ledger should hold: every account's four counters, the pending entries.
#[derive(Default)]
struct Model {
    accounts: HashMap<Key, (AccountKind, Balance)>,
    pending: Vec<(i64, Vec<LegSpec>)>,
    resolved: Vec<i64>,
    posted: u64,
    reserved: u64,
    voided: u64,
}

impl Model {
    fn available(&self, k: &Key) -> i64 {
        self.accounts.get(k).map_or(0, |(_, b)| b.available_credit())
    }

    /// The available balances of the wallets these legs would overdraw; empty when the
    /// entry fits. A wallet's debits in one entry are checked together, before credits.
    fn overdrawn(&self, legs: &[LegSpec]) -> Vec<i64> {
        let mut debits: HashMap<Key, i64> = HashMap::new();
        for l in legs.iter().filter(|l| l.side == Side::Debit && is_wallet(&l.account)) {
            *debits.entry(key(l)).or_default() += l.amount_paise;
        }
        debits.into_iter().filter(|(k, d)| *d > self.available(k)).map(|(k, _)| self.available(&k)).collect()
    }

    fn counters(&mut self, l: &LegSpec) -> &mut Balance {
        let kind = l.account.kind().expect("known account");
        &mut self.accounts.entry(key(l)).or_insert((kind, Balance::default())).1
    }

    fn record(&mut self, legs: &[LegSpec], pending: bool) {
        for l in legs {
            let b = self.counters(l);
            match (l.side, pending) {
                (Side::Debit, false) => b.debits_posted += l.amount_paise,
                (Side::Credit, false) => b.credits_posted += l.amount_paise,
                (Side::Debit, true) => b.debits_pending += l.amount_paise,
                (Side::Credit, true) => b.credits_pending += l.amount_paise,
            }
        }
    }

    fn resolve(&mut self, legs: &[LegSpec], post: bool) {
        for l in legs {
            let b = self.counters(l);
            let (pending, posted) = match l.side {
                Side::Debit => (&mut b.debits_pending, &mut b.debits_posted),
                Side::Credit => (&mut b.credits_pending, &mut b.credits_posted),
            };
            *pending -= l.amount_paise;
            if post {
                *posted += l.amount_paise;
            }
        }
    }

    /// Every modelled account equals the store's; the totals are balanced.
    async fn check(&self, store: &Store, context: &str) {
        for ((owner, code), (kind, expected)) in &self.accounts {
            let actual = store.balance(*owner, kind).await.expect("balance");
            assert_eq!(actual, *expected, "account {owner}/{code}: {context}");
        }
        assert_ledger_sound(store, context).await;
    }

    fn check_reported(&self, balances: &[kosh_store::commands::AccountBalance], context: &str) {
        for b in balances {
            let (_, expected) = &self.accounts[&(b.owner_id, b.code.clone())];
            assert_eq!(b.balance, *expected, "reported balance of {}/{}: {context}", b.owner_id, b.code);
        }
    }
}

/// A partner and its agent.
#[derive(Clone, Copy)]
struct Actor {
    partner_id: PartnerId,
    user_code: UserCode,
}

fn entry(partner_id: PartnerId, legs: Vec<LegSpec>, pending: bool) -> Command {
    Command::RecordEntry(RecordEntry { partner_id, kind: "walk".into(), reference: "r".into(), legs, pending })
}

/// A money transfer out of the partner's wallet: amount to the rail, plus fee and GST.
fn transfer_legs(rng: &mut StdRng, a: Actor, rail: &'static str) -> Vec<LegSpec> {
    let (amount, fee) = (rng.random_range(1..=30_000), rng.random_range(1..=1_000));
    let gst = fee * 18 / 100;
    let mut legs = vec![
        leg(a.partner_id, AccountKind::PartnerWallet, Side::Debit, amount + fee + gst),
        leg(a.partner_id, AccountKind::RailClearing { rail }, Side::Credit, amount),
        leg(a.partner_id, AccountKind::FeeRevenue, Side::Credit, fee),
    ];
    if gst > 0 {
        legs.push(leg(a.partner_id, AccountKind::GstPayable, Side::Credit, gst));
    }
    legs
}

/// A cash-out credited to the agent's wallet, with commission less TDS.
fn aeps_credit_legs(rng: &mut StdRng, a: Actor) -> Vec<LegSpec> {
    let (amount, commission) = (rng.random_range(1..=20_000), rng.random_range(1..=500));
    let tds = commission / 20;
    let agent = AccountKind::AgentWallet { user_code: a.user_code };
    let mut legs = vec![
        leg(a.partner_id, AccountKind::RailClearing { rail: "aeps" }, Side::Debit, amount),
        leg(a.partner_id, agent.clone(), Side::Credit, amount),
        leg(a.partner_id, AccountKind::CommissionPayable, Side::Debit, commission),
        leg(a.partner_id, agent, Side::Credit, commission - tds),
    ];
    if tds > 0 {
        legs.push(leg(a.partner_id, AccountKind::TdsPayable, Side::Credit, tds));
    }
    legs
}

/// An entry the store must refuse as invalid (or for naming a stranger's agent).
fn invalid_entry(rng: &mut StdRng, a: Actor, stranger: Actor) -> (Command, Rejection) {
    let p = a.partner_id;
    let invalid = Rejection::InvalidEntry(String::new());
    let two = |d: AccountKind, dn: i64, c: AccountKind, cn: i64| vec![leg(p, d, Side::Debit, dn), leg(p, c, Side::Credit, cn)];
    let (legs, expected) = match rng.random_range(0..10) {
        0 => (two(AccountKind::PartnerWallet, 100, AccountKind::Suspense, 99), invalid),
        1 => {
            let mut legs = two(AccountKind::PartnerWallet, 100, AccountKind::Suspense, 100);
            legs.push(leg(p, AccountKind::FeeRevenue, Side::Credit, 0));
            (legs, invalid)
        }
        2 => (two(AccountKind::Suspense, -5, AccountKind::FeeRevenue, -5), invalid),
        3 => (vec![leg(p, AccountKind::Suspense, Side::Credit, 100)], invalid),
        4 => {
            let mut legs: Vec<_> = (0..MAX_LEGS).map(|_| leg(p, AccountKind::Suspense, Side::Debit, 1)).collect();
            legs.push(leg(p, AccountKind::FeeRevenue, Side::Credit, MAX_LEGS as i64));
            (legs, invalid)
        }
        5 => {
            let mut legs = two(AccountKind::Suspense, 100, AccountKind::Suspense, 100);
            legs[1].account = AccountSpec::RailClearing { rail: "swift".into() };
            (legs, invalid)
        }
        6 => {
            let mut legs = two(AccountKind::PartnerWallet, 1, AccountKind::Suspense, 1);
            legs[0].owner_id = if rng.random_bool(0.5) { PLATFORM } else { stranger.partner_id.get() };
            (legs, invalid)
        }
        // More than the largest amount in one entry, in legs that are each allowed.
        7 => {
            let mut legs = two(AccountKind::Suspense, MAX_PAISE, AccountKind::FeeRevenue, MAX_PAISE);
            legs.extend(two(AccountKind::Suspense, MAX_PAISE, AccountKind::FeeRevenue, MAX_PAISE));
            (legs, invalid)
        }
        8 => {
            let stranger_wallet = AccountKind::AgentWallet { user_code: stranger.user_code };
            (two(stranger_wallet, 1, AccountKind::Suspense, 1), Rejection::AgentNotFound)
        }
        _ => {
            let cmd = Command::RecordEntry(RecordEntry {
                partner_id: p,
                kind: String::new(),
                reference: "r".into(),
                legs: two(AccountKind::Suspense, 1, AccountKind::FeeRevenue, 1),
                pending: false,
            });
            return (cmd, invalid);
        }
    };
    (entry(p, legs, rng.random_bool(0.5)), expected)
}

/// How many times each path of the walk ran, so the test shows it covered them all.
#[derive(Debug, Default)]
struct Tally {
    recorded: u32,
    insufficient: u32,
    invalid: u32,
    posted: u32,
    voided: u32,
    not_pending: u32,
}

struct Walk {
    store: Arc<Store>,
    actors: Vec<Actor>,
    model: Model,
    tally: Tally,
    rng: StdRng,
}

impl Walk {
    async fn step(&mut self, i: usize) {
        let a = self.actors[self.rng.random_range(0..self.actors.len())];
        match self.rng.random_range(0..100) {
            0..15 => self.credit(a).await,
            15..25 => {
                let legs = aeps_credit_legs(&mut self.rng, a);
                self.record(a, legs, false, i).await
            }
            25..45 => {
                let rail = ["imps", "neft"][self.rng.random_range(0..2)];
                let legs = transfer_legs(&mut self.rng, a, rail);
                self.record(a, legs, true, i).await
            }
            45..55 => {
                let legs = transfer_legs(&mut self.rng, a, "rtgs");
                self.record(a, legs, false, i).await
            }
            55..62 => {
                let amount = self.rng.random_range(1..=15_000);
                let legs = vec![
                    leg(a.partner_id, AccountKind::AgentWallet { user_code: a.user_code }, Side::Debit, amount),
                    leg(a.partner_id, AccountKind::RailClearing { rail: "imps" }, Side::Credit, amount),
                ];
                self.record(a, legs, true, i).await
            }
            62..72 => self.resolve_pending(true, i).await,
            72..80 => self.resolve_pending(false, i).await,
            80..84 => self.resolve_again(i).await,
            84..94 => self.refuse_invalid(a, i).await,
            _ => self.refuse_partial(a, i).await,
        }
    }

    async fn credit(&mut self, a: Actor) {
        let amount = self.rng.random_range(1..=50_000);
        credit(&self.store, a.partner_id, amount).await;
        self.model.record(
            &[
                leg(a.partner_id, AccountKind::Funding, Side::Debit, amount),
                leg(a.partner_id, AccountKind::PartnerWallet, Side::Credit, amount),
            ],
            false,
        );
        self.model.posted += 1;
    }

    async fn record(&mut self, a: Actor, legs: Vec<LegSpec>, pending: bool, i: usize) {
        let overdrawn = self.model.overdrawn(&legs);
        let result = self.store.execute(entry(a.partner_id, legs.clone(), pending)).await;
        if overdrawn.is_empty() {
            let (entry_id, posted, balances) = recorded(result.unwrap_or_else(|e| panic!("step {i}: {e}")));
            assert_eq!(posted, !pending, "step {i}");
            self.model.record(&legs, pending);
            self.model.check_reported(&balances, &format!("step {i}"));
            if pending {
                self.model.pending.push((entry_id, legs));
                self.model.reserved += 1;
            } else {
                self.model.posted += 1;
            }
            self.tally.recorded += 1;
        } else {
            let Rejection::InsufficientFunds { available_paise } = rejection(result) else { panic!("step {i}") };
            assert!(overdrawn.contains(&available_paise), "step {i}: reported {available_paise}, model {overdrawn:?}");
            self.tally.insufficient += 1;
        }
    }

    async fn resolve_pending(&mut self, post: bool, i: usize) {
        if self.model.pending.is_empty() {
            return;
        }
        let (entry_id, legs) = self.model.pending.swap_remove(self.rng.random_range(0..self.model.pending.len()));
        let outcome = self.store.execute(Command::ResolveEntry(ResolveEntry { entry_id, post })).await;
        let Ok(Outcome::EntryResolved { entry_id: id, posted, balances }) = outcome else { panic!("step {i}: {outcome:?}") };
        assert_eq!((id, posted), (entry_id, post), "step {i}");
        self.model.resolve(&legs, post);
        self.model.check_reported(&balances, &format!("step {i}"));
        self.model.resolved.push(entry_id);
        let state = self.store.ledger_entry(entry_id).await.expect("entry").expect("entry exists").state;
        assert_eq!(state, if post { "posted" } else { "voided" }, "step {i}");
        if post {
            self.model.posted += 1;
            self.tally.posted += 1;
        } else {
            self.model.voided += 1;
            self.tally.voided += 1;
        }
    }

    async fn resolve_again(&mut self, i: usize) {
        let (entry_id, expected) = match self.model.resolved.last() {
            Some(id) if self.rng.random_bool(0.8) => (*id, Rejection::EntryNotPending),
            _ => (i64::MAX, Rejection::EntryNotFound),
        };
        let post = self.rng.random_bool(0.5);
        assert_eq!(
            rejection(self.store.execute(Command::ResolveEntry(ResolveEntry { entry_id, post })).await),
            expected,
            "step {i}"
        );
        self.tally.not_pending += 1;
    }

    async fn refuse_invalid(&mut self, a: Actor, i: usize) {
        let stranger = *self.actors.iter().find(|s| s.partner_id != a.partner_id).expect("several partners");
        let (cmd, expected) = invalid_entry(&mut self.rng, a, stranger);
        let got = rejection(self.store.execute(cmd.clone()).await);
        match expected {
            Rejection::InvalidEntry(_) => assert!(matches!(got, Rejection::InvalidEntry(_)), "step {i}: {cmd:?} gave {got:?}"),
            other => assert_eq!(got, other, "step {i}: {cmd:?}"),
        }
        self.tally.invalid += 1;
    }

    /// A debit the partner's wallet covers beside one the agent's cannot: the first
    /// leg's change must be undone with the rest.
    async fn refuse_partial(&mut self, a: Actor, i: usize) {
        let agent = AccountKind::AgentWallet { user_code: a.user_code };
        let over = self.model.available(&(a.partner_id.get(), agent.code())) + self.rng.random_range(1..=1_000);
        let legs = vec![
            leg(a.partner_id, AccountKind::PartnerWallet, Side::Debit, 1),
            leg(a.partner_id, agent, Side::Debit, over),
            leg(a.partner_id, AccountKind::Suspense, Side::Credit, over + 1),
        ];
        let pending = self.rng.random_bool(0.5);
        self.record(a, legs, pending, i).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_matches_a_model_under_random_operations() {
    const STEPS: usize = 300;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let mut actors = Vec::new();
        for n in 0..3u32 {
            let partner_id = partner(&store, n).await;
            let user_code = common::agent(&store, partner_id, &format!("ABCDE{n:04}F"), &format!("98000000{n:02}")).await;
            actors.push(Actor { partner_id, user_code });
        }
        let mut walk =
            Walk { store, actors, model: Model::default(), tally: Tally::default(), rng: StdRng::seed_from_u64(0x4b05) };
        for i in 0..STEPS {
            walk.step(i).await;
            walk.model.check(&walk.store, &format!("{backend:?} after step {i}")).await;
        }
        let (t, m, stats) = (&walk.tally, &walk.model, walk.store.stats());
        assert!(
            t.recorded > 0 && t.insufficient > 0 && t.invalid > 0 && t.posted > 0 && t.voided > 0 && t.not_pending > 0,
            "{backend:?}: the walk missed a path: {t:?}"
        );
        assert_eq!(StoreStats::get(&stats.entries_posted), m.posted, "{backend:?}");
        assert_eq!(StoreStats::get(&stats.entries_pending), m.reserved, "{backend:?}");
        assert_eq!(StoreStats::get(&stats.entries_voided), m.voided, "{backend:?}");
    }
}

/// Every kind of invalid entry is refused with a reason and leaves no trace: no
/// entry, no account, no outbox row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_entries_change_nothing() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let (p, other) = (partner(&store, 1).await, partner(&store, 2).await);
        let user_code = common::agent(&store, p, "ABCDE1234F", "9800000001").await;
        let stranger_agent = common::agent(&store, other, "ABCDE9999F", "9800000009").await;
        credit(&store, p, 1_000).await;
        let before = (store.ledger_totals().await.unwrap(), store.recent_outbox(p, 100).await.unwrap());
        let mut rng = StdRng::seed_from_u64(7);
        let (a, stranger) = (Actor { partner_id: p, user_code }, Actor { partner_id: other, user_code: stranger_agent });
        for _ in 0..60 {
            let (cmd, expected) = invalid_entry(&mut rng, a, stranger);
            let got = rejection(store.execute(cmd.clone()).await);
            match expected {
                Rejection::InvalidEntry(_) => assert!(matches!(got, Rejection::InvalidEntry(_)), "{cmd:?} gave {got:?}"),
                other => assert_eq!(got, other, "{cmd:?}"),
            }
        }
        let missing =
            entry(PartnerId::new(9_999), vec![leg(PartnerId::new(9_999), AccountKind::Suspense, Side::Debit, 1)], false);
        assert_eq!(rejection(store.execute(missing).await), Rejection::PartnerNotFound);
        assert_eq!((store.ledger_totals().await.unwrap(), store.recent_outbox(p, 100).await.unwrap()), before, "{backend:?}");
        assert_eq!(store.balance(PLATFORM, &AccountKind::Suspense).await.unwrap(), Balance::default(), "{backend:?}");
    }
}

/// A refusal names what the wallet held before the entry, even when the entry debits
/// the wallet in several legs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn insufficient_funds_reports_the_balance_before_the_entry() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        credit(&store, p, 1_000).await;
        let legs = vec![
            leg(p, AccountKind::PartnerWallet, Side::Debit, 600),
            leg(p, AccountKind::PartnerWallet, Side::Debit, 600),
            leg(p, AccountKind::Suspense, Side::Credit, 1_200),
        ];
        let refused = rejection(store.execute(entry(p, legs, false)).await);
        assert_eq!(refused, Rejection::InsufficientFunds { available_paise: 1_000 }, "{backend:?}");
        let wallet = store.balance(p, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!(wallet.available_credit(), 1_000, "{backend:?}");
    }
}

/// Pending reserves, posting keeps the reservation as a debit, voiding releases it; an
/// entry resolves once; each step leaves one outbox event; the metrics count entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_entries_post_or_void_once() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        credit(&store, p, 10_000).await;
        let pending = |amount| {
            let legs = vec![
                leg(p, AccountKind::PartnerWallet, Side::Debit, amount + 10),
                leg(p, AccountKind::RailClearing { rail: "imps" }, Side::Credit, amount),
                leg(p, AccountKind::FeeRevenue, Side::Credit, 10),
            ];
            entry(p, legs, true)
        };
        let (first, posted, balances) = recorded(store.execute(pending(4_000)).await.unwrap());
        assert!(!posted);
        let wallet = balances.iter().find(|b| b.owner_id == p.get() && b.code == "wallet").expect("wallet reported").balance;
        assert_eq!((wallet.available_credit(), wallet.posted_credit()), (5_990, 10_000), "{backend:?}");
        let (second, _, _) = recorded(store.execute(pending(5_980)).await.unwrap());
        // Both reservations together leave nothing for a third.
        let third = rejection(store.execute(pending(1)).await);
        assert_eq!(third, Rejection::InsufficientFunds { available_paise: 0 }, "{backend:?}");

        store.execute(Command::ResolveEntry(ResolveEntry { entry_id: first, post: true })).await.unwrap();
        store.execute(Command::ResolveEntry(ResolveEntry { entry_id: second, post: false })).await.unwrap();
        let wallet = store.balance(p, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!((wallet.available_credit(), wallet.posted_credit()), (5_990, 5_990), "{backend:?}");
        let clearing = store.balance(PLATFORM, &AccountKind::RailClearing { rail: "imps" }).await.unwrap();
        assert_eq!((clearing.credits_posted, clearing.credits_pending), (4_000, 0), "{backend:?}");
        for (entry_id, post) in [(first, false), (second, true)] {
            let again = rejection(store.execute(Command::ResolveEntry(ResolveEntry { entry_id, post })).await);
            assert_eq!(again, Rejection::EntryNotPending, "{backend:?}");
        }
        let kinds: Vec<String> = store.recent_outbox(p, 10).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                "ledger.entry_resolved",
                "ledger.entry_resolved",
                "ledger.entry_recorded",
                "ledger.entry_recorded",
                "wallet.credited"
            ],
            "{backend:?}"
        );
        let stats = store.stats();
        let counts = [&stats.entries_posted, &stats.entries_pending, &stats.entries_voided].map(StoreStats::get);
        assert_eq!(counts, [2, 2, 1], "{backend:?}: credit + post; two pending; one void");
        assert_ledger_sound(&store, &format!("{backend:?}")).await;
    }
}

/// 200 concurrent ₹10 debits against ₹1,000: exactly 100 fit, whatever the
/// interleaving, and no reader ever sees the wallet below zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_debits_never_overdraw_a_wallet() {
    const TASKS: usize = 200;
    const DEBIT_PAISE: i64 = 1_000;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        credit(&store, p, 100_000).await;
        let done = Arc::new(AtomicBool::new(false));
        let watcher = tokio::spawn(watch_wallet(store.clone(), p, done.clone()));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let Command::RecordEntry(RecordEntry { partner_id, kind, reference, legs, .. }) =
                        common::debit_to_rail(p, DEBIT_PAISE)
                    else {
                        unreachable!()
                    };
                    store
                        .execute(Command::RecordEntry(RecordEntry { partner_id, kind, reference, legs, pending: i % 2 == 0 }))
                        .await
                })
            })
            .collect();
        let (mut ok, mut ok_pending, mut refused) = (0, 0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Ok(outcome) => {
                    ok_pending += i64::from(!recorded(outcome).1);
                    ok += 1;
                }
                Err(CommandError::Rejected(Rejection::InsufficientFunds { available_paise })) => {
                    assert!(available_paise < DEBIT_PAISE, "{backend:?}: refused with {available_paise} available");
                    refused += 1;
                }
                Err(e) => panic!("{backend:?}: {e}"),
            }
        }
        done.store(true, Ordering::SeqCst);
        let samples = watcher.await.expect("watcher");
        assert!(samples > 0, "{backend:?}: the watcher read the wallet");
        assert_eq!((ok, refused), (100, 100), "{backend:?}");
        let wallet = store.balance(p, &AccountKind::PartnerWallet).await.unwrap();
        assert_eq!(wallet.available_credit(), 0, "{backend:?}");
        let expected = ((100 - ok_pending) * DEBIT_PAISE, ok_pending * DEBIT_PAISE);
        assert_eq!((wallet.debits_posted, wallet.debits_pending), expected, "{backend:?}: posted and pending debits that fit");
        assert_ledger_sound(&store, &format!("{backend:?}")).await;
    }
}

/// Reads the wallet until told to stop (at most 100,000 reads); every read must show
/// a non-negative available balance. Answers the number of reads.
async fn watch_wallet(store: Arc<Store>, partner_id: PartnerId, done: Arc<AtomicBool>) -> u32 {
    let mut samples = 0;
    while samples < 100_000 {
        let wallet = store.balance(partner_id, &AccountKind::PartnerWallet).await.expect("balance");
        assert!(wallet.available_credit() >= 0, "wallet went negative: {wallet:?}");
        samples += 1;
        if done.load(Ordering::SeqCst) {
            break;
        }
        tokio::task::yield_now().await;
    }
    samples
}

/// The platform's accounts are written once per batch (SQLite) or at commit
/// (PostgreSQL), not entry by entry. 200 concurrent ₹10 entries against ₹1,000, each
/// crediting fee revenue before the wallet's limit is checked (the revenue account is
/// older, so its leg comes first): the 100 refused leave no trace on fee revenue, the
/// 100 accepted are all there, whatever batches they shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_entries_leave_no_deferred_platform_change() {
    const TASKS: usize = 200;
    const DEBIT_PAISE: i64 = 1_000;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let (older, p) = (partner(&store, 1).await, partner(&store, 2).await);
        credit(&store, older, 10).await;
        let fee = |partner_id, amount, pending| {
            let legs = vec![
                leg(partner_id, AccountKind::PartnerWallet, Side::Debit, amount),
                leg(partner_id, AccountKind::FeeRevenue, Side::Credit, amount),
            ];
            entry(partner_id, legs, pending)
        };
        store.execute(fee(older, 10, false)).await.unwrap();
        credit(&store, p, 100_000).await;
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let (store, cmd) = (store.clone(), fee(p, DEBIT_PAISE, i % 2 == 0));
                tokio::spawn(async move { store.execute(cmd).await })
            })
            .collect();
        let (mut posted, mut pending, mut refused) = (0, 0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Ok(outcome) if recorded(outcome.clone()).1 => posted += 1,
                Ok(_) => pending += 1,
                Err(CommandError::Rejected(Rejection::InsufficientFunds { .. })) => refused += 1,
                Err(e) => panic!("{backend:?}: {e}"),
            }
        }
        assert_eq!((posted + pending, refused), (100, 100), "{backend:?}");
        let revenue = store.balance(PLATFORM, &AccountKind::FeeRevenue).await.unwrap();
        let expected = (10 + posted * DEBIT_PAISE, pending * DEBIT_PAISE);
        assert_eq!((revenue.credits_posted, revenue.credits_pending), expected, "{backend:?}");
        let stats = store.stats();
        if backend == kosh_testkit::Backend::Sqlite {
            let (batches, commands) = (StoreStats::get(&stats.batches), StoreStats::get(&stats.batched_commands));
            assert!(commands > batches, "{backend:?}: some batch held several commands ({commands} in {batches})");
        }
        assert_ledger_sound(&store, &format!("{backend:?}")).await;
    }
}
