//! Token cash collection (v3 only: `/ekoapi/v3`, `/ekoicici/v3`).
//!
//! | endpoint | who | outcome | status | response_type_id |
//! |---|---|---|---|---|
//! | `POST /customer/payment/token` | issuing partner | token generated (same `client_ref_id` and request again: the same token) | 0 | 2201 |
//! | `GET /customer/payment/token/{token}` or `…/client_ref_id:{ref}` | issuing partner | the token and its state | 0 | 2203 |
//! | `POST /customer/payment/token/{token}/pay` | any partner, for one of its agents (`user_code`) | cash collected; tid | 0 | 2202 |
//! | any | | unknown token | 1 | -1 "Token not found" |
//! | pay | | expired / already paid | 1 | -1 |
//! | pay | | issuer's Fetch Details refused or failed | 1 | -1 |
//! | pay | | paying partner's wallet too low | 347 | -1 |
//! | pay | | `client_ref_id` used by another request (token, agent, or an AePS transaction) | 1 | -1 "Duplicate client_ref_id" |
//!
//! The response_type_ids are Kosh's choice: the vendor documents none for Token.
//! Paying: when the issuer configured a `token_fetch` URL, Kosh first calls
//! `GET {url}?client_ref_id=…` (Basic auth, JSON) and collects the amount, customer
//! name and mobile it answers; then one ledger entry debits the paying partner's
//! e-value wallet and credits the issuer's, and a `token.ack` callback is queued.

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::store_error;
use crate::service::token::{self as service, positive_rupees, Paid, PayError, PayRequest, MAX_NAME_CHARS};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::civil::{self, Date, IST_OFFSET_MS};
use kosh_core::ids::PartnerId;
use kosh_core::money::Paise;
use kosh_core::token::TokenRejection;
use kosh_core::validate::{self, ClientRefId, Email, Mobile, Text};
use kosh_store::commands::tokens::CreateToken;
use kosh_store::commands::IdemKey;
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::tokens::{NewToken, Token};
use kosh_store::scopes;
use serde_json::{json, Value};

const RT_GENERATED: i64 = 2201;
const RT_PAID: i64 = 2202;
const RT_INQUIRY: i64 = 2203;
/// Longest product code, label.
const MAX_CODE_CHARS: usize = 32;
/// Longest `display_items` JSON, in bytes.
const MAX_DISPLAY_ITEMS_BYTES: usize = 4096;
/// Longest a token may live: 90 days.
const MAX_LIFETIME_MS: i64 = 90 * 86_400_000;

/// `yyyy-MM-dd HH:mm:ss` in India Standard Time, as the platform writes times.
pub fn parse_ist_datetime(text: &str) -> Result<i64, &'static str> {
    const FORMAT: &str = "must be yyyy-MM-dd HH:mm:ss (IST)";
    let (date, time) = text.trim().split_once(' ').ok_or(FORMAT)?;
    let date = Date::parse_iso(date).ok_or(FORMAT)?;
    let parts: Vec<&str> = time.split(':').collect();
    let [h, m, s] = parts.as_slice() else { return Err(FORMAT) };
    let num = |p: &str, max: i64| p.parse::<i64>().ok().filter(|v| p.len() == 2 && (0..=max).contains(v)).ok_or(FORMAT);
    let secs = num(h, 23)? * 3600 + num(m, 59)? * 60 + num(s, 59)?;
    Ok(date.to_days() * 86_400_000 + secs * 1000 - IST_OFFSET_MS)
}

/// The amount: `total.amount.value` (the catalogue's shape), or a plain `amount`.
fn parse_total(params: &EkoParams) -> Option<Result<(Paise, String), &'static str>> {
    if let Some(total) = params.get("total") {
        let parsed = serde_json::from_str::<Value>(total).ok().and_then(|t| {
            let value = match &t["amount"]["value"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let currency = t["amount"]["currency"].as_str().unwrap_or("INR");
            (currency == "INR").then(|| (value, t["label"].as_str().unwrap_or("").to_owned()))
        });
        return Some(match parsed {
            Some((value, label)) => positive_rupees(&value).map(|p| (p, label)),
            None => Err("must be {\"label\": …, \"amount\": {\"currency\": \"INR\", \"value\": \"1500.00\"}}"),
        });
    }
    params.get("amount").map(|a| positive_rupees(a).map(|p| (p, String::new())))
}

fn parse_new(params: &EkoParams, auth: &Authenticated, now_ms: i64) -> Result<NewToken, EkoReply> {
    let mut c = super::checker(params, auth)?;
    let client_ref_id = c.required(params, "client_ref_id", ClientRefId::parse);
    let customer_id = c.required(params, "customer_id", Mobile::parse);
    let customer_name = c.required(params, "customer_name", |t| Text::parse(t, MAX_NAME_CHARS));
    let product_code = c.optional(params, "product_code", |t| Text::parse(t, MAX_CODE_CHARS));
    let email = c.optional(params, "email", Email::parse);
    let expiry = c.required(params, "expiry", |t| {
        let at = parse_ist_datetime(t)?;
        match at - now_ms {
            d if d <= 0 => Err("is in the past"),
            d if d > MAX_LIFETIME_MS => Err("is more than 90 days away"),
            _ => Ok(at),
        }
    });
    let total = match parse_total(params) {
        None => {
            c.fail("total", super::envelope::MISSING);
            None
        }
        Some(Err(m)) => {
            c.fail("total", m);
            None
        }
        Some(Ok(total)) => Some(total),
    };
    let display_items = c.optional(params, "display_items", |t| {
        let ok = t.len() <= MAX_DISPLAY_ITEMS_BYTES && serde_json::from_str::<Value>(t).is_ok_and(|v| v.is_array());
        ok.then(|| t.to_owned()).ok_or("must be a JSON array of at most 4096 bytes")
    });
    let required = (client_ref_id, customer_id, customer_name, expiry, total);
    c.finish()?;
    let (Some(client_ref_id), Some(customer_id), Some(customer_name), Some(expires_at_ms), Some((amount, label))) = required
    else {
        unreachable!("the checker fails when a required field is missing or bad")
    };
    Ok(NewToken {
        client_ref_id: client_ref_id.as_str().into(),
        product_code: product_code.map_or_else(String::new, |p| p.as_str().into()),
        customer_id: customer_id.as_str().into(),
        customer_name: customer_name.as_str().into(),
        email: email.map_or_else(String::new, |e| e.as_str().into()),
        amount_paise: amount,
        label,
        display_items: display_items.unwrap_or_else(|| "[]".into()),
        expires_at_ms,
    })
}

fn rupees(paise: i64) -> String {
    Paise::new(paise).map_or_else(|| paise.to_string(), Paise::to_rupees_string)
}

/// A token as its issuer sees it.
fn token_json(t: &Token, now_ms: i64) -> Value {
    let mut data = json!({
        "token": t.token,
        "client_ref_id": t.client_ref_id,
        "token_status": t.state_at(now_ms),
        "amount": rupees(t.amount_paise.get()),
        "customer_id": t.customer_id,
        "customer_name": t.customer_name,
        "product_code": t.product_code,
        "expiry": civil::ist_datetime(t.expires_at_ms),
    });
    if let (Some(p), Some(tid), Some(paid_at)) = (&t.payment, &t.tid, t.paid_at_ms) {
        data["tid"] = json!(tid);
        data["paid_amount"] = json!(rupees(p.amount_paise.get()));
        data["paid_customer_name"] = json!(p.customer_name);
        data["paid_at"] = json!(civil::ist_datetime(paid_at));
    }
    if let Some(at) = t.acknowledged_at_ms {
        data["partner_tid"] = json!(t.partner_tid);
        data["acknowledged_at"] = json!(civil::ist_datetime(at));
    }
    data
}

/// `POST /customer/payment/token`: issues a token for a customer to pay in cash.
pub async fn generate(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let token = parse_new(&params, &auth, app.now_ms())?;
    let key = IdemKey { partner_id: auth.partner.id, scope: scopes::EKO_TOKEN.into(), key: token.client_ref_id.clone() };
    let cmd = CreateToken { partner_id: auth.partner.id, token };
    let executed = app.store.execute_idempotent(key, cmd).await.map_err(|e| match e.rejection() {
        Some(Rejection::IdempotencyConflict) => EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id")
            .with_hint("this client_ref_id was used for a different token; use a new client_ref_id for a new token"),
        Some(r @ Rejection::Token(TokenRejection::Invalid(_))) => EkoReply::failure(status::FAILED, -1, r.to_string()),
        _ => store_error(e),
    })?;
    Ok(EkoReply::ok_transaction(RT_GENERATED, "Token generated successfully", token_json(&executed.outcome, app.now_ms())))
}

/// `GET /customer/payment/token/{token}` (or `client_ref_id:{ref}`): the issuer's inquiry.
pub async fn inquiry(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    super::check_initiator(&params, &auth)?;
    let found = match segment.strip_prefix("client_ref_id:") {
        Some(reference) => app.store.token_by_client_ref_id(auth.partner.id, reference).await,
        None => app.store.token_by_number(&segment).await,
    }
    .map_err(store_error)?;
    let token = found.filter(|t| t.partner_id == auth.partner.id).ok_or_else(|| token_not_found(&segment))?;
    Ok(EkoReply::ok(RT_INQUIRY, "Token details", token_json(&token, app.now_ms())))
}

fn token_not_found(what: &str) -> EkoReply {
    EkoReply::failure(status::FAILED, -1, "Token not found")
        .with_hint(format!("no token {what} exists (an issuer's inquiry sees only its own tokens)"))
}

/// `POST /customer/payment/token/{token}/pay`: an agent collects the token's amount in
/// cash. Params: `initiator_id`, `user_code` (the agent), `client_ref_id` (the paying
/// partner's reference: an idempotency key in the scope of every Eko `client_ref_id`
/// of that partner, AePS's included). The same request again answers the same
/// payment; the reference with another token, agent or product is "Duplicate
/// client_ref_id".
pub async fn pay(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(number): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let mut c = super::checker(&params, &auth)?;
    let user_code = c.required(&params, "user_code", validate::parse_user_code);
    let reference = c.required(&params, "client_ref_id", ClientRefId::parse);
    c.finish()?;
    let (Some(user_code), Some(reference)) = (user_code, reference) else { unreachable!("checked above") };
    let request =
        PayRequest { number: number.trim(), payer_partner_id: auth.partner.id, user_code, reference: reference.as_str() };
    match service::pay(&app, &request).await {
        Ok(Paid { token, replayed: true }) => replayed(&app, &token).await,
        Ok(Paid { token, replayed: false }) => paid_reply(&app, &token, auth.partner.id).await,
        Err(e) => Err(pay_refusal(e, &number)),
    }
}

fn pay_refusal(e: PayError, number: &str) -> EkoReply {
    match e {
        PayError::TokenNotFound => token_not_found(number),
        PayError::Duplicate => duplicate_reference(),
        PayError::Expired(token) => expired(&token),
        PayError::AlreadyPaid { tid } => already_paid(&tid),
        PayError::UserNotFound { user_code } => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found")
            .with_hint(format!("user_code {user_code} is not one of your agents")),
        PayError::FetchRefused(why) => {
            EkoReply::failure(status::FAILED, -1, format!("Token details could not be fetched from the issuing partner: {why}"))
                .with_hint("the payment was not made; nothing was debited")
        }
        PayError::Refused(e, token) => pay_error(e, &token),
        PayError::Store(e) => store_error(e),
    }
}

async fn replayed(app: &AppState, token: &Token) -> EkoResult {
    let payer = token.payment.as_ref().map_or(PartnerId::new(0), |p| p.payer_partner_id);
    Ok(paid_reply(app, token, payer).await?.with_hint("this payment was made before; nothing was debited again"))
}

fn duplicate_reference() -> EkoReply {
    EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id").with_hint(
        "this client_ref_id was already used for a different transaction (another token, agent or product); send a new one \
         for each payment (a retry of the same request answers the first result)",
    )
}

fn expired(token: &Token) -> EkoReply {
    EkoReply::failure(status::FAILED, -1, "Token has expired").with_hint(format!(
        "token {} expired at {} IST; the customer needs a new token",
        token.token,
        civil::ist_datetime(token.expires_at_ms)
    ))
}

fn already_paid(tid: &str) -> EkoReply {
    EkoReply::failure(status::FAILED, -1, "Token already paid")
        .with_data(json!({ "tid": tid }))
        .with_hint("a token is paid once; data.tid is the payment")
}

fn pay_error(e: CommandError, token: &Token) -> EkoReply {
    match e.rejection() {
        Some(Rejection::InsufficientFunds { available_paise }) => {
            EkoReply::failure(status::INSUFFICIENT_BALANCE, -1, "Insufficient balance")
                .with_hint(format!("your e-value wallet has ₹{} available; load e-value first", rupees(*available_paise)))
        }
        Some(Rejection::Token(TokenRejection::Expired)) => expired(token),
        Some(Rejection::Token(TokenRejection::AlreadyPaid { tid })) => already_paid(tid),
        Some(Rejection::AgentNotFound) => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found"),
        Some(r @ Rejection::Token(TokenRejection::Invalid(_))) => EkoReply::failure(status::FAILED, -1, r.to_string()),
        _ => store_error(e),
    }
}

async fn paid_reply(app: &AppState, token: &Token, payer_partner_id: PartnerId) -> EkoResult {
    let Some(p) = &token.payment else { return Err(store_error("a paid token without its payment")) };
    let wallet =
        app.store.balance(payer_partner_id, &kosh_core::ledger::AccountKind::PartnerWallet).await.map_err(store_error)?;
    let data = json!({
        "tx_status": "0",
        "txstatus_desc": "Success",
        "tid": token.tid,
        "token": token.token,
        "client_ref_id": p.pay_client_ref_id,
        "amount": rupees(p.amount_paise.get()),
        "customer_name": p.customer_name,
        "customer_mobile": p.customer_mobile,
        "user_code": p.user_code.to_string(),
        "balance": rupees(wallet.available_credit()),
        "timestamp": token.paid_at_ms.map(civil::ist_datetime),
    });
    Ok(EkoReply::ok_transaction(RT_PAID, "Token payment successful", data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_in_ist() {
        assert_eq!(parse_ist_datetime("2023-11-15 03:43:20"), Ok(1_700_000_000_000));
        assert!(parse_ist_datetime("2023-11-15T03:43:20").is_err());
        assert!(parse_ist_datetime("2023-11-15 24:00:00").is_err());
        assert!(parse_ist_datetime("2023-02-30 10:00:00").is_err());
    }
}
