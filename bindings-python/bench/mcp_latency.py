"""What paying adds to a tool call in Python: the same tool called unpaid (free) and paid (ledger
scheme, a fresh payment per call: 402, sign, verify, run, settle) through `paywire.mcp`, over
Streamable HTTP on loopback (uvicorn), against a real paywire-server. Sequential calls; p50, p99.

    PAYWIRE_SERVER_BIN=target/release/paywire-server python bindings-python/bench/mcp_latency.py [calls]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mcp import Client  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

import paywire as pw  # noqa: E402
from paywire.mcp import PaidTools, PayingMcpClient  # noqa: E402

from conftest import LEDGER_USD, Facilitator, Served  # noqa: E402


def percentiles(times: List[float]) -> Dict[str, float]:
    times = sorted(times)
    return {"p50": times[len(times) // 2], "p99": times[min(len(times) - 1, int(0.99 * len(times)))]}


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    facilitator = Facilitator()
    try:
        pay_to = pw.evm_address("0x" + os.urandom(32).hex())
        wallet = facilitator.provider(pay_to)["walletId"]
        paid = PaidTools({"search": "$0.001"}, facilitator_url=facilitator.url, accepts=[{"asset": LEDGER_USD, "payTo": wallet}])
        server = MCPServer("bench")

        @server.tool()
        @paid.tool("search")
        async def search(q: str) -> str:
            return f"results for {q}"

        @server.tool()
        async def free(q: str) -> str:
            return f"results for {q}"

        served = Served(server.streamable_http_app(stateless_http=True, json_response=True), lifespan="on")
        agent = facilitator.agent("100.00")
        signer = pw.LedgerSigner(agent["walletId"], agent["walletSecret"])

        async def run() -> Dict[str, Dict[str, float]]:
            async with Client(served.url + "/mcp") as client:
                paying = PayingMcpClient(client, policy={"maxPerRequest": "0.01", "dailyLimit": "100.00"}, signer=signer)
                for _ in range(30):
                    await client.call_tool("free", {"q": "warm"})
                    await paying.call_tool("search", {"q": "warm"})
                unpaid: List[float] = []
                for i in range(calls):
                    start = time.perf_counter()
                    await client.call_tool("free", {"q": f"q{i}"})
                    unpaid.append((time.perf_counter() - start) * 1000)
                paid_times: List[float] = []
                for i in range(calls):
                    start = time.perf_counter()
                    call: Any = await paying.call_tool("search", {"q": f"q{i}"})
                    paid_times.append((time.perf_counter() - start) * 1000)
                    settlement = (call.payment or {}).get("settlement")
                    assert settlement and settlement["success"], (i, call.result)
                return {"unpaid": percentiles(unpaid), "paid": percentiles(paid_times)}

        result = asyncio.run(run())
        served.close()
        u, p = result["unpaid"], result["paid"]
        print(f"python: {calls} calls each — unpaid p50 {u['p50']:.2f} ms p99 {u['p99']:.2f} ms; paid p50 {p['p50']:.2f} ms "
              f"p99 {p['p99']:.2f} ms; added p50 {p['p50'] - u['p50']:.2f} ms p99 {p['p99'] - u['p99']:.2f} ms")
    finally:
        facilitator.stop()


if __name__ == "__main__":
    main()
