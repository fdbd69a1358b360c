//! Listing with cursor pagination, Stripe's way: newest first, `limit` rows after the cursor
//! row `starting_after` (by `(created_at, id)`, so rows of the same second keep one order), and
//! whether more follow. Filters are bound parameters; only column names chosen here are ever
//! written into the SQL.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::store::StoreError;

/// A bound value.
#[derive(Debug, Clone)]
pub enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

/// A page request over one table.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Rows wanted (the caller bounds it).
    pub limit: i64,
    /// The id of the last row of the previous page.
    pub starting_after: Option<String>,
    /// `column op $n` conditions, with their values (the column text is this module's own).
    pub filters: Vec<(&'static str, Bind)>,
}

impl Page {
    /// Adds `condition` (written with `?` where the value goes) bound to `value`.
    pub fn filter(&mut self, condition: &'static str, value: Bind) {
        self.filters.push((condition, value));
    }
}

/// Rows of `table` (aliased `x`, `select` its columns, `join` any join) for the page, newest
/// first, and whether more follow. `None` when `starting_after` names no row of this listing.
pub(crate) async fn page(
    pool: &AnyPool,
    select: &str,
    table: &str,
    join: &str,
    page: &Page,
) -> Result<Option<(Vec<AnyRow>, bool)>, StoreError> {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    for (condition, value) in &page.filters {
        binds.push(value.clone());
        conditions.push(condition.replace('?', &format!("${}", binds.len())));
    }
    if let Some(cursor) = &page.starting_after {
        // The cursor must be a row this listing itself would show (same filters).
        let mut probe = conditions.clone();
        let mut probe_binds = binds.clone();
        probe_binds.push(Bind::Text(cursor.clone()));
        probe.push(format!("x.id = ${}", probe_binds.len()));
        let sql = format!(
            "SELECT x.created_at AS c FROM {table} x {join} WHERE {}",
            probe.join(" AND ")
        );
        let found = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &probe_binds)
            .fetch_optional(pool)
            .await?;
        let Some(found) = found else {
            return Ok(None);
        };
        let created: i64 = found.try_get("c")?;
        binds.push(Bind::Int(created));
        let c = binds.len();
        binds.push(Bind::Text(cursor.clone()));
        let i = binds.len();
        conditions.push(format!(
            "(x.created_at < ${c} OR (x.created_at = ${c} AND x.id < ${i}))"
        ));
    }
    binds.push(Bind::Int(page.limit + 1));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {select} FROM {table} x {join} {where_clause} ORDER BY x.created_at DESC, x.id DESC LIMIT ${}",
        binds.len()
    );
    let mut rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &binds)
        .fetch_all(pool)
        .await?;
    let more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    Ok(Some((rows, more)))
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.clone()),
            Bind::Int(value) => query.bind(*value),
        };
    }
    query
}

/// A stored event.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// `evt_…`.
    pub id: String,
    /// Whose.
    pub tenant_id: String,
    /// Its type.
    pub event_type: String,
    /// Its data, JSON.
    pub data: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `none`, `pending`, `delivered`, `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (unix ms), while pending.
    pub next_attempt_at: i64,
    /// The last attempt's HTTP status.
    pub last_status_code: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
}

const EVENT_COLUMNS: &str =
    "x.id, x.tenant_id, x.event, x.payload, x.created_at, x.status, x.attempts, \
    x.next_attempt_at, x.last_status_code, x.last_error, x.delivered_at";

fn event_row(row: &AnyRow) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        event_type: row.try_get("event")?,
        data: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

/// A page of events (filters: `x.tenant_id = ?`, `x.event = ?`, `x.status = ?`, times).
pub async fn events(
    pool: &AnyPool,
    request: &Page,
) -> Result<Option<(Vec<EventRow>, bool)>, StoreError> {
    let Some((rows, more)) = page(pool, EVENT_COLUMNS, "webhook_outbox", "", request).await? else {
        return Ok(None);
    };
    Ok(Some((
        rows.iter().map(event_row).collect::<Result<_, _>>()?,
        more,
    )))
}

/// One event.
pub async fn event(pool: &AnyPool, id: &str) -> Result<Option<EventRow>, StoreError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM webhook_outbox x WHERE x.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(event_row).transpose()
}

/// A recorded delivery attempt.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// `wha_…`.
    pub id: String,
    /// The event.
    pub event_id: String,
    /// The event's type (`payment.settled`, …).
    pub event_type: Option<String>,
    /// Whose.
    pub tenant_id: String,
    /// Its number.
    pub attempt: i64,
    /// Where it went.
    pub url: String,
    /// The receiver's status.
    pub status_code: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// Unix seconds.
    pub created_at: i64,
}

const ATTEMPT_COLUMNS: &str = "x.id, x.event_id, o.event AS event_type, x.tenant_id, x.attempt, \
    x.url, x.status_code, x.error, x.duration_ms, x.created_at";
const ATTEMPT_JOIN: &str = "LEFT JOIN webhook_outbox o ON o.id = x.event_id";

fn attempt_row(row: &AnyRow) -> Result<AttemptRow, StoreError> {
    Ok(AttemptRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        tenant_id: row.try_get("tenant_id")?,
        attempt: row.try_get("attempt")?,
        url: row.try_get("url")?,
        status_code: row.try_get("status_code")?,
        error: row.try_get("error")?,
        duration_ms: row.try_get("duration_ms")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A page of delivery attempts (filters: `x.tenant_id = ?`, `x.event_id = ?`).
pub async fn attempts(
    pool: &AnyPool,
    request: &Page,
) -> Result<Option<(Vec<AttemptRow>, bool)>, StoreError> {
    let Some((rows, more)) = page(
        pool,
        ATTEMPT_COLUMNS,
        "webhook_attempts",
        ATTEMPT_JOIN,
        request,
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        rows.iter().map(attempt_row).collect::<Result<_, _>>()?,
        more,
    )))
}

/// A settled payment.
#[derive(Debug, Clone)]
pub struct PaymentRow {
    /// `pay_…`.
    pub id: String,
    /// The network.
    pub network: String,
    /// The payer as the payment names it.
    pub payer: String,
    /// The paying wallet.
    pub payer_wallet: String,
    /// The paying wallet's tenant (an agent), if any.
    pub agent_id: Option<String>,
    /// The payee's wallet.
    pub payee_wallet: String,
    /// The provider.
    pub provider_id: Option<String>,
    /// The provider's name.
    pub provider_name: Option<String>,
    /// The paying agent's name.
    pub agent_name: Option<String>,
    /// The balance key of the asset.
    pub asset: String,
    /// Atomic units.
    pub amount: i64,
    /// The platform's fee.
    pub fee: i64,
    /// The provider's net.
    pub net: i64,
    /// The x402 payment identifier.
    pub payment_identifier: Option<String>,
    /// The resource paid for.
    pub resource: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

const PAYMENT_COLUMNS: &str =
    "x.id, x.network, x.payer, x.payer_wallet, pw.tenant_id AS agent_id, x.payee_wallet, \
    x.provider_id, pv.name AS provider_name, ag.name AS agent_name, x.asset, x.amount, x.fee, \
    x.net, x.payment_identifier, x.resource, x.created_at";
const PAYMENT_JOIN: &str = "JOIN wallets pw ON pw.id = x.payer_wallet \
    LEFT JOIN tenants pv ON pv.id = x.provider_id LEFT JOIN tenants ag ON ag.id = pw.tenant_id";

fn payment_row(row: &AnyRow) -> Result<PaymentRow, StoreError> {
    Ok(PaymentRow {
        id: row.try_get("id")?,
        network: row.try_get("network")?,
        payer: row.try_get("payer")?,
        payer_wallet: row.try_get("payer_wallet")?,
        agent_id: row.try_get("agent_id")?,
        payee_wallet: row.try_get("payee_wallet")?,
        provider_id: row.try_get("provider_id")?,
        provider_name: row.try_get("provider_name")?,
        agent_name: row.try_get("agent_name")?,
        asset: row.try_get("asset")?,
        amount: row.try_get("amount")?,
        fee: row.try_get("fee")?,
        net: row.try_get("net")?,
        payment_identifier: row.try_get("payment_identifier")?,
        resource: row.try_get("resource")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A page of payments (filters: `x.provider_id = ?`, `pw.tenant_id = ?`, `x.network = ?`,
/// times).
pub async fn payments(
    pool: &AnyPool,
    request: &Page,
) -> Result<Option<(Vec<PaymentRow>, bool)>, StoreError> {
    let Some((rows, more)) = page(pool, PAYMENT_COLUMNS, "payments", PAYMENT_JOIN, request).await?
    else {
        return Ok(None);
    };
    Ok(Some((
        rows.iter().map(payment_row).collect::<Result<_, _>>()?,
        more,
    )))
}

/// One payment.
pub async fn payment(pool: &AnyPool, id: &str) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments x {PAYMENT_JOIN} WHERE x.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(payment_row).transpose()
}

/// A registered endpoint.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    /// `end_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The price rule, JSON.
    pub rule: String,
    /// The bundle, JSON.
    pub bundle: Option<String>,
    /// When it was disabled.
    pub disabled_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

const ENDPOINT_COLUMNS: &str = "x.id, x.provider_id, x.rule, x.bundle, x.disabled_at, x.created_at";

fn endpoint_row(row: &AnyRow) -> Result<EndpointRow, StoreError> {
    Ok(EndpointRow {
        id: row.try_get("id")?,
        provider_id: row.try_get("provider_id")?,
        rule: row.try_get("rule")?,
        bundle: row.try_get("bundle")?,
        disabled_at: row.try_get("disabled_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A page of endpoints (filter: `x.provider_id = ?`).
pub async fn endpoints(
    pool: &AnyPool,
    request: &Page,
) -> Result<Option<(Vec<EndpointRow>, bool)>, StoreError> {
    let Some((rows, more)) = page(pool, ENDPOINT_COLUMNS, "endpoints", "", request).await? else {
        return Ok(None);
    };
    Ok(Some((
        rows.iter().map(endpoint_row).collect::<Result<_, _>>()?,
        more,
    )))
}

/// One endpoint of a provider.
pub async fn endpoint(
    pool: &AnyPool,
    provider_id: &str,
    id: &str,
) -> Result<Option<EndpointRow>, StoreError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints x WHERE x.id = $1 AND x.provider_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(provider_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(endpoint_row).transpose()
}

/// A journal posting.
#[derive(Debug, Clone)]
pub struct PostingRow {
    /// The posting.
    pub id: String,
    /// Its entry (a payment's id, a deposit's).
    pub entry_id: String,
    /// The wallet.
    pub wallet_id: String,
    /// The balance key of the asset.
    pub asset: String,
    /// Atomic units, signed.
    pub amount: i64,
    /// `payment`, `fee`, `deposit`, `payout`.
    pub kind: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A page of a wallet's journal (filter: `x.wallet_id = ?`).
pub async fn journal(
    pool: &AnyPool,
    request: &Page,
) -> Result<Option<(Vec<PostingRow>, bool)>, StoreError> {
    let Some((rows, more)) = page(
        pool,
        "x.id, x.entry_id, x.wallet_id, x.asset, x.amount, x.kind, x.created_at",
        "journal",
        "",
        request,
    )
    .await?
    else {
        return Ok(None);
    };
    let postings = rows
        .iter()
        .map(|row| {
            Ok(PostingRow {
                id: row.try_get("id")?,
                entry_id: row.try_get("entry_id")?,
                wallet_id: row.try_get("wallet_id")?,
                asset: row.try_get("asset")?,
                amount: row.try_get("amount")?,
                kind: row.try_get("kind")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some((postings, more)))
}

/// Who a tenant is: `(kind, name, its own wallet)`.
pub async fn tenant(
    pool: &AnyPool,
    id: &str,
) -> Result<Option<(String, String, Option<String>)>, StoreError> {
    let row = sqlx::query(
        "SELECT t.kind, t.name, (SELECT w.id FROM wallets w WHERE w.tenant_id = t.id AND w.kind = t.kind) AS wallet \
         FROM tenants t WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok((
            row.try_get("kind")?,
            row.try_get("name")?,
            row.try_get("wallet")?,
        ))
    })
    .transpose()
}

/// A tenant, as the operator's listing shows it.
#[derive(Debug, Clone)]
pub struct TenantRow {
    /// `provider_…` or `agent_…`.
    pub id: String,
    /// `provider` or `agent`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its wallet.
    pub wallet_id: Option<String>,
    /// Where its webhooks go, if anywhere.
    pub webhook_url: Option<String>,
    /// When its webhook endpoint was disabled (after consecutive failures), if it is.
    pub webhook_disabled_at: Option<i64>,
    /// Consecutive failed deliveries.
    pub webhook_failures: i64,
    /// Unix seconds.
    pub created_at: i64,
}

const TENANT_COLUMNS: &str = "x.id, x.kind, x.name, w.id AS wallet_id, x.webhook_url, \
    x.webhook_disabled_at, x.webhook_failures, x.created_at";
const TENANT_JOIN: &str = "LEFT JOIN wallets w ON w.tenant_id = x.id";

/// A page of tenants (filter: `x.kind = ?`).
pub async fn tenants(
    pool: &AnyPool,
    request: &Page,
) -> Result<Option<(Vec<TenantRow>, bool)>, StoreError> {
    let Some((rows, more)) = page(pool, TENANT_COLUMNS, "tenants", TENANT_JOIN, request).await?
    else {
        return Ok(None);
    };
    let row_of = |row: &AnyRow| -> Result<TenantRow, StoreError> {
        Ok(TenantRow {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            name: row.try_get("name")?,
            wallet_id: row.try_get("wallet_id")?,
            webhook_url: row.try_get("webhook_url")?,
            webhook_disabled_at: row.try_get("webhook_disabled_at")?,
            webhook_failures: row.try_get("webhook_failures")?,
            created_at: row.try_get("created_at")?,
        })
    };
    Ok(Some((
        rows.iter().map(row_of).collect::<Result<_, _>>()?,
        more,
    )))
}
