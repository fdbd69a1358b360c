/**
 * `wrapFetch`: a `fetch` that pays x402 402s inside a spending policy. An I/O driver over the
 * core's client flow (`ClientFlow`), which decides everything — which token to present, what
 * to pay, when to ask for approval, when to re-send the very same payment, when spending
 * counts. This file only sends requests, reads stores and the clock, and calls the signer.
 */
import { ClientFlow, Policy, evmAddress, signRequestWithEvmKey, signRequestWithWalletSecret } from "../engine.js";
import { PaywireError } from "./errors.js";
import { fromHex, headersObject, randomBytes, toHex, unixNow } from "./headers.js";
import { MemoryTokenStore, MemoryUsageStore, type TokenStore, type UsageStore } from "./stores.js";
import type { AccessToken, AssetRegistry, ClientAction, ClientEvent, PaymentRecord, PaymentRequired, PaymentRequirements, PaymentRequirementsV1, PolicyJson, UsageJson } from "./types.js";

/** Pays with an EVM key held here: EIP-3009 authorizations on `eip155:*` networks. */
export interface EvmPayer {
  type: "evm";
  /** `0x` + 64 hex digits. */
  privateKey: string;
}

/** Anything that signs EIP-712 typed data for an address: a viem `Account` (local, JSON-RPC,
 *  KMS- or CDP-managed), or your own. */
export interface EvmAccount {
  address: string;
  signTypedData(typedData: any): Promise<string>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Pays with an EVM account that signs elsewhere (a wallet, a KMS, CDP). */
export interface EvmAccountPayer {
  type: "evm";
  account: EvmAccount;
}

/** Pays from a Paywire ledger wallet on `paywire:*` networks. */
export interface LedgerPayer {
  type: "ledger";
  walletId: string;
  /** The wallet's signing secret: bytes, or hex as the server printed it. */
  secret: Uint8Array | string;
}

/** What `onApproval` is asked about. */
export interface ApprovalRequest {
  url: string;
  /** Whole units of the asset. */
  amount: string;
  requirements: PaymentRequirements | PaymentRequirementsV1;
  paymentRequired: PaymentRequired;
}

/** Options of `wrapFetch`. */
export interface WrapFetchOptions {
  /** Who pays. */
  payer: EvmPayer | EvmAccountPayer | LedgerPayer;
  /** The spending policy (JSON or a `Policy`). Required: there is no "spend anything" default. */
  policy: PolicyJson | Policy;
  /**
   * The assets the policy judges amounts in (their decimals): by default the built-in table
   * (USDC on Base and Base Sepolia, the ledger's USD). A table given here replaces it: list
   * every asset this client may pay in, such as a token on a chain of your own.
   */
  assets?: AssetRegistry;
  /** Spending so far; in memory by default. */
  usage?: UsageStore;
  /** Access tokens; in memory by default. */
  tokens?: TokenStore;
  /** Asked when the policy wants approval; no callback means "denied". */
  onApproval?: (request: ApprovalRequest) => boolean | Promise<boolean>;
  /** Told of every payment after the paid response arrived. */
  onPayment?: (record: PaymentRecord) => void;
  /** Unix seconds (default: the system clock). */
  now?: () => number;
  /** Random bytes for nonces and payment ids (default: Web Crypto). */
  randomBytes?: (n: number) => Uint8Array;
}

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
  const { payer } = options;
  const policy = options.policy instanceof Policy ? (options.policy.toJSON() as PolicyJson) : options.policy;
  const identity =
    payer.type === "ledger"
      ? { type: "ledger" as const, walletId: payer.walletId }
      : { type: "evm" as const, address: "account" in payer ? payer.account.address : (evmAddress(payer.privateKey) as string) };
  const secret = payer.type === "ledger" ? (typeof payer.secret === "string" ? fromHex(payer.secret) : payer.secret) : undefined;
  const usage = options.usage ?? new MemoryUsageStore();
  const tokens = options.tokens ?? new MemoryTokenStore();
  const now = options.now ?? unixNow;
  const random = options.randomBytes ?? randomBytes;
  // Payments of one client are decided one at a time, so two concurrent 402s cannot both pass
  // a limit only one fits (the settlement server enforces it again, atomically).
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  return async function paywireFetch(input, init) {
    const original = new Request(input, init);
    const config = options.assets === undefined ? { policy, payer: identity } : { policy, payer: identity, assets: options.assets };
    const flow = new ClientFlow(config, original.method, original.url);
    const feed = (event: ClientEvent) => flow.feed(event) as ClientAction;
    let last: Response | undefined;
    const drive = async (action: ClientAction): Promise<Response> => {
      for (;;) {
        switch (action.action) {
          case "send": {
            for (const token of action.forgetTokens) await tokens.delete(token);
            const outgoing = original.clone();
            for (const name of action.removeHeaders) outgoing.headers.delete(name);
            for (const [name, value] of Object.entries(action.setHeaders)) outgoing.headers.set(name, value);
            try {
              last = await fetchImpl(outgoing);
            } catch (error) {
              action = feed({ event: "connectionFailed" });
              if (action.action === "giveUp") throw error;
              continue;
            }
            const body = last.status === 402 ? await last.clone().text() : undefined;
            action = feed({ event: "response", status: last.status, headers: headersObject(last.headers), ...(body === undefined ? {} : { body }) });
            continue;
          }
          case "paymentRequired": {
            for (const token of action.forgetTokens) await tokens.delete(token);
            return serially(async () => drive(feed({ event: "pay", usage: (await usage.get()) ?? {}, now: now(), nonce: toHex(random(32)), paymentId: toHex(random(16)) })));
          }
          case "askApproval": {
            const approved = options.onApproval ? await options.onApproval(action) : false;
            action = feed({ event: "approval", approved: Boolean(approved) });
            continue;
          }
          case "sign": {
            const signature =
              payer.type === "ledger"
                ? signRequestWithWalletSecret(action.request, secret!)
                : "account" in payer
                  ? await payer.account.signTypedData(action.request.typedData)
                  : signRequestWithEvmKey(action.request, payer.privateKey);
            action = feed({ event: "signed", signature });
            continue;
          }
          case "deliver": {
            if (action.usage) await usage.set(action.usage);
            if (action.token) await tokens.add(action.token);
            if (action.payment) {
              payments.set(last!, action.payment);
              options.onPayment?.(action.payment);
            }
            return last!;
          }
          case "refuse":
            throw new PaywireError(action.code, action.message, action.details);
          case "giveUp": // only ever the answer to a failed send, which rethrows its own error
            throw new PaywireError("invalid_argument", "the request failed before any answer");
        }
      }
    };
    return drive(feed({ event: "start", tokens: await tokens.list(), now: now() }));
  };
}
