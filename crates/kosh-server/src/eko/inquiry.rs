//! The common v3 transaction inquiry: `GET /tools/reference/transaction/{reference}`
//! (a tid, `client_ref_id:REF` or a plain client_ref_id) and
//! `GET /tools/reference/transaction?tid=…` / `?client_ref_id=…` (what the vendor's
//! Python SDK sends, also to recover after an uncertain financial call).
//!
//! One lookup over every product: [`PRODUCTS`] lists each product's `inquiry_reply`,
//! which answers its own transaction shape (rt 1472) or `None`. Tids come from disjoint
//! per-product counters and every money-moving `client_ref_id` shares one idempotency
//! scope, so at most one product answers. A new product is one line in [`PRODUCTS`].
//!
//! | outcome | status | response_type_id |
//! |---|---|---|
//! | found | 0 | 1472 (the product's own `data`, with `tx_status`) |
//! | no transaction of the partner has this reference | 168 "TID does not exist" | 168 |
//! | neither a path reference nor `tid` / `client_ref_id` | 97 | -1 (`invalid_params`) |

use super::auth::Authenticated;
use super::envelope::{EkoReply, EkoResult, MISSING};
use super::params::EkoParams;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use kosh_core::ids::PartnerId;
use std::future::Future;
use std::pin::Pin;

/// One product's inquiry: `Ok(None)` when it has no such transaction of the partner.
pub type Inquiry<'a> = Pin<Box<dyn Future<Output = Result<Option<EkoReply>, EkoReply>> + Send + 'a>>;
/// A product's `inquiry_reply`, boxed so the products fit one list.
pub type InquiryFn = for<'a> fn(&'a AppState, PartnerId, &'a str) -> Inquiry<'a>;

/// `(product, its module's inquiry_reply)`, each as `"name" => path::to::module`.
macro_rules! inquiries {
    ($($name:literal => $($module:ident)::+),* $(,)?) => {
        &[$(($name, {
            fn ask<'a>(app: &'a AppState, partner_id: PartnerId, reference: &'a str) -> Inquiry<'a> {
                Box::pin($($module)::+::inquiry_reply(app, partner_id, reference))
            }
            ask as InquiryFn
        })),*]
    };
}

/// Every product the common inquiry asks, in order.
pub const PRODUCTS: &[(&str, InquiryFn)] = inquiries![
    "DMT" => crate::eko::dmt::transfers,
    "AePS" => crate::eko::aeps::transact,
    "Token" => crate::eko::token,
    "Verification" => crate::eko::verification,
    "BBPS" => crate::eko::bbps,
    "Payouts" => crate::eko::payouts,
    "QR" => crate::eko::collections,
    "CMS" => crate::eko::cms,
];

/// `GET /tools/reference/transaction/{reference}`.
pub async fn by_path(
    State(app): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
    params: EkoParams,
) -> EkoResult {
    super::check_initiator(&params, &auth)?;
    let reference = reference.trim();
    if let Some(reply) = ask_all(&app, auth.partner.id, reference).await? {
        return Ok(reply);
    }
    // A plain reference of digits is a tid first, and a partner's numeric client_ref_id next.
    let plain = !reference.contains(':') && reference.bytes().all(|b| b.is_ascii_digit());
    if plain {
        if let Some(reply) = ask_all(&app, auth.partner.id, &format!("client_ref_id:{reference}")).await? {
            return Ok(reply);
        }
    }
    Err(not_found(reference))
}

/// `GET /tools/reference/transaction?tid=…` or `?client_ref_id=…`.
pub async fn by_query(State(app): State<AppState>, Extension(auth): Extension<Authenticated>, params: EkoParams) -> EkoResult {
    super::check_initiator(&params, &auth)?;
    let reference = match (params.get("tid"), params.get("client_ref_id")) {
        (Some(tid), _) => tid.trim().to_owned(),
        (None, Some(r)) => format!("client_ref_id:{}", r.trim()),
        (None, None) => {
            return Err(EkoReply::invalid(vec![("tid".into(), MISSING.into())])
                .with_hint("send ?tid=<Eko tid> or ?client_ref_id=<your reference>, or put either in the path"))
        }
    };
    if params.get("tid").is_some() && !reference.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EkoReply::invalid(vec![("tid".into(), "must be digits".into())]));
    }
    ask_all(&app, auth.partner.id, &reference).await?.ok_or_else(|| not_found(&reference))
}

/// The first product's answer for `reference`.
pub async fn ask_all(app: &AppState, partner_id: PartnerId, reference: &str) -> Result<Option<EkoReply>, EkoReply> {
    for (_, ask) in PRODUCTS {
        if let Some(reply) = ask(app, partner_id, reference).await? {
            return Ok(Some(reply));
        }
    }
    Ok(None)
}

fn not_found(reference: &str) -> EkoReply {
    let products: Vec<&str> = PRODUCTS.iter().map(|(name, _)| *name).collect();
    EkoReply::failure(super::dmt::code::TID_NOT_FOUND, super::dmt::code::TID_NOT_FOUND, "TID does not exist")
        .with_hint(format!("no transaction of yours ({}) has the tid or client_ref_id {reference:?}", products.join(", ")))
}
