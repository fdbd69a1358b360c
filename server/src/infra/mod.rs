//! What serving needs below the services: metrics, secrets at rest, rate limits, and what one connection may hold.

pub mod connection;
pub mod metrics;
pub mod ratelimit;
pub mod secrets;
