//! Settled payments: the once-only keys `(network, payer, nonce)` and `(network, payer,
//! payment identifier)`, and the answer each gave.

use paywire_core::idempotency::Fingerprint;
use paywire_core::settlement::ledger::EarlierPayment;
use sqlx::{AnyConnection, Row};

use crate::store::StoreError;

fn earlier(row: sqlx::any::AnyRow) -> Result<EarlierPayment, StoreError> {
    let fingerprint: String = row.try_get("fp")?;
    Ok(EarlierPayment {
        payment_id: row.try_get("id")?,
        fingerprint: Fingerprint::try_from(fingerprint)
            .map_err(|e| StoreError::Inconsistent(format!("stored fingerprint: {e}")))?,
    })
}

/// The payment that settled this `(network, payer, nonce)`, with its request fingerprint.
pub async fn by_nonce(
    conn: &mut AnyConnection,
    network: &str,
    payer: &str,
    nonce: &str,
) -> Result<Option<EarlierPayment>, StoreError> {
    let row = sqlx::query(
        "SELECT id, fingerprint AS fp FROM payments WHERE network = $1 AND payer = $2 AND nonce = $3",
    )
    .bind(network)
    .bind(payer)
    .bind(nonce)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(earlier).transpose()
}

/// The payment this payer settled under this payment identifier, with its terms fingerprint.
pub async fn by_identifier(
    conn: &mut AnyConnection,
    network: &str,
    payer: &str,
    identifier: &str,
) -> Result<Option<EarlierPayment>, StoreError> {
    let row = sqlx::query(
        "SELECT id, terms_fingerprint AS fp FROM payments WHERE network = $1 AND payer = $2 AND payment_identifier = $3",
    )
    .bind(network)
    .bind(payer)
    .bind(identifier)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(earlier).transpose()
}

/// The stored answer of a payment (its settle response, without the token).
pub async fn response(
    conn: &mut AnyConnection,
    payment_id: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT response FROM payments WHERE id = $1")
        .bind(payment_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|row| row.try_get("response")).transpose()?)
}

/// A payment to record.
pub struct NewPayment<'a> {
    /// `pay_…`.
    pub id: &'a str,
    /// The network.
    pub network: &'a str,
    /// The payer as the payment names it.
    pub payer: &'a str,
    /// `0x` + 64 lower-case hex digits.
    pub nonce: &'a str,
    /// The paying wallet.
    pub payer_wallet: &'a str,
    /// The payee's wallet.
    pub payee_wallet: &'a str,
    /// The payee's provider.
    pub provider_id: Option<&'a str>,
    /// The balance key of the asset.
    pub asset: &'a str,
    /// Atomic units paid, the platform's fee, the payee's net.
    pub amount: i64,
    /// The fee.
    pub fee: i64,
    /// The net.
    pub net: i64,
    /// The request's fingerprint.
    pub fingerprint: &'a str,
    /// The x402 payment identifier, if any.
    pub payment_identifier: Option<&'a str>,
    /// The fingerprint of the payment's terms.
    pub terms_fingerprint: &'a str,
    /// The answer, to replay.
    pub response: &'a str,
    /// The resource paid for.
    pub resource: Option<&'a str>,
}

/// Records a settled payment.
pub async fn insert(
    conn: &mut AnyConnection,
    payment: &NewPayment<'_>,
    now: i64,
) -> Result<(), StoreError> {
    insert_many(conn, std::slice::from_ref(payment), now).await
}

/// Records settled payments, in as few statements as the parameter limits allow.
pub async fn insert_many(
    conn: &mut AnyConnection,
    payments: &[NewPayment<'_>],
    now: i64,
) -> Result<(), StoreError> {
    // 17 parameters a row: 8,500 a statement, under SQLite's 32,766 and PostgreSQL's 65,535.
    for chunk in payments.chunks(500) {
        let sql = format!(
            "INSERT INTO payments (id, network, payer, nonce, payer_wallet, payee_wallet, provider_id, asset, \
             amount, fee, net, fingerprint, payment_identifier, terms_fingerprint, response, created_at, resource) \
             VALUES {}",
            crate::store::Placeholders::of(conn).tuples(chunk.len(), 17, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for payment in chunk {
            query = query
                .bind(payment.id)
                .bind(payment.network)
                .bind(payment.payer)
                .bind(payment.nonce)
                .bind(payment.payer_wallet)
                .bind(payment.payee_wallet)
                .bind(payment.provider_id)
                .bind(payment.asset)
                .bind(payment.amount)
                .bind(payment.fee)
                .bind(payment.net)
                .bind(payment.fingerprint)
                .bind(payment.payment_identifier)
                .bind(payment.terms_fingerprint)
                .bind(payment.response)
                .bind(now)
                .bind(payment.resource);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// How many payments are recorded.
pub async fn count(pool: &sqlx::AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM payments")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}
