// The Paywire dashboard: signs in with a provider's, an agent's or the operator's API key (kept
// in this tab's sessionStorage only) and shows what the settlement server's API says — nothing
// is computed here but the chart's geometry and the wording. Every value is inserted as text,
// never as HTML.

const KEY = "paywire-key";
const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const svg = ["svg", "rect", "line", "text", "g", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

async function api(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY)}` } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `${response.status}`);
    error.code = body?.error?.code ?? "http_error";
    throw error;
  }
  return body;
}

function when(seconds) {
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(5, 16);
}

/** A resource URL's path (the whole text when it is not a URL). */
function path(resource) {
  try {
    return new URL(resource).pathname;
  } catch {
    return resource ?? "";
  }
}

/** A ledger price rule's price in dollars (atomic units, 6 decimals). */
function dollars(atomic) {
  const digits = String(atomic).padStart(7, "0");
  const whole = digits.slice(0, -6).replace(/^0+(?=\d)/, "");
  const fraction = digits.slice(-6).replace(/0+$/, "").padEnd(2, "0");
  return `$${whole}.${fraction}`;
}

/** What a price rule charges, in words. */
function priceText(price) {
  if (price?.flat !== undefined) return dollars(price.flat);
  if (Array.isArray(price?.tiers)) return `tiered: from ${dollars(price.tiers[price.tiers.length - 1]?.price ?? "0")}`;
  return "see the rule";
}

/** A spending policy in words, one line per limit it sets. */
function policyWords(policy) {
  const lines = [];
  if (policy.maxPerRequest) lines.push(["Per request", `at most $${policy.maxPerRequest}`]);
  if (policy.dailyLimit) lines.push(["Per day", `at most $${policy.dailyLimit}`]);
  if (policy.monthlyLimit) lines.push(["Per month", `at most $${policy.monthlyLimit}`]);
  if (policy.velocity) lines.push(["Pace", `at most ${policy.velocity.maxPayments} payments every ${policy.velocity.windowSeconds} seconds`]);
  if (policy.approvalThreshold) lines.push(["Approval", `asked for payments above $${policy.approvalThreshold}`]);
  for (const [key, what] of [["allowedNetworks", "networks"], ["allowedAssets", "assets"], ["allowedPayees", "payees"], ["allowedHosts", "hosts"]]) {
    if (Array.isArray(policy[key])) lines.push([`Only these ${what}`, policy[key].join(", ")]);
  }
  if (lines.length === 0) lines.push(["Limits", "none: every payment is allowed"]);
  return lines;
}

function card(label, value, testid) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", "data-testid": testid }, value));
}

function panel(title, ...content) {
  return el("section", { class: "panel" }, el("h2", {}, title), ...content);
}

function table(headers, rows, testid) {
  if (rows.length === 0) return el("p", { class: "empty", "data-testid": testid }, "Nothing yet.");
  return el(
    "table",
    { "data-testid": testid },
    el("thead", {}, el("tr", {}, headers.map(([name, numeric]) => el("th", { class: numeric ? "num" : null }, name)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell, i) => el("td", { class: headers[i][1] ? "num" : headers[i][2] ?? null }, cell ?? ""))))),
  );
}

/**
 * A bar chart of `groups` (`{key, value}`, value a decimal string), with an optional dashed
 * line at `limit`. Each bar carries its exact value in `data-value`.
 */
function barChart(groups, testid, limit) {
  const width = 1000, height = 220, left = 56, bottom = 28, top = 12;
  const values = groups.map((g) => Number(g.value));
  const max = Math.max(...values, limit ? Number(limit) : 0, 0.000001);
  const slot = (width - left) / Math.max(groups.length, 1);
  const scale = (v) => (height - bottom - top) * (v / max);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "data-testid": testid, "aria-label": testid });
  svg.append(el("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, stroke: "#e4e7ec" }));
  svg.append(el("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, `$${max.toFixed(2)}`));
  svg.append(el("text", { x: left - 6, y: height - bottom, "text-anchor": "end" }, "$0"));
  groups.forEach((group, i) => {
    const h = scale(values[i]);
    const barWidth = Math.min(slot * 0.7, 48);
    const x = left + i * slot + (slot - barWidth) / 2;
    svg.append(
      el(
        "rect",
        { class: "bar", x, y: height - bottom - h, width: barWidth, height: h, "data-key": group.key, "data-value": group.value },
        el("title", {}, `${group.key}: $${group.value}`),
      ),
    );
    if (groups.length <= 31) {
      svg.append(el("text", { x: x + barWidth / 2, y: height - 10, "text-anchor": "middle" }, group.key.slice(5)));
    }
  });
  if (limit) {
    const y = height - bottom - scale(Number(limit));
    svg.append(el("line", { class: "limit", x1: left, x2: width, y1: y, y2: y, "data-testid": `${testid}-limit`, "data-value": limit }));
    svg.append(el("text", { x: width - 4, y: y - 4, "text-anchor": "end" }, `daily limit $${limit}`));
  }
  return el("div", { class: "chart" }, svg);
}

function paymentsTable(payments, counterparty) {
  const columns = {
    provider: [["Provider"], (p) => p.providerName ?? p.providerId ?? ""],
    payer: [["Payer"], (p) => p.agentName ?? p.agentId ?? p.payer],
  };
  const shown = (counterparty === "both" ? ["payer", "provider"] : [counterparty]).map((c) => columns[c]);
  return table(
    [["When"], ["Payment", false, "mono"], ...shown.map(([header]) => header), ["Resource"], ["Amount", true], ["Net", true]],
    payments.data.map((p) => [when(p.created), p.id, ...shown.map(([, value]) => value(p)), path(p.resource), `$${p.amount}`, `$${p.net}`]),
    "payments",
  );
}

/** Names by tenant id, from what a listing carries. */
function namesOf(payments) {
  const names = new Map();
  for (const p of payments.data) {
    if (p.agentId && p.agentName) names.set(p.agentId, p.agentName);
    if (p.providerId && p.providerName) names.set(p.providerId, p.providerName);
  }
  return names;
}

function deliveriesTable(deliveries) {
  return table([["When"], ["Event"], ["Event id", false, "mono"], ["Attempt", true], ["Status"], ["ms", true]],
    deliveries.data.map((d) => [when(d.created), d.eventType ?? "", d.eventId, String(d.attempt), d.statusCode ? String(d.statusCode) : d.error ?? "", String(d.durationMs)]), "deliveries");
}

async function renderProvider(me, view) {
  const [revenue, payments, deliveries, endpoints] = await Promise.all([
    api(`/v1/providers/${me.tenantId}/revenue`),
    api("/v1/payments?limit=10"),
    api("/v1/webhook-deliveries?limit=10"),
    api(`/v1/providers/${me.tenantId}/endpoints?limit=100`),
  ]);
  const usd = revenue.assets[0];
  const names = namesOf(payments);
  const totals = usd?.totals ?? { gross: "0", fees: "0", net: "0", payments: 0 };
  view.append(
    el("div", { class: "cards" },
      card("Gross, last 30 days", `$${totals.gross}`, "total-gross"),
      card("Fees", `$${totals.fees}`, "total-fees"),
      card("Net", `$${totals.net}`, "total-net"),
      card("Payments", String(totals.payments), "total-payments")),
    panel("Revenue by day (gross)", usd ? barChart(usd.byPeriod.map((g) => ({ key: g.key, value: g.gross })), "revenue-chart") : el("p", { class: "empty" }, "No revenue yet.")),
    panel("Endpoints by revenue",
      table([["Resource"], ["Payments", true], ["Gross", true], ["Net", true]],
        (usd?.byEndpoint ?? []).map((g) => [path(g.key), String(g.payments), `$${g.gross}`, `$${g.net}`]), "endpoints-by-revenue")),
    panel("Priced endpoints",
      table([["Method"], ["Path"], ["Price", true], ["What it is"], ["State"]],
        endpoints.data.map((e) => [e.rule.method, e.rule.path, priceText(e.rule.price), e.rule.description ?? "", e.disabled ? "disabled" : "enabled"]), "endpoints")),
    panel("Top payers",
      table([["Payer"], ["Payments", true], ["Gross", true]],
        (usd?.byCounterparty ?? []).map((g) => [names.get(g.agentId) ?? g.agentId ?? g.key, String(g.payments), `$${g.gross}`]), "top-payers")),
    panel("Recent payments", paymentsTable(payments, "payer")),
    panel("Webhook deliveries", deliveriesTable(deliveries)),
  );
}

async function renderAgent(me, view) {
  const [wallet, spending, payments] = await Promise.all([
    api(`/v1/wallets/${me.walletId}`),
    api(`/v1/agents/${me.tenantId}/spending`),
    api("/v1/payments?limit=10"),
  ]);
  const usd = spending.assets[0];
  const names = namesOf(payments);
  const balance = wallet.balances.find((b) => b.asset === "USD") ?? wallet.balances[0];
  const policy = spending.policy ?? {};
  view.append(
    el("div", { class: "cards" },
      card("Balance", balance ? `$${balance.amount ?? balance.atomic}` : "$0", "balance"),
      card("Spent, last 30 days", `$${usd?.totals.gross ?? "0"}`, "total-spent"),
      card("Spent today", `$${spending.usage?.spentToday ?? "0"}`, "spent-today"),
      card("Daily limit", policy.dailyLimit ? `$${policy.dailyLimit}` : "none", "daily-limit")),
    panel("Spending by day against the daily limit",
      usd ? barChart(usd.byPeriod.map((g) => ({ key: g.key, value: g.gross })), "spending-chart", policy.dailyLimit) : el("p", { class: "empty" }, "No spending yet.")),
    panel("Policy", table([["Limit"], ["What it allows"]], policyWords(policy), "policy")),
    panel("By provider",
      table([["Provider"], ["Payments", true], ["Spent", true]], (usd?.byCounterparty ?? []).map((g) => [names.get(g.key) ?? g.key, String(g.payments), `$${g.gross}`]), "by-provider")),
    panel("Recent payments", paymentsTable(payments, "provider")),
  );
}

async function renderOperator(view) {
  const [tenants, payments, deliveries] = await Promise.all([
    api("/v1/tenants?limit=100"),
    api("/v1/payments?limit=10"),
    api("/v1/webhook-deliveries?limit=10"),
  ]);
  const providers = tenants.data.filter((t) => t.kind === "provider");
  const disabled = providers.filter((t) => t.webhookDisabled);
  const failing = deliveries.data.filter((d) => !(d.statusCode >= 200 && d.statusCode < 300));
  view.append(
    el("div", { class: "cards" },
      card("Providers", String(providers.length), "providers"),
      card("Agents", String(tenants.data.length - providers.length), "agents"),
      card("Webhook endpoints disabled", String(disabled.length), "webhooks-disabled"),
      card("Failed deliveries, last 10", String(failing.length), "deliveries-failed")),
    panel("Tenants",
      table([["Name"], ["Kind"], ["Id", false, "mono"], ["Wallet", false, "mono"], ["Webhook"]],
        tenants.data.map((t) => [t.name, t.kind, t.id, t.walletId ?? "", t.kind !== "provider" ? "" : !t.webhookUrl ? "none set" : t.webhookDisabled ? `disabled after ${t.webhookFailures} failures` : t.webhookFailures > 0 ? `failing (${t.webhookFailures} in a row)` : "healthy"]),
        "tenants")),
    panel("Recent settlements", paymentsTable(payments, "both")),
    panel("Webhook deliveries", deliveriesTable(deliveries)),
  );
}

async function load() {
  const view = $("#view");
  view.replaceChildren();
  $("#error").textContent = "";
  try {
    const me = await api("/v1/me");
    $("#who").textContent = me.kind === "operator" ? "the operator — every tenant" : `${me.name} — ${me.kind} ${me.tenantId}`;
    view.setAttribute("data-kind", me.kind);
    await (me.kind === "provider" ? renderProvider(me, view) : me.kind === "agent" ? renderAgent(me, view) : renderOperator(view));
    $("#sign-in").hidden = true;
    $("#sign-out").hidden = false;
    view.hidden = false;
    view.setAttribute("data-ready", "true");
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $("#error").textContent = `${error.code ?? "error"}: ${error.message}`;
    $("#sign-in").hidden = false;
    view.hidden = true;
  }
}

$("#sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("#key").value.trim());
  $("#key").value = "";
  load();
});
$("#sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  $("#who").textContent = "";
  $("#sign-out").hidden = true;
  $("#view").hidden = true;
  $("#sign-in").hidden = false;
});
if (sessionStorage.getItem(KEY)) load();
