//! What the handlers share and call: the state, authentication, pricing, idempotency, access tokens, webhook delivery, money into and out of the ledger (deposits, payouts).

pub mod auth;
pub mod delivery;
pub mod idempotency;
pub mod money;
pub mod pricing;
pub mod state;
pub mod tokens;
