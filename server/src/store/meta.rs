//! Facts about the database itself (which master key seals it), and the sealed columns.

use sqlx::{AnyConnection, AnyPool, Row};

use crate::store::StoreError;

/// A fact by name.
pub async fn get(pool: &AnyPool, name: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM meta WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("value")).transpose()?)
}

/// Records a fact unless it is recorded already.
pub async fn insert(pool: &AnyPool, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(pool)
        .await?;
    Ok(())
}

/// Replaces a fact (inside a transaction).
pub async fn set(conn: &mut AnyConnection, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE meta SET value = $1 WHERE name = $2")
        .bind(value)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A column holding sealed secrets: its table, the key column, the sealed column.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    /// The table.
    pub table: &'static str,
    /// The row's key column.
    pub key: &'static str,
    /// The sealed column.
    pub column: &'static str,
}

/// Every `(key, value)` of a sealed column; `unsealed_only` keeps values from before sealing.
pub async fn sealed_values(
    conn: &mut AnyConnection,
    at: SealedColumn,
    unsealed_only: bool,
) -> Result<Vec<(String, String)>, StoreError> {
    let filter = if unsealed_only {
        format!(" AND {} NOT LIKE 'sealed:%'", at.column)
    } else {
        String::new()
    };
    // Table and column names come from the server's constant list, never from input.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {key} AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL{filter}",
        key = at.key,
        column = at.column,
        table = at.table,
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("k")?, row.try_get("v")?)))
        .collect()
}

/// Replaces one sealed value.
pub async fn set_sealed(
    conn: &mut AnyConnection,
    at: SealedColumn,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET {column} = $1 WHERE {key} = $2",
        table = at.table,
        column = at.column,
        key = at.key,
    )))
    .bind(value)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the database answers.
pub async fn ping(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Copies as much of SQLite's write-ahead log into the database file as it can without
/// waiting for the writer or readers (`PRAGMA wal_checkpoint(PASSIVE)`).
pub async fn checkpoint(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(pool)
        .await?;
    Ok(())
}
