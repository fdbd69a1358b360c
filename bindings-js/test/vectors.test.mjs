// Every shared vector in tests/vectors/ through the wasm API, with the outputs Rust produces.
// Each op is implemented with the public exports a user would call (see tools/vectors for the
// Rust side of the same ops).

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

import { forEachEngine } from "./engines.mjs";

forEachEngine((test, pw, engine) => {
  const dir = new URL("../../tests/vectors/", import.meta.url);
  const files = readdirSync(dir).filter((name) => name.endsWith(".json")).sort();

  const hex = (text) => Uint8Array.from(Buffer.from(text, "hex"));

  function ring(keys) {
    const [first, ...rest] = keys;
    const keyRing = new pw.KeyRing(first.kid, hex(first.secret));
    for (const key of rest) keyRing.addVerifyingKey(key.kid, hex(key.secret));
    return keyRing;
  }

  function sequence(input) {
    const store = new pw.MemoryStore(input.capacity, input.retentionSeconds, input.leaseSeconds);
    const results = input.steps.map((step) => {
      pw.validateIdempotencyKey(step.key);
      const fp = pw.fingerprint("POST", "/v1/pay", step.body);
      const attempt = (work) => {
        try {
          return work();
        } catch (error) {
          return { error: error.code };
        }
      };
      switch (step.action) {
        case "begin":
          return attempt(() => store.begin(step.key, fp, step.now));
        case "complete":
          return attempt(() => {
            store.complete(step.key, fp, step.status ?? 200, `outcome of ${step.body}`, step.now);
            return { completed: true };
          });
        case "abandon":
          store.abandon(step.key, fp);
          return { abandoned: true };
        default:
          throw new Error(`unknown step ${step.action}`);
      }
    });
    return { results };
  }

  const ops = {
    "flow.client": (i) => {
      const flow = new pw.ClientFlow(i.config, i.method, i.url);
      return { actions: i.events.map((event) => flow.feed(event)) };
    },
    "flow.paywall": (i) => {
      const paywall = new pw.Paywall(i.config);
      const flow = new pw.PaywallFlow();
      const keys = i.keys ? ring(i.keys) : undefined;
      return { actions: i.events.map((event) => (keys ? paywall.feedWithKeys(flow, event, keys) : paywall.feed(flow, event))) };
    },
    "flow.mcp_paywall": (i) => {
      const paywall = new pw.McpPaywall(i.config);
      const flow = new pw.McpPaywallFlow();
      const keys = i.keys ? ring(i.keys) : undefined;
      return { actions: i.events.map((event) => (keys ? paywall.feedWithKeys(flow, event, keys) : paywall.feed(flow, event))) };
    },
    "flow.mcp_client": (i) => {
      const flow = new pw.McpClientFlow(i.config, i.tool);
      return { actions: i.events.map((event) => flow.feed(event)) };
    },
    "flow.mcp_tool_meta": (i) => {
      const paywall = new pw.McpPaywall(i.config);
      return { meta: Object.fromEntries(i.tools.map((tool) => [tool, paywall.toolMeta(tool, i.now) ?? null])) };
    },

    "money.parse_price": (i) => ({ atomic: pw.parsePrice(i.text, i.decimals) }),
    "money.parse_atomic": (i) => ({ atomic: pw.parseAtomic(i.text) }),
    "money.to_decimal": (i) => ({ decimal: pw.toDecimal(i.atomic, i.decimals) }),
    "money.from_decimal": (i) => ({ atomic: pw.fromDecimal(i.decimal, i.decimals) }),
    "money.format": (i) => ({ text: pw.formatAmount(i.atomic, i.decimals) }),
    "money.rescale": (i) => ({ atomic: pw.rescaleAmount(i.atomic, i.fromDecimals, i.toDecimals) }),

    "pricing.quote": (i) => new pw.Pricebook(i.pricebook).quote(i.request),
    "pricing.split_fee": (i) => pw.splitFee(i.gross, i.feeBps),
    "pricing.path_matches": (i) => ({ matches: pw.pathMatches(i.pattern, i.path) }),
    "pricing.payment_required": (i) => {
      const quote = new pw.Pricebook(i.pricebook).quote(i.request);
      const error = i.x402Version === 1 ? undefined : "Payment required";
      return pw.paymentRequired(quote, i.options, i.resource, i.x402Version, error, undefined);
    },

    "policy.evaluate": (i) => new pw.Policy(i.policy).evaluate(i.intent, pw.Usage.fromJSON(i.usage), i.now),
    "policy.select": (i) => new pw.Policy(i.policy).select(i.paymentRequired, pw.Usage.fromJSON(i.usage), i.now),
    "policy.record_then_evaluate": (i) => {
      const policy = new pw.Policy(i.policy);
      const usage = new pw.Usage();
      for (const payment of i.payments) policy.record(usage, payment.amount, payment.at);
      return policy.evaluate(i.intent, usage, i.now);
    },

    "token.issue": (i) => ({ token: ring(i.keys).issue(i.claims) }),
    "token.verify": (i) => ring(i.keys).verify(i.token, i.method, i.resource, i.now, i.uses),
    "token.attenuate": (i) => ({ token: pw.attenuateToken(i.token, i.caveat) }),
    "token.hash": (i) => ({ hash: pw.tokenHash(i.token) }),

    "webhook.sign": (i) => ({ header: pw.signWebhook(i.secret, i.timestamp, i.body) }),
    "webhook.verify": (i) => ({ timestamp: pw.verifyWebhook(i.header, i.secret, i.body, i.now, i.toleranceSeconds) }),

    "idempotency.validate_key": (i) => ({ key: pw.validateIdempotencyKey(i.key) }),
    "idempotency.fingerprint": (i) => ({ fingerprint: pw.fingerprint(i.method, i.path, i.body) }),
    "idempotency.sequence": sequence,

    "protocol.decode_payment_payload": (i) => pw.decodePaymentPayload(i.header, i.limit ?? undefined),
    "protocol.decode_payment_required": (i) => pw.decodePaymentRequired(i.header, i.limit ?? undefined),
    "protocol.encode_header": (i) => ({ header: pw.encodeHeader(i.value) }),
    "protocol.resolve_network": (i) => pw.resolveNetwork(i.network),
    "protocol.requirements_match": (i) => ({ matches: pw.requirementsMatch(i.accepted, i.offered) }),
    "protocol.facilitator_request": (i) => {
      const request = pw.facilitatorRequest(i.body.paymentPayload, i.body.paymentRequirements);
      const payment = request.paymentPayload;
      const requirements = request.paymentRequirements;
      return {
        x402Version: request.x402Version,
        scheme: payment.x402Version === 1 ? payment.scheme : payment.accepted.scheme,
        network: payment.x402Version === 1 ? payment.network : payment.accepted.network,
        amount: requirements.amount ?? requirements.maxAmountRequired,
      };
    },

    "ledger.sign": (i) => pw.signLedgerAuthorization(i.requirements, i.walletId, hex(i.secret), hex(i.nonce), i.now),
    "ledger.verify": (i) => {
      const { payer, value } = pw.verifyLedgerPayment(i.paymentPayload, i.requirements, i.now, i.secrets);
      return { payer, value };
    },

    "evm.verify": (i) => {
      const { payer, value } = pw.verifyEvmPayment(i.paymentPayload, i.requirements, i.now);
      return { payer, value };
    },
    "evm.sign": (i) => pw.signEvmAuthorization(i.requirements, i.privateKey, hex(i.nonce), i.now),
    "evm.hashes": (i) => pw.eip712Hashes(i.domain, i.message),
    "evm.address": (i) => ({ checksum: pw.checksumAddress(i.text) }),
  };

  let total = 0;
  for (const name of files) {
    const file = JSON.parse(readFileSync(new URL(name, dir), "utf8"));
    test(`vectors: ${name} (${file.cases.length} cases)`, () => {
      for (const c of file.cases) {
        const run = ops[c.op];
        assert.ok(run, `${name}: no wasm implementation of op ${c.op}`);
        let outcome;
        try {
          outcome = { ok: run(c.input) };
        } catch (error) {
          assert.equal(typeof error.code, "string", `${c.title}: threw without a code: ${error}`);
          outcome = { error: error.code, message: error.message };
        }
        if ("error" in c) {
          assert.deepEqual(outcome.error, c.error, `${c.title}: expected error ${c.error}, got ${JSON.stringify(outcome)}`);
        } else {
          assert.ok("ok" in outcome, `${c.title}: expected success, got ${JSON.stringify(outcome)}`);
          assert.deepEqual(outcome.ok, c.expected, c.title);
        }
        total += 1;
      }
    });
  }

  test("vectors: every file and case ran", () => {
    assert.ok(files.length >= 8, `expected the 8 vector files, found ${files.length}`);
    assert.ok(total >= 395, `expected at least 395 cases, ran ${total}`);
  });
});
