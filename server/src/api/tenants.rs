//! Tenants: providers and agents are made (each with a wallet and a first API key, shown
//! once), and a key learns who it belongs to (`GET /v1/me`).

use axum::extract::{Query, State};
use axum::{Extension, Json};
use paywire_core::policy::{Policy, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::page::{cursor_not_found, limit_of, list, ListOf};
use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::ledger::{DEPOSITS_WALLET, PLATFORM_WALLET};
use crate::base::util::{new_id, now_i64, random_bytes};
use crate::services::auth::{create_api_key, Caller, TenantKind};
use crate::services::idempotency::Reference;
use crate::services::state::AppState;
use crate::store;
use crate::store::lists::{Bind, Page};

/// `POST /v1/providers`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProvider {
    /// A display name (1–200 characters, no control characters).
    pub name: String,
    /// The EVM address the provider is paid at on devnet EVM networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evm_address: Option<String>,
}

/// `POST /v1/agents`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAgent {
    /// A display name (1–200 characters, no control characters).
    pub name: String,
    /// The wallet's spending policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// A new tenant. Its secrets (`apiKey`, `walletSecret`) are shown in this answer only: a
/// replay of the request (same `Idempotency-Key`), or a retry that finds the tenant its first
/// attempt created, answers them as `null` and lists them in `redacted`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenant {
    /// The tenant id.
    pub id: String,
    /// The tenant's wallet (an agent's paying wallet, a provider's payout wallet).
    pub wallet_id: String,
    /// A secret key (`sk_<kind>_…`) with `read` and `write`.
    pub api_key: Option<String>,
    /// The id of that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// The agent wallet's signing secret (hex), for the ledger scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_secret: Option<String>,
    /// The network ledger payments use.
    pub network: String,
    /// Secret fields withheld because they were shown once already.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// `GET /v1/me`: who the key belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// `operator`, `provider` or `agent`.
    pub kind: String,
    /// The tenant (absent for the operator).
    pub tenant_id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its own wallet: a provider's payout wallet, an agent's.
    pub wallet_id: Option<String>,
    /// The key's scopes.
    pub scopes: Vec<String>,
}

/// Scopes a new tenant's first key gets: it pays and reads, but cannot lift its own limits
/// (`manage` keys are made by the operator).
pub const DEFAULT_SCOPES: &[&str] = &["read", "write"];

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

fn usage_text(usage: &Usage) -> String {
    serde_json::to_string(usage).unwrap_or_else(|_| "{}".into())
}

async fn create_tenant(
    state: &AppState,
    kind: TenantKind,
    name: &str,
    evm_address: Option<String>,
    policy: Option<Policy>,
    reference: Option<&Reference>,
) -> Result<CreatedTenant, ApiError> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "name must be 1-200 characters, none of them control characters".into(),
        ));
    }
    if let Some(policy) = &policy {
        policy.validate()?;
    }
    let evm_address = evm_address
        .map(|a| paywire_core::protocol::evm::Address::parse(&a).map(|a| a.to_checksum()))
        .transpose()?;
    // Under an idempotency key the tenant's id derives from it: a retry of a request that died
    // after committing finds this tenant instead of making a second one.
    let id = match reference {
        Some(reference) => reference.derive_id(kind.as_str()),
        None => new_id(kind.as_str()),
    };
    let wallet_id = format!("wal_{}", id.rsplit('_').next().unwrap_or_default());
    let secret = (kind == TenantKind::Agent).then(|| hex::encode(random_bytes::<32>()));
    let sealed = secret.as_ref().map(|secret| {
        state.sealer.seal(
            secret.as_bytes(),
            &crate::infra::secrets::wallet_aad(&wallet_id),
        )
    });
    let policy_text = policy.as_ref().map(json_text).transpose()?;
    let now = now_i64();
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    match store::tenants::insert(
        &mut tx,
        &id,
        kind.as_str(),
        name,
        evm_address.as_deref(),
        now,
    )
    .await
    {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e) => {
            drop(tx);
            if let Some(existing) = existing_tenant(state, &id, kind).await? {
                return Ok(existing);
            }
            return Err(ApiError::Conflict {
                code: "evm_address_taken",
                message: "another provider is paid at this EVM address".into(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let wallet = store::tenants::NewWallet {
        id: &wallet_id,
        tenant_id: Some(&id),
        kind: kind.as_str(),
        address: None,
        secret_sealed: sealed.as_deref(),
        policy: policy_text.as_deref(),
        usage: &usage_text(&Usage::default()),
    };
    store::tenants::insert_wallet(&mut tx, &wallet, now).await?;
    let scopes: Vec<String> = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
    let key = create_api_key(&mut *tx, &id, kind.as_str(), &scopes).await?;
    tx.commit().await?;
    Ok(CreatedTenant {
        id,
        wallet_id,
        api_key: Some(key.key),
        api_key_id: Some(key.id),
        wallet_secret: secret,
        network: state.ledger_network.clone(),
        redacted: vec![],
    })
}

/// A tenant an earlier attempt of the same request created, without its secrets.
async fn existing_tenant(
    state: &AppState,
    id: &str,
    kind: TenantKind,
) -> Result<Option<CreatedTenant>, ApiError> {
    let Some(wallet_id) = store::tenants::wallet_of(&state.pool, id, kind.as_str()).await? else {
        return Ok(None);
    };
    let mut redacted = vec!["apiKey".to_string()];
    if kind == TenantKind::Agent {
        redacted.push("walletSecret".into());
    }
    Ok(Some(CreatedTenant {
        id: id.to_string(),
        wallet_id,
        api_key: None,
        api_key_id: None,
        wallet_secret: None,
        network: state.ledger_network.clone(),
        redacted,
    }))
}

/// Creates a provider with its payout wallet and a first API key.
pub async fn create_provider(
    state: &AppState,
    name: &str,
    evm_address: Option<String>,
) -> Result<CreatedTenant, ApiError> {
    create_tenant(state, TenantKind::Provider, name, evm_address, None, None).await
}

/// Creates an agent with its wallet (and signing secret) and a first API key.
pub async fn create_agent(
    state: &AppState,
    name: &str,
    policy: Option<Policy>,
) -> Result<CreatedTenant, ApiError> {
    create_tenant(state, TenantKind::Agent, name, None, policy, None).await
}

/// `POST /v1/providers` (operator): a provider, its payout wallet and a first API key.
pub async fn post_provider(
    State(state): State<AppState>,
    caller: Caller,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<NewProvider>,
) -> Result<Json<CreatedTenant>, ApiError> {
    caller.require_operator()?;
    let reference = reference.map(|Extension(r)| r);
    let created = create_tenant(
        &state,
        TenantKind::Provider,
        &body.name,
        body.evm_address,
        None,
        reference.as_ref(),
    )
    .await?;
    Ok(Json(created))
}

/// `POST /v1/agents` (operator): an agent, its wallet (with signing secret) and an API key.
pub async fn post_agent(
    State(state): State<AppState>,
    caller: Caller,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<NewAgent>,
) -> Result<Json<CreatedTenant>, ApiError> {
    caller.require_operator()?;
    let reference = reference.map(|Extension(r)| r);
    let created = create_tenant(
        &state,
        TenantKind::Agent,
        &body.name,
        None,
        body.policy,
        reference.as_ref(),
    )
    .await?;
    Ok(Json(created))
}

/// Creates the platform's own wallets if missing (fee income, deposits).
pub async fn ensure_platform_wallets(state: &AppState) -> Result<(), ApiError> {
    for id in [
        PLATFORM_WALLET,
        DEPOSITS_WALLET,
        crate::base::ledger::PAYOUTS_WALLET,
    ] {
        store::tenants::ensure_platform_wallet(&state.pool, id, now_i64()).await?;
    }
    Ok(())
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

/// A tenant in the operator's listing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// `provider_…` or `agent_…`.
    pub id: String,
    /// `provider` or `agent`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its wallet.
    pub wallet_id: Option<String>,
    /// Where its webhooks go, if anywhere.
    pub webhook_url: Option<String>,
    /// Whether its webhook endpoint was disabled after consecutive failures.
    pub webhook_disabled: bool,
    /// Consecutive failed deliveries.
    pub webhook_failures: i64,
    /// When it was made, unix seconds.
    pub created: i64,
}

/// Which tenants a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantKindQuery {
    /// Providers only.
    Provider,
    /// Agents only.
    Agent,
}

/// `GET /v1/tenants` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    /// `provider` or `agent` [default: both].
    pub kind: Option<TenantKindQuery>,
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
}

/// `GET /v1/tenants` (operator): every provider and agent, newest first, with its webhook
/// endpoint's health.
pub async fn get_tenants(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<ListOf<TenantView>>, ApiError> {
    caller.require_operator()?;
    let mut page = Page {
        limit: limit_of(query.limit)?,
        starting_after: query.starting_after,
        ..Default::default()
    };
    if let Some(kind) = query.kind {
        let kind = match kind {
            TenantKindQuery::Provider => "provider",
            TenantKindQuery::Agent => "agent",
        };
        page.filter("x.kind = ?", Bind::Text(kind.into()));
    }
    let (rows, more) = store::lists::tenants(&state.pool, &page)
        .await?
        .ok_or_else(cursor_not_found)?;
    Ok(list(
        rows.into_iter()
            .map(|row| TenantView {
                webhook_disabled: row.webhook_disabled_at.is_some(),
                id: row.id,
                kind: row.kind,
                name: row.name,
                wallet_id: row.wallet_id,
                webhook_url: row.webhook_url,
                webhook_failures: row.webhook_failures,
                created: row.created_at,
            })
            .collect(),
        more,
    ))
}
