//! Token payments: the checks that settle a request before the issuer is asked
//! (replay, a reference already taken, an unpayable token, an unknown agent) → the
//! issuer's Fetch Details (outbound HTTP) → one command that claims the reference and
//! moves the money. Nothing is recorded before the Fetch Details call, so a request
//! that dies there leaves nothing to finish: its retry starts again.

use crate::state::AppState;
use crate::workers::outbound::Request;
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::money::Paise;
use kosh_core::secret::Secret;
use kosh_core::validate::{Mobile, Text};
use kosh_store::commands::tokens::PayToken;
use kosh_store::commands::IdemKey;
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::tokens::{Payment, Token};
use kosh_store::scopes;
use serde_json::Value;

/// Longest customer name.
pub const MAX_NAME_CHARS: usize = 100;

/// What identifies one payment request: the token, who pays, by which agent, under
/// which reference.
pub struct PayRequest<'a> {
    /// The token's number, as the path named it.
    pub number: &'a str,
    /// The paying partner.
    pub payer_partner_id: PartnerId,
    /// The paying partner's agent.
    pub user_code: UserCode,
    /// The paying partner's `client_ref_id`.
    pub reference: &'a str,
}

impl PayRequest<'_> {
    /// Whether this request paid `token` (a replay).
    fn made(&self, token: &Token) -> bool {
        token.payment.as_ref().is_some_and(|p| {
            p.payer_partner_id == self.payer_partner_id && p.user_code == self.user_code && p.pay_client_ref_id == self.reference
        })
    }
}

/// A paid token; `replayed` when this very request had paid it before.
pub struct Paid {
    pub token: Token,
    pub replayed: bool,
}

/// Why a token was not paid (nothing was debited).
#[derive(Debug)]
pub enum PayError {
    TokenNotFound,
    /// The reference was used by another request.
    Duplicate,
    Expired(Box<Token>),
    AlreadyPaid {
        tid: String,
    },
    UserNotFound {
        user_code: UserCode,
    },
    /// The issuer's Fetch Details refused or failed: why.
    FetchRefused(String),
    /// The payment command was refused, with the token as it was read.
    Refused(CommandError, Box<Token>),
    Store(String),
}

fn store(e: impl std::fmt::Display) -> PayError {
    PayError::Store(e.to_string())
}

/// Pays a token: the same request again answers the same payment.
pub async fn pay(app: &AppState, request: &PayRequest<'_>) -> Result<Paid, PayError> {
    let token = app.store.token_by_number(request.number).await.map_err(store)?.ok_or(PayError::TokenNotFound)?;
    if request.made(&token) {
        return Ok(Paid { token, replayed: true });
    }
    let key =
        IdemKey { partner_id: request.payer_partner_id, scope: scopes::EKO_CLIENT_REF.into(), key: request.reference.into() };
    // Settled before asking the issuer anything: a duplicate of this request that
    // committed meanwhile, or another request's reference.
    if app.store.idempotency_key_used(&key).await.map_err(store)? {
        return replay_or_duplicate(app, request, &token.token).await;
    }
    refuse_unpayable(&token, app.now_ms())?;
    if app.store.agent(request.payer_partner_id, request.user_code).await.map_err(store)?.is_none() {
        return Err(PayError::UserNotFound { user_code: request.user_code });
    }
    let (amount_paise, customer_name, customer_mobile) = details(app, &token).await?;
    let payment = Payment {
        payer_partner_id: request.payer_partner_id,
        user_code: request.user_code,
        pay_client_ref_id: request.reference.into(),
        amount_paise,
        customer_name,
        customer_mobile,
    };
    let cmd = PayToken { token: token.token.clone(), payment };
    match app.store.execute_idempotent(key, cmd).await {
        Ok(executed) => Ok(Paid { token: executed.outcome.token, replayed: executed.replayed }),
        // A duplicate that raced this one committed first (its Fetch Details answer
        // may have differed), or another request took the reference meanwhile.
        Err(e) if matches!(e.rejection(), Some(Rejection::IdempotencyConflict)) => {
            replay_or_duplicate(app, request, &token.token).await
        }
        Err(e) => Err(PayError::Refused(e, Box::new(token))),
    }
}

/// The reference is taken: the payment when this very request made it (the idempotency
/// record and the payment commit together, so it is visible now), else a refusal.
async fn replay_or_duplicate(app: &AppState, request: &PayRequest<'_>, number: &str) -> Result<Paid, PayError> {
    let now = app.store.token_by_number(number).await.map_err(store)?;
    match now.filter(|t| request.made(t)) {
        Some(paid) => Ok(Paid { token: paid, replayed: true }),
        None => Err(PayError::Duplicate),
    }
}

fn refuse_unpayable(token: &Token, now_ms: i64) -> Result<(), PayError> {
    match token.state_at(now_ms) {
        "generated" => Ok(()),
        "expired" => Err(PayError::Expired(Box::new(token.clone()))),
        _ => Err(PayError::AlreadyPaid { tid: token.tid.clone().unwrap_or_default() }),
    }
}

/// What the paying side knows before paying: the issuer's Fetch Details answer, or the
/// token's own details when the issuer exposes no Fetch Details API.
async fn details(app: &AppState, token: &Token) -> Result<(Paise, String, String), PayError> {
    let endpoint = app.store.callback_endpoint(token.partner_id, "token_fetch").await.map_err(store)?;
    let Some(endpoint) = endpoint else {
        return Ok((token.amount_paise, token.customer_name.clone(), token.customer_id.clone()));
    };
    let separator = if endpoint.url.contains('?') { '&' } else { '?' };
    let query: String = serde_urlencoded::to_string([("client_ref_id", &token.client_ref_id)]).expect("a query encodes");
    let url = format!("{}{separator}{query}", endpoint.url);
    let request = Request {
        get: true,
        url: &url,
        body: None,
        basic: endpoint.basic_user.as_deref().zip(endpoint.basic_password.as_ref().map(Secret::expose)),
        headers: &endpoint.headers,
        extra: Vec::new(),
    };
    let refused = |why: String| {
        tracing::info!(token = %token.token, reason = %why, "token payment stopped by the issuer's Fetch Details");
        PayError::FetchRefused(why)
    };
    let answer = app.outbound.send(request).await.map_err(|f| refused(f.reason))?;
    if answer.status != 200 {
        let hint =
            if answer.status == 401 || answer.status == 403 { " (the partner refused Kosh's Basic credentials)" } else { "" };
        return Err(refused(format!("its Fetch Details API answered HTTP {}{hint}", answer.status)));
    }
    let body: Value =
        serde_json::from_slice(&answer.body).map_err(|_| refused("its Fetch Details API did not answer JSON".into()))?;
    let partner_status = match &body["status"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    if partner_status != Some(0) {
        let desc = body["response_code_desc"].as_str().or(body["status_desc"].as_str()).unwrap_or("no description");
        return Err(refused(format!("the partner answered status {}: {desc}", body["status"])));
    }
    parse_details(&body["data"], token).map_err(|m| refused(m.into()))
}

fn parse_details(data: &Value, token: &Token) -> Result<(Paise, String, String), &'static str> {
    let amount = match &data["amount"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err("its answer has no data.amount"),
    };
    let amount = positive_rupees(&amount).map_err(|_| "its data.amount is not a positive rupee amount")?;
    let name = data["customer_name"].as_str().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&token.customer_name);
    let name = Text::parse(name, MAX_NAME_CHARS).map_err(|_| "its data.customer_name is too long or not text")?;
    let mobile = data["customer_mobile"].as_str().map_or_else(
        || Ok(token.customer_id.clone()),
        |m| Mobile::parse(m).map(|m| m.as_str().to_owned()).map_err(|_| "its data.customer_mobile is not a mobile number"),
    )?;
    Ok((amount, name.as_str().to_owned(), mobile))
}

/// A positive rupee amount with at most two decimals.
pub fn positive_rupees(text: &str) -> Result<Paise, &'static str> {
    match Paise::parse_rupees(text) {
        Ok(p) if !p.is_zero() => Ok(p),
        Ok(_) => Err("must be greater than zero"),
        Err(_) => Err("must be rupees with at most 2 decimals"),
    }
}
