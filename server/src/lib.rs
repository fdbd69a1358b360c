//! # paywire-server
//!
//! The reference settlement server: an x402 facilitator over a double-entry ledger, with
//! accounts, spending policies and API keys. Built on `paywire-core`, which decides; this crate
//! supplies time, randomness and storage. SQLite (a file) by default, PostgreSQL for several
//! instances behind a load balancer.
//!
//! This file declares the layers, one folder each, bottom first in the order below; a module
//! uses its own layer and those beneath it (`tests/layering.rs` checks). [`app::router`] builds
//! the router, [`app::run`] opens the state and serves it.

pub mod api;
pub mod app;
pub mod base;
pub mod chain;
pub mod infra;
pub mod services;
pub mod settle;
pub mod store;

pub use crate::api::health::OPENAPI;
pub use crate::app::router::{router, router_with, ROUTES};
pub use crate::app::run::{open, serve, serve_on, Opened};
pub use crate::services::state::AppState;
