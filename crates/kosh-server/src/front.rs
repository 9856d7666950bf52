//! The front door: what a person (or a client) finds at `/`, and the API documents
//! served at `/openapi/…`.
//!
//! A browser asking for `text/html` gets a page naming this server (version, sandbox or
//! not, which store) with links to the API documents, the health endpoints and, in
//! sandbox mode, the public sandbox credentials; anything else gets the same facts as
//! JSON. The page is rendered with `maud` (every value escaped), loads nothing from
//! the network and runs no script.

use crate::sandbox;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kosh_store::Location;
use maud::{html, Markup, DOCTYPE};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// The vendor's Echelon OpenAPI document (v2.47) as JSON, converted once from the YAML
/// the tests check requests against (`tests/data/echelon-openapi.yaml`); a unit test
/// keeps the two equal.
const ECHELON_OPENAPI: &str = include_str!("../api/echelon-openapi.json");

/// The policy of every page here: nothing but this origin's own styles, no scripts.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The front door's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(front_door)).route("/openapi/echelon.json", get(echelon_openapi))
}

fn store_kind(location: &Location) -> &'static str {
    match location {
        Location::Sqlite(_) => "sqlite",
        Location::Postgres(_) => "postgres",
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// The facts the page and the JSON answer share.
fn facts(app: &AppState) -> Value {
    let mut facts = json!({
        "name": "kosh",
        "version": env!("CARGO_PKG_VERSION"),
        "sandbox": app.config.sandbox,
        "store": store_kind(app.store.location()),
        "links": {
            "echelon_openapi": "/openapi/echelon.json",
            "ready": "/readyz",
            "health": "/healthz",
            "metrics": "/metrics",
        },
    });
    if app.config.sandbox {
        facts["sandbox_credentials"] = json!({
            "developer_key": sandbox::DEVELOPER_KEY,
            "access_key": sandbox::ACCESS_KEY,
            "initiator_id": sandbox::INITIATOR_ID,
            "user_code": sandbox::USER_CODE.to_string(),
            "echelon_merchant_code": sandbox::echelon::MERCHANT_CODE,
            "echelon_merchant_secret": sandbox::echelon::SECRET,
        });
    }
    facts
}

async fn front_door(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let facts = facts(&app);
    if !wants_html(&headers) {
        return Json(facts).into_response();
    }
    let mut response = axum::response::Html(page(&facts).into_string()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn page(facts: &Value) -> Markup {
    let mode = if facts["sandbox"] == true { "sandbox" } else { "production" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Kosh " (text(&facts["version"])) }
                style { "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2rem}table{border-collapse:collapse}td,th{text-align:left;padding:.2rem .8rem .2rem 0}" }
            }
            body {
                main {
                    h1 { "Kosh" }
                    p { "An open-source payments platform server: the Eko agent-banking API, the AePS gateway, Token cash collection and the Echelon payins/payouts API over one double-entry ledger." }
                    table {
                        tr { th scope="row" { "Version" } td { (text(&facts["version"])) } }
                        tr { th scope="row" { "Mode" } td { (mode) } }
                        tr { th scope="row" { "Store" } td { (text(&facts["store"])) } }
                    }
                    h2 { "Links" }
                    ul {
                        li { a href="/openapi/echelon.json" { "Echelon API (OpenAPI 3, JSON)" } }
                        li { a href="/readyz" { "Readiness" } " and " a href="/healthz" { "health" } }
                        li { a href="/metrics" { "Prometheus metrics" } }
                    }
                    @if let Some(creds) = facts.get("sandbox_credentials").and_then(Value::as_object) {
                        h2 { "Sandbox credentials" }
                        p { "Public test credentials: requests signed with them work here as they do on the vendor's sandbox." }
                        table {
                            @for (name, value) in creds {
                                tr { th scope="row" { (name) } td { code { (text(value)) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The Echelon document, with its `servers` naming this Kosh (as the request reached
/// it), so a client generated from it talks to this server.
async fn echelon_openapi(headers: HeaderMap) -> Response {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    let mut document = DOCUMENT.get_or_init(|| serde_json::from_str(ECHELON_OPENAPI).expect("the embedded spec is JSON")).clone();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| valid_host(h)).unwrap_or("127.0.0.1:8080");
    document["servers"] = json!([{ "url": format!("http://{host}"), "description": "this Kosh server" }]);
    Json(document).into_response()
}

/// A `Host` header fit to echo into a URL: a name or address and an optional port.
fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.len() <= 255 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_document_is_the_spec_the_tests_use() {
        let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/echelon-openapi.yaml")).unwrap();
        let from_yaml: Value = serde_yaml::from_str(&yaml).unwrap();
        let served: Value = serde_json::from_str(ECHELON_OPENAPI).unwrap();
        assert_eq!(served, from_yaml, "regenerate api/echelon-openapi.json from the YAML");
    }

    #[test]
    fn hosts_that_could_break_a_url_are_not_echoed() {
        assert!(valid_host("127.0.0.1:8080") && valid_host("kosh.example") && valid_host("[::1]:80"));
        assert!(!valid_host("evil.example/x") && !valid_host("a b") && !valid_host("") && !valid_host("x\"y"));
    }
}
