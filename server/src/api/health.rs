//! What operators and load balancers poll: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::base::error::ApiError;
use crate::services::auth::Caller;
use crate::services::state::AppState;
use crate::store;

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// The OpenAPI document of this API (`server/openapi.json`, checked in).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// `GET /readyz`: the database answers too.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    store::meta::ping(&state.pool).await?;
    Ok(Json(Health {
        status: "ready".into(),
    }))
}

/// `GET /openapi.json`: the document, as checked in.
pub async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// `GET /metrics` (operator): Prometheus text exposition.
pub async fn get_metrics(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let depth = store::events::queue_depth(&state.pool).await?;
    let text = crate::infra::metrics::render(depth, state.pool.size(), state.pool.num_idle());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
