//! The Eko response envelope: `status`, `response_status_id`, `response_type_id`,
//! `message`, `data`, and `invalid_params` on validation errors. Business results are
//! HTTP 200; transport-level refusals (402, 403, 404, 405, 413, 415) carry the same
//! shape so partners always get JSON that says what went wrong. `hint` is Kosh's own
//! addition: how to fix it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// `response_status_id` values.
pub mod rsid {
    pub const IN_PROGRESS_FOR_USER: i64 = -2;
    pub const OK_NON_TRANSACTIONAL: i64 = -1;
    pub const OK_TRANSACTIONAL: i64 = 0;
    pub const FAILED: i64 = 1;
    pub const INITIATED: i64 = 2;
    pub const REFUND_INITIATED: i64 = 3;
    pub const REFUNDED: i64 = 4;
    pub const ON_HOLD: i64 = 5;
}

/// Eko `status` codes Kosh answers with (see the catalogue §2).
pub mod status {
    pub const OK: i64 = 0;
    pub const FAILED: i64 = 1;
    pub const CANNOT_REGISTER_AGENT: i64 = 31;
    pub const FIELD_MISSING: i64 = 97;
    pub const WRONG_OTP: i64 = 302;
    pub const OTP_EXPIRED: i64 = 303;
    pub const INVALID_INITIATOR: i64 = 319;
    pub const AGENT_NOT_ALLOWED: i64 = 346;
    pub const INSUFFICIENT_BALANCE: i64 = 347;
    pub const USER_NOT_FOUND: i64 = 463;
}

#[derive(Debug, Clone, PartialEq)]
pub struct EkoReply {
    pub http: StatusCode,
    pub status: i64,
    pub response_status_id: i64,
    pub response_type_id: i64,
    pub message: String,
    pub data: Value,
    pub invalid_params: Option<Map<String, Value>>,
    pub hint: Option<String>,
}

pub type EkoResult = Result<EkoReply, EkoReply>;

impl EkoReply {
    fn new(http: StatusCode, status: i64, rsid: i64, rtid: i64, message: impl Into<String>, data: Value) -> EkoReply {
        EkoReply {
            http,
            status,
            response_status_id: rsid,
            response_type_id: rtid,
            message: message.into(),
            data,
            invalid_params: None,
            hint: None,
        }
    }

    /// A successful read or non-transactional answer (`response_status_id` -1).
    pub fn ok(response_type_id: i64, message: impl Into<String>, data: Value) -> EkoReply {
        Self::new(StatusCode::OK, status::OK, rsid::OK_NON_TRANSACTIONAL, response_type_id, message, data)
    }

    /// A successful transactional answer (`response_status_id` 0).
    pub fn ok_transaction(response_type_id: i64, message: impl Into<String>, data: Value) -> EkoReply {
        Self::new(StatusCode::OK, status::OK, rsid::OK_TRANSACTIONAL, response_type_id, message, data)
    }

    /// A business failure answered with HTTP 200, as the platform does.
    pub fn failure(status: i64, response_type_id: i64, message: impl Into<String>) -> EkoReply {
        Self::new(StatusCode::OK, status, rsid::FAILED, response_type_id, message, json!({}))
    }

    /// Input validation failed: `invalid_params` names each bad field.
    pub fn invalid(params: Vec<(String, String)>) -> EkoReply {
        let any_missing = params.iter().any(|(_, m)| m == MISSING);
        let message = match params.first() {
            Some((name, msg)) if params.len() == 1 => format!("{name}: {msg}"),
            _ => "Invalid parameters".to_string(),
        };
        let status = if any_missing { status::FIELD_MISSING } else { status::FAILED };
        let mut reply = Self::new(StatusCode::OK, status, rsid::FAILED, -1, message, json!({}));
        reply.invalid_params = Some(params.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
        reply
    }

    /// A transport-level refusal: wrong credentials, path, method, media type, size.
    pub fn http_error(http: StatusCode, message: impl Into<String>) -> EkoReply {
        Self::new(http, i64::from(http.as_u16()), rsid::FAILED, -1, message, json!({}))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> EkoReply {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_data(mut self, data: Value) -> EkoReply {
        self.data = data;
        self
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "status": self.status,
            "response_status_id": self.response_status_id,
            "response_type_id": self.response_type_id,
            "message": self.message,
            "data": self.data,
        });
        if let Some(params) = &self.invalid_params {
            body["invalid_params"] = Value::Object(params.clone());
        }
        if let Some(hint) = &self.hint {
            body["hint"] = Value::String(hint.clone());
        }
        body
    }
}

/// The `invalid_params` message for a required field that was not sent.
pub const MISSING: &str = "is required";

impl IntoResponse for EkoReply {
    fn into_response(self) -> Response {
        (self.http, axum::Json(self.body())).into_response()
    }
}
