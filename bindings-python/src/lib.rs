//! # paywire-python
//!
//! Paywire's core for Python and Swift, through uniffi: one line per export over
//! [`paywire_bindings_common`], which checks arguments and carries objects as JSON text, the
//! same for every binding. The `paywire` Python package (`bindings-python/python/paywire`)
//! turns JSON text into dicts and [`FfiError`] into `paywire.PaywireError` and its subclasses;
//! the Swift package (`bindings-swift/`) is generated from the same library.
//!
//! Counts and times are `f64` here because `paywire_bindings_common` takes them as JavaScript
//! has them; a Python `int` crosses as one, and the same checks apply (whole, not negative,
//! below 2^53).
#![deny(unsafe_code)]

use std::sync::Arc;

use paywire_bindings_common as common;
use paywire_core::ErrorClass;

uniffi::setup_scaffolding!();

/// Every failure: the core's stable code, its class, and what happened.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FfiError {
    /// A core error.
    #[error("{code}: {message}")]
    Failed {
        /// The stable snake_case code (`policy_daily_limit_exceeded`, `token_expired`, ...).
        code: String,
        /// The class (`invalid_input`, `payment_invalid`, `policy_denied`, `token_malformed`,
        /// `token_rejected`, `conflict`, `not_found`, `unavailable`).
        class: String,
        /// What happened.
        message: String,
    },
}

impl From<paywire_core::Error> for FfiError {
    fn from(error: paywire_core::Error) -> Self {
        FfiError::Failed {
            code: error.code().to_string(),
            class: error.class().as_str().to_string(),
            message: error.to_string(),
        }
    }
}

/// The class of an error known only by its code (a flow's refusal carries the code).
#[uniffi::export]
pub fn error_class_of(code: String) -> String {
    ErrorClass::of_code(&code).as_str().to_string()
}

/// What every export returns.
pub type Result<T> = std::result::Result<T, FfiError>;

fn ok<T>(result: common::Result<T>) -> Result<T> {
    result.map_err(FfiError::from)
}

// ---- money ----

/// Atomic units of a price (`"$0.01"`) in an asset with `decimals`.
#[uniffi::export]
pub fn parse_price(price: String, decimals: f64) -> Result<String> {
    ok(common::money::parse_price(&price, decimals))
}

/// An atomic amount, checked and normalized.
#[uniffi::export]
pub fn parse_atomic(text: String) -> Result<String> {
    ok(common::money::parse_atomic(&text))
}

/// Atomic units as a whole-unit decimal string.
#[uniffi::export]
pub fn to_decimal(atomic_amount: String, decimals: f64) -> Result<String> {
    ok(common::money::to_decimal(&atomic_amount, decimals))
}

/// A whole-unit decimal string as atomic units.
#[uniffi::export]
pub fn from_decimal(decimal: String, decimals: f64) -> Result<String> {
    ok(common::money::from_decimal(&decimal, decimals))
}

/// Atomic units formatted for people.
#[uniffi::export]
pub fn format_amount(atomic_amount: String, decimals: f64) -> Result<String> {
    ok(common::money::format_amount(&atomic_amount, decimals))
}

/// An amount in other decimals, rounded up.
#[uniffi::export]
pub fn rescale_amount(
    atomic_amount: String,
    from_decimals: f64,
    to_decimals: f64,
) -> Result<String> {
    ok(common::money::rescale_amount(
        &atomic_amount,
        from_decimals,
        to_decimals,
    ))
}

/// A built-in asset (JSON), if any.
#[uniffi::export]
pub fn find_asset(network: String, address: String) -> Result<Option<String>> {
    ok(common::money::find_asset(&network, &address))
}

// ---- pricing ----

/// Price rules and the platform fee.
#[derive(uniffi::Object)]
pub struct Pricebook {
    inner: common::pricing::Pricebook,
}

#[uniffi::export]
impl Pricebook {
    /// A pricebook from its JSON.
    #[uniffi::constructor]
    pub fn new(pricebook: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Pricebook {
            inner: ok(common::pricing::Pricebook::new(&pricebook))?,
        }))
    }

    /// A quote (JSON) for a request (JSON).
    pub fn quote(&self, request: String) -> Result<String> {
        ok(self.inner.quote(&request))
    }

    /// The rule that prices `method path`, if any.
    pub fn route(&self, method: String, path: String) -> Option<u32> {
        self.inner.route(&method, &path)
    }

    /// Rule `index` (JSON), if any.
    pub fn rule(&self, index: f64) -> Result<Option<String>> {
        ok(self.inner.rule(index))
    }

    /// The pricebook as JSON.
    pub fn to_json(&self) -> Result<String> {
        ok(self.inner.to_json())
    }
}

/// A 402 (JSON) offering a quote (JSON) in payment options (JSON).
#[uniffi::export]
pub fn payment_required(
    quote: String,
    options: String,
    resource: String,
    x402_version: Option<f64>,
    error: Option<String>,
    extensions: Option<String>,
) -> Result<String> {
    ok(common::pricing::payment_required(
        &quote,
        &options,
        &resource,
        x402_version,
        error,
        extensions.as_deref(),
    ))
}

/// The `payment-identifier` extension offer (JSON).
#[uniffi::export]
pub fn offer_payment_identifier(required: bool) -> Result<String> {
    ok(common::pricing::offer_payment_identifier(required))
}

/// `{fee, net}` (JSON) of a gross amount.
#[uniffi::export]
pub fn split_fee(gross: String, fee_bps: f64) -> Result<String> {
    ok(common::pricing::split_fee(&gross, fee_bps))
}

/// Whether a path pattern matches a path.
#[uniffi::export]
pub fn path_matches(pattern: String, path: String) -> Result<bool> {
    ok(common::pricing::path_matches(&pattern, &path))
}

// ---- policy ----

/// Spending so far.
#[derive(uniffi::Object)]
pub struct Usage {
    inner: common::policy::Usage,
}

#[uniffi::export]
impl Usage {
    /// Empty usage.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Usage {
            inner: common::policy::Usage::new(),
        })
    }

    /// Usage from its JSON.
    #[uniffi::constructor]
    pub fn from_json(usage: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Usage {
            inner: ok(common::policy::Usage::from_json(&usage))?,
        }))
    }

    /// The usage as JSON.
    pub fn to_json(&self) -> Result<String> {
        ok(self.inner.to_json())
    }
}

/// A spending policy.
#[derive(uniffi::Object)]
pub struct Policy {
    inner: common::policy::Policy,
}

#[uniffi::export]
impl Policy {
    /// A policy from its JSON.
    #[uniffi::constructor]
    pub fn new(policy: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Policy {
            inner: ok(common::policy::Policy::new(&policy))?,
        }))
    }

    /// Judges one payment given as one string (`paywire_bindings_common::policy::unpack_intent`):
    /// the verdict as a number (`decision_code`).
    pub fn evaluate_packed(&self, intent: String, usage: Arc<Usage>, now: f64) -> Result<u32> {
        let intent = ok(common::policy::unpack_intent(&intent))?;
        let decision = ok(self.inner.evaluate(&intent, &usage.inner, now))?;
        Ok(common::policy::decision_code(decision))
    }

    /// What to pay from a 402 (JSON): the selection (JSON).
    pub fn select(&self, payment_required: String, usage: Arc<Usage>, now: f64) -> Result<String> {
        ok(self.inner.select(&payment_required, &usage.inner, now))
    }

    /// Records a payment into `usage`.
    pub fn record(&self, usage: Arc<Usage>, amount: String, now: f64) -> Result<()> {
        ok(self.inner.record(&usage.inner, &amount, now))
    }

    /// The policy as JSON.
    pub fn to_json(&self) -> Result<String> {
        ok(self.inner.to_json())
    }
}

/// The codes of the reasons a policy denies, in the order `evaluate_packed` numbers them.
#[uniffi::export]
pub fn deny_reasons() -> Vec<String> {
    common::policy::deny_reasons()
}

/// The code of a selection's (JSON) refusal, if it refused.
#[uniffi::export]
pub fn primary_reason(selection: String) -> Result<Option<String>> {
    ok(common::policy::primary_reason(&selection))
}

/// The host of a URL, as allow-lists compare it.
#[uniffi::export]
pub fn host_of(url: String) -> Option<String> {
    common::policy::host_of(&url)
}

// ---- tokens ----

/// HMAC-SHA256 token keys by key id: one signs, all verify.
#[derive(uniffi::Object)]
pub struct KeyRing {
    inner: common::token::KeyRing,
}

#[uniffi::export]
impl KeyRing {
    /// A ring signing with `secret` under `kid`.
    #[uniffi::constructor]
    pub fn new(kid: String, secret: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(KeyRing {
            inner: ok(common::token::KeyRing::new(&kid, &secret))?,
        }))
    }

    /// Adds a verifying key.
    pub fn add_verifying_key(&self, kid: String, secret: Vec<u8>) -> Result<()> {
        ok(self.inner.add_verifying_key(&kid, &secret))
    }

    /// Makes `kid` the signing key.
    pub fn rotate(&self, kid: String, secret: Vec<u8>) -> Result<()> {
        ok(self.inner.rotate(&kid, &secret))
    }

    /// Removes a verifying key.
    pub fn retire(&self, kid: String) -> Result<()> {
        ok(self.inner.retire(&kid))
    }

    /// The signing key's id.
    pub fn signing_kid(&self) -> String {
        self.inner.signing_kid()
    }

    /// Signs claims (JSON) into a token.
    pub fn issue(&self, claims: String) -> Result<String> {
        ok(self.inner.issue(&claims))
    }

    /// Verifies a token given with its method and resource as one string
    /// (`unpack_token_request`: each string argument costs uniffi's Python a conversion); the
    /// result as one string (`flat_verified`), which the package shapes.
    pub fn verify_packed(&self, request: String, now: f64, uses: f64) -> Result<String> {
        let (token, method, resource) = ok(common::token::unpack_token_request(&request))?;
        let verified = ok(self.inner.verify(token, method, resource, now, uses))?;
        ok(common::token::flat_verified(verified))
    }
}

/// A token with a caveat (JSON) appended.
#[uniffi::export]
pub fn attenuate_token(token: String, caveat: String) -> Result<String> {
    ok(common::token::attenuate_token(&token, &caveat))
}

/// A token's effective claims (JSON), unverified.
#[uniffi::export]
pub fn inspect_token(token: String) -> Result<String> {
    ok(common::token::inspect_token(&token))
}

/// Whether a scope prefix covers a resource.
#[uniffi::export]
pub fn resource_in_scope(prefix: String, resource: String) -> bool {
    common::token::resource_in_scope(&prefix, &resource)
}

/// The scope prefix of a bundle token.
#[uniffi::export]
pub fn bundle_scope(resource: String, pattern: String) -> String {
    common::token::bundle_scope(&resource, &pattern)
}

/// Whether a scope (JSON) covers `method resource`.
#[uniffi::export]
pub fn scope_allows(scope: String, method: String, resource: String) -> Result<bool> {
    ok(common::token::scope_allows(&scope, &method, &resource))
}

/// The claims (JSON) a bundle (JSON) sells on a rule (JSON).
#[uniffi::export]
pub fn bundle_claims(
    bundle: String,
    rule: String,
    id: String,
    issuer: String,
    payer: String,
    resource: String,
    now: f64,
) -> Result<String> {
    ok(common::token::bundle_claims(
        &bundle, &rule, &id, &issuer, &payer, &resource, now,
    ))
}

/// The SHA-256 of a token (hex).
#[uniffi::export]
pub fn token_hash(token: String) -> String {
    common::token::token_hash(&token)
}

// ---- idempotency ----

/// An idempotency key, checked.
#[uniffi::export]
pub fn validate_idempotency_key(key: String) -> Result<String> {
    ok(common::idempotency::validate_idempotency_key(&key))
}

/// A request's fingerprint (hex) over its body bytes.
#[uniffi::export]
pub fn fingerprint(method: String, path: String, body: Vec<u8>) -> String {
    common::idempotency::fingerprint(&method, &path, &body)
}

/// A bounded in-memory idempotency store.
#[derive(uniffi::Object)]
pub struct MemoryStore {
    inner: common::idempotency::MemoryStore,
}

#[uniffi::export]
impl MemoryStore {
    /// A store of at most `capacity` keys.
    #[uniffi::constructor]
    pub fn new(
        capacity: f64,
        retention_seconds: Option<f64>,
        lease_seconds: Option<f64>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(MemoryStore {
            inner: ok(common::idempotency::MemoryStore::new(
                capacity,
                retention_seconds,
                lease_seconds,
            ))?,
        }))
    }

    /// Begins a request (JSON answer).
    pub fn begin(&self, key: String, fingerprint: String, now: f64) -> Result<String> {
        ok(self.inner.begin(&key, &fingerprint, now))
    }

    /// Stores an outcome.
    pub fn complete(
        &self,
        key: String,
        fingerprint: String,
        status: f64,
        body: String,
        now: f64,
    ) -> Result<()> {
        ok(self.inner.complete(&key, &fingerprint, status, body, now))
    }

    /// Releases a key.
    pub fn abandon(&self, key: String, fingerprint: String) -> Result<()> {
        ok(self.inner.abandon(&key, &fingerprint))
    }

    /// Forgets what expired.
    pub fn sweep(&self, now: f64) -> Result<()> {
        ok(self.inner.sweep(now))
    }

    /// How many keys it holds.
    pub fn size(&self) -> u32 {
        self.inner.size()
    }
}

// ---- protocol ----

/// A JSON value (text) as a header value.
#[uniffi::export]
pub fn encode_header(value: String) -> Result<String> {
    ok(common::protocol::encode_header(&value))
}

/// A `PAYMENT-REQUIRED` header's 402 (JSON).
#[uniffi::export]
pub fn decode_payment_required(header_value: String, limit_bytes: Option<f64>) -> Result<String> {
    ok(common::protocol::decode_payment_required(
        &header_value,
        limit_bytes,
    ))
}

/// A payment header's payment (JSON).
#[uniffi::export]
pub fn decode_payment_payload(header_value: String, limit_bytes: Option<f64>) -> Result<String> {
    ok(common::protocol::decode_payment_payload(
        &header_value,
        limit_bytes,
    ))
}

/// A `PAYMENT-RESPONSE` header's settlement (JSON).
#[uniffi::export]
pub fn decode_payment_response(header_value: String, limit_bytes: Option<f64>) -> Result<String> {
    ok(common::protocol::decode_payment_response(
        &header_value,
        limit_bytes,
    ))
}

/// A 402 (JSON), checked and normalized.
#[uniffi::export]
pub fn payment_required_from_json(value: String) -> Result<String> {
    ok(common::protocol::payment_required_from_json(&value))
}

/// A payment (JSON), checked and normalized.
#[uniffi::export]
pub fn payment_payload_from_json(value: String) -> Result<String> {
    ok(common::protocol::payment_payload_from_json(&value))
}

/// A network name resolved (JSON).
#[uniffi::export]
pub fn resolve_network(name: String) -> Result<String> {
    ok(common::protocol::resolve_network(&name))
}

/// Whether two names are one network.
#[uniffi::export]
pub fn same_network(a: String, b: String) -> bool {
    common::protocol::same_network(&a, &b)
}

/// Whether accepted requirements match offered ones (JSON both).
#[uniffi::export]
pub fn requirements_match(accepted: String, offered: String) -> Result<bool> {
    ok(common::protocol::requirements_match(&accepted, &offered))
}

/// Which offer (JSON array) a payment (JSON) pays.
#[uniffi::export]
pub fn find_match(offers: String, payment: String) -> Result<u32> {
    ok(common::protocol::find_match(&offers, &payment))
}

/// The `/verify` and `/settle` body (JSON).
#[uniffi::export]
pub fn facilitator_request(payment: String, requirements: String) -> Result<String> {
    ok(common::protocol::facilitator_request(
        &payment,
        &requirements,
    ))
}

/// A `/verify` answer (JSON), checked.
#[uniffi::export]
pub fn parse_verify_response(body: String) -> Result<String> {
    ok(common::protocol::parse_verify_response(&body))
}

/// A `/settle` answer (JSON), checked.
#[uniffi::export]
pub fn parse_settle_response(body: String) -> Result<String> {
    ok(common::protocol::parse_settle_response(&body))
}

/// The options a payer of `kind` can sign.
#[uniffi::export]
pub fn payable_indexes(payment_required: String, kind: String) -> Result<Vec<u32>> {
    ok(common::protocol::payable_indexes(&payment_required, &kind))
}

/// The payment identifier in extensions (JSON), if any.
#[uniffi::export]
pub fn payment_identifier(extensions_value: Option<String>) -> Result<Option<String>> {
    ok(common::protocol::payment_identifier(
        extensions_value.as_deref(),
    ))
}

/// Extensions (JSON) with a payment identifier.
#[uniffi::export]
pub fn with_payment_identifier(extensions_value: Option<String>, id: String) -> Result<String> {
    ok(common::protocol::with_payment_identifier(
        extensions_value.as_deref(),
        &id,
    ))
}

// ---- schemes ----

/// An EIP-3009 payment verified (JSON in, JSON out).
#[uniffi::export]
pub fn verify_evm_payment(payment: String, requirements: String, now: f64) -> Result<String> {
    ok(common::schemes::verify_evm_payment(
        &payment,
        &requirements,
        now,
    ))
}

/// An EIP-3009 payment verified, given with its requirements as one JSON array (one string
/// to convert instead of two).
#[uniffi::export]
pub fn verify_evm_payment_pair(pair: String, now: f64) -> Result<String> {
    ok(common::schemes::verify_evm_payment_pair(&pair, now))
}

/// A 402's option paid with an EVM key (JSON).
#[uniffi::export]
pub fn sign_evm_payment(
    payment_required: String,
    index: f64,
    private_key: String,
    nonce: Vec<u8>,
    now: f64,
) -> Result<String> {
    ok(common::schemes::sign_evm_payment(
        &payment_required,
        index,
        &private_key,
        &nonce,
        now,
    ))
}

/// An EIP-3009 authorization (JSON) signed with an EVM key.
#[uniffi::export]
pub fn sign_evm_authorization(
    requirements: String,
    private_key: String,
    nonce: Vec<u8>,
    now: f64,
) -> Result<String> {
    ok(common::schemes::sign_evm_authorization(
        &requirements,
        &private_key,
        &nonce,
        now,
    ))
}

/// The checksummed address of a private key.
#[uniffi::export]
pub fn evm_address(private_key: String) -> Result<String> {
    ok(common::schemes::evm_address(&private_key))
}

/// An address, EIP-55 checksummed.
#[uniffi::export]
pub fn checksum_address(address: String) -> Result<String> {
    ok(common::schemes::checksum_address(&address))
}

/// EIP-712 hashes (JSON) of an authorization under a domain (JSON both).
#[uniffi::export]
pub fn eip712_hashes(domain: String, message: String) -> Result<String> {
    ok(common::schemes::eip712_hashes(&domain, &message))
}

/// A 402's option paid from a ledger wallet (JSON).
#[uniffi::export]
pub fn sign_ledger_payment(
    payment_required: String,
    index: f64,
    wallet_id: String,
    secret: Vec<u8>,
    nonce: Vec<u8>,
    now: f64,
) -> Result<String> {
    ok(common::schemes::sign_ledger_payment(
        &payment_required,
        index,
        &wallet_id,
        &secret,
        &nonce,
        now,
    ))
}

/// A ledger authorization (JSON).
#[uniffi::export]
pub fn sign_ledger_authorization(
    requirements: String,
    wallet_id: String,
    secret: Vec<u8>,
    nonce: Vec<u8>,
    now: f64,
) -> Result<String> {
    ok(common::schemes::sign_ledger_authorization(
        &requirements,
        &wallet_id,
        &secret,
        &nonce,
        now,
    ))
}

/// A ledger payment verified (JSON).
#[uniffi::export]
pub fn verify_ledger_payment(
    payment: String,
    requirements: String,
    now: f64,
    secrets: String,
) -> Result<String> {
    ok(common::schemes::verify_ledger_payment(
        &payment,
        &requirements,
        now,
        &secrets,
    ))
}

// ---- flows ----

/// One paid request's client flow.
#[derive(uniffi::Object)]
pub struct ClientFlow {
    inner: common::flow::ClientFlow,
}

#[uniffi::export]
impl ClientFlow {
    /// A flow for `method url` under a configuration (JSON).
    #[uniffi::constructor]
    pub fn new(config: String, method: String, url: String) -> Result<Arc<Self>> {
        Ok(Arc::new(ClientFlow {
            inner: ok(common::flow::ClientFlow::new(&config, &method, &url))?,
        }))
    }

    /// Feeds an event (JSON): the next action (JSON).
    pub fn feed(&self, event: String) -> Result<String> {
        ok(self.inner.feed(&event))
    }
}

/// One request's state in a paywall.
#[derive(uniffi::Object)]
pub struct PaywallFlow {
    inner: common::flow::PaywallFlow,
}

#[uniffi::export]
impl PaywallFlow {
    /// A fresh flow.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(PaywallFlow {
            inner: common::flow::PaywallFlow::new(),
        })
    }
}

/// A provider's paywall.
#[derive(uniffi::Object)]
pub struct Paywall {
    inner: common::flow::Paywall,
}

#[uniffi::export]
impl Paywall {
    /// A paywall from its configuration (JSON).
    #[uniffi::constructor]
    pub fn new(config: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Paywall {
            inner: ok(common::flow::Paywall::new(&config))?,
        }))
    }

    /// Feeds an event (JSON) to `flow`, with `keys` if given: the next action (JSON).
    pub fn feed(
        &self,
        flow: Arc<PaywallFlow>,
        event: String,
        keys: Option<Arc<KeyRing>>,
    ) -> Result<String> {
        ok(self
            .inner
            .feed(&flow.inner, &event, keys.as_ref().map(|k| &k.inner)))
    }
}

/// A flow's signing request (JSON) signed with an EVM key.
#[uniffi::export]
pub fn sign_request_with_evm_key(request: String, private_key: String) -> Result<String> {
    ok(common::flow::sign_request_with_evm_key(
        &request,
        &private_key,
    ))
}

/// A flow's signing request (JSON) signed with a wallet secret.
#[uniffi::export]
pub fn sign_request_with_wallet_secret(request: String, secret: Vec<u8>) -> Result<String> {
    ok(common::flow::sign_request_with_wallet_secret(
        &request, &secret,
    ))
}

// ---- webhooks ----

/// The `Paywire-Signature` value for a body sent at `timestamp` under `secret`.
#[uniffi::export]
pub fn sign_webhook(secret: String, timestamp: f64, body: Vec<u8>) -> Result<String> {
    ok(common::webhook::sign_webhook(&secret, timestamp, &body))
}

/// Checks a `Paywire-Signature` header against the raw body; the signed timestamp.
#[uniffi::export]
pub fn verify_webhook(
    header: String,
    secret: String,
    body: Vec<u8>,
    now: f64,
    tolerance_seconds: Option<f64>,
) -> Result<f64> {
    ok(common::webhook::verify_webhook(
        &header,
        &secret,
        &body,
        now,
        tolerance_seconds,
    ))
}
