//! Every SQL statement of the server, behind functions the handlers call: a reader finds each
//! query in one place, and handlers read as parse → core → store → respond.
//!
//! Functions take a connection (`&mut AnyConnection`, so they run inside the caller's
//! transaction) or the pool. Amounts are BIGINT atomic units; the ledger's writes are guarded
//! in SQL as well as decided in the core, so no balance can pass [`ledger::MAX_BALANCE`] or go
//! below zero even if two decisions raced.

pub mod batch;
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

/// Whether a database error is a unique-constraint violation (a row that already exists).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(d) if d.is_unique_violation())
}
