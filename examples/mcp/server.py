"""An MCP server with a paid tool, over Streamable HTTP: `search` costs $0.01 on the Paywire
ledger, settled by paywire-server. Prints "mcp server listening on <url>" once it listens.

    PAYWIRE_URL=http://127.0.0.1:8402 PAYWIRE_PAY_TO=wal_… [PAYWIRE_PAY_TO_EVM=0x…] python examples/mcp/server.py
"""

from __future__ import annotations

import os
import socket
from typing import Any, Dict, List

import uvicorn
from mcp.server.mcpserver import MCPServer

from paywire.mcp import PaidTools

LEDGER_USD = {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}
USDC_BASE_SEPOLIA = {"network": "eip155:84532", "address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "symbol": "USDC",
                     "decimals": 6, "extra": {"name": "USDC", "version": "2"}}

accepts: List[Dict[str, Any]] = [{"asset": LEDGER_USD, "payTo": os.environ["PAYWIRE_PAY_TO"]}]
if os.environ.get("PAYWIRE_PAY_TO_EVM"):
    # USDC on Base Sepolia too (paywire-server settles it on its devnet, or on its chain).
    accepts.append({"asset": USDC_BASE_SEPOLIA, "payTo": os.environ["PAYWIRE_PAY_TO_EVM"]})
paid = PaidTools(
    {"search": {"price": "$0.01", "description": "Search the archive"}},
    facilitator_url=os.environ.get("PAYWIRE_URL", "http://127.0.0.1:8402"),
    accepts=accepts,  # type: ignore[arg-type]
)
server = MCPServer("archive")


@server.tool(description="Search the archive ($0.01)", meta=paid.meta("search"))
@paid.tool("search")
async def search(q: str) -> str:
    return f'3 documents match "{q}"'


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", int(os.environ.get("PORT", "0"))))
        port = probe.getsockname()[1]
    config = uvicorn.Config(server.streamable_http_app(stateless_http=True, json_response=True), host="127.0.0.1", port=port, log_level="warning")
    print(f"mcp server listening on http://127.0.0.1:{port}/mcp", flush=True)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
