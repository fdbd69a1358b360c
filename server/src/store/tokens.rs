//! Access tokens (their hashes and claims, use counts) and the sealed token keys.

use sqlx::{AnyConnection, AnyPool, Row};

use crate::store::StoreError;

/// The token keys, oldest first: `(kid, sealed secret)`.
pub async fn keys(pool: &AnyPool) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT kid, secret_sealed FROM token_keys ORDER BY created_at, kid")
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("kid")?, row.try_get("secret_sealed")?)))
        .collect()
}

/// Stores a token key.
pub async fn insert_key(
    pool: &AnyPool,
    kid: &str,
    secret_sealed: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO token_keys (kid, secret_sealed, created_at) VALUES ($1, $2, $3)")
        .bind(kid)
        .bind(secret_sealed)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// A sold token to record: its hash and claims, never the token.
pub struct NewToken<'a> {
    /// The claims id.
    pub id: &'a str,
    /// SHA-256 of the token.
    pub hash: &'a str,
    /// The provider that sold it.
    pub provider_id: &'a str,
    /// The payment that bought it.
    pub payment_id: &'a str,
    /// The claims, as JSON.
    pub claims: &'a str,
    /// Uses allowed.
    pub max_uses: Option<i64>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Records a sold token (inside the settlement transaction).
pub async fn insert(
    conn: &mut AnyConnection,
    token: &NewToken<'_>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (id, hash, provider_id, payment_id, claims, max_uses, uses, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
    )
    .bind(token.id)
    .bind(token.hash)
    .bind(token.provider_id)
    .bind(token.payment_id)
    .bind(token.claims)
    .bind(token.max_uses)
    .bind(token.expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The claims (JSON) of the token a payment bought.
pub async fn claims_of_payment(
    pool: &AnyPool,
    payment_id: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT claims FROM access_tokens WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("claims")).transpose()?)
}

/// A token's provider and uses so far.
pub async fn provider_and_uses(
    pool: &AnyPool,
    id: &str,
) -> Result<Option<(String, i64)>, StoreError> {
    let row = sqlx::query("SELECT provider_id, uses FROM access_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("provider_id")?, row.try_get("uses")?)))
        .transpose()
}

/// Counts one use unless `limit` uses were counted already, atomically; `false` when spent.
pub async fn count_use(pool: &AnyPool, id: &str, limit: Option<i64>) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE access_tokens SET uses = uses + 1 WHERE id = $1 AND ($2 IS NULL OR uses < $2)",
    )
    .bind(id)
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes tokens expired at `now`.
pub async fn sweep(pool: &AnyPool, now: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
