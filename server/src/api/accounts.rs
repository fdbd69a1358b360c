//! Tenants (providers and agents), their wallets, funding and spending policies.
//!
//! Amounts in requests and responses are decimal strings of whole units (`"10.00"`), converted
//! exactly by paywire-core; the database holds atomic units as BIGINT. No floats anywhere.

use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::ledger::{
    asset_key, asset_of_key, ledger_asset, to_db_amount, DEPOSITS_WALLET, LEDGER_ASSET,
    PLATFORM_WALLET,
};
use crate::base::shapes::{
    Balance, CreatedTenant, EvmFunding, Funded, Funding, NewAgent, NewProvider, PolicySet,
    WalletView,
};
use crate::base::util::{new_id, new_ordered_id, now_i64, random_bytes};
use crate::services::auth::{create_api_key, Caller, TenantKind};
use crate::services::idempotency::Reference;
use crate::services::state::AppState;
use crate::store;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use paywire_core::money::AssetRegistry;
use paywire_core::policy::{Policy, Usage};

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
        let postings = [
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
        ];
        store::ledger::post(&mut tx, &postings, now).await?;
        let balance = store::ledger::balance(&mut tx, wallet_id, asset).await?;
        let data = serde_json::json!({"walletId": wallet_id, "depositId": entry, "asset": asset,
            "amount": amount.to_string(), "balance": balance.to_string()});
        store::events::enqueue_for_wallet(
            &mut tx,
            &new_ordered_id("evt"),
            wallet_id,
            "wallet.funded",
            &data.to_string(),
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
) -> Result<Funded, ApiError> {
    let (_, kind) = wallet_owner(state, wallet_id).await?;
    if kind == "platform" {
        return Err(ApiError::BadRequest(
            "platform wallets are not funded by deposit".into(),
        ));
    }
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
    store::wallets::evm_wallet(&state.pool, address, now_i64()).await
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
