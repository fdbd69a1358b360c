//! What every handler shares: the database, the ledger's identity and rules, the keys.

use std::sync::Arc;
use std::time::Duration;

use paywire_core::idempotency::IdempotencyConfig;
use paywire_core::KeyRing;
use sqlx::AnyPool;
use tokio_util::task::TaskTracker;

use crate::infra::secrets::Sealer;
use crate::store::db::Dialect;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: AnyPool,
    /// Which database.
    pub dialect: Dialect,
    /// `paywire:<ledger-id>`.
    pub ledger_network: String,
    /// Devnet EVM networks (CAIP-2).
    pub devnet_networks: Vec<String>,
    /// EVM networks settled on chain.
    pub chains: crate::chain::Chains,
    /// The platform fee in basis points.
    pub fee_bps: u32,
    /// Signs and verifies access tokens.
    pub token_keys: Arc<KeyRing>,
    /// Seals and opens the secrets kept at rest.
    pub sealer: Sealer,
    /// Idempotency retention and lease.
    pub idempotency: IdempotencyConfig,
    /// Whether webhook URLs may point at loopback (development only).
    pub allow_loopback_webhooks: bool,
    /// The smallest payout, in the asset's units.
    pub payout_minimum: String,
    /// Rate limits per API key and per payer.
    pub rate_limits: crate::infra::ratelimit::RateLimits,
    /// How webhooks are sent and retried.
    pub webhooks: WebhookConfig,
    /// Mutating requests run here to completion, whatever their client does; shutdown waits
    /// for them.
    pub tasks: TaskTracker,
}

/// How webhooks are sent ([`crate::services::delivery`]) and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Retries, giving up, disabling.
    pub schedule: paywire_core::webhook::RetrySchedule,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// How often the outbox is looked at when idle.
    pub poll_interval: Duration,
    /// Deliveries in flight at most.
    pub batch: usize,
    /// Deliveries in flight to one endpoint at most.
    pub per_endpoint: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            schedule: paywire_core::webhook::RetrySchedule::default(),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            batch: 32,
            per_endpoint: 4,
        }
    }
}
