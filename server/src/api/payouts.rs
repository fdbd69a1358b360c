//! Payouts: a provider moves its balance out of the ledger. Creating one (`pending`) moves the
//! amount to the payouts clearing wallet; the operator, once the transfer outside happened,
//! marks it `paid` or `failed` (the amount goes back). The rules and the money's movements are
//! [`crate::services::money`]'s; each step is one transaction with its journal entry and its
//! event (`payout.created`, `payout.paid`, `payout.failed`). Creation is idempotent under an
//! `Idempotency-Key` (the payout's id derives from it).

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::page::ListOf;
use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::ledger::{asset_of_key, to_db_amount, LEDGER_ASSET};
use crate::base::util::new_id;
use crate::services::auth::{Caller, TenantKind};
use crate::services::idempotency::Reference;
use crate::services::money;
use crate::services::state::AppState;
use crate::store;
use crate::store::payouts::PayoutRow;

/// `POST /v1/payouts`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPayout {
    /// The provider paid out (the operator must name it; a provider's key pays out its own).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// How much, in the asset's units (`"12.50"`) [default: the whole balance].
    #[serde(default)]
    pub amount: Option<String>,
    /// The balance key of the asset [default: `USD`, the ledger dollar].
    #[serde(default)]
    pub asset: Option<String>,
}

/// `POST /v1/payouts/{id}/failed`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PayoutFailure {
    /// Why the transfer failed (shown to the provider).
    pub reason: String,
}

/// A payout.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutView {
    /// `po_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The wallet it left.
    pub wallet_id: String,
    /// The balance key of the asset.
    pub asset: String,
    /// In the asset's units.
    pub amount: String,
    /// In atomic units.
    pub amount_atomic: String,
    /// `pending` (the amount left the balance), `paid` (it left the ledger) or `failed` (it
    /// came back).
    pub status: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// When the status last changed, unix seconds.
    pub updated: i64,
}

/// `GET /v1/payouts` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Operator only: one provider's payouts.
    pub provider: Option<String>,
}

fn view(state: &AppState, row: PayoutRow) -> PayoutView {
    PayoutView {
        amount: crate::api::page::signed_amount(state, &row.asset, i128::from(row.amount)),
        amount_atomic: row.amount.to_string(),
        id: row.id,
        provider_id: row.provider_id,
        wallet_id: row.wallet_id,
        asset: row.asset,
        status: row.status,
        failure_reason: row.failure_reason,
        created: row.created_at,
        updated: row.updated_at,
    }
}

fn event_data(state: &AppState, row: &PayoutRow) -> String {
    serde_json::to_string(&view(state, row.clone())).unwrap_or_else(|_| "{}".into())
}

/// `POST /v1/payouts`: the provider's key (`write`) pays out its own balance; the operator
/// names the provider.
pub async fn post_payout(
    State(state): State<AppState>,
    caller: Caller,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<NewPayout>,
) -> Result<Json<PayoutView>, ApiError> {
    let provider_id = match (&caller, body.provider_id) {
        (Caller::Operator, Some(id)) => id,
        (Caller::Operator, None) => {
            return Err(ApiError::BadRequest(
                "the operator names the provider: providerId".into(),
            ))
        }
        (
            Caller::Tenant {
                id,
                kind: TenantKind::Provider,
                ..
            },
            named,
        ) => {
            if named.as_ref().is_some_and(|n| n != id) {
                return Err(ApiError::NotFound("provider"));
            }
            id.clone()
        }
        (Caller::Tenant { .. }, _) => return Err(ApiError::Forbidden("pay out (agents spend)")),
    };
    caller.require_tenant(&provider_id, "write", "provider")?;
    let wallet_id = store::reports::wallet_of(&state.pool, &provider_id, "provider")
        .await?
        .ok_or(ApiError::NotFound("provider"))?;
    let asset_key = body.asset.unwrap_or_else(|| LEDGER_ASSET.to_string());
    let asset = asset_of_key(&state.ledger_network, &asset_key).ok_or_else(|| {
        ApiError::BadRequest(format!("{asset_key} is not an asset of this ledger"))
    })?;
    let minimum = asset.parse_price(&state.payout_minimum)?;
    let requested = match body.amount {
        Some(text) => Some(to_db_amount(asset.parse_price(&text)?)?),
        None => None,
    };
    let id = match reference {
        Some(Extension(reference)) => reference.derive_id("po"),
        None => new_id("po"),
    };
    let payout = money::NewPayout {
        id: &id,
        provider_id: &provider_id,
        wallet_id: &wallet_id,
        asset_key: &asset_key,
        asset: &asset,
        requested,
        minimum,
    };
    let row = money::create_payout(&state, &payout, |row| event_data(&state, row)).await?;
    Ok(Json(view(&state, row)))
}

async fn finish(state: &AppState, id: &str, failure: Option<&str>) -> Result<PayoutView, ApiError> {
    let row = money::finish_payout(state, id, failure, |row| event_data(state, row)).await?;
    Ok(view(state, row))
}

/// `POST /v1/payouts/{id}/paid` (operator): the transfer outside happened.
pub async fn post_paid(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    Ok(Json(finish(&state, &id, None).await?))
}

/// `POST /v1/payouts/{id}/failed` (operator): the transfer failed; the amount goes back.
pub async fn post_failed(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PayoutFailure>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.len() > 500 {
        return Err(ApiError::BadRequest("a reason of 1-500 characters".into()));
    }
    Ok(Json(finish(&state, &id, Some(reason)).await?))
}

/// `GET /v1/payouts/{id}` (operator, or the provider with `read`).
pub async fn get_payout(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PayoutView>, ApiError> {
    let row = store::payouts::find(&state.pool, &id)
        .await?
        .ok_or(ApiError::NotFound("payout"))?;
    caller.require_tenant(&row.provider_id, "read", "payout")?;
    Ok(Json(view(&state, row)))
}

/// `GET /v1/payouts`: the provider's payouts (the operator's: all, or `?provider=`), newest
/// first.
pub async fn get_payouts(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PayoutQuery>,
) -> Result<Json<ListOf<PayoutView>>, ApiError> {
    let mut page = store::lists::Page {
        limit: crate::api::page::limit_of(query.limit)?,
        starting_after: query.starting_after,
        ..Default::default()
    };
    let tenant = match &caller {
        Caller::Operator => query.provider,
        Caller::Tenant { id, .. } => {
            caller.require_tenant(id, "read", "payout")?;
            Some(id.clone())
        }
    };
    if let Some(tenant) = tenant {
        page.filter("x.provider_id = ?", store::lists::Bind::Text(tenant));
    }
    let (rows, more) = store::payouts::list(&state.pool, &page)
        .await?
        .ok_or_else(crate::api::page::cursor_not_found)?;
    Ok(Json(ListOf {
        object: "list".into(),
        data: rows.into_iter().map(|row| view(&state, row)).collect(),
        has_more: more,
    }))
}
