//! Who is calling: the operator (admin key) or a tenant (provider or agent API key). Keys are
//! shown once and stored as SHA-256 hashes.
//!
//! # Scopes
//!
//! | scope | allows |
//! | --- | --- |
//! | `read` | reading the tenant's wallets, endpoints, keys, quotes; verifying its tokens |
//! | `write` | the tenant's everyday changes: endpoints, webhook, new keys with at most its own scopes |
//! | `manage` | changing what limits the tenant: an agent wallet's spending policy |
//!
//! New tenants get a `read write` key: the key an agent runtime holds pays (with the wallet
//! secret) and reads, but cannot lift its own limits. The operator makes `manage` keys for
//! owners. A key can only make or revoke keys whose scopes it holds itself.
//!
//! Secret keys read `sk_<kind>_<48 hex digits>` (`sk_agent_…`, `sk_provider_…`, `sk_admin_…`):
//! the prefix says secret. Keys of the earlier `pk_` format keep working.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::base::error::ApiError;
use crate::base::util::{now_i64, random_bytes, sha256_hex};
use crate::services::state::AppState;
use crate::store;

/// Every scope a key can carry.
pub const SCOPES: &[&str] = &["read", "write", "manage"];

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
        /// Scopes such as `read`, `write`, `manage`.
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
    /// Another tenant's `object` answers exactly as a missing one does (`<object> not found`).
    pub fn require_tenant(
        &self,
        tenant_id: &str,
        scope: &'static str,
        object: &'static str,
    ) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Tenant { id, scopes, .. } if id == tenant_id => {
                if scopes.iter().any(|s| s == scope) {
                    Ok(())
                } else {
                    Err(ApiError::Forbidden(scope))
                }
            }
            Caller::Tenant { .. } => Err(ApiError::NotFound(object)),
        }
    }

    /// Whether the caller holds every scope in `scopes` (the operator holds all).
    pub fn holds_all(&self, scopes: &[String]) -> bool {
        match self {
            Caller::Operator => true,
            Caller::Tenant { scopes: own, .. } => scopes.iter().all(|s| own.contains(s)),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_key(
        parts
            .headers
            .get(axum::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?,
    )
}

/// The key an `Authorization: Bearer <key>` header carries, as authentication reads it
/// (surrounding whitespace ignored); `None` for another scheme or an empty key.
pub fn bearer_key(authorization: &str) -> Option<&str> {
    authorization
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let key = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let hash = sha256_hex(key);
        if store::keys::is_operator(&state.pool, &hash).await? {
            return Ok(Caller::Operator);
        }
        let (id, kind, scopes) = store::keys::tenant_of(&state.pool, &hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        // Counted once the key is known to be real: a forged key spends nobody's budget.
        state.rate_limits.per_key.check(&hash)?;
        Ok(Caller::Tenant {
            id,
            kind: if kind == "provider" {
                TenantKind::Provider
            } else {
                TenantKind::Agent
            },
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
        })
    }
}

/// A key just made: its id and the key itself (the only time it is visible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// `key_…`, to list and revoke it by.
    pub id: String,
    /// The secret key.
    pub key: String,
}

/// Creates an API key for a tenant of `kind` with `scopes` (in the caller's transaction, or
/// on the pool).
pub async fn create_api_key<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    executor: E,
    tenant_id: &str,
    kind: &str,
    scopes: &[String],
) -> Result<NewApiKey, ApiError> {
    let key = format!("sk_{kind}_{}", hex::encode(random_bytes::<24>()));
    let id = crate::base::util::new_id("key");
    let hint = &key[key.len() - 4..];
    store::keys::insert(
        executor,
        &id,
        &sha256_hex(&key),
        tenant_id,
        scopes,
        hint,
        now_i64(),
    )
    .await?;
    Ok(NewApiKey { id, key })
}

/// Makes sure an operator key exists. A `configured` key becomes the only one (setting a new
/// admin key revokes the old); without one, a key is generated on first start. Returns a key
/// only when it was generated now (to print once).
pub async fn ensure_operator_key(
    state: &AppState,
    configured: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(key) = configured {
        store::keys::replace_operator_keys(&state.pool, &sha256_hex(key), now_i64()).await?;
        return Ok(None);
    }
    if store::keys::operator_count(&state.pool).await? > 0 {
        return Ok(None);
    }
    let key = format!("sk_admin_{}", hex::encode(random_bytes::<24>()));
    store::keys::insert_operator(&state.pool, &sha256_hex(&key), now_i64()).await?;
    Ok(Some(key))
}

/// A new operator key beside the existing ones (the demo signs its operator in with one each
/// run; the key a server generated on its first start is shown only then).
pub async fn add_operator_key(state: &AppState) -> Result<String, ApiError> {
    let key = format!("sk_admin_{}", hex::encode(random_bytes::<24>()));
    store::keys::insert_operator(&state.pool, &sha256_hex(&key), now_i64()).await?;
    Ok(key)
}

/// An agent wallet's signing secret (hex), unsealed (wiped when dropped); `None` for a wallet
/// without one.
pub async fn wallet_secret_hex(
    state: &AppState,
    wallet_id: &str,
) -> Result<Option<zeroize::Zeroizing<String>>, ApiError> {
    let Some(sealed) = store::wallets::sealed_secret(&state.pool, wallet_id).await? else {
        return Ok(None);
    };
    let secret = state
        .sealer
        .open(&sealed, &crate::infra::secrets::wallet_aad(wallet_id))
        .map_err(|e| ApiError::Internal(format!("wallet {wallet_id}: {e}")))?;
    let text = std::str::from_utf8(&secret)
        .map_err(|_| ApiError::Internal(format!("wallet {wallet_id}: secret is not text")))?;
    Ok(Some(zeroize::Zeroizing::new(text.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reaches_only_its_tenant_and_its_scopes() {
        let agent = Caller::Tenant {
            id: "agent_1".into(),
            kind: TenantKind::Agent,
            scopes: vec!["read".into(), "write".into()],
        };
        assert!(agent.require_tenant("agent_1", "read", "wallet").is_ok());
        assert_eq!(
            agent
                .require_tenant("agent_1", "manage", "wallet")
                .unwrap_err()
                .code(),
            "forbidden"
        );
        assert_eq!(
            agent
                .require_tenant("agent_2", "read", "wallet")
                .unwrap_err()
                .to_string(),
            "wallet not found"
        );
        assert!(agent.holds_all(&["read".into()]));
        assert!(!agent.holds_all(&["read".into(), "manage".into()]));
        assert!(Caller::Operator.holds_all(&["manage".into()]));
    }
}
