//! The demo's paid MCP tool call: an rmcp server whose `archive_search` tool costs $0.01
//! (`paywire-rmcp`'s `PaidTools`, the settlement server as facilitator), connected in process
//! to an rmcp client through which the agent pays (`PayingClient`, its ledger wallet, its
//! policy).

use paywire_axum::FacilitatorClient;
use paywire_core::flow::McpPaywall;
use paywire_core::Policy;
use paywire_reqwest::LedgerSigner;
use paywire_rmcp::{PaidCall, PaidTools, PayingClient};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, InitializeResult,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::json;

/// The tool the demo's MCP server sells.
pub const TOOL: &str = "archive_search";

struct Archive {
    paid: PaidTools,
}

impl ServerHandler for Archive {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let schema = serde_json::Map::from_iter([("type".to_string(), json!("object"))]);
        let tool = Tool::new(TOOL, "Search the weather archive ($0.01)", schema);
        Ok(self
            .paid
            .list_tools(ListToolsResult::with_all_items(vec![tool])))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.paid
            .call_tool(request, &context, |_| async {
                let text = "the wettest Paris June on record: 1992";
                Ok(CallToolResponse::Complete(CallToolResult::success(vec![
                    ContentBlock::text(text),
                ])))
            })
            .await
    }
}

/// Serves the archive tool (paid to `provider_wallet` on `network`, settled at
/// `facilitator_url`) and has the agent call it once: the result and its payment.
pub async fn pay_one_tool_call(
    facilitator_url: &str,
    network: &str,
    provider_wallet: &str,
    signer: LedgerSigner,
    policy: Policy,
) -> Result<PaidCall, String> {
    let paywall = McpPaywall::from_json(json!({
        "tools": {TOOL: {"price": "$0.01", "description": "Search the weather archive"}},
        "accepts": [{"asset": {"network": network, "address": "USD", "symbol": "USD", "decimals": 6},
                     "payTo": provider_wallet}],
    }))
    .map_err(|e| e.to_string())?;
    let facilitator = FacilitatorClient::new(facilitator_url).map_err(|e| e.to_string())?;
    let archive = Archive {
        paid: PaidTools::new(paywall, facilitator),
    };
    let (client_io, server_io) = tokio::io::duplex(256 * 1024);
    let serving = tokio::spawn(async move {
        if let Ok(server) = archive.serve(server_io).await {
            let _ = server.waiting().await;
        }
    });
    let client = ().serve(client_io).await.map_err(|e| e.to_string())?;
    let request: CallToolRequestParams =
        serde_json::from_value(json!({"name": TOOL, "arguments": {}}))
            .map_err(|e| e.to_string())?;
    let paid = PayingClient::new(signer, policy)
        .call_tool(client.peer(), request)
        .await
        .map_err(|e| e.to_string());
    let _ = client.cancel().await;
    serving.abort();
    paid
}
