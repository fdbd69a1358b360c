//! The core's payment flows, for the host layer's `wrapFetch` and `paywall`: each takes the
//! event the host saw (JSON) and returns the action to carry out (JSON), exactly as the flow
//! vectors spell them.

use std::cell::RefCell;

use paywire_core::flow::{self, ClientEvent, PaywallEvent};
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, json_from_js, string_arg, to_js};
use crate::error::{JsResult, OrThrow};
use crate::token::KeyRing;

/// One paid request of an agent, as the core's client flow: feed what happened, carry out
/// the action returned.
///
/// ```js
/// const flow = new ClientFlow({ policy, payer: { type: "ledger", walletId } }, "GET", url);
/// let action = flow.feed({ event: "start", tokens: [], now });
/// ```
#[wasm_bindgen]
pub struct ClientFlow {
    // `&self` methods only (see `Usage`).
    flow: RefCell<flow::ClientFlow>,
}

#[wasm_bindgen]
impl ClientFlow {
    /// A flow for `method url` under `config` (`{policy, payer, assets?}`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientConfig")] config: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] method: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
    ) -> JsResult<ClientFlow> {
        let config: flow::ClientConfig = from_js(config, "client config")?;
        let method = string_arg(&method, "method")?;
        let url = string_arg(&url, "url")?;
        Ok(ClientFlow {
            flow: RefCell::new(flow::ClientFlow::new(&config, &method, &url)),
        })
    }

    /// Feeds an event; returns the next action.
    #[wasm_bindgen(unchecked_return_type = "ClientAction")]
    pub fn feed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ClientEvent")] event: JsValue,
    ) -> JsResult<JsValue> {
        let event: ClientEvent = from_js(event, "client event")?;
        to_js(&self.flow.borrow_mut().feed(event))
    }
}

/// A provider's paywall: the validated configuration every request shares.
#[wasm_bindgen]
pub struct Paywall {
    paywall: flow::Paywall,
}

/// One request's flow through a `Paywall`.
#[wasm_bindgen]
pub struct PaywallFlow {
    flow: RefCell<flow::PaywallFlow>,
}

#[wasm_bindgen]
impl PaywallFlow {
    /// A flow with no request yet: feed it a `request` event.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> PaywallFlow {
        PaywallFlow {
            flow: RefCell::new(flow::PaywallFlow::default()),
        }
    }
}

#[wasm_bindgen]
impl Paywall {
    /// A paywall over `config` (`{routes, accepts, decimals?, requirePaymentIdentifier?,
    /// tokenIssuer?}`); an invalid price throws `pricing_rule_invalid`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PaywallConfig")] config: JsValue,
    ) -> JsResult<Paywall> {
        let config = json_from_js(config, "paywall config")?;
        Ok(Paywall {
            paywall: flow::Paywall::from_json(config).or_throw()?,
        })
    }

    /// Feeds an event of `flow`; returns the next action.
    #[wasm_bindgen(unchecked_return_type = "PaywallAction")]
    pub fn feed(
        &self,
        flow: &PaywallFlow,
        #[wasm_bindgen(unchecked_param_type = "PaywallEvent")] event: JsValue,
    ) -> JsResult<JsValue> {
        self.feed_inner(flow, event, None)
    }

    /// [`Paywall::feed`] with a key ring that verifies presented access tokens and signs sold
    /// ones.
    #[wasm_bindgen(unchecked_return_type = "PaywallAction", js_name = feedWithKeys)]
    pub fn feed_with_keys(
        &self,
        flow: &PaywallFlow,
        #[wasm_bindgen(unchecked_param_type = "PaywallEvent")] event: JsValue,
        keys: &KeyRing,
    ) -> JsResult<JsValue> {
        self.feed_inner(flow, event, Some(keys))
    }

    fn feed_inner(
        &self,
        flow: &PaywallFlow,
        event: JsValue,
        keys: Option<&KeyRing>,
    ) -> JsResult<JsValue> {
        let event: PaywallEvent = from_js(event, "paywall event")?;
        let ring = keys.map(|k| k.ring.borrow());
        let action = self
            .paywall
            .feed(&mut flow.flow.borrow_mut(), event, ring.as_deref());
        to_js(&action)
    }
}
