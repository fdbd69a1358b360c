//! Providers' priced endpoints: price rules (paywire-core's, with tiers, quotas and overrides),
//! quotes and the x402 402 body for a request, and bundles sold as access tokens.

use axum::extract::{Path, State};
use axum::Json;
use paywire_core::pricing::{PriceRule, Pricebook, QuoteRequest};
use paywire_core::protocol::ResourceInfo;

use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::ledger::url_path;
use crate::base::shapes::{EndpointCreated, NewEndpoint, QuoteAnswer, QuoteBody};
use crate::base::util::{new_id, now_i64};
use crate::services::auth::Caller;
use crate::services::pricing::{payment_options, pricebook};
use crate::services::state::AppState;
use crate::store;

/// What a bundle sells: further calls after the paid one, within a time window.
pub use paywire_core::token::Bundle;

/// `POST /v1/providers/{id}/endpoints` (operator, or the provider with `write`).
pub async fn post_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    JsonBody(body): JsonBody<NewEndpoint>,
) -> Result<Json<EndpointCreated>, ApiError> {
    caller.require_tenant(&provider_id, "write", "provider")?;
    // Read by the core, so any price or pattern error is `pricing_rule_invalid`.
    let rule: PriceRule = serde_json::from_value(serde_json::json!({
        "method": body.method, "path": body.path, "price": body.price,
        "overrides": body.overrides, "description": body.description}))
    .map_err(|e| ApiError::Core(paywire_core::Error::PricingRuleInvalid(e.to_string())))?;
    Pricebook::new(vec![rule.clone()]).validate()?;
    if let Some(bundle) = &body.bundle {
        bundle.validate()?;
    }
    if store::tenants::kind(&state.pool, &provider_id)
        .await?
        .as_deref()
        != Some("provider")
    {
        return Err(ApiError::NotFound("provider"));
    }
    let id = new_id("end");
    let rule_text = serde_json::to_string(&rule).map_err(|e| ApiError::Internal(e.to_string()))?;
    let bundle_text = body
        .bundle
        .map(|b| serde_json::to_string(&b))
        .transpose()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    store::endpoints::insert(
        &state.pool,
        &id,
        &provider_id,
        &rule_text,
        bundle_text.as_deref(),
        now_i64(),
    )
    .await?;
    Ok(Json(EndpointCreated {
        id,
        provider_id,
        rule,
        bundle: body.bundle,
    }))
}

/// `POST /v1/providers/{id}/quote` (the provider with `read`, or the operator): the price of a
/// request and the x402 v2 402 body offering the ledger and, when the provider has an EVM
/// address, devnet USDC; no 402 for a free request.
pub async fn post_quote(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    JsonBody(body): JsonBody<QuoteBody>,
) -> Result<Json<QuoteAnswer>, ApiError> {
    caller.require_tenant(&provider_id, "read", "provider")?;
    let (book, _) = pricebook(&state, &provider_id).await?;
    let mut request = QuoteRequest::new(&body.method, url_path(&body.url));
    request.consumer = body.consumer;
    request.quantity = body.quantity.unwrap_or(1);
    let quote = book.quote(&request)?;
    if quote.amount.is_zero() {
        return Ok(Json(QuoteAnswer {
            quote,
            payment_required: None,
        }));
    }
    let options = payment_options(&state, &provider_id).await?;
    let mut resource = ResourceInfo::new(&body.url);
    resource.description = book.rules[quote.rule].description.clone();
    let required =
        quote.payment_required_v2(&options, resource, Some("Payment required".into()), None)?;
    Ok(Json(QuoteAnswer {
        quote,
        payment_required: Some(required),
    }))
}
