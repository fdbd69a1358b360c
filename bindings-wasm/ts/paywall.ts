/**
 * `paywall`: x402 for a Worker-style `fetch(request, env, ctx)` handler.
 *
 * Prices each request with the core, answers 402 with `PAYMENT-REQUIRED` (and the v1 JSON
 * body), verifies and settles payments through a facilitator (the Paywire server or any x402
 * facilitator), holds the handler's response until settlement succeeded, and adds
 * `PAYMENT-RESPONSE`. Access tokens are verified locally from a key ring — no round trip — and,
 * for routes sold as bundles, issued with the settlement.
 */
import {
  KeyRing,
  Pricebook,
  bundleClaims,
  decodePaymentPayload,
  encodeHeader,
  facilitatorRequest,
  findMatch,
  offerPaymentIdentifier,
  parseSettleResponse,
  parseVerifyResponse,
  paymentRequired as buildPaymentRequired,
} from "../pkg/paywire_wasm.js";
import { isPaywireError } from "./errors.js";
import {
  ACCESS_TOKEN_EXTENSION,
  ACCESS_TOKEN_HEADER,
  PAYMENT_REQUIRED,
  PAYMENT_RESPONSE,
  PAYMENT_SIGNATURE,
  X_PAYMENT,
  X_PAYMENT_RESPONSE,
  randomBytes,
  toHex,
  unixNow,
} from "./headers.js";
import type {
  AccessToken,
  Claims,
  PaymentOption,
  PaymentPayload,
  PaymentRequiredV1,
  PaymentRequiredV2,
  PaymentRequirements,
  PaymentRequirementsV1,
  PriceRule,
  Quote,
  SettleResponse,
  VerifiedToken,
  VerifyResponse,
} from "./types.js";

/** A priced route; with `bundle`, a payment also buys an access token for more calls. */
export interface PaywallRoute extends PriceRule {
  bundle?: { maxUses?: number; seconds: number };
}

/** Counts uses of access tokens by claims id (in memory by default; share it across
 *  instances with a store of your own). */
export interface TokenUses {
  /** Records one use of `id` and returns how many uses came before it. */
  use(id: string, expiresAt: number): number | Promise<number>;
}

/** Options of `paywall`. */
export interface PaywallOptions {
  /** The facilitator's base URL (`/verify` and `/settle` are appended). */
  facilitatorUrl: string;
  /** How the provider accepts payment: assets and recipients. */
  accepts: PaymentOption[];
  /** Decimals of the routes' prices (default 6). */
  decimals?: number;
  /** Extra headers for facilitator calls (an API key, say). */
  facilitatorHeaders?: Record<string, string>;
  /** Verifies presented access tokens, and signs those sold with bundle routes. */
  tokenKeys?: KeyRing;
  /** The `iss` of issued tokens (default: the request's origin). */
  tokenIssuer?: string;
  /** Token use counts (default: in memory). */
  tokenUses?: TokenUses;
  /** Whether payments must carry a payment identifier (default: optional). */
  requirePaymentIdentifier?: boolean;
  /** The `fetch` used to reach the facilitator. */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** Unix seconds (default: the system clock). */
  now?: () => number;
}

/** A Worker-style handler. */
export type Handler<Env = unknown, Ctx = unknown> = (
  request: Request,
  env: Env,
  ctx: Ctx,
) => Response | Promise<Response>;

/** Token uses in memory; forgets a token once it expired. */
export class MemoryTokenUses implements TokenUses {
  private readonly counts = new Map<string, { uses: number; expiresAt: number }>();
  use(id: string, expiresAt: number): number {
    const entry = this.counts.get(id) ?? { uses: 0, expiresAt };
    const before = entry.uses;
    entry.uses += 1;
    this.counts.set(id, entry);
    if (this.counts.size > 10_000) {
      const now = unixNow();
      for (const [key, value] of this.counts) if (value.expiresAt <= now) this.counts.delete(key);
    }
    return before;
  }
}

/**
 * Puts `routes` behind x402 payments.
 *
 * ```ts
 * export default {
 *   fetch: paywall([{ method: "GET", path: "/v1/weather/:city", price: { flat: "10000" } }], {
 *     facilitatorUrl: "https://paywire.example.com",
 *     accepts: [{ asset: usdcOnBase, payTo: "0x…" }],
 *   })(async (request) => Response.json({ temperature: 21 })),
 * };
 * // Hono: app.all("/v1/*", (c) => protected(c.req.raw, c.env, c.executionCtx))
 * ```
 *
 * Requests no route prices pass straight through. Failures answer JSON
 * `{"error": {"code", "message"}}`: 402 for a missing, malformed or refused payment (with a
 * fresh `PAYMENT-REQUIRED`), 502 `facilitator_unavailable` when the facilitator cannot be
 * reached (nothing was charged and the handler's body is withheld).
 */
export function paywall(routes: PaywallRoute[], options: PaywallOptions) {
  const book = new Pricebook({
    decimals: options.decimals ?? 6,
    rules: routes.map(({ bundle: _bundle, ...rule }) => rule),
  });
  const facilitatorFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const facilitatorUrl = options.facilitatorUrl.replace(/\/+$/, "");
  const now = options.now ?? unixNow;
  const tokenUses = options.tokenUses ?? new MemoryTokenUses();
  const extensions = {
    "payment-identifier": offerPaymentIdentifier(options.requirePaymentIdentifier ?? false),
  };

  return function protect<Env, Ctx>(handler: Handler<Env, Ctx>): Handler<Env, Ctx> {
    return async (request, env, ctx) => {
      const url = new URL(request.url);
      const method = request.method.toUpperCase();
      const ruleIndex = book.route(method, url.pathname);
      if (ruleIndex === undefined) return handler(request, env, ctx);
      const route = routes[ruleIndex]!;
      const quote = book.quote({ method, path: url.pathname }) as Quote;
      if (quote.amount === "0") return handler(request, env, ctx);
      const offer = () => offers(quote, request.url, route.description);

      const presented = request.headers.get(ACCESS_TOKEN_HEADER);
      if (presented && options.tokenKeys) {
        const refusal = await checkToken(options.tokenKeys, presented, method, request.url);
        if (refusal === undefined) return handler(request, env, ctx);
        // A token that no longer works is not an error of the request: ask for payment.
        return paymentRequiredResponse(offer(), refusal.code, refusal.message);
      }

      const header = request.headers.get(PAYMENT_SIGNATURE) ?? request.headers.get(X_PAYMENT);
      if (!header) return paymentRequiredResponse(offer(), "payment_required", "this resource needs a payment");

      const offered = offer();
      let payment: PaymentPayload;
      let requirements: PaymentRequirements | PaymentRequirementsV1;
      try {
        payment = decodePaymentPayload(header, undefined) as PaymentPayload;
        const accepts = payment.x402Version === 1 ? offered.v1.accepts : offered.v2.accepts;
        requirements = accepts[findMatch(accepts, payment)]!;
      } catch (error) {
        if (!isPaywireError(error)) throw error;
        return paymentRequiredResponse(offered, error.code, error.message);
      }
      const body = facilitatorRequest(payment, requirements);

      const verified = await callFacilitator<VerifyResponse>("verify", body, parseVerifyResponse);
      if (verified instanceof Response) return verified;
      if (!verified.isValid) {
        return paymentRequiredResponse(offered, verified.invalidReason ?? "invalid_payment", verified.invalidMessage ?? "the payment is not valid");
      }

      const response = await handler(request, env, ctx);
      // x402: a failed response is not charged for.
      if (response.status >= 400) return response;
      // Hold the body until the money moved: nothing is delivered unpaid.
      const content = await response.arrayBuffer();

      const settled = await callFacilitator<SettleResponse>("settle", body, parseSettleResponse);
      if (settled instanceof Response) return settled;
      if (!settled.success) {
        return paymentRequiredResponse(offered, settled.errorReason ?? "settlement_failed", settled.errorMessage ?? "the payment could not be settled");
      }
      if (route.bundle && options.tokenKeys && !settled.extensions?.[ACCESS_TOKEN_EXTENSION]) {
        const token = issueBundleToken(options.tokenKeys, route, request.url, settled.payer ?? "anonymous");
        settled.extensions = { ...settled.extensions, [ACCESS_TOKEN_EXTENSION]: token };
      }
      const headers = new Headers(response.headers);
      headers.set(payment.x402Version === 1 ? X_PAYMENT_RESPONSE : PAYMENT_RESPONSE, encodeHeader(settled));
      return new Response(content, { status: response.status, statusText: response.statusText, headers });
    };
  };

  function offers(quote: Quote, resourceUrl: string, description?: string) {
    const resource = description ? { url: resourceUrl, description } : { url: resourceUrl };
    return {
      v2: buildPaymentRequired(quote, options.accepts, resource, 2, undefined, extensions) as PaymentRequiredV2,
      v1: buildPaymentRequired(quote, options.accepts, resource, 1, undefined, undefined) as PaymentRequiredV1,
    };
  }

  async function checkToken(ring: KeyRing, token: string, method: string, resource: string) {
    const at = now();
    try {
      // First without counting: a forged or expired token must not consume anything.
      const verified = ring.verify(token, method, resource, at, 0) as VerifiedToken;
      const before = await tokenUses.use(verified.claims.id, verified.claims.exp);
      ring.verify(token, method, resource, at, before);
      return undefined;
    } catch (error) {
      if (!isPaywireError(error)) throw error;
      return { code: error.code, message: error.message };
    }
  }

  function issueBundleToken(ring: KeyRing, route: PaywallRoute, resource: string, payer: string): AccessToken {
    const { bundle, ...rule } = route;
    const claims = bundleClaims(bundle!, rule, `tok_${toHex(randomBytes(16))}`, options.tokenIssuer ?? new URL(resource).origin, payer, resource, now()) as Claims;
    return { token: ring.issue(claims), expiresAt: claims.exp, maxUses: claims.maxUses ?? null, scope: claims.scope };
  }

  async function callFacilitator<T>(action: "verify" | "settle", body: unknown, parse: (json: unknown) => unknown): Promise<T | Response> {
    let answer: Response;
    try {
      answer = await facilitatorFetch(`${facilitatorUrl}/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...options.facilitatorHeaders },
        body: JSON.stringify(body),
      });
    } catch (error) {
      return errorResponse(502, "facilitator_unavailable", `the facilitator could not be reached: ${String(error)}`);
    }
    let json: unknown;
    try {
      json = await answer.json();
    } catch {
      return errorResponse(502, "facilitator_unavailable", `the facilitator answered ${answer.status} without JSON`);
    }
    try {
      return parse(json) as T;
    } catch {
      // Not an x402 answer: pass on a Paywire error code (e.g. settlement_pending) if it has one.
      const code = (json as { error?: { code?: unknown } })?.error?.code;
      return typeof code === "string"
        ? errorResponse(502, code, `the facilitator could not ${action} the payment (${code})`)
        : errorResponse(502, "facilitator_unavailable", `the facilitator answered ${answer.status} with no ${action} result`);
    }
  }
}

function paymentRequiredResponse(
  offered: { v2: PaymentRequiredV2; v1: PaymentRequiredV1 },
  code: string,
  message: string,
): Response {
  const v2 = { ...offered.v2, error: code };
  const v1 = { ...offered.v1, error: code };
  return new Response(JSON.stringify({ ...v1, message }), {
    status: 402,
    headers: { "content-type": "application/json", [PAYMENT_REQUIRED]: encodeHeader(v2) },
  });
}

function errorResponse(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json" },
  });
}
