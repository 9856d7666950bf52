//! Commands of Token cash collection: issue a token, pay it at an agent.
//!
//! Paying moves money in one balanced entry: the paying agent's partner's e-value
//! wallet is debited (the agent took the cash on the platform's behalf) and the issuing
//! partner's wallet is credited (the seed: "the same amount will be credited in the
//! partner enterprise account"). The same transaction queues the `token.ack` outbox
//! event that acknowledges the payment to the issuer.

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, CommandError, Rejection};
use crate::ops::ledger;
use crate::ops::tokens::{self as ops, NewToken, Payment, Token};
use crate::ops::{agents, outbox, partners};
use crate::sql::Conn;
use kosh_core::events::{Event, TokenPaid};
use kosh_core::ids::PartnerId;
use kosh_core::ledger::{AccountKind, Balance, Entry, EntryState};
use kosh_core::money::Paise;
use kosh_core::token::TokenRejection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The counter token payment tids come from.
const TID_COUNTER: &str = "token_tid";

/// A command of token cash collection: issuing a token and paying it. Each variant
/// wraps its own command type (serialised as the struct variant it was before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenCommand {
    /// Issues a token for a partner.
    Create(CreateToken),
    /// Pays a token from another partner's wallet.
    Pay(PayToken),
}

/// Issues a token for a partner; answers the token as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateToken {
    /// The issuing partner.
    pub partner_id: PartnerId,
    /// The token's details.
    pub token: NewToken,
}

/// Pays a token from another partner's wallet; answers the paid token and the payer's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayToken {
    /// The token number.
    pub token: String,
    /// Who pays, and what the issuer's Fetch Details said.
    pub payment: Payment,
}

/// What [`PayToken`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPayment {
    /// The token, now paid.
    pub token: Token,
    /// The paying partner's wallet after the payment.
    pub payer_wallet: Balance,
}

fn token_outcome(outcome: Outcome) -> CmdResult<TokenOutcome> {
    match outcome {
        Outcome::Token(t) => Ok(*t),
        other => unexpected(other),
    }
}

store_command!(TokenCommand => TokenOutcome, Command::Token, token_outcome, t => t);
store_command!(CreateToken => Token, |c| Command::Token(TokenCommand::Create(c)), token_outcome,
    TokenOutcome::Created(t) => t);
store_command!(PayToken => TokenPayment, |c| Command::Token(TokenCommand::Pay(c)), token_outcome,
    TokenOutcome::Paid { token, payer_wallet } => TokenPayment { token, payer_wallet });

impl TokenCommand {
    /// The fields the partner sent, where the command carries more (see
    /// [`super::Command::fingerprint_fields`]): a payment's amount, name and mobile come
    /// from the issuer's Fetch Details answer, not from the paying partner, so a retry is
    /// the same payment even when that answer changed meanwhile. A new token is exactly
    /// what its issuer sent: `None`, covered whole.
    pub fn fingerprint_fields(&self) -> Option<Value> {
        let TokenCommand::Pay(PayToken { token, payment }) = self else { return None };
        let Payment { payer_partner_id, user_code, pay_client_ref_id, amount_paise: _, customer_name: _, customer_mobile: _ } =
            payment;
        Some(json!({
            "token": token,
            "payer_partner_id": payer_partner_id,
            "user_code": user_code,
            "pay_client_ref_id": pay_client_ref_id,
        }))
    }
}

/// What a [`TokenCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenOutcome {
    /// The token, as issued.
    Created(Token),
    /// `payer_wallet`: the paying partner's wallet after the payment.
    Paid {
        /// The token, now paid.
        token: Token,
        /// The paying partner's wallet after the payment.
        payer_wallet: Balance,
    },
}

/// Runs a token command inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &TokenCommand, now_ms: i64) -> CmdResult<TokenOutcome> {
    match cmd {
        TokenCommand::Create(CreateToken { partner_id, token }) => {
            partners::by_id(db, *partner_id).await?.ok_or(CommandError::Rejected(Rejection::PartnerNotFound))?;
            check_new(token, now_ms)?;
            Ok(TokenOutcome::Created(ops::insert(db, *partner_id, token, now_ms).await?))
        }
        TokenCommand::Pay(PayToken { token, payment }) => pay(db, token, payment, now_ms).await,
    }
}

fn check_new(t: &NewToken, now_ms: i64) -> Result<(), Rejection> {
    if t.amount_paise.is_zero() {
        return Err(Rejection::Token(TokenRejection::Invalid("the amount must be positive".into())));
    }
    if t.expires_at_ms <= now_ms {
        return Err(Rejection::Token(TokenRejection::Invalid("the expiry is in the past".into())));
    }
    Ok(())
}

async fn pay(db: &mut impl Conn, number: &str, p: &Payment, now_ms: i64) -> CmdResult<TokenOutcome> {
    agents::get(db, p.payer_partner_id, p.user_code).await?.ok_or(Rejection::AgentNotFound)?;
    let token = ops::by_number(db, number).await?.ok_or(Rejection::Token(TokenRejection::NotFound))?;
    refuse_unpayable(&token, now_ms)?;
    let amount = Some(p.amount_paise)
        .filter(|a| !a.is_zero())
        .ok_or_else(|| Rejection::Token(TokenRejection::Invalid("the amount to collect must be positive".into())))?;
    let payer = ledger::account(db, p.payer_partner_id.get(), &AccountKind::PartnerWallet, now_ms).await?;
    let issuer = ledger::account(db, token.partner_id.get(), &AccountKind::PartnerWallet, now_ms).await?;
    let tid = agents::next_counter(db, TID_COUNTER).await?.to_string();
    let entry = Entry::transfer(payer, issuer, amount).map_err(|e| Rejection::InvalidEntry(e.to_string()))?;
    let entry_id = ledger::record(db, p.payer_partner_id, "token_payment", &tid, &entry, EntryState::Posted, now_ms).await?;
    if !ops::mark_paid(db, token.id, p, &tid, entry_id, now_ms).await? {
        // A concurrent payment committed first (or the token just expired).
        let now = ops::by_number(db, number).await?.ok_or(Rejection::Token(TokenRejection::NotFound))?;
        refuse_unpayable(&now, now_ms)?;
        return Err(Rejection::Token(TokenRejection::Expired).into());
    }
    outbox::append_event(db, token.partner_id, &paid_event(&token, p, amount, tid), now_ms).await?;
    let paid = ops::by_number(db, number).await?.ok_or(Rejection::Token(TokenRejection::NotFound))?;
    let balance = ledger::balance(db, payer).await?;
    Ok(TokenOutcome::Paid { token: paid, payer_wallet: balance })
}

fn refuse_unpayable(token: &Token, now_ms: i64) -> Result<(), Rejection> {
    match token.state_at(now_ms) {
        "generated" => Ok(()),
        "expired" => Err(Rejection::Token(TokenRejection::Expired)),
        _ => Err(Rejection::Token(TokenRejection::AlreadyPaid { tid: token.tid.clone().unwrap_or_default() })),
    }
}

/// The payment as the outbox stores it; the Eko dialect renders the acknowledgement
/// body from it at delivery.
fn paid_event(token: &Token, p: &Payment, amount: Paise, tid: String) -> Event {
    Event::TokenPaid(TokenPaid {
        token: token.token.clone(),
        partner_reference: token.client_ref_id.clone(),
        customer: token.customer_id.clone(),
        customer_name: p.customer_name.clone(),
        amount,
        tid,
    })
}
