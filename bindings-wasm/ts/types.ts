/**
 * The JSON shapes that cross the @paywire/wasm API: x402 wire types (v2 and v1) and
 * Paywire's own (policies, pricebooks, quotes, tokens). Amounts are decimal strings: atomic
 * units where x402 uses them (`amount`, `maxAmountRequired`, `value`), whole units where a
 * person writes them (policy limits, `Selection.amount`). Times are unix seconds.
 */

/** Unknown fields are kept and passed through, as x402 requires. */
export type JsonObject = { [key: string]: unknown };

/** An asset: where it lives, its contract (or ledger code), and its scale. */
export interface Asset {
  /** CAIP-2 (`eip155:8453`, `paywire:main`) or a v1 name (`base`). */
  network: string;
  /** Token contract address, or a ledger asset code. */
  address: string;
  symbol: string;
  decimals: number;
  /** Scheme data, e.g. the EIP-712 `{name, version}` of an EVM token. */
  extra?: JsonObject;
}

/** x402 v2: one way a resource may be paid for. */
export interface PaymentRequirements {
  scheme: string;
  network: string;
  /** Atomic units. */
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra?: JsonObject;
  [key: string]: unknown;
}

/** x402 v1: one way a resource may be paid for. */
export interface PaymentRequirementsV1 {
  scheme: string;
  network: string;
  /** Atomic units. */
  maxAmountRequired: string;
  resource: string;
  description?: string;
  mimeType?: string;
  outputSchema?: unknown;
  payTo: string;
  maxTimeoutSeconds: number;
  asset: string;
  extra?: JsonObject;
  [key: string]: unknown;
}

/** The resource a v2 402 is about. */
export interface ResourceInfo {
  url: string;
  description?: string;
  mimeType?: string;
  [key: string]: unknown;
}

/** x402 v2 402 (the `PAYMENT-REQUIRED` header's content). */
export interface PaymentRequiredV2 {
  x402Version: 2;
  error?: string;
  resource: ResourceInfo;
  accepts: PaymentRequirements[];
  extensions?: JsonObject;
  [key: string]: unknown;
}

/** x402 v1 402 (the JSON response body). */
export interface PaymentRequiredV1 {
  x402Version: 1;
  error?: string;
  accepts: PaymentRequirementsV1[];
  [key: string]: unknown;
}

/** A 402 of either version. */
export type PaymentRequired = PaymentRequiredV2 | PaymentRequiredV1;

/** x402 v2 payment (the `PAYMENT-SIGNATURE` header's content). */
export interface PaymentPayloadV2 {
  x402Version: 2;
  resource?: ResourceInfo;
  accepted: PaymentRequirements;
  payload: JsonObject;
  extensions?: JsonObject;
  [key: string]: unknown;
}

/** x402 v1 payment (the `X-PAYMENT` header's content). */
export interface PaymentPayloadV1 {
  x402Version: 1;
  scheme: string;
  network: string;
  payload: JsonObject;
  [key: string]: unknown;
}

/** A payment of either version. */
export type PaymentPayload = PaymentPayloadV2 | PaymentPayloadV1;

/** EIP-3009 `TransferWithAuthorization` fields as x402 carries them. */
export interface ExactAuthorization {
  from: string;
  to: string;
  value: string;
  validAfter: string;
  validBefore: string;
  /** `0x` + 64 hex digits. */
  nonce: string;
}

/** The `exact` scheme's payload. */
export interface ExactPayload {
  signature: string;
  authorization: ExactAuthorization;
}

/** A facilitator's `/verify` and `/settle` request body. */
export interface FacilitatorRequest {
  x402Version: 1 | 2;
  paymentPayload: PaymentPayload;
  paymentRequirements: PaymentRequirements | PaymentRequirementsV1;
}

/** A facilitator's `/verify` answer. */
export interface VerifyResponse {
  isValid: boolean;
  invalidReason?: string;
  invalidMessage?: string;
  payer?: string;
  extensions?: JsonObject;
}

/** A facilitator's `/settle` answer (the `PAYMENT-RESPONSE` header's content). */
export interface SettleResponse {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  payer?: string;
  transaction: string;
  network: string;
  amount?: string;
  extensions?: JsonObject;
}

/** A spending policy; every field optional; limits in whole units (`"5.00"`). */
export interface PolicyJson {
  maxPerRequest?: string;
  dailyLimit?: string;
  monthlyLimit?: string;
  allowedPayees?: string[];
  allowedNetworks?: string[];
  allowedAssets?: string[];
  allowedHosts?: string[];
  velocity?: { maxPayments: number; windowSeconds: number };
  approvalThreshold?: string;
  windows?: { type: "calendar"; utcOffsetMinutes?: number } | { type: "rolling" };
}

/** One payment for a policy to judge. */
export interface PaymentIntent {
  /** Whole units. */
  amount: string;
  network: string;
  asset: string;
  payTo: string;
  resource?: string;
}

/** A policy's verdict. */
export type Decision =
  | { decision: "allow" }
  | { decision: "needsApproval" }
  | { decision: "deny"; reason: string };

/** Why one offered option was refused. */
export interface Rejection {
  index: number;
  amount: string | null;
  reason: string;
}

/** What to pay from a 402, or why nothing. */
export type Selection =
  | { outcome: "selected"; index: number; amount: string; needsApproval: boolean }
  | { outcome: "noneAllowed"; rejections: Rejection[] };

/** Spending so far (persist it between payments). */
export interface UsageJson {
  day: number;
  spentToday: string;
  month: number;
  spentThisMonth: string;
  recentPayments: number[];
  hourly?: { start: number; amount: string }[];
  daily?: { start: number; amount: string }[];
}

/** Volume or graduated tiers. */
export interface PriceTier {
  /** The last unit (1-based, within the period) of this tier; absent for the top tier. */
  upTo?: number | null;
  /** Atomic units per billable unit. */
  unitPrice: string;
}

/** A price: flat, usage-based, with a free quota. Atomic units at the pricebook's decimals. */
export interface Price {
  flat?: string;
  usage?: { mode: "volume" | "graduated"; tiers: PriceTier[]; unitSize?: number };
  freeQuota?: { requests: number } | { units: number };
}

/** A price rule. */
export interface PriceRule {
  method: string;
  path: string;
  price: Price;
  overrides?: { [consumer: string]: Price };
  description?: string;
}

/** A pricebook. */
export interface PricebookJson {
  decimals?: number;
  feeBps?: number;
  rules: PriceRule[];
}

/** What to price. */
export interface QuoteRequest {
  method: string;
  path: string;
  consumer?: string;
  quantity?: number;
  periodRequests?: number;
  periodUnits?: number;
}

/** A priced request. */
export interface Quote {
  rule: number;
  decimals: number;
  amount: string;
  fee: string;
  net: string;
  breakdown: {
    flat: string;
    usage: string;
    units: number;
    freeUnits: number;
    freeRequest: boolean;
    consumerOverride: boolean;
  };
}

/** A way a provider accepts payment. */
export interface PaymentOption {
  scheme?: string;
  asset: Asset;
  payTo: string;
  maxTimeoutSeconds?: number;
}

/** Access-token claims. */
export interface Claims {
  id: string;
  iss: string;
  sub: string;
  scope: { resource: string; methods: string[] };
  iat: number;
  exp: number;
  maxUses?: number | null;
}

/** A caveat appended by a token's holder. */
export type Caveat = { exp: number } | { resource: string } | { methods: string[] } | { maxUses: number };

/** A verified (or inspected) token. */
export interface VerifiedToken {
  kid: string;
  claims: Claims;
  caveats: number;
}

/** The access token a settlement sold, as carried in `extensions["paywire-access-token"]`. */
export interface AccessToken {
  token: string;
  expiresAt: number;
  maxUses?: number | null;
  scope: { resource: string; methods: string[] };
}

/** Who pays, as the client flow signs for it. */
export type PayerIdentity = { type: "evm"; address: string } | { type: "ledger"; walletId: string };

/** The client flow's configuration. */
export interface ClientConfig {
  policy: PolicyJson;
  payer: PayerIdentity;
  assets?: Asset[];
}

/** What a payer signs (an action of the client flow). */
export interface SignRequest {
  payer: "evm" | "ledger";
  network: string;
  asset: string;
  authorization: ExactAuthorization;
  /** EVM: EIP-712 typed data, as `signTypedData` takes it. */
  typedData?: JsonObject;
  /** EVM: the EIP-712 digest, `0x`-hex. */
  digest?: string;
}

/** A payment the client made. */
export interface PaymentRecord {
  paymentRequired: PaymentRequired;
  requirements: PaymentRequirements | PaymentRequirementsV1;
  payment: PaymentPayload;
  /** Whole units paid. */
  amount: string;
  settlement?: SettleResponse;
  accessToken?: AccessToken;
}

/** An HTTP response as the client flow reads it. */
export interface FlowResponse {
  status: number;
  headers: { [name: string]: string };
  body?: string;
}

/** What the agent's host saw. */
export type ClientEvent =
  | { event: "start"; tokens: AccessToken[]; now: number }
  | ({ event: "response" } & FlowResponse)
  | { event: "pay"; usage: UsageJson | {}; now: number; nonce: string; paymentId: string }
  | { event: "approval"; approved: boolean }
  | { event: "signed"; signature: string }
  | { event: "connectionFailed" };

/** What the agent's host does next. */
export type ClientAction =
  | { action: "send"; setHeaders: { [name: string]: string }; removeHeaders: string[]; forgetTokens: string[]; paid: boolean }
  | { action: "paymentRequired"; paymentRequired: PaymentRequired; forgetTokens: string[] }
  | { action: "askApproval"; url: string; amount: string; requirements: PaymentRequirements | PaymentRequirementsV1; paymentRequired: PaymentRequired }
  | { action: "sign"; request: SignRequest }
  | { action: "deliver"; usage?: UsageJson; token?: AccessToken; payment?: PaymentRecord }
  | { action: "refuse"; code: string; message: string; details?: unknown }
  | { action: "giveUp" };

/** A paywall route: a price rule, and optionally the bundle a payment also buys. */
export interface PaywallRouteJson extends PriceRule {
  bundle?: { maxUses?: number; seconds: number };
}

/** The paywall flow's configuration. */
export interface PaywallConfig {
  routes: PaywallRouteJson[];
  accepts: PaymentOption[];
  decimals?: number;
  requirePaymentIdentifier?: boolean;
  tokenIssuer?: string;
}

/** What the provider's host saw. */
export type PaywallEvent =
  | { event: "request"; method: string; url: string; headers: { [name: string]: string }; now: number; entropy: string }
  | { event: "tokenUses"; before: number }
  | { event: "facilitator"; status: number; body: unknown }
  | { event: "facilitatorUnreachable"; message: string }
  | { event: "handler"; status: number };

/** What the provider's host does next. */
export type PaywallAction =
  | { action: "pass" }
  | { action: "countTokenUse"; id: string; expiresAt: number }
  | { action: "respond"; status: number; headers: { [name: string]: string }; body: string }
  | { action: "verify"; body: FacilitatorRequest }
  | { action: "runHandler" }
  | { action: "settle"; body: FacilitatorRequest }
  | { action: "deliver"; setHeaders: { [name: string]: string } };
