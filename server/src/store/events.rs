//! Events and their webhook deliveries: the outbox (one row per event, with its delivery
//! state), the attempts made, and each endpoint's failure count.
//!
//! A sender claims due events with a lease (`lease_until`, `lease_owner`) in one conditional
//! update, so several server instances take disjoint events and never send one attempt twice
//! (on PostgreSQL a row claimed meanwhile fails the condition when re-read under its lock;
//! SQLite has one writer at a time). Every later write of a delivery is conditional on still
//! holding its lease.

use sqlx::{AnyPool, Row};

use crate::store::db::Dialect;

use crate::store::StoreError;

/// Queues an event for a tenant, inside the caller's transaction: `pending` when the tenant
/// has an enabled webhook endpoint now, else `none` (listed, never sent).
pub async fn enqueue(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    tenant_id: &str,
    event_type: &str,
    data: &str,
    now: i64,
) -> Result<(), StoreError> {
    insert(
        conn,
        "tenants t WHERE t.id = $6",
        id,
        tenant_id,
        event_type,
        data,
        now,
    )
    .await
}

/// Queues an event for the tenant owning `wallet_id` (none for a wallet without one, such as
/// a devnet EVM address), inside the caller's transaction.
pub async fn enqueue_for_wallet(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    wallet_id: &str,
    event_type: &str,
    data: &str,
    now: i64,
) -> Result<(), StoreError> {
    let source = "wallets w JOIN tenants t ON t.id = w.tenant_id WHERE w.id = $6";
    insert(conn, source, id, wallet_id, event_type, data, now).await
}

/// Inserts the event for the tenant `t` that `source` (a `FROM … WHERE` clause, with `$6`
/// bound to `key`) selects. (Events told once per subject, with a once-key, go through
/// [`crate::store::batch::enqueue_events`].)
async fn insert(
    conn: &mut sqlx::AnyConnection,
    source: &'static str,
    id: &str,
    key: &str,
    event_type: &str,
    data: &str,
    now: i64,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO webhook_outbox (id, tenant_id, event, payload, created_at, delivered_at, status, attempts, next_attempt_at, lease_until) \
         SELECT $1, t.id, $2, $3, $4, NULL, \
                CASE WHEN t.webhook_url IS NOT NULL AND t.webhook_disabled_at IS NULL THEN 'pending' ELSE 'none' END, \
                0, $5, 0 \
         FROM {source}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(event_type)
        .bind(data)
        .bind(now)
        .bind(now.saturating_mul(1000))
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An event claimed for delivery, with where it goes.
#[derive(Debug, Clone)]
pub struct Due {
    /// `evt_…`.
    pub id: String,
    /// Whose.
    pub tenant_id: String,
    /// `payment.settled`, ….
    pub event_type: String,
    /// The data object, JSON.
    pub data: String,
    /// Unix seconds.
    pub created_at: i64,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    /// The endpoint.
    pub url: String,
    /// The endpoint's sealed signing secret.
    pub secret_sealed: String,
}

/// Claims up to `limit` events due at `now_ms` for `lease_ms`, for `owner`: their attempt
/// numbers are taken now, so an attempt is sent by one sender only (a row another sender
/// claimed meanwhile fails the outer `lease_until < now` when it is re-read under its lock).
///
/// No endpoint gets more than `per_tenant` attempts in flight, counting those leased by any
/// sender: a receiver that never answers holds at most that many, and every other tenant's
/// events go on being claimed beside it.
pub async fn claim_due(
    pool: &AnyPool,
    _dialect: Dialect,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
    per_tenant: i64,
) -> Result<Vec<Due>, StoreError> {
    let claim = "UPDATE webhook_outbox SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
         WHERE status = 'pending' AND lease_until < $3 AND next_attempt_at <= $4 AND id IN ( \
             SELECT id FROM ( \
                 SELECT o.id, o.next_attempt_at, \
                        ROW_NUMBER() OVER (PARTITION BY o.tenant_id ORDER BY o.next_attempt_at, o.id) AS place, \
                        (SELECT COUNT(*) FROM webhook_outbox f WHERE f.tenant_id = o.tenant_id \
                           AND f.status = 'pending' AND f.lease_until >= $5) AS in_flight \
                 FROM webhook_outbox o JOIN tenants t ON t.id = o.tenant_id \
                 WHERE o.status = 'pending' AND o.next_attempt_at <= $6 AND o.lease_until < $7 \
                   AND t.webhook_url IS NOT NULL AND t.webhook_disabled_at IS NULL \
             ) ranked WHERE place + in_flight <= $8 \
             ORDER BY next_attempt_at LIMIT $9) \
         RETURNING id";
    let ids: Vec<String> = sqlx::query(claim)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(owner)
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .bind(per_tenant)
        .bind(limit)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut due = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(
            "SELECT o.id, o.tenant_id, o.event, o.payload, o.created_at, o.attempts, t.webhook_url, t.webhook_secret_sealed \
             FROM webhook_outbox o JOIN tenants t ON t.id = o.tenant_id WHERE o.id = $1 AND o.lease_owner = $2",
        )
        .bind(&id)
        .bind(owner)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else { continue };
        let url: Option<String> = row.try_get("webhook_url")?;
        let secret: Option<String> = row.try_get("webhook_secret_sealed")?;
        let (Some(url), Some(secret_sealed)) = (url, secret) else {
            continue;
        };
        due.push(Due {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            event_type: row.try_get("event")?,
            data: row.try_get("payload")?,
            created_at: row.try_get("created_at")?,
            attempt: row.try_get("attempts")?,
            url,
            secret_sealed,
        });
    }
    Ok(due)
}

/// What one attempt did.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// `wha_…`.
    pub id: &'a str,
    /// The event.
    pub event_id: &'a str,
    /// Whose.
    pub tenant_id: &'a str,
    /// Its number.
    pub attempt: i64,
    /// Where it went.
    pub url: &'a str,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did (a connection error, a timeout, a non-2xx status).
    pub error: Option<&'a str>,
    /// How long it took.
    pub duration_ms: i64,
}

/// The outcome of an attempt for the event: delivered, to retry at a time, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// Try again at this time (unix ms).
    RetryAt(i64),
    /// Failed for good.
    Failed,
}

/// Records an attempt and its outcome, if `owner` still holds the event's lease; returns the
/// endpoint's consecutive failures after it (`None` when the lease was lost and nothing was
/// written).
pub async fn record_attempt(
    pool: &AnyPool,
    dialect: Dialect,
    owner: &str,
    attempt: &Attempt<'_>,
    outcome: Outcome,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let mut tx = pool.begin_with(dialect.begin_write()).await?;
    let (status, next, delivered) = match outcome {
        Outcome::Delivered => ("delivered", 0, Some(now)),
        Outcome::RetryAt(at) => ("pending", at, None),
        Outcome::Failed => ("failed", 0, None),
    };
    let updated = sqlx::query(
        "UPDATE webhook_outbox SET status = $1, next_attempt_at = $2, delivered_at = COALESCE(delivered_at, $3), \
         lease_until = 0, lease_owner = NULL, last_status_code = $4, last_error = $5 \
         WHERE id = $6 AND lease_owner = $7",
    )
    .bind(status)
    .bind(next)
    .bind(delivered)
    .bind(attempt.status_code)
    .bind(attempt.error)
    .bind(attempt.event_id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (id, event_id, tenant_id, attempt, url, status_code, error, duration_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(attempt.id)
    .bind(attempt.event_id)
    .bind(attempt.tenant_id)
    .bind(attempt.attempt)
    .bind(attempt.url)
    .bind(attempt.status_code)
    .bind(attempt.error)
    .bind(attempt.duration_ms)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let reset = outcome == Outcome::Delivered;
    let failures: i64 = sqlx::query(if reset {
        "UPDATE tenants SET webhook_failures = 0 WHERE id = $1 RETURNING webhook_failures"
    } else {
        "UPDATE tenants SET webhook_failures = webhook_failures + 1 WHERE id = $1 RETURNING webhook_failures"
    })
    .bind(attempt.tenant_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("webhook_failures")?;
    tx.commit().await?;
    Ok(Some(failures))
}

/// Disables a tenant's endpoint (if it is not already) and queues the event saying so;
/// `true` when this call disabled it.
pub async fn disable_endpoint(
    pool: &AnyPool,
    dialect: Dialect,
    tenant_id: &str,
    event_id: &str,
    data: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin_with(dialect.begin_write()).await?;
    let done = sqlx::query(
        "UPDATE tenants SET webhook_disabled_at = $1 WHERE id = $2 AND webhook_disabled_at IS NULL",
    )
    .bind(now)
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        enqueue(
            &mut tx,
            event_id,
            tenant_id,
            "webhook_endpoint.disabled",
            data,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Queues an event again for its tenant's endpoint now (a manual resend); `false` when there
/// is no such event of this tenant, or the tenant has no endpoint.
pub async fn resend(
    pool: &AnyPool,
    event_id: &str,
    tenant_id: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE webhook_outbox SET status = 'pending', next_attempt_at = $1 \
         WHERE id = $2 AND ($3 IS NULL OR tenant_id = $3) AND lease_until < $1 \
           AND tenant_id IN (SELECT id FROM tenants WHERE webhook_url IS NOT NULL)",
    )
    .bind(now_ms)
    .bind(event_id)
    .bind(tenant_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Events waiting to be sent (pending, to an enabled endpoint): the queue depth.
pub async fn queue_depth(pool: &AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "SELECT COUNT(*) AS n FROM webhook_outbox o JOIN tenants t ON t.id = o.tenant_id \
         WHERE o.status = 'pending' AND t.webhook_url IS NOT NULL AND t.webhook_disabled_at IS NULL",
    )
    .fetch_one(pool)
    .await?
    .try_get("n")?)
}
