/**
 * `wrapFetch`: a `fetch` that pays x402 402s inside a spending policy.
 *
 * On a 402 it decodes what the provider asks for (`PAYMENT-REQUIRED`, or a v1 JSON body),
 * lets the core's policy pick the cheapest option it allows, asks for approval when the
 * policy says so, signs with the configured payer, and retries once with the payment. A
 * payment identifier (v2) and the payment's own nonce make a re-sent payment the same
 * payment, so a retry is never a second charge. Access tokens a provider sold with a payment
 * are kept and presented instead of paying again while they last.
 */
import {
  Policy,
  Usage,
  decodePaymentRequired,
  decodePaymentResponse,
  encodeHeader,
  paymentRequiredFromJson,
  payableIndexes,
  primaryReason,
  scopeAllows,
  signEvmPayment,
  signLedgerPayment,
  withPaymentIdentifier,
} from "../pkg/paywire_wasm.js";
import { PaywireError } from "./errors.js";
import {
  ACCESS_TOKEN_EXTENSION,
  ACCESS_TOKEN_HEADER,
  PAYMENT_REQUIRED,
  PAYMENT_RESPONSE,
  PAYMENT_SIGNATURE,
  X_PAYMENT,
  X_PAYMENT_RESPONSE,
  fromHex,
  randomBytes,
  toHex,
  unixNow,
} from "./headers.js";
import type {
  AccessToken,
  PaymentPayload,
  PaymentRequired,
  PaymentRequirements,
  PaymentRequirementsV1,
  PolicyJson,
  Selection,
  SettleResponse,
  UsageJson,
} from "./types.js";

/** Pays with an EVM key: EIP-3009 authorizations on `eip155:*` networks. */
export interface EvmPayer {
  type: "evm";
  /** `0x` + 64 hex digits. */
  privateKey: string;
}

/** Pays from a Paywire ledger wallet on `paywire:*` networks. */
export interface LedgerPayer {
  type: "ledger";
  walletId: string;
  /** The wallet's signing secret: bytes, or hex as the server printed it. */
  secret: Uint8Array | string;
}

/** Where spending usage lives between payments (in memory unless you plug in your own). */
export interface UsageStore {
  get(): UsageJson | undefined | Promise<UsageJson | undefined>;
  set(usage: UsageJson): void | Promise<void>;
}

/** Where sold access tokens live between requests. */
export interface TokenStore {
  /** Every token held (expired ones may be included; they are skipped and deleted). */
  list(): AccessToken[] | Promise<AccessToken[]>;
  add(token: AccessToken): void | Promise<void>;
  delete(token: string): void | Promise<void>;
}

/** What `onApproval` is asked about. */
export interface ApprovalRequest {
  url: string;
  /** Whole units of the asset. */
  amount: string;
  requirements: PaymentRequirements | PaymentRequirementsV1;
  paymentRequired: PaymentRequired;
}

/** A payment made by the wrapped fetch, as `paymentOf(response)` reports it. */
export interface PaymentRecord {
  /** What the provider asked for. */
  paymentRequired: PaymentRequired;
  /** The option paid. */
  requirements: PaymentRequirements | PaymentRequirementsV1;
  /** The signed payment sent. */
  payment: PaymentPayload;
  /** Whole units paid. */
  amount: string;
  /** The decoded `PAYMENT-RESPONSE`, when the provider sent one. */
  settlement?: SettleResponse;
  /** The access token sold with the payment, if any. */
  accessToken?: AccessToken;
}

/** Options of `wrapFetch`. */
export interface WrapFetchOptions {
  /** Who pays. */
  payer: EvmPayer | LedgerPayer;
  /** The spending policy (JSON or a `Policy`). Required: there is no "spend anything" default. */
  policy: PolicyJson | Policy;
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

/** A usage store in memory. */
export class MemoryUsageStore implements UsageStore {
  private usage: UsageJson | undefined;
  get(): UsageJson | undefined {
    return this.usage;
  }
  set(usage: UsageJson): void {
    this.usage = usage;
  }
}

/** A token store in memory. */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, AccessToken>();
  list(): AccessToken[] {
    return [...this.tokens.values()];
  }
  add(token: AccessToken): void {
    this.tokens.set(token.token, token);
  }
  delete(token: string): void {
    this.tokens.delete(token);
  }
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
 * const response = await pay("https://api.example.com/v1/weather/paris");
 * paymentOf(response)?.settlement?.transaction;
 * ```
 *
 * Throws a `PaywireError` whose `code` says why it did not pay: a policy code
 * (`policy_daily_limit_exceeded`, `policy_approval_denied`, `policy_no_options`, ...), a
 * decoding code (`header_malformed`, ...), or `payment_rejected` when the provider refused the
 * signed payment (its 402 is in `details`).
 */
export function wrapFetch(fetchImpl: Fetch, options: WrapFetchOptions): Fetch {
  const policy = options.policy instanceof Policy ? options.policy : new Policy(options.policy);
  const usageStore = options.usage ?? new MemoryUsageStore();
  const tokenStore = options.tokens ?? new MemoryTokenStore();
  const now = options.now ?? unixNow;
  const random = options.randomBytes ?? randomBytes;
  const payer = options.payer;
  const ledgerSecret =
    payer.type === "ledger"
      ? typeof payer.secret === "string"
        ? fromHex(payer.secret)
        : payer.secret
      : undefined;
  // Payments of one client are decided one at a time, so two concurrent 402s cannot both
  // pass a limit that only one fits (the settlement server enforces it again, atomically).
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  return async function paywireFetch(input, init) {
    const original = new Request(input, init);
    const url = original.url;
    const method = original.method.toUpperCase();

    const held = await usableToken(tokenStore, url, method, now());
    const first = original.clone();
    if (held) first.headers.set(ACCESS_TOKEN_HEADER, held.token);
    const response = await fetchImpl(first);
    if (response.status !== 402) return response;
    if (held) await tokenStore.delete(held.token);

    const paymentRequired = await readPaymentRequired(response);
    return serially(async () => {
      const usage = await loadUsage(usageStore);
      try {
        const payable = payableOnly(paymentRequired, payer.type);
        const at = now();
        const selection = policy.select(payable.required, usage, at) as Selection;
        if (selection.outcome === "noneAllowed") {
          const reason = primaryReason(selection) ?? "policy_no_options";
          throw new PaywireError(reason, `no payment option is allowed: ${reason}`, selection.rejections);
        }
        const index = payable.indexes[selection.index]!;
        const requirements = paymentRequired.accepts[index]!;
        if (selection.needsApproval) {
          const approved = options.onApproval
            ? await options.onApproval({ url, amount: selection.amount, requirements, paymentRequired })
            : false;
          if (!approved) {
            throw new PaywireError("policy_approval_denied", `paying ${selection.amount} for ${url} was not approved`);
          }
        }
        const payment = sign(paymentRequired, index, at);
        const paid = original.clone();
        paid.headers.delete(ACCESS_TOKEN_HEADER);
        paid.headers.set(payment.x402Version === 1 ? X_PAYMENT : PAYMENT_SIGNATURE, encodeHeader(payment));
        const result = await resend(fetchImpl, paid);
        if (result.status === 402) {
          const refusal = await readPaymentRequired(result).catch(() => undefined);
          throw new PaywireError(
            "payment_rejected",
            `the provider refused the payment${refusal?.error ? `: ${refusal.error}` : ""}`,
            refusal,
          );
        }
        const settlement = readSettlement(result);
        const record: PaymentRecord = { paymentRequired, requirements, payment, amount: selection.amount };
        if (settlement) record.settlement = settlement;
        // Spent only when the provider delivered: a facilitator outage (502) or a failed
        // settlement charged nothing and must not eat into the limits.
        if (result.ok && (settlement === undefined || settlement.success)) {
          policy.record(usage, selection.amount, at);
          await usageStore.set(usage.toJSON() as UsageJson);
        }
        const token = settlement?.extensions?.[ACCESS_TOKEN_EXTENSION] as AccessToken | undefined;
        if (token && typeof token.token === "string") {
          record.accessToken = token;
          await tokenStore.add(token);
        }
        payments.set(result, record);
        options.onPayment?.(record);
        return result;
      } finally {
        usage.free();
      }
    });
  };

  function sign(required: PaymentRequired, index: number, at: number): PaymentPayload {
    const nonce = random(32);
    let payment: PaymentPayload;
    if (payer.type === "evm") {
      payment = signEvmPayment(required, index, payer.privateKey, nonce, at) as PaymentPayload;
    } else {
      payment = signLedgerPayment(required, index, payer.walletId, ledgerSecret!, nonce, at) as PaymentPayload;
    }
    if (payment.x402Version === 2) {
      // A fresh id per payment; the provider's facilitator answers a re-sent copy with the
      // first outcome instead of charging again.
      payment.extensions = withPaymentIdentifier(payment.extensions, `pay_${toHex(random(16))}`);
    }
    return payment;
  }
}

/** Sends a paid request; when the connection fails before an answer, sends the very same
 *  payment once more (same nonce and id: the facilitator settles it at most once). */
async function resend(fetchImpl: Fetch, paid: Request): Promise<Response> {
  const spare = paid.clone();
  try {
    return await fetchImpl(paid);
  } catch {
    return fetchImpl(spare);
  }
}

async function readPaymentRequired(response: Response): Promise<PaymentRequired> {
  const header = response.headers.get(PAYMENT_REQUIRED);
  if (header) return decodePaymentRequired(header, undefined) as PaymentRequired;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new PaywireError("invalid_payload", "a 402 without PAYMENT-REQUIRED and without a JSON body");
  }
  return paymentRequiredFromJson(body) as PaymentRequired;
}

function readSettlement(response: Response): SettleResponse | undefined {
  const header = response.headers.get(PAYMENT_RESPONSE) ?? response.headers.get(X_PAYMENT_RESPONSE);
  return header ? (decodePaymentResponse(header, undefined) as SettleResponse) : undefined;
}

/** Only the options this payer can sign for (the core decides), and where each sits in the
 *  original 402. */
function payableOnly(required: PaymentRequired, payer: "evm" | "ledger"): { required: PaymentRequired; indexes: number[] } {
  const indexes = Array.from(payableIndexes(required, payer));
  const accepts = indexes.map((index) => required.accepts[index]);
  return { required: { ...required, accepts } as PaymentRequired, indexes };
}

async function loadUsage(store: UsageStore): Promise<Usage> {
  const json = await store.get();
  return json ? Usage.fromJSON(json) : new Usage();
}

async function usableToken(store: TokenStore, url: string, method: string, at: number): Promise<AccessToken | undefined> {
  for (const token of await store.list()) {
    if (token.expiresAt <= at) {
      await store.delete(token.token);
      continue;
    }
    if (scopeAllows(token.scope, method, url)) return token;
  }
  return undefined;
}
