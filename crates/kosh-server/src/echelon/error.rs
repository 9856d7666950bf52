//! Errors exactly as the spec shapes them: `BasicError {description}` for 400, 401, 403,
//! 404, 409, 410, 429 and 500, and for 406 an array of `{code, description, attrCode}`.
//! A 429 also says when to retry (`Retry-After`, in seconds).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// One business-validation problem of a 406 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub description: String,
    /// The request attribute at fault, e.g. `paymentRequested.money.amount`.
    pub attr_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Basic(StatusCode, String),
    NotAcceptable(Vec<Problem>),
    /// 429: the description and the whole seconds until a retry can succeed.
    Throttled(String, u64),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_request(description: impl Into<String>) -> ApiError {
        ApiError::Basic(StatusCode::BAD_REQUEST, description.into())
    }

    pub fn unauthorized(description: impl Into<String>) -> ApiError {
        ApiError::Basic(StatusCode::UNAUTHORIZED, description.into())
    }

    pub fn forbidden(description: impl Into<String>) -> ApiError {
        ApiError::Basic(StatusCode::FORBIDDEN, description.into())
    }

    pub fn not_found(description: impl Into<String>) -> ApiError {
        ApiError::Basic(StatusCode::NOT_FOUND, description.into())
    }

    pub fn conflict(description: impl Into<String>) -> ApiError {
        ApiError::Basic(StatusCode::CONFLICT, description.into())
    }

    pub fn gone(description: impl Into<String>) -> ApiError {
        ApiError::Basic(StatusCode::GONE, description.into())
    }

    pub fn too_many(description: impl Into<String>, retry_after_secs: u64) -> ApiError {
        ApiError::Throttled(description.into(), retry_after_secs)
    }

    /// One 406 problem.
    pub fn rule(code: &'static str, description: impl Into<String>, attr_code: Option<&str>) -> ApiError {
        ApiError::NotAcceptable(vec![Problem { code, description: description.into(), attr_code: attr_code.map(str::to_owned) }])
    }

    /// A store failure: logged in full, answered without detail.
    pub fn store(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "echelon: store failure");
        ApiError::Basic(StatusCode::INTERNAL_SERVER_ERROR, "the platform cannot answer right now; retry the request".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Basic(status, _) => *status,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Throttled(..) => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Basic(status, description) => (status, Json(json!({ "description": description }))).into_response(),
            ApiError::Throttled(description, retry_after_secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                Json(json!({ "description": description })),
            )
                .into_response(),
            ApiError::NotAcceptable(problems) => {
                let items: Vec<Value> = problems
                    .into_iter()
                    .map(|p| {
                        let mut item = json!({ "code": p.code, "description": p.description });
                        if let Some(attr) = p.attr_code {
                            item["attrCode"] = Value::String(attr);
                        }
                        item
                    })
                    .collect();
                (StatusCode::NOT_ACCEPTABLE, Json(Value::Array(items))).into_response()
            }
        }
    }
}
