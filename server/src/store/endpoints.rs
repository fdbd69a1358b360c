//! Providers' priced endpoints: their price rules and bundles, in registration order.

use sqlx::{AnyPool, Row};

/// A provider's enabled endpoints as stored: `(rule JSON, bundle JSON)`, in registration
/// order.
pub async fn of_provider(
    pool: &AnyPool,
    provider_id: &str,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT rule, bundle FROM endpoints WHERE provider_id = $1 AND disabled_at IS NULL ORDER BY position")
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

/// Disables (`true`) or enables an endpoint of a provider; `false` when it has no such
/// endpoint.
pub async fn set_disabled(
    pool: &AnyPool,
    provider_id: &str,
    id: &str,
    disabled: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE endpoints SET disabled_at = CASE WHEN $1 THEN COALESCE(disabled_at, $2) ELSE NULL END \
         WHERE id = $3 AND provider_id = $4",
    )
    .bind(disabled)
    .bind(now)
    .bind(id)
    .bind(provider_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
