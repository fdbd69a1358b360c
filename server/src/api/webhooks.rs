//! A provider's webhook settings: the URL events go to (checked by [`crate::base::webhook_url`]) and a
//! new signing secret, sealed at rest and shown once.

use axum::extract::{Path, Query, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::page::{cursor_not_found, list, tenant_page, ListOf};
use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::util::{now_i64, random_bytes};
use crate::services::auth::Caller;
use crate::services::state::AppState;
use crate::store;
use crate::store::lists::{AttemptRow, Bind, EventRow};

/// `PUT /v1/providers/{id}/webhook`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where events are POSTed: `https://` to a public address (loopback only when the server
    /// allows it for development).
    pub url: String,
}

/// The webhook now set, and its new signing secret (shown once; `null` in a replay).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSet {
    /// The provider.
    pub provider_id: String,
    /// The URL, as parsed.
    pub url: String,
    /// The signing secret (`whsec_…`).
    pub secret: Option<String>,
    /// Secret fields withheld because they were shown once already.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// Paging parameters every list takes.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only events in this delivery state (`none`, `pending`, `delivered`, `failed`).
    pub status: Option<String>,
    /// Operator only: one tenant's events.
    pub tenant: Option<String>,
}

/// `GET /v1/webhook-deliveries` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Only the attempts of this event.
    pub event: Option<String>,
    /// Operator only: one tenant's attempts.
    pub tenant: Option<String>,
}

/// An event and the state of its webhook delivery.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `evt_…`: receivers deduplicate by it.
    pub id: String,
    /// `payment.settled`, `payment.refused`, `wallet.funded`, `token.issued`,
    /// `webhook_endpoint.disabled`, ….
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened, unix seconds.
    pub created: i64,
    /// The object it is about.
    pub data: Value,
    /// Whose event it is.
    pub tenant_id: String,
    /// `none` (no endpoint when it happened), `pending`, `delivered` or `failed` (given up).
    pub status: String,
    /// Delivery attempts made.
    pub attempts: i64,
    /// When the next attempt is due (unix seconds), while pending.
    pub next_attempt_at: Option<i64>,
    /// The last attempt's HTTP status.
    pub last_status_code: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was delivered (unix seconds).
    pub delivered_at: Option<i64>,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// `wha_…`.
    pub id: String,
    /// The event it carried.
    pub event_id: String,
    /// That event's type (`payment.settled`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Its number, from 1.
    pub attempt: i64,
    /// Where it went.
    pub url: String,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took, milliseconds.
    pub duration_ms: i64,
    /// When, unix seconds.
    pub created: i64,
}

/// `POST /v1/events/{id}/resend`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    /// The event, queued again.
    pub id: String,
    /// Now `pending`.
    pub status: String,
}

/// `PUT /v1/providers/{id}/webhook` (operator, or the provider with `write`).
pub async fn put_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    JsonBody(body): JsonBody<WebhookSettings>,
) -> Result<Json<WebhookSet>, ApiError> {
    caller.require_tenant(&provider_id, "write", "provider")?;
    Ok(Json(set(&state, provider_id, &body.url).await?))
}

/// Checks `url` and makes it `provider_id`'s endpoint with a new secret (enabling it again if
/// it was disabled); the secret is in the answer, once.
pub async fn set(state: &AppState, provider_id: String, url: &str) -> Result<WebhookSet, ApiError> {
    let url = crate::base::webhook_url::check(url, state.allow_loopback_webhooks).await?;
    let secret = format!("whsec_{}", hex::encode(random_bytes::<24>()));
    let sealed = state.sealer.seal(
        secret.as_bytes(),
        &crate::infra::secrets::webhook_aad(&provider_id),
    );
    if !store::tenants::set_webhook(&state.pool, &provider_id, url.as_str(), &sealed).await? {
        return Err(ApiError::NotFound("provider"));
    }
    Ok(WebhookSet {
        provider_id,
        url: url.to_string(),
        secret: Some(secret),
        redacted: vec![],
    })
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
        event_type: row.event_type,
        attempt: row.attempt,
        url: row.url,
        status_code: row.status_code,
        error: row.error,
        duration_ms: row.duration_ms,
        created: row.created_at,
    }
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
