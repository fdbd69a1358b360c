/**
 * Express middleware: priced routes answer 402 with their offer, paid requests are verified
 * and settled through any x402 facilitator, and the handler's answer is held until the money
 * moved — nothing is delivered unpaid, a failed handler (status ≥ 400) is not charged for.
 *
 * ```ts
 * import { paymentMiddleware } from "@paywire/node/express";
 * app.use(paymentMiddleware(
 *   { "GET /weather": { accepts: [{ scheme: "exact", price: "$0.01", network: "eip155:84532", payTo }] } },
 *   { facilitatorUrl: "https://facilitator.example.com" },
 * ));
 * ```
 *
 * Routes are written as Coinbase's `@x402/express` takes them, or as Paywire price rules with
 * `accepts` in the options. Express is not a dependency: any framework with Node's
 * `(req, res, next)` middleware works.
 */
import { createPaywall, type PaywallOptions, type PaywallRoute, type RoutesConfig } from "./paywall.js";

/** The parts of Node's `IncomingMessage` (and Express's `req`) the middleware reads. */
export interface NodeRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  socket?: { encrypted?: boolean };
  protocol?: string;
}

/** The parts of Node's `ServerResponse` the middleware drives. */
export interface NodeResponse {
  statusCode: number;
  statusMessage?: string;
  headersSent?: boolean;
  writeHead(status: number, ...rest: unknown[]): unknown;
  write(chunk: unknown, ...rest: unknown[]): boolean;
  end(...args: unknown[]): unknown;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  getHeaders(): Record<string, string | number | string[] | undefined>;
  removeHeader(name: string): void;
}

/** The middleware's signature. */
export type NodeMiddleware = (req: NodeRequest, res: NodeResponse, next: (error?: unknown) => void) => void;

function webRequest(req: NodeRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  const scheme = req.protocol ?? (req.socket?.encrypted ? "https" : "http");
  const host = headers.get("host") ?? "localhost";
  // The body stays with Node's request for the handler: the paywall reads headers only.
  return new Request(`${scheme}://${host}${req.originalUrl ?? req.url ?? "/"}`, { method: req.method ?? "GET", headers });
}

function toBuffer(chunk: unknown, encoding?: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") {
    const buffer = (globalThis as { Buffer?: { from(text: string, encoding?: string): Uint8Array } }).Buffer;
    return buffer ? buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8") : new TextEncoder().encode(chunk);
  }
  return new Uint8Array(0);
}

/** Runs the rest of the chain with `res` captured: its status, headers and body become a
 *  `Response`, nothing reaches the client until the paywall delivers it. */
function captured(res: NodeResponse, next: (error?: unknown) => void): Promise<Response> {
  return new Promise((resolve, reject) => {
    const original = { writeHead: res.writeHead, write: res.write, end: res.end };
    const chunks: Uint8Array[] = [];
    let status: number | undefined;
    res.writeHead = function (code: number, ...rest: unknown[]) {
      status = code;
      const headers = rest.find((r) => r && typeof r === "object") as Record<string, string> | undefined;
      for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
      return res;
    };
    res.write = function (chunk: unknown, encoding?: unknown) {
      chunks.push(toBuffer(chunk, encoding));
      return true;
    };
    res.end = function (chunk?: unknown, encoding?: unknown) {
      if (chunk !== undefined && typeof chunk !== "function") chunks.push(toBuffer(chunk, encoding));
      Object.assign(res, original);
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.getHeaders())) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [String(value)]) headers.append(name, v);
        res.removeHeader(name);
      }
      const length = chunks.reduce((n, c) => n + c.length, 0);
      const body = new Uint8Array(length);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
      const code = status ?? res.statusCode ?? 200;
      resolve(new Response(code === 204 || code === 304 ? null : body, { status: code, headers }));
      return res;
    };
    try {
      next();
    } catch (error) {
      Object.assign(res, original);
      reject(error);
    }
  });
}

async function send(res: NodeResponse, response: Response): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (response.status !== 204 && response.status !== 304) headers["content-length"] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}

/** Express (or Connect, or plain `node:http`) middleware putting `routes` behind payments. */
export function paymentMiddleware(routes: PaywallRoute[] | RoutesConfig, options: PaywallOptions): NodeMiddleware {
  const { handle } = createPaywall(routes, options);
  const PASSED = Symbol("passed");
  return (req, res, next) => {
    handle<typeof PASSED>(webRequest(req), {
      pass: async () => {
        next();
        return PASSED;
      },
      run: () => captured(res, next),
    }).then(
      (answer) => (answer === PASSED ? undefined : send(res, answer as Response)),
    ).catch(next);
  };
}
