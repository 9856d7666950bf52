//! `GET /banks`: the banks money can be sent to, one by `bank_code` (or `ifsc`), or all.
//!
//! | query | outcome | status | response_type_id |
//! |---|---|---|---|
//! | `bank_code=SBIN` (or a numeric `bank_id`, or `ifsc=SBIN0001234`) | the bank | 0 | 466 |
//! | neither | every bank, in `data.bank_list` | 0 | 466 |
//! | an unknown code / IFSC prefix | not found | 48 | 467 |
//! | a malformed IFSC | invalid | 41 | 41 |

use super::auth::Authenticated;
use super::check_initiator;
use super::dmt::{code, rt};
use super::envelope::{EkoReply, EkoResult};
use super::params::EkoParams;
use axum::Extension;
use kosh_core::banks::{self, Bank, Ifsc, BANKS};
use serde_json::{json, Value};

/// A bank as the platform describes it.
pub fn bank_json(b: &Bank) -> Value {
    json!({
        "bank_id": b.id,
        "name": b.name,
        "bank_code": b.code,
        "code": b.code,
        "available_channels": b.channels as i64,
        "isverificationavailable": i64::from(b.verification),
        "ifsc_status": b.ifsc_status as i64,
        "universal_ifsc": b.universal_ifsc(),
    })
}

pub async fn banks(Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    check_initiator(&params, &auth)?;
    let not_found = |what: &str| {
        EkoReply::failure(code::BANK_NOT_FOUND, rt::BANK_INVALID, "Bank not found")
            .with_hint(format!("no bank has {what}; GET /banks without parameters lists every bank"))
    };
    if let Some(code_or_id) = params.get("bank_code").or_else(|| params.get("bank_id")) {
        let bank = banks::find(code_or_id).ok_or_else(|| not_found(&format!("the code or id {code_or_id:?}")))?;
        return Ok(EkoReply::ok(rt::BANK_FOUND, "Bank found", bank_json(bank)));
    }
    if let Some(text) = params.get("ifsc") {
        let ifsc = Ifsc::parse(text).map_err(|m| {
            EkoReply::failure(code::INVALID_IFSC, code::INVALID_IFSC, "Invalid IFSC").with_hint(format!("the IFSC {m}"))
        })?;
        let bank = banks::by_ifsc(&ifsc).ok_or_else(|| not_found(&format!("the IFSC prefix {:?}", &ifsc.as_str()[..4])))?;
        return Ok(EkoReply::ok(rt::BANK_FOUND, "Bank found", bank_json(bank)));
    }
    let list: Vec<Value> = BANKS.iter().map(bank_json).collect();
    Ok(EkoReply::ok(rt::BANK_FOUND, "Bank list", json!({ "bank_list": list })))
}
