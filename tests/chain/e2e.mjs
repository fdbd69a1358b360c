// End to end on a real chain: anvil, the EIP-3009 test token deployed and minted with viem,
// paywire-server settling on the chain with its own key, Coinbase's @x402/express middleware
// with paywire-server as its facilitator, and two payers — Coinbase's @x402/fetch and
// Paywire's own wrapFetch (@paywire/wasm) — each paying several times. Prints the on-chain
// balances and ends with `on-chain: N of N payments settled`; exits non-zero otherwise.
//
// Run by scripts/chain-e2e.sh (after `cargo build -p paywire-server` and
// `bash scripts/build-wasm.sh`).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";
import { createPublicClient, createWalletClient, http, parseAbi } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { ExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddleware } from "@x402/express";
import { x402ResourceServer, HTTPFacilitatorClient } from "@x402/core/server";

const root = fileURLToPath(new URL("../..", import.meta.url));
const NETWORK = "eip155:31337";
const TOKEN = { name: "USD Coin", version: "2" };
const PRICE = 10_000n; // 0.01 USDC
const PAYMENTS_EACH = Number(process.env.PAYWIRE_E2E_PAYMENTS ?? 3);
// Anvil's development keys (no value anywhere): the deployer, and the facilitator.
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const FACILITATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const tokenAbi = parseAbi([
  "constructor(string name_, string version_)",
  "function mint(address to, uint256 value)",
  "function balanceOf(address owner) view returns (uint256)",
]);

const children = [];
function cleanup() {
  for (const child of children) child.kill("SIGTERM");
}
process.on("exit", cleanup);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `ready` every 50 ms for at most 30 s; fails at once if `child` exited. */
async function until(child, name, ready) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode})`);
    try {
      if (await ready()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startAnvil() {
  const port = await freePort();
  const child = spawn(join(root, "tests/chain/node_modules/.bin/anvil"), ["--port", String(port), "--silent"], {
    stdio: "ignore",
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  const chain = { ...anvilChain, rpcUrls: { default: { http: [url] } } };
  const client = createPublicClient({ chain, transport: http(url) });
  await until(child, "anvil", async () => (await client.getChainId()) === 31337);
  return { url, chain, client };
}

async function startServer(anvil, token) {
  const dir = mkdtempSync(join(tmpdir(), "paywire-chain-e2e-"));
  const port = await freePort();
  const adminKey = `ak_e2e_${Date.now()}`;
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    join(root, "target/debug/paywire-server"),
    ["--database-url", `sqlite://${dir}/paywire.db`, "--listen", `127.0.0.1:${port}`, "--admin-key", adminKey,
      "--chain", `${NETWORK}=${anvil.url}`, "--chain-token", `${NETWORK}=${token}`],
    // The key goes through the environment, never the command line.
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, PAYWIRE_CHAIN_SIGNER_KEY: FACILITATOR_KEY, PAYWIRE_LOG: process.env.PAYWIRE_LOG ?? "warn" } },
  );
  children.push(child);
  await until(child, "paywire-server", async () => (await fetch(`${url}/healthz`)).ok);
  const api = async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  return { url, api, dir };
}

async function officialApi(facilitatorUrl, token, payTo) {
  const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitatorUrl })).register(
    NETWORK,
    new ExactEvmScheme(),
  );
  const app = express();
  const price = { amount: PRICE.toString(), asset: token, extra: TOKEN };
  app.use(paymentMiddleware({ "GET /weather": { accepts: [{ scheme: "exact", price, network: NETWORK, payTo }] } }, server));
  app.get("/weather", (_req, res) => res.json({ city: "Paris", temperature: 21 }));
  const listening = await new Promise((resolve) => {
    const http = app.listen(0, "127.0.0.1", () => resolve(http));
  });
  return { url: `http://127.0.0.1:${listening.address().port}`, listening };
}

const anvil = await startAnvil();
const deployer = createWalletClient({ account: privateKeyToAccount(DEPLOYER_KEY), chain: anvil.chain, transport: http(anvil.url) });
const bytecode = `0x${readFileSync(join(root, "contracts/out/PaywireTestUSD.bin"), "utf8").trim()}`;
const deployment = await deployer.deployContract({ abi: tokenAbi, bytecode, args: [TOKEN.name, TOKEN.version] });
const token = (await anvil.client.waitForTransactionReceipt({ hash: deployment })).contractAddress;
const balanceOf = (address) => anvil.client.readContract({ address: token, abi: tokenAbi, functionName: "balanceOf", args: [address] });

const coinbasePayer = privateKeyToAccount(generatePrivateKey());
const paywirePayerKey = generatePrivateKey();
const paywirePayer = privateKeyToAccount(paywirePayerKey);
const payTo = privateKeyToAccount(generatePrivateKey()).address;
for (const payer of [coinbasePayer.address, paywirePayer.address]) {
  const minted = await deployer.writeContract({ address: token, abi: tokenAbi, functionName: "mint", args: [payer, 1_000_000n] });
  await anvil.client.waitForTransactionReceipt({ hash: minted });
}

const facilitator = await startServer(anvil, token);
await facilitator.api("POST", "/v1/providers", { name: "Weather Co", evmAddress: payTo });
const supported = await (await fetch(`${facilitator.url}/supported`)).json();
console.log(`paywire-server settles ${NETWORK} on chain as ${supported.signers[NETWORK]?.join(", ")}`);
const api = await officialApi(facilitator.url, token, payTo);

const officialClient = new x402Client();
registerExactEvmScheme(officialClient, { signer: coinbasePayer });
// Coinbase's client pays only tokens it knows (USDC on Base and the like) unless told: the test
// token is allowed, capped at five cents a payment.
officialClient.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token, maxAmountPerPayment: "50000" }] });
const payOfficially = wrapFetchWithPayment(fetch, officialClient);

const paywire = await import(join(root, "bindings-wasm/dist/node.js"));
const payWithPaywire = paywire.wrapFetch(fetch, {
  payer: { type: "evm", privateKey: paywirePayerKey },
  policy: { maxPerRequest: "0.05", dailyLimit: "1.00" },
  assets: [{ network: NETWORK, address: token, symbol: "USDC", decimals: 6, extra: TOKEN }],
});

const transactions = [];
const failures = [];
for (const [client, pay] of [["@x402/fetch", payOfficially], ["Paywire wrapFetch", payWithPaywire]]) {
  for (let i = 0; i < PAYMENTS_EACH; i++) {
    const response = await pay(`${api.url}/weather`);
    const body = await response.text();
    const header = response.headers.get("PAYMENT-RESPONSE");
    const settlement = header ? decodePaymentResponseHeader(header) : undefined;
    if (response.status !== 200 || !settlement?.success || !/^0x[0-9a-f]{64}$/.test(settlement.transaction)) {
      failures.push(`${client} payment ${i + 1}: HTTP ${response.status} ${body} ${JSON.stringify(settlement)}`);
      continue;
    }
    transactions.push({ client, hash: settlement.transaction });
    console.log(`${client} paid 0.01 USDC: ${settlement.transaction}`);
  }
}

// Each transaction's receipt, read from the chain itself: the facilitator's word is not enough.
let settled = 0;
for (const { hash } of transactions) {
  const receipt = await anvil.client.getTransactionReceipt({ hash });
  if (receipt.status === "success") settled += 1;
}
const total = 2 * PAYMENTS_EACH;
const format = (atomic) => `${atomic / 1_000_000n}.${(atomic % 1_000_000n).toString().padStart(6, "0")}`;
console.log(`balances on chain (USDC): @x402/fetch payer ${format(await balanceOf(coinbasePayer.address))}, ` +
  `Paywire payer ${format(await balanceOf(paywirePayer.address))}, provider ${format(await balanceOf(payTo))}`);
const received = await balanceOf(payTo);
for (const failure of failures) console.error(failure);
console.log(`on-chain: ${settled} of ${total} payments settled`);

api.listening.close();
api.listening.closeAllConnections();
cleanup();
rmSync(facilitator.dir, { recursive: true, force: true });
process.exit(settled === total && received === PRICE * BigInt(total) ? 0 : 1);
