// The binding's contract beyond the vectors: coded errors, no precision loss, and no input
// that traps the instance.

import assert from "node:assert/strict";

import { forEachEngine } from "./engines.mjs";

forEachEngine((test, pw, engine) => {
  const KEY = new Uint8Array(32).fill(7);
  const claims = (extra = {}) => ({
    id: "t1", iss: "api", sub: "agent",
    scope: { resource: "https://a.com/v1/", methods: ["GET"] },
    iat: 100, exp: 200, maxUses: 3, ...extra,
  });

  function codeOf(work) {
    try {
      work();
    } catch (error) {
      return error.code ?? `uncoded ${error.name}: ${error.message}`;
    }
    return "no error";
  }

  test("a core error becomes an Error named PaywireError with code and message", () => {
    try {
      pw.parsePrice("ten dollars", 6);
      assert.fail("parsePrice accepted garbage");
    } catch (error) {
      assert.ok(error instanceof Error);
      assert.equal(error.name, "PaywireError");
      assert.equal(error.code, "amount_invalid");
      assert.match(error.message, /ten dollars/);
    }
  });

  test("an invalid payment's code is its x402 reason", () => {
    assert.equal(codeOf(() => pw.verifyEvmPayment({ x402Version: 7 }, {}, 1)), "invalid_x402_version");
  });

  test("times and counts must be whole numbers a JavaScript number holds exactly", () => {
    const ring = new pw.KeyRing("k1", KEY);
    const token = ring.issue(claims());
    for (const now of [150.5, -1, NaN, Infinity, 2 ** 53, "150"]) {
      assert.equal(codeOf(() => ring.verify(token, "GET", "https://a.com/v1/x", now, 0)), "invalid_argument", `now = ${now}`);
    }
    assert.equal(ring.verify(token, "GET", "https://a.com/v1/x", 150, 0).claims.sub, "agent");
  });

  test("an integer beyond 2^53 is refused, never rounded", () => {
    const ring = new pw.KeyRing("k1", KEY);
    // 2^53 + 2 survives JSON into the core exactly: claims holding it are not issued...
    assert.equal(codeOf(() => ring.issue(claims({ exp: 9007199254740994 }))), "token_claims_invalid");
    // ...and a holder's caveat that takes a count there cannot come back as a JS number.
    const token = pw.attenuateToken(ring.issue(claims({ maxUses: null })), { maxUses: 9007199254740994 });
    assert.equal(codeOf(() => pw.inspectToken(token)), "invalid_argument");
    assert.equal(codeOf(() => ring.verify(token, "GET", "https://a.com/v1/x", 150, 0)), "invalid_argument");
  });

  test("amounts cross as strings, exactly, up to 2^128 - 1", () => {
    const max = "340282366920938463463374607431768211455";
    assert.equal(pw.parseAtomic(max), max);
    assert.equal(pw.formatAmount(max, 6), "340282366920938463463374607431768.211455");
    assert.equal(codeOf(() => pw.parseAtomic("340282366920938463463374607431768211456")), "amount_overflow");
    assert.deepEqual(pw.splitFee(max, 250), { fee: "8507059173023461586584365185794205286", net: "331775307747915001876790242245974006169" });
  });

  test("wrong argument types throw coded errors instead of trapping", () => {
    const garbage = [undefined, null, 42, {}, [], true, 10n, Symbol("s"), () => 1];
    const ring = new pw.KeyRing("k1", KEY);
    const calls = {
      parsePrice: (x) => pw.parsePrice(x, 6),
      parseAtomic: (x) => pw.parseAtomic(x),
      formatAmount: (x) => pw.formatAmount(x, 6),
      tokenHash: (x) => pw.tokenHash(x),
      attenuateToken: (x) => pw.attenuateToken(x, x),
      inspectToken: (x) => pw.inspectToken(x),
      verify: (x) => ring.verify(x, x, x, x, x),
      issue: (x) => ring.issue(x),
      KeyRing: (x) => new pw.KeyRing(x, x),
      fingerprint: (x) => pw.fingerprint(x, x, x === undefined ? 5 : x),
      validateIdempotencyKey: (x) => pw.validateIdempotencyKey(x),
      decodePaymentRequired: (x) => pw.decodePaymentRequired(x),
      decodePaymentPayload: (x) => pw.decodePaymentPayload(x),
      resolveNetwork: (x) => pw.resolveNetwork(x),
      // `{}` (and, serde being lenient, `[]`) is a valid empty policy; a misspelt field is not.
      Policy: (x) => new pw.Policy(x === undefined ? 5 : typeof x === "object" && x !== null ? { dailyLimt: "1" } : x),
      Pricebook: (x) => new pw.Pricebook(x),
      signEvmPayment: (x) => pw.signEvmPayment(x, 0, x, x, 1),
      signLedgerPayment: (x) => pw.signLedgerPayment(x, 0, x, x, x, 1),
      verifyEvmPayment: (x) => pw.verifyEvmPayment(x, x, 1),
      verifyLedgerPayment: (x) => pw.verifyLedgerPayment(x, x, 1, x),
      checksumAddress: (x) => pw.checksumAddress(x),
      eip712Hashes: (x) => pw.eip712Hashes(x, x),
      MemoryStore: (x) => new pw.MemoryStore(typeof x === "number" ? 1.5 : x),
    };
    for (const [name, call] of Object.entries(calls)) {
      for (const value of garbage) {
        let thrown;
        try {
          call(value);
        } catch (error) {
          thrown = error;
        }
        assert.ok(thrown, `${name}(${String(typeof value)}) accepted garbage`);
        assert.ok(thrown instanceof Error, `${name}: threw a non-Error`);
        assert.equal(typeof thrown.code, "string", `${name}(${typeof value}): ${thrown.name}: ${thrown.message}`);
      }
    }
    // The instance is intact: state made before still works, and new calls succeed.
    assert.equal(pw.parsePrice("$0.01", 6), "10000");
    assert.equal(ring.verify(ring.issue(claims()), "GET", "https://a.com/v1/x", 150, 0).kid, "k1");
  });

  test("malformed, oversized and hostile headers are refused with codes", () => {
    assert.equal(codeOf(() => pw.decodePaymentPayload("%%%not base64")), "header_malformed");
    assert.equal(codeOf(() => pw.decodePaymentPayload("A".repeat(40_000))), "header_too_large");
    assert.equal(codeOf(() => pw.decodePaymentPayload(btoa("[1,2,3]"))), "invalid_payload");
    assert.equal(codeOf(() => pw.decodePaymentPayload(btoa('{"x402Version":"2"}'))), "invalid_payload");
    assert.equal(codeOf(() => pw.decodePaymentPayload("eyJ4NDAyVmVyc2lvbiI6Mn0", 8)), "header_too_large");
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    assert.equal(codeOf(() => pw.encodeHeader(JSON.parse("[]"))), "no error");
    assert.equal(codeOf(() => pw.decodePaymentPayload(btoa(deep), 1_000_000)), "invalid_payload");
  });

  test("fuzzed inputs never trap the instance", () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const alphabet = 'pw1.{}[]":,abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_=+/$ \\\u00e9\u0000';
    const noise = () => Array.from({ length: next() % 200 }, () => alphabet[next() % alphabet.length]).join("");
    const ring = new pw.KeyRing("k1", KEY);
    for (let i = 0; i < 3000; i++) {
      const text = noise();
      for (const call of [
        () => pw.parsePrice(text, 6),
        () => ring.verify(text, "GET", text, 150, 0),
        () => pw.attenuateToken(text, { exp: 1 }),
        () => pw.decodePaymentPayload(text),
        () => pw.decodePaymentRequired(btoa(unescape(encodeURIComponent(text)))),
        () => pw.resolveNetwork(text),
        () => pw.checksumAddress(text),
        () => pw.pathMatches(text, text),
      ]) {
        try {
          call();
        } catch (error) {
          assert.equal(typeof error.code, "string", `${error.name}: ${error.message}`);
        }
      }
    }
    assert.equal(pw.parsePrice("$0.01", 6), "10000");
  });

  test("the idempotency store replays, refuses reuse and in-flight duplicates", () => {
    const store = new pw.MemoryStore(10, 60);
    const fp = pw.fingerprint("POST", "/v1/pay", '{"b":1,"a":2}');
    assert.equal(fp, pw.fingerprint("POST", "/v1/pay", '{ "a": 2, "b": 1 }'));
    assert.deepEqual(store.begin("key-1", fp, 1000), { action: "proceed" });
    assert.equal(codeOf(() => store.begin("key-1", fp, 1000)), "idempotency_in_progress");
    store.complete("key-1", fp, 201, "created", 1001);
    assert.deepEqual(store.begin("key-1", fp, 1002), { action: "replay", status: 201, body: "created" });
    const other = pw.fingerprint("POST", "/v1/pay", '{"a":3}');
    assert.equal(codeOf(() => store.begin("key-1", other, 1002)), "idempotency_key_reused");
    assert.equal(store.size, 1);
    store.sweep(1000 + 61);
    assert.equal(store.size, 0);
  });

  test("policy state persists through Usage JSON", () => {
    const policy = new pw.Policy({ dailyLimit: "0.02" });
    const intent = { amount: "0.01", network: "eip155:8453", asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C" };
    const usage = new pw.Usage();
    policy.record(usage, "0.01", 86_400 * 10);
    const restored = pw.Usage.fromJSON(JSON.parse(JSON.stringify(usage.toJSON())));
    assert.deepEqual(policy.evaluate(intent, restored, 86_400 * 10 + 5), { decision: "allow" });
    policy.record(restored, "0.01", 86_400 * 10 + 6);
    assert.deepEqual(policy.evaluate(intent, restored, 86_400 * 10 + 7), { decision: "deny", reason: "policy_daily_limit_exceeded" });
    assert.equal(codeOf(() => new pw.Policy({ dailyLimit: 5.0 })), "policy_invalid");
    assert.equal(codeOf(() => new pw.Policy({ dailyLimt: "5" })), "policy_invalid");
  });
});
