//! Providers' priced endpoints: their price rules and bundles, in registration order.

use sqlx::{AnyPool, Row};

/// A provider's endpoints as stored: `(rule JSON, bundle JSON)`, in registration order.
pub async fn of_provider(
    pool: &AnyPool,
    provider_id: &str,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT rule, bundle FROM endpoints WHERE provider_id = $1 ORDER BY position")
            .bind(provider_id)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("rule")?, row.try_get("bundle")?)))
        .collect()
}

/// Stores an endpoint.
pub async fn insert(
    pool: &AnyPool,
    id: &str,
    provider_id: &str,
    rule: &str,
    bundle: Option<&str>,
    position: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO endpoints (id, provider_id, rule, bundle, position, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(provider_id)
        .bind(rule)
        .bind(bundle)
        .bind(position)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}
