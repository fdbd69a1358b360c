//! Wallets: who owns them, their sealed signing secrets, their policy and usage.

use paywire_core::policy::{Policy, Usage};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::store::db::Dialect;

use crate::store::StoreError;

/// A wallet's owner and kind (`agent`, `provider`, `platform`, `evm`).
pub async fn owner(
    pool: &AnyPool,
    wallet_id: &str,
) -> Result<Option<(Option<String>, String)>, StoreError> {
    let row = sqlx::query("SELECT tenant_id, kind FROM wallets WHERE id = $1")
        .bind(wallet_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("tenant_id")?, row.try_get("kind")?)))
        .transpose()
}

/// The sealed signing secret of an agent wallet.
pub async fn sealed_secret(pool: &AnyPool, wallet_id: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT secret_sealed FROM wallets WHERE id = $1 AND kind = 'agent'")
        .bind(wallet_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|row| {
        row.try_get::<Option<String>, _>("secret_sealed")
            .ok()
            .flatten()
    }))
}

/// The wallet holding an EVM address's devnet funds.
pub async fn by_address(pool: &AnyPool, address: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT id FROM wallets WHERE address = $1")
        .bind(address)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("id")).transpose()?)
}

/// A provider's payout wallet by its id (`payTo` on the ledger): `(wallet, provider)`.
pub async fn provider_wallet(
    pool: &AnyPool,
    wallet_id: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row = sqlx::query("SELECT id, tenant_id FROM wallets WHERE id = $1 AND kind = 'provider'")
        .bind(wallet_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("id")?, row.try_get("tenant_id")?)))
        .transpose()
}

/// A provider's payout wallet by its registered EVM address (`payTo` on devnet networks).
pub async fn provider_wallet_by_address(
    pool: &AnyPool,
    address: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row = sqlx::query("SELECT w.id, w.tenant_id FROM wallets w JOIN tenants t ON t.id = w.tenant_id WHERE t.evm_address = $1 AND w.kind = 'provider'")
        .bind(address)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("id")?, row.try_get("tenant_id")?)))
        .transpose()
}

/// Reads a wallet's policy and usage; with `lock`, holds the row until the transaction ends
/// (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already holds the database).
pub async fn policy_and_usage(
    conn: &mut AnyConnection,
    dialect: Dialect,
    wallet_id: &str,
    lock: bool,
) -> Result<(Option<Policy>, Usage), StoreError> {
    let sql = match (lock, dialect) {
        (true, Dialect::Postgres) => "SELECT policy, usage FROM wallets WHERE id = $1 FOR UPDATE",
        _ => "SELECT policy, usage FROM wallets WHERE id = $1",
    };
    let row = sqlx::query(sql)
        .bind(wallet_id)
        .fetch_one(&mut *conn)
        .await?;
    let policy: Option<String> = row.try_get("policy")?;
    let usage: String = row.try_get("usage")?;
    let policy = policy
        .map(|p| serde_json::from_str::<Policy>(&p))
        .transpose()
        .map_err(|e| StoreError::Inconsistent(format!("stored policy of {wallet_id}: {e}")))?;
    let usage = serde_json::from_str::<Usage>(&usage)
        .map_err(|e| StoreError::Inconsistent(format!("stored usage of {wallet_id}: {e}")))?;
    Ok((policy, usage))
}

/// Stores a wallet's usage.
pub async fn set_usage(
    conn: &mut AnyConnection,
    wallet_id: &str,
    usage: &Usage,
) -> Result<(), StoreError> {
    let usage =
        serde_json::to_string(usage).map_err(|e| StoreError::Inconsistent(e.to_string()))?;
    sqlx::query("UPDATE wallets SET usage = $1 WHERE id = $2")
        .bind(usage)
        .bind(wallet_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores a wallet's policy.
pub async fn set_policy(
    pool: &AnyPool,
    wallet_id: &str,
    policy: &Policy,
) -> Result<(), StoreError> {
    let policy =
        serde_json::to_string(policy).map_err(|e| StoreError::Inconsistent(e.to_string()))?;
    sqlx::query("UPDATE wallets SET policy = $1 WHERE id = $2")
        .bind(policy)
        .bind(wallet_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// What `GET /v1/wallets/{id}` shows besides balances: `(policy JSON, usage JSON, address)`.
pub async fn view(
    pool: &AnyPool,
    wallet_id: &str,
) -> Result<Option<(Option<String>, String, Option<String>)>, StoreError> {
    let row = sqlx::query("SELECT policy, usage, address FROM wallets WHERE id = $1")
        .bind(wallet_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        Ok((
            row.try_get("policy")?,
            row.try_get("usage")?,
            row.try_get("address")?,
        ))
    })
    .transpose()
}

/// A wallet's balances, by asset key: `(asset, atomic amount)`.
pub async fn balances(pool: &AnyPool, wallet_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let rows =
        sqlx::query("SELECT asset, amount FROM balances WHERE wallet_id = $1 ORDER BY asset")
            .bind(wallet_id)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("asset")?, row.try_get("amount")?)))
        .collect()
}

/// The wallet of an EVM address (devnet funds, or the payer of on-chain payments), created on
/// first use; a concurrent first use finds the one the other created.
pub async fn evm_wallet(pool: &AnyPool, address: &str, now: i64) -> Result<String, StoreError> {
    if let Some(id) = by_address(pool, address).await? {
        return Ok(id);
    }
    let id = crate::base::util::new_id("wal");
    let usage = serde_json::to_string(&Usage::default())
        .map_err(|e| StoreError::Inconsistent(e.to_string()))?;
    let wallet = crate::store::tenants::NewWallet {
        id: &id,
        tenant_id: None,
        kind: "evm",
        address: Some(address),
        secret_sealed: None,
        policy: None,
        usage: &usage,
    };
    let mut conn = pool.acquire().await?;
    match crate::store::tenants::insert_wallet(&mut conn, &wallet, now).await {
        Ok(()) => Ok(id),
        Err(e) if crate::store::is_unique_violation(&e) => by_address(pool, address)
            .await?
            .ok_or_else(|| StoreError::Inconsistent(format!("the wallet of {address} vanished"))),
        Err(e) => Err(e),
    }
}
