//! The settlement of a verified payment: on the ledger (the core's decision, the store's transaction, the group commit) and on a chain.

pub mod chain;
pub mod ledger;
