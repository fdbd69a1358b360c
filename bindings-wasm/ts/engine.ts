/**
 * The engine under @paywire/wasm's host layer: the core compiled to WebAssembly, as
 * wasm-bindgen exports it (@paywire/node has the same API over a native addon). Two hot calls
 * are reshaped here: `KeyRing.verify` and `Policy.evaluate` cross the boundary as strings and
 * numbers (see host/flat.ts), several times faster than objects built from wasm.
 */
import { KeyRing as WasmKeyRing, Policy as WasmPolicy, type Usage } from "../pkg/paywire_wasm.js";
import { decisionOf, packIntent, unflattenVerified } from "./host/flat.js";
import type { Decision, PaymentIntent, VerifiedToken } from "./host/types.js";

// The classes as wasm-bindgen exports them (KeyRing and Policy are reshaped below); the free
// functions through the wrappers both packages share, generated from
// bindings-common/exports.toml.
export { ClientFlow, MemoryStore, Paywall, PaywallFlow, Pricebook, Usage } from "../pkg/paywire_wasm.js";
export * from "./host/exports.js";

let denyReasons: string[] | undefined;

/** HMAC-SHA256 keys by key id: one signs, all verify (see the crate's docs). */
export class KeyRing extends WasmKeyRing {
  /** Verifies a token for `method resource` at `now`, after `uses` earlier uses. */
  override verify(token: string, method: string, resource: string, now: number, uses: number): VerifiedToken {
    return unflattenVerified(this.__verifyFlat(token, method, resource, now, uses));
  }
}

/** A spending policy (see the crate's docs). */
export class Policy extends WasmPolicy {
  /** Judges one payment. */
  override evaluate(intent: PaymentIntent, usage: Usage, now: number): Decision {
    denyReasons ??= WasmPolicy.__denyReasons();
    return decisionOf(this.__evaluatePacked(packIntent(intent), usage, now), denyReasons);
  }
}
