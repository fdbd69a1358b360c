// Test support: a real paywire-server on loopback, and a Worker-style handler served over real
// HTTP (node:http), so that wrapFetch and paywall talk HTTP end to end.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const serverBinary =
  process.env.PAYWIRE_SERVER_BIN ?? fileURLToPath(new URL("../../target/debug/paywire-server", import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts paywire-server on a fresh SQLite file; resolves once /healthz answers. */
export async function startPaywireServer() {
  const dir = mkdtempSync(join(tmpdir(), "paywire-wasm-test-"));
  const port = await freePort();
  const adminKey = `ak_${randomBytes(12).toString("hex")}`;
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    serverBinary,
    ["--database-url", `sqlite://${dir}/paywire.db`, "--listen", `127.0.0.1:${port}`, "--admin-key", adminKey],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // Poll readiness (bounded), failing at once if the process died.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`paywire-server exited: ${stderr}`);
    try {
      const health = await fetch(`${url}/healthz`);
      if (health.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`paywire-server did not become ready: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async function api(method, path, body, key = adminKey) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  return {
    url,
    api,
    /** A provider with an EVM payout address. */
    provider: (evmAddress) => api("POST", "/v1/providers", { name: "Weather Co", evmAddress }),
    /** An agent whose ledger wallet holds `funds` dollars. */
    async agent(funds, policy) {
      const agent = await api("POST", "/v1/agents", { name: "Research agent", ...(policy ? { policy } : {}) });
      if (funds) await api("POST", `/v1/wallets/${agent.walletId}/fund`, { amount: funds });
      return agent;
    },
    /** The atomic balance of a wallet in one asset key ("USD" for the ledger). */
    async balance(walletId, asset = "USD") {
      const wallet = await api("GET", `/v1/wallets/${walletId}`);
      const entry = wallet.balances.find((b) => b.asset === asset);
      return entry ? entry.atomic : "0";
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Serves a Worker-style `fetch(request, env, ctx)` handler over HTTP on loopback. */
export async function serveHandler(handler, { env = {}, ctx = {} } = {}) {
  const server = createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers.set(name, value);
      }
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      });
      const response = await handler(request, env, ctx);
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error?.stack ?? error));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections(); // keep-alive sockets would hold the test process open
      }),
  };
}
