//! Providers' priced endpoints: price rules (paywire-core's, with tiers, quotas and overrides),
//! quotes and the x402 402 body for a request, and bundles sold as access tokens.

use axum::extract::{Path, Query, State};
use axum::Json;
use paywire_core::pricing::{PriceRule, Pricebook, Quote, QuoteRequest};
use paywire_core::protocol::{PaymentRequiredV2, ResourceInfo};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::page::{cursor_not_found, limit_of, list, ListOf, PageQuery};
use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::ledger::url_path;
use crate::base::util::{new_id, now_i64};
use crate::services::auth::Caller;
use crate::services::pricing::{payment_options, pricebook};
use crate::services::state::AppState;
use crate::store;
use crate::store::lists::{Bind, Page};

/// What a bundle sells: further calls after the paid one, within a time window.
pub use paywire_core::token::Bundle;

/// `POST /v1/providers/{id}/endpoints`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEndpoint {
    /// `GET`, `POST`, … or `*`.
    pub method: String,
    /// A path pattern such as `/v1/weather/:city`.
    pub path: String,
    /// The price, in atomic units of the ledger dollar (6 decimals): a flat fee, usage
    /// pricing, or both (`{}` is refused as `pricing_rule_invalid`).
    pub price: Value,
    /// Prices for particular consumers (by payer id).
    #[serde(default)]
    pub overrides: std::collections::BTreeMap<String, Value>,
    /// What the endpoint is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Sell a bundle with each payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Bundle>,
}

/// An endpoint registered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointCreated {
    /// `end_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The price rule.
    pub rule: PriceRule,
    /// The bundle it sells, if any.
    pub bundle: Option<Bundle>,
}

/// `POST /v1/providers/{id}/quote`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuoteBody {
    /// The request's method.
    pub method: String,
    /// The full resource URL.
    pub url: String,
    /// The consumer, for overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// The metered quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
}

/// A request's price and the 402 that asks for it (`null` for a free request).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteAnswer {
    /// The price.
    pub quote: Quote,
    /// The x402 v2 `PAYMENT-REQUIRED` body.
    pub payment_required: Option<PaymentRequiredV2>,
}

/// A registered endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    /// `end_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The price rule.
    pub rule: PriceRule,
    /// The bundle it sells, if any.
    pub bundle: Option<Bundle>,
    /// Whether it is disabled (no longer priced).
    pub disabled: bool,
    /// When it was registered, unix seconds.
    pub created: i64,
}

/// `POST /v1/providers/{id}/endpoints/{endpointId}`: what to change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointUpdate {
    /// Disable (no longer priced) or enable the endpoint.
    pub disabled: bool,
}

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
    Ok(Json(
        register(&state, provider_id, rule, body.bundle).await?,
    ))
}

/// Registers a provider's priced endpoint (a validated rule, and the bundle it sells).
pub async fn register(
    state: &AppState,
    provider_id: String,
    rule: PriceRule,
    bundle: Option<Bundle>,
) -> Result<EndpointCreated, ApiError> {
    Pricebook::new(vec![rule.clone()]).validate()?;
    if let Some(bundle) = &bundle {
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
    let bundle_text = bundle
        .as_ref()
        .map(serde_json::to_string)
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
    Ok(EndpointCreated {
        id,
        provider_id,
        rule,
        bundle,
    })
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

/// `GET /v1/providers/{id}/endpoints`: the provider's endpoints, newest first.
pub async fn get_endpoints(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ListOf<EndpointView>>, ApiError> {
    caller.require_tenant(&provider_id, "read", "provider")?;
    let mut page = Page {
        limit: limit_of(query.limit)?,
        starting_after: query.starting_after,
        ..Default::default()
    };
    page.filter("x.provider_id = ?", Bind::Text(provider_id));
    let (rows, more) = store::lists::endpoints(&state.pool, &page)
        .await?
        .ok_or_else(cursor_not_found)?;
    let data = rows
        .into_iter()
        .map(endpoint_view)
        .collect::<Result<_, _>>()?;
    Ok(list(data, more))
}

fn endpoint_view(row: store::lists::EndpointRow) -> Result<EndpointView, ApiError> {
    let stored = |e: serde_json::Error| ApiError::Internal(format!("stored endpoint: {e}"));
    Ok(EndpointView {
        rule: serde_json::from_str(&row.rule).map_err(stored)?,
        bundle: row
            .bundle
            .map(|b| serde_json::from_str(&b))
            .transpose()
            .map_err(stored)?,
        disabled: row.disabled_at.is_some(),
        id: row.id,
        provider_id: row.provider_id,
        created: row.created_at,
    })
}

/// `GET /v1/providers/{id}/endpoints/{endpointId}`.
pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path((provider_id, id)): Path<(String, String)>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require_tenant(&provider_id, "read", "provider")?;
    let row = store::lists::endpoint(&state.pool, &provider_id, &id)
        .await?
        .ok_or(ApiError::NotFound("endpoint"))?;
    Ok(Json(endpoint_view(row)?))
}

/// `POST /v1/providers/{id}/endpoints/{endpointId}` (`write`): disables or enables it.
pub async fn post_endpoint_update(
    State(state): State<AppState>,
    caller: Caller,
    Path((provider_id, id)): Path<(String, String)>,
    crate::base::body::JsonBody(body): crate::base::body::JsonBody<EndpointUpdate>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require_tenant(&provider_id, "write", "provider")?;
    if !store::endpoints::set_disabled(&state.pool, &provider_id, &id, body.disabled, now_i64())
        .await?
    {
        return Err(ApiError::NotFound("endpoint"));
    }
    let row = store::lists::endpoint(&state.pool, &provider_id, &id)
        .await?
        .ok_or(ApiError::NotFound("endpoint"))?;
    Ok(Json(endpoint_view(row)?))
}
