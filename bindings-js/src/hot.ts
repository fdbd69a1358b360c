/**
 * The two hot calls, written by hand over the generated classes (./exports.ts): an agent
 * evaluates its policy per payment and a provider verifies a token per request, so each
 * crosses into the engine as strings and numbers and comes back as one string or one number
 * (./flat.ts), several times cheaper than objects built across the boundary. Both packages
 * export these classes in place of the generated ones.
 */
import * as native from "../native.js";
import * as generated from "./exports.js";
import { decisionOf, packIntent, unflattenVerified } from "./flat.js";
import * as marshal from "./marshal.js";
import type { Decision, PaymentIntent, VerifiedToken } from "./types.js";

let denyReasons: string[] | undefined;

/** HMAC-SHA256 keys by key id: one signs, all verify. */
export class KeyRing extends generated.KeyRing {
  /** Verifies a token for `method resource` at `now`, after `uses` earlier uses. */
  verify(token: string, method: string, resource: string, now: number, uses: number): VerifiedToken {
    const ring = marshal.nativeOf<native.KeyRing>(this, generated.KeyRing, "this");
    return unflattenVerified(
      marshal.call(() =>
        ring.verifyFlat(
          marshal.string(token, "token"),
          marshal.string(method, "method"),
          marshal.string(resource, "resource"),
          marshal.number(now, "now"),
          marshal.number(uses, "uses"),
        ),
      ),
    );
  }
}

/** A spending policy: limits per request, day and month, allow-lists, a velocity limit and an
 *  approval threshold (all optional). */
export class Policy extends generated.Policy {
  /** Judges one payment. */
  evaluate(intent: PaymentIntent, usage: generated.Usage, now: number): Decision {
    const policy = marshal.nativeOf<native.Policy>(this, generated.Policy, "this");
    const code = marshal.call(() =>
      policy.evaluatePacked(
        packIntent(intent),
        marshal.nativeOf<native.Usage>(usage, generated.Usage, "usage"),
        marshal.number(now, "now"),
      ),
    );
    denyReasons ??= native.denyReasons();
    return decisionOf(code, denyReasons);
  }
}
