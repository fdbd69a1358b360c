/**
 * Calls an x402 facilitator's `/verify` and `/settle`: with a timeout per call, retries of
 * calls that could not connect (with exponential backoff), and headers of your choosing per
 * call — CDP's facilitator, for one, wants each call signed.
 */
import type { PaywallEvent } from "./types.js";

/** Which facilitator call. */
export type FacilitatorCall = "verify" | "settle";

/** Headers for facilitator calls: fixed, or computed per call (a signed JWT, say). */
export type FacilitatorHeaders =
  | Record<string, string>
  | ((call: FacilitatorCall, body: unknown) => Record<string, string> | Promise<Record<string, string>>);

/** How the facilitator is reached. */
export interface FacilitatorOptions {
  /** The facilitator's base URL (`/verify` and `/settle` are appended). */
  facilitatorUrl: string;
  /** Extra headers per call. */
  facilitatorHeaders?: FacilitatorHeaders;
  /** Milliseconds a call may take, connection included (default 30 000). */
  facilitatorTimeoutMs?: number;
  /** Retries of a call that could not connect (default 2; backoff 100 ms, doubling). A call
   *  that connected is never sent twice: the payer may re-send its payment, which settles
   *  once. */
  facilitatorRetries?: number;
  /** The `fetch` used to reach the facilitator. */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
}

/** The most of a facilitator's answer read (a verify or settle answer is well under 4 KB). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Whether `fetch` failed before the request could have reached the server. */
function couldNotConnect(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return error instanceof TypeError && ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"].includes(cause?.code ?? "ECONNREFUSED");
}

/** A facilitator client: `call(kind, body)` answers with the event the paywall flow reads. */
export function facilitatorClient(options: FacilitatorOptions): (call: FacilitatorCall, body: unknown) => Promise<PaywallEvent> {
  const base = options.facilitatorUrl.replace(/\/+$/, "");
  const send = options.fetch ?? ((input, init) => fetch(input, init));
  const timeout = options.facilitatorTimeoutMs ?? 30_000;
  const retries = options.facilitatorRetries ?? 2;
  return async (call, body) => {
    const extra = typeof options.facilitatorHeaders === "function" ? await options.facilitatorHeaders(call, body) : options.facilitatorHeaders;
    const init = (): RequestInit => ({
      method: "POST",
      headers: { "content-type": "application/json", ...extra },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    let answer: Response | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        answer = await send(`${base}/${call}`, init());
        break;
      } catch (error) {
        if (attempt >= retries || !couldNotConnect(error)) {
          return { event: "facilitatorUnreachable", message: String((error as Error)?.message ?? error) };
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
    try {
      const text = await answer.text();
      if (text.length > MAX_ANSWER_BYTES) return { event: "facilitator", status: answer.status };
      return { event: "facilitator", status: answer.status, body: JSON.parse(text) };
    } catch {
      // Not JSON (or the body was cut off): the flow answers 502 on an answer it cannot read.
      return { event: "facilitator", status: answer.status };
    }
  };
}
