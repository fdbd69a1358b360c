//! The API's one error type: every failure answers `{"error": {"code", "message"}}` with a
//! stable code and the matching HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error an endpoint answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule of paywire-core refused the input; its code is kept.
    #[error(transparent)]
    Core(#[from] paywire_core::Error),
    /// The request is malformed: bad JSON, wrong types, unknown fields.
    #[error("{0}")]
    BadRequest(String),
    /// A body over the size limit.
    #[error("the request body is larger than {} bytes", crate::MAX_BODY_BYTES)]
    BodyTooLarge,
    /// No or an unknown API key.
    #[error("a valid API key is required (Authorization: Bearer <key>)")]
    Unauthorized,
    /// The key may not do this, or the object belongs to another tenant.
    #[error("this key may not {0}")]
    Forbidden(&'static str),
    /// No such object (or not this tenant's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A conflicting state, with its code.
    #[error("{message}")]
    Conflict {
        /// The stable code.
        code: &'static str,
        /// What happened.
        message: String,
    },
    /// The database failed; the operation did not happen (its transaction rolled back).
    #[error("the database is unavailable")]
    Database(#[source] sqlx::Error),
    /// The outcome is not known (the database failed after a commit may have happened).
    #[error("the outcome is not known yet; retry with the same idempotency key")]
    Pending,
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Database(error)
    }
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::BodyTooLarge => "body_too_large",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::Database(_) => "database_unavailable",
            ApiError::Pending => "settlement_pending",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Core(paywire_core::Error::PolicyDenied(_)) => StatusCode::FORBIDDEN,
            ApiError::Core(e) => match e.code() {
                "idempotency_in_progress" | "idempotency_key_reused" => StatusCode::CONFLICT,
                "token_malformed" => StatusCode::BAD_REQUEST,
                code if code.starts_with("token_") => StatusCode::UNAUTHORIZED,
                "pricing_no_route" => StatusCode::NOT_FOUND,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Pending => StatusCode::ACCEPTED,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Database(e) = &self {
            // The detail goes to the log, not to the client.
            eprintln!("database error: {e}");
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        (self.status(), Json(body)).into_response()
    }
}
