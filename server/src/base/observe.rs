//! Request ids and the access log. Every request gets an id — the caller's `x-request-id` when
//! it is a sensible one (1–128 visible ASCII characters), else a new `req_…` — echoed in the
//! response's `x-request-id` and in every error body (`error.requestId`), and one structured
//! access-log line (`tracing`, target `paywire::access`) with method, path, status, latency
//! and id. What the log is written as (text or JSON) is the binary's choice: [`init_logging`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::base::util::new_id;

/// The header carrying a request's id.
pub const REQUEST_ID: &str = "x-request-id";

/// The largest error body the id is added to.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// The id a request goes by: a request extension handlers may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The caller's id when it is one we can echo and log safely.
fn accepted(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    (!text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| text.to_string())
}

/// Middleware: assigns the id, logs the request, and puts the id in the answer.
pub async fn request_ids(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(accepted)
        .unwrap_or_else(|| new_id("req"));
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    // The path only: query strings may carry cursors and filters, never logged.
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let response = if status.is_client_error() || status.is_server_error() {
        with_id_in_body(response, &id).await
    } else {
        response
    };
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    tracing::info!(
        target: "paywire::access",
        request_id = %id,
        method = %method,
        path = %path,
        status = status.as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    response
}

/// Adds `requestId` to a JSON error body (`{"error": {...}}`).
async fn with_id_in_body(response: Response, id: &str) -> Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    // Error bodies are small and of known size; anything else is passed on as it is (reading
    // it here would have to hold or drop it).
    let small = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .is_some_and(|n| n <= MAX_ERROR_BODY);
    if !is_json || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY as usize).await else {
        // The body failed while being read: nothing of it can be passed on.
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(error) = value.get_mut("error").and_then(|e| e.as_object_mut()) {
        error.insert(
            "requestId".into(),
            serde_json::Value::String(id.to_string()),
        );
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// Installs the process's log subscriber (to stderr): `PAYWIRE_LOG` (an `EnvFilter`, else
/// `default`) chooses what is logged, `json` writes one JSON object per line. Call once, from
/// a binary.
pub fn init_logging(json: bool, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAYWIRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sensible_ids_are_echoed() {
        assert_eq!(
            accepted(&HeaderValue::from_static("abc-123")),
            Some("abc-123".into())
        );
        assert_eq!(accepted(&HeaderValue::from_static("")), None);
        assert_eq!(accepted(&HeaderValue::from_static("has space")), None);
        let long = "a".repeat(129);
        assert_eq!(accepted(&HeaderValue::from_str(&long).unwrap()), None);
    }
}
