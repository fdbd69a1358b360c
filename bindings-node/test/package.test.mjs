// The package as users get it, laid out as napi-rs publishes: `npm pack` of @paywire/node and
// of its platform package @paywire/node-linux-x64-gnu, installed into scratch projects that
// `require` it (CommonJS) and `import` it (ESM), pay a Paywire-protected route with it, and
// type-check against its declarations with TypeScript in both module systems.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as pw from "../dist/index.mjs";
import { serveHandler, startPaywireServer } from "../../bindings-js/test/support.mjs";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const platformDir = join(packageDir, "npm", "linux-x64-gnu");
const tsc = join(packageDir, "node_modules", ".bin", "tsc");
const scratch = mkdtempSync(join(tmpdir(), "paywire-node-scratch-"));
const cleanups = [() => rmSync(scratch, { recursive: true, force: true })];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const npm = (args, cwd) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const pack = (dir) => JSON.parse(npm(["pack", "--json", "--pack-destination", scratch], dir))[0];

async function run(cwd, file, env) {
  const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd, env: { ...process.env, ...env } });
  return JSON.parse(stdout);
}

test("both tarballs install into CommonJS and ESM projects that pay with the package by name", async () => {
  const main = pack(packageDir);
  const files = main.files.map((f) => f.path);
  for (const needed of ["dist/index.js", "dist/index.mjs", "dist/index.d.ts", "dist/express.js", "dist/hono.mjs", "dist/host/fetch.js", "native/index.js", "native/index.d.ts", "package.json"]) {
    assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
  }
  assert.ok(!files.some((f) => f.endsWith(".node")), "the addon ships in the platform package, not the main one");
  assert.ok(!files.some((f) => /^(ts|src|test|node_modules)\//.test(f)), "the tarball ships only the package");
  const platform = pack(platformDir);
  assert.deepEqual(platform.files.map((f) => f.path).sort(), ["package.json", "paywire.linux-x64-gnu.node"]);

  const server = await startPaywireServer();
  cleanups.push(() => server.stop());
  const provider = await server.provider(pw.evmAddress(`0x${"22".repeat(32)}`));
  const shop = await serveHandler(
    pw.paywall([{ method: "GET", path: "/v1/report", price: { flat: "25000" } }], {
      facilitatorUrl: server.url,
      accepts: [{ asset: { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 }, payTo: provider.walletId }],
    })(async () => Response.json({ report: "ready" })),
  );
  cleanups.push(() => shop.close());

  const agentCode = (load) => `${load}
(async () => {
  const pay = wrapFetch(fetch, {
    payer: { type: "ledger", walletId: process.env.WALLET, secret: process.env.SECRET },
    policy: { maxPerRequest: "0.05", dailyLimit: "1.00" },
  });
  const response = await pay(process.env.URL);
  console.log(JSON.stringify({ status: response.status, body: await response.json(), paid: paymentOf(response).amount }));
})();
`;
  for (const [kind, file, load] of [
    ["commonjs", "agent.js", `const { wrapFetch, paymentOf } = require("@paywire/node");`],
    ["module", "agent.mjs", `import { wrapFetch, paymentOf } from "@paywire/node";`],
  ]) {
    const project = join(scratch, kind);
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: `scratch-${kind}`, private: true, type: kind }));
    npm(["install", join(scratch, platform.filename), join(scratch, main.filename)], project);
    writeFileSync(join(project, file), agentCode(load));
    const agent = await server.agent("1.00");
    const paid = await run(project, file, { WALLET: agent.walletId, SECRET: agent.walletSecret, URL: `${shop.url}/v1/report` });
    assert.deepEqual(paid, { status: 200, body: { report: "ready" }, paid: "0.025" }, kind);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 25_000), kind);

    // The subpath entries load in this module system too.
    const subpaths = kind === "commonjs"
      ? `console.log(JSON.stringify([typeof require("@paywire/node/express").paymentMiddleware, typeof require("@paywire/node/hono").paymentMiddleware]))`
      : `const e = await import("@paywire/node/express"); const h = await import("@paywire/node/hono"); console.log(JSON.stringify([typeof e.paymentMiddleware, typeof h.paymentMiddleware]))`;
    writeFileSync(join(project, kind === "commonjs" ? "subpaths.js" : "subpaths.mjs"), subpaths);
    assert.deepEqual(await run(project, kind === "commonjs" ? "subpaths.js" : "subpaths.mjs", {}), ["function", "function"], kind);

    // TypeScript users: the declarations resolve for each entry in this module system.
    const source = kind === "commonjs"
      ? `import pw = require("@paywire/node");\nimport express = require("@paywire/node/express");\nimport hono = require("@paywire/node/hono");\n`
      : `import * as pw from "@paywire/node";\nimport * as express from "@paywire/node/express";\nimport * as hono from "@paywire/node/hono";\n`;
    writeFileSync(
      join(project, kind === "commonjs" ? "check.cts" : "check.mts"),
      `${source}const policy: pw.PolicyJson = { dailyLimit: "1.00" };
const price: string = pw.parsePrice("$0.01", 6);
const fetcher: typeof fetch = pw.wrapFetch(fetch, { payer: { type: "ledger", walletId: "w", secret: "00" }, policy });
const middleware: unknown = [express.paymentMiddleware, hono.paymentMiddleware];
// @ts-expect-error a policy limit is a decimal string, not a number
const wrong: pw.PolicyJson = { dailyLimit: 5 };
export { price, fetcher, middleware, wrong };
`,
    );
    execFileSync(tsc, ["--noEmit", "--strict", "--skipLibCheck", "--module", "node16", "--moduleResolution", "node16", "--target", "es2022", "--lib", "es2022,dom", kind === "commonjs" ? "check.cts" : "check.mts"], { cwd: project, encoding: "utf8" });
  }
});
