// The web build in headless Chromium (Debian's `chromium`, driven by playwright-core): the page
// initializes the module the browser way and verifies an access token and an EIP-3009 payment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { extname } from "node:path";
import { chromium } from "playwright-core";
import * as pw from "../dist/node.js";

const root = new URL("../", import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

let server, browser, origin;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  // Static files of the package, as a site would serve them.
  server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html" });
      return res.end("<!doctype html><title>paywire</title>");
    }
    const file = new URL(`.${path}`, root);
    if (!file.href.startsWith(root.href) || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": types[extname(file.pathname)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve) ?? resolve());
});

test("a page loads the web build and verifies a token and an EIP-3009 signature", async () => {
  const key = Array.from(crypto.getRandomValues(new Uint8Array(32)));
  const ring = new pw.KeyRing("k1", Uint8Array.from(key));
  const token = ring.issue({ id: "t-browser", iss: "api", sub: "agent-7", scope: { resource: "https://api.example.com/v1/", methods: ["GET"] }, iat: 1000, exp: 5000, maxUses: 3 });

  const vectors = JSON.parse(readFileSync(new URL("../tests/vectors/evm_exact.json", root), "utf8"));
  const valid = vectors.cases.find((c) => c.op === "evm.verify" && c.expected);
  const forged = vectors.cases.find((c) => c.op === "evm.verify" && c.error === "invalid_exact_evm_signature");

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${origin}/`);
  const result = await page.evaluate(
    async ({ key, token, valid, forged }) => {
      const pw = await import("/dist/web.js");
      await pw.default(); // fetches pkg/paywire_wasm_bg.wasm next to the glue
      const ring = new pw.KeyRing("k1", Uint8Array.from(key));
      const verified = ring.verify(token, "GET", "https://api.example.com/v1/weather", 2000, 0);
      let expired;
      try {
        ring.verify(token, "GET", "https://api.example.com/v1/weather", 6000, 0);
      } catch (error) {
        expired = error.code;
      }
      const payment = pw.verifyEvmPayment(valid.input.paymentPayload, valid.input.requirements, valid.input.now);
      let forgedCode;
      try {
        pw.verifyEvmPayment(forged.input.paymentPayload, forged.input.requirements, forged.input.now);
      } catch (error) {
        forgedCode = error.code;
      }
      return { sub: verified.claims.sub, expired, payer: payment.payer, value: payment.value, forgedCode, userAgent: navigator.userAgent };
    },
    { key, token, valid, forged },
  );
  assert.deepEqual(errors, []);
  assert.equal(result.sub, "agent-7");
  assert.equal(result.expired, "token_expired");
  assert.equal(result.payer, valid.expected.payer);
  assert.equal(result.value, valid.expected.value);
  assert.equal(result.forgedCode, "invalid_exact_evm_signature");
  assert.match(result.userAgent, /HeadlessChrome|Chrome/);
});
