// Interop with Coinbase's official x402 SDKs, both ways, over real HTTP on loopback, with a real
// paywire-server as the facilitator (devnet EVM on eip155:84532: EIP-3009 signatures verified
// for real, settled against balances the server keeps):
//
// - @x402/fetch (v2) pays an @paywire/wasm paywall;
// - the legacy x402-fetch 1.2 (v1, strict zod checks of the 402 body) pays an @paywire/wasm
//   paywall;
// - Paywire's wrapFetch pays an @x402/express paymentMiddleware;
// - @x402/fetch pays @x402/express, with paywire-server as facilitator;
// - @x402/fetch pays a Rust axum API protected by paywire-axum (examples/provider);
// - paywire-reqwest (examples/agent) pays @x402/express;
// - @x402/fetch pays an Express app behind @paywire/node/express and Hono apps behind
//   @paywire/node/hono and @paywire/wasm/hono, configured with Coinbase's route format;
// - @paywire/node's wrapFetch, signing with a viem account, pays @x402/express.
//
// Run from the repository's CI after `bash scripts/build-wasm.sh` (node --test tests/interop/).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import { privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { ExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddleware } from "@x402/express";
import { x402ResourceServer, HTTPFacilitatorClient } from "@x402/core/server";
import { wrapFetchWithPayment as legacyWrapFetch } from "x402-fetch";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import * as paywire from "../../bindings-wasm/dist/node.js";
import * as paywireNode from "../../bindings-node/dist/index.mjs";
import { paymentMiddleware as nodeExpress } from "../../bindings-node/dist/express.mjs";
import { paymentMiddleware as nodeHono } from "../../bindings-node/dist/hono.mjs";
import { paymentMiddleware as wasmHono } from "../../bindings-wasm/dist/hono-node.js";
import { serveHandler, startPaywireServer } from "../../bindings-js/test/support.mjs";

// Anvil's well-known development keys: no value anywhere.
const PAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const USDC_KEY = `eip155:84532/erc20:${USDC.toLowerCase()}`;
const payer = privateKeyToAccount(PAYER_KEY);

const binary = (name) => fileURLToPath(new URL(`../../target/debug/${name}`, import.meta.url));

let facilitator;
let payerWallet;
let providerWallet;

test.before(async () => {
  facilitator = await startPaywireServer();
  providerWallet = (await facilitator.provider(PAY_TO)).walletId;
  const funded = await facilitator.api("POST", "/v1/evm/fund", { network: "eip155:84532", address: payer.address, amount: "5.00" });
  payerWallet = funded.walletId;
});

test.after(async () => {
  await facilitator?.stop();
});

/** A weather API behind an @paywire/wasm paywall that accepts devnet USDC. */
async function paywiredApi(route = { method: "GET", path: "/weather", price: { flat: "10000" } }) {
  const usdc = paywire.findAsset("eip155:84532", USDC);
  const protect = paywire.paywall([route], {
    facilitatorUrl: facilitator.url,
    accepts: [{ asset: usdc, payTo: PAY_TO, maxTimeoutSeconds: 60 }],
  });
  return serveHandler(protect(async () => Response.json({ city: "Paris", temperature: 21 })));
}

/** A weather API behind Coinbase's @x402/express middleware, with paywire-server as facilitator. */
async function officialApi() {
  const app = express();
  const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitator.url })).register(
    "eip155:84532",
    new ExactEvmScheme(),
  );
  app.use(
    paymentMiddleware(
      { "GET /weather": { accepts: [{ scheme: "exact", price: "$0.01", network: "eip155:84532", payTo: PAY_TO }] } },
      server,
    ),
  );
  app.get("/weather", (_req, res) => res.json({ city: "Paris", temperature: 21 }));
  const listening = await new Promise((resolve) => {
    const http = app.listen(0, "127.0.0.1", () => resolve(http));
  });
  return {
    url: `http://127.0.0.1:${listening.address().port}`,
    close: () => new Promise((resolve) => {
      listening.close(resolve);
      listening.closeAllConnections();
    }),
  };
}

function officialClient() {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: payer });
  return wrapFetchWithPayment(fetch, client);
}

/** The payer's devnet USDC balance, atomic, as the facilitator's ledger keeps it. */
async function balanceOf() {
  return BigInt(await facilitator.balance(payerWallet, USDC_KEY));
}

test("@x402/fetch (v2) pays an @paywire/wasm paywall, settled once by paywire-server", async () => {
  const api = await paywiredApi();
  try {
    const before = await balanceOf();
    const response = await officialClient()(`${api.url}/weather`);
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await response.json(), { city: "Paris", temperature: 21 });
    const settlement = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE"));
    assert.equal(settlement.success, true);
    assert.equal(settlement.network, "eip155:84532");
    assert.equal(settlement.payer, payer.address);
    assert.match(settlement.transaction, /^pay_/);
    assert.equal(await balanceOf(), before - 10_000n, "charged exactly the price, once");
  } finally {
    await api.close();
  }
});

test("the legacy x402-fetch 1.2 (v1) pays an @paywire/wasm paywall from its v1 JSON body", async () => {
  const api = await paywiredApi({ method: "GET", path: "/legacy", price: { flat: "20000" } });
  try {
    const before = await balanceOf();
    // The legacy client validates the 402 body with zod: a `null` outputSchema or extra fails it.
    const pay = legacyWrapFetch(fetch, payer, 100_000n);
    const response = await pay(`${api.url}/legacy`);
    assert.equal(response.status, 200, await response.clone().text());
    const settlement = JSON.parse(Buffer.from(response.headers.get("X-PAYMENT-RESPONSE"), "base64").toString());
    assert.equal(settlement.success, true, JSON.stringify(settlement));
    // x402 1.x names networks only by their v1 names.
    assert.equal(settlement.network, "base-sepolia");
    assert.equal(await balanceOf(), before - 20_000n);
  } finally {
    await api.close();
  }
});

test("Paywire's wrapFetch pays Coinbase's @x402/express middleware through paywire-server", async () => {
  const api = await officialApi();
  try {
    const before = await balanceOf();
    const pay = paywire.wrapFetch(fetch, {
      payer: { type: "evm", privateKey: PAYER_KEY },
      policy: { maxPerRequest: "0.05", dailyLimit: "1.00" },
    });
    const response = await pay(`${api.url}/weather`);
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await response.json(), { city: "Paris", temperature: 21 });
    const record = paywire.paymentOf(response);
    assert.equal(record.settlement.success, true);
    assert.equal(record.amount, "0.01");
    assert.equal(await balanceOf(), before - 10_000n);
    // The same client refuses what its policy does not allow, before signing anything.
    const stingy = paywire.wrapFetch(fetch, { payer: { type: "evm", privateKey: PAYER_KEY }, policy: { maxPerRequest: "0.001" } });
    await assert.rejects(stingy(`${api.url}/weather`), { code: "policy_max_per_request_exceeded" });
  } finally {
    await api.close();
  }
});

test("@x402/fetch pays @x402/express with paywire-server as the facilitator", async () => {
  const api = await officialApi();
  try {
    const before = await balanceOf();
    const response = await officialClient()(`${api.url}/weather`);
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(await balanceOf(), before - 10_000n);
  } finally {
    await api.close();
  }
});

/** Runs a Rust example binary with `env`; resolves with its first stdout line matching `ready`. */
function runExample(name, env, ready) {
  const child = spawn(binary(name), [], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const matched = new Promise((resolve, reject) => {
    lines.on("line", (line) => {
      output += `${line}\n`;
      const match = ready && line.match(ready);
      if (match) resolve(match);
    });
    exited.then((code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`)));
  });
  return { child, exited, matched, output: () => output };
}

test("@x402/fetch and the legacy x402-fetch 1.2 pay a Rust axum API protected by paywire-axum (examples/provider)", async () => {
  const provider = runExample(
    "example-provider",
    {
      PAYWIRE_LISTEN: "127.0.0.1:0",
      PAYWIRE_FACILITATOR_URL: facilitator.url,
      PAYWIRE_NETWORK: "paywire:main",
      PAYWIRE_PAY_TO: providerWallet,
      PAYWIRE_PAY_TO_EVM: PAY_TO,
    },
    /^example-provider: listening on (http:\/\/\S+)$/,
  );
  try {
    const [, url] = await provider.matched;
    const before = await balanceOf();
    const response = await officialClient()(`${url}/v1/joke`);
    assert.equal(response.status, 200, await response.clone().text());
    assert.match((await response.json()).joke, /agents/);
    const settlement = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE"));
    assert.equal(settlement.success, true);
    assert.equal(settlement.network, "eip155:84532");
    assert.equal(settlement.payer, payer.address);
    assert.equal(await balanceOf(), before - 1_000n, "a tenth of a cent, once");
    // Unpaid, it answers a 402 with the offer in PAYMENT-REQUIRED.
    const unpaid = await fetch(`${url}/v1/joke`);
    assert.equal(unpaid.status, 402);
    assert.ok(unpaid.headers.get("PAYMENT-REQUIRED"));
    // The legacy x402-fetch 1.2 reads the v1 body, which lists only what it can parse (the
    // ledger option, first in the v2 header, is left out of it), and pays in X-PAYMENT.
    const v1 = await unpaid.json();
    assert.ok(v1.accepts.length > 0 && v1.accepts.every((o) => !o.network.includes(":")), JSON.stringify(v1));
    const legacy = await legacyWrapFetch(fetch, payer, 100_000n)(`${url}/v1/joke`);
    assert.equal(legacy.status, 200, await legacy.clone().text());
    const legacySettlement = JSON.parse(Buffer.from(legacy.headers.get("X-PAYMENT-RESPONSE"), "base64").toString());
    assert.equal(legacySettlement.success, true, JSON.stringify(legacySettlement));
    assert.equal(legacySettlement.network, "base-sepolia");
    assert.equal(await balanceOf(), before - 2_000n, "the v1 payment charged once too");
  } finally {
    provider.child.kill("SIGINT");
    await provider.exited;
  }
});

test("paywire-reqwest (examples/agent) pays Coinbase's @x402/express middleware", async () => {
  const api = await officialApi();
  try {
    const before = await balanceOf();
    const agent = runExample(
      "example-agent",
      { PAYWIRE_EXAMPLE_URL: `${api.url}/weather`, PAYWIRE_EVM_KEY: PAYER_KEY },
      /^example-agent: paid \$(\S+), settled as (\S+)$/,
    );
    const [, amount, transaction] = await agent.matched;
    assert.equal(await agent.exited, 0, agent.output());
    assert.equal(amount, "0.01");
    assert.match(transaction, /^pay_/);
    assert.equal(await balanceOf(), before - 10_000n);
  } finally {
    await api.close();
  }
});

/** Coinbase's route format, as a provider moving from @x402/express writes it. */
const coinbaseRoutes = () => ({
  "GET /weather": { accepts: [{ scheme: "exact", price: "$0.01", network: "eip155:84532", payTo: PAY_TO }], description: "Weather" },
});

/** Serves an app on loopback; resolves with its URL and a close. */
function listen(serveIt) {
  return new Promise((resolve) => {
    const server = serveIt((port) => resolve({
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise((done) => {
        server.close(done);
        server.closeAllConnections?.();
      }),
    }));
  });
}

const providers = {
  "@paywire/node/express": () => {
    const app = express();
    app.use(nodeExpress(coinbaseRoutes(), { facilitatorUrl: facilitator.url }));
    app.get("/weather", (_req, res) => res.json({ city: "Paris", temperature: 21 }));
    return listen((ready) => { const http = app.listen(0, "127.0.0.1", () => ready(http.address().port)); return http; });
  },
  "@paywire/node/hono": () => {
    const app = new Hono();
    app.use(nodeHono(coinbaseRoutes(), { facilitatorUrl: facilitator.url }));
    app.get("/weather", (c) => c.json({ city: "Paris", temperature: 21 }));
    return listen((ready) => serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => ready(info.port)));
  },
  "@paywire/wasm/hono": () => {
    const app = new Hono();
    app.use(wasmHono(coinbaseRoutes(), { facilitatorUrl: facilitator.url }));
    app.get("/weather", (c) => c.json({ city: "Paris", temperature: 21 }));
    return listen((ready) => serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => ready(info.port)));
  },
};

for (const [name, start] of Object.entries(providers)) {
  test(`@x402/fetch pays an app behind ${name}, configured with Coinbase's route format`, async () => {
    const api = await start();
    try {
      const before = await balanceOf();
      const unpaid = await fetch(`${api.url}/weather`);
      assert.equal(unpaid.status, 402);
      assert.ok(unpaid.headers.get("PAYMENT-REQUIRED"));
      const free = await fetch(`${api.url}/elsewhere`);
      assert.equal(free.status, 404, "unpriced routes pass straight through");
      const response = await officialClient()(`${api.url}/weather`);
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), { city: "Paris", temperature: 21 });
      const settlement = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE"));
      assert.equal(settlement.success, true);
      assert.equal(settlement.payer, payer.address);
      assert.equal(await balanceOf(), before - 10_000n, "charged the route's price, once");
    } finally {
      await api.close();
    }
  });
}

test("@paywire/node's wrapFetch, signing with a viem account, pays Coinbase's @x402/express", async () => {
  const api = await officialApi();
  try {
    const before = await balanceOf();
    const pay = paywireNode.wrapFetch(fetch, { payer: { type: "evm", account: payer }, policy: { maxPerRequest: "0.05" } });
    const response = await pay(`${api.url}/weather`);
    assert.equal(response.status, 200, await response.clone().text());
    const record = paywireNode.paymentOf(response);
    assert.equal(record.settlement.success, true);
    assert.equal(record.settlement.payer, payer.address);
    assert.equal(await balanceOf(), before - 10_000n);
  } finally {
    await api.close();
  }
});
