//! Spending policies: judge one payment, pick what to pay from a 402, record what was spent.

use std::sync::Mutex;

use paywire_core::error::DenyReason;
use paywire_core::money::AssetRegistry;
use paywire_core::policy::{self, Decision, PaymentIntent};
use paywire_core::protocol::PaymentRequired;
use paywire_core::Error;
use rust_decimal::Decimal;

use crate::{json, parse, text, whole_number, Result};

/// Spending so far. Shared between calls; the lock is never held across a call into a host.
#[derive(Default)]
pub struct Usage {
    usage: Mutex<policy::Usage>,
}

impl Usage {
    /// Empty usage.
    pub fn new() -> Self {
        Usage::default()
    }

    /// Usage from its JSON.
    pub fn from_json(usage: &str) -> Result<Self> {
        Ok(Usage {
            usage: Mutex::new(parse(usage, "usage")?),
        })
    }

    /// The usage as JSON.
    pub fn to_json(&self) -> Result<String> {
        text(&*self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, policy::Usage> {
        // A panic while held cannot leave the usage half-written (every update is one
        // assignment), so a poisoned lock is still good.
        self.usage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A spending policy, with the built-in asset table its amounts are judged against.
pub struct Policy {
    policy: policy::Policy,
    assets: AssetRegistry,
}

impl Policy {
    /// A policy from its JSON; a wrong shape is `policy_invalid`.
    pub fn new(policy: &str) -> Result<Self> {
        Ok(Policy {
            policy: policy::Policy::from_json(json(policy, "policy")?)?,
            assets: AssetRegistry::with_defaults(),
        })
    }

    /// Judges one payment given `usage` at `now`.
    pub fn evaluate(&self, intent: &PaymentIntent, usage: &Usage, now: f64) -> Result<Decision> {
        let now = whole_number(now, "now")?;
        Ok(self.policy.evaluate(intent, &usage.lock(), now))
    }

    /// [`Policy::evaluate`] of an intent in its one-string form ([`unpack_intent`]), the verdict
    /// as a number ([`decision_code`]): the hot call's form for hosts, which shape it.
    pub fn evaluate_packed(&self, intent: &str, usage: &Usage, now: f64) -> Result<u32> {
        let intent = unpack_intent(intent)?;
        Ok(decision_code(self.evaluate(&intent, usage, now)?))
    }

    /// The option to pay from a 402 (JSON), or why none (JSON `Selection`).
    pub fn select(&self, payment_required: &str, usage: &Usage, now: f64) -> Result<String> {
        let required =
            PaymentRequired::from_json_value(json(payment_required, "paymentRequired")?)?;
        let now = whole_number(now, "now")?;
        text(
            &self
                .policy
                .select(&required, &usage.lock(), now, &self.assets),
        )
    }

    /// Records a payment of `amount` whole units at `now` into `usage`.
    pub fn record(&self, usage: &Usage, amount: &str, now: f64) -> Result<()> {
        let amount: Decimal = amount
            .parse()
            .map_err(|_| Error::AmountInvalid(amount.to_string()))?;
        let now = whole_number(now, "now")?;
        self.policy.record(&mut usage.lock(), amount, now);
        Ok(())
    }

    /// The policy as JSON.
    pub fn to_json(&self) -> Result<String> {
        text(&self.policy)
    }
}

/// What separates the fields of a packed intent: a control character no amount, network,
/// asset, address or URL holds (the JavaScript entries refuse fields that hold it).
pub const SEPARATOR: char = '\u{1f}';

/// A payment intent from its one-string form for JavaScript hosts: `amount`, `network`,
/// `asset`, `payTo` and, when known, `resource`, separated by [`SEPARATOR`]. An agent
/// evaluates its policy per payment, and every string argument crossing a boundary costs a
/// conversion.
pub fn unpack_intent(packed: &str) -> Result<PaymentIntent> {
    let fields: Vec<&str> = packed.split(SEPARATOR).collect();
    let (amount, network, asset, pay_to, resource) =
        match fields[..] {
            [amount, network, asset, pay_to] => (amount, network, asset, pay_to, None),
            [amount, network, asset, pay_to, resource] => {
                (amount, network, asset, pay_to, Some(resource))
            }
            _ => return Err(Error::InvalidArgument(
                "payment intent: expected amount, network, asset, payTo and an optional resource"
                    .into(),
            )),
        };
    Ok(PaymentIntent {
        amount: amount.parse().map_err(|_| {
            Error::InvalidArgument(format!(
                "payment intent: amount {amount:?} is not a decimal"
            ))
        })?,
        network: network.to_string(),
        asset: asset.to_string(),
        pay_to: pay_to.to_string(),
        resource: resource.map(str::to_string),
    })
}

/// A decision as a number for JavaScript hosts: 0 allow, 1 needs approval, 2 + i deny for
/// reason `i` of [`deny_reasons`].
pub fn decision_code(decision: Decision) -> u32 {
    match decision {
        Decision::Allow => 0,
        Decision::NeedsApproval => 1,
        Decision::Deny(reason) => {
            let index = DenyReason::ALL
                .iter()
                .position(|r| *r == reason)
                .unwrap_or_default();
            2 + crate::index_u32(index)
        }
    }
}

/// The codes of the reasons a policy denies, in the order [`decision_code`] numbers them.
pub fn deny_reasons() -> Vec<String> {
    DenyReason::ALL
        .iter()
        .map(|r| r.code().to_string())
        .collect()
}

/// The code of the reason a selection refused every option, if it did.
pub fn primary_reason(selection: &str) -> Result<Option<String>> {
    let selection: policy::Selection = parse(selection, "selection")?;
    Ok(selection.primary_reason().map(|r| r.code().to_string()))
}

/// The host of a URL, as allow-lists compare it.
pub fn host_of(url: &str) -> Option<String> {
    policy::host_of(url).map(str::to_string)
}
