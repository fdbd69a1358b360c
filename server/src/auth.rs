//! Who is calling: the operator (admin key) or a tenant (provider or agent API key). Keys are
//! shown once and stored as SHA-256 hashes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::Row;

use crate::error::ApiError;
use crate::util::{now_i64, sha256_hex};
use crate::AppState;

/// A tenant's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKind {
    /// Sells API calls.
    Provider,
    /// Pays for them.
    Agent,
}

impl TenantKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::Provider => "provider",
            TenantKind::Agent => "agent",
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator: may do everything.
    Operator,
    /// A tenant, with the scopes its key carries.
    Tenant {
        /// The tenant's id.
        id: String,
        /// Provider or agent.
        kind: TenantKind,
        /// Scopes such as `read`, `write`.
        scopes: Vec<String>,
    },
}

impl Caller {
    /// Fails unless the caller is the operator.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Tenant { .. } => Err(ApiError::Forbidden("use operator endpoints")),
        }
    }

    /// Fails unless the caller is the operator or the tenant `tenant_id` holding `scope`.
    pub fn require_tenant(&self, tenant_id: &str, scope: &'static str) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Tenant { id, scopes, .. } if id == tenant_id => {
                if scopes.iter().any(|s| s == scope) {
                    Ok(())
                } else {
                    Err(ApiError::Forbidden(scope))
                }
            }
            // Another tenant's object is indistinguishable from a missing one.
            Caller::Tenant { .. } => Err(ApiError::NotFound("object")),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let hash = sha256_hex(key);
        let operator = sqlx::query("SELECT 1 FROM operator_keys WHERE hash = $1")
            .bind(&hash)
            .fetch_optional(&state.pool)
            .await?;
        if operator.is_some() {
            return Ok(Caller::Operator);
        }
        let row = sqlx::query(
            "SELECT k.tenant_id, k.scopes, t.kind FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::Unauthorized)?;
        let kind: String = row.try_get("kind")?;
        let scopes: String = row.try_get("scopes")?;
        Ok(Caller::Tenant {
            id: row.try_get("tenant_id")?,
            kind: if kind == "provider" {
                TenantKind::Provider
            } else {
                TenantKind::Agent
            },
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
        })
    }
}

/// Creates an API key for a tenant and returns it (the only time it is visible).
pub async fn create_api_key(
    state: &AppState,
    tenant_id: &str,
    scopes: &[String],
) -> Result<String, ApiError> {
    let key = format!("pk_{}", hex::encode(crate::util::random_bytes::<24>()));
    sqlx::query(
        "INSERT INTO api_keys (hash, tenant_id, scopes, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(sha256_hex(&key))
    .bind(tenant_id)
    .bind(scopes.join(" "))
    .bind(now_i64())
    .execute(&state.pool)
    .await?;
    Ok(key)
}

/// Makes sure an operator key exists: registers `configured` if given, else generates one on
/// first start. Returns a key only when it was generated now (to print once).
pub async fn ensure_operator_key(
    state: &AppState,
    configured: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(key) = configured {
        sqlx::query("INSERT INTO operator_keys (hash, created_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING")
            .bind(sha256_hex(key))
            .bind(now_i64())
            .execute(&state.pool)
            .await?;
        return Ok(None);
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM operator_keys")
        .fetch_one(&state.pool)
        .await?
        .try_get("n")?;
    if count > 0 {
        return Ok(None);
    }
    let key = format!("ak_{}", hex::encode(crate::util::random_bytes::<24>()));
    sqlx::query("INSERT INTO operator_keys (hash, created_at) VALUES ($1, $2)")
        .bind(sha256_hex(&key))
        .bind(now_i64())
        .execute(&state.pool)
        .await?;
    Ok(Some(key))
}
