//! Spending policies: judge one payment, pick what to pay from a 402, record what was spent.

use std::cell::RefCell;

use paywire_core::money::AssetRegistry;
use paywire_core::policy::{self, Decision, PaymentIntent};
use paywire_core::protocol::PaymentRequired;
use paywire_core::Error;
use rust_decimal::Decimal;
use wasm_bindgen::prelude::*;

use crate::convert::{
    from_js, json_from_js, string_arg, string_property, to_js, whole_number, ObjectBuilder,
};
use crate::error::{to_js_error, JsResult, OrThrow};

/// A validated spending policy: limits per request, day and month, allow-lists for payees,
/// networks, assets and hosts, a velocity limit and an approval threshold (all optional).
///
/// ```js
/// const policy = new Policy({ maxPerRequest: "0.10", dailyLimit: "5.00" });
/// const usage = new Usage();
/// policy.evaluate({ amount: "0.01", network: "eip155:8453", asset: "0x…", payTo: "0x…" }, usage, now)
/// // { decision: "allow" }
/// ```
#[wasm_bindgen]
pub struct Policy {
    policy: policy::Policy,
    assets: AssetRegistry,
}

/// What has been spent so far under a policy, kept between payments. Create it empty, let
/// [`Policy::record`] update it, and persist it with `toJSON()` / `Usage.fromJSON()`.
#[wasm_bindgen]
#[derive(Default)]
pub struct Usage {
    // Exported objects take `&self` (wasm-bindgen refuses re-entrant `&mut` borrows), so the
    // mutable state sits in a RefCell that is never held across a call into JavaScript.
    usage: RefCell<policy::Usage>,
}

#[wasm_bindgen]
impl Usage {
    /// Empty usage: nothing spent yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Usage {
        Usage::default()
    }

    /// Usage restored from its JSON (as `toJSON()` wrote it).
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "UsageJson")] json: JsValue,
    ) -> JsResult<Usage> {
        Ok(Usage {
            usage: RefCell::new(from_js(json, "usage")?),
        })
    }

    /// The usage as JSON (`{day, spentToday, month, spentThisMonth, recentPayments, ...}`).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "UsageJson")]
    pub fn to_json(&self) -> JsResult<JsValue> {
        to_js(&*self.usage.borrow())
    }
}

#[wasm_bindgen]
impl Policy {
    /// Parses and validates a policy; an invalid one throws `policy_invalid`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PolicyJson")] policy: JsValue,
    ) -> JsResult<Policy> {
        let json = json_from_js(policy, "policy")?;
        Ok(Policy {
            policy: policy::Policy::from_json(json).or_throw()?,
            assets: AssetRegistry::with_defaults(),
        })
    }

    /// Judges one payment (`{amount, network, asset, payTo, resource?}`, amount in whole
    /// units) at `now`: `{decision: "allow"}`, `{decision: "needsApproval"}` or
    /// `{decision: "deny", reason: "policy_daily_limit_exceeded"}`.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentIntent")] intent: JsValue,
        usage: &Usage,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<JsValue> {
        let intent = intent_from_js(&intent)?;
        let now = whole_number(&now, "now")?;
        let decision = self.policy.evaluate(&intent, &usage.usage.borrow(), now);
        // Built directly: evaluation is sub-microsecond, the JSON round trip is not.
        Ok(match decision {
            Decision::Allow => ObjectBuilder::new().set("decision", "allow"),
            Decision::NeedsApproval => ObjectBuilder::new().set("decision", "needsApproval"),
            Decision::Deny(reason) => ObjectBuilder::new()
                .set("decision", "deny")
                .set("reason", reason.code()),
        }
        .build())
    }

    /// Picks the cheapest option of a 402 (`PaymentRequired`, either version) that the policy
    /// allows: `{outcome: "selected", index, amount, needsApproval}` or
    /// `{outcome: "noneAllowed", rejections: [{index, amount, reason}]}`.
    #[wasm_bindgen(unchecked_return_type = "Selection")]
    pub fn select(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentRequired")] payment_required: JsValue,
        usage: &Usage,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<JsValue> {
        let json = json_from_js(payment_required, "paymentRequired")?;
        let required = PaymentRequired::from_json_value(json).or_throw()?;
        let now = whole_number(&now, "now")?;
        let selection = self
            .policy
            .select(&required, &usage.usage.borrow(), now, &self.assets);
        to_js(&selection)
    }

    /// Records a payment of `amount` (whole units) made at `now` into `usage`, pruning what
    /// no window needs any more.
    pub fn record(
        &self,
        usage: &Usage,
        #[wasm_bindgen(unchecked_param_type = "string")] amount: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<()> {
        let amount = &string_arg(&amount, "amount")?;
        let amount: Decimal = amount
            .parse()
            .map_err(|_| Error::AmountInvalid(amount.to_string()))
            .or_throw()?;
        let now = whole_number(&now, "now")?;
        self.policy
            .record(&mut usage.usage.borrow_mut(), amount, now);
        Ok(())
    }

    /// The policy as JSON.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "PolicyJson")]
    pub fn to_json(&self) -> JsResult<JsValue> {
        to_js(&self.policy)
    }
}

/// A payment intent read field by field (the policy's hot path); a field of the wrong type,
/// a missing one or an amount that is not a decimal is `invalid_argument`.
#[wasm_bindgen]
impl Policy {
    /// `evaluate` with the intent as one string and the verdict as a number
    /// (`paywire_bindings_common::policy::{unpack_intent, decision_code}`): the entry
    /// (`ts/engine.ts`) packs and unpacks them, cheaper than reading and building objects from
    /// wasm.
    #[wasm_bindgen(js_name = "__evaluatePacked")]
    pub fn evaluate_packed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] intent: JsValue,
        usage: &Usage,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<u32> {
        let intent =
            paywire_bindings_common::policy::unpack_intent(&string_arg(&intent, "intent")?)
                .or_throw()?;
        let now = whole_number(&now, "now")?;
        let decision = self.policy.evaluate(&intent, &usage.usage.borrow(), now);
        Ok(paywire_bindings_common::policy::decision_code(decision))
    }

    /// The codes of the reasons a policy denies, in the order `__evaluatePacked` numbers them.
    #[wasm_bindgen(js_name = "__denyReasons")]
    pub fn deny_reasons() -> Vec<String> {
        paywire_bindings_common::policy::deny_reasons()
    }
}

fn intent_from_js(intent: &JsValue) -> JsResult<PaymentIntent> {
    if !intent.is_object() {
        return Err(to_js_error(&Error::InvalidArgument(
            "payment intent must be an object".into(),
        )));
    }
    let required = |key: &'static str| -> JsResult<String> {
        string_property(intent, key)?.ok_or_else(|| {
            to_js_error(&Error::InvalidArgument(format!(
                "payment intent: missing field {key}"
            )))
        })
    };
    let amount = required("amount")?;
    Ok(PaymentIntent {
        amount: amount.parse().map_err(|_| {
            to_js_error(&Error::InvalidArgument(format!(
                "payment intent: amount {amount:?} is not a decimal"
            )))
        })?,
        network: required("network")?,
        asset: required("asset")?,
        pay_to: required("payTo")?,
        resource: string_property(intent, "resource")?,
    })
}
