// An agent that pays an MCP tool inside a spending policy, with its Paywire ledger wallet.
//
//   MCP_URL=http://127.0.0.1:…/mcp PAYWIRE_WALLET_ID=wal_… PAYWIRE_WALLET_SECRET=… node examples/mcp/agent.mjs
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { wrapMcpClient } from "@paywire/node";

const client = new Client({ name: "research-agent", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(process.env.MCP_URL)));
const { tools } = await client.listTools();
for (const tool of tools) {
  const price = tool._meta?.["paywire/payment-required"]?.accepts?.[0]?.amount;
  console.log(`tool ${tool.name}${price ? ` costs ${price} atomic units` : " is free"}`);
}
const paying = wrapMcpClient(client, {
  payer: { type: "ledger", walletId: process.env.PAYWIRE_WALLET_ID, secret: process.env.PAYWIRE_WALLET_SECRET },
  policy: { maxPerRequest: "0.05", dailyLimit: "1.00" },
});
const result = await paying.callTool({ name: "search", arguments: { q: "x402" } });
console.log(result.content[0].text);
console.log(`paid ${result.payment.amount} USD, settled as ${result.payment.settlement.transaction}`);
await client.close();
