//! Payouts: the row and its status, moved only forward (`pending` → `paid` | `failed`) by
//! conditional updates, inside the caller's transaction with the journal entries.

use sqlx::{AnyConnection, AnyPool, Row};

use crate::store::StoreError;

/// A payout as stored.
#[derive(Debug, Clone)]
pub struct PayoutRow {
    /// `po_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The wallet it leaves.
    pub wallet_id: String,
    /// The balance key of the asset.
    pub asset: String,
    /// Atomic units.
    pub amount: i64,
    /// `pending`, `paid`, `failed`.
    pub status: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, provider_id, wallet_id, asset, amount, status, failure_reason, created_at, updated_at";

fn row_of(row: &sqlx::any::AnyRow) -> Result<PayoutRow, StoreError> {
    Ok(PayoutRow {
        id: row.try_get("id")?,
        provider_id: row.try_get("provider_id")?,
        wallet_id: row.try_get("wallet_id")?,
        asset: row.try_get("asset")?,
        amount: row.try_get("amount")?,
        status: row.try_get("status")?,
        failure_reason: row.try_get("failure_reason")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a pending payout; `false` when one with this id exists (a retry under the same
/// idempotency key).
pub async fn insert(conn: &mut AnyConnection, payout: &PayoutRow) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO payouts (id, provider_id, wallet_id, asset, amount, status, failure_reason, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', NULL, $6, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&payout.id)
    .bind(&payout.provider_id)
    .bind(&payout.wallet_id)
    .bind(&payout.asset)
    .bind(payout.amount)
    .bind(payout.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One payout.
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<PayoutRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payouts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(row_of).transpose()
}

/// One payout, from the pool.
pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<PayoutRow>, StoreError> {
    let mut conn = pool.acquire().await?;
    get(&mut conn, id).await
}

/// Moves a pending payout to `paid` or `failed`; `false` when it is not pending (any more).
pub async fn settle(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    failure_reason: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE payouts SET status = $1, failure_reason = $2, updated_at = $3 WHERE id = $4 AND status = 'pending'",
    )
    .bind(status)
    .bind(failure_reason)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A page of payouts (filter: `x.provider_id = ?`).
pub async fn list(
    pool: &AnyPool,
    request: &crate::store::lists::Page,
) -> Result<Option<(Vec<PayoutRow>, bool)>, StoreError> {
    let select = COLUMNS
        .split(", ")
        .map(|c| format!("x.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let Some((rows, more)) =
        crate::store::lists::page(pool, &select, "payouts", "", request).await?
    else {
        return Ok(None);
    };
    Ok(Some((
        rows.iter().map(row_of).collect::<Result<_, _>>()?,
        more,
    )))
}
