//! The Echelon dialect's commands. Each runs as one atomic unit: the payment row, its
//! ledger entry and its callback event (the outbox) commit together or not at all.
//!
//! The callback producer contract: in the command that changes a payin's or payout's
//! status, when it has a `callbackUrl`, a typed `PaymentStatusChanged` event on the
//! outbox kind [`CALLBACK_KIND`]; the callback engine renders and delivers it.

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::echelon::{self as ops, Merchant, NewMerchant, NewPayment, Payment};
use crate::ops::{ledger, outbox, partners};
use crate::sql::Conn;
use kosh_core::echelon::{Direction, Status};
use kosh_core::events::{Event, PaymentStatusChanged};
use kosh_core::ids::{MerchantId, PartnerId};
use kosh_core::ledger::{AccountKind, Entry, EntryState, Leg, Side};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// The outbox kind of an Echelon status-change callback.
pub const CALLBACK_KIND: &str = crate::ops::callbacks::ECHELON_CALLBACK;

/// A command of the Echelon dialect: merchants, payments, the request throttle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchelonCommand {
    /// Creates a merchant (refused as [`EchelonOutcome::MerchantCodeTaken`] if its code is used).
    CreateMerchant(NewMerchant),
    /// Replaces a merchant's stored secret values (a new secret was issued).
    RotateSecret(RotateSecret),
    /// Creates the documented sandbox merchant for the partner with `developer_key`,
    /// once; `merchant.partner_id` is ignored.
    SeedSandboxMerchant(SeedSandboxMerchant),
    /// Creates a payin, or a payout with its amount and fee reserved (a pending entry).
    CreatePayment(Box<NewPayment>),
    /// Stores the merchant's external reference on a payment.
    SetExternalReference(SetExternalReference),
    /// Moves a processing payment on, if it is still as it was read
    /// (`expect_check_at_ms`), so that two workers never apply one outcome twice.
    Advance(Advance),
    /// Counts one request of a merchant in the window `window_s` (seconds).
    ThrottleHit(ThrottleHit),
    /// Deletes throttle counts of windows before `before_window_s`.
    PruneThrottle(PruneThrottle),
}

/// Replaces a merchant's stored secret values (a new secret was issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateSecret {
    /// The merchant whose secret changes.
    pub merchant_code: String,
    /// The new secret's fresh salt.
    pub salt: String,
    /// The new secret's verifier (keyed hash with the salt).
    pub verifier: String,
    /// The new token-signing key derived from the secret.
    pub token_key: kosh_core::secret::Secret,
}

/// Creates the documented sandbox merchant for the partner with `developer_key`,
/// once; `merchant.partner_id` is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSandboxMerchant {
    /// The sandbox partner's developer key, which finds the partner.
    pub developer_key: String,
    /// The documented sandbox merchant.
    pub merchant: NewMerchant,
}

/// Stores the merchant's external reference on a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetExternalReference {
    /// The merchant (`echelon_merchants.id`).
    pub merchant_id: MerchantId,
    /// The merchant's order id of the payment.
    pub order_id: String,
    /// The reference to store.
    pub reference: String,
}

/// Moves a processing payment on, if it is still as it was read
/// (`expect_check_at_ms`), so that two workers never apply one outcome twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    /// The payment (`echelon_payments.id`).
    pub payment_id: i64,
    /// The `check_at_ms` the caller read; a payment changed since is left alone.
    pub expect_check_at_ms: i64,
    /// What happened.
    pub change: Change,
}

/// Counts one request of a merchant in the window `window_s` (seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleHit {
    /// The merchant (`echelon_merchants.id`).
    pub merchant_id: MerchantId,
    /// The one-second window counted: the request's second since the epoch.
    pub window_s: i64,
}

/// Deletes throttle counts of windows before `before_window_s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneThrottle {
    /// Windows (seconds since the epoch) before this one are deleted.
    pub before_window_s: i64,
}

/// What happened to a processing payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Nothing yet; look again at `check_at_ms`.
    Recheck {
        /// When to look again (ms since the epoch).
        check_at_ms: i64,
    },
    /// The money moved; `utr` is the bank's reference, when there is one.
    Succeed {
        /// The bank's reference, when there is one.
        utr: Option<String>,
    },
    /// A recorded payout was handed to `rail`, which took it: look again at
    /// `check_at_ms`.
    Submitted {
        /// The rail that took the order (`Rail::name`), the one asked about it later.
        rail: String,
        /// When to ask the rail (ms since the epoch).
        check_at_ms: i64,
    },
    /// The rail refused a recorded payout at once, while its request was still waiting:
    /// the payment is deleted and its reservation voided, so the merchant order id is
    /// free again and nothing of it is left to read.
    Withdraw,
    /// It failed: `code` is a `FailureReasonCode`.
    Fail {
        /// A `FailureReasonCode` ([`kosh_core::echelon::failure`]).
        code: String,
        /// A human-readable detail, when there is one.
        message: Option<String>,
    },
}

/// What an [`EchelonCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchelonOutcome {
    /// The merchant, as created.
    MerchantCreated(Box<Merchant>),
    /// Another merchant has this code: nothing changed.
    MerchantCodeTaken,
    /// No merchant with this code (or id).
    MerchantNotFound,
    /// The merchant's secret was replaced.
    SecretRotated,
    /// The sandbox merchant exists.
    SandboxMerchant {
        /// False when it existed already.
        created: bool,
    },
    /// The payment, as created.
    PaymentCreated(Box<Payment>),
    /// The merchant order id was used before: nothing changed.
    Duplicate,
    /// No such payment for the merchant.
    PaymentNotFound,
    /// The external reference was stored.
    ReferenceSet,
    /// The payment after the change.
    Advanced(Box<Payment>),
    /// Someone else moved the payment on first: nothing changed.
    Stale,
    /// The payment was withdrawn ([`Change::Withdraw`]): it no longer exists.
    Withdrawn,
    /// The merchant's request count in the window after this one.
    ThrottleHits(i64),
    /// How many throttle rows were deleted.
    Pruned(u64),
}

/// What [`Advance`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advanced {
    /// The payment after the change.
    Moved(Box<Payment>),
    /// Someone else moved the payment on first: nothing changed.
    Stale,
    /// The payment was withdrawn ([`Change::Withdraw`]): it no longer exists.
    Withdrawn,
    /// No such payment.
    NotFound,
}

fn echelon_outcome(outcome: Outcome) -> CmdResult<EchelonOutcome> {
    match outcome {
        Outcome::Echelon(echelon) => Ok(echelon),
        other => unexpected(other),
    }
}

store_command!(EchelonCommand => EchelonOutcome, Command::Echelon, echelon_outcome, o => o);
// `None`: another merchant has this code; nothing changed.
store_command!(NewMerchant => Option<Merchant>, |c| Command::Echelon(EchelonCommand::CreateMerchant(c)), echelon_outcome,
    EchelonOutcome::MerchantCreated(m) => Some(*m),
    EchelonOutcome::MerchantCodeTaken => None);
// `false`: no merchant with this code.
store_command!(RotateSecret => bool, |c| Command::Echelon(EchelonCommand::RotateSecret(c)), echelon_outcome,
    EchelonOutcome::SecretRotated => true,
    EchelonOutcome::MerchantNotFound => false);
// `false`: the sandbox merchant existed already (or there is no sandbox partner).
store_command!(SeedSandboxMerchant => bool, |c| Command::Echelon(EchelonCommand::SeedSandboxMerchant(c)), echelon_outcome,
    EchelonOutcome::SandboxMerchant { created } => created);
// `None`: the merchant order id was used before; nothing changed.
store_command!(NewPayment => Option<Payment>, |c| Command::Echelon(EchelonCommand::CreatePayment(Box::new(c))), echelon_outcome,
    EchelonOutcome::PaymentCreated(p) => Some(*p),
    EchelonOutcome::Duplicate => None);
// `false`: no such payment for the merchant.
store_command!(SetExternalReference => bool, |c| Command::Echelon(EchelonCommand::SetExternalReference(c)), echelon_outcome,
    EchelonOutcome::ReferenceSet => true,
    EchelonOutcome::PaymentNotFound => false);
store_command!(Advance => Advanced, |c| Command::Echelon(EchelonCommand::Advance(c)), echelon_outcome,
    EchelonOutcome::Advanced(p) => Advanced::Moved(p),
    EchelonOutcome::Stale => Advanced::Stale,
    EchelonOutcome::Withdrawn => Advanced::Withdrawn,
    EchelonOutcome::PaymentNotFound => Advanced::NotFound);
// The merchant's request count in the window after this one.
store_command!(ThrottleHit => i64, |c| Command::Echelon(EchelonCommand::ThrottleHit(c)), echelon_outcome,
    EchelonOutcome::ThrottleHits(hits) => hits);
// How many throttle rows were deleted.
store_command!(PruneThrottle => u64, |c| Command::Echelon(EchelonCommand::PruneThrottle(c)), echelon_outcome,
    EchelonOutcome::Pruned(n) => n);

pub(super) async fn apply(db: &mut impl Conn, cmd: &EchelonCommand, now_ms: i64) -> CmdResult<Outcome> {
    let outcome = match cmd {
        EchelonCommand::CreateMerchant(m) => create_merchant(db, m, now_ms).await?,
        EchelonCommand::RotateSecret(RotateSecret { merchant_code, salt, verifier, token_key }) => {
            match ops::rotate_secret(db, merchant_code, salt, verifier, token_key.expose(), now_ms).await? {
                true => EchelonOutcome::SecretRotated,
                false => EchelonOutcome::MerchantNotFound,
            }
        }
        EchelonCommand::SeedSandboxMerchant(SeedSandboxMerchant { developer_key, merchant }) => {
            seed_sandbox(db, developer_key, merchant, now_ms).await?
        }
        EchelonCommand::CreatePayment(p) => create_payment(db, p, now_ms).await?,
        EchelonCommand::SetExternalReference(SetExternalReference { merchant_id, order_id, reference }) => {
            match ops::set_external_reference(db, *merchant_id, order_id, reference, now_ms).await? {
                true => EchelonOutcome::ReferenceSet,
                false => EchelonOutcome::PaymentNotFound,
            }
        }
        EchelonCommand::Advance(Advance { payment_id, expect_check_at_ms, change }) => {
            advance(db, *payment_id, *expect_check_at_ms, change, now_ms).await?
        }
        EchelonCommand::ThrottleHit(ThrottleHit { merchant_id, window_s }) => {
            EchelonOutcome::ThrottleHits(ops::throttle_hit(db, *merchant_id, *window_s).await?)
        }
        EchelonCommand::PruneThrottle(PruneThrottle { before_window_s }) => {
            EchelonOutcome::Pruned(ops::prune_throttle(db, *before_window_s).await?)
        }
    };
    Ok(Outcome::Echelon(outcome))
}

async fn create_merchant(db: &mut impl Conn, m: &NewMerchant, now_ms: i64) -> CmdResult<EchelonOutcome> {
    partners::by_id(db, m.partner_id).await?.ok_or(Rejection::PartnerNotFound)?;
    Ok(match ops::insert_merchant(db, m, now_ms).await? {
        Some(created) => EchelonOutcome::MerchantCreated(Box::new(created)),
        None => EchelonOutcome::MerchantCodeTaken,
    })
}

async fn seed_sandbox(db: &mut impl Conn, developer_key: &str, m: &NewMerchant, now_ms: i64) -> CmdResult<EchelonOutcome> {
    let Some(partner) = partners::by_developer_key(db, developer_key).await? else {
        return Ok(EchelonOutcome::SandboxMerchant { created: false });
    };
    let merchant = NewMerchant { partner_id: partner.id, ..m.clone() };
    let created = ops::insert_merchant(db, &merchant, now_ms).await?.is_some();
    Ok(EchelonOutcome::SandboxMerchant { created })
}

fn rail_kind(rail: &str) -> Result<AccountKind, Rejection> {
    super::AccountSpec::RailClearing { rail: rail.to_owned() }.kind()
}

async fn leg(
    db: &mut impl Conn,
    partner_id: PartnerId,
    kind: &AccountKind,
    side: Side,
    paise: i64,
    now_ms: i64,
) -> CmdResult<Leg> {
    let account_id = ledger::account(db, kind.owner(partner_id), kind, now_ms).await?;
    let amount = Paise::new(paise).ok_or_else(|| Rejection::InvalidEntry(format!("amount {paise} paise is out of range")))?;
    Ok(Leg { account_id, side, amount })
}

async fn create_payment(db: &mut impl Conn, p: &NewPayment, now_ms: i64) -> CmdResult<EchelonOutcome> {
    let Some(payment_id) = ops::insert_payment(db, p, now_ms).await? else { return Ok(EchelonOutcome::Duplicate) };
    if p.direction == Direction::Payout {
        // The amount and the fee are reserved from the wallet until the rail answers.
        let legs = vec![
            leg(db, p.partner_id, &AccountKind::PartnerWallet, Side::Debit, p.amount_paise.get() + p.fee_paise.get(), now_ms)
                .await?,
            leg(db, p.partner_id, &rail_kind(&p.rail)?, Side::Credit, p.amount_paise.get(), now_ms).await?,
            leg(db, p.partner_id, &AccountKind::FeeRevenue, Side::Credit, p.fee_paise.get(), now_ms).await?,
        ];
        let entry = Entry::new(legs).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
        let entry_id =
            ledger::record(db, p.partner_id, "echelon_payout", &p.id_payment, &entry, EntryState::Pending, now_ms).await?;
        ops::set_entry(db, payment_id, entry_id).await?;
    }
    let payment = ops::payment_by_id(db, payment_id).await?.ok_or(Rejection::EntryNotFound)?;
    if payment.status.is_final() {
        callback(db, None, &payment, now_ms).await?;
    }
    Ok(EchelonOutcome::PaymentCreated(Box::new(payment)))
}

async fn advance(
    db: &mut impl Conn,
    payment_id: i64,
    expect_check_at_ms: i64,
    change: &Change,
    now_ms: i64,
) -> CmdResult<EchelonOutcome> {
    let Some(before) = ops::payment_by_id(db, payment_id).await? else { return Ok(EchelonOutcome::PaymentNotFound) };
    if let Change::Withdraw = change {
        return withdraw(db, &before, expect_check_at_ms, now_ms).await;
    }
    let won = match change {
        Change::Recheck { check_at_ms } => ops::recheck(db, payment_id, expect_check_at_ms, *check_at_ms, now_ms).await?,
        Change::Submitted { rail, check_at_ms } => {
            ops::submitted(db, payment_id, expect_check_at_ms, rail, *check_at_ms, now_ms).await?
        }
        Change::Withdraw => unreachable!("answered above"),
        Change::Succeed { utr } => {
            ops::finish(db, payment_id, expect_check_at_ms, Status::Success, None, utr.as_deref(), now_ms).await?
        }
        Change::Fail { code, message } => {
            let failure = Some((code.as_str(), message.as_deref()));
            ops::finish(db, payment_id, expect_check_at_ms, Status::Failed, failure, None, now_ms).await?
        }
    };
    if !won {
        return Ok(EchelonOutcome::Stale);
    }
    match (change, before.direction) {
        (Change::Recheck { .. } | Change::Submitted { .. } | Change::Withdraw, _) => {}
        (Change::Succeed { .. }, Direction::Payin) => credit_payin(db, &before, now_ms).await?,
        (Change::Succeed { .. }, Direction::Payout) => resolve_payout(db, &before, EntryState::Posted, now_ms).await?,
        (Change::Fail { .. }, Direction::Payin) => {}
        (Change::Fail { .. }, Direction::Payout) => resolve_payout(db, &before, EntryState::Voided, now_ms).await?,
    }
    let after = ops::payment_by_id(db, payment_id).await?.ok_or(Rejection::EntryNotFound)?;
    if after.status != before.status {
        callback(db, Some(before.status), &after, now_ms).await?;
    }
    Ok(EchelonOutcome::Advanced(Box::new(after)))
}

/// Deletes a payout the rail refused before anyone could read it, and voids its
/// reservation; a payment moved on since it was read is left alone.
async fn withdraw(db: &mut impl Conn, p: &Payment, expect_check_at_ms: i64, now_ms: i64) -> CmdResult<EchelonOutcome> {
    if p.direction != Direction::Payout || !ops::delete_processing(db, p.id, expect_check_at_ms).await? {
        return Ok(EchelonOutcome::Stale);
    }
    if let Some(entry_id) = p.entry_id {
        ledger::resolve(db, entry_id, EntryState::Voided, now_ms).await?;
    }
    Ok(EchelonOutcome::Withdrawn)
}

/// A successful payin: the money arrived on the rail; the merchant's wallet gets it
/// minus the fee.
async fn credit_payin(db: &mut impl Conn, p: &Payment, now_ms: i64) -> CmdResult<()> {
    let net = p.amount_paise.get() - p.fee_paise.get();
    let mut legs = vec![leg(db, p.partner_id, &rail_kind(&p.rail)?, Side::Debit, p.amount_paise.get(), now_ms).await?];
    if net > 0 {
        legs.push(leg(db, p.partner_id, &AccountKind::PartnerWallet, Side::Credit, net, now_ms).await?);
    }
    legs.push(
        leg(db, p.partner_id, &AccountKind::FeeRevenue, Side::Credit, p.fee_paise.min(p.amount_paise).get(), now_ms).await?,
    );
    let entry = Entry::new(legs).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
    let entry_id = ledger::record(db, p.partner_id, "echelon_payin", &p.id_payment, &entry, EntryState::Posted, now_ms).await?;
    ops::set_entry(db, p.id, entry_id).await?;
    Ok(())
}

async fn resolve_payout(db: &mut impl Conn, p: &Payment, to: EntryState, now_ms: i64) -> CmdResult<()> {
    let entry_id = p.entry_id.ok_or(Rejection::EntryNotFound)?;
    ledger::resolve(db, entry_id, to, now_ms).await
}

/// The status change, when the payment has a callback URL; the Echelon dialect renders
/// the (anemic) callback body from it at delivery.
async fn callback(db: &mut impl Conn, old_status: Option<Status>, p: &Payment, now_ms: i64) -> CmdResult<()> {
    if let Some(url) = &p.callback_url {
        let event = Event::PaymentStatusChanged(PaymentStatusChanged {
            direction: p.direction,
            order_id: p.order_id.clone(),
            payment_ref: p.id_payment.clone(),
            old_status,
            status: p.status,
            amount: p.amount_paise,
            fee: p.fee_paise,
            notify_url: url.clone(),
        });
        outbox::append_event(db, p.partner_id, &event, now_ms).await?;
    }
    Ok(())
}
