//! The x402 facilitator API: `GET /supported`, `POST /verify`, `POST /settle`. Answers are
//! HTTP 200 with `isValid` / `success` and a reason code, as Coinbase's clients expect; only a
//! body that is not a facilitator request at all is a 400. The settlement layer ([`crate::settle`])
//! picks the settler and does the rest.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use paywire_core::protocol::{
    FacilitatorRequest, SettleResponse, SupportedResponse, VerifyResponse,
};

use crate::base::body::RawBody;
use crate::base::error::ApiError;
use crate::base::util::now;
use crate::infra::connection::ClientAddr;
use crate::services::state::AppState;
use crate::settle::{self, Settlement};

/// The request, parsed once; v1 network names read in CAIP-2 form.
fn parse(state: &AppState, body: &Bytes) -> Result<FacilitatorRequest, ApiError> {
    let value = crate::base::body::parse_json(body)?;
    crate::base::body::refuse_nul(&value)?;
    let request = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("not a facilitator request: {e}")))?;
    Ok(settle::normalize_v1_network(state, request))
}

/// `GET /supported`: every settler's kinds.
pub async fn get_supported(State(state): State<AppState>) -> Json<SupportedResponse> {
    Json(settle::supported(&state))
}

/// `POST /verify`.
pub async fn post_verify(
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddr>>,
    RawBody(body): RawBody,
) -> Result<Json<VerifyResponse>, ApiError> {
    let request = parse(&state, &body)?;
    let client = client.map(|c| c.0);
    Ok(Json(
        settle::verify(&state, client, &request, &body, now()).await?,
    ))
}

/// `POST /settle`. An answer whose outcome is not known yet (`settlement_pending`) is marked,
/// so an `Idempotency-Key` on the request stays in progress and a retry reconciles.
pub async fn post_settle(
    State(state): State<AppState>,
    State(settlement): State<Settlement>,
    client: Option<axum::Extension<ClientAddr>>,
    RawBody(body): RawBody,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let started = std::time::Instant::now();
    let request = parse(&state, &body)?;
    let client = client.map(|c| c.0);
    let settled = settle::settle(&state, &settlement, client, &request, &body, now()).await?;
    let (outcome, reason) = match (&settled.response.error_reason, settled.known) {
        (None, _) => ("settled", String::new()),
        (Some(_), false) => ("pending", "settlement_pending".to_string()),
        (Some(reason), true) => ("refused", reason.as_str().to_string()),
    };
    crate::infra::metrics::settlement(outcome, &reason, started.elapsed().as_secs_f64());
    let mut response = Json::<SettleResponse>(settled.response).into_response();
    if !settled.known {
        response
            .extensions_mut()
            .insert(crate::services::idempotency::OutcomeUnknown);
    }
    Ok(response)
}
