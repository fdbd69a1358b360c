//! Request bodies, with every rejection (malformed JSON, wrong types, unknown fields, a body
//! over the size limit, a body that does not arrive in time) answered in the API's JSON error
//! shape.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Reads a whole body up to [`crate::MAX_BODY_BYTES`]: too large is `body_too_large`, not
/// sent before the body deadline (a `Content-Length` the client never fills, an
/// `Expect: 100-continue` never followed) is `request_timeout`.
pub async fn read_limited(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|error| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
            while let Some(current) = source {
                if current.is::<http_body_util::LengthLimitError>() {
                    return ApiError::BodyTooLarge;
                }
                if current.is::<tower_http::timeout::TimeoutError>() {
                    return ApiError::Timeout;
                }
                source = current.source();
            }
            ApiError::BadRequest(format!("the request body could not be read: {error}"))
        })
}

/// The raw body, size-limited.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        read_limited(request.into_body()).await.map(RawBody)
    }
}

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}
