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

// The free functions: generated from bindings-common/exports.toml.
pub mod exports;

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

// ---- idempotency ----

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

// ---- webhooks ----
