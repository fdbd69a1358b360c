// wrapFetch (agent side) and paywall (provider side) against a real paywire-server on loopback,
// over real HTTP, on its ledger network and its devnet EVM network.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { serveHandler, startPaywireServer } from "./support.mjs";

import { forEachEngine } from "./engines.mjs";

forEachEngine((test, pw, engine) => {
  const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  const USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
  const LEDGER_USD = { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 };
  const EVM_KEY_OF_BALANCE = `eip155:84532/erc20:${USDC_BASE_SEPOLIA.toLowerCase()}`;
  const WEATHER = { method: "GET", path: "/v1/weather/:city", price: { flat: "10000" }, description: "Weather" };

  let server;
  const opened = []; // closed after the suite even when a test fails half-way
  before(async () => {
    server = await startPaywireServer();
  });
  after(async () => {
    await Promise.all(opened.map((http) => http.close()));
    await server?.stop();
  });

  /** A provider behind a paywall, served over HTTP; `calls` counts handler runs. */
  async function provider({ routes = [WEATHER], accepts, tokenKeys, facilitatorUrl, handler, wrap } = {}) {
    // Each provider is paid at an address of its own (the server refuses to share one).
    const evm = pw.evmAddress(`0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`);
    const created = await server.provider(evm);
    const state = { calls: 0 };
    const protect = pw.paywall(routes, {
      facilitatorUrl: facilitatorUrl ?? server.url,
      accepts: accepts ? accepts(evm) : [{ asset: LEDGER_USD, payTo: created.walletId }],
      tokenKeys,
    });
    const inner = protect(
      handler ??
        (async (request) => {
          state.calls += 1;
          return Response.json({ city: new URL(request.url).pathname.split("/").pop(), temperature: 21 });
        }),
    );
    const http = await serveHandler(wrap ? wrap(inner) : inner);
    opened.push(http);
    return Object.assign(state, { http, created, evm, url: (path) => `${http.url}${path}` });
  }

  function ledgerClient(agent, options = {}) {
    return pw.wrapFetch(fetch, {
      payer: { type: "ledger", walletId: agent.walletId, secret: agent.walletSecret },
      policy: { maxPerRequest: "0.10", dailyLimit: "1.00" },
      ...options,
    });
  }

  async function rejection(promise) {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    assert.fail("expected a rejection");
  }

  test("wrapFetch pays a paywalled route on the ledger, once, and exposes the settlement", async () => {
    const shop = await provider();
    const agent = await server.agent("1.00");
    const pay = ledgerClient(agent);
    const response = await pay(shop.url("/v1/weather/paris"));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { city: "paris", temperature: 21 });
    const record = pw.paymentOf(response);
    assert.equal(record.amount, "0.01");
    assert.equal(record.settlement.success, true);
    assert.equal(record.settlement.payer, agent.walletId);
    assert.ok(record.settlement.transaction.length > 0);
    assert.deepEqual(pw.decodePaymentResponse(response.headers.get("PAYMENT-RESPONSE"), undefined), record.settlement);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000));
    assert.equal(await server.balance(shop.created.walletId), "10000");
    assert.equal(shop.calls, 1);
  });

  test("wrapFetch pays on the devnet EVM network with an EIP-3009 signature", async () => {
    const usdc = pw.findAsset("eip155:84532", USDC_BASE_SEPOLIA);
    const shop = await provider({ accepts: (evm) => [{ asset: usdc, payTo: evm }] });
    const payer = pw.evmAddress(DEV_KEY);
    const funded = await server.api("POST", "/v1/evm/fund", { network: "eip155:84532", address: payer, amount: "1.00" });
    const pay = pw.wrapFetch(fetch, { payer: { type: "evm", privateKey: DEV_KEY }, policy: { maxPerRequest: "0.10" } });
    const response = await pay(shop.url("/v1/weather/oslo"));
    assert.equal(response.status, 200);
    const record = pw.paymentOf(response);
    assert.equal(record.settlement.payer, payer);
    assert.equal(record.payment.accepted.network, "eip155:84532");
    assert.equal(await server.balance(funded.walletId, EVM_KEY_OF_BALANCE), String(1_000_000 - 10_000));
  });

  test("wrapFetch judges amounts with the asset table it is given", async () => {
    const shop = await provider();
    const agent = await server.agent("1.00");
    // A table without the ledger's USD: the client cannot tell what the price is, so it pays nothing.
    const blind = await rejection(ledgerClient(agent, { assets: [] })(shop.url("/v1/weather/lima")));
    assert.equal(blind.code, "policy_asset_unknown");
    // Told USD has 2 decimals, 10000 atomic units are $100.00: over the $0.10 limit.
    const misled = await rejection(ledgerClient(agent, { assets: [{ ...LEDGER_USD, decimals: 2 }] })(shop.url("/v1/weather/lima")));
    assert.equal(misled.code, "policy_max_per_request_exceeded");
    assert.equal(shop.calls, 0);
    // The right table pays.
    const response = await ledgerClient(agent, { assets: [LEDGER_USD] })(shop.url("/v1/weather/lima"));
    assert.equal(response.status, 200);
    assert.equal(shop.calls, 1);
  });

  test("a policy denial pays nothing and never reaches the handler", async () => {
    const shop = await provider();
    const agent = await server.agent("1.00");
    const stingy = ledgerClient(agent, { policy: { maxPerRequest: "0.001" } });
    const denied = await rejection(stingy(shop.url("/v1/weather/rome")));
    assert.equal(denied.code, "policy_max_per_request_exceeded");
    const elsewhere = ledgerClient(agent, { policy: { allowedHosts: ["api.example.com"] } });
    assert.equal((await rejection(elsewhere(shop.url("/v1/weather/rome")))).code, "policy_host_not_allowed");
    const evmOnly = pw.wrapFetch(fetch, { payer: { type: "evm", privateKey: DEV_KEY }, policy: {} });
    assert.equal((await rejection(evmOnly(shop.url("/v1/weather/rome")))).code, "policy_no_options");
    assert.equal(await server.balance(agent.walletId), "1000000");
    assert.equal(shop.calls, 0);
  });

  test("above the approval threshold, onApproval decides", async () => {
    const shop = await provider();
    const agent = await server.agent("1.00");
    const asked = [];
    const policy = { approvalThreshold: "0.005" };
    const refuse = ledgerClient(agent, { policy, onApproval: (request) => (asked.push(request), false) });
    assert.equal((await rejection(refuse(shop.url("/v1/weather/lima")))).code, "policy_approval_denied");
    const silent = ledgerClient(agent, { policy });
    assert.equal((await rejection(silent(shop.url("/v1/weather/lima")))).code, "policy_approval_denied");
    assert.equal(await server.balance(agent.walletId), "1000000");
    const approve = ledgerClient(agent, { policy, onApproval: async (request) => (asked.push(request), true) });
    assert.equal((await approve(shop.url("/v1/weather/lima"))).status, 200);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000));
    assert.equal(asked.length, 2);
    assert.equal(asked[0].amount, "0.01");
    assert.equal(asked[0].url, shop.url("/v1/weather/lima"));
  });

  test("an access token sold with a bundle is reused instead of paying, until it runs out", async () => {
    const ring = new pw.KeyRing("edge-1", crypto.getRandomValues(new Uint8Array(32)));
    const shop = await provider({ routes: [{ ...WEATHER, bundle: { maxUses: 2, seconds: 3600 } }], tokenKeys: ring });
    const agent = await server.agent("1.00");
    const pay = ledgerClient(agent);
    const first = await pay(shop.url("/v1/weather/kyiv"));
    const token = pw.paymentOf(first).accessToken;
    assert.equal(token.maxUses, 2);
    assert.equal(token.scope.resource, shop.url("/v1/weather/"));
    assert.deepEqual(token.scope.methods, ["GET"]);
    for (const city of ["kyiv", "lviv"]) {
      const again = await pay(shop.url(`/v1/weather/${city}`));
      assert.equal(again.status, 200);
      assert.equal(pw.paymentOf(again), undefined, "paid with the token, not money");
    }
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000));
    const exhausted = await pay(shop.url("/v1/weather/odesa"));
    assert.equal(exhausted.status, 200);
    assert.ok(pw.paymentOf(exhausted), "the used-up token was replaced by a payment");
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 20_000));
    assert.equal(shop.calls, 4);
    // A token forged with another key is refused at the edge, which asks for payment.
    const forged = new pw.KeyRing("edge-1", new Uint8Array(32).fill(1)).issue(pw.inspectToken(token.token).claims);
    const answer = await fetch(shop.url("/v1/weather/kyiv"), { headers: { [pw.ACCESS_TOKEN_HEADER]: forged } });
    assert.equal(answer.status, 402);
    assert.equal((await answer.json()).error, "token_signature_invalid");
  });

  test("a payment whose response was lost is re-sent and charged once", async () => {
    const shop = await provider();
    const agent = await server.agent("1.00");
    let dropped = 0;
    const flaky = async (request) => {
      const response = await fetch(request);
      if (request.headers.has("PAYMENT-SIGNATURE") && dropped === 0) {
        dropped += 1;
        await response.arrayBuffer();
        throw new TypeError("fetch failed: socket hang up"); // settled, but the answer is lost
      }
      return response;
    };
    const client = pw.wrapFetch(flaky, {
      payer: { type: "ledger", walletId: agent.walletId, secret: agent.walletSecret },
      policy: { dailyLimit: "1.00" },
    });
    const response = await client(shop.url("/v1/weather/accra"));
    assert.equal(response.status, 200);
    assert.equal(dropped, 1);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000), "charged once");
  });

  test("a facilitator that is down: a clear error, nothing charged, no body delivered", async () => {
    const gone = await serveHandler(() => new Response("bye"));
    await gone.close(); // a port nobody listens on
    const shop = await provider({ facilitatorUrl: gone.url });
    const agent = await server.agent("1.00");
    const usage = new pw.MemoryUsageStore();
    const pay = ledgerClient(agent, { usage, policy: { dailyLimit: "0.01" } });
    const response = await pay(shop.url("/v1/weather/cairo"));
    assert.equal(response.status, 502);
    assert.equal((await response.json()).error.code, "facilitator_unavailable");
    assert.equal(pw.paymentOf(response)?.settlement, undefined);
    assert.equal(usage.get(), undefined, "nothing recorded against the daily limit");
    assert.equal(await server.balance(agent.walletId), "1000000");
    assert.equal(shop.calls, 0);
  });

  test("concurrent payments from one client stay inside the daily limit", async () => {
    const shop = await provider();
    const agent = await server.agent("1.00");
    const pay = ledgerClient(agent, { policy: { dailyLimit: "0.03" } });
    const outcomes = await Promise.allSettled(["a", "b", "c", "d", "e"].map((city) => pay(shop.url(`/v1/weather/${city}`))));
    const paid = outcomes.filter((o) => o.status === "fulfilled" && o.value.status === 200);
    const denied = outcomes.filter((o) => o.status === "rejected");
    assert.equal(paid.length, 3);
    assert.deepEqual(denied.map((o) => o.reason.code), ["policy_daily_limit_exceeded", "policy_daily_limit_exceeded"]);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 30_000));
  });

  test("a v1 client (JSON body, X-PAYMENT) pays the same paywall", async () => {
    // A provider that speaks only v1, as an older server did: the 402 without its v2 header,
    // and a v1 body listing the ledger option (a Paywire paywall leaves it out of the v1 body,
    // which Coinbase's v1 clients could not read past).
    const shop = await provider({
      wrap: (inner) => async (request, env, ctx) => {
        const response = await inner(request, env, ctx);
        if (response.status !== 402) return response;
        const headers = new Headers(response.headers);
        const required = pw.decodePaymentRequired(headers.get("PAYMENT-REQUIRED"), undefined);
        headers.delete("PAYMENT-REQUIRED");
        const body = await response.json();
        assert.deepEqual(body.accepts, [], "the ledger option is not in the v1 body");
        body.accepts = required.accepts.map((option) => ({
          scheme: option.scheme, network: option.network, maxAmountRequired: option.amount,
          resource: required.resource.url, description: "", mimeType: "application/json",
          payTo: option.payTo, maxTimeoutSeconds: option.maxTimeoutSeconds, asset: option.asset,
        }));
        return new Response(JSON.stringify(body), { status: 402, headers });
      },
    });
    const agent = await server.agent("1.00");
    const response = await ledgerClient(agent)(shop.url("/v1/weather/quito"));
    assert.equal(response.status, 200);
    const record = pw.paymentOf(response);
    assert.equal(record.payment.x402Version, 1);
    assert.ok(response.headers.get("X-PAYMENT-RESPONSE"));
    assert.equal(record.settlement.success, true);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000));
  });

  test("the paywall refuses bad payments with 402 and codes, and passes unpriced routes", async () => {
    const shop = await provider({ routes: [WEATHER, { method: "GET", path: "/free", price: { flat: "0" } }] });
    const plain = await fetch(shop.url("/v1/weather/paris"));
    assert.equal(plain.status, 402);
    const required = pw.decodePaymentRequired(plain.headers.get("PAYMENT-REQUIRED"), undefined);
    assert.equal(required.x402Version, 2);
    assert.equal(required.accepts[0].amount, "10000");
    assert.ok(required.extensions["payment-identifier"]);
    const v1 = await plain.json();
    assert.equal(v1.x402Version, 1);
    // The ledger option has no v1 network name: a v1 client could not parse it.
    assert.deepEqual(v1.accepts, []);
    for (const [header, code] of [
      ["%%%", "header_malformed"],
      [btoa('{"x402Version":9}'), "invalid_x402_version"],
      [pw.encodeHeader({ ...required, accepts: undefined, accepted: { ...required.accepts[0], amount: "1" }, payload: {} }), "payment_requirements_mismatch"],
    ]) {
      const answer = await fetch(shop.url("/v1/weather/paris"), { headers: { "PAYMENT-SIGNATURE": header } });
      assert.equal(answer.status, 402);
      assert.equal((await answer.json()).error, code);
    }
    assert.equal((await fetch(shop.url("/free"))).status, 200);
    assert.equal((await fetch(shop.url("/unpriced"))).status, 200);
    assert.equal(shop.calls, 2);
  });

  test("a failing handler is not charged for", async () => {
    const shop = await provider({ handler: async () => new Response("boom", { status: 500 }) });
    const agent = await server.agent("1.00");
    const response = await ledgerClient(agent)(shop.url("/v1/weather/paris"));
    assert.equal(response.status, 500);
    assert.equal(await server.balance(agent.walletId), "1000000");
  });
});
