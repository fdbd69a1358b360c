//! What the handlers share and call: the state, authentication, pricing, idempotency, access tokens, webhook delivery.

pub mod auth;
pub mod delivery;
pub mod idempotency;
pub mod pricing;
pub mod state;
pub mod tokens;
