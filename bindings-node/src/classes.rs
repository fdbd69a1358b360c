//! The stateful exports: key rings, policies and usage, pricebooks, idempotency stores, and
//! the payment flows.

use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use paywire_bindings_common as common;

use crate::{OrThrow, Result};

/// The codes of the reasons a policy denies, in the order `evaluatePacked` numbers them.
#[napi]
pub fn deny_reasons() -> Vec<String> {
    common::policy::deny_reasons()
}

/// HMAC-SHA256 token keys by key id: one signs, all verify.
#[napi]
pub struct KeyRing {
    pub(crate) inner: common::token::KeyRing,
}

#[napi]
impl KeyRing {
    /// A ring signing with `secret` under `kid`.
    #[napi(constructor)]
    pub fn new(kid: String, secret: Uint8Array) -> Result<Self> {
        Ok(KeyRing {
            inner: common::token::KeyRing::new(&kid, &secret).or_throw()?,
        })
    }

    /// Adds a verifying key.
    #[napi]
    pub fn add_verifying_key(&self, kid: String, secret: Uint8Array) -> Result<()> {
        self.inner.add_verifying_key(&kid, &secret).or_throw()
    }

    /// Makes `kid` the signing key.
    #[napi]
    pub fn rotate(&self, kid: String, secret: Uint8Array) -> Result<()> {
        self.inner.rotate(&kid, &secret).or_throw()
    }

    /// Removes a verifying key.
    #[napi]
    pub fn retire(&self, kid: String) -> Result<()> {
        self.inner.retire(&kid).or_throw()
    }

    /// The signing key's id.
    #[napi(getter)]
    pub fn signing_kid(&self) -> String {
        self.inner.signing_kid()
    }

    /// Signs claims (JSON) into a token.
    #[napi]
    pub fn issue(&self, claims: String) -> Result<String> {
        self.inner.issue(&claims).or_throw()
    }

    /// Verifies a token; the result as one string (see
    /// `paywire_bindings_common::token::flat_verified`), which the entry shapes.
    #[napi]
    pub fn verify_flat(
        &self,
        token: String,
        method: String,
        resource: String,
        now: f64,
        uses: f64,
    ) -> Result<String> {
        let verified = self
            .inner
            .verify(&token, &method, &resource, now, uses)
            .or_throw()?;
        common::token::flat_verified(verified).or_throw()
    }
}

/// Spending so far.
#[napi]
pub struct Usage {
    inner: common::policy::Usage,
}

#[napi]
impl Usage {
    /// Empty usage.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Usage {
            inner: common::policy::Usage::new(),
        }
    }

    /// Usage from its JSON.
    #[napi(factory, js_name = "fromJSON")]
    pub fn from_json(usage: String) -> Result<Self> {
        Ok(Usage {
            inner: common::policy::Usage::from_json(&usage).or_throw()?,
        })
    }

    /// The usage as JSON.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_json().or_throw()
    }
}

/// A spending policy.
#[napi]
pub struct Policy {
    inner: common::policy::Policy,
}

#[napi]
impl Policy {
    /// A policy from its JSON.
    #[napi(constructor)]
    pub fn new(policy: String) -> Result<Self> {
        Ok(Policy {
            inner: common::policy::Policy::new(&policy).or_throw()?,
        })
    }

    /// Judges one payment given as one string (see
    /// `paywire_bindings_common::policy::unpack_intent`); the verdict as a number (see
    /// `decision_code`).
    #[napi]
    pub fn evaluate_packed(&self, intent: String, usage: &Usage, now: f64) -> Result<u32> {
        let intent = common::policy::unpack_intent(&intent).or_throw()?;
        let decision = self.inner.evaluate(&intent, &usage.inner, now).or_throw()?;
        Ok(common::policy::decision_code(decision))
    }

    /// What to pay from a 402 (JSON): the selection (JSON).
    #[napi]
    pub fn select(&self, payment_required: String, usage: &Usage, now: f64) -> Result<String> {
        self.inner
            .select(&payment_required, &usage.inner, now)
            .or_throw()
    }

    /// Records a payment into `usage`.
    #[napi]
    pub fn record(&self, usage: &Usage, amount: String, now: f64) -> Result<()> {
        self.inner.record(&usage.inner, &amount, now).or_throw()
    }

    /// The policy as JSON.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_json().or_throw()
    }
}

/// Price rules and the platform fee.
#[napi]
pub struct Pricebook {
    inner: common::pricing::Pricebook,
}

#[napi]
impl Pricebook {
    /// A pricebook from its JSON.
    #[napi(constructor)]
    pub fn new(pricebook: String) -> Result<Self> {
        Ok(Pricebook {
            inner: common::pricing::Pricebook::new(&pricebook).or_throw()?,
        })
    }

    /// A quote (JSON) for a request (JSON).
    #[napi]
    pub fn quote(&self, request: String) -> Result<String> {
        self.inner.quote(&request).or_throw()
    }

    /// The rule that prices `method path`, if any.
    #[napi]
    pub fn route(&self, method: String, path: String) -> Option<u32> {
        self.inner.route(&method, &path)
    }

    /// Rule `index` (JSON), if any.
    #[napi]
    pub fn rule(&self, index: f64) -> Result<Option<String>> {
        self.inner.rule(index).or_throw()
    }

    /// The pricebook as JSON.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_json().or_throw()
    }
}

/// A bounded in-memory idempotency store.
#[napi]
pub struct MemoryStore {
    inner: common::idempotency::MemoryStore,
}

#[napi]
impl MemoryStore {
    /// A store of at most `capacity` keys.
    #[napi(constructor)]
    pub fn new(
        capacity: f64,
        retention_seconds: Option<f64>,
        lease_seconds: Option<f64>,
    ) -> Result<Self> {
        Ok(MemoryStore {
            inner: common::idempotency::MemoryStore::new(
                capacity,
                retention_seconds,
                lease_seconds,
            )
            .or_throw()?,
        })
    }

    /// Begins a request (JSON answer).
    #[napi]
    pub fn begin(&self, key: String, fingerprint: String, now: f64) -> Result<String> {
        self.inner.begin(&key, &fingerprint, now).or_throw()
    }

    /// Stores an outcome.
    #[napi]
    pub fn complete(
        &self,
        key: String,
        fingerprint: String,
        status: f64,
        body: String,
        now: f64,
    ) -> Result<()> {
        self.inner
            .complete(&key, &fingerprint, status, body, now)
            .or_throw()
    }

    /// Releases a key.
    #[napi]
    pub fn abandon(&self, key: String, fingerprint: String) -> Result<()> {
        self.inner.abandon(&key, &fingerprint).or_throw()
    }

    /// Forgets what expired.
    #[napi]
    pub fn sweep(&self, now: f64) -> Result<()> {
        self.inner.sweep(now).or_throw()
    }

    /// How many keys it holds.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.inner.size()
    }
}

/// One paid request's client flow.
#[napi]
pub struct ClientFlow {
    inner: common::flow::ClientFlow,
}

#[napi]
impl ClientFlow {
    /// A flow for `method url` under a configuration (JSON).
    #[napi(constructor)]
    pub fn new(config: String, method: String, url: String) -> Result<Self> {
        Ok(ClientFlow {
            inner: common::flow::ClientFlow::new(&config, &method, &url).or_throw()?,
        })
    }

    /// Feeds an event (JSON): the next action (JSON).
    #[napi]
    pub fn feed(&self, event: String) -> Result<String> {
        self.inner.feed(&event).or_throw()
    }
}

/// One request's state in a paywall.
#[napi]
pub struct PaywallFlow {
    inner: common::flow::PaywallFlow,
}

#[napi]
impl PaywallFlow {
    /// A fresh flow.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        PaywallFlow {
            inner: common::flow::PaywallFlow::new(),
        }
    }
}

/// A provider's paywall.
#[napi]
pub struct Paywall {
    inner: common::flow::Paywall,
}

#[napi]
impl Paywall {
    /// A paywall from its configuration (JSON).
    #[napi(constructor)]
    pub fn new(config: String) -> Result<Self> {
        Ok(Paywall {
            inner: common::flow::Paywall::new(&config).or_throw()?,
        })
    }

    /// Feeds an event (JSON) to `flow`: the next action (JSON).
    #[napi]
    pub fn feed(&self, flow: &PaywallFlow, event: String) -> Result<String> {
        self.inner.feed(&flow.inner, &event, None).or_throw()
    }

    /// The same, with `keys` verifying and signing tokens.
    #[napi]
    pub fn feed_with_keys(
        &self,
        flow: &PaywallFlow,
        event: String,
        keys: &KeyRing,
    ) -> Result<String> {
        self.inner
            .feed(&flow.inner, &event, Some(&keys.inner))
            .or_throw()
    }
}
