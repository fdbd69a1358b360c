// The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core) against
// a live `paywire-demo` with its demo data: sign in as the provider, the agent and the operator,
// check that the cards and charts show what the API says (the exact totals), that tenants show
// by name, priced endpoints with their prices, deliveries with their event types, the policy in
// words; that nothing on the page errs; and write a screenshot of each view
// (target/dashboard/*.png, the test's artifacts; README's pictures are copies).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const repo = new URL("../../", import.meta.url).pathname;
const DEMO = process.env.PAYWIRE_DEMO_BIN ?? join(repo, "target/debug/paywire-demo");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.DASHBOARD_SCREENSHOTS ?? join(repo, "target/dashboard");

let demo, browser, origin, providerKey, agentKey, operatorKey;

/** Starts the demo (it keeps serving) and reads its banner until it says so. */
function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), "paywire-dashboard-"));
  const child = spawn(DEMO, ["--payments", "12", "--serve", "--listen", "127.0.0.1:0"], { cwd: dir, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the demo did not come up:\n${out}`)), 60_000);
    child.on("exit", (code) => reject(new Error(`the demo exited (${code}):\n${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("Ctrl-C stops it.")) {
        clearTimeout(timer);
        resolve({ child, out });
      }
    });
  });
}

before(async () => {
  assert.ok(existsSync(DEMO), `${DEMO} is missing: cargo build -p paywire-sandbox`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const started = await startDemo();
  demo = started.child;
  origin = started.out.match(/dashboard\s+(http:\/\/\S+)\/dashboard/)[1];
  providerKey = started.out.match(/sign in as the provider with (\S+)/)[1];
  agentKey = started.out.match(/or as the agent with\s+(\S+)/)[1];
  operatorKey = started.out.match(/or as the operator with\s+(\S+)/)[1];
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
  });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.on("exit", resolve));
    demo.kill("SIGINT");
    await exited;
  }
});

async function api(path, key) {
  const response = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(response.status, 200, path);
  return response.json();
}

/** Exact sum of decimal strings (up to 18 places), as a decimal string without trailing zeros. */
function sum(values) {
  const scale = 10n ** 18n;
  let total = 0n;
  for (const value of values) {
    const [whole, fraction = ""] = value.split(".");
    total += BigInt(whole) * scale + BigInt(fraction.padEnd(18, "0"));
  }
  const fraction = (total % scale).toString().padStart(18, "0").replace(/0+$/, "");
  return `${total / scale}${fraction ? `.${fraction}` : ""}`;
}

/** A page signed in with `key`, ready; with the errors it logged. */
async function signIn(key) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  const response = await page.goto(`${origin}/dashboard`);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  await page.fill("#key", key);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#view[data-ready=true]", { timeout: 15_000 });
  return { page, errors };
}

test("the provider view shows the revenue the API reports, charted by day", async () => {
  const me = await api("/v1/me", providerKey);
  const revenue = await api(`/v1/providers/${me.tenantId}/revenue`, providerKey);
  const usd = revenue.assets[0];
  assert.equal(usd.totals.payments, 12 + 1, "the demo made its payments: 12 over HTTP, and its paid MCP tool call");
  const { page, errors } = await signIn(providerKey);
  assert.equal(await page.textContent("[data-testid=total-gross]"), `$${usd.totals.gross}`);
  assert.equal(await page.textContent("[data-testid=total-net]"), `$${usd.totals.net}`);
  assert.equal(await page.textContent("[data-testid=total-payments]"), String(usd.totals.payments));
  const bars = await page.$$eval("[data-testid=revenue-chart] rect.bar", (rects) =>
    rects.map((r) => ({ key: r.dataset.key, value: r.dataset.value, height: Number(r.getAttribute("height")) })));
  assert.equal(bars.length, usd.byPeriod.length);
  assert.equal(sum(bars.map((b) => b.value)), sum([usd.totals.gross]), "the bars add up to the total");
  assert.ok(bars.every((b) => b.height > 0), "every bar is drawn");
  const rows = await page.$$eval("[data-testid=payments] tbody tr", (trs) => trs.length);
  assert.equal(rows, Math.min(10, usd.totals.payments));
  const deliveries = await page.$$eval("[data-testid=deliveries] tbody tr", (trs) => trs.map((tr) => tr.cells[1].textContent));
  assert.ok(deliveries.length >= 1, "the demo's webhooks were delivered and listed");
  assert.ok(deliveries.every((type) => type === "payment.settled"), `deliveries name their event: ${deliveries}`);
  // The priced endpoints the demo registered, with their prices in dollars.
  const endpoints = await page.$$eval("[data-testid=endpoints] tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const registered = await api(`/v1/providers/${me.tenantId}/endpoints?limit=100`, providerKey);
  assert.equal(endpoints.length, registered.data.length);
  assert.ok(endpoints.length >= 3, "the demo's routes are listed");
  const weather = endpoints.find((cells) => cells[1] === "/v1/weather/:city");
  assert.equal(weather?.[2], "$0.01", JSON.stringify(endpoints));
  // Payers by name, never by id.
  const payers = await page.$$eval("[data-testid=payments] tbody tr", (trs) => trs.map((tr) => tr.cells[2].textContent));
  assert.ok(payers.every((payer) => payer === "Demo research agent"), `payers by name: ${payers}`);
  assert.match(await page.textContent("#who"), /provider/);
  await page.screenshot({ path: join(SHOTS, "provider.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the agent view shows balance and spending against the daily limit", async () => {
  const me = await api("/v1/me", agentKey);
  const spending = await api(`/v1/agents/${me.tenantId}/spending`, agentKey);
  const wallet = await api(`/v1/wallets/${me.walletId}`, agentKey);
  const { page, errors } = await signIn(agentKey);
  const usd = spending.assets[0];
  assert.equal(await page.textContent("[data-testid=total-spent]"), `$${usd.totals.gross}`);
  assert.equal(await page.textContent("[data-testid=balance]"), `$${wallet.balances.find((b) => b.asset === "USD").amount}`);
  assert.equal(await page.textContent("[data-testid=daily-limit]"), `$${spending.policy.dailyLimit}`);
  const limit = await page.getAttribute("[data-testid=spending-chart-limit]", "data-value");
  assert.equal(limit, spending.policy.dailyLimit);
  const bars = await page.$$eval("[data-testid=spending-chart] rect.bar", (rects) => rects.map((r) => r.dataset.value));
  assert.equal(sum(bars), sum([usd.totals.gross]));
  // The policy in words: each limit the API reports, none as raw JSON.
  const policy = await page.$$eval("[data-testid=policy] tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(policy.find(([limit]) => limit === "Per day"), ["Per day", `at most $${spending.policy.dailyLimit}`]);
  assert.deepEqual(policy.find(([limit]) => limit === "Per request"), ["Per request", `at most $${spending.policy.maxPerRequest}`]);
  assert.ok(policy.every(([, words]) => !words.includes("{")), JSON.stringify(policy));
  // Providers by name.
  const providers = await page.$$eval("[data-testid=payments] tbody tr", (trs) => trs.map((tr) => tr.cells[2].textContent));
  assert.ok(providers.length > 0 && providers.every((name) => name === "Demo Weather Co"), `providers by name: ${providers}`);
  await page.screenshot({ path: join(SHOTS, "agent.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the operator view lists every tenant by name, recent settlements and webhook health", async () => {
  const tenants = await api("/v1/tenants?limit=100", operatorKey);
  const { page, errors } = await signIn(operatorKey);
  assert.match(await page.textContent("#who"), /operator/);
  const rows = await page.$$eval("[data-testid=tenants] tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(rows.length, tenants.data.length);
  const names = rows.map(([name]) => name);
  assert.ok(names.includes("Demo Weather Co") && names.includes("Demo research agent"), JSON.stringify(names));
  const provider = rows.find(([name]) => name === "Demo Weather Co");
  assert.equal(provider[4], "healthy", "the demo's webhook endpoint delivers");
  assert.equal(await page.textContent("[data-testid=providers]"), String(tenants.data.filter((t) => t.kind === "provider").length));
  const settlements = await page.$$eval("[data-testid=payments] tbody tr", (trs) => trs.map((tr) => [tr.cells[2].textContent, tr.cells[3].textContent]));
  assert.equal(settlements.length, 10);
  assert.ok(settlements.every(([payer, provider]) => payer === "Demo research agent" && provider === "Demo Weather Co"), JSON.stringify(settlements));
  const deliveries = await page.$$eval("[data-testid=deliveries] tbody tr", (trs) => trs.length);
  assert.ok(deliveries >= 1);
  await page.screenshot({ path: join(SHOTS, "operator.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a wrong key is refused with the API's code, and nothing is shown", async () => {
  const page = await browser.newPage();
  await page.goto(`${origin}/dashboard`);
  await page.fill("#key", "sk_agent_not_a_key");
  await page.click("#sign-in button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=error]").textContent.length > 0);
  assert.match(await page.textContent("[data-testid=error]"), /^unauthorized:/);
  assert.equal(await page.isHidden("#view"), true);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("paywire-key")), null, "a refused key is not kept");
  await page.close();
});
