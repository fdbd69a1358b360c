// Paid MCP tools in JavaScript, with both npm engines: Paywire's mcpPaywall inside the official
// SDK's McpServer over Streamable HTTP, paid by wrapMcpClient around the official SDK's Client
// (and called raw, as a hostile or naive client would), settled by a real paywire-server on
// its ledger network and on its devnet EVM network.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { connect, serveMcp, startPaywireServer } from "./support.mjs";
import { forEachEngine } from "../../bindings-js/test/engines.mjs";

const LEDGER_USD = { network: "paywire:main", address: "USD", symbol: "USD", decimals: 6 };
const USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const USDC = { network: "eip155:84532", address: USDC_BASE_SEPOLIA, symbol: "USDC", decimals: 6, extra: { name: "USDC", version: "2" } };
const EVM_BALANCE = `eip155:84532/erc20:${USDC_BASE_SEPOLIA.toLowerCase()}`;

forEachEngine((test, pw) => {
  let server;
  const opened = [];
  before(async () => {
    server = await startPaywireServer();
  });
  after(async () => {
    await Promise.all(opened.map((closable) => closable.close()));
    await server?.stop();
  });

  /** An MCP server selling `search` (1 cent), `report` (5 cents, a bundle of 3 more calls),
   *  `flaky` (1 cent, throws) and a free `echo`; `runs` counts each tool's runs. */
  async function shop({ facilitatorUrl, evm = false, tokenKeys } = {}) {
    const payTo = pw.evmAddress(`0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`);
    const provider = await server.provider(payTo);
    const wall = pw.mcpPaywall(
      { search: "$0.01", report: { price: "$0.05", bundle: { maxUses: 3, seconds: 3600 } }, flaky: "$0.01", quote: "$0.01" },
      {
        facilitatorUrl: facilitatorUrl ?? server.url,
        accepts: [evm ? { asset: USDC, payTo } : { asset: LEDGER_USD, payTo: provider.walletId }],
        tokenKeys,
        facilitatorRetries: 0,
      },
    );
    const runs = { search: 0, report: 0, flaky: 0, echo: 0, quote: 0 };
    const http = await serveMcp((mcp) => {
      mcp.registerTool("search", { description: "Search", inputSchema: { q: z.string() }, _meta: wall.toolMeta("search") },
        wall.paid("search", async ({ q }) => {
          runs.search += 1;
          return { content: [{ type: "text", text: `results for ${q}` }] };
        }));
      mcp.registerTool("report", { description: "A report", _meta: wall.toolMeta("report") },
        wall.paid("report", async () => {
          runs.report += 1;
          return { content: [{ type: "text", text: "the report" }] };
        }));
      mcp.registerTool("flaky", { description: "Fails after payment" },
        wall.paid("flaky", async () => {
          runs.flaky += 1;
          throw new Error("the upstream is down");
        }));
      mcp.registerTool("quote", { description: "Priced by its arguments", inputSchema: { pages: z.number() } },
        wall.paid("quote", async ({ pages }) => {
          runs.quote += 1;
          return { content: [{ type: "text", text: `${pages} pages` }] };
        }, { price: ({ pages }) => `$${(pages / 100).toFixed(2)}` }));
      mcp.registerTool("echo", { description: "Free", inputSchema: { text: z.string() } }, async ({ text }) => {
        runs.echo += 1;
        return { content: [{ type: "text", text }] };
      });
    });
    opened.push(http);
    return { http, provider, runs, payTo };
  }

  async function client(url) {
    const mcp = await connect(url);
    opened.push(mcp);
    return mcp;
  }

  async function ledgerAgent(funds = "1.00") {
    const agent = await server.agent(funds);
    return { agent, options: { payer: { type: "ledger", walletId: agent.walletId, secret: agent.walletSecret }, policy: { maxPerRequest: "0.10", dailyLimit: "1.00" } } };
  }

  async function rejection(promise) {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    assert.fail("expected a rejection");
  }

  test("mcp: a paid tool call is paid on the ledger, once, with the settlement beside the result", async () => {
    const { http, provider, runs } = await shop();
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(http.url), options);
    const result = await paying.callTool({ name: "search", arguments: { q: "x402" } });
    assert.deepEqual(result.content, [{ type: "text", text: "results for x402" }]);
    assert.equal(result.isError, undefined);
    assert.equal(result.payment.amount, "0.01");
    assert.equal(result.payment.settlement.success, true);
    assert.deepEqual(result._meta["x402/payment-response"], result.payment.settlement);
    assert.equal(runs.search, 1);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000));
    assert.equal(await server.balance(provider.walletId), "10000");
  });

  test("mcp: an EVM agent pays on the devnet network with an EIP-3009 signature", async () => {
    const { http } = await shop({ evm: true });
    const privateKey = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;
    const funded = await server.api("POST", "/v1/evm/fund", { network: "eip155:84532", address: pw.evmAddress(privateKey), amount: "1.00" });
    const paying = pw.wrapMcpClient(await client(http.url), { payer: { type: "evm", privateKey }, policy: { maxPerRequest: "0.10", dailyLimit: "1.00" } });
    const result = await paying.callTool({ name: "search", arguments: { q: "chain" } });
    assert.equal(result.payment.settlement.success, true);
    assert.equal(result.payment.payment.accepted.network, "eip155:84532");
    assert.equal(await server.balance(funded.walletId, EVM_BALANCE), String(1_000_000 - 10_000));
  });

  test("mcp: an unpaid call answers a 402 result; tools/list shows the price", async () => {
    const { http, runs } = await shop();
    const raw = await client(http.url);
    const result = await raw.callTool({ name: "search", arguments: { q: "free?" } });
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent.x402Version, 2);
    assert.equal(result.structuredContent.resource.url, "mcp://tool/search");
    assert.equal(result.structuredContent.accepts[0].amount, "10000");
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
    assert.equal(runs.search, 0);
    const { tools } = await raw.listTools();
    const search = tools.find((tool) => tool.name === "search");
    assert.equal(search._meta["paywire/payment-required"].accepts[0].amount, "10000");
    assert.equal(tools.find((tool) => tool.name === "echo")._meta, undefined);
    const free = await raw.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.deepEqual(free.content, [{ type: "text", text: "hi" }]);
  });

  test("mcp: a tool that throws after verification is not charged", async () => {
    const { http, runs } = await shop();
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(http.url), options);
    const result = await paying.callTool({ name: "flaky" });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /upstream is down/);
    assert.equal(result.payment.settlement, undefined);
    assert.equal(runs.flaky, 1);
    assert.equal(await server.balance(agent.walletId), "1000000");
  });

  test("mcp: a payment sent again is settled once, answered once more, then refused", async () => {
    const { http, runs } = await shop();
    const { agent, options } = await ledgerAgent();
    const raw = await client(http.url);
    let captured;
    const spy = { callTool: async (params, ...rest) => ((captured = params._meta?.["x402/payment"] ?? captured), raw.callTool(params, ...rest)) };
    const first = await pw.wrapMcpClient(spy, options).callTool({ name: "search", arguments: { q: "a" } });
    // The payer's re-send of a lost answer: the same settlement, the tool's answer again.
    const resent = await raw.callTool({ name: "search", arguments: { q: "a" }, _meta: { "x402/payment": captured } });
    assert.equal(resent.isError, undefined, JSON.stringify(resent));
    assert.equal(resent._meta["x402/payment-response"].transaction, first.payment.settlement.transaction);
    // Any further copy buys nothing.
    const replay = await raw.callTool({ name: "search", arguments: { q: "a" }, _meta: { "x402/payment": captured } });
    assert.equal(replay.isError, true);
    assert.equal(replay.structuredContent.error, "payment_already_delivered");
    assert.equal(runs.search, 2);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 10_000));
  });

  test("mcp: a payment as JSON text or base64 is read as well as an object", async () => {
    const { http, runs } = await shop();
    const raw = await client(http.url);
    for (const form of ["text", "base64"]) {
      const { options } = await ledgerAgent();
      let payment;
      const capture = { callTool: async (params) => {
        if (!params._meta?.["x402/payment"]) return raw.callTool(params);
        payment = params._meta["x402/payment"];
        throw Object.assign(new Error("captured"), { code: -32603 });
      } };
      await rejection(pw.wrapMcpClient(capture, options).callTool({ name: "search", arguments: { q: form } }));
      const json = JSON.stringify(payment);
      const sent = form === "text" ? json : Buffer.from(json).toString("base64");
      const result = await raw.callTool({ name: "search", arguments: { q: form }, _meta: { "x402/payment": sent } });
      assert.equal(result.isError, undefined, JSON.stringify(result));
      assert.equal(result._meta["x402/payment-response"].success, true);
    }
    assert.equal(runs.search, 2);
  });

  test("mcp: a payment for a cheaper tool does not buy a pricier one", async () => {
    const { http, runs } = await shop();
    const { agent, options } = await ledgerAgent();
    const raw = await client(http.url);
    let payment;
    const capture = { callTool: async (params) => {
      if (!params._meta?.["x402/payment"]) return raw.callTool(params);
      payment = params._meta["x402/payment"];
      throw Object.assign(new Error("captured"), { code: -32603 });
    } };
    await rejection(pw.wrapMcpClient(capture, options).callTool({ name: "search", arguments: { q: "cheap" } }));
    const result = await raw.callTool({ name: "report", _meta: { "x402/payment": payment } });
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent.error, "payment_requirements_mismatch");
    assert.equal(runs.report, 0);
    assert.equal(await server.balance(agent.walletId), "1000000");
  });

  test("mcp: a call priced by its arguments is paid at that price", async () => {
    const { http, runs } = await shop();
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(http.url), options);
    const result = await paying.callTool({ name: "quote", arguments: { pages: 7 } });
    assert.equal(result.payment.amount, "0.07");
    assert.equal(runs.quote, 1);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 70_000));
  });

  test("mcp: the spending policy refuses, with its code, before anything is paid", async () => {
    const { http, runs } = await shop();
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(http.url), { ...options, policy: { maxPerRequest: "0.001", dailyLimit: "1.00" } });
    const error = await rejection(paying.callTool({ name: "search", arguments: { q: "x" } }));
    assert.equal(error.code, "policy_max_per_request_exceeded");
    const approving = pw.wrapMcpClient(await client(http.url), { ...options, policy: { maxPerRequest: "0.10", dailyLimit: "1.00", approvalThreshold: "0.005" } });
    const denied = await rejection(approving.callTool({ name: "search", arguments: { q: "x" } }));
    assert.equal(denied.code, "policy_approval_denied", "no approver means no");
    assert.equal(runs.search, 0);
    assert.equal(await server.balance(agent.walletId), "1000000");
  });

  test("mcp: a bundle tool sells a token the next calls present instead of paying", async () => {
    const keys = new pw.KeyRing("k1", crypto.getRandomValues(new Uint8Array(32)));
    const { http, runs } = await shop({ tokenKeys: keys });
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(http.url), options);
    const first = await paying.callTool({ name: "report" });
    assert.ok(first.payment.accessToken, "a token sold with the payment");
    for (let i = 0; i < 3; i++) {
      const again = await paying.callTool({ name: "report" });
      assert.equal(again.payment, undefined, "paid with the token");
    }
    assert.equal(runs.report, 4);
    assert.equal(await server.balance(agent.walletId), String(1_000_000 - 50_000));
    const other = await paying.callTool({ name: "search", arguments: { q: "t" } });
    assert.ok(other.payment, "the report's token does not open the search");
  });

  test("mcp: a server that answers every call with a 402 gets one payment attempt, then payment_rejected", async () => {
    const { http: honest } = await shop();
    const raw = await client(honest.url);
    const demand = (await raw.callTool({ name: "search", arguments: { q: "x" } }));
    let calls = 0;
    const hostile = await serveMcp((mcp) => {
      mcp.registerTool("search", { inputSchema: { q: z.string() } }, async () => {
        calls += 1;
        return demand;
      });
    });
    opened.push(hostile);
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(hostile.url), options);
    const error = await rejection(paying.callTool({ name: "search", arguments: { q: "x" } }));
    assert.equal(error.code, "payment_rejected");
    assert.equal(calls, 2, "the unpaid call and one paid one, never a third");
    assert.equal(await server.balance(agent.walletId), "1000000");
  });

  test("mcp: a facilitator that cannot be reached: an error result, the tool not run, nothing charged", async () => {
    const { http, runs } = await shop({ facilitatorUrl: "http://127.0.0.1:9" });
    const { agent, options } = await ledgerAgent();
    const paying = pw.wrapMcpClient(await client(http.url), options);
    const result = await paying.callTool({ name: "search", arguments: { q: "x" } });
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent.error.code, "facilitator_unavailable");
    assert.equal(runs.search, 0);
    assert.equal(await server.balance(agent.walletId), "1000000");
  });

  test("mcp: malformed and huge _meta payments get coded 402 results", async () => {
    const { http, runs } = await shop();
    const raw = await client(http.url);
    const cases = [
      [7, "invalid_payload"],
      ["%%%", "header_malformed"],
      [{ x402Version: 2, pad: "x".repeat(40_000) }, "header_too_large"],
      ["{not json", "invalid_payload"],
    ];
    for (const [payment, code] of cases) {
      const result = await raw.callTool({ name: "search", arguments: { q: "x" }, _meta: { "x402/payment": payment } });
      assert.equal(result.isError, true);
      assert.equal(result.structuredContent.error, code, JSON.stringify(payment).slice(0, 40));
    }
    assert.equal(runs.search, 0);
  });
});
