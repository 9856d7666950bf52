//! UPI QR collection (service 59): QR generation at the v3 paths and the legacy v2
//! "Generate QR", inquiry of QR payments, and the sandbox's simulated customer payment.
//!
//! | endpoint | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `POST /user/collection/upi-razorpay/generate-static-qr` (v3) | the agent's static QR (the same one again) | 0 | 1888 |
//! | `POST /user/collection/upi-razorpay/generate-dynamic-qr` (v3, `amount`) | a new QR for exactly that amount, paid once | 0 | 1888 |
//! | `POST /user/collection/upi-au/generate-static-qr` (v3, `service_code` 85) | as the Razorpay static QR | 0 | 1888 |
//! | `POST /customer/createcustomer` (v1/v2) | as the Razorpay static QR | 0 | 1888 |
//! | any | `sender_id` is no agent of the partner | 463 | -1 |
//! | any | service 59 not active for the agent | 346 | -1 |
//! | `POST /sandbox/qr/pay` (Kosh, sandbox only) | a customer paid the QR; tx_status 5 until settled at T+1 | 0 | 1889 |
//!
//! `data.qr_string` is a `upi://pay` intent (payee VPA, name, `tr` = the QR's
//! `client_ref_id`, `am` for a dynamic QR); `data.qr_image` is that intent as a QR
//! code, an SVG image in a `data:` URL.

use super::auth::{self, Authenticated};
use super::envelope::{status, EkoReply, EkoResult};
use super::params::{Checker, EkoParams};
use super::user::{require_active_service, store_error};
use crate::service::collections::{self as service, QrRequest};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::{Extension, Router};
use base64::Engine;
use kosh_core::civil;
use kosh_core::collections::{self as rules, CollectionRejection, QrBank, QR_SERVICE_CODE};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::money::Paise;
use kosh_core::validate::{ClientRefId, Email, Mobile, Text};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::collections::{QrCode, QrPayment};
use serde_json::{json, Value};

const RT_GENERATED: i64 = 1888;
const RT_PAYMENT: i64 = 1889;
const RT_INQUIRY: i64 = 1472;
/// The AU bank's own activation code, which its path requires.
const AU_SERVICE_CODE: &str = "85";
/// Longest agent name on a QR.
const MAX_NAME_CHARS: usize = 50;

/// The v3 QR routes (relative to a v3 prefix).
pub fn v3_routes() -> Router<AppState> {
    Router::new()
        .route("/user/collection/upi-razorpay/generate-static-qr", post(razorpay_static))
        .route("/users/collection/upi-razorpay/generate-static-qr", post(razorpay_static))
        .route("/user/collection/upi-razorpay/generate-dynamic-qr", post(razorpay_dynamic))
        .route("/users/collection/upi-razorpay/generate-dynamic-qr", post(razorpay_dynamic))
        .route("/user/collection/upi-au/generate-static-qr", post(au_static))
}

/// The legacy "Generate QR" (relative to a v1/v2 prefix).
pub fn routes() -> Router<AppState> {
    Router::new().route("/customer/createcustomer", post(razorpay_static))
}

/// `POST /sandbox/qr/pay` (sandbox mode only): a simulated customer pays a QR.
pub fn sandbox_router(state: AppState) -> Router<AppState> {
    if !state.config.sandbox {
        return Router::new().route("/sandbox/qr/pay", post(sandbox_off));
    }
    Router::new()
        .route("/sandbox/qr/pay", post(sandbox_pay))
        .route_layer(from_fn_with_state(state, auth::authenticate))
        .method_not_allowed_fallback(super::method_not_allowed)
}

async fn razorpay_static(app: State<AppState>, auth: Extension<Authenticated>, params: EkoParams) -> EkoResult {
    generate(&app, &auth, &params, QrBank::Razorpay, false).await
}

async fn razorpay_dynamic(app: State<AppState>, auth: Extension<Authenticated>, params: EkoParams) -> EkoResult {
    generate(&app, &auth, &params, QrBank::Razorpay, true).await
}

async fn au_static(app: State<AppState>, auth: Extension<Authenticated>, params: EkoParams) -> EkoResult {
    generate(&app, &auth, &params, QrBank::Au, false).await
}

async fn generate(app: &AppState, auth: &Authenticated, params: &EkoParams, bank: QrBank, dynamic: bool) -> EkoResult {
    let request = parse_qr(params, auth, bank, dynamic)?;
    let user_code = app.store.agent_by_mobile(auth.partner.id, &request.sender_id).await.map_err(store_error)?.map(UserCode::get);
    let Some(user_code) = user_code else {
        return Err(EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found").with_hint(format!(
            "sender_id {} is not the mobile number of one of your agents; onboard the agent first",
            request.sender_id
        )));
    };
    require_active_service(app, auth.partner.id, UserCode::new(user_code), QR_SERVICE_CODE).await?;
    let created = service::generate_qr(app, QrRequest { user_code, ..request }).await.map_err(refusal)?;
    let message = if created.created { "successfully generated QR code" } else { "QR code already generated for this sender_id" };
    Ok(EkoReply::ok(RT_GENERATED, message, qr_json(&created.qr)))
}

fn parse_qr(params: &EkoParams, auth: &Authenticated, bank: QrBank, dynamic: bool) -> Result<QrRequest, EkoReply> {
    let mut c = super::checker(params, auth)?;
    let sender_id = match params.get("sender_id") {
        Some(_) => c.required(params, "sender_id", Mobile::parse),
        // The legacy v2 "Generate QR" names the agent's mobile customer_id.
        None if params.get("customer_id").is_some() => c.required(params, "customer_id", Mobile::parse),
        None => c.required(params, "sender_id", Mobile::parse),
    };
    let name = c.required(params, "name", |t| Text::parse(t, MAX_NAME_CHARS));
    let email = c.optional(params, "email", Email::parse);
    let amount = dynamic.then(|| c.required(params, "amount", |t| rules::parse_amount(t, rules::MAX_QR_PAISE))).flatten();
    if bank == QrBank::Au {
        c.required(params, "service_code", |t| (t.trim() == AU_SERVICE_CODE).then_some(()).ok_or("must be 85 (AU Bank QR)"));
    }
    let required = (sender_id, name);
    c.finish()?;
    let (Some(sender_id), Some(name)) = required else { unreachable!("the checker fails when a required field is bad") };
    Ok(QrRequest {
        partner_id: auth.partner.id.get(),
        user_code: 0,
        sender_id: sender_id.as_str().into(),
        bank,
        amount,
        name: name.as_str().into(),
        email: email.map_or_else(String::new, |e| e.as_str().into()),
    })
}

/// A QR as the generate APIs answer it.
pub fn qr_json(qr: &QrCode) -> Value {
    let mut data = json!({
        "client_ref_id": qr.client_ref_id,
        "name": qr.name,
        "graph_data": "",
        "utility_acc_no": qr.utility_acc_no,
        "sender_id": qr.sender_id,
        "qr_string": qr.qr_string,
        "qr_image": qr_image(&qr.qr_string),
        "status": qr.status.code(),
        "status_desc": qr.status.desc(),
        "vpa": qr.vpa,
    });
    if let Some(amount) = qr.amount {
        data["amount"] = json!(amount.to_rupees_string());
    }
    data
}

/// The QR code of `text` as an SVG in a `data:` URL (an `<img src>` shows it as is).
pub fn qr_image(text: &str) -> Value {
    match crate::echelon::qr::svg(text) {
        Some(svg) => json!(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg))),
        None => Value::Null,
    }
}

/// A refused collections command, in the dialect.
fn refusal(e: CommandError) -> EkoReply {
    match e.rejection() {
        Some(Rejection::Collections(r)) => collection_refusal(r),
        Some(Rejection::AgentNotFound) => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found"),
        _ => store_error(e),
    }
}

fn collection_refusal(r: &CollectionRejection) -> EkoReply {
    let hint = match r {
        CollectionRejection::QrNotFound => "no QR code of yours has this client_ref_id (the QR's, from generate-*-qr)",
        CollectionRejection::QrInactive => "a dynamic QR accepts one payment; generate a new one for another payment",
        CollectionRejection::AmountMismatch { .. } => "a dynamic QR is paid exactly its amount; nothing was credited",
        CollectionRejection::CmsSession(_) | CollectionRejection::Invalid(_) => "nothing was moved",
    };
    EkoReply::failure(status::FAILED, -1, r.to_string()).with_hint(hint)
}

async fn sandbox_off() -> EkoReply {
    EkoReply::http_error(StatusCode::NOT_FOUND, "Not found: /sandbox/qr/pay exists only in sandbox mode")
        .with_hint("outside sandbox mode QR payments come from the UPI network only")
}

/// `POST /sandbox/qr/pay`: `client_ref_id` (the QR's) and `amount`; `initiator_id` optional.
async fn sandbox_pay(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    let mut c = match params.get("initiator_id") {
        Some(_) => super::checker(&params, &auth)?,
        None => Checker::default(),
    };
    let reference = c.required(&params, "client_ref_id", ClientRefId::parse);
    let amount = c.required(&params, "amount", |t| rules::parse_amount(t, rules::MAX_QR_PAISE));
    c.finish()?;
    let (Some(reference), Some(amount)) = (reference, amount) else { unreachable!("checked above") };
    let paid = service::accept_payment(&app.store, &app.config.qr_pricing, auth.partner.id.get(), reference.as_str(), amount)
        .await
        .map_err(refusal)?;
    let data = payment_json(&paid.payment, &paid.qr);
    Ok(EkoReply::ok_transaction(RT_PAYMENT, "Payment Initiated", data))
}

fn rupees(p: Paise) -> String {
    p.to_rupees_string()
}

/// A QR payment as the sandbox and the inquiry answer it.
pub fn payment_json(p: &QrPayment, qr: &QrCode) -> Value {
    json!({
        "tid": p.tid.to_string(),
        "tx_status": p.status.code().to_string(),
        "txstatus_desc": p.status.desc(),
        "amount": rupees(p.amount),
        "fee": rupees(p.fee),
        "gst": rupees(p.gst),
        "partners_commision": rupees(p.commission),
        "tds": rupees(p.tds),
        "client_ref_id": qr.client_ref_id,
        "utility_acc_no": qr.utility_acc_no,
        "sender_id": qr.sender_id,
        "user_code": p.user_code.to_string(),
        "customer_vpa": p.payer_vpa,
        "bank_ref_num": p.utr,
        "service_code": QR_SERVICE_CODE.to_string(),
        "settlement_due": civil::ist_datetime(p.settle_at_ms),
        "timestamp": civil::ist_datetime(p.created_at_ms),
    })
}

/// The inquiry answer for a QR payment named by tid, `client_ref_id:REF` or a plain
/// reference (the QR's `client_ref_id`: its newest payment); `None` when no QR payment
/// of the partner matches.
pub async fn inquiry_reply(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let partner_id = partner_id.get();
    let reference = reference.strip_prefix("client_ref_id:").unwrap_or(reference);
    let payment = match reference.parse::<i64>() {
        Ok(tid) => app.store.qr_payment(partner_id, tid).await.map_err(store_error)?,
        Err(_) => match app.store.qr_code(partner_id, reference).await.map_err(store_error)? {
            Some(qr) => app.store.latest_qr_payment(partner_id, qr.id).await.map_err(store_error)?,
            None => None,
        },
    };
    let Some(payment) = payment else { return Ok(None) };
    let qr = app.store.qr_code_by_id(payment.qr_id).await.map_err(store_error)?;
    let qr = qr.ok_or_else(|| store_error("a QR payment without its QR"))?;
    let message = format!("Transaction inquiry: {}", payment.status.desc());
    Ok(Some(EkoReply::ok(RT_INQUIRY, message, payment_json(&payment, &qr))))
}
