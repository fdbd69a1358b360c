//! The HTTP handlers, one module per resource, each with the request and response types it
//! takes and returns: parse, call the services and the core, respond. And the OpenAPI document,
//! generated from those types.

pub mod dashboard;
pub mod endpoints;
pub mod facilitator;
pub mod health;
pub mod keys;
pub mod openapi;
pub mod page;
pub mod payments;
pub mod payouts;
pub mod reports;
pub mod tenants;
pub mod tokens;
pub mod wallets;
pub mod webhooks;
