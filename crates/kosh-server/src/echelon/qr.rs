//! `GET /echelon/qr/{idPayment}.svg`: the QR image a payin's `qrCode` points at, an SVG
//! of its `upi://pay` link that any UPI app scans. Public (the customer's browser loads
//! it without a token); `idPayment` is 20 random characters, so images cannot be
//! enumerated.

use super::input;
use super::payments::deep_link;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kosh_core::echelon::Direction;
use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

/// Pixels per QR module in the SVG's view box, and the quiet zone in modules.
const MODULE_PX: usize = 8;
const QUIET_MODULES: usize = 4;

pub fn router() -> Router<AppState> {
    Router::new().route("/echelon/qr/{file}", get(qr_image))
}

async fn qr_image(State(app): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such QR image").into_response();
    let Some(id) = file.strip_suffix(".svg") else { return not_found() };
    if input::entity_id("idPayment", id).is_err() {
        return not_found();
    }
    let payment = match app.store.echelon_payment_by_id_payment(id).await {
        Ok(Some(p)) if p.direction == Direction::Payin => p,
        Ok(_) => return not_found(),
        Err(e) => return super::error::ApiError::store(e).into_response(),
    };
    let name = match app.store.echelon_merchant_by_id(payment.merchant_id).await {
        Ok(Some(m)) => m.name,
        Ok(None) => return not_found(),
        Err(e) => return super::error::ApiError::store(e).into_response(),
    };
    match svg(&deep_link(&payment, &name)) {
        Some(image) => {
            ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, max-age=300")], image).into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "the link does not fit in a QR code").into_response(),
    }
}

/// An SVG QR code of `text` (error correction M), black modules on white.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let size = (width + 2 * QUIET_MODULES) * MODULE_PX;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{size}\" height=\"{size}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\""
    );
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = ((i % width + QUIET_MODULES) * MODULE_PX, (i / width + QUIET_MODULES) * MODULE_PX);
            let _ = write!(out, "M{x} {y}h{MODULE_PX}v{MODULE_PX}h-{MODULE_PX}z");
        }
    }
    out.push_str("\"/></svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_an_svg_with_finder_patterns() {
        let image = super::svg("upi://pay?pa=kosh.kpi00000001@kosh&pn=Kosh&am=100.00&cu=INR").expect("fits");
        assert!(image.starts_with("<svg") && image.ends_with("</svg>"));
        // The top-left finder pattern's first module sits inside the quiet zone's edge.
        assert!(image.contains("M32 32h8v8h-8z"));
    }
}
