// Test support for paid MCP tools: an MCP server (the official SDK's McpServer) served over
// Streamable HTTP on loopback, and an official SDK Client connected to it.
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export { startPaywireServer } from "../../bindings-js/test/support.mjs";

/**
 * Serves the tools `register(server)` adds over Streamable HTTP (stateless: a server per
 * request, as a horizontally scaled deployment runs it). Resolves `{ url, close }`.
 */
export async function serveMcp(register) {
  const http = createServer(async (req, res) => {
    const server = new McpServer({ name: "paid-tools", version: "1.0.0" });
    register(server);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      transport.close();
      server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address();
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise((resolve) => {
        http.close(resolve);
        http.closeAllConnections();
      }),
  };
}

/** An official MCP client connected to `url`. */
export async function connect(url) {
  const client = new Client({ name: "agent", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}
