//! Tenants, wallets, balances, funding and spending policies.
//!
//! Amounts in requests and responses are decimal strings of whole units (`"10.00"`), converted
//! exactly by paywire-core; the database holds atomic units as BIGINT. No floats anywhere.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use paywire_core::money::{Asset, AssetRegistry};
use paywire_core::policy::{Policy, Usage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};

use crate::auth::{create_api_key, Caller, TenantKind};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::idempotency::Reference;
use crate::state::AppState;
use crate::store;
use crate::util::{new_id, now_i64, random_bytes};

/// The asset code of the Paywire ledger, and its decimals.
pub const LEDGER_ASSET: &str = "USD";
/// Decimals of [`LEDGER_ASSET`].
pub const LEDGER_DECIMALS: u8 = 6;
/// The platform's fee wallet.
pub const PLATFORM_WALLET: &str = "wal_platform";
/// Scopes a new tenant's first key gets: it pays and reads, but cannot lift its own limits
/// (`manage` keys are made by the operator).
pub const DEFAULT_SCOPES: &[&str] = &["read", "write"];

/// The asset key balances are kept under: the ledger's code, or `<caip2>/erc20:<address>` for
/// a devnet EVM token (addresses lower-cased so checksums do not split balances).
pub fn asset_key(network: &str, asset: &str) -> String {
    if paywire_core::protocol::ledger::is_ledger_network(network) {
        asset.to_string()
    } else {
        format!("{network}/erc20:{}", asset.to_ascii_lowercase())
    }
}

/// The asset a balance key stands for (the inverse of [`asset_key`]), for formatting amounts
/// with the asset's own decimals; `None` for a key no table knows.
pub fn asset_of_key(state: &AppState, key: &str) -> Option<Asset> {
    if key == LEDGER_ASSET {
        return Some(ledger_asset(state));
    }
    let (network, address) = key.split_once("/erc20:")?;
    AssetRegistry::with_defaults()
        .find(network, address)
        .cloned()
}

/// The ledger's asset.
pub fn ledger_asset(state: &AppState) -> Asset {
    Asset::new(
        &state.ledger_network,
        LEDGER_ASSET,
        LEDGER_ASSET,
        LEDGER_DECIMALS,
    )
    .expect("a valid asset")
}

/// Converts core amounts to the database's BIGINT, refusing what does not fit.
pub fn to_db_amount(amount: paywire_core::Amount) -> Result<i64, ApiError> {
    i64::try_from(amount.atomic()).map_err(|_| ApiError::Core(paywire_core::Error::AmountOverflow))
}

fn parse_json_body<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `POST /v1/providers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProvider {
    /// A display name.
    pub name: String,
    /// The EVM address providers are paid at on devnet EVM networks.
    #[serde(default)]
    pub evm_address: Option<String>,
}

/// `POST /v1/agents`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAgent {
    /// A display name.
    pub name: String,
    /// The wallet's spending policy.
    #[serde(default)]
    pub policy: Option<Policy>,
}

/// What creating a tenant returns; secrets appear here once and never again (a replay, or a
/// retry that finds the tenant its first attempt created, has them `null` and listed in
/// `redacted`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenant {
    /// The tenant id.
    pub id: String,
    /// The tenant's wallet (an agent's paying wallet, a provider's payout wallet).
    pub wallet_id: String,
    /// An API key with `read` and `write`.
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

#[allow(clippy::too_many_arguments)]
async fn insert_wallet(
    state: &AppState,
    conn: &mut AnyConnection,
    id: &str,
    tenant_id: Option<&str>,
    kind: &str,
    address: Option<&str>,
    secret_hex: Option<&str>,
    policy: Option<&Policy>,
) -> Result<(), ApiError> {
    let policy = policy
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let sealed = secret_hex.map(|secret| {
        state
            .sealer
            .seal(secret.as_bytes(), &crate::secrets::wallet_aad(id))
    });
    sqlx::query(
        "INSERT INTO wallets (id, tenant_id, kind, address, secret_sealed, policy, usage, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(kind)
    .bind(address)
    .bind(sealed)
    .bind(policy)
    .bind(serde_json::to_string(&Usage::default()).unwrap_or_else(|_| "{}".into()))
    .bind(now_i64())
    .execute(&mut *conn)
    .await?;
    Ok(())
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
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let inserted = sqlx::query(
        "INSERT INTO tenants (id, kind, name, evm_address, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(name)
    .bind(evm_address.as_deref())
    .bind(now_i64())
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
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
    insert_wallet(
        state,
        &mut tx,
        &wallet_id,
        Some(&id),
        kind.as_str(),
        None,
        secret.as_deref(),
        policy.as_ref(),
    )
    .await?;
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
    let row = sqlx::query("SELECT w.id AS wallet FROM tenants t JOIN wallets w ON w.tenant_id = t.id WHERE t.id = $1 AND t.kind = $2")
        .bind(id)
        .bind(kind.as_str())
        .fetch_optional(&state.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut redacted = vec!["apiKey".to_string()];
    if kind == TenantKind::Agent {
        redacted.push("walletSecret".into());
    }
    Ok(Some(CreatedTenant {
        id: id.to_string(),
        wallet_id: row.try_get("wallet")?,
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
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<CreatedTenant>, ApiError> {
    caller.require_operator()?;
    let body: NewProvider = parse_json_body(body)?;
    let reference = reference.map(|Extension(r)| r);
    Ok(Json(
        create_tenant(
            &state,
            TenantKind::Provider,
            &body.name,
            body.evm_address,
            None,
            reference.as_ref(),
        )
        .await?,
    ))
}

/// `POST /v1/agents` (operator): an agent, its wallet (with signing secret) and an API key.
pub async fn post_agent(
    State(state): State<AppState>,
    caller: Caller,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<CreatedTenant>, ApiError> {
    caller.require_operator()?;
    let body: NewAgent = parse_json_body(body)?;
    let reference = reference.map(|Extension(r)| r);
    Ok(Json(
        create_tenant(
            &state,
            TenantKind::Agent,
            &body.name,
            None,
            body.policy,
            reference.as_ref(),
        )
        .await?,
    ))
}

/// `POST /v1/wallets/{id}/fund` and `/v1/evm/fund`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Funding {
    /// Whole units as a decimal string, e.g. `"10.00"`.
    pub amount: String,
}

/// The wallet deposits are booked against, so that a deposit's postings also sum to zero.
pub const DEPOSITS_WALLET: &str = "wal_deposits";

/// Creates the platform's own wallets if missing (fee income, deposits).
pub async fn ensure_platform_wallets(state: &AppState) -> Result<(), ApiError> {
    for id in [PLATFORM_WALLET, DEPOSITS_WALLET] {
        sqlx::query(
            "INSERT INTO wallets (id, tenant_id, kind, address, secret_sealed, policy, usage, created_at) \
             VALUES ($1, NULL, 'platform', NULL, NULL, NULL, '{}', $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now_i64())
        .execute(&state.pool)
        .await?;
    }
    Ok(())
}

/// Records a deposit: the wallet's balance grows, and the journal entry balances it against
/// the deposits wallet. Under an idempotency key the deposit's id derives from it, so a retry
/// of a request that died after committing finds the deposit instead of making a second one.
/// Returns the new balance in atomic units.
async fn deposit(
    state: &AppState,
    wallet_id: &str,
    asset: &str,
    amount: i64,
    reference: Option<&Reference>,
) -> Result<i64, ApiError> {
    if amount <= 0 {
        return Err(ApiError::BadRequest("a deposit must be positive".into()));
    }
    let entry = match reference {
        Some(reference) => reference.derive_id("dep"),
        None => new_id("dep"),
    };
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let now = now_i64();
    if store::ledger::insert_deposit(&mut tx, &entry, wallet_id, asset, amount, now).await? {
        if !store::ledger::credit(&mut tx, wallet_id, asset, amount).await? {
            return Err(ApiError::Core(paywire_core::Error::payment_invalid(
                paywire_core::Reason::BalanceOverflow,
                "the deposit would take the balance past what the ledger holds; nothing was written",
            )));
        }
        store::ledger::post(
            &mut tx,
            &[
                store::ledger::Posting {
                    entry_id: &entry,
                    wallet_id,
                    asset,
                    amount,
                    kind: "deposit",
                },
                store::ledger::Posting {
                    entry_id: &entry,
                    wallet_id: DEPOSITS_WALLET,
                    asset,
                    amount: -amount,
                    kind: "deposit",
                },
            ],
            now,
        )
        .await?;
    }
    let balance = store::ledger::balance(&mut tx, wallet_id, asset).await?;
    tx.commit().await?;
    Ok(balance)
}

async fn wallet_owner(
    state: &AppState,
    wallet_id: &str,
) -> Result<(Option<String>, String), ApiError> {
    store::wallets::owner(&state.pool, wallet_id)
        .await?
        .ok_or(ApiError::NotFound("wallet"))
}

/// Deposits `amount` (whole units, e.g. `"10.00"`) of ledger dollars into a wallet, once per
/// idempotency `reference` when there is one.
pub async fn fund_ledger(
    state: &AppState,
    wallet_id: &str,
    amount: &str,
    reference: Option<&Reference>,
) -> Result<Value, ApiError> {
    let (_, kind) = wallet_owner(state, wallet_id).await?;
    if kind == "platform" {
        return Err(ApiError::BadRequest(
            "platform wallets are not funded by deposit".into(),
        ));
    }
    let asset = ledger_asset(state);
    let amount = to_db_amount(asset.parse_price(amount)?)?;
    let balance = deposit(state, wallet_id, LEDGER_ASSET, amount, reference).await?;
    Ok(json!({"walletId": wallet_id, "asset": LEDGER_ASSET,
        "balance": asset.format(paywire_core::Amount::new(balance as u128))}))
}

/// `POST /v1/wallets/{id}/fund` (operator): deposits ledger dollars.
pub async fn post_fund(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_operator()?;
    let body: Funding = parse_json_body(body)?;
    let reference = reference.map(|Extension(r)| r);
    Ok(Json(
        fund_ledger(&state, &wallet_id, &body.amount, reference.as_ref()).await?,
    ))
}

/// `POST /v1/evm/fund` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvmFunding {
    /// A devnet network, e.g. `eip155:84532`.
    pub network: String,
    /// The token contract; USDC of that network by default.
    #[serde(default)]
    pub asset: Option<String>,
    /// The EVM address to credit.
    pub address: String,
    /// Whole units as a decimal string.
    pub amount: String,
}

/// `POST /v1/evm/fund` (operator): credits an EVM address on a devnet network, creating its
/// ledger-side wallet on first use.
pub async fn post_evm_fund(
    State(state): State<AppState>,
    caller: Caller,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_operator()?;
    let body: EvmFunding = parse_json_body(body)?;
    if !state.devnet_networks.contains(&body.network) {
        return Err(ApiError::BadRequest(format!(
            "{} is not a devnet network of this server",
            body.network
        )));
    }
    let registry = paywire_core::AssetRegistry::with_defaults();
    let asset = match &body.asset {
        Some(address) => registry.get(&body.network, address)?,
        None => registry
            .iter()
            .find(|a| a.network == body.network)
            .ok_or_else(|| ApiError::BadRequest("no default asset on this network".into()))?,
    }
    .clone();
    let address = paywire_core::protocol::evm::Address::parse(&body.address)?.to_checksum();
    let amount = to_db_amount(asset.parse_price(&body.amount)?)?;
    let wallet_id = evm_wallet(&state, &address).await?;
    let key = asset_key(&body.network, &asset.address);
    let reference = reference.map(|Extension(r)| r);
    let balance = deposit(&state, &wallet_id, &key, amount, reference.as_ref()).await?;
    Ok(Json(
        json!({"walletId": wallet_id, "address": address, "asset": key,
        "balance": asset.format(paywire_core::Amount::new(balance as u128))}),
    ))
}

/// The wallet holding an EVM address's devnet funds, created on first use.
pub async fn evm_wallet(state: &AppState, address: &str) -> Result<String, ApiError> {
    if let Some(id) = store::wallets::by_address(&state.pool, address).await? {
        return Ok(id);
    }
    let mut conn = state.pool.acquire().await?;
    let id = new_id("wal");
    match insert_wallet(
        state,
        &mut conn,
        &id,
        None,
        "evm",
        Some(address),
        None,
        None,
    )
    .await
    {
        Ok(()) => Ok(id),
        // A concurrent first deposit created it: use that one.
        Err(ApiError::Database(e)) if store::is_unique_violation(&e) => {
            store::wallets::by_address(&state.pool, address)
                .await?
                .ok_or(ApiError::NotFound("wallet"))
        }
        Err(other) => Err(other),
    }
}

/// `GET /v1/wallets/{id}`: balances, policy and usage (operator, or the owning tenant).
pub async fn get_wallet(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, kind) = wallet_owner(&state, &wallet_id).await?;
    match &tenant {
        Some(tenant) => caller.require_tenant(tenant, "read", "wallet")?,
        None => caller
            .require_operator()
            .map_err(|_| ApiError::NotFound("wallet"))?,
    }
    let row = sqlx::query("SELECT policy, usage, address FROM wallets WHERE id = $1")
        .bind(&wallet_id)
        .fetch_one(&state.pool)
        .await?;
    let policy: Option<String> = row.try_get("policy")?;
    let usage: String = row.try_get("usage")?;
    let address: Option<String> = row.try_get("address")?;
    let balances =
        sqlx::query("SELECT asset, amount FROM balances WHERE wallet_id = $1 ORDER BY asset")
            .bind(&wallet_id)
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .map(|row| -> Result<Value, ApiError> {
                let asset: String = row.try_get("asset")?;
                let amount: i64 = row.try_get("amount")?;
                let atomic = paywire_core::Amount::new(u128::try_from(amount).unwrap_or(0));
                Ok(json!({"asset": asset, "atomic": amount.to_string(),
                "amount": asset_of_key(&state, &asset).map(|a| a.format(atomic))}))
            })
            .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({
        "id": wallet_id, "kind": kind, "tenantId": tenant, "address": address, "balances": balances,
        "policy": policy.map(|p| serde_json::from_str::<Value>(&p)).transpose().map_err(|e| ApiError::Internal(e.to_string()))?,
        "usage": serde_json::from_str::<Value>(&usage).unwrap_or(Value::Null),
    })))
}

/// `PUT /v1/wallets/{id}/policy` (operator, or the owning agent's key with `manage`: the key
/// an agent runtime holds cannot lift its own limits).
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, kind) = wallet_owner(&state, &wallet_id).await?;
    match &tenant {
        Some(tenant) => caller.require_tenant(tenant, "manage", "wallet")?,
        None => caller
            .require_operator()
            .map_err(|_| ApiError::NotFound("wallet"))?,
    }
    if kind != "agent" {
        return Err(ApiError::BadRequest(
            "policies apply to agent wallets".into(),
        ));
    }
    let policy = Policy::from_json(body)?;
    store::wallets::set_policy(&state.pool, &wallet_id, &policy).await?;
    Ok(Json(json!({"walletId": wallet_id, "policy": policy})))
}

/// `POST /v1/tenants/{id}/api-keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Scopes among `read`, `write` and `manage`.
    pub scopes: Vec<String>,
}

async fn tenant_kind(state: &AppState, tenant_id: &str) -> Result<String, ApiError> {
    let row = sqlx::query("SELECT kind FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    Ok(row.try_get("kind")?)
}

/// `POST /v1/tenants/{id}/api-keys` (operator, or the tenant with `write`): a new key, shown
/// once. A tenant's key can only make keys with scopes it holds itself.
pub async fn post_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_tenant(&tenant_id, "write", "tenant")?;
    let body: NewKey = parse_json_body(body)?;
    if body.scopes.is_empty()
        || body
            .scopes
            .iter()
            .any(|s| !crate::auth::SCOPES.contains(&s.as_str()))
    {
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
    Ok(Json(
        json!({"id": key.id, "tenantId": tenant_id, "apiKey": key.key, "scopes": body.scopes}),
    ))
}

/// `GET /v1/tenants/{id}/api-keys` (operator, or the tenant with `read`): the tenant's keys,
/// never the keys themselves.
pub async fn get_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require_tenant(&tenant_id, "read", "tenant")?;
    tenant_kind(&state, &tenant_id).await?;
    let keys = store::keys::list(&state.pool, &tenant_id).await?;
    Ok(Json(json!({"data": keys})))
}

/// `DELETE /v1/tenants/{id}/api-keys/{key}` (operator, or the tenant with `write` holding
/// every scope of the key it revokes).
pub async fn delete_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!(key)))
}

/// `PUT /v1/providers/{id}/webhook` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where events are POSTed: `https://` to a public address (loopback, `http://` too, only
    /// when the server allows loopback webhooks for development).
    pub url: String,
}

/// `PUT /v1/providers/{id}/webhook` (operator, or the provider with `write`): sets the URL
/// events from the outbox go to, and returns a new signing secret (shown once).
pub async fn put_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_tenant(&provider_id, "write", "provider")?;
    let body: WebhookSettings = parse_json_body(body)?;
    let url = crate::webhook_url::check(&body.url, state.allow_loopback_webhooks).await?;
    let secret = format!("whsec_{}", hex::encode(random_bytes::<24>()));
    let sealed = state.sealer.seal(
        secret.as_bytes(),
        &crate::secrets::webhook_aad(&provider_id),
    );
    let updated = sqlx::query("UPDATE tenants SET webhook_url = $1, webhook_secret_sealed = $2 WHERE id = $3 AND kind = 'provider'")
        .bind(url.as_str())
        .bind(&sealed)
        .bind(&provider_id)
        .execute(&state.pool)
        .await?;
    if updated.rows_affected() != 1 {
        return Err(ApiError::NotFound("provider"));
    }
    Ok(Json(
        json!({"providerId": provider_id, "url": url.as_str(), "secret": secret}),
    ))
}
