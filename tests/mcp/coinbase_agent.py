"""Coinbase's Python x402 MCP client (x402[mcp] 2.25) paying one tool call on an EVM network,
for scripts/mcp-e2e.sh: prints "settled as <transaction>" when it paid.

    MCP_URL=http://127.0.0.1:…/mcp EVM_KEY=0x… python tests/mcp/coinbase_agent.py

x402 2.25's MCP client calls `call_tool({"name", "arguments", "_meta"})` and reads results by
their wire names; `WireClient` bridges MCP SDK 2.x's Client to that, and does nothing else.
"""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace
from typing import Any, Dict

from eth_account import Account
from mcp import Client
from x402 import x402Client
from x402.mcp import x402MCPClient
from x402.mechanisms.evm import EthAccountSigner
from x402.mechanisms.evm.exact.register import register_exact_evm_client


class WireClient:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def call_tool(self, params: Dict[str, Any], **_: Any) -> Any:
        result = await self.client.call_tool(params["name"], params.get("arguments") or {}, meta=params.get("_meta"))
        wire = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        return SimpleNamespace(content=wire.get("content", []), isError=wire.get("isError", False),
                               structuredContent=wire.get("structuredContent"), _meta=wire.get("_meta", {}))


async def main() -> None:
    payments = x402Client()
    register_exact_evm_client(payments, EthAccountSigner(Account.from_key(os.environ["EVM_KEY"])))
    async with Client(os.environ["MCP_URL"]) as client:
        coinbase = x402MCPClient(WireClient(client), payments, auto_payment=True, on_payment_requested=lambda _: True)
        result = await coinbase.call_tool("search", {"q": "x402"})
    print(result.content[0]["text"])
    if result.payment_made and result.payment_response is not None and result.payment_response.success:
        print(f"settled as {result.payment_response.transaction}")


if __name__ == "__main__":
    asyncio.run(main())
