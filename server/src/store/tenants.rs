//! Tenants (providers and agents), their wallets, and their webhook settings.

use sqlx::{AnyConnection, AnyPool, Row};

use crate::store::StoreError;

/// Inserts a tenant. A duplicate id or EVM address is a unique violation (see
/// [`super::is_unique_violation`]).
pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    kind: &str,
    name: &str,
    evm_address: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenants (id, kind, name, evm_address, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(kind)
    .bind(name)
    .bind(evm_address)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A wallet to create.
pub struct NewWallet<'a> {
    /// `wal_…`.
    pub id: &'a str,
    /// Its tenant, if any (platform and devnet EVM wallets have none).
    pub tenant_id: Option<&'a str>,
    /// `agent`, `provider`, `platform`, `evm`.
    pub kind: &'a str,
    /// A devnet EVM address.
    pub address: Option<&'a str>,
    /// The sealed signing secret of an agent wallet.
    pub secret_sealed: Option<&'a str>,
    /// The spending policy, as JSON.
    pub policy: Option<&'a str>,
    /// The usage, as JSON.
    pub usage: &'a str,
}

/// Inserts a wallet.
pub async fn insert_wallet(
    conn: &mut AnyConnection,
    wallet: &NewWallet<'_>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallets (id, tenant_id, kind, address, secret_sealed, policy, usage, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(wallet.id)
    .bind(wallet.tenant_id)
    .bind(wallet.kind)
    .bind(wallet.address)
    .bind(wallet.secret_sealed)
    .bind(wallet.policy)
    .bind(wallet.usage)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Creates a platform wallet (fees, deposits) unless it exists.
pub async fn ensure_platform_wallet(pool: &AnyPool, id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO wallets (id, tenant_id, kind, address, secret_sealed, policy, usage, created_at) \
         VALUES ($1, NULL, 'platform', NULL, NULL, NULL, '{}', $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// The wallet of the tenant `id` of `kind`, if that tenant exists.
pub async fn wallet_of(pool: &AnyPool, id: &str, kind: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT w.id AS wallet FROM tenants t JOIN wallets w ON w.tenant_id = t.id WHERE t.id = $1 AND t.kind = $2",
    )
    .bind(id)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| row.try_get("wallet")).transpose()?)
}

/// A tenant's kind (`provider`, `agent`), if it exists.
pub async fn kind(pool: &AnyPool, id: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT kind FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("kind")).transpose()?)
}

/// A provider's payout wallet and EVM address.
pub async fn provider_payout(
    pool: &AnyPool,
    provider_id: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row = sqlx::query(
        "SELECT w.id AS wallet, t.evm_address FROM wallets w JOIN tenants t ON t.id = w.tenant_id \
         WHERE t.id = $1 AND w.kind = 'provider'",
    )
    .bind(provider_id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((row.try_get("wallet")?, row.try_get("evm_address")?)))
        .transpose()
}

/// Sets a provider's webhook URL and sealed secret, enabling it again if it was disabled;
/// `false` when there is no such provider.
pub async fn set_webhook(
    pool: &AnyPool,
    provider_id: &str,
    url: &str,
    secret_sealed: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE tenants SET webhook_url = $1, webhook_secret_sealed = $2, webhook_failures = 0, webhook_disabled_at = NULL \
         WHERE id = $3 AND kind = 'provider'",
    )
    .bind(url)
    .bind(secret_sealed)
    .bind(provider_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The oldest tenant of `kind` named `name`, with its wallet: `(tenant id, wallet id)`.
pub async fn find_by_name(
    pool: &AnyPool,
    kind: &str,
    name: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT t.id, w.id AS wallet_id FROM tenants t JOIN wallets w ON w.tenant_id = t.id \
         WHERE t.kind = $1 AND t.name = $2 ORDER BY t.created_at, t.id LIMIT 1",
    )
    .bind(kind)
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row
        .map(|row| Ok::<_, sqlx::Error>((row.try_get("id")?, row.try_get("wallet_id")?)))
        .transpose()?)
}
