//! Tenants, wallets, balances, funding and spending policies.
//!
//! Amounts in requests and responses are decimal strings of whole units (`"10.00"`), converted
//! exactly by paywire-core; the database holds atomic units as BIGINT. No floats anywhere.

use axum::extract::{Path, State};
use axum::Json;
use paywire_core::money::{Asset, AssetRegistry};
use paywire_core::policy::{Policy, Usage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};

use crate::auth::{create_api_key, Caller, TenantKind};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::util::{new_id, now_i64, random_bytes};
use crate::AppState;

/// The asset code of the Paywire ledger, and its decimals.
pub const LEDGER_ASSET: &str = "USD";
/// Decimals of [`LEDGER_ASSET`].
pub const LEDGER_DECIMALS: u8 = 6;
/// The platform's fee wallet.
pub const PLATFORM_WALLET: &str = "wal_platform";
/// Scopes a new key gets unless others are asked for.
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

/// What creating a tenant returns; secrets appear here once and never again.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenant {
    /// The tenant id.
    pub id: String,
    /// The tenant's wallet (an agent's paying wallet, a provider's payout wallet).
    pub wallet_id: String,
    /// An API key with `read` and `write`.
    pub api_key: String,
    /// The agent wallet's signing secret (hex), for the ledger scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_secret: Option<String>,
    /// The network ledger payments use.
    pub network: String,
}

async fn insert_wallet(
    conn: &mut AnyConnection,
    tenant_id: Option<&str>,
    kind: &str,
    address: Option<&str>,
    secret_hex: Option<&str>,
    policy: Option<&Policy>,
) -> Result<String, ApiError> {
    let id = new_id("wal");
    let policy = policy
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    sqlx::query(
        "INSERT INTO wallets (id, tenant_id, kind, address, secret_hex, policy, usage, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(kind)
    .bind(address)
    .bind(secret_hex)
    .bind(policy)
    .bind(serde_json::to_string(&Usage::default()).unwrap_or_else(|_| "{}".into()))
    .bind(now_i64())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

async fn create_tenant(
    state: &AppState,
    kind: TenantKind,
    name: &str,
    evm_address: Option<String>,
    policy: Option<Policy>,
) -> Result<CreatedTenant, ApiError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest("name must be 1-200 characters".into()));
    }
    if let Some(policy) = &policy {
        policy.validate()?;
    }
    let evm_address = evm_address
        .map(|a| paywire_core::protocol::evm::Address::parse(&a).map(|a| a.to_checksum()))
        .transpose()?;
    let id = new_id(kind.as_str());
    let secret = (kind == TenantKind::Agent).then(|| hex::encode(random_bytes::<32>()));
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    sqlx::query(
        "INSERT INTO tenants (id, kind, name, evm_address, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(name)
    .bind(evm_address.as_deref())
    .bind(now_i64())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::Conflict {
            code: "evm_address_taken",
            message: "another provider is paid at this EVM address".into(),
        },
        other => ApiError::Database(other),
    })?;
    let wallet_id = insert_wallet(
        &mut tx,
        Some(&id),
        kind.as_str(),
        None,
        secret.as_deref(),
        policy.as_ref(),
    )
    .await?;
    tx.commit().await?;
    let scopes: Vec<String> = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
    let api_key = create_api_key(state, &id, &scopes).await?;
    Ok(CreatedTenant {
        id,
        wallet_id,
        api_key,
        wallet_secret: secret,
        network: state.ledger_network.clone(),
    })
}

/// Creates a provider with its payout wallet and a first API key.
pub async fn create_provider(
    state: &AppState,
    name: &str,
    evm_address: Option<String>,
) -> Result<CreatedTenant, ApiError> {
    create_tenant(state, TenantKind::Provider, name, evm_address, None).await
}

/// Creates an agent with its wallet (and signing secret) and a first API key.
pub async fn create_agent(
    state: &AppState,
    name: &str,
    policy: Option<Policy>,
) -> Result<CreatedTenant, ApiError> {
    create_tenant(state, TenantKind::Agent, name, None, policy).await
}

/// `POST /v1/providers` (operator): a provider, its payout wallet and a first API key.
pub async fn post_provider(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<CreatedTenant>, ApiError> {
    caller.require_operator()?;
    let body: NewProvider = parse_json_body(body)?;
    Ok(Json(
        create_provider(&state, &body.name, body.evm_address).await?,
    ))
}

/// `POST /v1/agents` (operator): an agent, its wallet (with signing secret) and an API key.
pub async fn post_agent(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<CreatedTenant>, ApiError> {
    caller.require_operator()?;
    let body: NewAgent = parse_json_body(body)?;
    Ok(Json(create_agent(&state, &body.name, body.policy).await?))
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
            "INSERT INTO wallets (id, tenant_id, kind, address, secret_hex, policy, usage, created_at) \
             VALUES ($1, NULL, 'platform', NULL, NULL, NULL, '{}', $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now_i64())
        .execute(&state.pool)
        .await?;
    }
    Ok(())
}

/// Adds `amount` to a balance inside a transaction (creating the row at zero first).
pub async fn credit(
    conn: &mut AnyConnection,
    wallet_id: &str,
    asset: &str,
    amount: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO balances (wallet_id, asset, amount) VALUES ($1, $2, $3) \
         ON CONFLICT (wallet_id, asset) DO UPDATE SET amount = balances.amount + excluded.amount",
    )
    .bind(wallet_id)
    .bind(asset)
    .bind(amount)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes one journal posting.
pub async fn post(
    conn: &mut AnyConnection,
    entry_id: &str,
    wallet_id: &str,
    asset: &str,
    amount: i64,
    kind: &str,
) -> Result<(), ApiError> {
    sqlx::query("INSERT INTO journal (id, entry_id, wallet_id, asset, amount, kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(new_id("jrn"))
        .bind(entry_id)
        .bind(wallet_id)
        .bind(asset)
        .bind(amount)
        .bind(kind)
        .bind(now_i64())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a deposit: the wallet's balance grows, and the journal entry balances it against
/// the deposits wallet. Returns the new balance in atomic units.
async fn deposit(
    state: &AppState,
    wallet_id: &str,
    asset: &str,
    amount: i64,
) -> Result<i64, ApiError> {
    if amount <= 0 {
        return Err(ApiError::BadRequest("a deposit must be positive".into()));
    }
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let entry = new_id("dep");
    credit(&mut tx, wallet_id, asset, amount).await?;
    post(&mut tx, &entry, wallet_id, asset, amount, "deposit").await?;
    post(&mut tx, &entry, DEPOSITS_WALLET, asset, -amount, "deposit").await?;
    let balance: i64 =
        sqlx::query("SELECT amount FROM balances WHERE wallet_id = $1 AND asset = $2")
            .bind(wallet_id)
            .bind(asset)
            .fetch_one(&mut *tx)
            .await?
            .try_get("amount")?;
    tx.commit().await?;
    Ok(balance)
}

async fn wallet_owner(
    state: &AppState,
    wallet_id: &str,
) -> Result<(Option<String>, String), ApiError> {
    let row = sqlx::query("SELECT tenant_id, kind FROM wallets WHERE id = $1")
        .bind(wallet_id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::NotFound("wallet"))?;
    Ok((row.try_get("tenant_id")?, row.try_get("kind")?))
}

/// Deposits `amount` (whole units, e.g. `"10.00"`) of ledger dollars into a wallet.
pub async fn fund_ledger(
    state: &AppState,
    wallet_id: &str,
    amount: &str,
) -> Result<Value, ApiError> {
    let (_, kind) = wallet_owner(state, wallet_id).await?;
    if kind == "platform" {
        return Err(ApiError::BadRequest(
            "platform wallets are not funded by deposit".into(),
        ));
    }
    let asset = ledger_asset(state);
    let amount = to_db_amount(asset.parse_price(amount)?)?;
    let balance = deposit(state, wallet_id, LEDGER_ASSET, amount).await?;
    Ok(json!({"walletId": wallet_id, "asset": LEDGER_ASSET,
        "balance": asset.format(paywire_core::Amount::new(balance as u128))}))
}

/// `POST /v1/wallets/{id}/fund` (operator): deposits ledger dollars.
pub async fn post_fund(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_operator()?;
    let body: Funding = parse_json_body(body)?;
    Ok(Json(fund_ledger(&state, &wallet_id, &body.amount).await?))
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
    let balance = deposit(&state, &wallet_id, &key, amount).await?;
    Ok(Json(
        json!({"walletId": wallet_id, "address": address, "asset": key,
        "balance": asset.format(paywire_core::Amount::new(balance as u128))}),
    ))
}

/// The wallet holding an EVM address's devnet funds, created on first use.
pub async fn evm_wallet(state: &AppState, address: &str) -> Result<String, ApiError> {
    let existing = sqlx::query("SELECT id FROM wallets WHERE address = $1")
        .bind(address)
        .fetch_optional(&state.pool)
        .await?;
    if let Some(row) = existing {
        return Ok(row.try_get("id")?);
    }
    let mut conn = state.pool.acquire().await?;
    match insert_wallet(&mut conn, None, "evm", Some(address), None, None).await {
        Ok(id) => Ok(id),
        // A concurrent first deposit created it: use that one.
        Err(ApiError::Database(sqlx::Error::Database(d))) if d.is_unique_violation() => {
            let row = sqlx::query("SELECT id FROM wallets WHERE address = $1")
                .bind(address)
                .fetch_one(&state.pool)
                .await?;
            Ok(row.try_get("id")?)
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
        Some(tenant) => caller.require_tenant(tenant, "read")?,
        None => caller.require_operator()?,
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
        "policy": policy.map(|p| serde_json::from_str::<Value>(&p)).transpose().map_err(|e| ApiError::BadRequest(e.to_string()))?,
        "usage": serde_json::from_str::<Value>(&usage).unwrap_or(Value::Null),
    })))
}

/// `PUT /v1/wallets/{id}/policy` (operator, or the owning agent with `write`).
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, kind) = wallet_owner(&state, &wallet_id).await?;
    match &tenant {
        Some(tenant) => caller.require_tenant(tenant, "write")?,
        None => caller.require_operator()?,
    }
    if kind != "agent" {
        return Err(ApiError::BadRequest(
            "policies apply to agent wallets".into(),
        ));
    }
    let policy: Policy = parse_json_body(body)?;
    policy.validate()?;
    sqlx::query("UPDATE wallets SET policy = $1 WHERE id = $2")
        .bind(serde_json::to_string(&policy).map_err(|e| ApiError::BadRequest(e.to_string()))?)
        .bind(&wallet_id)
        .execute(&state.pool)
        .await?;
    Ok(Json(json!({"walletId": wallet_id, "policy": policy})))
}

/// `POST /v1/tenants/{id}/api-keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Scopes among `read` and `write`.
    pub scopes: Vec<String>,
}

/// `POST /v1/tenants/{id}/api-keys` (operator, or the tenant with `write`): a new key, shown once.
pub async fn post_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_tenant(&tenant_id, "write")?;
    let body: NewKey = parse_json_body(body)?;
    if body.scopes.is_empty()
        || body
            .scopes
            .iter()
            .any(|s| !DEFAULT_SCOPES.contains(&s.as_str()))
    {
        return Err(ApiError::BadRequest(
            "scopes are a non-empty subset of read, write".into(),
        ));
    }
    let exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
        .bind(&tenant_id)
        .fetch_optional(&state.pool)
        .await?;
    if exists.is_none() {
        return Err(ApiError::NotFound("tenant"));
    }
    let key = create_api_key(&state, &tenant_id, &body.scopes).await?;
    Ok(Json(
        json!({"tenantId": tenant_id, "apiKey": key, "scopes": body.scopes}),
    ))
}

/// `PUT /v1/providers/{id}/webhook` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where events are POSTed (`https://…`, or `http://` on loopback for development).
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
    caller.require_tenant(&provider_id, "write")?;
    let body: WebhookSettings = parse_json_body(body)?;
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| body.url.starts_with(p));
    if !(body.url.starts_with("https://") || loopback) || body.url.len() > 2048 {
        return Err(ApiError::BadRequest(
            "a webhook URL is https:// (http:// only on loopback), at most 2048 characters".into(),
        ));
    }
    let secret = format!("whsec_{}", hex::encode(random_bytes::<24>()));
    let updated = sqlx::query("UPDATE tenants SET webhook_url = $1, webhook_secret = $2 WHERE id = $3 AND kind = 'provider'")
        .bind(&body.url)
        .bind(&secret)
        .bind(&provider_id)
        .execute(&state.pool)
        .await?;
    if updated.rows_affected() != 1 {
        return Err(ApiError::NotFound("provider"));
    }
    Ok(Json(
        json!({"providerId": provider_id, "url": body.url, "secret": secret}),
    ))
}
