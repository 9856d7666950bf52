//! What the gateway page asks Kosh, with its session token: announce a transaction
//! (the debit-hook `detail`), run it with the partner's confirmation, record a partner's
//! refusal, and the agent's daily authentication. Answers are Eko envelopes.

use super::{token_hash, SESSION_HEADER};
use crate::eko::aeps::transact::{awaited_ms, transaction_reply};
use crate::eko::aeps::{aadhaar_ref, not_ready, parse_aadhaar, refusal, require_bank_connector};
use crate::eko::auth::Authenticated;
use crate::eko::envelope::{EkoReply, EkoResult};
use crate::eko::params::Checker;
use crate::eko::user::store_error;
use crate::service::aeps_gateway as service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use kosh_core::aeps::{self, TxType, SERVICE_FINGPAY};
use kosh_core::ids::UserCode;
use kosh_core::money::Paise;
use kosh_core::signing;
use kosh_core::validate::{ClientRefId, Mobile};
use kosh_store::commands::aeps::{AepsRejection, ConfirmIntent, CreateIntent, RefuseIntent, Transacted};
use kosh_store::error::Rejection;
use kosh_store::ops::aeps::{GatewayIntent, GatewaySession, NewIntent};
use kosh_store::ops::partners::Partner;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The debit-hook's `request_hash_params`, in order (seed 001).
pub const REQUEST_HASH_PARAMS: [&str; 3] = ["customer_id", "amount", "user_code"];
/// The debit-hook's `interaction_type_id` for AePS.
const INTERACTION_TYPE_ID: i64 = 344;
/// How far before the transaction's announcement a confirmation may have been signed
/// (clock skew between the partner's server and Kosh).
const CONFIRMATION_SKEW_MS: i64 = 30_000;

/// The session named by the page's token, alive, with its partner.
async fn session(app: &AppState, headers: &HeaderMap) -> Result<(GatewaySession, Arc<Partner>), EkoReply> {
    let expired = || {
        EkoReply::http_error(StatusCode::UNAUTHORIZED, "The gateway session has expired")
            .with_hint("open the AePS gateway again from your application")
    };
    let token = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(expired)?;
    let session = service::session(app, &token_hash(token)).await.map_err(store_error)?;
    let session = session.filter(|s| s.expires_at_ms > app.now_ms()).ok_or_else(expired)?;
    let partner = app.store.partner(session.partner_id).await.map_err(store_error)?.ok_or_else(expired)?;
    Ok((session, Arc::new(partner)))
}

fn text<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}

fn required<T>(c: &mut Checker, body: &Value, name: &str, parse: impl FnOnce(&str) -> Result<T, &'static str>) -> Option<T> {
    match text(body, name) {
        None => {
            c.fail(name, crate::eko::envelope::MISSING);
            None
        }
        Some(t) => parse(t).map_err(|m| c.fail(name, m)).ok(),
    }
}

/// The amount as the debit-hook shows it: whole rupees without decimals ("100"),
/// otherwise two decimals ("100.50"). The partner hashes this exact text.
fn amount_text(paise: i64) -> String {
    if paise % 100 == 0 {
        (paise / 100).to_string()
    } else {
        Paise::new(paise).map_or_else(String::new, Paise::to_rupees_string)
    }
}

/// `detail.data` of the debit-hook for an intent.
fn hook_data(intent: &GatewayIntent, user_code: UserCode) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("customer_id".into(), json!(intent.customer_mobile));
    data.insert("bank_code".into(), json!(intent.bank_code));
    data.insert("type".into(), json!(intent.tx_type.to_string()));
    data.insert("user_code".into(), json!(user_code.to_string()));
    if intent.tx_type == TxType::CashWithdrawal.code() {
        data.insert("amount".into(), json!(amount_text(intent.amount_paise.get())));
    }
    data
}

/// The debit-hook `detail` for an intent, with the partner's custom parameters.
fn hook_detail(session: &GatewaySession, intent: &GatewayIntent) -> Value {
    let mut detail = json!({
        "http_method": "POST",
        "interaction_type_id": INTERACTION_TYPE_ID,
        "interaction_label": "AePS",
        "client_ref_id": intent.client_ref_id,
        "request_hash_params": REQUEST_HASH_PARAMS,
        "data": hook_data(intent, session.user_code),
    });
    if let Ok(Value::Object(custom)) = serde_json::from_str::<Value>(&session.custom_params) {
        for (k, v) in custom {
            detail.as_object_mut().expect("an object").entry(k).or_insert(v);
        }
    }
    detail
}

/// `POST /v2/aeps/api/intents`: type*, customer_id*, aadhaar*, bank_code*, amount
/// (type 2), piddata*. Answers the intent id and the debit-hook `detail`.
pub async fn create_intent(State(app): State<AppState>, headers: HeaderMap, Json(body): Json<Value>) -> EkoResult {
    let (session, partner) = session(&app, &headers).await?;
    let mut c = Checker::default();
    let tx_type = required(&mut c, &body, "type", TxType::parse);
    let mobile = required(&mut c, &body, "customer_id", Mobile::parse);
    let aadhaar = required(&mut c, &body, "aadhaar", parse_aadhaar);
    let bank = required(&mut c, &body, "bank_code", |t| aeps::bank(t).ok_or("choose a bank from the list"));
    let amount = match tx_type {
        Some(TxType::CashWithdrawal) => required(&mut c, &body, "amount", |t| {
            let amount = Paise::parse_rupees(t).map_err(|_| "must be an amount in rupees, like 500")?;
            aeps::check_withdrawal(amount).map(|()| amount).map_err(|_| "must be more than 0 and at most 10000.00")
        }),
        _ => Some(Paise::ZERO),
    };
    match text(&body, "piddata").map(aeps::check_pid) {
        None => c.fail("piddata", "capture the fingerprint first"),
        Some(Err(why)) => c.fail("piddata", &why),
        Some(Ok(_)) => {}
    }
    c.finish()?;
    let (Some(tx_type), Some(mobile), Some(aadhaar), Some(bank), Some(amount)) = (tx_type, mobile, aadhaar, bank, amount) else {
        unreachable!("checked")
    };
    require_bank_connector(&app)?;
    crate::eko::user::require_active_service(&app, partner.id, session.user_code, SERVICE_FINGPAY).await.map_err(|r| {
        EkoReply::failure(r.status, -1, "Authentication Failed...Initiator access forbidden")
            .with_hint(r.hint.unwrap_or_default())
    })?;
    let new = NewIntent {
        session_id: session.id,
        tx_type: tx_type.code(),
        amount_paise: amount,
        customer_mobile: mobile.as_str().into(),
        bank_code: bank.code.into(),
        aadhaar: aadhaar_ref(&app, &aadhaar)?,
    };
    let cmd = CreateIntent { partner_id: partner.id, intent: new, max_per_session: super::MAX_INTENTS_PER_SESSION };
    let intent = match service::announce(&app, cmd).await {
        Ok(intent) => intent,
        Err(e) => return Err(refusal(e, session.user_code)),
    };
    let data = json!({ "intent_id": intent.id, "client_ref_id": intent.client_ref_id, "detail": hook_detail(&session, &intent) });
    Ok(EkoReply::ok(-1, "Transaction announced; waiting for the partner's confirmation", data))
}

fn secret_key_failed(hint: impl Into<String>) -> EkoReply {
    EkoReply::failure(403, -1, "Authentication for secret-key failed").with_hint(hint)
}

fn request_hash_failed(hint: impl Into<String>) -> EkoReply {
    EkoReply::failure(403, -1, "Authentication for request-hash failed").with_hint(hint)
}

/// Checks the partner's confirmation of `intent` (secret_key, timestamp and request_hash,
/// always strictly) and answers the `request_hash` to use it under, and the partner's
/// own client_ref_id if it sent one.
fn verify_confirmation(
    app: &AppState,
    partner: &Partner,
    session: &GatewaySession,
    intent: &GatewayIntent,
    answer: &Value,
) -> Result<(String, Option<String>), EkoReply> {
    if answer.get("action").and_then(Value::as_str) != Some("go") || answer.get("allow").and_then(Value::as_bool) != Some(true) {
        return Err(EkoReply::failure(1, -1, "The partner did not allow this transaction")
            .with_hint("a confirmation is {\"action\":\"go\",\"allow\":true,…}"));
    }
    let field = |name| text(answer, name).map(str::to_owned);
    let (Some(secret_key), Some(timestamp), Some(hash)) =
        (field("secret_key"), field("secret_key_timestamp"), field("request_hash"))
    else {
        return Err(secret_key_failed("the confirmation must carry secret_key, secret_key_timestamp and request_hash"));
    };
    let ts: i64 =
        timestamp.parse().map_err(|_| secret_key_failed("secret_key_timestamp must be milliseconds since the epoch"))?;
    let tolerance_ms = i64::try_from(app.config.timestamp_tolerance_secs).unwrap_or(300) * 1000;
    if (app.now_ms() - ts).abs() > tolerance_ms {
        return Err(secret_key_failed(format!(
            "secret_key_timestamp is {} s from Kosh's clock (tolerance {} s): sign each confirmation when you send it",
            (app.now_ms() - ts) / 1000,
            tolerance_ms / 1000
        )));
    }
    if !signing::constant_time_eq(&secret_key, &signing::secret_key(partner.access_key.expose(), &timestamp)) {
        let mistake = signing::diagnose_secret_key(&secret_key, partner.access_key.expose(), &partner.developer_key, &timestamp);
        return Err(secret_key_failed(mistake.explain()));
    }
    if ts < intent.created_at_ms - CONFIRMATION_SKEW_MS {
        return Err(EkoReply::failure(1, -1, "Confirmation refused: it belongs to another transaction").with_hint(
            "the confirmation was signed before this transaction was announced; a confirmation is valid only for the debit-hook it answers",
        ));
    }
    let data = hook_data(intent, session.user_code);
    let fields: Vec<&str> = REQUEST_HASH_PARAMS.iter().filter_map(|p| data.get(*p).and_then(Value::as_str)).collect();
    let expected = signing::request_hash(partner.access_key.expose(), &timestamp, &fields);
    // Always enforced, whatever the `request_hash` setting (which is about API request
    // headers): the confirmation's request_hash is the only thing that binds it to this
    // transaction, so without it a confirmation for one transaction would pay for another.
    if !signing::constant_time_eq(&hash, &expected) {
        return Err(request_hash_failed(
            "request_hash must be base64(HMAC-SHA256(key = base64(access_key), message = secret_key_timestamp + the values of detail.request_hash_params present in detail.data, in order)); it does not cover this transaction as Kosh announced it — was detail changed on its way to your server?",
        ));
    }
    let own_ref = match answer.get("client_ref_id").and_then(Value::as_str).filter(|r| !r.trim().is_empty()) {
        None => None,
        Some(r) => Some(ClientRefId::parse(r).map_err(|m| {
            EkoReply::failure(1, -1, "Invalid client_ref_id from the callback").with_hint(format!("client_ref_id {m}"))
        })?),
    };
    Ok((hash, own_ref.map(|r| r.as_str().to_owned())))
}

/// `POST /v2/aeps/api/intents/{id}/confirm` with `{"confirmation": <the partner's answer>}`:
/// verifies it against the intent as Kosh announced it, then runs the transaction.
pub async fn confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(intent_id): Path<i64>,
    Json(body): Json<Value>,
) -> EkoResult {
    let (session, partner) = session(&app, &headers).await?;
    require_bank_connector(&app)?;
    let intent = service::intent(&app, &session, intent_id).await.map_err(store_error)?;
    let intent = intent.ok_or_else(|| EkoReply::failure(168, -1, "Transaction not found in this gateway session"))?;
    let answer = body.get("confirmation").cloned().unwrap_or(Value::Null);
    let (hash, own_ref) = verify_confirmation(&app, &partner, &session, &intent, &answer)?;
    let cmd = ConfirmIntent {
        partner_id: partner.id,
        session_id: session.id,
        intent_id,
        confirmation_hash: hash,
        client_ref_id: own_ref,
        awaited_ms: awaited_ms(&app),
    };
    match service::confirm(&app, cmd).await {
        Ok(Transacted { tx, wallet }) => transaction_reply(&app, &tx, &wallet).await,
        Err(e) => Err(match e.rejection() {
            Some(Rejection::Aeps(AepsRejection::ConfirmationUsed { client_ref_id })) => {
                EkoReply::failure(1, -1, "Confirmation refused: it belongs to another transaction").with_hint(format!(
                    "this confirmation (its request_hash) was already used for transaction {client_ref_id}; each debit-hook needs its own confirmation"
                ))
            }
            Some(Rejection::Aeps(AepsRejection::IntentClosed { state })) => EkoReply::failure(1, -1, "This transaction is closed")
                .with_hint(format!("it is {state}; start a new transaction")),
            Some(Rejection::Aeps(AepsRejection::NotReady(why))) => not_ready(*why, session.user_code),
            _ => refusal(e, session.user_code),
        }),
    }
}

/// `POST /v2/aeps/api/intents/{id}/refuse` with `{"message": …}`: the partner said
/// `allow:false` (or the page could not reach it); the intent can no longer be confirmed.
pub async fn refuse(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(intent_id): Path<i64>,
    Json(body): Json<Value>,
) -> EkoResult {
    let (session, partner) = session(&app, &headers).await?;
    let message: String = text(&body, "message").unwrap_or("cancelled").chars().filter(|c| !c.is_control()).take(200).collect();
    let cmd = RefuseIntent { partner_id: partner.id, session_id: session.id, intent_id, message };
    match service::refuse(&app, cmd).await {
        Ok(intent) => Ok(EkoReply::ok(
            -1,
            "Transaction cancelled",
            json!({ "client_ref_id": intent.client_ref_id, "message": intent.message }),
        )),
        Err(e) => Err(refusal(e, session.user_code)),
    }
}

/// `POST /v2/aeps/api/daily-auth` with `{aadhaar, piddata}`: the agent's daily
/// authentication from the page.
pub async fn daily_auth(State(app): State<AppState>, headers: HeaderMap, Json(body): Json<Value>) -> EkoResult {
    let (session, partner) = session(&app, &headers).await?;
    let mut c = Checker::default();
    let aadhaar = required(&mut c, &body, "aadhaar", parse_aadhaar);
    match text(&body, "piddata").map(aeps::check_pid) {
        None => c.fail("piddata", "capture the fingerprint first"),
        Some(Err(why)) => c.fail("piddata", &why),
        Some(Ok(_)) => {}
    }
    c.finish()?;
    let Some(aadhaar) = aadhaar else { unreachable!("checked") };
    let auth = Authenticated { partner, timestamp: String::new() };
    crate::eko::aeps::ekyc::daily_authenticate(&app, &auth, session.user_code, &aadhaar).await
}

#[cfg(test)]
mod tests {
    use super::amount_text;

    #[test]
    fn amounts_read_as_partners_expect() {
        assert_eq!(amount_text(10_000), "100");
        assert_eq!(amount_text(10_050), "100.50");
        assert_eq!(amount_text(1_000_000), "10000");
    }
}
