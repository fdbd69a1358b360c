//! Attempts to settle authorizations on a chain (`chain_attempts`).

use paywire_core::idempotency::Fingerprint;
use paywire_core::settlement::chain::{Attempt, AttemptState};
use paywire_core::Reason;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::store::StoreError;

/// A recorded attempt, with what the reconciler needs to drive it on.
#[derive(Debug, Clone)]
pub struct StoredAttempt {
    /// The attempt as the core decides on it.
    pub attempt: Attempt,
    /// The network.
    pub network: String,
    /// The facilitator request, JSON.
    pub request: String,
    /// The signed transaction, `0x`-hex, once signed.
    pub raw_tx: Option<String>,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// The signer's transaction nonce, once signed.
    pub signer_nonce: Option<u64>,
}

fn stored(row: sqlx::any::AnyRow) -> Result<StoredAttempt, StoreError> {
    let fingerprint: String = row.try_get("fingerprint")?;
    let status: String = row.try_get("status")?;
    let tx_hash: Option<String> = row.try_get("tx_hash")?;
    let state = match (status.as_str(), tx_hash) {
        ("settled", Some(transaction)) => AttemptState::Settled { transaction },
        ("failed", transaction) => AttemptState::Failed {
            transaction,
            reason: Reason::parse(
                &row.try_get::<Option<String>, _>("error_reason")?
                    .unwrap_or_else(|| "invalid_exact_evm_transaction_failed".into()),
            ),
        },
        ("submitted", Some(transaction)) => AttemptState::Submitted { transaction },
        _ => AttemptState::Submitting,
    };
    Ok(StoredAttempt {
        attempt: Attempt {
            payment_id: row.try_get("id")?,
            fingerprint: Fingerprint::try_from(fingerprint)
                .map_err(|e| StoreError::Inconsistent(format!("stored fingerprint: {e}")))?,
            state,
        },
        network: row.try_get("network")?,
        request: row.try_get("request")?,
        raw_tx: row.try_get("raw_tx")?,
        updated_at: row.try_get("updated_at")?,
        signer_nonce: row
            .try_get::<Option<i64>, _>("signer_nonce")?
            .and_then(|n| u64::try_from(n).ok()),
    })
}

const COLUMNS: &str = "id, network, fingerprint, request, status, tx_hash, raw_tx, signer_nonce, error_reason, updated_at";

/// The attempt at `(network, payer, nonce)`, if any.
pub async fn find(
    pool: &AnyPool,
    network: &str,
    payer: &str,
    nonce: &str,
) -> Result<Option<StoredAttempt>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM chain_attempts WHERE network = $1 AND payer = $2 AND nonce = $3"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(network)
        .bind(payer)
        .bind(nonce)
        .fetch_optional(pool)
        .await?;
    row.map(stored).transpose()
}

/// The attempt `id`.
pub async fn by_id(pool: &AnyPool, id: &str) -> Result<Option<StoredAttempt>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM chain_attempts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(stored).transpose()
}

/// A new attempt to record.
pub struct NewAttempt<'a> {
    /// `pay_…`.
    pub id: &'a str,
    /// The network.
    pub network: &'a str,
    /// The checksummed payer.
    pub payer: &'a str,
    /// The authorization's nonce.
    pub nonce: &'a str,
    /// The request's fingerprint, hex.
    pub fingerprint: &'a str,
    /// The facilitator request, JSON.
    pub request: &'a str,
}

/// Records a new attempt as `submitting`. `false` when one exists for the authorization
/// already (a concurrent request won: decide again on it).
pub async fn insert(
    pool: &AnyPool,
    attempt: &NewAttempt<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO chain_attempts (id, network, payer, nonce, fingerprint, request, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'submitting', $7, $7) ON CONFLICT (network, payer, nonce) DO NOTHING",
    )
    .bind(attempt.id)
    .bind(attempt.network)
    .bind(attempt.payer)
    .bind(attempt.nonce)
    .bind(attempt.fingerprint)
    .bind(attempt.request)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a signed transaction of an attempt — its first, or a fee-bumped replacement —
/// before it is broadcast: a crash after this leaves a transaction the reconciler broadcasts
/// again, never one it does not know.
pub async fn signed(
    pool: &AnyPool,
    id: &str,
    tx_hash: &str,
    raw_tx: &str,
    signer_nonce: u64,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO chain_transactions (hash, attempt_id, raw_tx, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(tx_hash)
    .bind(id)
    .bind(raw_tx)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE chain_attempts SET status = 'submitted', tx_hash = $1, raw_tx = $2, signer_nonce = $3, updated_at = $4 \
         WHERE id = $5 AND status IN ('submitting', 'submitted')",
    )
    .bind(tx_hash)
    .bind(raw_tx)
    .bind(i64::try_from(signer_nonce).unwrap_or(i64::MAX))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The hashes of every transaction signed for attempt `id`, newest first.
pub async fn transactions(pool: &AnyPool, id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT hash FROM chain_transactions WHERE attempt_id = $1 ORDER BY created_at DESC, hash",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| Ok(row.try_get("hash")?))
        .collect()
}

/// Ends an attempt as failed, unless it ended already. `true` when this call ended it.
pub async fn fail(
    conn: &mut AnyConnection,
    id: &str,
    tx_hash: Option<&str>,
    reason: &Reason,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE chain_attempts SET status = 'failed', tx_hash = COALESCE($1, tx_hash), error_reason = $2, updated_at = $3 \
         WHERE id = $4 AND status IN ('submitting', 'submitted')",
    )
    .bind(tx_hash)
    .bind(reason.as_str())
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends an attempt as settled by `tx_hash`, unless it ended already. `true` when this call
/// ended it (and so must record the payment, in the same transaction).
pub async fn settle(
    conn: &mut AnyConnection,
    id: &str,
    tx_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE chain_attempts SET status = 'settled', tx_hash = $1, updated_at = $2 \
         WHERE id = $3 AND status IN ('submitting', 'submitted')",
    )
    .bind(tx_hash)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Attempts still open and unchanged since `before` (Unix seconds), oldest first.
pub async fn open(
    pool: &AnyPool,
    before: i64,
    limit: i64,
) -> Result<Vec<StoredAttempt>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM chain_attempts WHERE status IN ('submitting', 'submitted') AND updated_at <= $1 \
         ORDER BY updated_at LIMIT $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(stored)
        .collect()
}

/// Marks an open attempt as looked at now (so the reconciler goes round the others first).
pub async fn touch(pool: &AnyPool, id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE chain_attempts SET updated_at = $1 WHERE id = $2 AND status IN ('submitting', 'submitted')")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets an attempt that put nothing on the chain (its transaction could not be prepared,
/// or the node refused it), so the same payment may be submitted again.
pub async fn forget(pool: &AnyPool, id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM chain_attempts WHERE id = $1 AND status IN ('submitting', 'submitted')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}
