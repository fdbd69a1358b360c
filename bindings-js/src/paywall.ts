/**
 * `paywall`: x402 for a Worker-style `fetch(request, env, ctx)` handler, and the driver the
 * Express and Hono middleware share. An I/O driver over the core's paywall flow (`Paywall`),
 * which decides everything — free or priced, the 402s, token checks, when to verify and
 * settle, what to answer when the facilitator fails. This file calls the facilitator and the
 * handler, counts token uses, and builds `Response`s.
 */
import { KeyRing, Paywall, PaywallFlow } from "../engine.js";
import { facilitatorClient, type FacilitatorOptions } from "./facilitator.js";
import { headersObject, randomBytes, toHex, unixNow } from "./headers.js";
import { MemoryTokenUses, type TokenUses } from "./stores.js";
import type { PaymentOption, PaywallAction, PaywallEvent, PaywallRouteJson } from "./types.js";

/** A priced route; with `bundle`, a payment also buys an access token for more calls. Its
 *  prices may be dollars (`"$0.01"`) or atomic units. */
export type PaywallRoute = PaywallRouteJson;

/** Routes keyed `"GET /path"`, as Coinbase's x402 middleware takes them:
 *  `{ "GET /weather": { accepts: [{ scheme: "exact", price: "$0.01", network, payTo }] } }`. */
export type RoutesConfig = Record<string, { accepts?: unknown; price?: string | number; network?: string; payTo?: string; description?: string } & Record<string, unknown>>;

/** Options of `paywall` and the middleware. */
export interface PaywallOptions extends FacilitatorOptions {
  /** How the provider accepts payment (Paywire routes; Coinbase-style routes carry their own). */
  accepts?: PaymentOption[];
  /** Decimals of the routes' atomic prices (default 6). */
  decimals?: number;
  /** Verifies presented access tokens, and signs those sold with bundle routes. */
  tokenKeys?: KeyRing;
  /** The `iss` of issued tokens (default: the request's origin). */
  tokenIssuer?: string;
  /** Token use counts (default: in memory). */
  tokenUses?: TokenUses;
  /** Whether payments must carry a payment identifier (default: optional). */
  requirePaymentIdentifier?: boolean;
  /** Unix seconds (default: the system clock). */
  now?: () => number;
}

/** A Worker-style handler. */
export type Handler<Env = unknown, Ctx = unknown> = (request: Request, env: Env, ctx: Ctx) => Response | Promise<Response>;

/** What a host does with a request the paywall lets through: run the handler as it is
 *  (`pass`: not priced, or paid with a token), or run it for an answer held until settled. */
export interface HandlerHooks<Passed> {
  pass(): Promise<Passed>;
  run(): Promise<Response>;
}

/** A paywall over `routes`: `handle(request, hooks)` answers one request. */
export function createPaywall(routes: PaywallRoute[] | RoutesConfig, options: PaywallOptions) {
  const wall = new Paywall({
    routes: routes as PaywallRoute[],
    accepts: options.accepts ?? [],
    decimals: options.decimals ?? 6,
    requirePaymentIdentifier: options.requirePaymentIdentifier ?? false,
    ...(options.tokenIssuer ? { tokenIssuer: options.tokenIssuer } : {}),
  });
  const facilitator = facilitatorClient(options);
  const now = options.now ?? unixNow;
  const tokenUses = options.tokenUses ?? new MemoryTokenUses();

  async function handle<Passed>(request: Request, hooks: HandlerHooks<Passed>): Promise<Passed | Response> {
    const flow = new PaywallFlow();
    const feed = (event: PaywallEvent) => (options.tokenKeys ? wall.feedWithKeys(flow, event, options.tokenKeys) : wall.feed(flow, event)) as PaywallAction;
    let action = feed({ event: "request", method: request.method, url: request.url, headers: headersObject(request.headers), now: now(), entropy: toHex(randomBytes(16)) });
    let held: Response | undefined;
    let content: ArrayBuffer | undefined;
    for (;;) {
      switch (action.action) {
        case "pass":
          return hooks.pass();
        case "countTokenUse":
          action = feed({ event: "tokenUses", before: await tokenUses.use(action.id, action.expiresAt) });
          continue;
        case "respond":
          return new Response(action.body, { status: action.status, headers: action.headers });
        case "verify":
        case "settle":
          action = feed(await facilitator(action.action, action.body));
          continue;
        case "runHandler":
          held = await hooks.run();
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
  }
  return { handle };
}

/**
 * Puts `routes` behind x402 payments.
 *
 * ```ts
 * export default {
 *   fetch: paywall([{ method: "GET", path: "/v1/weather/:city", price: { flat: "$0.01" } }], {
 *     facilitatorUrl: "https://paywire.example.com",
 *     accepts: [{ asset: usdcOnBase, payTo: "0x…" }],
 *   })(async (request) => Response.json({ temperature: 21 })),
 * };
 * ```
 *
 * Routes are Paywire price rules, or an object keyed `"GET /path"` as Coinbase's middleware
 * takes them. Requests no route prices pass straight through. Failures answer JSON: 402 for a
 * missing, malformed or refused payment (with a fresh `PAYMENT-REQUIRED`), 502
 * `facilitator_unavailable` when the facilitator cannot be reached (nothing charged, the
 * handler's body withheld).
 */
export function paywall(routes: PaywallRoute[] | RoutesConfig, options: PaywallOptions) {
  const { handle } = createPaywall(routes, options);
  return function protect<Env, Ctx>(handler: Handler<Env, Ctx>): Handler<Env, Ctx> {
    return async (request, env, ctx) => {
      const run = async () => handler(request, env, ctx);
      return handle(request, { pass: run, run });
    };
  };
}
