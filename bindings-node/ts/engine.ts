/**
 * The engine under @paywire/node: the core as a native addon, with the exact API of
 * @paywire/wasm. The addon takes and returns objects as JSON text and strings, numbers and
 * bytes as they are (paywire-bindings-common checks them, the same way for every binding);
 * this file turns JSON text into objects and every failure into a `PaywireError` with the
 * core's code. A value of the wrong JavaScript type, refused by napi itself, is
 * `invalid_argument`, as it is in @paywire/wasm.
 */
import native = require("../native/index.js");
import { PaywireError } from "./host/errors.js";
import { bytes, call, json, parsed } from "./host/marshal.js";
import { decisionOf, packIntent, unflattenVerified } from "./host/flat.js";
import type {
  Asset, Caveat, Claims, ClientAction, ClientConfig, ClientEvent, Decision, ExactAuthorization, ExactPayload,
  FacilitatorRequest, JsonObject, PaymentIntent, PaymentOption, PaymentPayload, PaymentRequired, PaymentRequirements,
  PaymentRequirementsV1, PaywallAction, PaywallConfig, PaywallEvent, PolicyJson, PriceRule, PricebookJson, Quote,
  QuoteRequest, ResourceInfo, Selection, SettleResponse, SignRequest, UsageJson, VerifiedToken, VerifyResponse,
} from "./host/types.js";

// The free functions, generated from bindings-common/exports.toml (shared with @paywire/wasm);
// the classes follow.
export * from "./host/exports.js";

// ---- pricing ----

/** A pricebook: price rules in one scale, and the platform fee. */
export class Pricebook {
  readonly #book: native.Pricebook;
  constructor(pricebook: PricebookJson) {
    this.#book = call(() => new native.Pricebook(json(pricebook, "pricebook")));
  }
  /** Prices a request. */
  quote(request: QuoteRequest): Quote {
    return parsed(call(() => this.#book.quote(json(request, "quote request"))));
  }
  /** The index of the rule pricing `method path`, or `undefined`. */
  route(method: string, path: string): number | undefined {
    return call(() => this.#book.route(method, path)) ?? undefined;
  }
  /** Rule `index`, or `undefined`. */
  rule(index: number): PriceRule | undefined {
    const rule = call(() => this.#book.rule(index));
    return rule == null ? undefined : parsed<PriceRule>(rule);
  }
  /** The pricebook as JSON. */
  toJSON(): PricebookJson {
    return parsed(call(() => this.#book.toJSON()));
  }
}

// ---- policy ----

const denyReasons: string[] = native.denyReasons();

const nativeUsage = new WeakMap<Usage, native.Usage>();

function usageOf(usage: unknown): native.Usage {
  const found = usage instanceof Usage ? nativeUsage.get(usage) : undefined;
  if (!found) throw new PaywireError("invalid_argument", "usage must be a Usage");
  return found;
}

/** The spending so far (persist it between payments with `toJSON` / `Usage.fromJSON`). */
export class Usage {
  constructor(inner?: native.Usage) {
    nativeUsage.set(this, inner instanceof native.Usage ? inner : new native.Usage());
  }
  /** Usage from its JSON. */
  static fromJSON(json_: UsageJson): Usage {
    return new Usage(call(() => native.Usage.fromJSON(json(json_, "usage"))));
  }
  /** The usage as JSON. */
  toJSON(): UsageJson {
    return parsed(call(() => usageOf(this).toJSON()));
  }
}

/** A spending policy. */
export class Policy {
  readonly #policy: native.Policy;
  constructor(policy: PolicyJson) {
    this.#policy = call(() => new native.Policy(json(policy, "policy")));
  }
  /** Judges one payment. */
  evaluate(intent: PaymentIntent, usage: Usage, now: number): Decision {
    return decisionOf(call(() => this.#policy.evaluatePacked(packIntent(intent), usageOf(usage), now)), denyReasons);
  }
  /** What to pay from a 402, or why nothing. */
  select(paymentRequired_: PaymentRequired, usage: Usage, now: number): Selection {
    return parsed(call(() => this.#policy.select(json(paymentRequired_, "paymentRequired"), usageOf(usage), now)));
  }
  /** Records a payment of `amount` whole units into `usage`. */
  record(usage: Usage, amount: string, now: number): void {
    call(() => this.#policy.record(usageOf(usage), amount, now));
  }
  /** The policy as JSON. */
  toJSON(): PolicyJson {
    return parsed(call(() => this.#policy.toJSON()));
  }
}

// ---- tokens ----

const nativeRing = new WeakMap<KeyRing, native.KeyRing>();

function ringOf(keys: unknown): native.KeyRing {
  const found = keys instanceof KeyRing ? nativeRing.get(keys) : undefined;
  if (!found) throw new PaywireError("invalid_argument", "keys must be a KeyRing");
  return found;
}

/** HMAC-SHA256 keys by key id: one signs, all verify. */
export class KeyRing {
  constructor(kid: string, secret: Uint8Array) {
    nativeRing.set(this, call(() => new native.KeyRing(kid, bytes(secret, "secret"))));
  }
  /** Adds a key that verifies but does not sign. */
  addVerifyingKey(kid: string, secret: Uint8Array): void {
    call(() => ringOf(this).addVerifyingKey(kid, bytes(secret, "secret")));
  }
  /** Makes `kid` the signing key (adding it with `secret`). */
  rotate(kid: string, secret: Uint8Array): void {
    call(() => ringOf(this).rotate(kid, bytes(secret, "secret")));
  }
  /** Removes a verifying key. */
  retire(kid: string): void {
    call(() => ringOf(this).retire(kid));
  }
  /** The id of the key that signs. */
  get signingKid(): string {
    return ringOf(this).signingKid;
  }
  /** Signs claims into a token. */
  issue(claims: Claims): string {
    return call(() => ringOf(this).issue(json(claims, "claims")));
  }
  /** Verifies a token for `method resource` at `now`, after `uses` earlier uses. */
  verify(token: string, method: string, resource: string, now: number, uses: number): VerifiedToken {
    return unflattenVerified(call(() => ringOf(this).verifyFlat(token, method, resource, now, uses)));
  }
}

// ---- idempotency ----

/** A bounded in-memory idempotency store deciding by Stripe's contract. */
export class MemoryStore {
  readonly #store: native.MemoryStore;
  constructor(capacity: number, retentionSeconds?: number, leaseSeconds?: number) {
    this.#store = call(() => new native.MemoryStore(capacity, retentionSeconds ?? undefined, leaseSeconds ?? undefined));
  }
  /** Begins a request: proceed, or replay the stored outcome. */
  begin(key: string, fingerprint_: string, now: number): { action: "proceed" } | { action: "replay"; status: number; body: string } {
    return parsed(call(() => this.#store.begin(key, fingerprint_, now)));
  }
  /** Stores a request's outcome. */
  complete(key: string, fingerprint_: string, status: number, body: string, now: number): void {
    call(() => this.#store.complete(key, fingerprint_, status, body, now));
  }
  /** Releases a key whose request failed before any outcome. */
  abandon(key: string, fingerprint_: string): void {
    call(() => this.#store.abandon(key, fingerprint_));
  }
  /** Forgets what expired by `now`. */
  sweep(now: number): void {
    call(() => this.#store.sweep(now));
  }
  /** How many keys it holds. */
  get size(): number {
    return this.#store.size;
  }
}

// ---- protocol ----

// ---- schemes ----

// ---- flows ----

/** One paid request's client flow: feed events, take actions. */
export class ClientFlow {
  readonly #flow: native.ClientFlow;
  constructor(config: ClientConfig, method: string, url: string) {
    this.#flow = call(() => new native.ClientFlow(json(config, "client config"), method, url));
  }
  /** Feeds an event: the next action. */
  feed(event: ClientEvent): ClientAction {
    return parsed(call(() => this.#flow.feed(json(event, "client event"))));
  }
}

const nativeFlow = new WeakMap<PaywallFlow, native.PaywallFlow>();

function flowOf(flow: unknown): native.PaywallFlow {
  const found = flow instanceof PaywallFlow ? nativeFlow.get(flow) : undefined;
  if (!found) throw new PaywireError("invalid_argument", "flow must be a PaywallFlow");
  return found;
}

/** One request's state in a paywall. */
export class PaywallFlow {
  constructor() {
    nativeFlow.set(this, new native.PaywallFlow());
  }
}

/** A provider's paywall: feed a request's events, take actions. */
export class Paywall {
  readonly #paywall: native.Paywall;
  constructor(config: PaywallConfig) {
    this.#paywall = call(() => new native.Paywall(json(config, "paywall config")));
  }
  /** Feeds an event to `flow`: the next action. */
  feed(flow: PaywallFlow, event: PaywallEvent): PaywallAction {
    return parsed(call(() => this.#paywall.feed(flowOf(flow), json(event, "paywall event"))));
  }
  /** The same, with `keys` verifying presented tokens and signing sold ones. */
  feedWithKeys(flow: PaywallFlow, event: PaywallEvent, keys: KeyRing): PaywallAction {
    return parsed(call(() => this.#paywall.feedWithKeys(flowOf(flow), json(event, "paywall event"), ringOf(keys))));
  }
}
