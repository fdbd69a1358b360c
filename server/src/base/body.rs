//! Request bodies, with every rejection (malformed JSON, wrong types, unknown fields, a body
//! over the size limit, a body that does not arrive in time) answered in the API's JSON error
//! shape.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::base::error::ApiError;

/// Reads a whole body up to [`crate::base::limits::MAX_BODY_BYTES`]: too large is `body_too_large`, not
/// sent before the body deadline (a `Content-Length` the client never fills, an
/// `Expect: 100-continue` never followed) is `request_timeout`.
pub async fn read_limited(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, crate::base::limits::MAX_BODY_BYTES)
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

/// Parses a JSON body, refusing an object that names a key twice (`json_duplicate_key`):
/// `{"amount":"1","amount":"2"}` would otherwise mean whichever the parser keeps (serde_json
/// keeps the last; other parsers the first), so a proxy or log in front of this server could
/// read another request than the one served. serde_json has no switch for it; this is its
/// `Value` built through a visitor that checks each object's keys.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde::de::DeserializeSeed::deserialize(StrictJson, &mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    value.map_err(|e| {
        let text = e.to_string();
        match text.strip_prefix(DUPLICATE_KEY) {
            Some(rest) => ApiError::Invalid {
                code: "json_duplicate_key",
                message: format!("an object names the key {rest}"),
            },
            None => ApiError::BadRequest(format!("invalid JSON body: {text}")),
        }
    })
}

const DUPLICATE_KEY: &str = "duplicate key ";

/// A JSON value whose objects name each key once.
struct StrictJson;

impl<'de> serde::de::DeserializeSeed<'de> for StrictJson {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictJson {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = vec![];
        while let Some(item) = seq.next_element_seed(StrictJson)? {
            items.push(item);
        }
        Ok(items.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(serde::de::Error::custom(format!(
                    "{DUPLICATE_KEY}{shown:?}"
                )));
            }
            let value = map.next_value_seed(StrictJson)?;
            object.insert(key, value);
        }
        Ok(object.into())
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
        let value = parse_json(&bytes)?;
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
    fn duplicate_keys_are_refused_at_any_depth() {
        let parsed = parse_json(
            br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": 18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": 18446744073709551615u64})
        );
        for bad in [
            &br#"{"amount":"1","amount":"2"}"#[..],
            br#"{"a": [{"x": 1, "x": 1}]}"#,
            br#"{"p": {"q": {"r": 1, "r": 2}}}"#,
        ] {
            let error = parse_json(bad).unwrap_err();
            assert_eq!(
                error.code(),
                "json_duplicate_key",
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(error.status().as_u16(), 400);
        }
        assert_eq!(parse_json(b"{} x").unwrap_err().code(), "invalid_request");
        assert_eq!(
            parse_json(b"{\"a\":").unwrap_err().code(),
            "invalid_request"
        );
    }

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
