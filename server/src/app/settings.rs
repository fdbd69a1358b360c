//! Settings from flags, `PAYWIRE_*` environment variables and an optional TOML file, in that
//! order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use crate::infra::connection::Limits;
pub use crate::services::state::WebhookConfig;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4020";
/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://paywire.db";
/// The default Paywire ledger id (network `paywire:main`).
pub const DEFAULT_LEDGER_ID: &str = "main";

/// Every setting, declared once: as a flag, its environment variable and its key in the TOML
/// file (the field's name, e.g. `listen = "..."`). Flags and variables win over the file; what
/// none of them sets takes its default in [`SettingsArgs::resolve`].
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsArgs {
    /// A TOML file with any of the settings below (keys as in `listen = "..."`).
    #[arg(long, env = "PAYWIRE_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to serve on [default: 127.0.0.1:4020].
    #[arg(long, env = "PAYWIRE_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// `sqlite://file.db` (created if missing) or `postgres://...` [default: sqlite://paywire.db].
    #[arg(long, env = "PAYWIRE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The operator's admin key; generated and printed once on first start when absent.
    #[arg(long, env = "PAYWIRE_ADMIN_KEY", global = true, hide_env_values = true)]
    pub admin_key: Option<String>,
    /// The ledger id: payments on this ledger use network `paywire:<ledger-id>` [default: main].
    #[arg(long, env = "PAYWIRE_LEDGER_ID", global = true)]
    pub ledger_id: Option<String>,
    /// The platform fee in basis points taken from every settlement [default: 0].
    #[arg(long, env = "PAYWIRE_FEE_BPS", global = true)]
    pub fee_bps: Option<u32>,
    /// The master key sealing secrets at rest, 64 hex digits. Prefer this variable or the
    /// config file to a flag: flags are visible in `ps`.
    #[arg(
        long,
        env = "PAYWIRE_MASTER_KEY",
        global = true,
        hide_env_values = true
    )]
    pub master_key: Option<String>,
    /// A file holding the master key; created (mode 0600) with a new key on a database that
    /// has none [default: paywire-master.key next to a SQLite database, else in the working
    /// directory].
    #[arg(long, env = "PAYWIRE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Seconds an in-progress idempotent request holds its key before a retry may run it
    /// again; must exceed the request timeout [default: 60].
    #[arg(long, env = "PAYWIRE_IDEMPOTENCY_LEASE_SECONDS", global = true)]
    pub idempotency_lease_seconds: Option<u64>,
    /// Seconds a client has to send a request's headers [default: 10].
    #[arg(long, env = "PAYWIRE_HEADER_READ_TIMEOUT_SECONDS", global = true)]
    pub header_read_timeout_seconds: Option<u64>,
    /// Seconds a client has to send a request's body [default: 10].
    #[arg(long, env = "PAYWIRE_BODY_READ_TIMEOUT_SECONDS", global = true)]
    pub body_read_timeout_seconds: Option<u64>,
    /// Seconds a request may take in all before it is answered 408 [default: 30].
    #[arg(long, env = "PAYWIRE_REQUEST_TIMEOUT_SECONDS", global = true)]
    pub request_timeout_seconds: Option<u64>,
    /// Open connections served at once; further ones wait in the listen queue [default: 1024].
    #[arg(long, env = "PAYWIRE_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Open connections one client address (an IPv6 /64) may hold; more are answered 429 and
    /// closed at once; 0 for no cap (behind a proxy that connects from one address)
    /// [default: 256].
    #[arg(long, env = "PAYWIRE_MAX_CONNECTIONS_PER_CLIENT", global = true)]
    pub max_connections_per_client: Option<usize>,
    /// Seconds an answer may take to be written out, from its first byte to its last; a
    /// client that does not read it in time is cut off [default: 10].
    #[arg(long, env = "PAYWIRE_WRITE_TIMEOUT_SECONDS", global = true)]
    pub write_timeout_seconds: Option<u64>,
    /// Accept webhook URLs on loopback (`http://127.0.0.1:…`), for development only.
    #[arg(long, env = "PAYWIRE_ALLOW_LOOPBACK_WEBHOOKS", global = true)]
    pub allow_loopback_webhooks: Option<bool>,
    /// Milliseconds before the first retry of a failed webhook; each retry doubles it, with
    /// jitter [default: 30000].
    #[arg(long, env = "PAYWIRE_WEBHOOK_FIRST_RETRY_MS", global = true)]
    pub webhook_first_retry_ms: Option<u64>,
    /// The longest wait between two webhook attempts, milliseconds [default: 21600000, 6 h].
    #[arg(long, env = "PAYWIRE_WEBHOOK_MAX_RETRY_MS", global = true)]
    pub webhook_max_retry_ms: Option<u64>,
    /// How long after an event its webhook is retried, seconds [default: 259200, 3 days].
    #[arg(long, env = "PAYWIRE_WEBHOOK_RETRY_FOR_SECONDS", global = true)]
    pub webhook_retry_for_seconds: Option<u64>,
    /// Consecutive failed attempts that disable an endpoint [default: 100].
    #[arg(long, env = "PAYWIRE_WEBHOOK_DISABLE_AFTER", global = true)]
    pub webhook_disable_after: Option<u32>,
    /// Seconds a webhook receiver has to answer [default: 10].
    #[arg(long, env = "PAYWIRE_WEBHOOK_TIMEOUT_SECONDS", global = true)]
    pub webhook_timeout_seconds: Option<u64>,
    /// How often the outbox is polled when idle, milliseconds [default: 1000].
    #[arg(long, env = "PAYWIRE_WEBHOOK_POLL_MS", global = true)]
    pub webhook_poll_ms: Option<u64>,
    /// Requests per second each API key may make, refilled continuously; 0 is no limit
    /// [default: 0].
    #[arg(long, env = "PAYWIRE_RATE_LIMIT_KEY_PER_SECOND", global = true)]
    pub rate_limit_key_per_second: Option<u32>,
    /// Requests an API key may make at once [default: 10 times the rate].
    #[arg(long, env = "PAYWIRE_RATE_LIMIT_KEY_BURST", global = true)]
    pub rate_limit_key_burst: Option<u32>,
    /// Settlements per second each payer may make on /settle; 0 is no limit [default: 0].
    #[arg(long, env = "PAYWIRE_RATE_LIMIT_PAYER_PER_SECOND", global = true)]
    pub rate_limit_payer_per_second: Option<u32>,
    /// Settlements a payer may make at once [default: 10 times the rate].
    #[arg(long, env = "PAYWIRE_RATE_LIMIT_PAYER_BURST", global = true)]
    pub rate_limit_payer_burst: Option<u32>,
    /// Chain payments per second one client address may send whose signature only the chain
    /// can vouch for (ERC-1271/6492: each costs RPC calls before it can be refused), with a
    /// burst of twice that; 0 is no limit [default: 50].
    #[arg(long, env = "PAYWIRE_CHAIN_VOUCH_PER_SECOND_PER_CLIENT", global = true)]
    pub chain_vouch_per_second_per_client: Option<u32>,
    /// The same, per claimed payer (`authorization.from`) [default: 5].
    #[arg(long, env = "PAYWIRE_CHAIN_VOUCH_PER_SECOND_PER_PAYER", global = true)]
    pub chain_vouch_per_second_per_payer: Option<u32>,
    /// Settlements committed together at most (group commit); 1 settles each in a transaction
    /// of its own [default: 64].
    #[arg(long, env = "PAYWIRE_SETTLE_BATCH_MAX", global = true)]
    pub settle_batch_max: Option<usize>,
    /// Microseconds a batch waits for more settlements after its first [default: 200].
    #[arg(long, env = "PAYWIRE_SETTLE_BATCH_WAIT_US", global = true)]
    pub settle_batch_wait_us: Option<u64>,
    /// Batches committed at once, each by its own worker and connection [default: 1 on
    /// SQLite (one writer), 4 on PostgreSQL].
    #[arg(long, env = "PAYWIRE_SETTLE_BATCH_WORKERS", global = true)]
    pub settle_batch_workers: Option<usize>,
    /// The smallest payout, in the asset's units [default: 1.00].
    #[arg(long, env = "PAYWIRE_PAYOUT_MINIMUM", global = true)]
    pub payout_minimum: Option<String>,
    /// `text` or `json` (one object per line) for the logs on stderr; `PAYWIRE_LOG` filters
    /// them (e.g. `info`, `paywire::access=off`) [default: text].
    #[arg(long, env = "PAYWIRE_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// An EVM network settled on chain: `eip155:<chain id>=<RPC URL>[,<RPC URL>…]` (the URLs
    /// fail over in order); repeat for more, or separate them with `;` in `PAYWIRE_CHAINS`.
    /// The facilitator's key comes from `PAYWIRE_CHAIN_SIGNER_KEY` or
    /// `--chain-signer-key-file`, never from the command line.
    #[arg(
        long = "chain",
        env = "PAYWIRE_CHAINS",
        value_delimiter = ';',
        global = true
    )]
    #[serde(default)]
    pub chains: Vec<String>,
    /// A file holding the facilitator's chain signing key (`0x`-hex).
    #[arg(long, env = "PAYWIRE_CHAIN_SIGNER_KEY_FILE", global = true)]
    pub chain_signer_key_file: Option<PathBuf>,
    /// Milliseconds `/settle` waits for a chain receipt before answering `settlement_pending`
    /// [default: 30000].
    #[arg(long, env = "PAYWIRE_CHAIN_RECEIPT_TIMEOUT_MS", global = true)]
    pub chain_receipt_timeout_ms: Option<u64>,
    /// Blocks a settlement's receipt needs [default: 1].
    #[arg(long, env = "PAYWIRE_CHAIN_CONFIRMATIONS", global = true)]
    pub chain_confirmations: Option<u64>,
    /// Milliseconds one JSON-RPC call may take before the next URL is tried [default: 5000].
    #[arg(long, env = "PAYWIRE_CHAIN_RPC_TIMEOUT_MS", global = true)]
    pub chain_rpc_timeout_ms: Option<u64>,
    /// Milliseconds between the reconciler's passes over pending chain settlements
    /// [default: 2000].
    #[arg(long, env = "PAYWIRE_CHAIN_RECONCILE_MS", global = true)]
    pub chain_reconcile_ms: Option<u64>,
    /// Milliseconds a settlement transaction may wait unmined before it is replaced with
    /// higher fees (at most 3 times) [default: 10000].
    #[arg(long, env = "PAYWIRE_CHAIN_BUMP_AFTER_MS", global = true)]
    pub chain_bump_after_ms: Option<u64>,
    /// A wallet factory the settler may call to deploy a payer's smart wallet before its first
    /// payment (ERC-6492); repeat for more. Without one, such payments are refused: the
    /// factory call is the payer's to write and the facilitator's key would make it.
    #[arg(
        long = "chain-wallet-factory",
        env = "PAYWIRE_CHAIN_WALLET_FACTORIES",
        value_delimiter = ',',
        global = true
    )]
    #[serde(default)]
    pub chain_wallet_factories: Vec<String>,
    /// A token settled on chain besides USDC on Base and Base Sepolia:
    /// `eip155:<chain id>=<address>`; repeat for more (`;`-separated in the variable).
    #[arg(
        long = "chain-token",
        env = "PAYWIRE_CHAIN_TOKENS",
        value_delimiter = ';',
        global = true
    )]
    #[serde(default)]
    pub chain_tokens: Vec<String>,
}

/// The resolved settings.
#[derive(Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The database URL.
    pub database_url: String,
    /// The admin key, if configured (else the stored one is used or generated).
    pub admin_key: Option<String>,
    /// The ledger id.
    pub ledger_id: String,
    /// The platform fee in basis points.
    pub fee_bps: u32,
    /// Where the master key comes from.
    pub master_key: crate::infra::secrets::KeySource,
    /// How long an in-progress idempotent request holds its key.
    pub idempotency_lease_seconds: u64,
    /// Timeouts and the connection cap.
    pub limits: Limits,
    /// Whether webhook URLs may point at loopback (development).
    pub allow_loopback_webhooks: bool,
    /// How webhooks are sent and retried.
    pub webhooks: WebhookConfig,
    /// The rate limit per API key, if any.
    pub rate_limit_key: Option<crate::infra::ratelimit::Rate>,
    /// The rate limit per payer on /settle, if any.
    pub rate_limit_payer: Option<crate::infra::ratelimit::Rate>,
    /// Chain payments a client address may send that only the chain can vouch for, if limited.
    pub chain_vouch_client: Option<crate::infra::ratelimit::Rate>,
    /// The same per claimed payer.
    pub chain_vouch_payer: Option<crate::infra::ratelimit::Rate>,
    /// Logs as JSON lines.
    pub log_json: bool,
    /// The smallest payout, in the asset's units.
    pub payout_minimum: String,
    /// Settlements committed together at most (1: no batching).
    pub settle_batch_max: usize,
    /// How long a batch waits for more after its first.
    pub settle_batch_wait: Duration,
    /// Batches committed at once.
    pub settle_batch_workers: usize,
    /// Settling on EVM chains.
    pub chains: crate::chain::ChainSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &crate::store::db::redact_url(&self.database_url),
            )
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("ledger_id", &self.ledger_id)
            .field("fee_bps", &self.fee_bps)
            .field("master_key", &self.master_key)
            .field("idempotency_lease_seconds", &self.idempotency_lease_seconds)
            .field("limits", &self.limits)
            .field("allow_loopback_webhooks", &self.allow_loopback_webhooks)
            .field("webhooks", &self.webhooks)
            .field("rate_limit_key", &self.rate_limit_key)
            .field("rate_limit_payer", &self.rate_limit_payer)
            .field("log_json", &self.log_json)
            .field("payout_minimum", &self.payout_minimum)
            .field("settle_batch_max", &self.settle_batch_max)
            .field("settle_batch_wait", &self.settle_batch_wait)
            .field("settle_batch_workers", &self.settle_batch_workers)
            .field("chains", &self.chains)
            .finish()
    }
}

/// The master key file used when none is configured: beside a SQLite database, else in the
/// working directory.
pub fn default_key_file(database_url: &str) -> PathBuf {
    let name = "paywire-master.key";
    let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    else {
        return PathBuf::from(name);
    };
    let path = path.split('?').next().unwrap_or_default();
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

impl SettingsArgs {
    /// What the flags and environment set, over what the TOML file sets (when there is one).
    fn merged(&self) -> Result<SettingsArgs, String> {
        let mut figment = Figment::new();
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            figment = figment.merge(Toml::string(&text));
        }
        // Only what a flag or variable sets overrides the file: unset options (and empty
        // lists) are dropped, else they would serialize as empty values over the file's.
        let mut flags = Value::serialize(self)
            .map_err(|e| e.to_string())?
            .into_dict()
            .unwrap_or_default();
        flags.retain(|_, value| match value {
            Value::Empty(..) => false,
            Value::Array(_, items) => !items.is_empty(),
            _ => true,
        });
        figment
            .merge(Serialized::defaults(flags))
            .extract::<SettingsArgs>()
            .map_err(|e| match &self.config {
                Some(path) => format!("{}: {e}", path.display()),
                None => e.to_string(),
            })
    }

    /// The chain settings: networks from the arguments (or the file), the signer key from
    /// `PAYWIRE_CHAIN_SIGNER_KEY` or a file — never an argument, which any user of the
    /// machine can read in the process list.
    fn chain_settings(&self) -> Result<crate::chain::ChainSettings, String> {
        let networks = self
            .chains
            .iter()
            .filter(|spec| !spec.trim().is_empty())
            .map(|spec| spec.parse::<crate::chain::ChainNetworkSettings>())
            .collect::<Result<Vec<_>, String>>()?;
        let signer_key = match (
            std::env::var("PAYWIRE_CHAIN_SIGNER_KEY"),
            &self.chain_signer_key_file,
        ) {
            (Ok(key), _) if !key.trim().is_empty() => Some(zeroize::Zeroizing::new(key)),
            (_, Some(path)) => Some(zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("chain signer key file {}: {e}", path.display()))?
                    .trim()
                    .to_string(),
            )),
            _ => None,
        };
        let millis =
            |set: Option<u64>, default: u64| Duration::from_millis(set.unwrap_or(default).max(1));
        Ok(crate::chain::ChainSettings {
            networks,
            signer_key,
            receipt_timeout: millis(self.chain_receipt_timeout_ms, 30_000),
            confirmations: self.chain_confirmations.unwrap_or(1).max(1),
            rpc_timeout: millis(self.chain_rpc_timeout_ms, 5_000),
            reconcile_interval: millis(self.chain_reconcile_ms, 2_000),
            bump_after: millis(self.chain_bump_after_ms, 10_000),
            tokens: self.chain_tokens.clone(),
            wallet_factories: self.chain_wallet_factories.clone(),
        })
    }

    /// Merges flags and environment over the TOML file, fills in the defaults and checks the
    /// result.
    pub fn resolve(&self) -> Result<Settings, String> {
        let set = self.merged()?;
        let database_url = set
            .database_url
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let master_key = match (&set.master_key, &set.master_key_file) {
            (Some(hex), _) => crate::infra::secrets::KeySource::Given(
                crate::infra::secrets::MasterKey::from_hex(hex)
                    .map_err(|e| format!("master_key: {e}"))?,
            ),
            (None, Some(path)) => crate::infra::secrets::KeySource::File(path.clone()),
            (None, None) => crate::infra::secrets::KeySource::File(default_key_file(&database_url)),
        };
        let database_is_sqlite = database_url.starts_with("sqlite:");
        let seconds =
            |set: Option<u64>, default: Duration| set.map_or(default, Duration::from_secs);
        let defaults = Limits::default();
        let limits = Limits {
            header_read_timeout: seconds(
                set.header_read_timeout_seconds,
                defaults.header_read_timeout,
            ),
            body_read_timeout: seconds(set.body_read_timeout_seconds, defaults.body_read_timeout),
            request_timeout: seconds(set.request_timeout_seconds, defaults.request_timeout),
            write_timeout: seconds(set.write_timeout_seconds, defaults.write_timeout),
            max_connections: set.max_connections.unwrap_or(defaults.max_connections),
            max_connections_per_client: set
                .max_connections_per_client
                .unwrap_or(defaults.max_connections_per_client),
        };
        let webhook_defaults = WebhookConfig::default();
        let schedule = webhook_defaults.schedule;
        let webhooks = WebhookConfig {
            schedule: paywire_core::webhook::RetrySchedule {
                first_delay_ms: set
                    .webhook_first_retry_ms
                    .unwrap_or(schedule.first_delay_ms),
                max_delay_ms: set.webhook_max_retry_ms.unwrap_or(schedule.max_delay_ms),
                give_up_after_ms: set
                    .webhook_retry_for_seconds
                    .map_or(schedule.give_up_after_ms, |s| s.saturating_mul(1000)),
                disable_after_failures: set
                    .webhook_disable_after
                    .unwrap_or(schedule.disable_after_failures),
            },
            timeout: seconds(set.webhook_timeout_seconds, webhook_defaults.timeout),
            poll_interval: set
                .webhook_poll_ms
                .map_or(webhook_defaults.poll_interval, Duration::from_millis),
            ..webhook_defaults
        };
        let rate = |per_second: Option<u32>, burst: Option<u32>| {
            per_second
                .filter(|r| *r > 0)
                .map(|per_second| crate::infra::ratelimit::Rate {
                    per_second,
                    burst: burst.unwrap_or(per_second.saturating_mul(10)).max(1),
                })
        };
        // On by default: these protect the operator's RPC quota from anonymous callers.
        let vouch = |per_second: Option<u32>, default: u32| {
            rate(Some(per_second.unwrap_or(default)), None).map(|r| crate::infra::ratelimit::Rate {
                burst: r.per_second.saturating_mul(2),
                ..r
            })
        };
        let settings = Settings {
            listen: set
                .listen
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
            admin_key: set.admin_key.clone(),
            ledger_id: set
                .ledger_id
                .clone()
                .unwrap_or_else(|| DEFAULT_LEDGER_ID.into()),
            fee_bps: set.fee_bps.unwrap_or(0),
            master_key,
            idempotency_lease_seconds: set
                .idempotency_lease_seconds
                .unwrap_or(paywire_core::idempotency::DEFAULT_LEASE_SECONDS),
            limits,
            allow_loopback_webhooks: set.allow_loopback_webhooks.unwrap_or(false),
            webhooks,
            rate_limit_key: rate(set.rate_limit_key_per_second, set.rate_limit_key_burst),
            rate_limit_payer: rate(set.rate_limit_payer_per_second, set.rate_limit_payer_burst),
            chain_vouch_client: vouch(set.chain_vouch_per_second_per_client, 50),
            chain_vouch_payer: vouch(set.chain_vouch_per_second_per_payer, 5),
            settle_batch_max: set.settle_batch_max.unwrap_or(64).max(1),
            settle_batch_workers: set
                .settle_batch_workers
                .unwrap_or(if database_is_sqlite { 1 } else { 4 })
                .clamp(1, 64),
            settle_batch_wait: Duration::from_micros(
                set.settle_batch_wait_us.unwrap_or(200).min(100_000),
            ),
            payout_minimum: set.payout_minimum.clone().unwrap_or_else(|| "1.00".into()),
            chains: set.chain_settings()?,
            log_json: match set.log_format.as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => return Err(format!("log_format is text or json, not {other:?}")),
            },
            database_url,
        };
        settings.check()?;
        Ok(settings)
    }
}

impl Settings {
    /// Refuses settings that cannot work together.
    fn check(&self) -> Result<(), String> {
        if rust_decimal::Decimal::from_str_exact(&self.payout_minimum).is_err() {
            return Err(format!(
                "payout_minimum {:?} is not a decimal amount",
                self.payout_minimum
            ));
        }
        let schedule = self.webhooks.schedule;
        if schedule.first_delay_ms == 0
            || schedule.max_delay_ms < schedule.first_delay_ms
            || schedule.disable_after_failures == 0
            || self.webhooks.timeout.is_zero()
            || self.webhooks.poll_interval.is_zero()
        {
            return Err("webhook retries: first_retry_ms, poll_ms, timeout_seconds and disable_after must be at least 1, max_retry_ms at least first_retry_ms".into());
        }
        if self.fee_bps > 10_000 {
            return Err("fee_bps must be at most 10000".into());
        }
        let limits = self.limits;
        if limits.header_read_timeout.is_zero()
            || limits.body_read_timeout.is_zero()
            || limits.request_timeout.is_zero()
            || limits.write_timeout.is_zero()
            || limits.max_connections == 0
        {
            return Err("timeouts and max_connections must be at least 1".into());
        }
        // A request still running must never lose its idempotency key to a retry.
        if Duration::from_secs(self.idempotency_lease_seconds) <= limits.request_timeout {
            return Err(format!(
                "idempotency_lease_seconds ({}) must exceed request_timeout_seconds ({})",
                self.idempotency_lease_seconds,
                limits.request_timeout.as_secs()
            ));
        }
        if let Some(key) = &self.admin_key {
            check_admin_key(key)?;
        }
        let network = format!("paywire:{}", self.ledger_id);
        if !paywire_core::protocol::ledger::is_ledger_network(&network) {
            return Err(format!(
                "ledger id {:?} is not a valid CAIP-2 reference",
                self.ledger_id
            ));
        }
        Ok(())
    }
}

/// The shortest operator key accepted (a generated one is 57 characters).
pub const MIN_ADMIN_KEY_LEN: usize = 20;

/// Refuses an operator key that would lock the operator out or let anyone in: empty (it
/// replaced the stored key with the hash of ""), short, with whitespace or control characters
/// (a header is read trimmed, so such a key could never be presented), or of fewer than 8
/// distinct characters.
pub fn check_admin_key(key: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!(
            "PAYWIRE_ADMIN_KEY {why}: give at least {MIN_ADMIN_KEY_LEN} printable characters without spaces (or unset it, and the server generates one)"
        ))
    };
    if key.is_empty() {
        return refuse("is empty");
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("has whitespace, control or non-ASCII characters");
    }
    if key.len() < MIN_ADMIN_KEY_LEN {
        return refuse(&format!("is {} characters long", key.len()));
    }
    let distinct: std::collections::HashSet<u8> = key.bytes().collect();
    if distinct.len() < 8 {
        return refuse("repeats too few characters to be a secret");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_operator_keys_are_refused_at_start() {
        for weak in [
            "",
            "x",
            "short_key_123",
            " sk_admin_with_a_space_in",
            "aaaaaaaaaaaaaaaaaaaaaaaa",
            "sk_admin_\u{0}_nul_inside_it",
        ] {
            let args = SettingsArgs {
                admin_key: Some(weak.to_string()),
                ..Default::default()
            };
            let error = args
                .resolve()
                .err()
                .unwrap_or_else(|| panic!("{weak:?} accepted"));
            assert!(error.contains("PAYWIRE_ADMIN_KEY"), "{error}");
            assert!(
                !error.contains(weak) || weak.is_empty(),
                "the key is not echoed"
            );
        }
        let args = SettingsArgs {
            admin_key: Some("sk_admin_walkthrough_key".into()),
            ..Default::default()
        };
        assert!(args.resolve().is_ok());
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = SettingsArgs::default().resolve().unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(settings.ledger_id, "main");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("paywire-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("paywire.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\nfee_bps = 250\nledger_id = \"file\"\n",
        )
        .unwrap();
        let args = SettingsArgs {
            config: Some(path.clone()),
            ledger_id: Some("flag".into()),
            ..Default::default()
        };
        let settings = args.resolve().unwrap();
        assert_eq!(settings.listen.port(), 9999);
        assert_eq!(settings.fee_bps, 250);
        assert_eq!(settings.ledger_id, "flag");
        // Lists and booleans come from the file too; a flag set to a default value still wins.
        std::fs::write(
            &path,
            "fee_bps = 250\nallow_loopback_webhooks = true\nchain_tokens = [\"eip155:1=0x0000000000000000000000000000000000000001\"]\n",
        )
        .unwrap();
        let from_file = SettingsArgs {
            config: Some(path.clone()),
            fee_bps: Some(0),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(from_file.fee_bps, 0);
        assert!(from_file.allow_loopback_webhooks);
        assert_eq!(from_file.chains.tokens.len(), 1);
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        assert!(args.resolve().unwrap_err().contains("unknown field"));
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(SettingsArgs {
            fee_bps: Some(10_001),
            ..Default::default()
        }
        .resolve()
        .is_err());
        assert!(SettingsArgs {
            ledger_id: Some("no spaces".into()),
            ..Default::default()
        }
        .resolve()
        .is_err());
    }

    #[test]
    fn the_lease_must_outlast_a_request() {
        let error = SettingsArgs {
            idempotency_lease_seconds: Some(30),
            request_timeout_seconds: Some(30),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(error.contains("must exceed"), "{error}");
        assert!(SettingsArgs {
            max_connections: Some(0),
            ..Default::default()
        }
        .resolve()
        .is_err());
    }

    #[test]
    fn the_key_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            default_key_file("sqlite:///var/lib/paywire/p.db?mode=rwc"),
            PathBuf::from("/var/lib/paywire/paywire-master.key")
        );
        assert_eq!(
            default_key_file("sqlite://paywire.db"),
            PathBuf::from("paywire-master.key")
        );
        assert_eq!(
            default_key_file("postgres://h/db"),
            PathBuf::from("paywire-master.key")
        );
        let given = SettingsArgs {
            master_key: Some("ab".repeat(32)),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert!(matches!(
            given.master_key,
            crate::infra::secrets::KeySource::Given(_)
        ));
        assert!(!format!("{given:?}").contains(&"ab".repeat(32)), "redacted");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            crate::store::db::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:<redacted>@h:5432/db"
        );
        assert_eq!(
            crate::store::db::redact_url("sqlite://paywire.db"),
            "sqlite://paywire.db"
        );
    }
}
