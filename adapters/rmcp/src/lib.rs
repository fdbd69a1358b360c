//! Paid tools over MCP for [rmcp](https://docs.rs/rmcp) servers and clients.
//!
//! - [`PaidTools`] sells tool calls: call [`PaidTools::call_tool`] from your
//!   `ServerHandler::call_tool` with the tool router that runs the tool, and
//!   [`PaidTools::list_tools`] from `list_tools` so that agents see the prices.
//! - [`PayingClient`] buys them: [`PayingClient::call_tool`] calls a tool through an rmcp
//!   `Peer<RoleClient>` and pays a 402 result within a spending policy.
//!
//! ```ignore
//! impl ServerHandler for Shop {
//!     async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>)
//!         -> Result<CallToolResponse, McpError> {
//!         self.paid.call_tool(request, &context, |request| self.tools.call(request, context.clone())).await
//!     }
//! }
//! ```
//!
//! Both drive `paywire-core`'s MCP flows, which decide everything (the 402 results, reading a
//! payment from `_meta` as an object, JSON text or base64, when to settle, what a failed
//! settlement answers, what to pay, never paying twice for one call); this crate moves values
//! between the flows and rmcp, the facilitator ([`paywire_axum::FacilitatorClient`]) and the
//! stores and signers of [`paywire_reqwest`].

use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use paywire_axum::{FacilitatorCall, FacilitatorClient, MemoryTokenUses, TokenUses};
use paywire_core::flow::{
    ClientAction, ClientConfig, ClientEvent, McpAnswer, McpCall, McpClientAction, McpClientEvent,
    McpClientFlow, McpPaywall, McpPaywallAction, McpPaywallEvent, McpPaywallFlow, PaymentRecord,
};
use paywire_core::token::KeyRing;
use paywire_core::Policy;
use paywire_reqwest::{
    ApprovalRequest, Approver, MemoryTokens, MemoryUsage, Signer, TokenStore, UsageStore,
};
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ListToolsResult};
use rmcp::service::{Peer, RequestContext, RoleClient, RoleServer, ServiceError};
use rmcp::ErrorData as McpError;
use serde_json::{Map, Value};

/// An error a store or signer of your own reports.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random_hex<const N: usize>() -> Result<String, BoxError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// A value of one rmcp model type as another through its JSON (the flows speak MCP's JSON).
fn convert<T: serde::de::DeserializeOwned>(value: impl serde::Serialize) -> Result<T, String> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The server: sell a tool call.
// ---------------------------------------------------------------------------------------------

/// An MCP server's paywall over its tools.
#[derive(Clone)]
pub struct PaidTools {
    paywall: Arc<McpPaywall>,
    facilitator: FacilitatorClient,
    keys: Option<Arc<KeyRing>>,
    token_uses: Arc<dyn TokenUses>,
    clock: Clock,
}

impl PaidTools {
    /// Tools priced by `paywall`, paid through `facilitator`; token uses (and payment
    /// deliveries) counted in memory.
    pub fn new(paywall: McpPaywall, facilitator: FacilitatorClient) -> Self {
        PaidTools {
            paywall: Arc::new(paywall),
            facilitator,
            keys: None,
            token_uses: Arc::new(MemoryTokenUses::default()),
            clock: Arc::new(system_now),
        }
    }

    /// Verifies presented access tokens and signs those bundle tools sell.
    pub fn token_keys(mut self, keys: KeyRing) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }

    /// Where token uses and payment deliveries are counted (share one among instances).
    pub fn token_uses(mut self, store: impl TokenUses + 'static) -> Self {
        self.token_uses = Arc::new(store);
        self
    }

    /// The clock, in unix seconds (tests).
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// `tools` with each priced tool's 402 in its `_meta["paywire/payment-required"]`, so an
    /// agent can plan before it calls.
    pub fn list_tools(&self, tools: ListToolsResult) -> ListToolsResult {
        let now = (self.clock)();
        let Ok(mut value) = serde_json::to_value(&tools) else {
            return tools;
        };
        if let Some(Value::Array(list)) = value.get_mut("tools") {
            for tool in list {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
                if let Some(priced) = self.paywall.tool_meta(name, now) {
                    let meta = tool.as_object_mut().map(|t| {
                        t.entry("_meta")
                            .or_insert_with(|| Value::Object(Map::new()))
                    });
                    if let Some(Value::Object(meta)) = meta {
                        meta.extend(priced);
                    }
                }
            }
        }
        serde_json::from_value(value).unwrap_or(tools)
    }

    /// One `tools/call`: `run` runs the tool (your tool router) once the payment verified, or
    /// at once for a free tool or one a token opens. A tool that fails (`Err`, or a result
    /// with `isError`) is not charged; its answer stands.
    pub async fn call_tool<F, Fut>(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        run: F,
    ) -> Result<CallToolResponse, McpError>
    where
        F: FnOnce(CallToolRequestParams) -> Fut,
        Fut: Future<Output = Result<CallToolResponse, McpError>>,
    {
        let keys = self.keys.as_deref();
        let mut flow = McpPaywallFlow::default();
        let entropy =
            random_hex::<16>().map_err(|e| McpError::internal_error(e.to_string(), None))?;
        // rmcp hands the request's `_meta` to the handler in its context.
        let mut meta = match serde_json::to_value(&context.meta) {
            Ok(Value::Object(meta)) => meta,
            _ => Map::new(),
        };
        if let Ok(Value::Object(own)) = serde_json::to_value(&request.meta) {
            meta.extend(own);
        }
        let meta = Value::Object(meta);
        let event = McpPaywallEvent::Call {
            tool: request.name.to_string(),
            meta: Some(meta),
            now: (self.clock)(),
            entropy,
            price: None,
        };
        let mut action = self.paywall.feed(&mut flow, event, keys);
        let mut run = Some(run);
        let mut held: Option<CallToolResponse> = None;
        loop {
            action = match action {
                McpPaywallAction::Pass => {
                    let run = run
                        .take()
                        .ok_or_else(|| McpError::internal_error("the tool ran already", None))?;
                    return run(request).await;
                }
                McpPaywallAction::CountTokenUse { id, expires_at } => {
                    let before = self
                        .token_uses
                        .count_use(&id, expires_at)
                        .await
                        .map_err(|e| McpError::internal_error(format!("token uses: {e}"), None))?;
                    self.paywall
                        .feed(&mut flow, McpPaywallEvent::TokenUses { before }, keys)
                }
                McpPaywallAction::Respond { result } => {
                    let result: CallToolResult =
                        convert(result).map_err(|e| McpError::internal_error(e, None))?;
                    return Ok(CallToolResponse::Complete(result));
                }
                McpPaywallAction::Verify { body } => {
                    let event = self.facilitate(FacilitatorCall::Verify, &body).await;
                    self.paywall.feed(&mut flow, event, keys)
                }
                McpPaywallAction::Settle { body } => {
                    let event = self.facilitate(FacilitatorCall::Settle, &body).await;
                    self.paywall.feed(&mut flow, event, keys)
                }
                McpPaywallAction::RunTool => {
                    let run = run
                        .take()
                        .ok_or_else(|| McpError::internal_error("the tool ran already", None))?;
                    match run(request.clone()).await {
                        Ok(response) => {
                            let failed = match &response {
                                CallToolResponse::Complete(result) => result.is_error == Some(true),
                                // Not a result to charge for (a task, a request for input).
                                _ => true,
                            };
                            held = Some(response);
                            self.paywall.feed(
                                &mut flow,
                                McpPaywallEvent::ToolResult { is_error: failed },
                                keys,
                            )
                        }
                        Err(error) => {
                            // Not charged: nothing is settled, and the tool's error stands.
                            self.paywall.feed(
                                &mut flow,
                                McpPaywallEvent::ToolResult { is_error: true },
                                keys,
                            );
                            return Err(error);
                        }
                    }
                }
                McpPaywallAction::Deliver { meta } => {
                    let held =
                        held.ok_or_else(|| McpError::internal_error("nothing to deliver", None))?;
                    return Ok(with_meta(held, meta));
                }
            };
        }
    }
}

impl PaidTools {
    /// A facilitator call, answered as the flow's event.
    async fn facilitate(&self, call: FacilitatorCall, body: &Value) -> McpPaywallEvent {
        match self.facilitator.call(call, body).await {
            Ok((status, body)) => McpPaywallEvent::Facilitator { status, body },
            Err(message) => McpPaywallEvent::FacilitatorUnreachable { message },
        }
    }
}

/// A held result with `meta` added to its `_meta`.
fn with_meta(response: CallToolResponse, meta: Map<String, Value>) -> CallToolResponse {
    let CallToolResponse::Complete(result) = response else {
        return response;
    };
    if meta.is_empty() {
        return CallToolResponse::Complete(result);
    }
    let Ok(mut value) = serde_json::to_value(&result) else {
        return CallToolResponse::Complete(result);
    };
    if let Some(object) = value.as_object_mut() {
        let target = object
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(target) = target {
            target.extend(meta);
        }
    }
    CallToolResponse::Complete(serde_json::from_value(value).unwrap_or(result))
}

// ---------------------------------------------------------------------------------------------
// The client: buy a tool call.
// ---------------------------------------------------------------------------------------------

/// A tool call's result, and the payment made for it (`None` when nothing was paid).
#[derive(Debug, Clone)]
pub struct PaidCall {
    /// The tool's result.
    pub result: CallToolResult,
    /// The payment made, with its settlement.
    pub payment: Option<PaymentRecord>,
}

/// Why a paid call did not complete.
#[derive(Debug)]
pub enum PaidCallError {
    /// The flow refused to pay: a stable code (`policy_*`, `payment_rejected`, ...), what
    /// happened, and structured details (a policy's rejections, the server's 402).
    Refused {
        /// The stable code.
        code: String,
        /// What happened.
        message: String,
        /// Structured details.
        details: Option<Value>,
    },
    /// The MCP call itself failed (a JSON-RPC error, a closed transport, a timeout).
    Service(ServiceError),
    /// A store or the signer failed.
    Host(BoxError),
}

impl std::fmt::Display for PaidCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaidCallError::Refused { code, message, .. } => write!(f, "{code}: {message}"),
            PaidCallError::Service(error) => write!(f, "{error}"),
            PaidCallError::Host(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for PaidCallError {}

/// An agent that pays MCP tool calls within a spending policy.
pub struct PayingClient {
    config: ClientConfig,
    signer: Arc<dyn Signer>,
    usage: Arc<dyn UsageStore>,
    tokens: Arc<dyn TokenStore>,
    approver: Option<Arc<dyn Approver>>,
    clock: Clock,
    /// Payments of one client are decided one at a time, so two 402s cannot both pass a
    /// limit only one fits.
    deciding: tokio::sync::Mutex<()>,
}

impl PayingClient {
    /// Pays as `signer` within `policy` (required: there is no "spend anything" default);
    /// spending and tokens in memory; no approver, so a payment that needs approval is refused.
    pub fn new(signer: impl Signer + 'static, policy: Policy) -> Self {
        let signer: Arc<dyn Signer> = Arc::new(signer);
        PayingClient {
            config: ClientConfig {
                policy,
                payer: signer.payer(),
                assets: paywire_core::AssetRegistry::with_defaults(),
            },
            signer,
            usage: Arc::new(MemoryUsage::default()),
            tokens: Arc::new(MemoryTokens::default()),
            approver: None,
            clock: Arc::new(system_now),
            deciding: tokio::sync::Mutex::new(()),
        }
    }

    /// Asked about payments above the policy's approval threshold.
    pub fn approver(mut self, approver: impl Approver + 'static) -> Self {
        self.approver = Some(Arc::new(approver));
        self
    }

    /// Where spending is kept.
    pub fn usage_store(mut self, store: impl UsageStore + 'static) -> Self {
        self.usage = Arc::new(store);
        self
    }

    /// Where access tokens are kept.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.tokens = Arc::new(store);
        self
    }

    /// Calls a tool through `peer`, paying a 402 result within the policy: at most once per
    /// call, and never on its own after a 402 that reports a failed settlement.
    pub async fn call_tool(
        &self,
        peer: &Peer<RoleClient>,
        params: CallToolRequestParams,
    ) -> Result<PaidCall, PaidCallError> {
        let host = |e: BoxError| PaidCallError::Host(e);
        let mut flow = McpClientFlow::new(&self.config, &params.name)
            .map_err(|e| PaidCallError::Host(e.to_string().into()))?;
        let mut meta: Map<String, Value> = match serde_json::to_value(&params.meta) {
            Ok(Value::Object(meta)) => meta,
            _ => Map::new(),
        };
        let tokens = self.tokens.list().await.map_err(host)?;
        let mut action = flow.feed(McpClientEvent::Flow(ClientEvent::Start {
            tokens,
            now: (self.clock)(),
        }));
        let mut last: Option<CallToolResult> = None;
        let mut failure: Option<ServiceError> = None;
        let mut _deciding = None;
        loop {
            action = match action {
                McpClientAction::Call(McpCall::Call {
                    set_meta,
                    remove_meta,
                    forget_tokens,
                    ..
                }) => {
                    for token in &forget_tokens {
                        self.tokens.forget(token).await.map_err(host)?;
                    }
                    for key in &remove_meta {
                        meta.remove(key);
                    }
                    meta.extend(set_meta);
                    let mut outgoing = params.clone();
                    outgoing.meta = convert(Value::Object(meta.clone()))
                        .map_err(|e| PaidCallError::Host(e.into()))?;
                    match peer.call_tool(outgoing).await {
                        Ok(result) => {
                            let answer = McpAnswer::Result {
                                result: serde_json::to_value(&result).unwrap_or(Value::Null),
                            };
                            last = Some(result);
                            failure = None;
                            flow.feed(McpClientEvent::Answer(answer))
                        }
                        Err(ServiceError::McpError(error)) => {
                            let answer = McpAnswer::RpcError {
                                code: i64::from(error.code.0),
                                message: error.message.to_string(),
                                data: error.data.clone(),
                            };
                            failure = Some(ServiceError::McpError(error));
                            flow.feed(McpClientEvent::Answer(answer))
                        }
                        Err(error) => {
                            // No answer arrived: a paid call goes once more as the very
                            // same payment (settled at most once); anything else gives up.
                            failure = Some(error);
                            flow.feed(McpClientEvent::Flow(ClientEvent::ConnectionFailed))
                        }
                    }
                }
                McpClientAction::Flow(ClientAction::PaymentRequired { forget_tokens, .. }) => {
                    for token in &forget_tokens {
                        self.tokens.forget(token).await.map_err(host)?;
                    }
                    _deciding = Some(self.deciding.lock().await);
                    let usage = self.usage.load().await.map_err(host)?.unwrap_or_default();
                    flow.feed(McpClientEvent::Flow(ClientEvent::Pay {
                        usage,
                        now: (self.clock)(),
                        nonce: random_hex::<32>().map_err(host)?,
                        payment_id: random_hex::<16>().map_err(host)?,
                    }))
                }
                McpClientAction::Flow(ClientAction::AskApproval {
                    url,
                    amount,
                    requirements,
                    payment_required,
                }) => {
                    let request = ApprovalRequest {
                        url,
                        amount,
                        requirements: *requirements,
                        payment_required: *payment_required,
                    };
                    let approved = match &self.approver {
                        Some(approver) => approver.approve(&request).await,
                        None => false,
                    };
                    flow.feed(McpClientEvent::Flow(ClientEvent::Approval { approved }))
                }
                McpClientAction::Flow(ClientAction::Sign { request }) => {
                    let signature = self.signer.sign(&request).await.map_err(host)?;
                    flow.feed(McpClientEvent::Flow(ClientEvent::Signed { signature }))
                }
                McpClientAction::Flow(ClientAction::Deliver {
                    usage,
                    token,
                    payment,
                }) => {
                    if let Some(usage) = &usage {
                        self.usage.save(usage).await.map_err(host)?;
                    }
                    if let Some(token) = &token {
                        self.tokens.add(token).await.map_err(host)?;
                    }
                    if let Some(error) = failure {
                        return Err(PaidCallError::Service(error));
                    }
                    let result =
                        last.ok_or_else(|| PaidCallError::Host("no result to deliver".into()))?;
                    return Ok(PaidCall {
                        result,
                        payment: payment.map(|p| *p),
                    });
                }
                McpClientAction::Flow(ClientAction::Refuse {
                    code,
                    message,
                    details,
                }) => {
                    return Err(PaidCallError::Refused {
                        code,
                        message,
                        details,
                    })
                }
                McpClientAction::Flow(ClientAction::GiveUp) => {
                    return Err(match failure {
                        Some(error) => PaidCallError::Service(error),
                        None => PaidCallError::Host("the call failed before any answer".into()),
                    })
                }
                McpClientAction::Flow(ClientAction::Send { .. }) => {
                    return Err(PaidCallError::Host(
                        "an HTTP send does not fit a tool call".into(),
                    ))
                }
            };
        }
    }
}
