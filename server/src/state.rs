//! What every handler shares: the database, the ledger's identity and rules, the keys.

use std::sync::Arc;

use paywire_core::idempotency::IdempotencyConfig;
use paywire_core::KeyRing;
use sqlx::AnyPool;
use tokio_util::task::TaskTracker;

use crate::db::Dialect;
use crate::secrets::Sealer;

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
    /// The group-commit pipeline of settlements, when batching is on.
    pub batcher: Option<Batcher>,
    /// Rate limits per API key and per payer.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// How webhooks are sent and retried.
    pub webhooks: crate::settings::WebhookConfig,
    /// Mutating requests run here to completion, whatever their client does; shutdown waits
    /// for them.
    pub tasks: TaskTracker,
}

/// The queue of the settlement pipeline (`crate::settlement::Batcher` runs it). Its items are
/// the settlement layer's own, type-erased here because the state sits below that layer.
#[derive(Clone)]
pub struct Batcher {
    /// Where settlements are sent: one queue per worker.
    pub queues: Vec<tokio::sync::mpsc::Sender<Box<dyn std::any::Any + Send>>>,
}
