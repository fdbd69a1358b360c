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
    /// The request's id (its `x-request-id`, given or made), to quote when asking about it.
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A page of a list: Stripe's shape. Ask for the next page with `starting_after` set to the
/// last `id` of `data` while `has_more` is true.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListOf<T> {
    /// Always `list`.
    pub object: String,
    /// The rows, newest first.
    pub data: Vec<T>,
    /// Whether rows follow the last one.
    pub has_more: bool,
}

/// Paging parameters every list takes.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only events in this delivery state (`none`, `pending`, `delivered`, `failed`).
    pub status: Option<String>,
    /// Operator only: one tenant's events.
    pub tenant: Option<String>,
}

/// `GET /v1/webhook-deliveries` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Only the attempts of this event.
    pub event: Option<String>,
    /// Operator only: one tenant's attempts.
    pub tenant: Option<String>,
}

/// `GET /v1/payments` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Only payments to this provider.
    pub provider: Option<String>,
    /// Only payments by this agent.
    pub agent: Option<String>,
    /// Only payments on this network.
    pub network: Option<String>,
    /// Only payments for this resource (the endpoint's URL, as the payment named it).
    pub resource: Option<String>,
    /// Only payments at or after this time (unix seconds).
    #[serde(rename = "created[gte]")]
    pub created_gte: Option<i64>,
    /// Only payments at or before this time (unix seconds).
    #[serde(rename = "created[lte]")]
    pub created_lte: Option<i64>,
}

/// An event and the state of its webhook delivery.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `evt_…`: receivers deduplicate by it.
    pub id: String,
    /// `payment.settled`, `payment.refused`, `wallet.funded`, `token.issued`,
    /// `webhook_endpoint.disabled`, ….
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened, unix seconds.
    pub created: i64,
    /// The object it is about.
    pub data: Value,
    /// Whose event it is.
    pub tenant_id: String,
    /// `none` (no endpoint when it happened), `pending`, `delivered` or `failed` (given up).
    pub status: String,
    /// Delivery attempts made.
    pub attempts: i64,
    /// When the next attempt is due (unix seconds), while pending.
    pub next_attempt_at: Option<i64>,
    /// The last attempt's HTTP status.
    pub last_status_code: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was delivered (unix seconds).
    pub delivered_at: Option<i64>,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// `wha_…`.
    pub id: String,
    /// The event it carried.
    pub event_id: String,
    /// Its number, from 1.
    pub attempt: i64,
    /// Where it went.
    pub url: String,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took, milliseconds.
    pub duration_ms: i64,
    /// When, unix seconds.
    pub created: i64,
}

/// A settled payment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// `pay_…`: the settlement's transaction id.
    pub id: String,
    /// The network.
    pub network: String,
    /// The payer as the payment names it.
    pub payer: String,
    /// The paying wallet.
    pub payer_wallet: String,
    /// The paying agent, if the wallet is an agent's.
    pub agent_id: Option<String>,
    /// The provider paid.
    pub provider_id: Option<String>,
    /// The balance key of the asset.
    pub asset: String,
    /// Paid, in the asset's units (decimal string).
    pub amount: String,
    /// The platform's fee.
    pub fee: String,
    /// The provider's net.
    pub net: String,
    /// Paid, in atomic units.
    pub amount_atomic: String,
    /// The x402 payment identifier.
    pub payment_identifier: Option<String>,
    /// The resource paid for (the x402 resource URL).
    pub resource: Option<String>,
    /// When it settled, unix seconds.
    pub created: i64,
}

/// `POST /v1/events/{id}/resend`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    /// The event, queued again.
    pub id: String,
    /// Now `pending`.
    pub status: String,
}

/// `GET /v1/providers/{id}/revenue` and `GET /v1/agents/{id}/spending` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// From this time (unix seconds, inclusive) [default: 30 days ago].
    pub from: Option<i64>,
    /// To this time (unix seconds, inclusive) [default: now].
    pub to: Option<i64>,
    /// `day` or `month` [default: day].
    pub granularity: Option<String>,
}

/// Sums over a set of payments, in the asset's units (decimal strings).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sums {
    /// What payers paid.
    pub gross: String,
    /// The platform's fees.
    pub fees: String,
    /// What the provider kept.
    pub net: String,
    /// How many payments.
    pub payments: u64,
}

/// One group of a report: a period, an endpoint, a payer, a provider.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The group's key: `2026-11-30` or `2026-11`, a resource URL, a payer, a provider id.
    pub key: String,
    /// The paying agent, for payer groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Its sums.
    #[serde(flatten)]
    pub sums: Sums,
}

/// A report's figures in one asset.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetReport {
    /// The balance key of the asset.
    pub asset: String,
    /// Over the whole range.
    pub totals: Sums,
    /// By day or month, oldest first; periods without payments are left out.
    pub by_period: Vec<Group>,
    /// By resource (the endpoint's URL), largest gross first.
    pub by_endpoint: Vec<Group>,
    /// Revenue: the ten payers who paid most. Spending: by provider.
    pub by_counterparty: Vec<Group>,
}

/// A provider's revenue, or an agent's spending, over a time range.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The provider or agent.
    pub tenant_id: String,
    /// Its wallet the figures are read from (the journal's postings).
    pub wallet_id: String,
    /// The range, unix seconds, inclusive.
    pub from: i64,
    /// The range's end.
    pub to: i64,
    /// `day` or `month`.
    pub granularity: String,
    /// One report per asset.
    pub assets: Vec<AssetReport>,
    /// Spending reports: the agent's policy, what its limits are measured against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Spending reports: the agent's usage as the policy counts it (today, this month).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// Paging parameters alone.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
}

/// A registered endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    /// `end_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The price rule.
    pub rule: PriceRule,
    /// The bundle it sells, if any.
    pub bundle: Option<Bundle>,
    /// Whether it is disabled (no longer priced).
    pub disabled: bool,
    /// When it was registered, unix seconds.
    pub created: i64,
}

/// `POST /v1/providers/{id}/endpoints/{endpointId}`: what to change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointUpdate {
    /// Disable (no longer priced) or enable the endpoint.
    pub disabled: bool,
}

/// A journal posting of a wallet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostingView {
    /// The posting.
    pub id: String,
    /// Its entry: a payment's id (`pay_…`), a deposit's (`dep_…`), a payout's (`po_…`).
    pub entry_id: String,
    /// The balance key of the asset.
    pub asset: String,
    /// Signed, in the asset's units.
    pub amount: String,
    /// Signed, in atomic units.
    pub amount_atomic: String,
    /// `payment`, `fee`, `deposit` or `payout`.
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
}

/// `GET /v1/me`: who the key belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// `operator`, `provider` or `agent`.
    pub kind: String,
    /// The tenant (absent for the operator).
    pub tenant_id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its own wallet: a provider's payout wallet, an agent's.
    pub wallet_id: Option<String>,
    /// The key's scopes.
    pub scopes: Vec<String>,
}

/// `POST /v1/payouts`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPayout {
    /// The provider paid out (the operator must name it; a provider's key pays out its own).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// How much, in the asset's units (`"12.50"`) [default: the whole balance].
    #[serde(default)]
    pub amount: Option<String>,
    /// The balance key of the asset [default: `USD`, the ledger dollar].
    #[serde(default)]
    pub asset: Option<String>,
}

/// `POST /v1/payouts/{id}/failed`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PayoutFailure {
    /// Why the transfer failed (shown to the provider).
    pub reason: String,
}

/// A payout.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutView {
    /// `po_…`.
    pub id: String,
    /// The provider.
    pub provider_id: String,
    /// The wallet it left.
    pub wallet_id: String,
    /// The balance key of the asset.
    pub asset: String,
    /// In the asset's units.
    pub amount: String,
    /// In atomic units.
    pub amount_atomic: String,
    /// `pending` (the amount left the balance), `paid` (it left the ledger) or `failed` (it
    /// came back).
    pub status: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// When the status last changed, unix seconds.
    pub updated: i64,
}

/// `GET /v1/payouts` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
    /// Operator only: one provider's payouts.
    pub provider: Option<String>,
}
