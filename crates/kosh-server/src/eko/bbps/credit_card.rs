//! `POST /customer/payment/credit-card-bill` (service 63): a credit-card bill paid to a
//! DMT recipient (the card account) of a verified DMT customer. initiator_id*,
//! recipient_id*, amount*, client_ref_id*, customer_id* (the customer's mobile),
//! channel* (2), and user_code (when sent, the agent must have service 63 active).
//! The payment goes through the same record → biller → apply as a bill; the card
//! account's last four digits choose the sandbox biller's scenario.

use super::bills::paid_reply;
use crate::eko::auth::Authenticated;
use crate::eko::dmt::parse_id;
use crate::eko::envelope::EkoResult;
use crate::eko::params::EkoParams;
use crate::eko::user::require_active_service;
use crate::service::bbps as service;
use crate::state::AppState;
use axum::extract::State;
use axum::Extension;
use kosh_core::bbps::{self, PaymentKind, CREDIT_CARD_OPERATOR_ID, CREDIT_CARD_SERVICE_CODE};
use kosh_core::ids::UserCode;
use kosh_core::money::Paise;
use kosh_core::validate::{self, ClientRefId, Mobile};
use kosh_store::commands::bbps::{BillChoice, NewBillPayment};
use kosh_store::commands::IdemKey;
use kosh_store::scopes;

/// The operator name credit-card bills are recorded under.
pub const OPERATOR_NAME: &str = "Credit Card Bill (via DMT recipient)";

fn parse_amount(text: &str) -> Result<Paise, &'static str> {
    let amount = Paise::parse_rupees(text).map_err(|e| match e {
        kosh_core::money::MoneyError::TooManyDecimals => "must have at most 2 decimal places",
        _ => "must be an amount in rupees like 100 or 100.50",
    })?;
    bbps::check_amount(amount.get())?;
    Ok(amount)
}

/// Pays a credit-card bill.
pub async fn pay(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = crate::eko::checker(&params, &auth)?;
    let recipient_id = c.required(&params, "recipient_id", parse_id);
    let amount = c.required(&params, "amount", parse_amount);
    let client_ref_id = c.required(&params, "client_ref_id", ClientRefId::parse);
    let customer = c.required(&params, "customer_id", Mobile::parse);
    c.required(&params, "channel", |t| if t.trim() == "2" { Ok(()) } else { Err("must be 2") });
    let user_code = c.optional(&params, "user_code", validate::parse_user_code);
    c.optional(&params, "latlong", validate::parse_latlong);
    c.finish()?;
    let (Some(recipient_id), Some(amount), Some(client_ref_id), Some(customer)) = (recipient_id, amount, client_ref_id, customer)
    else {
        unreachable!("the checker fails when a required field is bad")
    };
    if let Some(user_code) = user_code {
        require_active_service(&app, auth.partner.id, user_code, CREDIT_CARD_SERVICE_CODE).await?;
    }
    let request = NewBillPayment {
        partner_id: auth.partner.id,
        user_code: user_code.unwrap_or(UserCode::new(0)),
        client_ref_id: client_ref_id.as_str().into(),
        kind: PaymentKind::CreditCard,
        operator_id: CREDIT_CARD_OPERATOR_ID,
        operator_name: OPERATOR_NAME.into(),
        utility_acc_no: String::new(),
        customer_mobile: customer.as_str().into(),
        sender_name: String::new(),
        recipient_id: Some(recipient_id),
        amount_paise: amount,
        hc_channel: false,
        bill: BillChoice::NoFetch,
        pricing: app.config.bbps_pricing.clone(),
        recovery_ms: i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000,
    };
    let key = IdemKey { partner_id: auth.partner.id, scope: scopes::EKO_CLIENT_REF.into(), key: client_ref_id.as_str().into() };
    paid_reply(service::pay(&app, key, None, request).await, &auth.partner.initiator_id)
}
