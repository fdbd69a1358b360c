/**
 * Hono middleware (Node, Bun, Deno, Cloudflare Workers): priced routes answer 402 with their
 * offer, paid requests are verified and settled through any x402 facilitator, and the
 * handler's answer is held until the money moved.
 *
 * ```ts
 * import { paymentMiddleware } from "@paywire/node/hono"; // or "@paywire/wasm/hono" on edge workers
 * app.use(paymentMiddleware(
 *   { "GET /weather": { accepts: [{ scheme: "exact", price: "$0.01", network: "eip155:84532", payTo }] } },
 *   { facilitatorUrl: "https://facilitator.example.com" },
 * ));
 * ```
 *
 * Hono is not a dependency: the middleware uses only `c.req.raw`, `c.res` and `next()`.
 */
import { createPaywall, type PaywallOptions, type PaywallRoute, type RoutesConfig } from "./paywall.js";

/** The parts of Hono's `Context` the middleware uses. */
export interface HonoContext {
  req: { raw: Request };
  res: Response;
}

/** Hono's middleware signature. */
export type HonoMiddleware = (c: HonoContext, next: () => Promise<void>) => Promise<Response | void>;

/** Hono middleware putting `routes` behind payments. */
export function paymentMiddleware(routes: PaywallRoute[] | RoutesConfig, options: PaywallOptions): HonoMiddleware {
  const { handle } = createPaywall(routes, options);
  return async (c, next) => {
    const run = async () => {
      await next();
      return c.res;
    };
    const answer = await handle(c.req.raw, { pass: run, run });
    // Replacing the context's response is how a Hono middleware answers, whether or not the
    // handler ran.
    c.res = answer;
    return answer;
  };
}
