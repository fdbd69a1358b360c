//! Every SQL statement of the server, behind functions the handlers call: a reader finds each
//! query in one place, and handlers read as parse → core → store → respond.
//!
//! Functions take a connection (`&mut AnyConnection`, so they run inside the caller's
//! transaction) or the pool. Amounts are BIGINT atomic units; the ledger's writes are guarded
//! in SQL as well as decided in the core, so no balance can pass [`ledger::MAX_BALANCE`] or go
//! below zero even if two decisions raced.

pub mod batch;
pub mod chain;
pub mod db;
pub mod endpoints;
pub mod events;
pub mod idempotency;
pub mod keys;
pub mod ledger;
pub mod lists;
pub mod meta;
pub mod payments;
pub mod payouts;
pub mod reports;
pub mod tenants;
pub mod tokens;
pub mod wallets;

use sqlx::AnyConnection;

use crate::base::error::ApiError;

/// What a store function can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed; the statement did not happen (its transaction rolls back).
    #[error("the database is unavailable")]
    Database(#[from] sqlx::Error),
    /// Stored data that does not decode (a policy, a fingerprint), or a row the store has just
    /// seen that is gone: a fault of this server, never of the caller.
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
}

/// The one mapping of store errors to the API's: the database's failure keeps its code
/// (`database_unavailable`); inconsistent data is this server's fault (`internal_error`, the
/// detail logged, never shown).
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Database(e) => ApiError::Database(e),
            StoreError::Inconsistent(detail) => ApiError::Internal(detail),
        }
    }
}

/// Whether a database error is a unique-constraint violation (a row that already exists).
pub fn is_unique_violation(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// How a statement's parameters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` in binding order (SQLite). SQLite looks a numbered parameter's name up by a
    /// linear scan, once per parameter when binding: quadratic in a 1,000-parameter insert.
    Anonymous,
}

impl Placeholders {
    /// The style for `conn`'s database.
    pub fn of(conn: &AnyConnection) -> Placeholders {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Placeholders::Anonymous
        } else {
            Placeholders::Numbered
        }
    }

    fn push(self, text: &mut String, n: usize) {
        match self {
            Placeholders::Numbered => {
                text.push('$');
                text.push_str(&n.to_string());
            }
            Placeholders::Anonymous => text.push('?'),
        }
    }

    /// `($first, $first+1, …), (…)`: `rows` tuples of `columns` placeholders, numbered from
    /// `first` (every parameter before them must be bound first, in order).
    pub fn tuples(self, rows: usize, columns: usize, first: usize) -> String {
        let mut text = String::with_capacity(rows * columns * 5);
        for row in 0..rows {
            if row > 0 {
                text.push_str(", ");
            }
            text.push('(');
            for column in 0..columns {
                if column > 0 {
                    text.push_str(", ");
                }
                self.push(&mut text, first + row * columns + column);
            }
            text.push(')');
        }
        text
    }

    /// `$first, …, $(first+count-1)`.
    pub fn list(self, count: usize, first: usize) -> String {
        let mut text = String::with_capacity(count * 5);
        for n in first..first + count {
            if n > first {
                text.push_str(", ");
            }
            self.push(&mut text, n);
        }
        text
    }
}
