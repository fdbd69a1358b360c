//! Balances, journal postings and deposits.

use sqlx::{AnyConnection, Row};

/// The largest balance a BIGINT column holds.
pub const MAX_BALANCE: i64 = i64::MAX;

/// A wallet's balance of an asset (0 when it has none).
pub async fn balance(
    conn: &mut AnyConnection,
    wallet_id: &str,
    asset: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT amount FROM balances WHERE wallet_id = $1 AND asset = $2")
        .bind(wallet_id)
        .bind(asset)
        .fetch_optional(&mut *conn)
        .await?;
    row.map_or(Ok(0), |row| row.try_get("amount"))
}

/// Adds `amount` to a balance (creating it at zero first). `false`, and nothing written, when
/// the sum would pass [`MAX_BALANCE`] — on SQLite it would silently become a REAL.
pub async fn credit(
    conn: &mut AnyConnection,
    wallet_id: &str,
    asset: &str,
    amount: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO balances (wallet_id, asset, amount) VALUES ($1, $2, $3) \
         ON CONFLICT (wallet_id, asset) DO UPDATE SET amount = balances.amount + excluded.amount \
         WHERE balances.amount <= $4 - excluded.amount",
    )
    .bind(wallet_id)
    .bind(asset)
    .bind(amount)
    .bind(MAX_BALANCE)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes `amount` from a balance. `false`, and nothing written, when the balance is short.
pub async fn debit(
    conn: &mut AnyConnection,
    wallet_id: &str,
    asset: &str,
    amount: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE balances SET amount = amount - $1 WHERE wallet_id = $2 AND asset = $3 AND amount >= $1",
    )
    .bind(amount)
    .bind(wallet_id)
    .bind(asset)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One journal posting of an entry (the postings of an entry sum to zero).
pub struct Posting<'a> {
    /// The entry (a payment or deposit id).
    pub entry_id: &'a str,
    /// The wallet.
    pub wallet_id: &'a str,
    /// The asset key.
    pub asset: &'a str,
    /// Signed atomic units.
    pub amount: i64,
    /// `payment`, `fee`, `deposit`.
    pub kind: &'a str,
}

/// Writes journal postings, in one statement.
pub async fn post(
    conn: &mut AnyConnection,
    postings: &[Posting<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    if postings.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO journal (id, entry_id, wallet_id, asset, amount, kind, created_at) VALUES {}",
        crate::store::Placeholders::of(conn).tuples(postings.len(), 7, 1)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (i, posting) in postings.iter().enumerate() {
        query = query
            // Ids derive from the entry: an entry is written once, or not at all.
            .bind(format!("jrn_{}_{i}", posting.entry_id))
            .bind(posting.entry_id)
            .bind(posting.wallet_id)
            .bind(posting.asset)
            .bind(posting.amount)
            .bind(posting.kind)
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
) -> Result<bool, sqlx::Error> {
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
