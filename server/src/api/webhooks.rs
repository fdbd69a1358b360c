//! A provider's webhook settings: the URL events go to (checked by [`crate::base::webhook_url`]) and a
//! new signing secret, sealed at rest and shown once.

use axum::extract::{Path, State};
use axum::Json;

use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::shapes::{WebhookSet, WebhookSettings};
use crate::base::util::random_bytes;
use crate::services::auth::Caller;
use crate::services::state::AppState;
use crate::store;

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
