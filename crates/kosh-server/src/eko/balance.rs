//! `GET /customers/mobile_number:{mobile}/balance`: the partner's e-value wallet, named
//! by the partner's own registered mobile (its initiator_id).
//!
//! | outcome | status | response_type_id | data |
//! |---|---|---|---|
//! | the partner's wallet | 0 | 1 | `balance` ("1000000.00": rupees, two decimals), `currency`, `customer_id`, `last_used_okekey` |
//! | any other mobile | 463 | -1 | — |
//!
//! `balance` is what can be spent now: posted credits less posted and pending debits.

use super::auth::Authenticated;
use super::envelope::{status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::store_error;
use super::{check_initiator, checker, colon_id};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_core::validate::Mobile;
use serde_json::json;

pub async fn balance(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(segment): Path<String>,
    params: EkoParams,
) -> EkoResult {
    let mobile = colon_id(&segment, "mobile_number")?;
    check_initiator(&params, &auth)?;
    wallet_reply(&app, &auth, mobile, "mobile_number").await
}

/// The e-value balance of the wallet named by `mobile` (as sent in the parameter `name`):
/// the partner's own, by its initiator_id.
pub async fn wallet_reply(app: &AppState, auth: &Authenticated, mobile: &str, name: &str) -> EkoResult {
    let mobile = Mobile::parse(mobile).map_err(|m| EkoReply::invalid(vec![(name.into(), m.into())]))?;
    if mobile.as_str() != auth.partner.initiator_id {
        return Err(EkoReply::failure(status::USER_NOT_FOUND, -1, "Wallet not found for this mobile number")
            .with_hint(format!("this API answers the balance of your own e-value wallet: use your initiator_id as {name}")));
    }
    let wallet = app.store.balance(auth.partner.id, &AccountKind::PartnerWallet).await.map_err(store_error)?;
    let available = Paise::new(wallet.available_credit())
        .ok_or_else(|| store_error(format!("wallet of partner {} has a negative available balance", auth.partner.id)))?;
    let data = json!({
        "balance": available.to_rupees_string(),
        "currency": "INR",
        "customer_id": mobile.as_str(),
        // The vendor's field; Kosh has no okekeys, so it is always "0".
        "last_used_okekey": "0",
    });
    Ok(EkoReply::ok(1, "Success", data))
}

/// `GET /user/account/balance` (v3, "Get Settlement Account Balance"):
/// customer_id_type=mobile_number, customer_id* (the partner's own registered mobile
/// for its e-value wallet, or an agent's mobile for the agent's own e-value).
///
/// | outcome | status | response_type_id | data |
/// |---|---|---|---|
/// | the partner's or an agent's wallet | 0 | 1 | `balance`, `currency`, `customer_id`, `last_used_okekey`, `user_code` (an agent's) |
/// | a mobile of no wallet of yours | 463 | -1 | — |
pub async fn settlement_account_balance(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
) -> EkoResult {
    let mut c = checker(&params, &auth)?;
    c.optional(&params, "customer_id_type", |t| if t.trim() == "mobile_number" { Ok(()) } else { Err("must be mobile_number") });
    let mobile = c.required(&params, "customer_id", Mobile::parse);
    c.finish()?;
    let Some(mobile) = mobile else { unreachable!("the checker fails when a required field is bad") };
    let partner_id = auth.partner.id;
    let (kind, user_code) = if mobile.as_str() == auth.partner.initiator_id {
        (AccountKind::PartnerWallet, None)
    } else {
        let found = app.store.agent_by_mobile(partner_id, mobile.as_str()).await.map_err(store_error)?;
        let user_code = found.ok_or_else(|| {
            EkoReply::failure(status::USER_NOT_FOUND, -1, "Wallet not found for this mobile number")
                .with_hint("customer_id is your initiator_id (your wallet) or the mobile of one of your agents")
        })?;
        (AccountKind::AgentWallet { user_code }, Some(user_code))
    };
    let wallet = app.store.balance(partner_id, &kind).await.map_err(store_error)?;
    let available = Paise::new(wallet.available_credit().max(0)).unwrap_or(Paise::ZERO);
    let mut data = json!({
        "balance": available.to_rupees_string(),
        "currency": "INR",
        "customer_id": mobile.as_str(),
        "last_used_okekey": "0",
    });
    if let Some(user_code) = user_code {
        data["user_code"] = json!(user_code.to_string());
    }
    Ok(EkoReply::ok(1, "Success", data))
}
