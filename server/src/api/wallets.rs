//! Wallets: their balances, deposits (ledger dollars, devnet EVM tokens), spending policies and
//! journal.
//!
//! Amounts in requests and responses are decimal strings of whole units (`"10.00"`), converted
//! exactly by paywire-core; the database holds atomic units as BIGINT. No floats anywhere.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use paywire_core::money::AssetRegistry;
use paywire_core::policy::{Policy, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::page::{cursor_not_found, limit_of, list, signed_amount, ListOf, PageQuery};
use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::ledger::{asset_key, asset_of_key, ledger_asset, to_db_amount, LEDGER_ASSET};
use crate::base::util::{new_id, now_i64};
use crate::services::auth::Caller;
use crate::services::idempotency::Reference;
use crate::services::money;
use crate::services::state::AppState;
use crate::store;
use crate::store::lists::{Bind, Page};

/// `POST /v1/wallets/{id}/fund`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Funding {
    /// Whole units as a decimal string, e.g. `"10.00"`.
    pub amount: String,
}

/// `POST /v1/evm/fund`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvmFunding {
    /// A devnet network, e.g. `eip155:84532`.
    pub network: String,
    /// The token contract; the network's USDC by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The EVM address to credit.
    pub address: String,
    /// Whole units as a decimal string.
    pub amount: String,
}

/// A wallet's balance after a deposit.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Funded {
    /// The wallet.
    pub wallet_id: String,
    /// The credited EVM address (devnet deposits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The balance key of the asset.
    pub asset: String,
    /// The new balance, whole units.
    pub balance: String,
}

/// One balance of a wallet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// The balance key of the asset (`USD`, or `<caip2>/erc20:<address>`).
    pub asset: String,
    /// Atomic units, a decimal string.
    pub atomic: String,
    /// Whole units, when the asset's decimals are known.
    pub amount: Option<String>,
}

/// `GET /v1/wallets/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletView {
    /// The wallet.
    pub id: String,
    /// `agent`, `provider`, `platform` or `evm`.
    pub kind: String,
    /// Its tenant.
    pub tenant_id: Option<String>,
    /// Its devnet EVM address.
    pub address: Option<String>,
    /// Its balances, by asset.
    pub balances: Vec<Balance>,
    /// Its spending policy.
    pub policy: Option<Policy>,
    /// Its spending so far.
    pub usage: Usage,
}

/// `PUT /v1/wallets/{id}/policy`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySet {
    /// The wallet.
    pub wallet_id: String,
    /// The policy now in force.
    pub policy: Policy,
}

/// A journal posting of a wallet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostingView {
    /// The posting.
    pub id: String,
    /// Its entry: a payment's id (`pay_…`), a deposit's (`dep_…`), a payout's (`po_…`).
    pub entry_id: String,
    /// The balance key of the asset.
    pub asset: String,
    /// Signed, in the asset's units.
    pub amount: String,
    /// Signed, in atomic units.
    pub amount_atomic: String,
    /// `payment`, `fee`, `deposit` or `payout`.
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
}

/// Deposits into a wallet, once per idempotency `reference` when there is one (the deposit's
/// id derives from it). Returns the new balance, atomic units.
async fn deposit(
    state: &AppState,
    wallet_id: &str,
    asset: &str,
    amount: i64,
    reference: Option<&Reference>,
) -> Result<i64, ApiError> {
    let id = match reference {
        Some(reference) => reference.derive_id("dep"),
        None => new_id("dep"),
    };
    Ok(money::deposit(state, &id, wallet_id, asset, amount).await?)
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
) -> Result<Funded, ApiError> {
    // An unknown wallet answers 404 before its amount is looked at.
    wallet_owner(state, wallet_id).await?;
    let asset = ledger_asset(&state.ledger_network);
    let amount = to_db_amount(asset.parse_price(amount)?)?;
    let balance = deposit(state, wallet_id, LEDGER_ASSET, amount, reference).await?;
    Ok(Funded {
        wallet_id: wallet_id.to_string(),
        address: None,
        asset: LEDGER_ASSET.into(),
        balance: asset.format(paywire_core::Amount::new(balance as u128)),
    })
}

/// `POST /v1/wallets/{id}/fund` (operator): deposits ledger dollars.
pub async fn post_fund(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<Funding>,
) -> Result<Json<Funded>, ApiError> {
    caller.require_operator()?;
    let reference = reference.map(|Extension(r)| r);
    let funded = fund_ledger(&state, &wallet_id, &body.amount, reference.as_ref()).await?;
    Ok(Json(funded))
}

/// `POST /v1/evm/fund` (operator): credits an EVM address on a devnet network, creating its
/// ledger-side wallet on first use.
pub async fn post_evm_fund(
    State(state): State<AppState>,
    caller: Caller,
    reference: Option<Extension<Reference>>,
    JsonBody(body): JsonBody<EvmFunding>,
) -> Result<Json<Funded>, ApiError> {
    caller.require_operator()?;
    let reference = reference.map(|Extension(r)| r);
    Ok(Json(fund_evm(&state, &body, reference.as_ref()).await?))
}

/// Credits an EVM address on a devnet network (its ledger-side wallet is created on first
/// use), once per idempotency `reference` when there is one.
pub async fn fund_evm(
    state: &AppState,
    funding: &EvmFunding,
    reference: Option<&Reference>,
) -> Result<Funded, ApiError> {
    if !state.devnet_networks.contains(&funding.network) {
        return Err(ApiError::BadRequest(format!(
            "{} is not a devnet network of this server",
            funding.network
        )));
    }
    let registry = AssetRegistry::with_defaults();
    let asset = match &funding.asset {
        Some(address) => registry.get(&funding.network, address)?,
        None => registry
            .iter()
            .find(|a| a.network == funding.network)
            .ok_or_else(|| ApiError::BadRequest("no default asset on this network".into()))?,
    }
    .clone();
    let address = paywire_core::protocol::evm::Address::parse(&funding.address)?.to_checksum();
    let amount = to_db_amount(asset.parse_price(&funding.amount)?)?;
    let wallet_id = evm_wallet(state, &address).await?;
    let key = asset_key(&funding.network, &asset.address);
    let balance = deposit(state, &wallet_id, &key, amount, reference).await?;
    Ok(Funded {
        wallet_id,
        address: Some(address),
        asset: key,
        balance: asset.format(paywire_core::Amount::new(balance as u128)),
    })
}

/// A wallet's balance of the ledger's own dollars, in atomic units (0 when it has none).
pub async fn ledger_balance(state: &AppState, wallet_id: &str) -> Result<i64, ApiError> {
    Ok(store::wallets::balances(&state.pool, wallet_id)
        .await?
        .into_iter()
        .find(|(asset, _)| asset == LEDGER_ASSET)
        .map_or(0, |(_, amount)| amount))
}

/// The wallet holding an EVM address's devnet funds, created on first use.
pub async fn evm_wallet(state: &AppState, address: &str) -> Result<String, ApiError> {
    Ok(store::wallets::evm_wallet(&state.pool, address, now_i64()).await?)
}

/// `GET /v1/wallets/{id}`: balances, policy and usage (operator, or the owning tenant).
pub async fn get_wallet(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
) -> Result<Json<WalletView>, ApiError> {
    let (tenant, kind) = wallet_owner(&state, &wallet_id).await?;
    match &tenant {
        Some(tenant) => caller.require_tenant(tenant, "read", "wallet")?,
        None => caller
            .require_operator()
            .map_err(|_| ApiError::NotFound("wallet"))?,
    }
    let (policy, usage, address) = store::wallets::view(&state.pool, &wallet_id)
        .await?
        .ok_or(ApiError::NotFound("wallet"))?;
    let balances = store::wallets::balances(&state.pool, &wallet_id)
        .await?
        .into_iter()
        .map(|(asset, amount)| {
            let atomic = paywire_core::Amount::new(u128::try_from(amount).unwrap_or(0));
            Balance {
                amount: asset_of_key(&state.ledger_network, &asset).map(|a| a.format(atomic)),
                asset,
                atomic: amount.to_string(),
            }
        })
        .collect();
    let stored = |what: &str, e: serde_json::Error| {
        ApiError::Internal(format!("stored {what} of {wallet_id}: {e}"))
    };
    Ok(Json(WalletView {
        id: wallet_id.clone(),
        kind,
        tenant_id: tenant,
        address,
        balances,
        policy: policy
            .map(|p| serde_json::from_str::<Policy>(&p))
            .transpose()
            .map_err(|e| stored("policy", e))?,
        usage: serde_json::from_str(&usage).map_err(|e| stored("usage", e))?,
    }))
}

/// `PUT /v1/wallets/{id}/policy` (operator, or the owning agent's key with `manage`: the key
/// an agent runtime holds cannot lift its own limits).
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Json<PolicySet>, ApiError> {
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
    // Read by the core, so any shape error is `policy_invalid` like a limit out of range.
    let policy = Policy::from_json(body)?;
    store::wallets::set_policy(&state.pool, &wallet_id, &policy).await?;
    Ok(Json(PolicySet { wallet_id, policy }))
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
