//! Reading what happened: events and their webhook deliveries, settled payments — listed
//! with cursor pagination (`limit`, `starting_after`, `has_more`, `data`) or fetched one by
//! one — and a manual resend of an event. A tenant sees only its own rows (another tenant's
//! row answers exactly as a missing one); the operator sees all and may filter by tenant.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::Value;

use crate::base::error::ApiError;
use crate::base::ledger::asset_of_key;
use crate::base::shapes::{
    DeliveryQuery, DeliveryView, EndpointUpdate, EndpointView, EventQuery, EventView, ListOf, Me,
    PageQuery, PaymentQuery, PaymentView, PostingView, Resent,
};
use crate::base::util::now_i64;
use crate::services::auth::{Caller, TenantKind};
use crate::services::state::AppState;
use crate::store;
use crate::store::lists::{AttemptRow, Bind, EventRow, Page, PaymentRow};

/// Rows per page when `limit` is absent.
pub const DEFAULT_LIMIT: i64 = 10;
/// The most rows a page holds.
pub const MAX_LIMIT: i64 = 100;

/// The page size asked for: [`DEFAULT_LIMIT`] when absent, `limit_invalid` outside 1–[`MAX_LIMIT`].
pub fn limit_of(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::Invalid {
            code: "limit_invalid",
            message: format!("limit must be from 1 to {MAX_LIMIT}, got {n}"),
        }),
    }
}

/// The tenant a tenant caller is confined to (`None` for the operator), if it holds `read`.
fn reader(caller: &Caller) -> Result<Option<(&str, TenantKind)>, ApiError> {
    match caller {
        Caller::Operator => Ok(None),
        Caller::Tenant { id, kind, scopes } => {
            if scopes.iter().any(|s| s == "read") {
                Ok(Some((id.as_str(), *kind)))
            } else {
                Err(ApiError::Forbidden("read"))
            }
        }
    }
}

fn list<T>(data: Vec<T>, has_more: bool) -> Json<ListOf<T>> {
    Json(ListOf {
        object: "list".into(),
        data,
        has_more,
    })
}

/// A `starting_after` that names no row of the list (`cursor_invalid`).
pub fn cursor_not_found() -> ApiError {
    ApiError::Invalid {
        code: "cursor_invalid",
        message: "starting_after names no row of this list".into(),
    }
}

fn event_view(row: EventRow) -> EventView {
    let pending = row.status == "pending";
    EventView {
        data: serde_json::from_str(&row.data).unwrap_or(Value::Null),
        id: row.id,
        event_type: row.event_type,
        created: row.created_at,
        tenant_id: row.tenant_id,
        status: row.status,
        attempts: row.attempts,
        // Stored in milliseconds; shown in seconds, as every other time of the API.
        next_attempt_at: pending.then_some(row.next_attempt_at / 1000),
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        delivered_at: row.delivered_at,
    }
}

fn delivery_view(row: AttemptRow) -> DeliveryView {
    DeliveryView {
        id: row.id,
        event_id: row.event_id,
        attempt: row.attempt,
        url: row.url,
        status_code: row.status_code,
        error: row.error,
        duration_ms: row.duration_ms,
        created: row.created_at,
    }
}

/// Formats atomic units of a balance key in the asset's decimals (atomic when unknown).
fn decimal(state: &AppState, asset: &str, atomic: i64) -> String {
    let amount = paywire_core::Amount::new(u128::try_from(atomic).unwrap_or(0));
    match asset_of_key(&state.ledger_network, asset) {
        Some(asset) => asset.format(amount),
        None => amount.to_string(),
    }
}

/// Signed atomic units of a balance key in the asset's decimals (atomic when unknown).
pub fn signed_amount(state: &AppState, asset: &str, atomic: i128) -> String {
    let magnitude = paywire_core::Amount::new(atomic.unsigned_abs());
    let text = match asset_of_key(&state.ledger_network, asset) {
        Some(asset) => asset.format(magnitude),
        None => magnitude.to_string(),
    };
    if atomic < 0 {
        format!("-{text}")
    } else {
        text
    }
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
        provider_id: row.provider_id,
        asset: row.asset,
        payment_identifier: row.payment_identifier,
        resource: row.resource,
        created: row.created_at,
    }
}

/// A page of a tenant's rows (`x.tenant_id`): the caller's own, or for the operator all or
/// `tenant`'s.
fn tenant_page(
    caller: &Caller,
    limit: Option<i64>,
    starting_after: Option<String>,
    tenant: Option<String>,
) -> Result<Page, ApiError> {
    let mut page = Page {
        limit: limit_of(limit)?,
        starting_after,
        ..Default::default()
    };
    match (reader(caller)?, tenant) {
        (Some((own, _)), _) => page.filter("x.tenant_id = ?", Bind::Text(own.into())),
        (None, Some(tenant)) => page.filter("x.tenant_id = ?", Bind::Text(tenant)),
        (None, None) => {}
    }
    Ok(page)
}

/// `GET /v1/events`: the caller's events, newest first.
pub async fn get_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<EventQuery>,
) -> Result<Json<ListOf<EventView>>, ApiError> {
    let mut page = tenant_page(&caller, query.limit, query.starting_after, query.tenant)?;
    if let Some(event_type) = query.event_type {
        page.filter("x.event = ?", Bind::Text(event_type));
    }
    if let Some(status) = query.status {
        page.filter("x.status = ?", Bind::Text(status));
    }
    let (rows, more) = store::lists::events(&state.pool, &page)
        .await?
        .ok_or_else(cursor_not_found)?;
    Ok(list(rows.into_iter().map(event_view).collect(), more))
}

async fn own_event(state: &AppState, caller: &Caller, id: &str) -> Result<EventRow, ApiError> {
    let row = store::lists::event(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    caller.require_tenant(&row.tenant_id, "read", "event")?;
    Ok(row)
}

/// `GET /v1/events/{id}`.
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    Ok(Json(event_view(own_event(&state, &caller, &id).await?)))
}

/// `POST /v1/events/{id}/resend`: queues the event for its endpoint again, now.
pub async fn post_resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Resent>, ApiError> {
    let row = own_event(&state, &caller, &id).await?;
    caller.require_tenant(&row.tenant_id, "write", "event")?;
    if !store::events::resend(&state.pool, &id, Some(&row.tenant_id), now_i64() * 1000).await? {
        return Err(ApiError::Conflict {
            code: "event_not_resendable",
            message: "the event is being sent right now, or its tenant has no webhook endpoint"
                .into(),
        });
    }
    Ok(Json(Resent {
        id,
        status: "pending".into(),
    }))
}

/// `GET /v1/webhook-deliveries`: the caller's delivery attempts, newest first.
pub async fn get_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<ListOf<DeliveryView>>, ApiError> {
    let mut page = tenant_page(&caller, query.limit, query.starting_after, query.tenant)?;
    if let Some(event) = query.event {
        page.filter("x.event_id = ?", Bind::Text(event));
    }
    let (rows, more) = store::lists::attempts(&state.pool, &page)
        .await?
        .ok_or_else(cursor_not_found)?;
    Ok(list(rows.into_iter().map(delivery_view).collect(), more))
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

/// `GET /metrics` (operator): Prometheus text exposition.
pub async fn get_metrics(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
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

/// `GET /v1/wallets/{id}/journal`: the wallet's postings, newest first (operator, or the
/// owning tenant with `read`).
pub async fn get_journal(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ListOf<PostingView>>, ApiError> {
    match store::wallets::owner(&state.pool, &wallet_id).await? {
        Some((Some(tenant), _)) => caller.require_tenant(&tenant, "read", "wallet")?,
        Some((None, _)) => caller
            .require_operator()
            .map_err(|_| ApiError::NotFound("wallet"))?,
        None => return Err(ApiError::NotFound("wallet")),
    }
    let mut page = Page {
        limit: limit_of(query.limit)?,
        starting_after: query.starting_after,
        ..Default::default()
    };
    page.filter("x.wallet_id = ?", Bind::Text(wallet_id));
    let (rows, more) = store::lists::journal(&state.pool, &page)
        .await?
        .ok_or_else(cursor_not_found)?;
    let data = rows
        .into_iter()
        .map(|row| PostingView {
            amount: signed_amount(&state, &row.asset, i128::from(row.amount)),
            amount_atomic: row.amount.to_string(),
            id: row.id,
            entry_id: row.entry_id,
            asset: row.asset,
            kind: row.kind,
            created: row.created_at,
        })
        .collect();
    Ok(list(data, more))
}

/// `GET /v1/me`: who the key belongs to (any valid key).
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    Ok(Json(match caller {
        Caller::Operator => Me {
            kind: "operator".into(),
            tenant_id: None,
            name: None,
            wallet_id: None,
            scopes: crate::services::auth::SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        },
        Caller::Tenant { id, scopes, .. } => {
            let (kind, name, wallet) = store::lists::tenant(&state.pool, &id)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Me {
                kind,
                tenant_id: Some(id),
                name: Some(name),
                wallet_id: wallet,
                scopes,
            }
        }
    }))
}
