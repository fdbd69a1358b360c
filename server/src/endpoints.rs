//! Providers' priced endpoints: price rules (paywire-core's, with tiers, quotas and overrides),
//! quotes and the x402 402 body for a request, and bundles sold as access tokens.

use axum::extract::{Path, State};
use axum::Json;
use paywire_core::money::{Asset, AssetRegistry};
use paywire_core::pricing::{PaymentOption, PriceRule, Pricebook, QuoteRequest};
use paywire_core::protocol::ResourceInfo;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::accounts::{ledger_asset, LEDGER_DECIMALS};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;
use crate::util::{new_id, now_i64};

/// What a bundle sells: further calls after the paid one, within a time window.
pub use paywire_core::token::Bundle;

/// `POST /v1/providers/{id}/endpoints` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEndpoint {
    /// `GET`, `POST`, … or `*`.
    pub method: String,
    /// A path pattern such as `/v1/weather/:city`.
    pub path: String,
    /// The price, in atomic units of the ledger dollar (6 decimals).
    /// (Read as the core's `Price` when the rule is built, so a bad price is
    /// `pricing_rule_invalid`, like any other rule error.)
    pub price: Value,
    /// Prices for particular consumers.
    #[serde(default)]
    pub overrides: std::collections::BTreeMap<String, Value>,
    /// What the endpoint is.
    #[serde(default)]
    pub description: Option<String>,
    /// Sell a bundle with each payment.
    #[serde(default)]
    pub bundle: Option<Bundle>,
}

/// A provider's endpoints as a core pricebook (in registration order) with their bundles.
pub async fn pricebook(
    state: &AppState,
    provider_id: &str,
) -> Result<(Pricebook, Vec<Option<Bundle>>), ApiError> {
    let rows =
        sqlx::query("SELECT rule, bundle FROM endpoints WHERE provider_id = $1 ORDER BY position")
            .bind(provider_id)
            .fetch_all(&state.pool)
            .await?;
    let mut rules = vec![];
    let mut bundles = vec![];
    for row in rows {
        let rule: String = row.try_get("rule")?;
        let bundle: Option<String> = row.try_get("bundle")?;
        rules.push(
            serde_json::from_str::<PriceRule>(&rule)
                .map_err(|e| ApiError::Internal(format!("stored rule: {e}")))?,
        );
        bundles.push(
            bundle
                .map(|b| serde_json::from_str::<Bundle>(&b))
                .transpose()
                .map_err(|e| ApiError::Internal(format!("stored bundle: {e}")))?,
        );
    }
    let mut book = Pricebook::new(rules);
    book.decimals = LEDGER_DECIMALS;
    book.fee_bps = state.fee_bps;
    Ok((book, bundles))
}

/// `POST /v1/providers/{id}/endpoints` (operator, or the provider with `write`).
pub async fn post_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_tenant(&provider_id, "write", "provider")?;
    let body: NewEndpoint =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let rule: PriceRule = serde_json::from_value(
        json!({"method": body.method, "path": body.path, "price": body.price,
        "overrides": body.overrides, "description": body.description}),
    )
    .map_err(|e| ApiError::Core(paywire_core::Error::PricingRuleInvalid(e.to_string())))?;
    Pricebook::new(vec![rule.clone()]).validate()?;
    if body
        .bundle
        .is_some_and(|b| b.seconds == 0 || b.max_uses == Some(0))
    {
        return Err(ApiError::BadRequest(
            "a bundle needs seconds >= 1 and maxUses >= 1".into(),
        ));
    }
    let kind = sqlx::query("SELECT kind FROM tenants WHERE id = $1")
        .bind(&provider_id)
        .fetch_optional(&state.pool)
        .await?;
    if kind
        .map(|r| r.try_get::<String, _>("kind"))
        .transpose()?
        .as_deref()
        != Some("provider")
    {
        return Err(ApiError::NotFound("provider"));
    }
    let id = new_id("end");
    let position = now_i64() * 1000 + i64::from(crate::util::random_bytes::<1>()[0]);
    sqlx::query("INSERT INTO endpoints (id, provider_id, rule, bundle, position, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&provider_id)
        .bind(serde_json::to_string(&rule).map_err(|e| ApiError::BadRequest(e.to_string()))?)
        .bind(body.bundle.map(|b| serde_json::to_string(&b)).transpose().map_err(|e| ApiError::BadRequest(e.to_string()))?)
        .bind(position)
        .bind(now_i64())
        .execute(&state.pool)
        .await?;
    Ok(Json(
        json!({"id": id, "providerId": provider_id, "rule": rule, "bundle": body.bundle}),
    ))
}

/// `POST /v1/providers/{id}/quote` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuoteBody {
    /// The request's method.
    pub method: String,
    /// The full resource URL.
    pub url: String,
    /// The consumer, for overrides.
    #[serde(default)]
    pub consumer: Option<String>,
    /// The metered quantity.
    #[serde(default)]
    pub quantity: Option<u64>,
}

/// `POST /v1/providers/{id}/quote` (the provider with `read`, or the operator): the price of a
/// request and the x402 v2 402 body offering the ledger and, when the provider has an EVM
/// address, devnet USDC.
pub async fn post_quote(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_tenant(&provider_id, "read", "provider")?;
    let body: QuoteBody =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (book, _) = pricebook(&state, &provider_id).await?;
    let path = url_path(&body.url);
    let mut request = QuoteRequest::new(&body.method, path);
    request.consumer = body.consumer;
    request.quantity = body.quantity.unwrap_or(1);
    let quote = book.quote(&request)?;
    if quote.amount.is_zero() {
        // A free request (a free quota): nothing to pay, no 402.
        return Ok(Json(json!({"quote": quote, "paymentRequired": null})));
    }
    let options = payment_options(&state, &provider_id).await?;
    let mut resource = ResourceInfo::new(&body.url);
    resource.description = book.rules[quote.rule].description.clone();
    let required =
        quote.payment_required_v2(&options, resource, Some("Payment required".into()), None)?;
    Ok(Json(json!({"quote": quote, "paymentRequired": required})))
}

/// The ways a provider accepts payment: the ledger, and devnet USDC when it has an EVM address.
pub async fn payment_options(
    state: &AppState,
    provider_id: &str,
) -> Result<Vec<PaymentOption>, ApiError> {
    let provider = sqlx::query("SELECT w.id AS wallet, t.evm_address FROM wallets w JOIN tenants t ON t.id = w.tenant_id WHERE t.id = $1 AND w.kind = 'provider'")
        .bind(provider_id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::NotFound("provider"))?;
    let mut options = vec![PaymentOption {
        scheme: "exact".into(),
        asset: ledger_asset(state),
        pay_to: provider.try_get("wallet")?,
        max_timeout_seconds: 300,
    }];
    if let Some(address) = provider.try_get::<Option<String>, _>("evm_address")? {
        let registry = AssetRegistry::with_defaults();
        for network in &state.devnet_networks {
            if let Some(asset) = registry.iter().find(|a: &&Asset| &a.network == network) {
                options.push(PaymentOption {
                    scheme: "exact".into(),
                    asset: asset.clone(),
                    pay_to: address.clone(),
                    max_timeout_seconds: 300,
                });
            }
        }
    }
    Ok(options)
}

/// The path of a URL (or the text itself when it is already a path).
pub fn url_path(url: &str) -> &str {
    match url.find("://") {
        Some(scheme) => {
            let rest = &url[scheme + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        None => url,
    }
}
