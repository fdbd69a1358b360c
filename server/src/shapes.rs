//! The request and response bodies of the `/v1` API, as Rust types: handlers take and return
//! these (never loose JSON), and `server/openapi.json` takes its schemas from them
//! (`cargo run -p paywire-server --bin paywire-openapi`, checked for drift in CI).
//!
//! Amounts are decimal strings: whole units (`"10.00"`) where a person writes them, atomic
//! units (`"10000"`) where a machine does.

use paywire_core::policy::{Policy, Usage};
use paywire_core::pricing::{PriceRule, Quote};
use paywire_core::protocol::PaymentRequiredV2;
use paywire_core::token::{Bundle, Claims};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/providers`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProvider {
    /// A display name (1–200 characters, no control characters).
    pub name: String,
    /// The EVM address the provider is paid at on devnet EVM networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evm_address: Option<String>,
}

/// `POST /v1/agents`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAgent {
    /// A display name (1–200 characters, no control characters).
    pub name: String,
    /// The wallet's spending policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// A new tenant. Its secrets (`apiKey`, `walletSecret`) are shown in this answer only: a
/// replay of the request (same `Idempotency-Key`), or a retry that finds the tenant its first
/// attempt created, answers them as `null` and lists them in `redacted`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenant {
    /// The tenant id.
    pub id: String,
    /// The tenant's wallet (an agent's paying wallet, a provider's payout wallet).
    pub wallet_id: String,
    /// A secret key (`sk_<kind>_…`) with `read` and `write`.
    pub api_key: Option<String>,
    /// The id of that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// The agent wallet's signing secret (hex), for the ledger scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_secret: Option<String>,
    /// The network ledger payments use.
    pub network: String,
    /// Secret fields withheld because they were shown once already.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// `POST /v1/wallets/{id}/fund`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Funding {
    /// Whole units as a decimal string, e.g. `"10.00"`.
    pub amount: String,
}

/// `POST /v1/evm/fund`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvmFunding {
    /// A devnet network, e.g. `eip155:84532`.
    pub network: String,
    /// The token contract; the network's USDC by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The EVM address to credit.
    pub address: String,
    /// Whole units as a decimal string.
    pub amount: String,
}

/// A wallet's balance after a deposit.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Funded {
    /// The wallet.
    pub wallet_id: String,
    /// The credited EVM address (devnet deposits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The balance key of the asset.
    pub asset: String,
    /// The new balance, whole units.
    pub balance: String,
}

/// One balance of a wallet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// The balance key of the asset (`USD`, or `<caip2>/erc20:<address>`).
    pub asset: String,
    /// Atomic units, a decimal string.
    pub atomic: String,
    /// Whole units, when the asset's decimals are known.
    pub amount: Option<String>,
}

/// `GET /v1/wallets/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletView {
    /// The wallet.
    pub id: String,
    /// `agent`, `provider`, `platform` or `evm`.
    pub kind: String,
    /// Its tenant.
    pub tenant_id: Option<String>,
    /// Its devnet EVM address.
    pub address: Option<String>,
    /// Its balances, by asset.
    pub balances: Vec<Balance>,
    /// Its spending policy.
    pub policy: Option<Policy>,
    /// Its spending so far.
    pub usage: Usage,
}

/// `PUT /v1/wallets/{id}/policy`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySet {
    /// The wallet.
    pub wallet_id: String,
    /// The policy now in force.
    pub policy: Policy,
}

/// `POST /v1/tenants/{id}/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Scopes among `read`, `write` and `manage`; a tenant's key can only grant its own.
    pub scopes: Vec<String>,
}

/// A key just made (the key is shown this once; `null` in a replay, listed in `redacted`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyCreated {
    /// `key_…`, to list and revoke it by.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The secret key.
    pub api_key: Option<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Secret fields withheld because they were shown once already.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// A tenant's key, as listings show it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// `key_…`.
    pub id: String,
    /// The scopes it carries.
    pub scopes: Vec<String>,
    /// The key's last four characters, to tell keys apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// When it was created, unix seconds.
    pub created_at: i64,
    /// When it was revoked, unix seconds; absent while it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// `GET /v1/tenants/{id}/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyList {
    /// The tenant's keys, oldest first.
    pub data: Vec<ApiKeyInfo>,
}

/// `PUT /v1/providers/{id}/webhook`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where events are POSTed: `https://` to a public address (loopback only when the server
    /// allows it for development).
    pub url: String,
}

/// The webhook now set, and its new signing secret (shown once; `null` in a replay).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSet {
    /// The provider.
    pub provider_id: String,
    /// The URL, as parsed.
    pub url: String,
    /// The signing secret (`whsec_…`).
    pub secret: Option<String>,
    /// Secret fields withheld because they were shown once already.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// `POST /v1/providers/{id}/endpoints`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEndpoint {
    /// `GET`, `POST`, … or `*`.
    pub method: String,
    /// A path pattern such as `/v1/weather/:city`.
    pub path: String,
    /// The price, in atomic units of the ledger dollar (6 decimals): a flat fee, usage
    /// pricing, or both (`{}` is refused as `pricing_rule_invalid`).
    pub price: Value,
    /// Prices for particular consumers (by payer id).
    #[serde(default)]
    pub overrides: std::collections::BTreeMap<String, Value>,
    /// What the endpoint is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Sell a bundle with each payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Bundle>,
}

/// An endpoint registered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointCreated {
    /// `end_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The price rule.
    pub rule: PriceRule,
    /// The bundle it sells, if any.
    pub bundle: Option<Bundle>,
}

/// `POST /v1/providers/{id}/quote`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuoteBody {
    /// The request's method.
    pub method: String,
    /// The full resource URL.
    pub url: String,
    /// The consumer, for overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// The metered quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
}

/// A request's price and the 402 that asks for it (`null` for a free request).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteAnswer {
    /// The price.
    pub quote: Quote,
    /// The x402 v2 `PAYMENT-REQUIRED` body.
    pub payment_required: Option<PaymentRequiredV2>,
}

/// `POST /v1/tokens/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyToken {
    /// The token as presented.
    pub token: String,
    /// The request's method.
    pub method: String,
    /// The request's resource URL.
    pub resource: String,
}

/// A token that admits the request; this use is counted.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokenVerified {
    /// Always `true` (a refusal is an error).
    pub valid: bool,
    /// The effective claims.
    pub claims: Claims,
    /// The key it was signed under.
    pub kid: String,
    /// Which use this is, from 1.
    #[serde(rename = "use")]
    pub use_number: i64,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Every error: a stable code and a message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The code and message of an error.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code.
    pub code: String,
    /// What happened, for people.
    pub message: String,
}
