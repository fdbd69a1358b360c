//! What revenue and spending reports are computed from: the journal's payment postings of
//! one wallet, each with its payment (who paid, for what) and the entry's fee posting.

use sqlx::{AnyPool, Row};

use crate::store::StoreError;

/// One payment as a wallet's journal saw it.
#[derive(Debug, Clone)]
pub struct Line {
    /// Unix seconds.
    pub created_at: i64,
    /// The balance key of the asset.
    pub asset: String,
    /// The wallet's posting: a provider's net (positive), an agent's gross (negative).
    pub posted: i64,
    /// The entry's fee posting (0 without one).
    pub fee: i64,
    /// The resource paid for.
    pub resource: Option<String>,
    /// The payer as the payment names it.
    pub payer: String,
    /// The paying agent.
    pub agent_id: Option<String>,
    /// The provider paid.
    pub provider_id: Option<String>,
}

const LINES: &str = "SELECT j.created_at, j.asset, j.amount AS posted, \
    CAST(COALESCE((SELECT SUM(f.amount) FROM journal f WHERE f.entry_id = j.entry_id AND f.kind = 'fee'), 0) AS BIGINT) AS fee, \
    p.resource, p.payer, pw.tenant_id AS agent_id, p.provider_id \
    FROM journal j JOIN payments p ON p.id = j.entry_id JOIN wallets pw ON pw.id = p.payer_wallet \
    WHERE j.wallet_id = $1 AND j.kind = 'payment' AND j.created_at >= $2 AND j.created_at <= $3 \
    ORDER BY j.created_at";

/// The payment postings of `wallet_id` from `from` to `to` (unix seconds, inclusive), oldest
/// first.
pub async fn lines(
    pool: &AnyPool,
    wallet_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Line>, StoreError> {
    let rows = sqlx::query(LINES)
        .bind(wallet_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Line {
                created_at: row.try_get("created_at")?,
                asset: row.try_get("asset")?,
                posted: row.try_get("posted")?,
                fee: row.try_get("fee")?,
                resource: row.try_get("resource")?,
                payer: row.try_get("payer")?,
                agent_id: row.try_get("agent_id")?,
                provider_id: row.try_get("provider_id")?,
            })
        })
        .collect()
}

/// A tenant's own wallet of `kind` (`provider` or `agent`).
pub async fn wallet_of(
    pool: &AnyPool,
    tenant_id: &str,
    kind: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT id FROM wallets WHERE tenant_id = $1 AND kind = $2")
        .bind(tenant_id)
        .bind(kind)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("id")).transpose()?)
}
