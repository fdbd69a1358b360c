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

/// Refuses JSON holding a NUL character anywhere (a key or a string): PostgreSQL cannot store
/// one in text, and no identifier, name or URL of this API needs one.
pub fn refuse_nul(value: &serde_json::Value) -> Result<(), ApiError> {
    let bad = || ApiError::BadRequest("text in this API never holds a NUL character".into());
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Err(bad()),
        serde_json::Value::Array(items) => items.iter().try_for_each(refuse_nul),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if k.contains('\0') {
                return Err(bad());
            }
            refuse_nul(v)
        }),
        _ => Ok(()),
    }
}

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
        refuse_nul(&value)?;
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_anywhere_in_json() {
        assert!(refuse_nul(&serde_json::json!({"a": ["x", {"b": "ok"}]})).is_ok());
        for bad in [
            serde_json::json!("a\u{0}"),
            serde_json::json!({"a": ["x", {"b": "o\u{0}k"}]}),
            serde_json::json!({"k\u{0}": 1}),
        ] {
            assert_eq!(refuse_nul(&bad).unwrap_err().code(), "invalid_request");
        }
    }
}
