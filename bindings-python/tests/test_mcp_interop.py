"""Paid MCP tools with Coinbase's official Python SDK (`x402[mcp]` 2.25), both ways, over
Streamable HTTP with a real paywire-server as the facilitator (devnet EVM, eip155:84532):

- Coinbase's `x402MCPClient` pays a tool behind `paywire.mcp.PaidTools`;
- Paywire's `PayingMcpClient` pays a tool behind Coinbase's `create_payment_wrapper`.

x402 2.25's MCP code speaks to an MCP client through `call_tool({"name", "arguments",
"_meta"})` and reads results by their wire names (`isError`, `structuredContent`, `_meta`,
content items as dicts); MCP SDK 2.x's `Client.call_tool(name, arguments, meta=)` answers
pydantic models. `WireClient` below is that bridge and nothing more: it passes the call through
and hands back the result's JSON. Likewise `wire_result` turns the MCPToolResult Coinbase's
server wrapper returns into the SDK's `CallToolResult`.
"""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace
from typing import Any, Dict

from eth_account import Account
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult

import paywire as pw
from paywire.mcp import PaidTools, PayingMcpClient

from conftest import EVM_BALANCE_KEY, Facilitator

USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
USDC = {"network": "eip155:84532", "address": USDC_BASE_SEPOLIA, "symbol": "USDC", "decimals": 6, "extra": {"name": "USDC", "version": "2"}}


class WireClient:
    """An MCP SDK 2.x client as x402 2.25's MCP client calls one."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call_tool(self, params: Dict[str, Any], **_: Any) -> Any:
        result = await self.client.call_tool(params["name"], params.get("arguments") or {}, meta=params.get("_meta"))
        wire = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        return SimpleNamespace(
            content=wire.get("content", []),
            isError=wire.get("isError", False),
            structuredContent=wire.get("structuredContent"),
            _meta=wire.get("_meta", {}),
        )


def wire_result(result: Any) -> CallToolResult:
    """Coinbase's MCPToolResult as the SDK's CallToolResult."""
    return CallToolResult.model_validate({
        "content": result.content,
        "isError": result.is_error,
        **({"structuredContent": result.structured_content} if result.structured_content is not None else {}),
        **({"_meta": result.meta} if result.meta else {}),
    })


def test_coinbase_mcp_client_pays_a_paywire_tool(facilitator: Facilitator, serve: Any) -> None:
    from x402 import x402Client
    from x402.mcp import x402MCPClient
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact.register import register_exact_evm_client

    pay_to = pw.evm_address("0x" + os.urandom(32).hex())
    facilitator.provider(pay_to)
    paid = PaidTools({"search": "$0.01"}, facilitator_url=facilitator.url, accepts=[{"asset": USDC, "payTo": pay_to}])
    server = MCPServer("paywire-shop")
    runs = []

    @server.tool()
    @paid.tool("search")
    async def search(q: str) -> str:
        runs.append(q)
        return f"results for {q}"

    url = serve(server.streamable_http_app(stateless_http=True, json_response=True), lifespan="on").url + "/mcp"
    account = Account.from_key("0x" + os.urandom(32).hex())
    funded = facilitator.fund_evm(account.address, "1.00")

    async def call() -> Any:
        payments = x402Client()
        register_exact_evm_client(payments, EthAccountSigner(account))
        async with Client(url) as client:
            coinbase = x402MCPClient(WireClient(client), payments, auto_payment=True, on_payment_requested=lambda _: True)
            return await coinbase.call_tool("search", {"q": "interop"})

    result = asyncio.run(call())
    assert result.payment_made
    assert not result.is_error, result
    assert result.content[0]["text"] == "results for interop"
    assert result.payment_response.success and result.payment_response.payer == account.address
    assert runs == ["interop"]
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 10_000


def test_paywire_mcp_client_pays_a_coinbase_tool(facilitator: Facilitator, serve: Any) -> None:
    from x402.http import FacilitatorConfig, HTTPFacilitatorClient
    from x402.mcp import PaymentWrapperConfig
    # The transport-agnostic wrapper: x402.mcp's default one is for FastMCP, which MCP SDK 2.x
    # renamed (MCPServer).
    from x402.mcp.server_async import create_payment_wrapper
    from x402.mcp.types import MCPToolResult
    from x402.mechanisms.evm.exact import ExactEvmServerScheme
    from x402.schemas import ResourceConfig
    from x402.server import x402ResourceServer

    pay_to = pw.evm_address("0x" + os.urandom(32).hex())
    facilitator.provider(pay_to)
    resource_server = x402ResourceServer(HTTPFacilitatorClient(FacilitatorConfig(url=facilitator.url)))
    resource_server.register("eip155:84532", ExactEvmServerScheme())
    resource_server.initialize()
    accepts = resource_server.build_payment_requirements(ResourceConfig(scheme="exact", network="eip155:84532", pay_to=pay_to, price="$0.01"))
    wrap = create_payment_wrapper(resource_server, PaymentWrapperConfig(accepts=accepts))
    runs = []

    async def handler(args: Dict[str, Any], extra: Dict[str, Any]) -> MCPToolResult:
        runs.append(args["q"])
        return MCPToolResult(content=[{"type": "text", "text": f"results for {args['q']}"}], is_error=False)

    paid_handler = wrap(handler)
    server = MCPServer("coinbase-shop")

    @server.tool()
    async def search(q: str, ctx: Context) -> CallToolResult:
        meta = dict(ctx.request_context.meta or {})
        return wire_result(await paid_handler({"q": q}, {"_meta": meta, "toolName": "search"}))

    url = serve(server.streamable_http_app(stateless_http=True, json_response=True), lifespan="on").url + "/mcp"
    key = "0x" + os.urandom(32).hex()
    funded = facilitator.fund_evm(pw.evm_address(key), "1.00")

    async def call() -> Any:
        async with Client(url) as client:
            paying = PayingMcpClient(client, policy={"maxPerRequest": "0.10", "dailyLimit": "1.00"}, signer=pw.EvmKeySigner(key))
            return await paying.call_tool("search", {"q": "interop"})

    paid_call = asyncio.run(call())
    assert not paid_call.result.is_error, paid_call.result
    assert paid_call.result.content[0].text == "results for interop"
    assert paid_call.payment["settlement"]["success"] is True
    assert runs == ["interop"]
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 10_000
