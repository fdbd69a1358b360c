//! Providers' priced endpoints: their price rules and bundles, in registration order.

use sqlx::{AnyPool, Row};

use crate::store::StoreError;

/// A provider's enabled endpoints as stored: `(rule JSON, bundle JSON)`, in registration
/// order.
pub async fn of_provider(
    pool: &AnyPool,
    provider_id: &str,
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    let rows =
        sqlx::query("SELECT rule, bundle FROM endpoints WHERE provider_id = $1 AND disabled_at IS NULL ORDER BY position, id")
            .bind(provider_id)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("rule")?, row.try_get("bundle")?)))
        .collect()
}

/// Stores an endpoint after the provider's others: rules are tried in registration order, the
/// first match pricing a request, so a catch-all registered last must stay last. (Positions
/// were once the registration second plus a random byte, which let endpoints made within one
/// second swap places.) Concurrent registrations for one provider may share a position; the
/// id breaks the tie.
pub async fn insert(
    pool: &AnyPool,
    id: &str,
    provider_id: &str,
    rule: &str,
    bundle: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO endpoints (id, provider_id, rule, bundle, position, created_at) \
         SELECT $1, $2, $3, $4, COALESCE(MAX(position), 0) + 1, $5 FROM endpoints WHERE provider_id = $6",
    )
    .bind(id)
    .bind(provider_id)
    .bind(rule)
    .bind(bundle)
    .bind(now)
    .bind(provider_id)
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
) -> Result<bool, StoreError> {
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
