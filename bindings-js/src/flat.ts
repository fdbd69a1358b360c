/**
 * The one-string forms of the engines' hot calls (see paywire-bindings-common): a payment
 * intent packed for `Policy.evaluate`, a verified token unpacked from `KeyRing.verify`, a
 * verdict from its number. Strings cross into WebAssembly and native addons far more cheaply
 * than objects built property by property.
 */
import { PaywireError } from "./errors.js";
import type { Decision, PaymentIntent, VerifiedToken } from "./types.js";

const SEPARATOR = "\u001f";
const FIELDS = ["amount", "network", "asset", "payTo", "resource"] as const;

/** An intent's fields joined by U+001F (refused when one holds it). */
export function packIntent(intent: PaymentIntent): string {
  if (typeof intent !== "object" || intent === null) {
    throw new PaywireError("invalid_argument", "payment intent must be an object");
  }
  const last = intent.resource === undefined || intent.resource === null ? 4 : 5;
  const fields: string[] = [];
  for (let i = 0; i < last; i++) {
    const name = FIELDS[i]!;
    const field = (intent as unknown as Record<string, unknown>)[name];
    if (typeof field !== "string") {
      throw new PaywireError("invalid_argument", field === undefined ? `payment intent: missing field ${name}` : `payment intent: ${name} must be a string`);
    }
    if (field.includes(SEPARATOR)) throw new PaywireError("invalid_argument", `payment intent: ${name} holds a control character`);
    fields.push(field);
  }
  return fields.join(SEPARATOR);
}

/** A verdict from its number: 0 allow, 1 needs approval, 2 + i deny for `reasons[i]`. */
export function decisionOf(code: number, reasons: readonly string[]): Decision {
  if (code === 0) return { decision: "allow" };
  if (code === 1) return { decision: "needsApproval" };
  return { decision: "deny", reason: reasons[code - 2] as Extract<Decision, { reason: unknown }>["reason"] };
}

/** `{kid, claims, caveats}` from `<UTF-16 length>:<text>` fields. */
export function unflattenVerified(flat: string): VerifiedToken {
  const fields: string[] = [];
  let at = 0;
  while (at < flat.length) {
    const colon = flat.indexOf(":", at);
    const length = Number(flat.slice(at, colon));
    fields.push(flat.slice(colon + 1, colon + 1 + length));
    at = colon + 1 + length;
  }
  return {
    kid: fields[0]!,
    claims: {
      id: fields[2]!,
      iss: fields[3]!,
      sub: fields[4]!,
      scope: { resource: fields[9]!, methods: fields.slice(10), route: fields[8] === "" ? null : fields[8]! },
      iat: Number(fields[5]),
      exp: Number(fields[6]),
      maxUses: fields[7] === "" ? null : Number(fields[7]),
    },
    caveats: Number(fields[1]),
  };
}
