//! # paywire-server
//!
//! The reference settlement server: an x402 facilitator over a double-entry ledger, with
//! accounts, spending policies and API keys. Built on `paywire-core`, which decides; this crate
//! supplies time, randomness and storage. SQLite (a file) by default, PostgreSQL for several
//! instances behind a load balancer.

pub mod accounts;
pub mod auth;
pub mod body;
pub mod db;
pub mod endpoints;
pub mod error;
pub mod facilitator;
pub mod idempotency;
pub mod settings;
pub mod settlement;
pub mod tokens;
pub mod util;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;
use sqlx::AnyPool;

use crate::db::Dialect;
use crate::settings::Settings;

/// The largest request body accepted, in bytes (a payment is about 2 KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Devnet EVM networks: EIP-3009 payments verified for real, settled against ledger balances.
pub const DEVNET_NETWORKS: &[&str] = &["eip155:84532"];

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: AnyPool,
    /// Which database.
    pub dialect: Dialect,
    /// `paywire:<ledger-id>`.
    pub ledger_network: String,
    /// Devnet EVM networks (CAIP-2).
    pub devnet_networks: Vec<String>,
    /// The platform fee in basis points.
    pub fee_bps: u32,
    /// Signs and verifies access tokens.
    pub token_keys: std::sync::Arc<paywire_core::KeyRing>,
}

/// Connects, migrates, creates the platform wallets and makes sure an operator key exists.
/// Returns the state and, on first start without a configured key, the generated admin key.
pub async fn open(settings: &Settings) -> Result<(AppState, Option<String>), String> {
    let (pool, dialect) = db::connect(&settings.database_url).await?;
    db::migrate(&pool).await?;
    let state = AppState {
        pool: pool.clone(),
        dialect,
        ledger_network: format!("paywire:{}", settings.ledger_id),
        devnet_networks: DEVNET_NETWORKS.iter().map(|s| s.to_string()).collect(),
        fee_bps: settings.fee_bps,
        token_keys: std::sync::Arc::new(tokens::load_key_ring(&pool).await?),
    };
    accounts::ensure_platform_wallets(&state)
        .await
        .map_err(|e| e.to_string())?;
    let generated = auth::ensure_operator_key(&state, settings.admin_key.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    Ok((state, generated))
}

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
    ("get", "/v1/wallets/{id}"),
    ("post", "/v1/wallets/{id}/fund"),
    ("put", "/v1/wallets/{id}/policy"),
    ("post", "/v1/evm/fund"),
    ("post", "/v1/tenants/{id}/api-keys"),
    ("post", "/v1/providers/{id}/endpoints"),
    ("post", "/v1/providers/{id}/quote"),
    ("put", "/v1/providers/{id}/webhook"),
    ("post", "/v1/tokens/verify"),
];

/// The OpenAPI document of this API (`server/openapi.json`, checked in).
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// Every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/supported", get(facilitator::get_supported))
        .route("/verify", post(facilitator::post_verify))
        .route("/settle", post(facilitator::post_settle))
        .route("/v1/providers", post(accounts::post_provider))
        .route("/v1/agents", post(accounts::post_agent))
        .route("/v1/wallets/{id}", get(accounts::get_wallet))
        .route("/v1/wallets/{id}/fund", post(accounts::post_fund))
        .route("/v1/wallets/{id}/policy", put(accounts::put_policy))
        .route("/v1/evm/fund", post(accounts::post_evm_fund))
        .route("/v1/tenants/{id}/api-keys", post(accounts::post_api_key))
        .route(
            "/v1/providers/{id}/endpoints",
            post(endpoints::post_endpoint),
        )
        .route("/v1/providers/{id}/quote", post(endpoints::post_quote))
        .route("/v1/providers/{id}/webhook", put(accounts::put_webhook))
        .route("/openapi.json", get(openapi))
        .route("/v1/tokens/verify", post(tokens::post_verify_token))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .with_state(state)
}

/// A bug must not take the connection down with it, nor leak details: answer the JSON error
/// shape. (A settlement transaction in progress is rolled back when it is dropped.)
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = json!({"error": {"code": "internal_error", "message": "an unexpected error occurred; nothing was changed"}});
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Json<serde_json::Value>, error::ApiError> {
    sqlx::query("SELECT 1").execute(&state.pool).await?;
    Ok(Json(json!({"status": "ready"})))
}

/// Serves until Ctrl-C or SIGTERM, then stops accepting and lets in-flight requests (and
/// their settlement transactions) finish.
pub async fn serve(settings: &Settings, state: AppState) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = tokens::sweep(&sweeper, util::now()).await {
                eprintln!("sweep failed: {e}");
            }
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
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
