//! Paid MCP tools in Rust: `paywire-rmcp`'s `PaidTools` inside an rmcp server, paid by its
//! `PayingClient` through an rmcp client (the two connected in process), with this server as
//! the facilitator over loopback HTTP, on its ledger network. Each on SQLite and PostgreSQL.

#[path = "../../server/tests/common/mod.rs"]
mod common;
#[path = "support/facilitator.rs"]
mod facilitator;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Backend;
use facilitator::Facilitator;
use paywire_axum::FacilitatorClient;
use paywire_core::flow::McpPaywall;
use paywire_core::Policy;
use paywire_reqwest::LedgerSigner;
use paywire_rmcp::{PaidCallError, PaidTools, PayingClient};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, InitializeResult,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::{json, Value};

on_both_databases!(
    a_paid_tool_call_settles_once_and_the_price_is_listed,
    a_tool_that_fails_is_not_charged,
    the_policy_refuses_before_anything_is_paid,
    an_unpaid_call_answers_a_402_result,
);

/// An MCP server selling `search` ($0.01) and `flaky` ($0.01, fails after payment).
struct Shop {
    paid: PaidTools,
    runs: Arc<AtomicUsize>,
}

impl ServerHandler for Shop {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        let schema = Arc::new(schema);
        let tools = vec![
            Tool::new("search", "Search ($0.01)", Arc::clone(&schema)),
            Tool::new("flaky", "Fails after payment", schema),
        ];
        Ok(self.paid.list_tools(ListToolsResult::with_all_items(tools)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let runs = Arc::clone(&self.runs);
        self.paid
            .call_tool(request, &context, |request| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let result = match request.name.as_ref() {
                    "search" => CallToolResult::success(vec![ContentBlock::text("3 documents")]),
                    _ => CallToolResult::error(vec![ContentBlock::text("the upstream is down")]),
                };
                Ok(CallToolResponse::Complete(result))
            })
            .await
    }
}

/// A shop connected in process to an rmcp client; the client's peer.
async fn connect(
    f: &Facilitator,
) -> (
    rmcp::service::RunningService<rmcp::RoleClient, ()>,
    String,
    Arc<AtomicUsize>,
) {
    let provider = f.app.provider(None).await;
    let paywall = McpPaywall::from_json(json!({
        "tools": {"search": "$0.01", "flaky": "$0.01"},
        "accepts": [{"asset": {"network": "paywire:test", "address": "USD", "symbol": "USD", "decimals": 6},
                     "payTo": provider.wallet}],
    }))
    .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let shop = Shop {
        paid: PaidTools::new(paywall, FacilitatorClient::new(&f.url).unwrap()),
        runs: Arc::clone(&runs),
    };
    let (client_io, server_io) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Ok(server) = shop.serve(server_io).await {
            let _ = server.waiting().await;
        }
    });
    let client = ().serve(client_io).await.unwrap();
    (client, provider.wallet, runs)
}

fn call(name: &str) -> CallToolRequestParams {
    serde_json::from_value(json!({"name": name, "arguments": {"q": "x402"}})).unwrap()
}

async fn paying(f: &Facilitator, policy: Value) -> (PayingClient, String) {
    let agent = f.app.agent(json!({}), "1.00").await;
    let signer = LedgerSigner::from_hex(&agent.wallet, agent.secret.as_deref().unwrap()).unwrap();
    let policy: Policy = serde_json::from_value(policy).unwrap();
    (PayingClient::new(signer, policy), agent.wallet)
}

async fn a_paid_tool_call_settles_once_and_the_price_is_listed(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let (client, provider, runs) = connect(&f).await;
    let (agent, wallet) = paying(&f, json!({"maxPerRequest": "0.10", "dailyLimit": "1.00"})).await;
    let paid = agent
        .call_tool(client.peer(), call("search"))
        .await
        .unwrap();
    let result = serde_json::to_value(&paid.result).unwrap();
    assert_eq!(result["content"][0]["text"], "3 documents");
    let payment = paid.payment.expect("a payment");
    assert_eq!(payment.amount.to_string(), "0.01");
    let settlement = payment.settlement.expect("the settlement");
    assert!(settlement.success);
    assert_eq!(
        result["_meta"]["x402/payment-response"]["transaction"],
        settlement.transaction
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(f.app.balance(&wallet, "USD").await, 1_000_000 - 10_000);
    // The provider's share, net of the test server's platform fee (250 bps).
    assert_eq!(f.app.balance(&provider, "USD").await, 10_000 - 250);
    let tools = serde_json::to_value(client.peer().list_tools(None).await.unwrap()).unwrap();
    assert_eq!(
        tools["tools"][0]["_meta"]["paywire/payment-required"]["accepts"][0]["amount"],
        "10000"
    );
    client.cancel().await.unwrap();
    f.finish().await;
}

async fn a_tool_that_fails_is_not_charged(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let (client, provider, runs) = connect(&f).await;
    let (agent, wallet) = paying(&f, json!({"maxPerRequest": "0.10", "dailyLimit": "1.00"})).await;
    let paid = agent.call_tool(client.peer(), call("flaky")).await.unwrap();
    assert_eq!(paid.result.is_error, Some(true));
    assert!(paid
        .payment
        .expect("a payment was made")
        .settlement
        .is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(f.app.balance(&wallet, "USD").await, 1_000_000);
    assert_eq!(f.app.balance(&provider, "USD").await, 0);
    client.cancel().await.unwrap();
    f.finish().await;
}

async fn the_policy_refuses_before_anything_is_paid(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let (client, _, runs) = connect(&f).await;
    let (agent, wallet) = paying(&f, json!({"maxPerRequest": "0.001"})).await;
    match agent.call_tool(client.peer(), call("search")).await {
        Err(PaidCallError::Refused { code, .. }) => {
            assert_eq!(code, "policy_max_per_request_exceeded")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(f.app.balance(&wallet, "USD").await, 1_000_000);
    client.cancel().await.unwrap();
    f.finish().await;
}

async fn an_unpaid_call_answers_a_402_result(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let (client, _, runs) = connect(&f).await;
    let result = client.peer().call_tool(call("search")).await.unwrap();
    let result = serde_json::to_value(&result).unwrap();
    assert_eq!(result["isError"], true);
    assert_eq!(result["structuredContent"]["x402Version"], 2);
    assert_eq!(
        result["structuredContent"]["resource"]["url"],
        "mcp://tool/search"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    client.cancel().await.unwrap();
    f.finish().await;
}
