// An MCP server with a paid tool, over Streamable HTTP: `search` costs $0.01 on the Paywire
// ledger, settled by paywire-server. Prints "mcp server listening on <url>" once it listens.
//
//   PAYWIRE_URL=http://127.0.0.1:8402 PAYWIRE_PAY_TO=wal_… [PAYWIRE_PAY_TO_EVM=0x…] node examples/mcp/server.mjs
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { mcpPaywall } from "@paywire/node";
import { z } from "zod";

const USDC_BASE_SEPOLIA = { network: "eip155:84532", address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", symbol: "USDC", decimals: 6, extra: { name: "USDC", version: "2" } };

const wall = mcpPaywall(
  { search: { price: "$0.01", description: "Search the archive" } },
  {
    facilitatorUrl: process.env.PAYWIRE_URL ?? "http://127.0.0.1:8402",
    accepts: [
      { asset: { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 }, payTo: process.env.PAYWIRE_PAY_TO },
      // USDC on Base Sepolia too, when an EVM address is given (paywire-server settles it on its
      // devnet, or on the chain it is configured with).
      ...(process.env.PAYWIRE_PAY_TO_EVM ? [{ asset: USDC_BASE_SEPOLIA, payTo: process.env.PAYWIRE_PAY_TO_EVM }] : []),
    ],
  },
);

function tools() {
  const server = new McpServer({ name: "archive", version: "1.0.0" });
  server.registerTool(
    "search",
    { description: "Search the archive ($0.01)", inputSchema: { q: z.string() }, _meta: wall.toolMeta("search") },
    wall.paid("search", async ({ q }) => ({ content: [{ type: "text", text: `3 documents match "${q}"` }] })),
  );
  return server;
}

const http = createServer(async (req, res) => {
  // Stateless: a server and a transport per request.
  const server = tools();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`mcp server listening on http://127.0.0.1:${http.address().port}/mcp`);
});
process.on("SIGTERM", () => http.close(() => process.exit(0)));
