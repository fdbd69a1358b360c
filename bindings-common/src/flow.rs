//! The core's payment flows, for the host layers' `wrapFetch` and `paywall`: each takes the
//! event the host saw (JSON) and returns the action to carry out (JSON), as the flow vectors
//! spell them.

use std::sync::Mutex;

use paywire_core::flow::{
    self, ClientEvent, McpClientEvent, McpPaywallEvent, PaywallEvent, SignRequest,
};
use paywire_core::protocol::evm::PrivateKey;
use paywire_core::protocol::ledger::WalletSecret;

use crate::token::KeyRing;
use crate::{json, parse, text, Result};

/// One paid request's client flow.
pub struct ClientFlow {
    flow: Mutex<flow::ClientFlow>,
}

impl ClientFlow {
    /// A flow for `method url` under a client configuration (JSON).
    pub fn new(config: &str, method: &str, url: &str) -> Result<Self> {
        let config: flow::ClientConfig = parse(config, "client config")?;
        Ok(ClientFlow {
            flow: Mutex::new(flow::ClientFlow::new(&config, method, url)),
        })
    }

    /// Feeds an event (JSON): the next action (JSON).
    pub fn feed(&self, event: &str) -> Result<String> {
        let event: ClientEvent = parse(event, "client event")?;
        // A flow is one request's; the lock only makes the object shareable.
        let mut flow = self.flow.lock().unwrap_or_else(|p| p.into_inner());
        text(&flow.feed(event))
    }
}

/// One request's state in a paywall.
#[derive(Default)]
pub struct PaywallFlow {
    flow: Mutex<flow::PaywallFlow>,
}

impl PaywallFlow {
    /// A fresh flow (a `request` event starts it).
    pub fn new() -> Self {
        PaywallFlow::default()
    }
}

/// A provider's paywall: the validated configuration every request shares.
pub struct Paywall {
    paywall: flow::Paywall,
}

impl Paywall {
    /// A paywall from its configuration (JSON).
    pub fn new(config: &str) -> Result<Self> {
        Ok(Paywall {
            paywall: flow::Paywall::from_json(json(config, "paywall config")?)?,
        })
    }

    /// Feeds an event (JSON) to `flow`: the next action (JSON).
    pub fn feed(&self, flow: &PaywallFlow, event: &str) -> Result<String> {
        self.feed_keyed(flow, event, None)
    }

    /// Feeds an event (JSON) to `flow`, with `keys` verifying presented tokens and signing sold
    /// ones: the next action (JSON).
    pub fn feed_with_keys(
        &self,
        flow: &PaywallFlow,
        event: &str,
        keys: &KeyRing,
    ) -> Result<String> {
        self.feed_keyed(flow, event, Some(keys))
    }

    fn feed_keyed(
        &self,
        flow: &PaywallFlow,
        event: &str,
        keys: Option<&KeyRing>,
    ) -> Result<String> {
        let event: PaywallEvent = parse(event, "paywall event")?;
        let mut flow = flow.flow.lock().unwrap_or_else(|p| p.into_inner());
        let action = match keys {
            Some(keys) => keys.with(|ring| self.paywall.feed(&mut flow, event, Some(ring))),
            None => self.paywall.feed(&mut flow, event, None),
        };
        text(&action)
    }
}

/// One paid tool call's client flow (MCP).
pub struct McpClientFlow {
    flow: Mutex<flow::McpClientFlow>,
}

impl McpClientFlow {
    /// A flow for one call of `tool` under a client configuration (JSON).
    pub fn new(config: &str, tool: &str) -> Result<Self> {
        let config: flow::ClientConfig = parse(config, "client config")?;
        Ok(McpClientFlow {
            flow: Mutex::new(flow::McpClientFlow::new(&config, tool)?),
        })
    }

    /// Feeds an event (JSON): the next action (JSON).
    pub fn feed(&self, event: &str) -> Result<String> {
        let event: McpClientEvent = parse(event, "MCP client event")?;
        let mut flow = self.flow.lock().unwrap_or_else(|p| p.into_inner());
        text(&flow.feed(event))
    }
}

/// One tool call's state in an MCP paywall.
#[derive(Default)]
pub struct McpPaywallFlow {
    flow: Mutex<flow::McpPaywallFlow>,
}

impl McpPaywallFlow {
    /// A fresh flow (a `call` event starts it).
    pub fn new() -> Self {
        McpPaywallFlow::default()
    }
}

/// An MCP server's paywall over its tools.
pub struct McpPaywall {
    paywall: flow::McpPaywall,
}

impl McpPaywall {
    /// A tool paywall from its configuration (JSON).
    pub fn new(config: &str) -> Result<Self> {
        Ok(McpPaywall {
            paywall: flow::McpPaywall::from_json(json(config, "MCP paywall config")?)?,
        })
    }

    /// Feeds an event (JSON) to `flow`: the next action (JSON).
    pub fn feed(&self, flow: &McpPaywallFlow, event: &str) -> Result<String> {
        self.feed_keyed(flow, event, None)
    }

    /// The same, with `keys` verifying presented tokens and signing sold ones.
    pub fn feed_with_keys(
        &self,
        flow: &McpPaywallFlow,
        event: &str,
        keys: &KeyRing,
    ) -> Result<String> {
        self.feed_keyed(flow, event, Some(keys))
    }

    /// What `tools/list` shows of `tool` in its `_meta` at `now` (JSON), if it is priced.
    pub fn tool_meta(&self, tool: &str, now: f64) -> Result<Option<String>> {
        let now = crate::whole_number(now, "now")?;
        self.paywall
            .tool_meta(tool, now)
            .map(|meta| text(&meta))
            .transpose()
    }

    fn feed_keyed(
        &self,
        flow: &McpPaywallFlow,
        event: &str,
        keys: Option<&KeyRing>,
    ) -> Result<String> {
        let event: McpPaywallEvent = parse(event, "MCP paywall event")?;
        let mut flow = flow.flow.lock().unwrap_or_else(|p| p.into_inner());
        let action = match keys {
            Some(keys) => keys.with(|ring| self.paywall.feed(&mut flow, event, Some(ring))),
            None => self.paywall.feed(&mut flow, event, None),
        };
        text(&action)
    }
}

/// A flow's signing request (JSON) signed with an EVM key.
pub fn sign_request_with_evm_key(request: &str, private_key: &str) -> Result<String> {
    let request: SignRequest = parse(request, "sign request")?;
    request.sign_evm(&PrivateKey::from_hex(private_key)?)
}

/// A flow's signing request (JSON) signed with a ledger wallet's secret.
pub fn sign_request_with_wallet_secret(request: &str, secret: &[u8]) -> Result<String> {
    let request: SignRequest = parse(request, "sign request")?;
    request.sign_ledger(&WalletSecret::from_bytes(secret)?)
}
