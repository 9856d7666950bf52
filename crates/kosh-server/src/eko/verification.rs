//! Verification (KYC) in the Eko dialect: every kind of
//! [`kosh_core::verification::KINDS`] at its path, through one handler ([`handle`]) and
//! the engine ([`crate::service::verification`]). The v1/v2 paths keep their legacy
//! shapes: `POST /pan/verify` answers `pan_number`, `title`, `first_name`,
//! `middle_name`, `last_name` (rt 1255); `POST /banks/{ifsc:IFSC | bank_code:CODE}/accounts/{account}`
//! answers the penny-drop keys (`amount`, `fee`, `verification_failure_refund`,
//! `is_Ifsc_required`, `tid`, `client_ref_id`, `bank`, `is_name_editable`, `user_code`,
//! `aadhar`, `recipient_name`, `ifsc`, `account`; rt 61). Answers that come later are
//! polled at `GET /tools/kyc/{bank-account,pan}/bulk/status` and
//! `GET /tools/kyc/digilocker/{status,document/AADHAAR}`.

use super::auth::Authenticated;
use super::envelope::{rsid, status, EkoReply, EkoResult};
use super::params::EkoParams;
use super::user::{require_active_service, store_error};
use crate::service::verification::{self as service, Done, Request, VerifyError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put, MethodRouter};
use axum::{Extension, Router};
use kosh_core::money::Paise;
use kosh_core::verification::{self as v, Flow, Kind, Leniency, Method, Route, KINDS};
use kosh_store::commands::verification::Step;
use kosh_store::error::Rejection;
use kosh_store::ops::otp::OtpCheck;
use kosh_store::ops::verifications::{State as VState, Verification};
use serde_json::{json, Value};

/// The v1/v2 routes (relative to a v1/v2 prefix) and the v3 routes (relative to a v3 prefix).
pub fn routes() -> (Router<AppState>, Router<AppState>) {
    let mut legacy = Router::new().route("/banks/{bank_id}/accounts/{account}", post(bank_account_legacy));
    let mut v3 = Router::new()
        .route("/tools/kyc/bank-account/bulk/status", get(|s, a, p| status_of(s, a, p, "bank_account_bulk", Poll::Bulk)))
        .route("/tools/kyc/pan/bulk/status", get(|s, a, p| status_of(s, a, p, "pan_bulk", Poll::Bulk)))
        .route("/tools/kyc/digilocker/status", get(|s, a, p| status_of(s, a, p, "digilocker", Poll::DigilockerStatus)))
        .route("/tools/kyc/digilocker/document/{document_type}", get(digilocker_document));
    for kind in KINDS {
        match kind.route {
            Route::Legacy(_, path) if path.contains('{') => {}
            Route::Legacy(method, path) => legacy = legacy.route(path, handler(method, kind)),
            Route::V3(method, path) => {
                v3 = v3.route(path, handler(method, kind));
                // The seed's v1/v2 Aadhaar verification is this consent flow, at no path of
                // its own: serve it where v1/v2 clients look too.
                if matches!(kind.flow, Flow::AadhaarConsent | Flow::AadhaarOtp | Flow::AadhaarXml) {
                    legacy = legacy.route(path, handler(method, kind));
                }
            }
        }
    }
    (legacy, v3)
}

fn handler(method: Method, kind: &'static Kind) -> MethodRouter<AppState> {
    let h = move |State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams| async move {
        handle(&app, &auth, kind, &params, &[]).await
    };
    match method {
        Method::Get => get(h),
        Method::Post => post(h),
        Method::Put => put(h),
    }
}

/// `POST /ekoapi/v2/banks/{ifsc:IFSC | bank_code:CODE}/accounts/{account}` (v1 also
/// `bankcode:`): the penny drop, with the path's ids as `id_type`, `id`, `acc_num`.
async fn bank_account_legacy(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path((bank_id, account)): Path<(String, String)>,
    params: EkoParams,
) -> EkoResult {
    let (id_type, id) = match bank_id.split_once(':') {
        Some(("ifsc", id)) => ("ifsc", id),
        Some(("bank_code" | "bankcode", id)) => ("bank_code", id),
        _ => {
            return Err(EkoReply::http_error(StatusCode::NOT_FOUND, "No mapping rule matched")
                .with_hint(format!("the bank segment must be ifsc:<IFSC> or bank_code:<code>, not {bank_id:?}")))
        }
    };
    let kind = v::kind_by_id("bank_account").expect("the bank_account kind");
    handle(&app, &auth, kind, &params, &[("id_type", id_type), ("id", id), ("acc_num", &account)]).await
}

/// The engine's one handler: authenticate (done by the layer), validate, check the
/// service, run, answer.
pub async fn handle(
    app: &AppState,
    auth: &Authenticated,
    kind: &'static Kind,
    params: &EkoParams,
    extra: &[(&str, &str)],
) -> EkoResult {
    let mut errors = Vec::new();
    match params.get("initiator_id") {
        None => errors.push(("initiator_id".to_owned(), super::envelope::MISSING.to_owned())),
        Some(id) if id.trim() == auth.partner.initiator_id => {}
        Some(_) => {
            return Err(super::checker(params, auth)
                .err()
                .unwrap_or_else(|| EkoReply::failure(status::INVALID_INITIATOR, -1, "Invalid Sender/Initiator")))
        }
    }
    let raw = |name: &str| {
        extra.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()).or_else(|| params.get(name).map(str::to_owned))
    };
    let fields = match v::validate(kind, &raw, Leniency { sandbox: app.config.sandbox }) {
        Ok(fields) if errors.is_empty() => fields,
        Ok(_) => return Err(EkoReply::invalid(errors)),
        Err(more) => return Err(EkoReply::invalid(errors.into_iter().chain(more).collect())),
    };
    if let (Some(code), Some(user_code)) = (kind.service_code, fields.get("user_code").and_then(|u| u.parse::<i64>().ok())) {
        require_active_service(app, auth.partner.id, kosh_core::ids::UserCode::new(user_code), code).await?;
    }
    let request = request(app, auth, kind, fields)?;
    let done = service::run(app, request).await.map_err(|e| refusal(kind, e))?;
    Ok(reply(app, kind, &done))
}

fn pepper(app: &AppState) -> Result<&str, EkoReply> {
    app.config.aadhaar_pepper().ok_or_else(|| store_error("aeps_aadhaar_pepper is not configured"))
}

/// The typed request: the subject masked and hashed, the flow step built.
fn request(app: &AppState, auth: &Authenticated, kind: &'static Kind, fields: v::Fields) -> Result<Request, EkoReply> {
    let pepper = pepper(app)?;
    let subject = kind.subject.and_then(|s| fields.get(s)).map_or("", String::as_str);
    // Aadhaar steps name the number in different fields; one domain lets them match.
    let domain =
        if matches!(kind.flow, Flow::AadhaarConsent | Flow::AadhaarOtp | Flow::AadhaarXml) { "aadhaar" } else { kind.id };
    let subject_hash = v::keyed_hash(pepper, domain, subject);
    let canonical = serde_json::to_string(&fields).unwrap_or_default();
    let request_digest = v::keyed_hash(pepper, "verification-request", &format!("{}:{canonical}", kind.id));
    let expires_at_ms = app.now_ms() + i64::try_from(app.config.otp_ttl_secs).unwrap_or(600) * 1000;
    let new_key = || kosh_core::secret::new_token(32);
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let step = match kind.flow {
        Flow::AadhaarConsent => Step::Open { key: new_key(), expires_at_ms },
        Flow::AadhaarOtp => {
            Step::Continue { after: field("access_key"), after_kind: "aadhaar_consent".into(), key: new_key(), expires_at_ms }
        }
        Flow::AadhaarXml => {
            Step::WithOtp { after: field("access_key"), after_kind: "aadhaar_otp".into(), code: field("otp").into() }
        }
        Flow::MobileOtpVerify => Step::MobileOtp {
            mobile: field("mobile"),
            otp_ref_id: field("otp_ref_id").parse().unwrap_or(0),
            code: field("otp").into(),
        },
        Flow::Lookup | Flow::Bulk | Flow::Digilocker | Flow::MobileOtp => Step::Plain,
    };
    Ok(Request {
        kind,
        partner_id: auth.partner.id.get(),
        subject_masked: v::mask(subject),
        subject_hash,
        request_digest,
        step,
        fields,
    })
}

fn rupees(paise: i64) -> String {
    Paise::new(paise).map_or_else(|| "0.00".into(), Paise::to_rupees_string)
}

/// The answer for a refused or failed verification: nothing was charged.
fn refusal(kind: &Kind, e: VerifyError) -> EkoReply {
    match e {
        VerifyError::NoProvider => EkoReply::failure(status::FAILED, -1, "No verification provider is configured on this server").with_hint(
            "Kosh's only verification provider is the sandbox one, which answers only in sandbox mode (sandbox = true); nothing was charged",
        ),
        VerifyError::Otp(check) => EkoReply::invalid(vec![("otp".into(), otp_message(check))]),
        VerifyError::Store(e) => store_error(e),
        VerifyError::Refused(e) => match e.rejection() {
            Some(Rejection::Verification(v::VerifyRejection::OutOfOrder(why))) => {
                EkoReply::invalid(vec![("access_key".into(), why.clone())]).with_hint(aadhaar_order())
            }
            Some(Rejection::Verification(v::VerifyRejection::KeyExpired)) => {
                EkoReply::invalid(vec![("access_key".into(), "has expired; start again with the consent step".into())]).with_hint(aadhaar_order())
            }
            Some(Rejection::AgentNotFound) => EkoReply::failure(status::USER_NOT_FOUND, -1, "User not found")
                .with_hint("no user (agent) with this user_code was onboarded by you; onboard one with PUT /user/onboard"),
            Some(Rejection::InsufficientFunds { available_paise }) => {
                EkoReply::failure(status::INSUFFICIENT_BALANCE, status::INSUFFICIENT_BALANCE, "Insufficient balance").with_hint(format!(
                    "this verification costs ₹{} and your available e-value is ₹{}",
                    rupees(kind.price_paise),
                    rupees(*available_paise)
                ))
            }
            Some(Rejection::IdempotencyConflict) => EkoReply::failure(status::FAILED, -1, "Duplicate client_ref_id").with_hint(
                "client_ref_id was already used for a different request; send a new one (a retry of the same request answers the first result)",
            ),
            Some(other) => EkoReply::failure(status::FAILED, -1, other.to_string()),
            None => store_error(e),
        },
    }
}

fn aadhaar_order() -> &'static str {
    "Aadhaar verification runs in order: GET /tools/kyc/aadhaar/consent (answers access_key) → POST /tools/kyc/aadhaar/otp with that access_key (answers a new one) → POST /tools/kyc/aadhaar/xml-download with the OTP step's access_key and the OTP"
}

fn otp_message(check: OtpCheck) -> String {
    match check {
        OtpCheck::Wrong { attempts_left } => format!("is wrong; {attempts_left} attempts left"),
        OtpCheck::Expired => "has expired; request a new OTP".into(),
        OtpCheck::Used => "was already used; request a new OTP".into(),
        OtpCheck::Exhausted => "was entered wrong too often; request a new OTP".into(),
        OtpCheck::NotFound | OtpCheck::Accepted => "does not belong to this request; request a new OTP".into(),
    }
}

/// The answer's `data`: the provider's answer (the stored, masked copy on a replay) in
/// the kind's shape, with Kosh's `tid`.
fn reply(app: &AppState, kind: &Kind, done: &Done) -> EkoReply {
    let ver = &done.verification;
    let stored: Value = serde_json::from_str(&ver.result_json).unwrap_or(json!({}));
    let answer = done.live.clone().unwrap_or(stored);
    let data = shaped(app, kind, ver, &answer, done);
    match ver.state {
        VState::Recorded => {
            let mut reply = EkoReply::ok_transaction(kind.response_type_id, "Verification in progress", data);
            reply.response_status_id = rsid::INITIATED;
            reply.with_hint(
                "the first request with this client_ref_id is still waiting for the provider; send it again for the result",
            )
        }
        VState::Done => {
            let ok = if kind.ok_status_id == rsid::OK_TRANSACTIONAL { EkoReply::ok_transaction } else { EkoReply::ok };
            let reply = ok(kind.response_type_id, ver.message.clone(), data);
            match (&done.otp, app.config.sandbox, kind.flow) {
                (Some(_), true, Flow::AadhaarOtp) => {
                    let mobile = answer["otp_mobile"].as_str().unwrap_or("");
                    reply.with_hint(format!("sandbox: read the OTP with GET /sandbox/otp?mobile={mobile}&purpose=aadhaar_kyc"))
                }
                _ => reply,
            }
        }
        VState::Negative => EkoReply::failure(status::FAILED, kind.negative_type_id, ver.message.clone()).with_data(data),
        VState::Failed => {
            let code = if kind.id.starts_with("bank_account") { 544 } else { status::FAILED };
            EkoReply::failure(code, -1, ver.message.clone()).with_data(data)
        }
    }
}

fn shaped(app: &AppState, kind: &Kind, ver: &Verification, answer: &Value, done: &Done) -> Value {
    let tid = ver.tid.to_string();
    let client_ref_id = ver.client_ref_id.clone().unwrap_or_default();
    let key_validity = ver.flow_expires_at_ms.map_or(String::new(), |ms| (ms / 1000).to_string());
    let mut data = match kind.flow {
        Flow::AadhaarConsent => {
            json!({ "access_key_validity": key_validity, "access_key": ver.flow_key, "aadhar": ver.subject_masked,
                                       "message": answer["message"] })
        }
        Flow::AadhaarOtp => {
            json!({ "access_key_validity": key_validity, "access_key": ver.flow_key, "message": answer["message"] })
        }
        Flow::MobileOtp => {
            let mut d = json!({ "user_code": ver.user_code.map(|u| u.to_string()).unwrap_or_default(),
                                "otp_ref_id": done.otp.as_ref().map(|(id, _)| id.to_string()), "client_ref_id": client_ref_id });
            if let Some((_, Some(code))) = &done.otp {
                d["otp"] = json!(code);
            }
            d
        }
        Flow::MobileOtpVerify => json!({ "user_code": ver.user_code.map(|u| u.to_string()).unwrap_or_default(),
            "otp_verification_token": otp_token(app, ver) }),
        Flow::Bulk => json!({ "bulk_reference_id": ver.tid, "reference_id": ver.tid, "client_ref_id": client_ref_id,
            "count": answer["parts"].as_array().map_or(0, Vec::len), "fee": rupees(ver.fee_paise) }),
        Flow::Digilocker => json!({ "reference_id": ver.tid,
            "url": format!("https://sandbox.kosh.invalid/digilocker/link-verification?verification_id={}", ver.tid),
            "document_requested": ["AADHAAR"], "redirect_url": answer["parts"][0]["data"]["redirect_url"] }),
        Flow::Lookup | Flow::AadhaarXml if kind.id.starts_with("bank_account") => bank_shape(ver, answer),
        Flow::Lookup | Flow::AadhaarXml => answer.clone(),
    };
    if let Value::Object(map) = &mut data {
        map.entry("tid").or_insert(json!(tid));
        if ver.fee_paise > 0 {
            map.entry("fee").or_insert(json!(rupees(ver.fee_paise)));
        }
    }
    data
}

/// The penny-drop answer's keys, as the platform (and the vendor's SDK) has them.
fn bank_shape(ver: &Verification, answer: &Value) -> Value {
    let text = |k: &str| answer[k].as_str().unwrap_or("").to_owned();
    let refunded = matches!(ver.state, VState::Failed) || (matches!(ver.state, VState::Negative));
    json!({
        "amount": "1.0", "fee": rupees(ver.fee_paise), "verification_failure_refund": rupees(ver.fee_paise),
        "is_Ifsc_required": "0", "tid": ver.tid.to_string(), "client_ref_id": ver.client_ref_id.clone().unwrap_or_default(),
        "bank": text("bank"), "is_name_editable": if text("recipient_name") == "Unknown" { "1" } else { "0" },
        "user_code": ver.user_code.map(|u| u.to_string()).unwrap_or_default(), "aadhar": "",
        "recipient_name": text("recipient_name"), "ifsc": text("ifsc"),
        "account": if answer["account"].is_string() { text("account") } else { ver.subject_masked.clone() },
        "fee_refunded": refunded,
    })
}

/// An `otp_verification_token`: a 5-minute HS256 JWT naming the verified mobile,
/// signed with the partner's access key (the partner can check it; no one else forges it).
fn otp_token(app: &AppState, ver: &Verification) -> String {
    let now_s = app.now_ms() / 1000;
    let claims = json!({ "iss": "kosh", "sub": ver.subject_masked, "tid": ver.tid, "iat": now_s, "exp": now_s + 300 });
    let key =
        kosh_core::verification::keyed_hash(app.config.aadhaar_pepper().unwrap_or(""), "otp-token", &ver.partner_id.to_string());
    kosh_core::verification::hs256_token(&claims, key.as_bytes())
}

/// What a status poll answers.
#[derive(Clone, Copy)]
enum Poll {
    Bulk,
    DigilockerStatus,
}

/// The verification a poll names (`bulk_reference_id`, `reference_id` or `client_ref_id`), of `kind`.
async fn polled(app: &AppState, auth: &Authenticated, params: &EkoParams, kind: &str) -> Result<Verification, EkoReply> {
    super::check_initiator(params, auth)?;
    let reference = params.get("bulk_reference_id").or_else(|| params.get("reference_id"));
    let found = match (reference, params.get("client_ref_id")) {
        (Some(r), _) => match r.trim().parse::<i64>() {
            Ok(tid) => app.store.verification(auth.partner.id.get(), tid).await.map_err(store_error)?,
            Err(_) => {
                return Err(EkoReply::invalid(vec![(
                    "reference_id".into(),
                    "must be the reference_id the request answered".into(),
                )]))
            }
        },
        (None, Some(c)) => app.store.verification_by_client_ref(auth.partner.id.get(), c.trim()).await.map_err(store_error)?,
        (None, None) => return Err(EkoReply::invalid(vec![("reference_id".into(), super::envelope::MISSING.into())])),
    };
    found.filter(|v| v.kind == kind).ok_or_else(|| {
        EkoReply::failure(status::FAILED, 1796, "No verification request found")
            .with_hint(format!("no {kind} request of yours has this reference"))
    })
}

/// The parts of a later answer that are ready now.
fn ready_parts(app: &AppState, ver: &Verification) -> (Vec<Value>, usize) {
    let stored: Value = serde_json::from_str(&ver.result_json).unwrap_or(json!({}));
    let parts = stored["parts"].as_array().cloned().unwrap_or_default();
    let now = app.now_ms();
    let ready =
        parts.iter().filter(|p| p["ready_at_ms"].as_i64().is_some_and(|at| at <= now)).map(|p| p["data"].clone()).collect();
    (ready, parts.len())
}

async fn status_of(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    params: EkoParams,
    kind: &'static str,
    poll: Poll,
) -> EkoResult {
    let ver = polled(&app, &auth, &params, kind).await?;
    if ver.purged {
        return Ok(EkoReply::ok(
            61,
            "The results were deleted after the retention period",
            json!({ "reference_id": ver.tid, "entries": [] }),
        ));
    }
    let (ready, total) = ready_parts(&app, &ver);
    let done = ready.len() == total;
    let reply = match poll {
        Poll::Bulk => EkoReply::ok(
            61,
            "Bulk verification status fetched successfully",
            json!({
            "bulk_reference_id": ver.tid, "reference_id": ver.tid, "count": ready.len(), "total": total,
            "status": if done { "COMPLETED" } else { "IN_PROGRESS" }, "entries": ready }),
        ),
        Poll::DigilockerStatus => {
            let mut data =
                ready.first().cloned().unwrap_or_else(|| json!({ "document_requested": ["AADHAAR"], "document_consent": [] }));
            if let Value::Object(map) = &mut data {
                map.remove("document");
                map.insert("status".into(), json!(if done { "AUTHENTICATED" } else { "PENDING" }));
                map.insert("reference_id".into(), json!(ver.tid));
            }
            let mut r = EkoReply::ok_transaction(1628, "DigiLocker Verification Status Retrieved", data);
            if !done {
                r = r.with_hint("the customer has not finished the DigiLocker journey yet; poll again");
            }
            r
        }
    };
    Ok(reply)
}

/// `GET /tools/kyc/digilocker/document/AADHAAR?reference_id=…`: the document, once the
/// customer finished the journey.
async fn digilocker_document(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(document_type): Path<String>,
    params: EkoParams,
) -> EkoResult {
    if !document_type.eq_ignore_ascii_case("AADHAAR") {
        return Err(EkoReply::invalid(vec![("document_type".into(), "must be AADHAAR (the only document offered)".into())]));
    }
    let ver = polled(&app, &auth, &params, "digilocker").await?;
    let (ready, _) = ready_parts(&app, &ver);
    match ready.first() {
        Some(part) => Ok(EkoReply::ok_transaction(1630, "DigiLocker Document Retrieved", part["document"].clone())),
        None if ver.purged => Err(EkoReply::failure(status::FAILED, 1796, "The document was deleted after the retention period")),
        None => Err(EkoReply::failure(status::FAILED, 1629, "DigiLocker document not available yet")
            .with_hint("the customer has not finished the DigiLocker journey; poll GET /tools/kyc/digilocker/status first")),
    }
}

/// The inquiry answer for a verification named by tid, `client_ref_id:REF` or a plain
/// client_ref_id; `None` when no verification of the partner matches (so a generic
/// inquiry can ask other products).
pub async fn inquiry_reply(app: &AppState, partner_id: i64, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    let found = match reference.strip_prefix("client_ref_id:") {
        Some(r) => app.store.verification_by_client_ref(partner_id, r).await,
        None => match reference.parse::<i64>() {
            Ok(tid) => app.store.verification(partner_id, tid).await,
            Err(_) => app.store.verification_by_client_ref(partner_id, reference).await,
        },
    };
    let Some(ver) = found.map_err(store_error)? else { return Ok(None) };
    let result: Value = serde_json::from_str(&ver.result_json).unwrap_or(json!({}));
    let data = json!({
        "tid": ver.tid.to_string(), "client_ref_id": ver.client_ref_id, "kind": ver.kind, "state": ver.state.as_str(),
        "subject": ver.subject_masked, "fee": rupees(ver.fee_paise), "gst": rupees(ver.gst_paise),
        "fee_refunded": matches!(ver.state, VState::Failed) || (ver.state == VState::Negative && v::kind_by_id(&ver.kind).is_some_and(|k| k.refund_on_negative)),
        "message": ver.message, "result": if ver.purged { Value::Null } else { result }, "purged": ver.purged,
    });
    Ok(Some(EkoReply::ok(1472, format!("Verification inquiry: {}", ver.state.as_str()), data)))
}
