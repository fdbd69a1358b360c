//! The ledger's writes: entries applied to balances and the journal (the one way money
//! moves), balances read, deposits recorded.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use crate::base::entry::{Entry, Leg};
use crate::store::Placeholders;

use crate::store::StoreError;

/// The largest balance a BIGINT column holds.
pub const MAX_BALANCE: i64 = i64::MAX;

/// A wallet's balance of an asset (0 when it has none).
pub async fn balance(
    conn: &mut AnyConnection,
    wallet_id: &str,
    asset: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT amount FROM balances WHERE wallet_id = $1 AND asset = $2")
        .bind(wallet_id)
        .bind(asset)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map_or(Ok(0), |row| row.try_get("amount"))?)
}

/// What applying entries did. Anything but [`Applied::Done`] leaves some balances moved:
/// the caller rolls its transaction back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Every balance moved and every journal line is written.
    Done,
    /// A balance is short of what the entries take from it.
    Short,
    /// A balance would pass [`MAX_BALANCE`] (on SQLite it would silently become a REAL).
    Full,
}

/// Rows per statement: PostgreSQL binds at most 65,535 parameters and SQLite 32,766; a
/// journal line has 7.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Writes `entries` inside the caller's transaction: every balance they take from is debited
/// first (one row per balance, guarded `amount >= taken`), then every balance they add to is
/// credited (guarded below [`MAX_BALANCE`]), then their journal lines — a handful of
/// statements however many entries. Legs of the outside world move no balance
/// ([`Leg::moves_balance`]).
pub async fn apply(
    conn: &mut AnyConnection,
    entries: &[Entry],
    now: i64,
) -> Result<Applied, StoreError> {
    let mut debits = BTreeMap::<(&str, &str), i64>::new();
    let mut credits = BTreeMap::<(&str, &str), i64>::new();
    for leg in entries.iter().flat_map(Entry::legs) {
        if !leg.moves_balance() {
            continue;
        }
        let key = (leg.wallet.as_str(), leg.asset.as_str());
        let (sums, amount, past) = match leg.amount < 0 {
            true => (&mut debits, leg.amount.unsigned_abs(), Applied::Short),
            false => (&mut credits, leg.amount.unsigned_abs(), Applied::Full),
        };
        let sum = sums.entry(key).or_insert(0);
        // A sum past the BIGINT is more than any balance holds, or can hold.
        match i64::try_from(amount).ok().and_then(|a| sum.checked_add(a)) {
            Some(total) => *sum = total,
            None => return Ok(past),
        }
    }
    if !debit(conn, &debits).await? {
        return Ok(Applied::Short);
    }
    if !credit(conn, &credits).await? {
        return Ok(Applied::Full);
    }
    let lines: Vec<(&str, usize, &Leg)> = entries
        .iter()
        .flat_map(|entry| {
            entry
                .legs()
                .iter()
                .enumerate()
                .map(move |(i, leg)| (entry.id(), i, leg))
        })
        .collect();
    for chunk in lines.chunks(ROWS_PER_STATEMENT) {
        journal(conn, chunk, now).await?;
    }
    Ok(Applied::Done)
}

/// Takes each summed amount from its balance. `false` when any balance is short — the others
/// were taken: roll back.
async fn debit(
    conn: &mut AnyConnection,
    sums: &BTreeMap<(&str, &str), i64>,
) -> Result<bool, StoreError> {
    let rows: Vec<_> = sums.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE balances SET amount = balances.amount - v.column3 FROM (VALUES {}) AS v \
             WHERE balances.wallet_id = v.column1 AND balances.asset = v.column2 \
             AND balances.amount >= v.column3",
            Placeholders::of(conn).tuples(chunk.len(), 3, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((wallet, asset), amount) in chunk {
            query = query.bind(*wallet).bind(*asset).bind(**amount);
        }
        if query.execute(&mut *conn).await?.rows_affected() != chunk.len() as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Adds each summed amount to its balance, creating it at zero first. `false` when any sum
/// would pass [`MAX_BALANCE`] — roll back.
async fn credit(
    conn: &mut AnyConnection,
    sums: &BTreeMap<(&str, &str), i64>,
) -> Result<bool, StoreError> {
    let rows: Vec<_> = sums.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = Placeholders::of(conn).tuples(chunk.len(), 3, 1);
        let sql = format!(
            "INSERT INTO balances (wallet_id, asset, amount) VALUES {values} \
             ON CONFLICT (wallet_id, asset) DO UPDATE SET amount = balances.amount + excluded.amount \
             WHERE balances.amount <= {MAX_BALANCE} - excluded.amount"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((wallet, asset), amount) in chunk {
            query = query.bind(*wallet).bind(*asset).bind(**amount);
        }
        if query.execute(&mut *conn).await?.rows_affected() != chunk.len() as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Writes journal lines `(entry id, line number, leg)`, in one statement.
async fn journal(
    conn: &mut AnyConnection,
    lines: &[(&str, usize, &Leg)],
    now: i64,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO journal (id, entry_id, wallet_id, asset, amount, kind, created_at) VALUES {}",
        Placeholders::of(conn).tuples(lines.len(), 7, 1)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (entry_id, line, leg) in lines {
        query = query
            // Ids derive from the entry: an entry is written once, or not at all.
            .bind(format!("jrn_{entry_id}_{line}"))
            .bind(*entry_id)
            .bind(leg.wallet.as_str())
            .bind(leg.asset.as_str())
            .bind(leg.amount)
            .bind(leg.kind)
            .bind(now);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Records a deposit row. `false` when a deposit with this id exists already (a retry whose
/// first attempt committed).
pub async fn insert_deposit(
    conn: &mut AnyConnection,
    id: &str,
    wallet_id: &str,
    asset: &str,
    amount: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO deposits (id, wallet_id, asset, amount, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(wallet_id)
    .bind(asset)
    .bind(amount)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
