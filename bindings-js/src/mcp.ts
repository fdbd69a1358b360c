/**
 * Paid tools over MCP, for `@modelcontextprotocol/sdk` servers and clients (no import of the
 * SDK here: any object of the same shape works).
 *
 * - `mcpPaywall(tools, options).paid(name, handler)`: a tool handler that asks for payment,
 *   verifies it, runs the tool, and settles only when the tool succeeded.
 * - `wrapMcpClient(client, options).callTool(params)`: a `callTool` that pays a 402 result
 *   within a spending policy, at most once per call.
 *
 * I/O drivers over the core's MCP flows (`McpPaywall`, `McpClientFlow`), which decide
 * everything — the 402 results, reading a payment from `_meta` in its three forms, when to
 * settle, what a failed settlement answers, what to pay, when never to pay again.
 */
import { KeyRing, McpClientFlow, McpPaywall, McpPaywallFlow } from "../engine.js";
import { facilitatorClient, type FacilitatorOptions } from "./facilitator.js";
import { randomBytes, toHex, unixNow } from "./headers.js";
import { payerOf, type PayingOptions } from "./payer.js";
import { MemoryTokenUses, type TokenUses } from "./stores.js";
import type { McpClientAction, McpClientEvent, McpPaywallAction, McpPaywallEvent, PaymentOption, PaymentRecord, ToolPrice } from "./types.js";

/** The `_meta` key of a call's payment. */
export const MCP_PAYMENT_META = "x402/payment";
/** The `_meta` key of a result's settlement. */
export const MCP_PAYMENT_RESPONSE_META = "x402/payment-response";

/** A tool result as the MCP SDK types it (`CallToolResult`), loosely. */
export interface ToolResult {
  content?: unknown[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Options of `mcpPaywall`. */
export interface McpPaywallOptions extends FacilitatorOptions {
  /** How the provider accepts payment (a tool in Coinbase's form carries its own). */
  accepts?: PaymentOption[];
  /** Decimals of atomic prices (default 6). */
  decimals?: number;
  /** Verifies presented access tokens, and signs those sold with bundle tools. */
  tokenKeys?: KeyRing;
  /** Token use counts (default: in memory). */
  tokenUses?: TokenUses;
  /** Whether payments must carry a payment identifier (default: optional). */
  requirePaymentIdentifier?: boolean;
  /** Unix seconds (default: the system clock). */
  now?: () => number;
}

/** Options of one paid tool. */
export interface PaidToolOptions<Args> {
  /** This call's price from its arguments (`"$0.01"` or atomic units), instead of the tool's
   *  configured one. */
  price?: (args: Args) => string | Promise<string>;
}

/**
 * A paywall over MCP tools.
 *
 * ```ts
 * const wall = mcpPaywall({ search: "$0.01" }, { facilitatorUrl, accepts: [{ asset: usdc, payTo }] });
 * server.registerTool("search", { description: "Search", inputSchema: { q: z.string() }, _meta: wall.toolMeta("search") },
 *   wall.paid("search", async ({ q }) => ({ content: [{ type: "text", text: await search(q) }] })));
 * ```
 *
 * An unpaid call answers a 402 result (the PaymentRequired in `structuredContent` and as
 * `content[0].text`); a paid one runs the tool after the payment verified and returns its
 * result with `_meta["x402/payment-response"]`. A tool that throws or answers `isError` is not
 * charged (its error stands); a failed settlement answers a 402 result without the tool's
 * content.
 */
export function mcpPaywall(tools: Record<string, ToolPrice>, options: McpPaywallOptions) {
  const wall = new McpPaywall({
    tools,
    accepts: options.accepts ?? [],
    ...(options.decimals === undefined ? {} : { decimals: options.decimals }),
    requirePaymentIdentifier: options.requirePaymentIdentifier ?? false,
  });
  const facilitator = facilitatorClient(options);
  const now = options.now ?? unixNow;
  const tokenUses = options.tokenUses ?? new MemoryTokenUses();

  /** Wraps `handler` (called as the SDK calls a tool: `(args, extra)`, or `(extra)` for a tool
   *  without an input schema) so that a call of `tool` is paid. */
  function paid<Args, Extra extends { _meta?: Record<string, unknown> }>(
    tool: string,
    handler: (...params: [Args, Extra] | [Extra]) => ToolResult | Promise<ToolResult>,
    paidOptions: PaidToolOptions<Args> = {},
  ): (...params: [Args, Extra] | [Extra]) => Promise<ToolResult> {
    return async (...params) => {
      const extra = params[params.length - 1] as Extra | undefined;
      const args = (params.length > 1 ? params[0] : undefined) as Args;
      const price = paidOptions.price ? await paidOptions.price(args) : undefined;
      const flow = new McpPaywallFlow();
      const feed = (event: McpPaywallEvent) => (options.tokenKeys ? wall.feedWithKeys(flow, event, options.tokenKeys) : wall.feed(flow, event)) as McpPaywallAction;
      let action = feed({ event: "call", tool, meta: extra?._meta ?? null, now: now(), entropy: toHex(randomBytes(16)), ...(price === undefined ? {} : { price }) });
      let held: ToolResult | undefined;
      for (;;) {
        switch (action.action) {
          case "pass":
            return handler(...params);
          case "countTokenUse":
            action = feed({ event: "tokenUses", before: await tokenUses.use(action.id, action.expiresAt) });
            continue;
          case "respond":
            return action.result as ToolResult;
          case "verify":
          case "settle":
            action = feed((await facilitator(action.action, action.body)) as McpPaywallEvent);
            continue;
          case "runTool":
            try {
              held = await handler(...params);
            } catch (error) {
              // Not charged: the flow delivers nothing to settle, and the tool's error stands.
              feed({ event: "toolResult", isError: true });
              throw error;
            }
            action = feed({ event: "toolResult", isError: held?.isError === true });
            continue;
          case "deliver":
            if (Object.keys(action.meta).length === 0) return held!;
            return { ...held!, _meta: { ...(held!._meta ?? {}), ...action.meta } };
        }
      }
    };
  }

  /** What `tools/list` shows of `tool` in its `_meta` (the 402 an unpaid call answers), so an
   *  agent can plan; `undefined` for a free or unpriced tool. */
  function toolMeta(tool: string): Record<string, unknown> | undefined {
    return wall.toolMeta(tool, now());
  }

  return { paid, toolMeta };
}

/** The slice of the MCP SDK's `Client` a paying client uses. */
export interface McpCallableClient {
  callTool(params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> }, resultSchema?: unknown, options?: unknown): Promise<unknown>;
}

/** A tool result, with the payment made for it. */
export type PaidToolResult = ToolResult & {
  /** The payment made for this result, if one was made. */
  payment?: PaymentRecord;
};

/** Options of `wrapMcpClient`: those of `wrapFetch`. */
export type McpPaymentOptions = PayingOptions;

/** JSON-RPC codes of an answer that was lost rather than refused: the request timed out, or
 *  the connection closed. A paid call is then sent once more as the very same payment. */
const LOST_ANSWER_CODES = new Set([-32001, -32000]);

/**
 * Wraps an MCP client so that its tool calls pay 402 results within `options.policy`.
 *
 * ```ts
 * const paying = wrapMcpClient(client, { payer: { type: "evm", privateKey }, policy: { maxPerRequest: "0.05", dailyLimit: "1" } });
 * const result = await paying.callTool({ name: "search", arguments: { q: "x402" } });
 * result.payment?.settlement?.transaction;
 * ```
 *
 * Pays at most once per call, and never on its own after a 402 that reports a failed
 * settlement. Throws a `PaywireError` whose `code` says why it did not pay (a policy code,
 * `policy_approval_denied`, `payment_rejected` with the server's 402 in `details`).
 */
export function wrapMcpClient<Client extends McpCallableClient>(client: Client, options: McpPaymentOptions) {
  const payer = payerOf(options);

  async function callTool(
    params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> },
    resultSchema?: unknown,
    requestOptions?: unknown,
  ): Promise<PaidToolResult> {
    const flow = new McpClientFlow(payer.config, params.name);
    const feed = (event: McpClientEvent) => flow.feed(event) as McpClientAction;
    let meta: Record<string, unknown> = { ...(params._meta ?? {}) };
    let last: ToolResult | undefined;
    let failure: unknown;
    const call = async (action: McpClientAction): Promise<McpClientAction> => {
      if (action.action !== "call") throw new TypeError("wrapMcpClient carries out only `call` actions");
      for (const token of action.forgetTokens) await payer.tokens.delete(token);
      meta = { ...meta };
      for (const key of action.removeMeta) delete meta[key];
      Object.assign(meta, action.setMeta);
      const outgoing = Object.keys(meta).length === 0 ? { ...params } : { ...params, _meta: meta };
      try {
        last = (await client.callTool(outgoing, resultSchema, requestOptions)) as ToolResult;
        failure = undefined;
        return feed({ event: "result", result: last });
      } catch (error) {
        const code = (error as { code?: unknown })?.code;
        if (typeof code !== "number" || LOST_ANSWER_CODES.has(code)) {
          const next = feed({ event: "connectionFailed" });
          if (next.action === "giveUp") throw error;
          return next;
        }
        failure = error;
        const data = (error as { data?: unknown }).data;
        return feed({ event: "rpcError", code, message: String((error as Error).message ?? ""), ...(data === undefined ? {} : { data }) });
      }
    };
    const payment = await payer.drive(feed({ event: "start", tokens: await payer.tokens.list(), now: payer.now() }), feed, call);
    if (failure !== undefined) throw failure;
    return payment ? { ...last!, payment } : last!;
  }

  return { callTool, client };
}
