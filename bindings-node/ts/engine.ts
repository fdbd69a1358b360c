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
import { decisionOf, packIntent, unflattenVerified } from "./host/flat.js";
import type {
  Asset, Caveat, Claims, ClientAction, ClientConfig, ClientEvent, Decision, ExactAuthorization, ExactPayload,
  FacilitatorRequest, JsonObject, PaymentIntent, PaymentOption, PaymentPayload, PaymentRequired, PaymentRequirements,
  PaymentRequirementsV1, PaywallAction, PaywallConfig, PaywallEvent, PolicyJson, PriceRule, PricebookJson, Quote,
  QuoteRequest, ResourceInfo, Selection, SettleResponse, SignRequest, UsageJson, VerifiedToken, VerifyResponse,
} from "./host/types.js";

type AnyRequirements = PaymentRequirements | PaymentRequirementsV1;

/** Rethrows what the addon threw as a `PaywireError`: the core's code, or `invalid_argument`
 *  for napi's own type checks (their codes are napi statuses, `StringExpected` and the like). */
function rethrow(error: unknown): never {
  if (error instanceof PaywireError) throw error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const ours = typeof code === "string" && /^[a-z][a-z0-9_]*$/.test(code);
    throw new PaywireError(ours ? (code as string) : "invalid_argument", error.message);
  }
  throw new PaywireError("invalid_argument", String(error));
}

/** Runs an addon call, rethrowing its failure coded. */
function call<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    rethrow(error);
  }
}

/** A JavaScript value as JSON text for the addon; `undefined` is `null`, as in @paywire/wasm. */
function json(value: unknown, what: string): string {
  if (value === undefined) return "null";
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (typeof text !== "string") {
    throw new PaywireError("invalid_argument", `${what}: not JSON (a cycle, a BigInt, a function or a symbol)`);
  }
  return text;
}

/** An optional object: absent when `undefined` or `null`. */
function optionalJson(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : json(value, what);
}

/** A JSON result. */
function parsed<T>(text: string): T {
  return JSON.parse(text) as T;
}

function bytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new PaywireError("invalid_argument", `${what} must be a Uint8Array`);
}

// ---- money ----

/** Parses a price (`"$0.01"`, `"0.01"`) into atomic units of an asset with `decimals`. */
export function parsePrice(price: string, decimals: number): string {
  return call(() => native.parsePrice(price, decimals));
}
/** Checks an atomic amount (a base-10 integer string below 2^128) and returns it normalized. */
export function parseAtomic(text: string): string {
  return call(() => native.parseAtomic(text));
}
/** Atomic units as a whole-unit decimal string. */
export function toDecimal(atomicAmount: string, decimals: number): string {
  return call(() => native.toDecimal(atomicAmount, decimals));
}
/** A whole-unit decimal string as atomic units; more precision than `decimals` is an error. */
export function fromDecimal(decimal: string, decimals: number): string {
  return call(() => native.fromDecimal(decimal, decimals));
}
/** Atomic units formatted for people, trailing zeros dropped. */
export function formatAmount(atomicAmount: string, decimals: number): string {
  return call(() => native.formatAmount(atomicAmount, decimals));
}
/** An amount in other decimals, rounding up when precision is lost. */
export function rescaleAmount(atomicAmount: string, fromDecimals: number, toDecimals: number): string {
  return call(() => native.rescaleAmount(atomicAmount, fromDecimals, toDecimals));
}
/** The built-in asset at `address` on `network`, or `undefined`. */
export function findAsset(network: string, address: string): Asset | undefined {
  const found = call(() => native.findAsset(network, address));
  return found == null ? undefined : parsed<Asset>(found);
}

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

/** The 402 offering `quote` in each payment option (v2 by default; `x402Version` 1 for v1). */
export function paymentRequired(
  quote: Quote,
  options: PaymentOption[],
  resource: ResourceInfo,
  x402Version?: number,
  error?: string | null,
  extensions?: JsonObject,
): PaymentRequired {
  return parsed(call(() => native.paymentRequired(
    json(quote, "quote"), json(options, "payment options"), json(resource, "resource"),
    x402Version ?? undefined, error ?? undefined, optionalJson(extensions, "extensions"),
  )));
}
/** The `payment-identifier` extension a 402 offers. */
export function offerPaymentIdentifier(required: boolean): JsonObject {
  return parsed(call(() => native.offerPaymentIdentifier(required)));
}
/** `{fee, net}` of a gross atomic amount at `feeBps` basis points. */
export function splitFee(gross: string, feeBps: number): { fee: string; net: string } {
  return parsed(call(() => native.splitFee(gross, feeBps)));
}
/** Whether a path pattern matches a path. */
export function pathMatches(pattern: string, path: string): boolean {
  return call(() => native.pathMatches(pattern, path));
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
/** The code of the reason a selection refused every option, or `undefined`. */
export function primaryReason(selection: Selection): string | undefined {
  return call(() => native.primaryReason(json(selection, "selection"))) ?? undefined;
}
/** The host of a URL, as allow-lists compare it, or `undefined`. */
export function hostOf(url: string): string | undefined {
  return call(() => native.hostOf(url)) ?? undefined;
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
/** A token with a caveat appended (no key needed; it can only narrow). */
export function attenuateToken(token: string, caveat: Caveat): string {
  return call(() => native.attenuateToken(token, json(caveat, "caveat")));
}
/** A token's effective claims, read WITHOUT verifying its MAC. */
export function inspectToken(token: string): VerifiedToken {
  return parsed(call(() => native.inspectToken(token)));
}
/** Whether a scope's resource prefix covers a resource URL. */
export function resourceInScope(prefix: string, resource: string): boolean {
  return call(() => native.resourceInScope(prefix, resource));
}
/** The scope prefix of a token sold for `resource` on a route `pattern`. */
export function bundleScope(resource: string, pattern: string): string {
  return call(() => native.bundleScope(resource, pattern));
}
/** Whether a scope covers `method` on `resource`. */
export function scopeAllows(scope: { resource: string; methods: string[] }, method: string, resource: string): boolean {
  return call(() => native.scopeAllows(json(scope, "scope"), method, resource));
}
/** The claims of the token a bundle sells with a payment. */
export function bundleClaims(
  bundle: { maxUses?: number | null; seconds: number },
  rule: PriceRule,
  id: string,
  issuer: string,
  payer: string,
  resource: string,
  now: number,
): Claims {
  return parsed(call(() => native.bundleClaims(json(bundle, "bundle"), json(rule, "rule"), id, issuer, payer, resource, now)));
}
/** The SHA-256 of a token (hex). */
export function tokenHash(token: string): string {
  return call(() => native.tokenHash(token));
}

// ---- idempotency ----

/** An idempotency key, checked and returned. */
export function validateIdempotencyKey(key: string): string {
  return call(() => native.validateIdempotencyKey(key));
}
/** The fingerprint of a request's method, path and body (text or bytes). */
export function fingerprint(method: string, path: string, body: string | Uint8Array | undefined): string {
  if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw new PaywireError("invalid_argument", "body must be a string, a Uint8Array or undefined");
  }
  return call(() => native.fingerprint(method, path, body ?? undefined));
}

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

/** Any JSON value as an x402 header value (base64 of its JSON). */
export function encodeHeader(value: unknown): string {
  return call(() => native.encodeHeader(json(value, "header value")));
}
/** A `PAYMENT-REQUIRED` header's 402. */
export function decodePaymentRequired(headerValue: string, limitBytes: number | undefined): PaymentRequired {
  return parsed(call(() => native.decodePaymentRequired(headerValue, limitBytes ?? undefined)));
}
/** A `PAYMENT-SIGNATURE` / `X-PAYMENT` header's payment. */
export function decodePaymentPayload(headerValue: string, limitBytes: number | undefined): PaymentPayload {
  return parsed(call(() => native.decodePaymentPayload(headerValue, limitBytes ?? undefined)));
}
/** A `PAYMENT-RESPONSE` header's settlement. */
export function decodePaymentResponse(headerValue: string, limitBytes: number | undefined): SettleResponse {
  return parsed(call(() => native.decodePaymentResponse(headerValue, limitBytes ?? undefined)));
}
/** A 402 checked and normalized. */
export function paymentRequiredFromJson(value: unknown): PaymentRequired {
  return parsed(call(() => native.paymentRequiredFromJson(json(value, "paymentRequired"))));
}
/** A payment checked and normalized. */
export function paymentPayloadFromJson(value: unknown): PaymentPayload {
  return parsed(call(() => native.paymentPayloadFromJson(json(value, "paymentPayload"))));
}
/** A network name (CAIP-2 or v1) resolved. */
export function resolveNetwork(name: string): { caip2: string; namespace: string; reference: string; evmChainId: number | null; v1Name: string | null } {
  return parsed(call(() => native.resolveNetwork(name)));
}
/** Whether two network names are the same network. */
export function sameNetwork(a: string, b: string): boolean {
  return call(() => native.sameNetwork(a, b));
}
/** Whether a payment's `accepted` requirements match offered ones. */
export function requirementsMatch(accepted: PaymentRequirements, offered: PaymentRequirements): boolean {
  return call(() => native.requirementsMatch(json(accepted, "accepted"), json(offered, "offered")));
}
/** Which of `offers` a payment pays. */
export function findMatch(offers: AnyRequirements[], payment: PaymentPayload): number {
  return call(() => native.findMatch(json(offers, "offers"), json(payment, "paymentPayload")));
}
/** The `/verify` and `/settle` body for a payment and its requirements. */
export function facilitatorRequest(payment: PaymentPayload, requirements: AnyRequirements): FacilitatorRequest {
  return parsed(call(() => native.facilitatorRequest(json(payment, "paymentPayload"), json(requirements, "paymentRequirements"))));
}
/** A facilitator's `/verify` answer, checked. */
export function parseVerifyResponse(body: unknown): VerifyResponse {
  return parsed(call(() => native.parseVerifyResponse(json(body, "verify response"))));
}
/** A facilitator's `/settle` answer, checked. */
export function parseSettleResponse(body: unknown): SettleResponse {
  return parsed(call(() => native.parseSettleResponse(json(body, "settle response"))));
}
/** The indexes of a 402's options a payer of `kind` can sign. */
export function payableIndexes(paymentRequired_: PaymentRequired, kind: "evm" | "ledger"): Uint32Array {
  if (typeof kind !== "string") throw new PaywireError("invalid_argument", "payer kind must be a string");
  return Uint32Array.from(call(() => native.payableIndexes(json(paymentRequired_, "paymentRequired"), kind)));
}
/** The payment identifier in extensions, or `undefined`. */
export function paymentIdentifier(extensionsValue: JsonObject | undefined): string | undefined {
  return call(() => native.paymentIdentifier(optionalJson(extensionsValue, "extensions"))) ?? undefined;
}
/** Extensions with a payment identifier added. */
export function withPaymentIdentifier(extensionsValue: JsonObject | undefined, id: string): JsonObject {
  return parsed(call(() => native.withPaymentIdentifier(optionalJson(extensionsValue, "extensions"), id)));
}

// ---- schemes ----

/** Verifies an EIP-3009 payment against requirements at `now`. */
export function verifyEvmPayment(payment: PaymentPayload, requirements: AnyRequirements, now: number): { payer: string; value: string; signature: string } {
  return parsed(call(() => native.verifyEvmPayment(json(payment, "paymentPayload"), json(requirements, "paymentRequirements"), now)));
}
/** A 402's option `index` paid with an EVM key. */
export function signEvmPayment(paymentRequired_: PaymentRequired, index: number, privateKey: string, nonce: Uint8Array, now: number): PaymentPayload {
  return parsed(call(() => native.signEvmPayment(json(paymentRequired_, "paymentRequired"), index, privateKey, bytes(nonce, "nonce"), now)));
}
/** The `exact` payload authorizing requirements with an EVM key. */
export function signEvmAuthorization(requirements: AnyRequirements, privateKey: string, nonce: Uint8Array, now: number): ExactPayload {
  return parsed(call(() => native.signEvmAuthorization(json(requirements, "paymentRequirements"), privateKey, bytes(nonce, "nonce"), now)));
}
/** The checksummed address of a private key. */
export function evmAddress(privateKey: string): string {
  return call(() => native.evmAddress(privateKey));
}
/** An address in its EIP-55 checksummed form. */
export function checksumAddress(address: string): string {
  return call(() => native.checksumAddress(address));
}
/** The EIP-712 hashes of an authorization under a token's domain. */
export function eip712Hashes(
  domain: { name: string; version: string; chainId: number; verifyingContract: string },
  message: ExactAuthorization,
): { domainSeparator: string; structHash: string; digest: string } {
  return parsed(call(() => native.eip712Hashes(json(domain, "domain"), json(message, "message"))));
}
/** A 402's option `index` paid from a ledger wallet. */
export function signLedgerPayment(paymentRequired_: PaymentRequired, index: number, walletId: string, secret: Uint8Array, nonce: Uint8Array, now: number): PaymentPayload {
  return parsed(call(() => native.signLedgerPayment(json(paymentRequired_, "paymentRequired"), index, walletId, bytes(secret, "secret"), bytes(nonce, "nonce"), now)));
}
/** The `exact` payload authorizing requirements from a ledger wallet. */
export function signLedgerAuthorization(requirements: AnyRequirements, walletId: string, secret: Uint8Array, nonce: Uint8Array, now: number): ExactPayload {
  return parsed(call(() => native.signLedgerAuthorization(json(requirements, "paymentRequirements"), walletId, bytes(secret, "secret"), bytes(nonce, "nonce"), now)));
}
/** Verifies a ledger payment with wallet secrets (hex) by wallet id. */
export function verifyLedgerPayment(
  payment: PaymentPayload,
  requirements: AnyRequirements,
  now: number,
  secrets: Record<string, string>,
): { payer: string; value: string; authorization: ExactAuthorization } {
  return parsed(call(() => native.verifyLedgerPayment(json(payment, "paymentPayload"), json(requirements, "paymentRequirements"), now, json(secrets, "secrets"))));
}

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
/** A flow's signing request signed with an EVM key. */
export function signRequestWithEvmKey(request: SignRequest, privateKey: string): string {
  return call(() => native.signRequestWithEvmKey(json(request, "sign request"), privateKey));
}
/** A flow's signing request signed with a ledger wallet's secret. */
export function signRequestWithWalletSecret(request: SignRequest, secret: Uint8Array): string {
  return call(() => native.signRequestWithWalletSecret(json(request, "sign request"), bytes(secret, "secret")));
}

// ---- webhooks ----

function body(value: unknown): string | Uint8Array {
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new PaywireError("invalid_argument", "body must be a string or a Uint8Array");
}
/** The `Paywire-Signature` value for `body` sent at `timestamp` (unix seconds) under `secret`. */
export function signWebhook(secret: string, timestamp: number, body_: string | Uint8Array): string {
  return call(() => native.signWebhook(secret, timestamp, body(body_)));
}
/**
 * Checks a delivery's `Paywire-Signature` header against the raw body received, with the
 * endpoint's secret, at `now`, within `toleranceSeconds` (300 when omitted); the signed timestamp.
 */
export function verifyWebhook(header: string, secret: string, body_: string | Uint8Array, now: number, toleranceSeconds?: number): number {
  return call(() => native.verifyWebhook(header, secret, body(body_), now, toleranceSeconds ?? undefined));
}
