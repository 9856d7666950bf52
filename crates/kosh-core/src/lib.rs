//! # kosh-core: the pure domain
//!
//! Everything here is deterministic and free of I/O, so it can be tested exhaustively
//! and used by the server, the store, the SDK and the CLI alike. The store
//! (`kosh-store`) persists what this crate decides; it never decides it again.
//!
//! ## A money transfer, end to end, without a database
//!
//! A ₹5,000 IMPS transfer at the default [`pricing`]: the fee (GST included) and the
//! partner's commission are computed, the wallet is debited as one balanced
//! [`ledger::Entry`] held *pending* while the bank works, and posted when it succeeds.
//! The counters arithmetic ([`ledger::Balance::add`], [`ledger::Balance::resolve`]) and
//! the wallet's limit ([`ledger::Limit`]) are the ones `kosh-store` applies in SQL.
//!
//! ```
//! use kosh_core::ledger::{AccountKind, Balance, Entry, EntryError, Leg, Side};
//! use kosh_core::money::Paise;
//! use kosh_core::pricing::Pricing;
//! use std::collections::BTreeMap;
//!
//! // Account ids as the store would have assigned them.
//! let (wallet, funding, clearing, revenue_account, gst, tds) = (1, 2, 3, 4, 5, 6);
//! let mut balances: BTreeMap<i64, Balance> = BTreeMap::new();
//! let mut apply = |entry: &Entry, pending: bool| {
//!     for leg in entry.legs() {
//!         balances.entry(leg.account_id).or_default().add(leg.side, pending, leg.amount.get());
//!     }
//!     balances.clone()
//! };
//! let paise = |p: i64| Paise::new(p).unwrap();
//!
//! // The operator loads ₹10,000 of e-value into the partner's wallet (posted at once).
//! let load = Entry::transfer(funding, wallet, Paise::from_rupees(10_000).unwrap()).unwrap();
//! let after_load = apply(&load, false);
//! assert_eq!(after_load[&wallet].available_credit(), 1_000_000);
//!
//! // What a ₹5,000 transfer costs: 1% fee (18% GST inside it), 67% of the net fee
//! // to the partner as commission, 2% TDS withheld from the commission.
//! let c = Pricing::default().charges(paise(500_000));
//! assert_eq!((c.fee_paise, c.gst_paise, c.commission_paise, c.tds_paise), (paise(5_000), paise(763), paise(2_839), paise(57)));
//! let debit = c.debit_paise().unwrap(); // amount + fee − commission + TDS
//! let revenue = c.revenue_paise().unwrap(); // fee − GST − commission
//! assert_eq!((debit, revenue), (paise(502_218), paise(1_398)));
//!
//! // The transfer's entry: debits equal credits, or it cannot be built at all.
//! let transfer = Entry::new(vec![
//!     Leg { account_id: wallet, side: Side::Debit, amount: debit },
//!     Leg { account_id: clearing, side: Side::Credit, amount: c.amount_paise },
//!     Leg { account_id: revenue_account, side: Side::Credit, amount: revenue },
//!     Leg { account_id: gst, side: Side::Credit, amount: c.gst_paise },
//!     Leg { account_id: tds, side: Side::Credit, amount: c.tds_paise },
//! ])
//! .unwrap();
//! assert_eq!(transfer.total(), paise(502_218));
//!
//! // Pending: the wallet's money is reserved, not yet spent, and its limit still holds.
//! let reserved = apply(&transfer, true);
//! assert_eq!(reserved[&wallet].debits_pending, 502_218);
//! assert_eq!(reserved[&wallet].available_credit(), 1_000_000 - 502_218);
//! assert_eq!(reserved[&wallet].posted_credit(), 1_000_000);
//! assert!(reserved[&wallet].satisfies(AccountKind::PartnerWallet.limit()));
//!
//! // The bank confirms: every leg is posted.
//! let mut posted = reserved.clone();
//! for leg in transfer.legs() {
//!     posted.get_mut(&leg.account_id).unwrap().resolve(leg.side, true, leg.amount.get());
//! }
//! assert_eq!(posted[&wallet].posted_credit(), 497_782);
//! assert_eq!(posted[&clearing].credits_posted, 500_000);
//! assert_eq!(posted[&revenue_account].credits_posted + posted[&gst].credits_posted + posted[&tds].credits_posted, 2_218);
//! // Money is conserved: over all accounts, posted debits equal posted credits.
//! let sum = |f: fn(&Balance) -> i64| posted.values().map(f).sum::<i64>();
//! assert_eq!(sum(|b| b.debits_posted), sum(|b| b.credits_posted));
//!
//! // A second transfer the wallet cannot cover would break its limit: the store's
//! // conditional UPDATE refuses it (InsufficientFunds) and nothing changes.
//! let mut over = posted[&wallet];
//! over.add(Side::Debit, true, 502_218);
//! assert!(!over.satisfies(AccountKind::PartnerWallet.limit()));
//!
//! // And an entry whose sides differ by one paisa is refused before any store sees it.
//! let lopsided = Entry::new(vec![
//!     Leg { account_id: wallet, side: Side::Debit, amount: paise(502_218) },
//!     Leg { account_id: clearing, side: Side::Credit, amount: paise(502_217) },
//! ]);
//! assert_eq!(lopsided, Err(EntryError::Unbalanced { debits: 502_218, credits: 502_217 }));
//! ```
//!
//! ## A tour of the modules
//!
//! - [`money`]: amounts are integer paise ([`money::Paise`]); rupee strings are parsed
//!   and formatted only at the edge.
//! - [`ledger`]: balanced journal entries, the four counters of an account and its
//!   limit; the one place where "debits = credits" is enforced.
//! - [`pricing`]: the configurable fee, GST, commission and TDS table, and the
//!   [`pricing::Charges`] of one transfer.
//! - [`dmt`]: money transfer: customer states, `tx_status` and its state machine,
//!   limits, and the [`dmt::DmtRejection`]s of its rules.
//! - [`aeps`]: AePS types, limits, readiness, pricing, PID shape, the sandbox bank, and
//!   the [`aeps::AepsRejection`]s of its rules.
//! - [`banks`]: the seeded banks, their channels, IFSC and account-number validation.
//! - [`services`]: agent service codes and their pending → activated lifecycle.
//! - [`ids`]: the id newtypes ([`ids::PartnerId`], [`ids::UserCode`], [`ids::Tid`], …)
//!   that cross the store boundary instead of bare `i64`s.
//! - [`validate`]: parse-don't-validate newtypes for PAN, mobile, email, dates, ids.
//! - [`aadhaar`]: Aadhaar numbers (Verhoeff), masked and keyed-hashed, never shown.
//! - [`signing`]: the Eko `secret-key` and `request_hash` (HMAC-SHA256 keyed with the
//!   base64 text of the access key), and diagnosis of wrong signatures.
//! - [`webhook`]: the signature on Kosh's signed callbacks, and its verification.
//! - [`echelon`]: the Echelon dialect's pure parts (JWTs, operation patterns, money
//!   precision, statuses, catalogue, sandbox payin outcomes).
//! - [`events`]: the typed events the outbox stores; each dialect renders its callback
//!   bodies from them.
//! - [`secret`]: random credentials, OTPs and their hashes, redacted in `Debug`.
//! - [`clock`]: the injectable clock every timestamp comes from.
//! - [`civil`]: calendar arithmetic (UTC and IST) without a date crate.

#![warn(missing_docs)]

pub mod aadhaar;
pub mod aeps;
pub mod banks;
pub mod bbps;
pub mod civil;
pub mod clock;
pub mod collections;
pub mod dmt;
pub mod dmt_family;
pub mod echelon;
pub mod events;
pub mod ids;
pub mod ledger;
pub mod loans;
pub mod money;
pub mod payouts;
pub mod pricing;
pub mod secret;
pub mod services;
pub mod settlement;
pub mod signing;
pub mod token;
pub mod validate;
pub mod verification;
pub mod webhook;
