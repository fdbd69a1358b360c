// The edge-workers entry: no Node APIs, no fetch of its own bytes; its `.wasm` arrives as an
// imported WebAssembly.Module, as Workers provide it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);

/** Every module the entry loads, following relative imports. */
function moduleGraph(entry) {
  const seen = new Map();
  const visit = (url) => {
    if (seen.has(url.href)) return;
    const source = readFileSync(url, "utf8");
    seen.set(url.href, source);
    for (const [, spec] of source.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']/g)) {
      if (spec.startsWith(".") && spec.endsWith(".js")) visit(new URL(spec, url));
    }
  };
  visit(new URL(entry, root));
  return seen;
}

test("the workers and web entries import no Node built-ins", () => {
  for (const entry of ["dist/workers.js", "dist/web.js"]) {
    const graph = moduleGraph(entry);
    assert.ok(graph.size >= 5, `${entry}: followed only ${graph.size} modules`);
    for (const [url, source] of graph) {
      assert.doesNotMatch(source, /from\s*["']node:|require\(/, `${url} uses Node APIs`);
    }
  }
  const workers = readFileSync(new URL("dist/workers.js", root), "utf8");
  assert.match(workers, /import \w+ from "\.\.\/pkg\/paywire_wasm_bg\.wasm"/);
  assert.match(workers, /initSync\(\{ module: \w+ \}\)/);
});

test("the workers entry runs with its .wasm imported as a module", () => {
  const script = `
    const pw = await import(${JSON.stringify(fileURLToPath(new URL("dist/workers.js", root)))});
    const ring = new pw.KeyRing("edge", new Uint8Array(32).fill(9));
    const token = ring.issue({ id: "t", iss: "edge", sub: "agent", scope: { resource: "https://w.example/v1/", methods: [] }, iat: 1, exp: 100, maxUses: null });
    const verified = ring.verify(token, "GET", "https://w.example/v1/x", 50, 0);
    const handler = pw.paywall([{ method: "GET", path: "/v1/*", price: { flat: "5000" } }], {
      facilitatorUrl: "http://127.0.0.1:9", accepts: [{ asset: { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 }, payTo: "wal_x" }],
      tokenKeys: ring, now: () => 50,
    })(() => new Response("content"));
    const unpaid = await handler(new Request("https://w.example/v1/x"), {}, {});
    const withToken = await handler(new Request("https://w.example/v1/x", { headers: { "PAYWIRE-ACCESS-TOKEN": token } }), {}, {});
    console.log(JSON.stringify({ sub: verified.claims.sub, unpaid: unpaid.status, required: !!unpaid.headers.get("PAYMENT-REQUIRED"), withToken: withToken.status, body: await withToken.text() }));
  `;
  const output = execFileSync(process.execPath, ["--import", fileURLToPath(new URL("fixtures/workerd-wasm-loader.mjs", import.meta.url)), "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.deepEqual(JSON.parse(output), { sub: "agent", unpaid: 402, required: true, withToken: 200, body: "content" });
});
