//! Settled payments: listed (a provider's received, an agent's made) or fetched one by one.

use axum::extract::{Path, Query, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::page::{cursor_not_found, decimal, limit_of, list, reader, ListOf};
use crate::base::error::ApiError;
use crate::services::auth::{Caller, TenantKind};
use crate::services::state::AppState;
use crate::store;
use crate::store::lists::{Bind, Page, PaymentRow};

/// `GET /v1/payments` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Only payments to this provider.
    pub provider: Option<String>,
    /// Only payments by this agent.
    pub agent: Option<String>,
    /// Only payments on this network.
    pub network: Option<String>,
    /// Only payments for this resource (the endpoint's URL, as the payment named it).
    pub resource: Option<String>,
    /// Only payments at or after this time (unix seconds).
    #[serde(rename = "created[gte]")]
    pub created_gte: Option<i64>,
    /// Only payments at or before this time (unix seconds).
    #[serde(rename = "created[lte]")]
    pub created_lte: Option<i64>,
}

/// A settled payment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// `pay_…`: the settlement's transaction id.
    pub id: String,
    /// The network.
    pub network: String,
    /// The payer as the payment names it.
    pub payer: String,
    /// The paying wallet.
    pub payer_wallet: String,
    /// The paying agent, if the wallet is an agent's.
    pub agent_id: Option<String>,
    /// The paying agent's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The provider paid.
    pub provider_id: Option<String>,
    /// The provider's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    /// The balance key of the asset.
    pub asset: String,
    /// Paid, in the asset's units (decimal string).
    pub amount: String,
    /// The platform's fee.
    pub fee: String,
    /// The provider's net.
    pub net: String,
    /// Paid, in atomic units.
    pub amount_atomic: String,
    /// The x402 payment identifier.
    pub payment_identifier: Option<String>,
    /// The resource paid for (the x402 resource URL).
    pub resource: Option<String>,
    /// When it settled, unix seconds.
    pub created: i64,
}

/// The API view of a payment row.
pub fn payment_view(state: &AppState, row: PaymentRow) -> PaymentView {
    PaymentView {
        amount: decimal(state, &row.asset, row.amount),
        fee: decimal(state, &row.asset, row.fee),
        net: decimal(state, &row.asset, row.net),
        amount_atomic: row.amount.to_string(),
        id: row.id,
        network: row.network,
        payer: row.payer,
        payer_wallet: row.payer_wallet,
        agent_id: row.agent_id,
        agent_name: row.agent_name,
        provider_id: row.provider_id,
        provider_name: row.provider_name,
        asset: row.asset,
        payment_identifier: row.payment_identifier,
        resource: row.resource,
        created: row.created_at,
    }
}

/// The filters of a payments listing, for the caller (shared by the CSV export).
pub fn payment_page(caller: &Caller, query: PaymentQuery) -> Result<Page, ApiError> {
    let mut page = Page {
        limit: limit_of(query.limit)?,
        starting_after: query.starting_after,
        ..Default::default()
    };
    match reader(caller)? {
        Some((own, TenantKind::Provider)) => {
            page.filter("x.provider_id = ?", Bind::Text(own.into()));
        }
        Some((own, TenantKind::Agent)) => page.filter("pw.tenant_id = ?", Bind::Text(own.into())),
        None => {}
    }
    if let Some(provider) = query.provider {
        page.filter("x.provider_id = ?", Bind::Text(provider));
    }
    if let Some(agent) = query.agent {
        page.filter("pw.tenant_id = ?", Bind::Text(agent));
    }
    if let Some(network) = query.network {
        page.filter("x.network = ?", Bind::Text(network));
    }
    if let Some(resource) = query.resource {
        page.filter("x.resource = ?", Bind::Text(resource));
    }
    if let Some(from) = query.created_gte {
        page.filter("x.created_at >= ?", Bind::Int(from));
    }
    if let Some(to) = query.created_lte {
        page.filter("x.created_at <= ?", Bind::Int(to));
    }
    Ok(page)
}

/// `GET /v1/payments`: the caller's payments (a provider's received, an agent's made),
/// newest first.
pub async fn get_payments(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PaymentQuery>,
) -> Result<Json<ListOf<PaymentView>>, ApiError> {
    let page = payment_page(&caller, query)?;
    let (rows, more) = store::lists::payments(&state.pool, &page)
        .await?
        .ok_or_else(cursor_not_found)?;
    Ok(list(
        rows.into_iter()
            .map(|row| payment_view(&state, row))
            .collect(),
        more,
    ))
}

/// `GET /v1/payments/{id}`.
pub async fn get_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    let row = store::lists::payment(&state.pool, &id)
        .await?
        .ok_or(ApiError::NotFound("payment"))?;
    let allowed = match &caller {
        Caller::Operator => true,
        Caller::Tenant { id: own, .. } => {
            row.provider_id.as_deref() == Some(own.as_str())
                || row.agent_id.as_deref() == Some(own.as_str())
        }
    };
    if !allowed {
        return Err(ApiError::NotFound("payment"));
    }
    reader(&caller)?;
    Ok(Json(payment_view(&state, row)))
}
