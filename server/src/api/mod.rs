//! The HTTP handlers, one module per resource: parse, call the services and the core, respond; and the OpenAPI document.

pub mod accounts;
pub mod dashboard;
pub mod endpoints;
pub mod facilitator;
pub mod keys;
pub mod lists;
pub mod openapi;
pub mod payouts;
pub mod reports;
pub mod webhooks;
