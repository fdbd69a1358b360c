//! The router: every route, and the layers every request passes (panics caught, headers and
//! body limited, deadlines, errors in the JSON shape, request ids).

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::api::{
    dashboard, endpoints, facilitator, health, keys, payments, payouts, reports, tenants, tokens,
    wallets, webhooks,
};
use crate::app::settings::Limits;
use crate::base::limits::{MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_HEADER_COUNT};
use crate::base::{error, observe};
use crate::services::idempotency;
use crate::settle::Server;

/// Every route, as `(method, path)`; the OpenAPI document lists exactly these (tested).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/supported"),
    ("post", "/verify"),
    ("post", "/settle"),
    ("post", "/v1/providers"),
    ("post", "/v1/agents"),
    ("get", "/v1/tenants"),
    ("get", "/v1/wallets/{id}"),
    ("post", "/v1/wallets/{id}/fund"),
    ("put", "/v1/wallets/{id}/policy"),
    ("post", "/v1/evm/fund"),
    ("get", "/v1/tenants/{id}/api-keys"),
    ("post", "/v1/tenants/{id}/api-keys"),
    ("delete", "/v1/tenants/{id}/api-keys/{keyId}"),
    ("post", "/v1/providers/{id}/endpoints"),
    ("post", "/v1/providers/{id}/quote"),
    ("put", "/v1/providers/{id}/webhook"),
    ("post", "/v1/tokens/verify"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{id}"),
    ("post", "/v1/events/{id}/resend"),
    ("get", "/v1/webhook-deliveries"),
    ("get", "/v1/payments"),
    ("get", "/v1/payments/{id}"),
    ("get", "/metrics"),
    ("get", "/v1/payments/export.csv"),
    ("get", "/v1/providers/{id}/revenue"),
    ("get", "/v1/agents/{id}/spending"),
    ("get", "/v1/providers/{id}/endpoints"),
    ("get", "/v1/providers/{id}/endpoints/{endpointId}"),
    ("post", "/v1/providers/{id}/endpoints/{endpointId}"),
    ("get", "/v1/wallets/{id}/journal"),
    ("get", "/v1/tenants/{id}/api-keys/{keyId}"),
    ("get", "/v1/me"),
    ("post", "/v1/payouts"),
    ("get", "/v1/payouts"),
    ("get", "/v1/payouts/{id}"),
    ("post", "/v1/payouts/{id}/paid"),
    ("post", "/v1/payouts/{id}/failed"),
    ("get", "/dashboard"),
    ("get", "/dashboard/{asset}"),
];

/// Every route, with the default [`Limits`].
pub fn router(server: Server) -> Router {
    router_with(server, Limits::default())
}

/// Every route, behind the layers every request passes: panics caught, headers and body
/// limited, a deadline for the body and for the whole request, every error in the JSON shape,
/// mutating requests run to completion under their idempotency keys.
pub fn router_with(server: Server, limits: Limits) -> Router {
    let state = server.state.clone();
    use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};
    Router::<Server>::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/supported", get(facilitator::get_supported))
        .route("/verify", post(facilitator::post_verify))
        .route("/settle", post(facilitator::post_settle))
        .route("/v1/providers", post(tenants::post_provider))
        .route("/v1/agents", post(tenants::post_agent))
        .route("/v1/tenants", get(tenants::get_tenants))
        .route("/v1/wallets/{id}", get(wallets::get_wallet))
        .route("/v1/wallets/{id}/fund", post(wallets::post_fund))
        .route("/v1/wallets/{id}/policy", put(wallets::put_policy))
        .route("/v1/evm/fund", post(wallets::post_evm_fund))
        .route(
            "/v1/tenants/{id}/api-keys",
            get(keys::get_api_keys).post(keys::post_api_key),
        )
        .route(
            "/v1/tenants/{id}/api-keys/{key_id}",
            axum::routing::delete(keys::delete_api_key).get(keys::get_api_key),
        )
        .route(
            "/v1/providers/{id}/endpoints",
            post(endpoints::post_endpoint).get(endpoints::get_endpoints),
        )
        .route(
            "/v1/providers/{id}/endpoints/{endpoint_id}",
            get(endpoints::get_endpoint).post(endpoints::post_endpoint_update),
        )
        .route("/v1/wallets/{id}/journal", get(wallets::get_journal))
        .route("/v1/me", get(tenants::get_me))
        .route(
            "/v1/payouts",
            post(payouts::post_payout).get(payouts::get_payouts),
        )
        .route("/v1/payouts/{id}", get(payouts::get_payout))
        .route("/v1/payouts/{id}/paid", post(payouts::post_paid))
        .route("/v1/payouts/{id}/failed", post(payouts::post_failed))
        .route("/dashboard", get(dashboard::get_index))
        .route("/dashboard/{asset}", get(dashboard::get_asset))
        .route("/v1/providers/{id}/quote", post(endpoints::post_quote))
        .route("/v1/providers/{id}/webhook", put(webhooks::put_webhook))
        .route("/openapi.json", get(health::openapi))
        .route("/v1/tokens/verify", post(tokens::post_verify_token))
        .route("/v1/events", get(webhooks::get_events))
        .route("/v1/events/{id}", get(webhooks::get_event))
        .route("/v1/events/{id}/resend", post(webhooks::post_resend))
        .route("/v1/webhook-deliveries", get(webhooks::get_deliveries))
        .route("/v1/payments", get(payments::get_payments))
        .route("/v1/payments/{id}", get(payments::get_payment))
        .route("/metrics", get(health::get_metrics))
        .route("/v1/payments/export.csv", get(reports::get_export))
        .route("/v1/providers/{id}/revenue", get(reports::get_revenue))
        .route("/v1/agents/{id}/spending", get(reports::get_spending))
        .fallback(|| async { error::ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyDeadlineLayer::new(limits.body_read_timeout))
        // The answer comes back at the deadline; a mutation still running goes on to its end
        // (its idempotency key, if any, stays in progress until it has).
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn(limit_headers))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        // Outermost: every answer, even a panic's, carries the request's id.
        .layer(axum::middleware::from_fn(observe::request_ids))
        .with_state(server)
}

/// Refuses requests with more than [`MAX_HEADER_COUNT`] fields or [`MAX_HEADER_BYTES`] bytes
/// of headers, in the JSON error shape (hyper's own limit, far above, answers without a body:
/// [`connection::json_parse_error`] rewrites that), bodies announced past [`MAX_BODY_BYTES`],
/// and URLs holding an encoded NUL.
async fn limit_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADER_COUNT || bytes > MAX_HEADER_BYTES {
        return error::ApiError::HeadersTooLarge.into_response();
    }
    // A body announced past the limit is refused before it is read — and before hyper tells
    // an `Expect: 100-continue` client to send it.
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        let mut response = error::ApiError::BodyTooLarge.into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    }
    // A NUL in a path segment would reach SQL as text, which PostgreSQL refuses.
    let target = request.uri().path_and_query().map_or("", |p| p.as_str());
    if target.to_ascii_lowercase().contains("%00") {
        return error::ApiError::BadRequest("a URL of this API never holds a NUL character".into())
            .into_response();
    }
    next.run(request).await
}

/// A bug must not take the connection down with it, nor leak details: answer the JSON error
/// shape. (A settlement transaction in progress is rolled back when it is dropped.) The panic's
/// payload is not looked at.
fn panic_response<Payload>(_: Payload) -> axum::response::Response {
    use axum::response::IntoResponse;
    error::ApiError::Internal("a handler panicked".into()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn buggy_handler() -> &'static str {
        panic!("a bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500() {
        let app: Router = Router::new().route("/boom", get(buggy_handler)).layer(
            tower_http::catch_panic::CatchPanicLayer::custom(panic_response),
        );
        let response = app
            .oneshot(
                axum::http::Request::get("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(
            !body.to_string().contains("a bug"),
            "panic messages are not leaked"
        );
    }
}
