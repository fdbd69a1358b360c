//! A tenant's API keys: make one (shown once), list them (never showing a key), revoke one.
//! A tenant's key can only make or revoke keys whose scopes it holds itself.

use axum::extract::{Path, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::util::now_i64;
use crate::services::auth::{create_api_key, Caller, SCOPES};
use crate::services::state::AppState;
use crate::store;

/// `POST /v1/tenants/{id}/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Scopes among `read`, `write` and `manage`; a tenant's key can only grant its own.
    pub scopes: Vec<String>,
}

/// A key just made (the key is shown this once; `null` in a replay, listed in `redacted`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyCreated {
    /// `key_…`, to list and revoke it by.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The secret key.
    pub api_key: Option<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Secret fields withheld because they were shown once already.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// A tenant's key, as listings show it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// `key_…`.
    pub id: String,
    /// The scopes it carries.
    pub scopes: Vec<String>,
    /// The key's last four characters, to tell keys apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// When it was created, unix seconds.
    pub created_at: i64,
    /// When it was revoked, unix seconds; absent while it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// `GET /v1/tenants/{id}/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyList {
    /// The tenant's keys, oldest first.
    pub data: Vec<ApiKeyInfo>,
}

async fn tenant_kind(state: &AppState, tenant_id: &str) -> Result<String, ApiError> {
    store::tenants::kind(&state.pool, tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))
}

/// `POST /v1/tenants/{id}/api-keys` (operator, or the tenant with `write`): a new key, shown
/// once.
pub async fn post_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<Json<KeyCreated>, ApiError> {
    caller.require_tenant(&tenant_id, "write", "tenant")?;
    if body.scopes.is_empty() || body.scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest(
            "scopes are a non-empty subset of read, write, manage".into(),
        ));
    }
    if !caller.holds_all(&body.scopes) {
        return Err(ApiError::Forbidden(
            "make a key with scopes it does not hold",
        ));
    }
    let kind = tenant_kind(&state, &tenant_id).await?;
    let key = create_api_key(&state.pool, &tenant_id, &kind, &body.scopes).await?;
    Ok(Json(KeyCreated {
        id: key.id,
        tenant_id,
        api_key: Some(key.key),
        scopes: body.scopes,
        redacted: vec![],
    }))
}

/// `GET /v1/tenants/{id}/api-keys` (operator, or the tenant with `read`).
pub async fn get_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<KeyList>, ApiError> {
    caller.require_tenant(&tenant_id, "read", "tenant")?;
    tenant_kind(&state, &tenant_id).await?;
    let data = store::keys::list(&state.pool, &tenant_id).await?;
    Ok(Json(KeyList {
        data: data.into_iter().map(ApiKeyInfo::from).collect(),
    }))
}

/// `GET /v1/tenants/{id}/api-keys/{keyId}` (operator, or the tenant with `read`).
pub async fn get_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Json<ApiKeyInfo>, ApiError> {
    caller.require_tenant(&tenant_id, "read", "tenant")?;
    let key = store::keys::get(&state.pool, &tenant_id, &key_id)
        .await?
        .ok_or(ApiError::NotFound("api key"))?;
    Ok(Json(key.into()))
}

/// `DELETE /v1/tenants/{id}/api-keys/{keyId}` (operator, or the tenant with `write` holding
/// every scope of the key it revokes).
pub async fn delete_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Json<ApiKeyInfo>, ApiError> {
    caller.require_tenant(&tenant_id, "write", "tenant")?;
    let key = store::keys::get(&state.pool, &tenant_id, &key_id)
        .await?
        .ok_or(ApiError::NotFound("api key"))?;
    if !caller.holds_all(&key.scopes) {
        return Err(ApiError::Forbidden(
            "revoke a key with scopes it does not hold",
        ));
    }
    store::keys::revoke(&state.pool, &tenant_id, &key_id, now_i64()).await?;
    let key = store::keys::get(&state.pool, &tenant_id, &key_id)
        .await?
        .ok_or(ApiError::NotFound("api key"))?;
    Ok(Json(key.into()))
}

impl From<store::keys::KeyRow> for ApiKeyInfo {
    fn from(row: store::keys::KeyRow) -> Self {
        ApiKeyInfo {
            id: row.id,
            scopes: row.scopes,
            hint: row.hint,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}
