//! The v3 money-transfer families (DMT-Fino, DMT-Levin, DMT-Airtel, PPI-DigiKhata,
//! PPI-Levin), customer management, refunds and banks: a thin adapter over the one DMT
//! domain. What differs between families is data ([`kosh_core::dmt_family::FAMILIES`]);
//! the paths each family is served at (the documentation's and the vendor SDK's, which
//! differ for DMT-Fino and DMT-Levin) are the table in [`routes`].
//!
//! A v3 customer is the v1 customer (same rows, same monthly counter, same recipients);
//! a v3 transfer is a v1 transfer recorded with the family's rules on top, so v1 and v3
//! see each other's customers, recipients and transfers.
//!
//! Successes answer `status` 0 with the documentation's `response_type_id` (2129
//! validate the OTP, 2136 Aadhaar pending, 2134 KYC pending, 2147 PAN required, 2132
//! registration completed, 300 wallet opened, 309 profile, 23 recipients, 43 recipient
//! added, 1741 beneficiary added, 2133 OTP sent, 325 transaction, 74 refund done).

pub mod payments;
pub mod refunds;
pub mod saved;
pub mod senders;

use super::auth::Authenticated;
use super::dmt::{customer_json, refusal, require_dmt_agent, rupees_number};
use super::envelope::{EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::store_error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Extension, Router};
use kosh_core::dmt_family::{Family, FamilyId, KycStep};
use kosh_core::validate::{self, Mobile};
use kosh_store::commands::dmt::DmtRejection;
use kosh_store::ops::dmt_customers::Customer;
use serde_json::{json, Value};

/// A handler for one family, on a path with the sender's mobile in it.
macro_rules! on_sender {
    ($family:expr, $handler:path) => {{
        let family: &'static Family = $family;
        move |State(app): State<AppState>,
              Extension(auth): Extension<Authenticated>,
              Path(id): Path<String>,
              params: EkoParams| async move { $handler(family, app, auth, Some(id), params).await }
    }};
}

/// A handler for one family, on a path without the sender (it is in the body).
macro_rules! on_body {
    ($family:expr, $handler:path) => {{
        let family: &'static Family = $family;
        move |State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams| async move {
            $handler(family, app, auth, None, params).await
        }
    }};
}

/// Every v3 DMT, PPI, customer, refund and bank route, relative to a v3 prefix.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/customer/profile/{customer_id}", get(senders::customer_info))
        .route("/customer/account", post(senders::onboard_customer))
        .route("/customer/account/otp", post(senders::resend_customer_otp))
        .route("/customer/account/otp/verify", put(senders::verify_customer_otp))
        .merge(refunds::routes())
        .merge(saved::routes());
    for (path, handler) in family_routes() {
        router = router.route(&path, handler);
    }
    router
}

fn f(id: FamilyId) -> &'static Family {
    id.family()
}

/// The paths of each family, as its documentation section and the vendor SDK name them.
fn family_routes() -> Vec<(String, MethodRouter<AppState>)> {
    use FamilyId::*;
    let mut table: Vec<(String, MethodRouter<AppState>)> = Vec::new();
    for family in kosh_core::dmt_family::FAMILIES {
        let s = family.slug;
        let pay = format!("/customer/payment/{s}");
        table.push((pay.clone(), post(on_body!(family, payments::initiate))));
        table.push((format!("{pay}/otp"), post(on_body!(family, payments::transaction_otp))));
        table.push((format!("{pay}/sender/{{customer_id}}/recipients"), get(on_sender!(family, payments::recipients))));
        table.push((format!("{pay}/sender/{{customer_id}}/recipient"), post(on_sender!(family, payments::add_recipient))));
    }
    let account = |s: &str, rest: &str| format!("/customer/account/{{customer_id}}/{s}{rest}");
    for id in [DmtFino, DmtLevin, DmtAirtel] {
        let family = f(id);
        table.push((format!("/customer/profile/{{customer_id}}/{}", family.slug), get(on_sender!(family, senders::profile))));
        table.push((account(family.slug, ""), post(on_sender!(family, senders::onboard))));
    }
    for id in [DmtLevin, DmtAirtel] {
        let family = f(id);
        table.push((account(family.slug, "/aadhaar"), post(on_sender!(family, senders::aadhaar_otp))));
        table.push((account(family.slug, "/otp/verify"), post(on_sender!(family, senders::verify_otp))));
        table.push((
            account(family.slug, "/ekyc"),
            put(on_sender!(family, senders::biometric)).post(on_sender!(family, senders::biometric)),
        ));
    }
    let fino = f(DmtFino);
    table.push((account(fino.slug, "/ekyc"), post(on_sender!(fino, senders::fino_ekyc))));
    table.push((account(fino.slug, "/otp/verify"), put(on_sender!(fino, senders::verify_otp))));
    // The vendor SDK's DMT-Fino sender paths.
    table.push((
        "/customer/payment/dmt-fino/sender/{customer_id}".into(),
        get(on_sender!(fino, senders::profile)).post(on_sender!(fino, senders::onboard)),
    ));
    table.push(("/customer/payment/dmt-fino/sender/{customer_id}/otp".into(), put(on_sender!(fino, senders::fino_ekyc))));
    table.push(("/customer/payment/dmt-fino/sender/{customer_id}/otp/verify".into(), put(on_sender!(fino, senders::verify_otp))));
    // The vendor SDK's DMT-Levin Aadhaar paths.
    let levin = f(DmtLevin);
    table.push((
        "/customer/payment/dmt-levin/sender/{customer_id}/aadhaar/otp".into(),
        post(on_sender!(levin, senders::aadhaar_otp)),
    ));
    table.push((
        "/customer/payment/dmt-levin/sender/{customer_id}/aadhaar/otp/verify".into(),
        post(on_sender!(levin, senders::verify_otp)),
    ));
    for id in [PpiDigiKhata, PpiLevin] {
        let family = f(id);
        table.push((account(family.slug, "/otp/verify"), post(on_sender!(family, senders::verify_otp))));
        table.push((account(family.slug, "/aadhaar"), post(on_sender!(family, senders::aadhaar_otp))));
        table.push((account(family.slug, "/pan"), post(on_sender!(family, senders::pan))));
    }
    let digikhata = f(PpiDigiKhata);
    table.push((
        "/customer/payment/ppi/sender/{customer_id}/bank/recipient".into(),
        post(on_sender!(digikhata, payments::register_recipient)),
    ));
    let ppi_levin = f(PpiLevin);
    table.push(("/customer/profile/{customer_id}/ppi-levin/otp".into(), post(on_sender!(ppi_levin, senders::sender_otp))));
    table.push((
        "/customer/payment/ppi-levin/sender/{customer_id}/recipient/bank".into(),
        post(on_sender!(ppi_levin, payments::register_recipient)),
    ));
    table
}

/// `service_code` 80 (PayPoint) names PPI-DigiKhata on the shared customer paths.
pub fn is_digikhata(params: &EkoParams) -> bool {
    params.get("service_code").is_some_and(|c| c.trim() == "80")
}

/// The sender's mobile, from the path (`9123400001` or `mobile_number:9123400001`) or,
/// for body-only paths, from `customer_id`.
pub fn sender_mobile(path: Option<&str>, params: &EkoParams) -> Result<Mobile, EkoReply> {
    let text = match path {
        Some(segment) => segment.split_once(':').map_or(segment, |(_, v)| v).to_owned(),
        None => params
            .get("customer_id")
            .map(str::to_owned)
            .ok_or_else(|| EkoReply::invalid(vec![("customer_id".into(), super::envelope::MISSING.into())]))?,
    };
    Mobile::parse(&text).map_err(|m| EkoReply::invalid(vec![("customer_id".into(), m.into())]))
}

/// Checks the initiator and `user_code` and that the agent may send money; answers the user_code.
pub async fn gate(app: &AppState, auth: &Authenticated, params: &EkoParams) -> Result<kosh_core::ids::UserCode, EkoReply> {
    super::check_initiator(params, auth)?;
    let mut c = super::params::Checker::default();
    let user_code = c.required(params, "user_code", validate::parse_user_code);
    c.finish()?;
    let user_code = user_code.expect("the checker fails when a required field is bad");
    require_dmt_agent(app, auth.partner.id, user_code).await?;
    Ok(user_code)
}

/// The customer, or the platform's "not enrolled" answer naming the family's onboarding.
pub async fn enrolled(
    app: &AppState,
    partner_id: kosh_core::ids::PartnerId,
    mobile: &Mobile,
    family: Option<&Family>,
) -> Result<Customer, EkoReply> {
    match app.store.dmt_customer(partner_id, mobile.as_str()).await.map_err(store_error)? {
        Some(c) => Ok(c),
        None => {
            let onboard = family.map_or("POST /customer/account".to_owned(), |f| onboard_path(f, mobile.as_str()));
            Err(EkoReply::failure(308, 308, "Failure!Customer Not Enrolled")
                .with_data(json!({ "sender_name": "", "ekyc_enabled": "" }))
                .with_hint(format!("onboard the sender first with {onboard}")))
        }
    }
}

fn onboard_path(f: &Family, mobile: &str) -> String {
    match f.id {
        FamilyId::PpiDigiKhata | FamilyId::PpiLevin => "POST /customer/account (service_code=80)".into(),
        _ => format!("POST /customer/account/{mobile}/{}", f.slug),
    }
}

/// The family's verification state: the recorded steps and the next one.
pub async fn progress(app: &AppState, c: &Customer, family: &'static Family) -> Result<Option<KycStep>, EkoReply> {
    let done = app.store.dmt_family_steps(c.partner_id, &c.mobile, family).await.map_err(store_error)?;
    Ok(family.next_step(&done, c.state))
}

/// The answer while `step` is the sender's next verification step.
pub fn pending_reply(family: &Family, step: KycStep, mobile: &str) -> EkoReply {
    let (message, rt) = step.pending_answer();
    EkoReply::failure(rt, rt, message).with_hint(format!("{}: next, {}", family.name, step_hint(family, step, mobile)))
}

/// How to take `step` for `family`.
pub fn step_hint(family: &Family, step: KycStep, mobile: &str) -> String {
    let s = family.slug;
    match step {
        KycStep::MobileOtp => {
            format!("verify the sender's mobile OTP with POST /customer/account/{mobile}/{s}/otp/verify (intent_id=19)")
        }
        KycStep::AadhaarOtp => format!("send the Aadhaar OTP with POST /customer/account/{mobile}/{s}/aadhaar, then verify it"),
        KycStep::Pan => format!("validate the sender's PAN with POST /customer/account/{mobile}/{s}/pan"),
        KycStep::Biometric => format!("complete the biometric e-KYC with PUT /customer/account/{mobile}/{s}/ekyc"),
        KycStep::EkycOtp => {
            format!("start the e-KYC with POST /customer/account/{mobile}/{s}/ekyc (aadhar, piddata), then verify its OTP")
        }
    }
}

/// The sender's profile under a family: the v1 profile with the family's limit and pipe.
pub fn family_profile_json(c: &Customer, family: &Family, now_ms: i64) -> Value {
    let mut data = customer_json(c, now_ms);
    let total = family.monthly_limit_paise;
    let available = family.available_limit_paise(c.used_month, c.used_paise.get(), now_ms);
    let used = total - available;
    for (key, paise) in [("total_limit", total), ("used_limit", used), ("available_limit", available)] {
        data[key] = rupees_number(paise);
    }
    data["bc_available_limit"] = rupees_number(available);
    data["next_allowed_limit"] = rupees_number(available);
    data["limit"] = json!([{ "pipe": family.pipe.to_string(), "total": rupees_number(total), "used": rupees_number(used),
                             "remaining": rupees_number(available) }]);
    data["pipes"] = json!({ family.pipe.to_string(): { "pipe": family.pipe, "is_registered": 1 } });
    let profile = &mut data["customer_profile"];
    profile["total_monthly_limit"] = json!(java(total));
    profile["next_allowed_limit"] = json!(java(available));
    profile["chart"] = json!([{ "data_type_id": 10, "label": "",
                                "data": { "unavailable": 0, "used": rupees_number(used), "remaining": rupees_number(available) } }]);
    data
}

fn java(paise: i64) -> String {
    kosh_core::money::Paise::new(paise).unwrap_or(kosh_core::money::Paise::ZERO).to_java_double_string()
}

/// A DMT refusal as the store reports it.
pub fn rejection(r: DmtRejection) -> EkoReply {
    refusal(kosh_store::error::Rejection::Dmt(r).into())
}

/// The answer to a successful request that has a JSON body: `status` 0.
pub fn ok(response_type_id: i64, message: &str, data: Value) -> EkoResult {
    Ok(EkoReply::ok_transaction(response_type_id, message, data))
}
