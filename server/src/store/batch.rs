//! Set-based statements of the group-commit pipeline: a batch of settlements reads what its
//! decisions need and writes what they posted in a handful of statements, whatever its size.
//!
//! Each statement costs a round trip to the database (on SQLite, two thread hand-offs), and
//! that, not SQL work, is what one-statement-per-row batches spent their time on. Rows are
//! passed as `VALUES` lists (columns `column1`, `column2`, … on both SQLite and PostgreSQL),
//! chunked so no statement passes either database's limit on bound parameters.

use std::collections::HashMap;

use paywire_core::idempotency::Fingerprint;
use paywire_core::policy::{Policy, Usage};
use paywire_core::settlement::ledger::EarlierPayment;
use sqlx::{AnyConnection, Row};

use crate::store::db::Dialect;
use crate::store::Placeholders;

use crate::store::StoreError;

/// Rows per statement: PostgreSQL binds at most 65,535 parameters and SQLite 32,766; the
/// widest row here has 17 columns.
const ROWS_PER_STATEMENT: usize = 1_000;

/// The policy and usage of each wallet, locking the rows until commit on PostgreSQL (in id
/// order, so two transactions never wait on each other's locks in a cycle; SQLite's
/// `BEGIN IMMEDIATE` already holds the whole database).
pub async fn lock_payers(
    conn: &mut AnyConnection,
    dialect: Dialect,
    wallet_ids: &[&str],
) -> Result<HashMap<String, (Option<Policy>, Usage)>, StoreError> {
    let mut found = HashMap::with_capacity(wallet_ids.len());
    for chunk in wallet_ids.chunks(ROWS_PER_STATEMENT) {
        let lock = match dialect {
            Dialect::Postgres => " ORDER BY id FOR UPDATE",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "SELECT id, policy, usage FROM wallets WHERE id IN ({}){lock}",
            Placeholders::of(conn).list(chunk.len(), 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let id: String = row.try_get("id")?;
            let policy: Option<String> = row.try_get("policy")?;
            let usage: String = row.try_get("usage")?;
            let policy = policy
                .map(|p| serde_json::from_str::<Policy>(&p))
                .transpose()
                .map_err(|e| StoreError::Inconsistent(format!("stored policy of {id}: {e}")))?;
            let usage = serde_json::from_str::<Usage>(&usage)
                .map_err(|e| StoreError::Inconsistent(format!("stored usage of {id}: {e}")))?;
            found.insert(id, (policy, usage));
        }
    }
    Ok(found)
}

/// Every balance of each wallet, keyed by `(wallet, asset)`.
pub async fn balances(
    conn: &mut AnyConnection,
    wallet_ids: &[&str],
) -> Result<HashMap<(String, String), i64>, StoreError> {
    let mut found = HashMap::with_capacity(wallet_ids.len());
    for chunk in wallet_ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT wallet_id, asset, amount FROM balances WHERE wallet_id IN ({})",
            Placeholders::of(conn).list(chunk.len(), 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.insert(
                (row.try_get("wallet_id")?, row.try_get("asset")?),
                row.try_get("amount")?,
            );
        }
    }
    Ok(found)
}

/// Which once-only key of `payments` a lookup goes by.
#[derive(Debug, Clone, Copy)]
pub enum OnceKey {
    /// `(network, payer, nonce)`, answered with the request fingerprint.
    Nonce,
    /// `(network, payer, payment_identifier)`, answered with the terms fingerprint.
    Identifier,
}

/// The payments already settled on `network` under any of `keys` (`(payer, key)` pairs),
/// keyed the same way: the pairs joined to the unique index, one index probe each (two `IN`
/// lists would probe every payer with every key).
pub async fn earlier_payments(
    conn: &mut AnyConnection,
    network: &str,
    by: OnceKey,
    keys: &[(&str, &str)],
) -> Result<HashMap<(String, String), EarlierPayment>, StoreError> {
    let (column, fingerprint) = match by {
        OnceKey::Nonce => ("nonce", "fingerprint"),
        OnceKey::Identifier => ("payment_identifier", "terms_fingerprint"),
    };
    let style = Placeholders::of(conn);
    let mut found = HashMap::new();
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT p.id, p.payer, p.{column} AS once_key, p.{fingerprint} AS fp FROM (VALUES {}) AS v \
             JOIN payments p ON p.network = {} AND p.payer = v.column1 AND p.{column} = v.column2",
            style.tuples(chunk.len(), 2, 1),
            style.list(1, 2 * chunk.len() + 1),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (payer, key) in chunk {
            query = query.bind(*payer).bind(*key);
        }
        for row in query.bind(network).fetch_all(&mut *conn).await? {
            let key: (String, String) = (row.try_get("payer")?, row.try_get("once_key")?);
            let fingerprint: String = row.try_get("fp")?;
            let earlier = EarlierPayment {
                payment_id: row.try_get("id")?,
                fingerprint: Fingerprint::try_from(fingerprint)
                    .map_err(|e| StoreError::Inconsistent(format!("stored fingerprint: {e}")))?,
            };
            found.insert(key, earlier);
        }
    }
    Ok(found)
}

/// Stores each wallet's usage (one row per wallet: its last usage).
pub async fn set_usage(
    conn: &mut AnyConnection,
    usages: &[(&str, String)],
) -> Result<(), StoreError> {
    for chunk in usages.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE wallets SET usage = v.column2 FROM (VALUES {}) AS v WHERE wallets.id = v.column1",
            Placeholders::of(conn).tuples(chunk.len(), 2, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (wallet, usage) in chunk {
            query = query.bind(*wallet).bind(usage.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// An event to queue for a tenant.
pub struct NewEvent<'a> {
    /// `evt_…`.
    pub id: String,
    /// The tenant it is for.
    pub tenant_id: &'a str,
    /// `payment.settled`, `payment.refused`.
    pub event_type: &'static str,
    /// The data object, JSON.
    pub data: String,
    /// Queued only if the tenant has no event with this key yet.
    pub once_key: Option<String>,
}

/// Queues events, as [`crate::store::events::enqueue`] does one: `pending` for a tenant with
/// an enabled webhook endpoint now, else `none`.
pub async fn enqueue_events(
    conn: &mut AnyConnection,
    events: &[NewEvent<'_>],
    now: i64,
) -> Result<(), StoreError> {
    let style = Placeholders::of(conn);
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO webhook_outbox (id, tenant_id, event, payload, created_at, delivered_at, status, attempts, next_attempt_at, lease_until, once_key) \
             SELECT v.column1, t.id, v.column3, v.column4, {}, NULL, \
                    CASE WHEN t.webhook_url IS NOT NULL AND t.webhook_disabled_at IS NULL THEN 'pending' ELSE 'none' END, \
                    0, {}, 0, v.column5 \
             FROM (VALUES {}) AS v JOIN tenants t ON t.id = v.column2 WHERE true ON CONFLICT DO NOTHING",
            style.list(1, 1),
            style.list(1, 2),
            style.tuples(chunk.len(), 5, 3)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(now.saturating_mul(1000));
        for event in chunk {
            query = query
                .bind(event.id.as_str())
                .bind(event.tenant_id)
                .bind(event.event_type)
                .bind(event.data.as_str())
                .bind(event.once_key.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_then_columns() {
        let numbered = Placeholders::Numbered;
        assert_eq!(numbered.tuples(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(numbered.tuples(1, 2, 3), "($3, $4)");
        assert_eq!(numbered.list(3, 2), "$2, $3, $4");
        assert_eq!(Placeholders::Anonymous.tuples(2, 2, 5), "(?, ?), (?, ?)");
    }
}
