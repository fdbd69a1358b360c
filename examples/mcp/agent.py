"""An agent that pays an MCP tool inside a spending policy, with its Paywire ledger wallet.

    MCP_URL=http://127.0.0.1:…/mcp PAYWIRE_WALLET_ID=wal_… PAYWIRE_WALLET_SECRET=… python examples/mcp/agent.py
"""

from __future__ import annotations

import asyncio
import os

from mcp import Client

import paywire
from paywire.mcp import PayingMcpClient


async def main() -> None:
    async with Client(os.environ["MCP_URL"]) as client:
        for tool in (await client.list_tools()).tools:
            required = (tool.meta or {}).get("paywire/payment-required")
            print(f"tool {tool.name} " + (f"costs {required['accepts'][0]['amount']} atomic units" if required else "is free"))
        paying = PayingMcpClient(
            client,
            policy={"maxPerRequest": "0.05", "dailyLimit": "1.00"},
            signer=paywire.LedgerSigner(os.environ["PAYWIRE_WALLET_ID"], os.environ["PAYWIRE_WALLET_SECRET"]),
        )
        call = await paying.call_tool("search", {"q": "x402"})
        print(call.result.content[0].text)  # type: ignore[union-attr]
        payment, settlement = call.payment, call.payment and call.payment.get("settlement")
        assert payment is not None and settlement is not None, "a paid call settles"
        print(f"paid {payment['amount']} USD, settled as {settlement['transaction']}")


if __name__ == "__main__":
    asyncio.run(main())
