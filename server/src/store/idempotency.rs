//! Idempotency records: `(scope, key)` → fingerprint, state, outcome, begun at.

use paywire_core::idempotency::{Fingerprint, IdempotencyRecord, RecordState, StoredOutcome};
use sqlx::{AnyPool, Row};

use crate::store::StoreError;

/// Inserts an in-progress record of a new `generation`; `false` when the key has one already.
pub async fn insert(
    pool: &AnyPool,
    scope: &str,
    key: &str,
    fingerprint: &Fingerprint,
    generation: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, state, status, body, created_at, generation) \
         VALUES ($1, $2, $3, 'in_progress', NULL, NULL, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint.to_hex())
    .bind(now)
    .bind(generation)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A record as read: the core's view, the `created_at` it was read at (for [`take_over`]),
/// and its generation (`None` for records older than the column).
pub struct Read {
    /// What the core decides on.
    pub record: IdempotencyRecord,
    /// `created_at` as stored.
    pub created_at: i64,
    /// The generation object ids are derived with.
    pub generation: Option<String>,
}

/// The record under `(scope, key)`.
pub async fn get(pool: &AnyPool, scope: &str, key: &str) -> Result<Option<Read>, StoreError> {
    let Some(row) = sqlx::query("SELECT fingerprint, state, status, body, created_at, generation FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let created_at: i64 = row.try_get("created_at")?;
    let state = if row.try_get::<String, _>("state")? == "completed" {
        let status: Option<i32> = row.try_get("status")?;
        RecordState::Completed {
            outcome: StoredOutcome {
                status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                body: row
                    .try_get::<Option<String>, _>("body")?
                    .unwrap_or_default(),
            },
        }
    } else {
        RecordState::InProgress
    };
    let record = IdempotencyRecord {
        fingerprint: Fingerprint::try_from(row.try_get::<String, _>("fingerprint")?)
            .map_err(|e| StoreError::Inconsistent(format!("stored fingerprint: {e}")))?,
        created_at: u64::try_from(created_at).unwrap_or(0),
        state,
    };
    Ok(Some(Read {
        record,
        created_at,
        generation: row.try_get("generation")?,
    }))
}

/// Starts the record over for a new attempt, if it is still the one read at `read_created_at`
/// (an expired record, or one whose request died), under `generation` (the same one for a
/// retry of a request that died, a new one for a key used again after it expired); `false`
/// when another attempt took it first.
pub async fn take_over(
    pool: &AnyPool,
    scope: &str,
    key: &str,
    fingerprint: &Fingerprint,
    read_created_at: i64,
    generation: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET fingerprint = $1, state = 'in_progress', status = NULL, body = NULL, created_at = $2, generation = $3 \
         WHERE scope = $4 AND key = $5 AND created_at = $6",
    )
    .bind(fingerprint.to_hex())
    .bind(now)
    .bind(generation)
    .bind(scope)
    .bind(key)
    .bind(read_created_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the outcome of the in-progress request under `(scope, key)`.
pub async fn complete(
    pool: &AnyPool,
    scope: &str,
    key: &str,
    fingerprint: &Fingerprint,
    outcome: &StoredOutcome,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE idempotency_keys SET state = 'completed', status = $1, body = $2 WHERE scope = $3 AND key = $4 AND fingerprint = $5 AND state = 'in_progress'")
        .bind(i32::from(outcome.status))
        .bind(&outcome.body)
        .bind(scope)
        .bind(key)
        .bind(fingerprint.to_hex())
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes an in-progress record (its request failed before any effect).
pub async fn abandon(
    pool: &AnyPool,
    scope: &str,
    key: &str,
    fingerprint: &Fingerprint,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND fingerprint = $3 AND state = 'in_progress'")
        .bind(scope)
        .bind(key)
        .bind(fingerprint.to_hex())
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes records older than `before` (unix seconds).
pub async fn sweep(pool: &AnyPool, before: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
