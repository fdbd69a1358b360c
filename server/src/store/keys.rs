//! API keys and operator keys, stored as SHA-256 hashes.

use sqlx::{AnyPool, Row};

use crate::store::StoreError;

/// An API key as stored (never the key: its hash stays in the store).
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// `key_…`.
    pub id: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// The key's last characters, to tell keys apart.
    pub hint: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once revoked.
    pub revoked_at: Option<i64>,
}

/// The tenant a key hash belongs to: `(tenant id, tenant kind, scopes)`, unless revoked.
pub async fn tenant_of(
    pool: &AnyPool,
    hash: &str,
) -> Result<Option<(String, String, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT k.tenant_id, k.scopes, t.kind FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
         WHERE k.hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok((
            row.try_get("tenant_id")?,
            row.try_get("kind")?,
            row.try_get("scopes")?,
        ))
    })
    .transpose()
}

/// Whether a hash is an operator key's.
pub async fn is_operator(pool: &AnyPool, hash: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT 1 FROM operator_keys WHERE hash = $1")
        .bind(hash)
        .fetch_optional(pool)
        .await?
        .is_some())
}

/// Stores a new key (in the caller's transaction, or on the pool).
pub async fn insert<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    executor: E,
    id: &str,
    hash: &str,
    tenant_id: &str,
    scopes: &[String],
    hint: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_keys (hash, tenant_id, scopes, created_at, id, hint) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(tenant_id)
    .bind(scopes.join(" "))
    .bind(now)
    .bind(id)
    .bind(hint)
    .execute(executor)
    .await?;
    Ok(())
}

/// A tenant's keys, oldest first.
pub async fn list(pool: &AnyPool, tenant_id: &str) -> Result<Vec<KeyRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, scopes, hint, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let scopes: String = row.try_get("scopes")?;
            Ok(KeyRow {
                id: row.try_get("id")?,
                scopes: scopes.split_whitespace().map(str::to_string).collect(),
                hint: row.try_get("hint")?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// One of a tenant's keys.
pub async fn get(
    pool: &AnyPool,
    tenant_id: &str,
    key_id: &str,
) -> Result<Option<KeyRow>, StoreError> {
    Ok(list(pool, tenant_id)
        .await?
        .into_iter()
        .find(|key| key.id == key_id))
}

/// Revokes a tenant's key; `false` when it has no such key.
pub async fn revoke(
    pool: &AnyPool,
    tenant_id: &str,
    key_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(tenant_id)
    .bind(key_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `hash` the only operator key: a newly configured admin key revokes the old ones.
pub async fn replace_operator_keys(pool: &AnyPool, hash: &str, now: i64) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM operator_keys WHERE hash <> $1")
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO operator_keys (hash, created_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING")
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(tx.commit().await?)
}

/// How many operator keys exist.
pub async fn operator_count(pool: &AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM operator_keys")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}

/// Stores an operator key.
pub async fn insert_operator(pool: &AnyPool, hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO operator_keys (hash, created_at) VALUES ($1, $2)")
        .bind(hash)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}
