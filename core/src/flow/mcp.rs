//! The MCP binding of the two flows: a paid tool call instead of a paid HTTP request.
//!
//! x402 rides MCP as Coinbase's SDKs carry it (the "tool-result binding"): the payment in the
//! call's `params._meta["x402/payment"]`, the settlement in the result's
//! `_meta["x402/payment-response"]`, and a 402 as a tool **result** with `isError: true`, the
//! `PaymentRequired` in `structuredContent` and the same JSON in `content[0].text`. The
//! decisions are the HTTP flows' own — [`McpPaywall`] drives a [`Paywall`] and
//! [`McpClientFlow`] a [`ClientFlow`] — so prices, the payment match, bundle tokens, spending
//! policy, approval and the lost-answer re-send are the same on both transports; this module
//! only reads events from, and writes actions in, MCP's shapes:
//!
//! - A tool is priced as the route `POST /<tool>` of the resource `mcp://tool/<tool>` (the URL
//!   Coinbase's wrappers default to), so a bundle token sold with one tool opens that tool only.
//! - A payment is read leniently: an object (Coinbase's TypeScript), JSON text (Coinbase's
//!   Python), or base64 of the JSON (Cloudflare's `agents/x402`).
//! - The tool runs only after the payment verified; a tool that throws or answers `isError` is
//!   not charged; a failed settlement answers a 402-shaped result without the tool's content,
//!   carrying `x402/payment-response` with `success: false` so that no client pays again.
//! - A client reads a 402 from `structuredContent`, `content[0].text`, `_meta["x402/error"]`
//!   or a JSON-RPC error with code 402; pays at most once per call; and never pays on its own
//!   after a 402 that reports a failed settlement.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use super::bytes_of;
use super::client::{ClientAction, ClientConfig, ClientEvent, ClientFlow, Reply};
use super::paywall::{Paywall, PaywallAction, PaywallFlow, PaywallRoute, Presented};
use crate::error::{Error, Result};
use crate::money::{Amount, AssetRegistry};
use crate::pricing::{PathPattern, Price};
use crate::protocol::header::{self, DEFAULT_HEADER_LIMIT};
use crate::protocol::names::ACCESS_TOKEN_HEADER;
use crate::protocol::{PaymentPayload, PaymentRequired, SettleResponse};
use crate::token::KeyRing;

/// The `_meta` key of a call's payment.
pub const PAYMENT_META: &str = "x402/payment";
/// The `_meta` key of a result's settlement (also read from a 402's `structuredContent`).
pub const PAYMENT_RESPONSE_META: &str = "x402/payment-response";
/// The `_meta` key Cloudflare's `agents/x402` puts a 402's `PaymentRequired` under.
pub const ERROR_META: &str = "x402/error";
/// The `_meta` key of a Paywire access token presented with a call.
pub const ACCESS_TOKEN_META: &str = "paywire/access-token";
/// The `_meta` key of a tool's price in `tools/list`: the 402 an unpaid call answers.
pub const PAYMENT_REQUIRED_META: &str = "paywire/payment-required";
/// The JSON-RPC error code of a 402, which clients also accept.
pub const PAYMENT_REQUIRED_CODE: i64 = 402;

/// The method a tool call is priced under (`POST /<tool>`).
const TOOL_METHOD: &str = "POST";
/// The longest tool name (MCP's limit).
const MAX_TOOL_NAME: usize = 128;

/// The resource URL of a tool: `mcp://tool/<name>`.
pub fn tool_url(tool: &str) -> String {
    format!("mcp://tool/{tool}")
}

/// Checks a tool name as MCP defines it: 1 to 128 of `A-Z a-z 0-9 _ - .`, and not a path step
/// (`.`, `..`), since the name becomes a route's path.
pub fn check_tool_name(tool: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if tool.is_empty()
        || tool.len() > MAX_TOOL_NAME
        || !tool.chars().all(allowed)
        || tool == "."
        || tool == ".."
    {
        return Err(Error::InvalidArgument(format!(
            "{:?} is not a tool name (1 to {MAX_TOOL_NAME} of A-Z a-z 0-9 _ - .)",
            truncate(tool, 40)
        )));
    }
    Ok(())
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

// ---------------------------------------------------------------------------------------------
// The server: sell a tool call.
// ---------------------------------------------------------------------------------------------

/// How an MCP server's paid tools are configured: a paywall configuration whose `routes` are
/// `tools`, an object of tool name → [`ToolPrice`].
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpPaywallConfig {
    /// The priced tools, by name.
    #[serde(default)]
    pub tools: std::collections::BTreeMap<String, ToolPrice>,
    /// How the provider accepts payment (a tool may name its own).
    #[serde(default)]
    pub accepts: Vec<crate::pricing::PaymentOption>,
    /// Decimals of the prices in atomic units (default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    /// Whether payments must carry a payment identifier.
    #[serde(default)]
    pub require_payment_identifier: bool,
    /// The `iss` of the tokens bundles sell (default `mcp://tool`, the tools' origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issuer: Option<String>,
}

/// A tool's price: text (`"$0.01"`, or atomic units), a Paywire route without its method and
/// path (`{"price": "$0.01", "description", "bundle", "accepts"}`), or Coinbase's form
/// (`{"accepts": [{"scheme", "price", "network", "payTo"}], "description"}`).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolPrice {
    /// `"$0.01"`, or atomic units.
    Text(String),
    /// A route's terms.
    Terms(Map<String, Value>),
}

/// A paywall over tools: the validated configuration every call of an MCP server shares
/// (see [`McpPaywallConfig`]).
#[derive(Debug, Clone)]
pub struct McpPaywall {
    paywall: Paywall,
}

/// One tool call's flow through an [`McpPaywall`].
#[derive(Debug, Clone, Default)]
pub struct McpPaywallFlow {
    flow: PaywallFlow,
    /// The paywall of this call when the host priced it (a price computed from arguments).
    priced: Option<Box<Paywall>>,
}

/// What happened, as an MCP server's host reports it.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum McpPaywallEvent {
    /// A `tools/call` arrived.
    #[serde(rename_all = "camelCase")]
    Call {
        /// The tool's name.
        tool: String,
        /// The call's `params._meta`, if any.
        #[serde(default)]
        meta: Option<Value>,
        /// Unix seconds.
        now: u64,
        /// 16 random bytes (hex): the id of a token this call may sell.
        entropy: String,
        /// This call's price (`"$0.01"` or atomic units), when the host prices calls by their
        /// arguments; the tool's configured price otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<String>,
    },
    /// The token store counted a use.
    TokenUses {
        /// Uses before this one.
        before: u64,
    },
    /// The facilitator answered (any status).
    Facilitator {
        /// The HTTP status.
        status: u16,
        /// The body, when it was JSON.
        #[serde(default)]
        body: Option<Value>,
    },
    /// The facilitator could not be reached.
    FacilitatorUnreachable {
        /// What the transport said.
        message: String,
    },
    /// The tool ran: `isError` when it threw or answered an error result.
    #[serde(rename_all = "camelCase")]
    ToolResult {
        /// Whether it failed.
        is_error: bool,
    },
}

/// What an MCP server's host does next.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum McpPaywallAction {
    /// Run the tool and return its result untouched (a free tool, or a valid token).
    Pass,
    /// Count one use of this token in the store and feed how many uses came before it.
    #[serde(rename_all = "camelCase")]
    CountTokenUse {
        /// The token's claims id.
        id: String,
        /// When it expires.
        expires_at: u64,
    },
    /// Return this `CallToolResult` instead of running the tool.
    Respond {
        /// The result (`isError: true`).
        result: Value,
    },
    /// `POST <facilitator>/verify` with this JSON body and feed the answer.
    Verify {
        /// The body.
        body: Value,
    },
    /// The payment verified: run the tool, hold its result, and feed `toolResult`.
    RunTool,
    /// `POST <facilitator>/settle` with this JSON body and feed the answer.
    Settle {
        /// The body.
        body: Value,
    },
    /// Return the tool's held result with these entries added to its `_meta`.
    Deliver {
        /// `_meta` entries to add (the settlement, when there was one).
        meta: Map<String, Value>,
    },
}

impl McpPaywall {
    /// A tool paywall from its JSON configuration (see [`McpPaywall`]).
    pub fn from_json(config: Value) -> Result<Self> {
        let config: McpPaywallConfig = serde_json::from_value(config)
            .map_err(|e| Error::InvalidArgument(format!("MCP paywall configuration: {e}")))?;
        McpPaywall::new(config)
    }

    /// A tool paywall over `config`, validated: tool names, prices, payment options.
    pub fn new(config: McpPaywallConfig) -> Result<Self> {
        let registry = AssetRegistry::with_defaults();
        let mut routes = Vec::with_capacity(config.tools.len());
        for (tool, price) in &config.tools {
            check_tool_name(tool)?;
            routes.push(tool_route(tool, price, &registry)?);
        }
        let mut paywall = json!({
            "routes": routes,
            "accepts": config.accepts,
            "requirePaymentIdentifier": config.require_payment_identifier,
        });
        if let Some(decimals) = config.decimals {
            paywall["decimals"] = json!(decimals);
        }
        if let Some(issuer) = config.token_issuer {
            paywall["tokenIssuer"] = json!(issuer);
        }
        Ok(McpPaywall {
            paywall: Paywall::from_json(paywall)?,
        })
    }

    /// The paywall the tools are priced in.
    pub fn paywall(&self) -> &Paywall {
        &self.paywall
    }

    /// What `tools/list` shows of `tool` in its `_meta`, so an agent can plan before it calls:
    /// `{"paywire/payment-required": <the 402 an unpaid call answers>}`; `None` for a free or
    /// unpriced tool.
    pub fn tool_meta(&self, tool: &str, now: u64) -> Option<Map<String, Value>> {
        check_tool_name(tool).ok()?;
        let (flow, action) = self.paywall.start(
            TOOL_METHOD,
            &tool_url(tool),
            Presented::default(),
            now,
            &[0; 16],
            None,
        );
        if !matches!(action, PaywallAction::Respond(_)) {
            return None;
        }
        let mut required = serde_json::to_value(flow.answered()?).ok()?;
        if let Some(object) = required.as_object_mut() {
            object.remove("error");
        }
        Some(Map::from_iter([(
            PAYMENT_REQUIRED_META.to_string(),
            required,
        )]))
    }

    /// Feeds an event to `flow`: the next action. A `call` event starts `flow` over.
    pub fn feed(
        &self,
        flow: &mut McpPaywallFlow,
        event: McpPaywallEvent,
        keys: Option<&KeyRing>,
    ) -> McpPaywallAction {
        match event {
            McpPaywallEvent::Call {
                tool,
                meta,
                now,
                entropy,
                price,
            } => {
                *flow = McpPaywallFlow::default();
                match self.call(
                    flow,
                    &tool,
                    meta.as_ref(),
                    now,
                    &entropy,
                    price.as_deref(),
                    keys,
                ) {
                    Ok(action) => action,
                    Err(error) => error_result(&error),
                }
            }
            McpPaywallEvent::TokenUses { before } => {
                let paywall = flow.priced.as_deref().unwrap_or(&self.paywall);
                let action = flow.flow.on_token_uses(paywall, before, keys);
                translate(action, &flow.flow, false)
            }
            McpPaywallEvent::Facilitator { status, body } => {
                self.on_facilitator(flow, Ok((status, body)), keys)
            }
            McpPaywallEvent::FacilitatorUnreachable { message } => {
                self.on_facilitator(flow, Err(message), keys)
            }
            McpPaywallEvent::ToolResult { is_error } => {
                // A tool that failed is not charged for, as a handler's 5xx is not.
                let action = flow.flow.on_handler(if is_error { 500 } else { 200 });
                translate(action, &flow.flow, false)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        flow: &mut McpPaywallFlow,
        tool: &str,
        meta: Option<&Value>,
        now: u64,
        entropy: &str,
        price: Option<&str>,
        keys: Option<&KeyRing>,
    ) -> Result<McpPaywallAction> {
        check_tool_name(tool)?;
        let entropy = bytes_of::<16>(entropy, "entropy")?;
        let meta = match meta {
            None | Some(Value::Null) => None,
            Some(Value::Object(meta)) => Some(meta),
            Some(_) => {
                return Err(Error::InvalidPayload(
                    "the call's _meta is not an object".into(),
                ))
            }
        };
        let token = match meta.and_then(|m| m.get(ACCESS_TOKEN_META)) {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(token.as_str()),
            Some(_) => {
                return Err(Error::InvalidPayload(format!(
                    "_meta[{ACCESS_TOKEN_META:?}] is not text"
                )))
            }
        };
        let payment = meta
            .and_then(|m| m.get(PAYMENT_META))
            .filter(|p| !p.is_null())
            .map(read_payment_meta);
        if let Some(price) = price {
            flow.priced = Some(Box::new(self.priced_call(tool, price)?));
        }
        let paywall = flow.priced.as_deref().unwrap_or(&self.paywall);
        let (started, action) = paywall.start(
            TOOL_METHOD,
            &tool_url(tool),
            Presented { token, payment },
            now,
            &entropy,
            keys,
        );
        flow.flow = started;
        Ok(translate(action, &flow.flow, false))
    }

    /// The paywall with `tool` priced at `price` for one call (its other terms kept; the
    /// paywall's own payment options when the tool has no configuration).
    fn priced_call(&self, tool: &str, price: &str) -> Result<Paywall> {
        let mut config = self.paywall.config().clone();
        let atomic = if price.trim_start().starts_with('$') {
            super::routes::atomic(price, config.decimals)?
        } else {
            price.trim().to_string()
        };
        let flat = Amount::parse_atomic(&atomic)?;
        let path = format!("/{tool}");
        let price = Price {
            flat,
            usage: None,
            free_quota: None,
        };
        match config
            .routes
            .iter_mut()
            .find(|route| route.rule.path.as_str() == path)
        {
            Some(route) => route.rule.price = price,
            None => config.routes.push(PaywallRoute {
                rule: crate::pricing::PriceRule {
                    method: TOOL_METHOD.into(),
                    path: PathPattern::parse(&path)?,
                    price,
                    overrides: Default::default(),
                    description: None,
                },
                bundle: None,
                accepts: None,
            }),
        }
        Paywall::new(config)
    }

    fn on_facilitator(
        &self,
        flow: &mut McpPaywallFlow,
        answer: std::result::Result<(u16, Option<Value>), String>,
        keys: Option<&KeyRing>,
    ) -> McpPaywallAction {
        let settling = flow.flow.is_settling();
        let paywall = flow.priced.as_deref().unwrap_or(&self.paywall);
        let action = flow.flow.on_facilitator(paywall, answer, keys);
        translate(action, &flow.flow, settling)
    }
}

/// A tool's price, as configured, as the price rule `POST /<tool>`.
fn tool_route(tool: &str, price: &ToolPrice, registry: &AssetRegistry) -> Result<Value> {
    let path = format!("/{tool}");
    let coinbase_form = |object: &Map<String, Value>| {
        object.contains_key("network")
            || match object.get("accepts") {
                Some(Value::Object(option)) => option.contains_key("network"),
                Some(Value::Array(options)) => options.iter().any(|o| o.get("network").is_some()),
                _ => false,
            }
    };
    match price {
        ToolPrice::Text(price) => {
            Ok(json!({"method": TOOL_METHOD, "path": path, "price": {"flat": price}}))
        }
        ToolPrice::Terms(object) if coinbase_form(object) => super::routes::keyed_route(
            &format!("{TOOL_METHOD} {path}"),
            &Value::Object(object.clone()),
            registry,
        ),
        ToolPrice::Terms(object) => {
            let mut rule = object.clone();
            if let Some(Value::String(_)) = rule.get("price") {
                let flat = rule.remove("price").unwrap_or_default();
                rule.insert("price".into(), json!({ "flat": flat }));
            }
            rule.insert("method".into(), json!(TOOL_METHOD));
            rule.insert("path".into(), json!(path));
            Ok(Value::Object(rule))
        }
    }
}

/// The payment a call carries in `_meta["x402/payment"]`: an object, JSON text, or base64 of
/// the JSON; at most [`DEFAULT_HEADER_LIMIT`] bytes of JSON either way.
pub fn read_payment_meta(value: &Value) -> Result<PaymentPayload> {
    match value {
        Value::Object(_) => {
            let size = serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len());
            if size > DEFAULT_HEADER_LIMIT {
                return Err(Error::HeaderTooLarge {
                    len: size,
                    limit: DEFAULT_HEADER_LIMIT,
                });
            }
            PaymentPayload::from_json_value(value.clone())
        }
        Value::String(text) if text.trim_start().starts_with('{') => {
            if text.len() > DEFAULT_HEADER_LIMIT {
                return Err(Error::HeaderTooLarge {
                    len: text.len(),
                    limit: DEFAULT_HEADER_LIMIT,
                });
            }
            let json: Value = serde_json::from_str(text)
                .map_err(|e| Error::InvalidPayload(format!("{PAYMENT_META} is not JSON: {e}")))?;
            PaymentPayload::from_json_value(json)
        }
        Value::String(text) => header::decode_payment_payload(text, DEFAULT_HEADER_LIMIT),
        _ => Err(Error::InvalidPayload(format!(
            "{PAYMENT_META} is an object, JSON text, or base64 of the JSON"
        ))),
    }
}

/// An HTTP flow's action in MCP's shapes. `settling`: the flow was settling when it answered
/// (a 402 then reports a failed settlement).
fn translate(action: PaywallAction, flow: &PaywallFlow, settling: bool) -> McpPaywallAction {
    match action {
        PaywallAction::Pass => McpPaywallAction::Pass,
        PaywallAction::CountTokenUse { id, expires_at } => {
            McpPaywallAction::CountTokenUse { id, expires_at }
        }
        PaywallAction::Verify { body } => McpPaywallAction::Verify { body },
        PaywallAction::RunHandler => McpPaywallAction::RunTool,
        PaywallAction::Settle { body } => McpPaywallAction::Settle { body },
        PaywallAction::Deliver { .. } => {
            let mut meta = Map::new();
            if let Some(settled) = flow.settlement().and_then(|s| serde_json::to_value(s).ok()) {
                meta.insert(PAYMENT_RESPONSE_META.into(), settled);
            }
            McpPaywallAction::Deliver { meta }
        }
        PaywallAction::Respond(answer) if answer.status == 402 => {
            let Some(mut required) = flow.answered().and_then(|r| serde_json::to_value(r).ok())
            else {
                return McpPaywallAction::Respond {
                    result: tool_error(answer_json(&answer.body)),
                };
            };
            if settling {
                // Coinbase's Python server reports a failed settlement this way; its clients,
                // and ours, then do not pay again on their own.
                let failed = json!({
                    "success": false,
                    "errorReason": required.get("error").cloned().unwrap_or(Value::Null),
                    "transaction": "",
                    "network": flow.network().unwrap_or_default(),
                });
                if let Some(object) = required.as_object_mut() {
                    object.insert(PAYMENT_RESPONSE_META.into(), failed);
                }
            }
            McpPaywallAction::Respond {
                result: tool_error(required),
            }
        }
        PaywallAction::Respond(answer) => McpPaywallAction::Respond {
            result: tool_error(answer_json(&answer.body)),
        },
    }
}

fn answer_json(body: &str) -> Value {
    serde_json::from_str(body)
        .unwrap_or_else(|_| json!({"error": {"code": "internal", "message": body}}))
}

/// A `CallToolResult` with `isError: true`: `value` as structured content and as the text.
fn tool_error(value: Value) -> Value {
    json!({
        "content": [{"type": "text", "text": value.to_string()}],
        "structuredContent": value,
        "isError": true,
    })
}

/// An error result for a call that could not be read (bad name, `_meta`, price, entropy).
fn error_result(error: &Error) -> McpPaywallAction {
    McpPaywallAction::Respond {
        result: tool_error(json!({"error": {"code": error.code(), "message": error.to_string()}})),
    }
}

// ---------------------------------------------------------------------------------------------
// The client: buy a tool call.
// ---------------------------------------------------------------------------------------------

/// One paid tool call's client flow. Make one per call.
#[derive(Debug, Clone)]
pub struct McpClientFlow {
    flow: ClientFlow,
}

/// What happened, as an MCP client's host reports it: the events of [`ClientEvent`] with a
/// tool result or a JSON-RPC error in place of an HTTP response.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum McpClientEvent {
    /// What came back from the server.
    Answer(McpAnswer),
    /// Any other event of the client flow (`start`, `pay`, `approval`, `signed`,
    /// `connectionFailed`; a `response` does not fit a tool call).
    Flow(ClientEvent),
}

/// What came back from an MCP server for a tool call.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum McpAnswer {
    /// The call's result (a `CallToolResult`).
    Result {
        /// The result as JSON.
        result: Value,
    },
    /// The call failed with a JSON-RPC error.
    RpcError {
        /// Its code (402: a payment is required, `data` says how).
        code: i64,
        /// Its message.
        #[serde(default)]
        message: String,
        /// Its data.
        #[serde(default)]
        data: Option<Value>,
    },
}

impl<'de> Deserialize<'de> for McpClientEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        // Told apart by the tag, so that a malformed event gets its own variant's error.
        match value.get("event").and_then(Value::as_str) {
            Some("result" | "rpcError") => serde_json::from_value(value)
                .map(McpClientEvent::Answer)
                .map_err(D::Error::custom),
            _ => serde_json::from_value(value)
                .map(McpClientEvent::Flow)
                .map_err(D::Error::custom),
        }
    }
}

/// What an MCP client's host does next: the actions of [`ClientAction`], with `call` in place
/// of `send`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum McpClientAction {
    /// Call the tool.
    Call(McpCall),
    /// Any other action of the client flow.
    Flow(ClientAction),
}

/// Call the tool, with these `_meta` entries set and these removed.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum McpCall {
    /// Call the tool.
    #[serde(rename_all = "camelCase")]
    Call {
        /// `_meta` entries to set: the payment (an object), an access token.
        set_meta: Map<String, Value>,
        /// `_meta` entries to remove.
        remove_meta: Vec<String>,
        /// Stored access tokens to delete.
        forget_tokens: Vec<String>,
        /// Whether this call carries a payment.
        paid: bool,
    },
}

impl McpClientFlow {
    /// A flow for one call of `tool` under `config`.
    pub fn new(config: &ClientConfig, tool: &str) -> Result<Self> {
        check_tool_name(tool)?;
        Ok(McpClientFlow {
            flow: ClientFlow::new(config, TOOL_METHOD, &tool_url(tool)),
        })
    }

    /// Feeds an event: the next action.
    pub fn feed(&mut self, event: McpClientEvent) -> McpClientAction {
        let action = match event {
            McpClientEvent::Answer(answer) => self.flow.on_reply(reply_of(&answer)),
            McpClientEvent::Flow(ClientEvent::Response(_)) => {
                return McpClientAction::Flow(ClientAction::Refuse {
                    code: Error::InvalidArgument(String::new()).code().to_string(),
                    message: "a tool call is answered by a `result` or an `rpcError` event, not an HTTP response".into(),
                    details: None,
                })
            }
            McpClientEvent::Flow(event) => self.flow.feed(event),
        };
        self.translate(action)
    }

    fn translate(&self, action: ClientAction) -> McpClientAction {
        let ClientAction::Send {
            set_headers,
            remove_headers,
            forget_tokens,
            paid,
        } = action
        else {
            return McpClientAction::Flow(action);
        };
        let mut set_meta = Map::new();
        if let Some(token) = set_headers.get(ACCESS_TOKEN_HEADER) {
            set_meta.insert(ACCESS_TOKEN_META.into(), Value::String(token.clone()));
        }
        if paid {
            if let Some(payment) = self
                .flow
                .sent_payment()
                .and_then(|p| serde_json::to_value(p).ok())
            {
                set_meta.insert(PAYMENT_META.into(), payment);
            }
        }
        let remove_meta = remove_headers
            .iter()
            .filter(|name| name.eq_ignore_ascii_case(ACCESS_TOKEN_HEADER))
            .map(|_| ACCESS_TOKEN_META.to_string())
            .collect();
        McpClientAction::Call(McpCall::Call {
            set_meta,
            remove_meta,
            forget_tokens,
            paid,
        })
    }
}

/// A tool result or JSON-RPC error read as the flow reads an HTTP answer: a 402 (what it asks
/// for, and a failed settlement it reports), a success (its settlement), or a failure.
fn reply_of(answer: &McpAnswer) -> Reply {
    match answer {
        McpAnswer::RpcError { code, data, .. } => match data {
            Some(data) if *code == PAYMENT_REQUIRED_CODE => Reply {
                status: 402,
                payment_required: Some(PaymentRequired::from_json_value(data.clone())),
                settlement: None,
            },
            _ => Reply {
                status: 500,
                payment_required: None,
                settlement: None,
            },
        },
        McpAnswer::Result { result } => {
            let is_error = result.get("isError").and_then(Value::as_bool) == Some(true);
            let meta_settlement = result
                .get("_meta")
                .and_then(|m| m.get(PAYMENT_RESPONSE_META))
                .and_then(read_settlement);
            if !is_error {
                return Reply {
                    status: 200,
                    payment_required: None,
                    settlement: meta_settlement,
                };
            }
            match payment_required_of(result) {
                Some((required, carrier)) => Reply {
                    status: 402,
                    payment_required: Some(PaymentRequired::from_json_value(required)),
                    settlement: carrier
                        .get(PAYMENT_RESPONSE_META)
                        .and_then(read_settlement)
                        .or(meta_settlement),
                },
                None => Reply {
                    status: 500,
                    payment_required: None,
                    settlement: meta_settlement,
                },
            }
        }
    }
}

/// The 402 an error result carries, and the object it came in: `structuredContent` first,
/// then `content[0].text`, then `_meta["x402/error"]` (an object or JSON text).
fn payment_required_of(result: &Value) -> Option<(Value, Value)> {
    let looks_like_402 = |value: &Value| {
        value.is_object()
            && (value.get("x402Version").is_some() || value.get("x402_version").is_some())
            && value.get("accepts").is_some_and(Value::is_array)
    };
    let normalized = |mut value: Value| {
        if let Some(object) = value.as_object_mut() {
            if let Some(version) = object.remove("x402_version") {
                object.entry("x402Version").or_insert(version);
            }
            object.remove(PAYMENT_RESPONSE_META);
        }
        value
    };
    let from_text = |value: Option<&Value>| -> Option<Value> {
        match value? {
            Value::String(text) => serde_json::from_str::<Value>(text).ok(),
            object @ Value::Object(_) => Some(object.clone()),
            _ => None,
        }
    };
    let candidates = [
        result.get("structuredContent").cloned(),
        from_text(
            result
                .get("content")
                .and_then(|c| c.get(0))
                .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
                .and_then(|c| c.get("text")),
        ),
        from_text(result.get("_meta").and_then(|m| m.get(ERROR_META))),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(looks_like_402)
        .map(|carrier| (normalized(carrier.clone()), carrier))
}

/// A settlement as a server reports it: an object, JSON text, or base64 of the JSON.
fn read_settlement(value: &Value) -> Option<SettleResponse> {
    match value {
        Value::Object(_) => serde_json::from_value(value.clone()).ok(),
        Value::String(text) if text.trim_start().starts_with('{') => {
            serde_json::from_str(text).ok()
        }
        Value::String(text) => header::decode_settle_response(text, DEFAULT_HEADER_LIMIT).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_checked_as_mcp_defines_them() {
        for good in ["search", "get_weather", "a.b-c", &"x".repeat(128)] {
            assert!(check_tool_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(129), "a?b"] {
            assert!(check_tool_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_payment_reads_from_an_object_json_text_or_base64() {
        let payment = json!({"x402Version": 2, "accepted": {"scheme": "exact", "network": "paywire:main",
            "amount": "10000", "asset": "USD", "payTo": "wal_p", "maxTimeoutSeconds": 60},
            "payload": {"signature": "0x00"}});
        let from_object = read_payment_meta(&payment).unwrap();
        let from_text = read_payment_meta(&Value::String(payment.to_string())).unwrap();
        let from_base64 = read_payment_meta(&Value::String(header::encode(&payment))).unwrap();
        assert_eq!(from_object, from_text);
        assert_eq!(from_object, from_base64);
        for bad in [
            json!(7),
            json!("{not json"),
            json!("!!"),
            json!({"x402Version": 9}),
        ] {
            assert!(read_payment_meta(&bad).is_err(), "{bad}");
        }
        let huge = json!({"x402Version": 2, "pad": "x".repeat(DEFAULT_HEADER_LIMIT)});
        assert_eq!(
            read_payment_meta(&huge).unwrap_err().code(),
            Error::HeaderTooLarge { len: 0, limit: 0 }.code()
        );
    }

    #[test]
    fn a_402_reads_from_each_place_servers_put_it() {
        let required =
            json!({"x402Version": 2, "accepts": [], "resource": {"url": "mcp://tool/t"}});
        let results = [
            json!({"isError": true, "structuredContent": required, "content": []}),
            json!({"isError": true, "content": [{"type": "text", "text": required.to_string()}]}),
            json!({"isError": true, "content": [], "_meta": {"x402/error": required}}),
        ];
        for result in results {
            let reply = reply_of(&McpAnswer::Result {
                result: result.clone(),
            });
            assert_eq!(reply.status, 402, "{result}");
        }
        let plain_error = json!({"isError": true, "content": [{"type": "text", "text": "boom"}]});
        assert_eq!(
            reply_of(&McpAnswer::Result {
                result: plain_error
            })
            .status,
            500
        );
        let rpc = McpAnswer::RpcError {
            code: 402,
            message: String::new(),
            data: Some(required),
        };
        assert_eq!(reply_of(&rpc).status, 402);
    }
}
