/**
 * `wrapFetch`: a `fetch` that pays x402 402s inside a spending policy. An I/O driver over the
 * core's client flow (`ClientFlow`), which decides everything — which token to present, what
 * to pay, when to ask for approval, when to re-send the very same payment, when spending
 * counts. This file only sends requests; what every paying client shares is in `payer.ts`.
 */
import { ClientFlow } from "../engine.js";
import { headersObject } from "./headers.js";
import { payerOf, type PayingOptions } from "./payer.js";
import type { ClientAction, ClientEvent, PaymentRecord } from "./types.js";

export type { ApprovalRequest, EvmAccount, EvmAccountPayer, EvmPayer, LedgerPayer, PayingOptions } from "./payer.js";

/** Options of `wrapFetch`. */
export type WrapFetchOptions = PayingOptions;

const payments = new WeakMap<Response, PaymentRecord>();

/** The payment the wrapped fetch made to obtain `response`, or `undefined` if it paid nothing. */
export function paymentOf(response: Response): PaymentRecord | undefined {
  return payments.get(response);
}

type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/**
 * Wraps `fetch` so that x402 402s are paid within `options.policy`.
 *
 * ```ts
 * const pay = wrapFetch(fetch, { payer: { type: "evm", privateKey }, policy: { maxPerRequest: "0.10", dailyLimit: "5" } });
 * paymentOf(await pay("https://api.example.com/v1/weather/paris"))?.settlement?.transaction;
 * ```
 *
 * Throws a `PaywireError` whose `code` says why it did not pay (a policy code, a decoding
 * code, or `payment_rejected` with the provider's 402 in `details`).
 */
export function wrapFetch(fetchImpl: Fetch, options: WrapFetchOptions): Fetch {
  const payer = payerOf(options);
  return async function paywireFetch(input, init) {
    const original = new Request(input, init);
    const flow = new ClientFlow(payer.config, original.method, original.url);
    const feed = (event: ClientEvent) => flow.feed(event) as ClientAction;
    let last: Response | undefined;
    const send = async (action: ClientAction): Promise<ClientAction> => {
      if (action.action !== "send") throw new TypeError("wrapFetch sends only `send` actions");
      for (const token of action.forgetTokens) await payer.tokens.delete(token);
      const outgoing = original.clone();
      for (const name of action.removeHeaders) outgoing.headers.delete(name);
      for (const [name, value] of Object.entries(action.setHeaders)) outgoing.headers.set(name, value);
      try {
        last = await fetchImpl(outgoing);
      } catch (error) {
        const next = feed({ event: "connectionFailed" });
        if (next.action === "giveUp") throw error;
        return next;
      }
      const body = last.status === 402 ? await last.clone().text() : undefined;
      return feed({ event: "response", status: last.status, headers: headersObject(last.headers), ...(body === undefined ? {} : { body }) });
    };
    const payment = await payer.drive(feed({ event: "start", tokens: await payer.tokens.list(), now: payer.now() }), feed, send);
    if (payment) payments.set(last!, payment);
    return last!;
  };
}
