/**
 * What every paying client shares, whatever carries its requests (`wrapFetch` over HTTP,
 * `wrapMcpClient` over MCP): who pays and how it signs, the spending policy and its stores,
 * approval, and the driver that carries out the core client flow's transport-free actions
 * (pay, ask approval, sign, deliver, refuse) while the transport carries out its own
 * (`send`, `call`). The flow decides; this file reads stores, the clock and the signer.
 */
import { Policy, evmAddress, signRequestWithEvmKey, signRequestWithWalletSecret } from "../engine.js";
import { PaywireError } from "./errors.js";
import { fromHex, randomBytes, toHex, unixNow } from "./headers.js";
import { MemoryTokenStore, MemoryUsageStore, type TokenStore, type UsageStore } from "./stores.js";
import type { AssetRegistry, ClientAction, ClientConfig, ClientEvent, PaymentRecord, PaymentRequired, PaymentRequirements, PaymentRequirementsV1, PolicyJson } from "./types.js";

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

/** Options of every paying client (`wrapFetch`, `wrapMcpClient`). */
export interface PayingOptions {
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

/** A flow action the transport carries out (`send` for HTTP, `call` for MCP). */
type TransportAction = { action: "send" } | { action: "call" };

/** A paying client's shared state, and its driver. */
export interface Payer {
  /** The flow configuration: the policy and who pays. */
  config: ClientConfig;
  /** The access tokens it holds. */
  tokens: TokenStore;
  /** The clock. */
  now: () => number;
  /**
   * Carries out `action` and those that follow until the flow delivers: the transport's own
   * actions through `transport` (which answers the flow's next action), the rest here. Resolves
   * with the payment made, if any; throws a `PaywireError` when the flow refuses.
   */
  drive<Action extends { action: string }>(
    action: Action,
    feed: (event: ClientEvent) => Action,
    transport: (action: Action & TransportAction) => Promise<Action>,
  ): Promise<PaymentRecord | undefined>;
}

/** The shared part of a paying client over `options`. */
export function payerOf(options: PayingOptions): Payer {
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
  const config: ClientConfig = options.assets === undefined ? { policy, payer: identity } : { policy, payer: identity, assets: options.assets };
  // Payments of one client are decided one at a time, so two concurrent 402s cannot both pass
  // a limit only one fits (the settlement server enforces it again, atomically).
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  async function drive<Action extends { action: string }>(
    first: Action,
    feed: (event: ClientEvent) => Action,
    transport: (action: Action & TransportAction) => Promise<Action>,
  ): Promise<PaymentRecord | undefined> {
    let next: Action = first;
    for (;;) {
      const action = next as unknown as ClientAction | (Action & TransportAction);
      switch (action.action) {
        case "send":
        case "call":
          next = await transport(action as Action & TransportAction);
          continue;
        case "paymentRequired": {
          for (const token of action.forgetTokens) await tokens.delete(token);
          return serially(async () =>
            drive(feed({ event: "pay", usage: (await usage.get()) ?? {}, now: now(), nonce: toHex(random(32)), paymentId: toHex(random(16)) }), feed, transport),
          );
        }
        case "askApproval": {
          const approved = options.onApproval ? await options.onApproval(action) : false;
          next = feed({ event: "approval", approved: Boolean(approved) });
          continue;
        }
        case "sign": {
          const signature =
            payer.type === "ledger"
              ? signRequestWithWalletSecret(action.request, secret!)
              : "account" in payer
                ? await payer.account.signTypedData(action.request.typedData)
                : signRequestWithEvmKey(action.request, payer.privateKey);
          next = feed({ event: "signed", signature });
          continue;
        }
        case "deliver": {
          if (action.usage) await usage.set(action.usage);
          if (action.token) await tokens.add(action.token);
          if (action.payment) options.onPayment?.(action.payment);
          return action.payment ?? undefined;
        }
        case "refuse":
          throw new PaywireError(action.code, action.message, action.details);
        case "giveUp": // only ever the answer to a failed send, which rethrows its own error
          throw new PaywireError("invalid_argument", "the request failed before any answer");
      }
    }
  }
  return { config, tokens, now, drive };
}
