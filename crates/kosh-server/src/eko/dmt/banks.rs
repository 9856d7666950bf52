//! `GET /banks`: the banks money can be sent to, one by `bank_code` (or `ifsc`), or all.
//!
//! | query | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `bank_code=SBIN` (or a numeric `bank_id`) | the bank | 0 | 466 |
//! | `ifsc=SBIN0001234` | the bank, with `bank`, `branch` (the IFSC's branch code) and `ifsc` | 0 | 414 |
//! | neither | every bank, in `data.bank_list` | 0 | 466 |
//! | an unknown code / IFSC prefix | not found | 48 | 467 |
//! | a malformed IFSC | invalid | 41 | 41 |

use super::{code, rt};
use crate::eko::auth::Authenticated;
use crate::eko::check_initiator;
use crate::eko::envelope::{EkoReply, EkoResult};
use crate::eko::params::EkoParams;
use axum::Extension;
use kosh_core::banks::{self, Bank, Ifsc, BANKS};
use serde_json::{json, Value};

/// A bank as the platform describes it; `user_code` echoes the request's (the platform's
/// bank answers carry it), empty when none was sent.
pub fn bank_json(b: &Bank, user_code: &str) -> Value {
    json!({
        "bank_id": b.id,
        "name": b.name,
        "bank_code": b.code,
        "code": b.code,
        "available_channels": b.channels as i64,
        // "0" or "1": a string in the platform's answers.
        "isverificationavailable": if b.verification { "1" } else { "0" },
        "ifsc_status": b.ifsc_status as i64,
        "universal_ifsc": b.universal_ifsc(),
        "user_code": user_code,
    })
}

/// An IFSC lookup: the bank, and the IFSC's own `bank`, `branch` and `ifsc`. Kosh keeps
/// no branch directory, so `branch` is the IFSC's branch code (its last six characters).
fn ifsc_json(b: &Bank, ifsc: &Ifsc, user_code: &str) -> Value {
    let mut data = bank_json(b, user_code);
    data["bank"] = json!(b.name);
    data["branch"] = json!(&ifsc.as_str()[5..]);
    data["ifsc"] = json!(ifsc.as_str());
    data
}

pub async fn banks(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    let user_code = params.get("user_code").map_or("", str::trim);
    if let Some(code_or_id) = params.get("bank_code").or_else(|| params.get("bank_id")) {
        return bank_reply(code_or_id, user_code);
    }
    if let Some(text) = params.get("ifsc") {
        return ifsc_reply(text, user_code);
    }
    let list: Vec<Value> = BANKS.iter().map(|b| bank_json(b, user_code)).collect();
    Ok(EkoReply::ok(rt::BANK_FOUND, "Bank list", json!({ "bank_list": list })))
}

fn not_found(what: &str) -> EkoReply {
    EkoReply::failure(code::BANK_NOT_FOUND, rt::BANK_INVALID, "Bank not found")
        .with_hint(format!("no bank has {what}; GET /banks without parameters lists every bank"))
}

/// The bank with this code or id (v1 `?bank_code=`, v3 `/tools/reference/bank/{code}`).
pub fn bank_reply(code_or_id: &str, user_code: &str) -> EkoResult {
    let bank = banks::find(code_or_id).ok_or_else(|| not_found(&format!("the code or id {code_or_id:?}")))?;
    Ok(EkoReply::ok(rt::BANK_FOUND, "Bank found", bank_json(bank, user_code)))
}

/// The bank and branch of an IFSC (v1 `?ifsc=`, v3 `/tools/reference/banks/ifsc/{ifsc}`).
pub fn ifsc_reply(text: &str, user_code: &str) -> EkoResult {
    let ifsc = Ifsc::parse(text).map_err(|m| {
        EkoReply::failure(code::INVALID_IFSC, code::INVALID_IFSC, "Invalid IFSC").with_hint(format!("the IFSC {m}"))
    })?;
    let bank = banks::by_ifsc(&ifsc).ok_or_else(|| not_found(&format!("the IFSC prefix {:?}", &ifsc.as_str()[..4])))?;
    Ok(EkoReply::ok(rt::IFSC_FOUND, "IFSC found", ifsc_json(bank, &ifsc, user_code)))
}
