// What paying adds to a tool call: the same tool called unpaid (free) and paid (ledger scheme,
// a fresh payment per call: 402, sign, verify, run, settle), over Streamable HTTP on loopback,
// against a real paywire-server, with each npm engine. Sequential calls; p50 and p99.
//
//   PAYWIRE_SERVER_BIN=target/release/paywire-server node tests/mcp/bench.mjs [calls]
import { z } from "zod";
import { connect, serveMcp, startPaywireServer } from "./support.mjs";
import { engines } from "../../bindings-js/test/engines.mjs";

const CALLS = Number(process.argv[2] ?? 300);
const LEDGER_USD = { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 };

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(calls, call) {
  const times = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await call(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const server = await startPaywireServer();
try {
  for (const [engine, pw] of engines) {
    const payTo = pw.evmAddress(`0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`);
    const provider = await server.provider(payTo);
    const wall = pw.mcpPaywall({ search: "$0.001" }, { facilitatorUrl: server.url, accepts: [{ asset: LEDGER_USD, payTo: provider.walletId }] });
    const handler = async ({ q }) => ({ content: [{ type: "text", text: `results for ${q}` }] });
    const http = await serveMcp((mcp) => {
      mcp.registerTool("search", { inputSchema: { q: z.string() } }, wall.paid("search", handler));
      mcp.registerTool("free", { inputSchema: { q: z.string() } }, handler);
    });
    const agent = await server.agent("100.00");
    const client = await connect(http.url);
    const paying = pw.wrapMcpClient(client, {
      payer: { type: "ledger", walletId: agent.walletId, secret: agent.walletSecret },
      policy: { maxPerRequest: "0.01", dailyLimit: "100.00" },
    });
    // Warm both paths up (JIT, connections, the server's caches).
    for (let i = 0; i < 30; i++) {
      await client.callTool({ name: "free", arguments: { q: "warm" } });
      await paying.callTool({ name: "search", arguments: { q: "warm" } });
    }
    const unpaid = await timed(CALLS, (i) => client.callTool({ name: "free", arguments: { q: `q${i}` } }));
    const paid = await timed(CALLS, async (i) => {
      const result = await paying.callTool({ name: "search", arguments: { q: `q${i}` } });
      if (!result.payment?.settlement?.success) throw new Error(`not settled: ${JSON.stringify(result)}`);
    });
    const f = (ms) => `${ms.toFixed(2)} ms`;
    console.log(
      `${engine}: ${CALLS} calls each — unpaid p50 ${f(unpaid.p50)} p99 ${f(unpaid.p99)}; paid p50 ${f(paid.p50)} p99 ${f(paid.p99)}; ` +
        `added p50 ${f(paid.p50 - unpaid.p50)} p99 ${f(paid.p99 - unpaid.p99)}`,
    );
    await client.close();
    await http.close();
  }
} finally {
  await server.stop();
}
