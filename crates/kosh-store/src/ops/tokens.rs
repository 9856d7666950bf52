//! Token cash collection: a partner issues a token for an amount; the customer pays it
//! in cash at any agent; the partner is acknowledged. States: `generated` → `paid` →
//! `acknowledged`; a generated token past its expiry reads as `expired`.

use crate::error::{CmdResult, Rejection};
use crate::sql::{Conn, Row, SqlError};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::money::Paise;
use serde::{Deserialize, Serialize};

/// Digits in a token number (the seed's example has 15).
pub const TOKEN_DIGITS: u32 = 15;
/// Tries at drawing an unused token number before giving up.
const MAX_NUMBER_TRIES: u32 = 8;

/// A token as the issuing partner asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    /// The issuer's unique reference for the token.
    pub client_ref_id: String,
    /// The issuer's product code for what is paid for.
    pub product_code: String,
    /// The customer's mobile number.
    pub customer_id: String,
    /// The customer's name.
    pub customer_name: String,
    /// The customer's e-mail address; empty when not given.
    pub email: String,
    /// What the token collects, in paise.
    pub amount_paise: Paise,
    /// A short description shown to the paying agent.
    pub label: String,
    /// `display_items` as the partner sent them (JSON array text).
    pub display_items: String,
    /// When the token can no longer be paid.
    pub expires_at_ms: i64,
}

/// What the paying side learnt before paying (the issuer's Fetch Details answer, or
/// the token itself when the issuer exposes none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The partner whose agent collected the cash; its wallet pays.
    pub payer_partner_id: PartnerId,
    /// The paying partner's agent.
    pub user_code: UserCode,
    /// The paying partner's unique reference for the payment.
    pub pay_client_ref_id: String,
    /// The amount paid, in paise (from the issuer's answer).
    pub amount_paise: Paise,
    /// The customer's name (from the issuer's answer).
    pub customer_name: String,
    /// The customer's mobile number (from the issuer's answer).
    pub customer_mobile: String,
}

/// A token as stored: what it collects, and its payment once paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Kosh's id for the token.
    pub id: i64,
    /// The issuing partner, whose wallet is credited.
    pub partner_id: PartnerId,
    /// The issuer's unique reference.
    pub client_ref_id: String,
    /// The token number the customer brings to an agent (15 digits, unique).
    pub token: String,
    /// The issuer's product code.
    pub product_code: String,
    /// The customer's mobile number.
    pub customer_id: String,
    /// The customer's name.
    pub customer_name: String,
    /// The customer's e-mail address; empty when not given.
    pub email: String,
    /// What the token collects, in paise.
    pub amount_paise: Paise,
    /// A short description shown to the paying agent.
    pub label: String,
    /// `display_items` as the issuer sent them (JSON array text).
    pub display_items: String,
    /// When the token can no longer be paid.
    pub expires_at_ms: i64,
    /// As stored: `generated`, `paid` or `acknowledged` (see [`Token::state_at`]).
    pub state: String,
    /// The payment's transaction id, once paid.
    pub tid: Option<String>,
    /// Who paid and what, once paid.
    pub payment: Option<Payment>,
    /// The ledger entry of the payment, once paid.
    pub entry_id: Option<i64>,
    /// When it was paid.
    pub paid_at_ms: Option<i64>,
    /// The issuer's own reference from its acknowledgement.
    pub partner_tid: Option<String>,
    /// When the issuer acknowledged the payment.
    pub acknowledged_at_ms: Option<i64>,
    /// When the row was created (ms since the epoch, by the store's clock).
    pub created_at_ms: i64,
}

impl Token {
    /// The state as of `now_ms`: a generated token past its expiry is `expired`.
    pub fn state_at(&self, now_ms: i64) -> &str {
        if self.state == "generated" && now_ms >= self.expires_at_ms {
            "expired"
        } else {
            &self.state
        }
    }
}

fn from_row(r: &Row) -> Result<Token, SqlError> {
    let payment = match r.opt_id("paid_by_partner_id")? {
        Some(payer_partner_id) => Some(Payment {
            payer_partner_id,
            user_code: r.id("paid_by_user_code")?,
            pay_client_ref_id: r.text("pay_client_ref_id")?,
            amount_paise: r.paise("paid_amount")?,
            customer_name: r.text("paid_customer_name")?,
            customer_mobile: r.text("paid_customer_mobile")?,
        }),
        None => None,
    };
    Ok(Token {
        id: r.int("id")?,
        partner_id: r.id("partner_id")?,
        client_ref_id: r.text("client_ref_id")?,
        token: r.text("token")?,
        product_code: r.text("product_code")?,
        customer_id: r.text("customer_id")?,
        customer_name: r.text("customer_name")?,
        email: r.text("email")?,
        amount_paise: r.paise("amount")?,
        label: r.text("label")?,
        display_items: r.text("display_items")?,
        expires_at_ms: r.int("expires_at_ms")?,
        state: r.text("state")?,
        tid: r.opt_text("tid")?,
        payment,
        entry_id: r.opt_int("entry_id")?,
        paid_at_ms: r.opt_int("paid_at_ms")?,
        partner_tid: r.opt_text("partner_tid")?,
        acknowledged_at_ms: r.opt_int("acknowledged_at_ms")?,
        created_at_ms: r.int("created_at_ms")?,
    })
}

macro_rules! select_token {
    ($where:literal) => {
        concat!(
            "SELECT id, partner_id, client_ref_id, token, product_code, customer_id, customer_name, email, \
             amount, label, display_items, expires_at_ms, state, tid, paid_amount, paid_customer_name, paid_customer_mobile, \
             paid_by_partner_id, paid_by_user_code, pay_client_ref_id, entry_id, paid_at_ms, partner_tid, acknowledged_at_ms, \
             created_at_ms FROM tokens WHERE ",
            $where
        )
    };
}

/// The token with this number.
pub async fn by_number(db: &mut impl Conn, token: &str) -> Result<Option<Token>, SqlError> {
    db.query_opt(select_token!("token = $1"), &[token.into()]).await?.as_ref().map(from_row).transpose()
}

/// The partner's token with this `client_ref_id`.
pub async fn by_client_ref_id(db: &mut impl Conn, partner_id: PartnerId, client_ref_id: &str) -> Result<Option<Token>, SqlError> {
    db.query_opt(select_token!("partner_id = $1 AND client_ref_id = $2"), &[partner_id.into(), client_ref_id.into()])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A random token number: [`TOKEN_DIGITS`] digits, never starting with 0.
fn draw_number() -> String {
    use kosh_core::secret::new_otp;
    let first = 1 + new_otp(4).parse::<u16>().expect("digits") % 9;
    let number = format!("{first}{}{}", new_otp(7), new_otp(7));
    debug_assert_eq!(number.len(), TOKEN_DIGITS as usize);
    number
}

/// Issues a token with a fresh unique number.
pub async fn insert(db: &mut impl Conn, partner_id: PartnerId, t: &NewToken, now_ms: i64) -> CmdResult<Token> {
    if by_client_ref_id(db, partner_id, &t.client_ref_id).await?.is_some() {
        return Err(Rejection::IdempotencyConflict.into());
    }
    let mut number = draw_number();
    let mut tries = 1;
    while by_number(db, &number).await?.is_some() {
        if tries == MAX_NUMBER_TRIES {
            return Err(SqlError::Other("could not draw an unused token number".into()).into());
        }
        tries += 1;
        number = draw_number();
    }
    db.exec(
        "INSERT INTO tokens (partner_id, client_ref_id, token, product_code, customer_id, customer_name, email, amount, \
           label, display_items, expires_at_ms, state, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'generated', $12)",
        &[
            partner_id.into(),
            (&t.client_ref_id).into(),
            (&number).into(),
            (&t.product_code).into(),
            (&t.customer_id).into(),
            (&t.customer_name).into(),
            (&t.email).into(),
            t.amount_paise.into(),
            (&t.label).into(),
            (&t.display_items).into(),
            t.expires_at_ms.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(by_number(db, &number).await?.ok_or_else(|| SqlError::Decode("inserted token vanished".into()))?)
}

/// Marks a generated, unexpired token paid; answers false when it no longer is one
/// (a concurrent payment won, or it expired).
pub async fn mark_paid(
    db: &mut impl Conn,
    id: i64,
    p: &Payment,
    tid: &str,
    entry_id: i64,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE tokens SET state = 'paid', tid = $2, paid_amount = $3, paid_customer_name = $4, \
               paid_customer_mobile = $5, paid_by_partner_id = $6, paid_by_user_code = $7, pay_client_ref_id = $8, \
               entry_id = $9, paid_at_ms = $10 \
             WHERE id = $1 AND state = 'generated' AND expires_at_ms > $10",
            &[
                id.into(),
                tid.into(),
                p.amount_paise.into(),
                (&p.customer_name).into(),
                (&p.customer_mobile).into(),
                p.payer_partner_id.into(),
                p.user_code.into(),
                (&p.pay_client_ref_id).into(),
                entry_id.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Records the issuer's acknowledgement of a paid token.
pub async fn acknowledge(
    db: &mut impl Conn,
    partner_id: PartnerId,
    token: &str,
    partner_tid: Option<&str>,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let changed = db
        .exec(
            "UPDATE tokens SET state = 'acknowledged', partner_tid = $3, acknowledged_at_ms = $4 \
             WHERE partner_id = $1 AND token = $2 AND state = 'paid'",
            &[partner_id.into(), token.into(), partner_tid.into(), now_ms.into()],
        )
        .await?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_numbers_are_fifteen_digits_without_a_leading_zero() {
        for _ in 0..1000 {
            let n = super::draw_number();
            assert_eq!(n.len(), 15, "{n}");
            assert!(n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'), "{n}");
        }
    }
}
