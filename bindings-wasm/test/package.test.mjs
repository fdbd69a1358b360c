// The package as users get it: `npm pack`, installed into a scratch project, imported by its
// name, paying a Paywire-protected route with wrapFetch.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as pw from "../dist/node.js";
import { serveHandler, startPaywireServer } from "../../bindings-js/test/support.mjs";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "paywire-wasm-scratch-"));
const cleanups = [() => rmSync(scratch, { recursive: true, force: true })];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const npm = (args, cwd) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("npm pack makes a tarball that a scratch project installs and pays with", async () => {
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", scratch], packageDir));
  const files = packed[0].files.map((f) => f.path);
  for (const needed of ["dist/node.js", "dist/web.js", "dist/workers.js", "dist/web.d.ts", "dist/node.cjs", "dist/hono-node.js", "README.md", "pkg/paywire_wasm.js", "pkg/paywire_wasm.d.ts", "pkg/paywire_wasm_bg.wasm", "package.json"]) {
    assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
  }
  assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith("node_modules/")), "the tarball ships only the package");
  assert.deepEqual(files.filter((f) => f.endsWith(".wasm")), ["pkg/paywire_wasm_bg.wasm"], "the module ships once");

  const project = join(scratch, "agent");
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "scratch-agent", private: true, type: "module" }));
  npm(["install", join(scratch, packed[0].filename)], project);
  assert.ok(readdirSync(join(project, "node_modules", "@paywire", "wasm", "pkg")).includes("paywire_wasm_bg.wasm"));

  const server = await startPaywireServer();
  cleanups.push(() => server.stop());
  const provider = await server.provider(pw.evmAddress(`0x${"11".repeat(32)}`));
  const agent = await server.agent("1.00");
  const shop = await serveHandler(
    pw.paywall([{ method: "GET", path: "/v1/report", price: { flat: "25000" } }], {
      facilitatorUrl: server.url,
      accepts: [{ asset: { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 }, payTo: provider.walletId }],
    })(async () => Response.json({ report: "ready" })),
  );
  cleanups.push(() => shop.close());

  // What a user writes, importing the installed package by name.
  writeFileSync(
    join(project, "agent.mjs"),
    `import { wrapFetch, paymentOf } from "@paywire/wasm";
const pay = wrapFetch(fetch, {
  payer: { type: "ledger", walletId: process.env.WALLET, secret: process.env.SECRET },
  policy: { maxPerRequest: "0.05", dailyLimit: "1.00" },
});
const response = await pay(process.env.URL);
console.log(JSON.stringify({ status: response.status, body: await response.json(), paid: paymentOf(response).amount }));
`,
  );
  const output = await new Promise((resolve, reject) => {
    import("node:child_process").then(({ execFile }) =>
      execFile(
        process.execPath,
        ["agent.mjs"],
        { cwd: project, env: { ...process.env, WALLET: agent.walletId, SECRET: agent.walletSecret, URL: `${shop.url}/v1/report` } },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
  });
  assert.deepEqual(JSON.parse(output), { status: 200, body: { report: "ready" }, paid: "0.025" });
  assert.equal(await server.balance(agent.walletId), String(1_000_000 - 25_000));

  // The declarations resolve for TypeScript users too.
  const installed = join(project, "node_modules", "@paywire", "wasm");
  assert.match(readFileSync(join(installed, "dist", "host", "fetch.d.ts"), "utf8"), /export declare function wrapFetch/);
  assert.match(readFileSync(join(installed, "pkg", "paywire_wasm.d.ts"), "utf8"), /export interface PaymentRequired/);
});

test("require() and TypeScript resolve each entry: node types under node, CommonJS and ESM", async () => {
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", scratch], packageDir))[0];
  const tsc = join(packageDir, "node_modules", ".bin", "tsc");
  for (const kind of ["commonjs", "module"]) {
    const project = join(scratch, `types-${kind}`);
    execFileSync("mkdir", ["-p", project]);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: `scratch-${kind}`, private: true, type: kind }));
    npm(["install", join(scratch, packed.filename)], project);
    if (kind === "commonjs") {
      writeFileSync(join(project, "load.js"), `const pw = require("@paywire/wasm"); console.log(JSON.stringify([pw.parsePrice("$0.01", 6), typeof pw.wrapFetch]));`);
      assert.deepEqual(JSON.parse(execFileSync(process.execPath, ["load.js"], { cwd: project, encoding: "utf8" })), ["10000", "function"]);
    }
    const file = kind === "commonjs" ? "check.cts" : "check.mts";
    const load = kind === "commonjs" ? `import pw = require("@paywire/wasm");\nimport hono = require("@paywire/wasm/hono");\n` : `import * as pw from "@paywire/wasm";\nimport * as hono from "@paywire/wasm/hono";\n`;
    writeFileSync(join(project, file), `${load}const price: string = pw.parsePrice("$0.01", 6);
const policy: pw.PolicyJson = { dailyLimit: "1.00" };
const middleware: unknown = hono.paymentMiddleware;
// @ts-expect-error under Node the entry is the node build, which has no init()
pw.init;
export { price, policy, middleware };
`);
    // CommonJS code requiring this ES-module package type-checks under TypeScript's `node20`
    // module setting, which models Node's require(esm) as the runtime above does.
    const module = kind === "commonjs" ? "node20" : "node16";
    execFileSync(tsc, ["--noEmit", "--strict", "--skipLibCheck", "--module", module, "--moduleResolution", "node16", "--target", "es2022", "--lib", "es2022,dom", file], { cwd: project, encoding: "utf8" });
  }
});
