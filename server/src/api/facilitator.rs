//! The x402 facilitator API: `GET /supported`, `POST /verify`, `POST /settle`. Answers are
//! HTTP 200 with `isValid` / `success` and a reason code, as Coinbase's clients expect; only a
//! body that is not a facilitator request at all is a 400.

use axum::body::Bytes;

use crate::base::body::RawBody;
use axum::extract::State;
use axum::Json;
use paywire_core::protocol::{
    FacilitatorRequest, SettleResponse, SupportedKind, SupportedResponse, VerifyResponse,
};
use serde_json::json;

use crate::base::error::ApiError;
use crate::base::util::now;
use crate::infra::connection::ClientAddr;
use crate::services::state::AppState;

fn parse(body: &Bytes) -> Result<FacilitatorRequest, ApiError> {
    let value = crate::base::body::parse_json(body)?;
    crate::base::body::refuse_nul(&value)?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("not a facilitator request: {e}")))
}

/// `GET /supported`: the ledger network (v1 and v2) and every devnet EVM network, each
/// listed concretely (the TypeScript SDK matches kinds exactly).
pub async fn get_supported(State(state): State<AppState>) -> Json<SupportedResponse> {
    let mut kinds = vec![];
    for version in [2, 1] {
        kinds.push(SupportedKind {
            x402_version: version,
            scheme: "exact".into(),
            network: state.ledger_network.clone(),
            extra: None,
        });
    }
    for network in &state.devnet_networks {
        let devnet = json!({"devnet": true}).as_object().cloned();
        kinds.push(SupportedKind {
            x402_version: 2,
            scheme: "exact".into(),
            network: network.clone(),
            extra: devnet.clone(),
        });
        if let Some(name) = paywire_core::network::ChainId::parse(network)
            .ok()
            .and_then(|id| id.v1_name())
        {
            kinds.push(SupportedKind {
                x402_version: 1,
                scheme: "exact".into(),
                network: name.into(),
                extra: devnet,
            });
        }
    }
    for network in state.chains.networks() {
        kinds.push(SupportedKind {
            x402_version: 2,
            scheme: "exact".into(),
            network: network.clone(),
            extra: None,
        });
        if let Some(name) = paywire_core::network::ChainId::parse(&network)
            .ok()
            .and_then(|id| id.v1_name())
        {
            kinds.push(SupportedKind {
                x402_version: 1,
                scheme: "exact".into(),
                network: name.into(),
                extra: None,
            });
        }
    }
    Json(SupportedResponse {
        kinds,
        extensions: vec![paywire_core::protocol::extensions::PAYMENT_IDENTIFIER.into()],
        signers: state.chains.signers().into_iter().collect(),
    })
}

/// `POST /verify`.
pub async fn post_verify(
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddr>>,
    RawBody(body): RawBody,
) -> Result<Json<VerifyResponse>, ApiError> {
    let request = normalize_v1_network(&state, parse(&body)?);
    if let Some(chain) = state.chains.get(request.payment_requirements.network()) {
        let client = client.map(|c| c.0);
        return Ok(Json(
            match crate::settle::chain::verify(&state, chain, client, &request, &body, now())
                .await?
            {
                Ok(payer) => VerifyResponse::valid(payer),
                Err(refusal) => {
                    VerifyResponse::invalid(refusal.reason, refusal.message, refusal.payer)
                }
            },
        ));
    }
    Ok(Json(
        crate::settle::ledger::verify(&state, &request, &body, now()).await?,
    ))
}

/// `POST /settle`. An answer whose outcome is not known yet (`settlement_pending`) is marked,
/// so an `Idempotency-Key` on the request stays in progress and a retry reconciles.
pub async fn post_settle(
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddr>>,
    RawBody(body): RawBody,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let started = std::time::Instant::now();
    let request = normalize_v1_network(&state, parse(&body)?);
    let settled = match state.chains.get(request.payment_requirements.network()) {
        Some(chain) => {
            let client = client.map(|c| c.0);
            crate::settle::chain::settle(&state, chain, client, &request, &body, now()).await?
        }
        None => crate::settle::ledger::settle(&state, &request, &body, now()).await?,
    };
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

/// v1 payments name EVM networks by their v1 names (`base-sepolia`); the ledger keys balances by
/// CAIP-2, so both the payload and the requirements are read in CAIP-2 form.
fn normalize_v1_network(state: &AppState, mut request: FacilitatorRequest) -> FacilitatorRequest {
    use paywire_core::protocol::{AnyRequirements, PaymentPayload};
    if let (PaymentPayload::V1(payment), AnyRequirements::V1(requirements)) = (
        &mut request.payment_payload,
        &mut request.payment_requirements,
    ) {
        if let Some(caip2) = paywire_core::network::to_caip2(&requirements.network) {
            let caip2 = caip2.into_owned();
            if (state.devnet_networks.contains(&caip2) || state.chains.get(&caip2).is_some())
                && payment.network == requirements.network
            {
                payment.network.clone_from(&caip2);
                requirements.network = caip2;
            }
        }
    }
    request
}
