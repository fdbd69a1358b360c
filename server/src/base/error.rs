//! The API's one error type: every failure answers `{"error": {"code", "message"}}` with a
//! stable code and the matching HTTP status — also the failures axum and hyper produce
//! (unknown routes, wrong methods, timeouts, oversized headers), which [`json_errors`] turns
//! into the same shape.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use paywire_core::ErrorClass;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An error an endpoint answers with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A rule of paywire-core refused the input; its code is kept.
    #[error(transparent)]
    Core(#[from] paywire_core::Error),
    /// The request is malformed: bad JSON, wrong types, unknown fields.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but a value in it is not acceptable, with its own code.
    #[error("{message}")]
    Invalid {
        /// The stable code (e.g. `webhook_url_invalid`).
        code: &'static str,
        /// What exactly is wrong.
        message: String,
    },
    /// A body over the size limit.
    #[error(
        "the request body is larger than {} bytes",
        crate::base::limits::MAX_BODY_BYTES
    )]
    BodyTooLarge,
    /// Headers over the size or count limit.
    #[error(
        "the request headers are larger than {} bytes or more than {} fields",
        crate::base::limits::MAX_HEADER_BYTES,
        crate::base::limits::MAX_HEADER_COUNT
    )]
    HeadersTooLarge,
    /// No or an unknown API key.
    #[error("a valid API key is required (Authorization: Bearer <key>)")]
    Unauthorized,
    /// The key may not do this.
    #[error("this key may not {0}")]
    Forbidden(&'static str),
    /// No such object — or not this caller's, which must look the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The route exists, not with this method.
    #[error("this route does not take this method")]
    MethodNotAllowed,
    /// The client took too long to send the request, or the request too long to answer.
    #[error("the request took longer than the server allows")]
    Timeout,
    /// A conflicting state, with its code.
    #[error("{message}")]
    Conflict {
        /// The stable code.
        code: &'static str,
        /// What happened.
        message: String,
    },
    /// Too many requests for a rate limit; retry after the wait.
    #[error("too many requests for this {limit}: retry in {retry_after:?}")]
    RateLimited {
        /// Which limit (`api_key`, `payer`).
        limit: &'static str,
        /// How long until one more request is allowed.
        retry_after: std::time::Duration,
        /// The limit's rate per second.
        rate: u32,
        /// Its burst.
        burst: u32,
    },
    /// The database failed; the operation did not happen (its transaction rolled back).
    #[error("the database is unavailable")]
    Database(#[source] sqlx::Error),
    /// A fault of this server (a stored value that does not decode, a secret that does not
    /// open). The detail goes to the log, never to the client.
    #[error("an unexpected error occurred; nothing was changed")]
    Internal(String),
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
            ApiError::Invalid { code, .. } => code,
            ApiError::BodyTooLarge => "body_too_large",
            ApiError::HeadersTooLarge => "headers_too_large",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Timeout => "request_timeout",
            ApiError::Conflict { code, .. } => code,
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Database(_) => "database_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Core(e) => status_of(e.class()),
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            // The detail goes to the log, not to the client.
            ApiError::Database(e) => tracing::error!(error = %e, "database error"),
            ApiError::Internal(detail) => tracing::error!(detail = %detail, "internal error"),
            _ => {}
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::RateLimited {
            retry_after,
            rate,
            burst,
            ..
        } = &self
        {
            // Whole seconds, rounded up (Retry-After takes no fractions).
            let seconds = retry_after.as_millis().div_ceil(1000).max(1);
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: String| {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            };
            set("retry-after", seconds.to_string());
            // The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers).
            set("ratelimit-limit", burst.to_string());
            set("ratelimit-remaining", "0".into());
            set("ratelimit-reset", seconds.to_string());
            set(
                "ratelimit-policy",
                format!("{burst};w=1;burst={burst};rate={rate}"),
            );
        }
        response
    }
}

/// The HTTP status of each class of core error: the one table that maps them.
pub fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::InvalidInput | ErrorClass::PaymentInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorClass::PolicyDenied => StatusCode::FORBIDDEN,
        ErrorClass::TokenMalformed => StatusCode::BAD_REQUEST,
        ErrorClass::TokenRejected => StatusCode::UNAUTHORIZED,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        // A class added to the core later: a client error until it gets its own row.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The code of an error response axum, tower-http or a rejection produced without a body of
/// ours, by its status.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal_error",
        _ => "invalid_request",
    }
}

/// Middleware: an error response whose body is not JSON (axum's rejections are plain text,
/// its 404 and 405 and tower-http's 408 are empty) gets the API's JSON error shape, with the
/// code its status implies and the original text, if any, as the message.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = if text.trim().is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().to_string()
    };
    let body = json!({"error": {"code": code_for_status(status), "message": message}});
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_code_and_a_status_that_agree() {
        let cases = [
            (ApiError::BadRequest("x".into()), 400, "invalid_request"),
            (ApiError::HeadersTooLarge, 431, "headers_too_large"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::Timeout, 408, "request_timeout"),
            (
                ApiError::Internal("secret detail".into()),
                500,
                "internal_error",
            ),
            (
                ApiError::Invalid {
                    code: "webhook_url_invalid",
                    message: "x".into(),
                },
                400,
                "webhook_url_invalid",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.status().as_u16(), error.code()), (status, code));
            assert_eq!(
                code_for_status(error.status()),
                if code == "webhook_url_invalid" {
                    "invalid_request"
                } else {
                    code
                }
            );
        }
        assert!(!ApiError::Internal("secret detail".into())
            .to_string()
            .contains("secret"));
    }
}

/// Every error: a stable code and a message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The code and message of an error.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code.
    pub code: String,
    /// What happened, for people.
    pub message: String,
    /// The request's id (its `x-request-id`, given or made), to quote when asking about it.
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
