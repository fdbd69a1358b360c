/**
 * `paywall`: x402 for a Worker-style `fetch(request, env, ctx)` handler. An I/O driver over the
 * core's paywall flow (`Paywall`), which decides everything — free or priced, the 402s, token
 * checks, when to verify and settle, what to answer when the facilitator fails. This file
 * calls the facilitator and the handler, counts token uses, and builds `Response`s.
 */
import { KeyRing, Paywall, PaywallFlow } from "../pkg/paywire_wasm.js";
import { headersObject, randomBytes, toHex, unixNow } from "./headers.js";
import type { PaymentOption, PaywallAction, PaywallEvent, PaywallRouteJson } from "./types.js";

/** A priced route; with `bundle`, a payment also buys an access token for more calls. */
export type PaywallRoute = PaywallRouteJson;

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
export type Handler<Env = unknown, Ctx = unknown> = (request: Request, env: Env, ctx: Ctx) => Response | Promise<Response>;

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
 * ```
 *
 * Requests no route prices pass straight through. Failures answer JSON: 402 for a missing,
 * malformed or refused payment (with a fresh `PAYMENT-REQUIRED`), 502 `facilitator_unavailable`
 * when the facilitator cannot be reached (nothing charged, the handler's body withheld).
 */
export function paywall(routes: PaywallRoute[], options: PaywallOptions) {
  const wall = new Paywall({ routes, accepts: options.accepts, decimals: options.decimals ?? 6, requirePaymentIdentifier: options.requirePaymentIdentifier ?? false, ...(options.tokenIssuer ? { tokenIssuer: options.tokenIssuer } : {}) });
  const facilitatorFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const facilitatorUrl = options.facilitatorUrl.replace(/\/+$/, "");
  const now = options.now ?? unixNow;
  const tokenUses = options.tokenUses ?? new MemoryTokenUses();

  return function protect<Env, Ctx>(handler: Handler<Env, Ctx>): Handler<Env, Ctx> {
    return async (request, env, ctx) => {
      const flow = new PaywallFlow();
      const feed = (event: PaywallEvent) => (options.tokenKeys ? wall.feedWithKeys(flow, event, options.tokenKeys) : wall.feed(flow, event)) as PaywallAction;
      let action = feed({ event: "request", method: request.method, url: request.url, headers: headersObject(request.headers), now: now(), entropy: toHex(randomBytes(16)) });
      let held: Response | undefined;
      let content: ArrayBuffer | undefined;
      for (;;) {
        switch (action.action) {
          case "pass":
            return handler(request, env, ctx);
          case "countTokenUse":
            action = feed({ event: "tokenUses", before: await tokenUses.use(action.id, action.expiresAt) });
            continue;
          case "respond":
            return new Response(action.body, { status: action.status, headers: action.headers });
          case "verify":
          case "settle":
            action = feed(await callFacilitator(action.action, action.body));
            continue;
          case "runHandler":
            held = await handler(request, env, ctx);
            // Hold the body until the money moved: nothing is delivered unpaid.
            if (held.status < 400) content = await held.arrayBuffer();
            action = feed({ event: "handler", status: held.status });
            continue;
          case "deliver": {
            if (content === undefined) return held!;
            const headers = new Headers(held!.headers);
            for (const [name, value] of Object.entries(action.setHeaders)) headers.set(name, value);
            return new Response(content, { status: held!.status, statusText: held!.statusText, headers });
          }
        }
      }
    };
  };

  async function callFacilitator(path: "verify" | "settle", body: unknown): Promise<PaywallEvent> {
    let answer: Response;
    try {
      answer = await facilitatorFetch(`${facilitatorUrl}/${path}`, { method: "POST", headers: { "content-type": "application/json", ...options.facilitatorHeaders }, body: JSON.stringify(body) });
    } catch (error) {
      return { event: "facilitatorUnreachable", message: String(error) };
    }
    return { event: "facilitator", status: answer.status, body: await answer.json().catch(() => null) };
  }
}
