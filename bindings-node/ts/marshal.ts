/**
 * How @paywire/node's engine carries values across the addon: JavaScript values as JSON text
 * and back, bytes checked, and every failure rethrown as a `PaywireError` with the core's code
 * (napi's own type checks, whose codes are napi statuses, as `invalid_argument`).
 */
import { PaywireError } from "./host/errors.js";

/** Rethrows what the addon threw as a `PaywireError`: the core's code, or `invalid_argument`
 *  for napi's own type checks (their codes are napi statuses, `StringExpected` and the like). */
export function rethrow(error: unknown): never {
  if (error instanceof PaywireError) throw error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const ours = typeof code === "string" && /^[a-z][a-z0-9_]*$/.test(code);
    throw new PaywireError(ours ? (code as string) : "invalid_argument", error.message);
  }
  throw new PaywireError("invalid_argument", String(error));
}

/** Runs an addon call, rethrowing its failure coded. */
export function call<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    rethrow(error);
  }
}

/** A JavaScript value as JSON text for the addon; `undefined` is `null`, as in @paywire/wasm. */
export function json(value: unknown, what: string): string {
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
export function optionalJson(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : json(value, what);
}

/** A JSON result. */
export function parsed<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function bytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new PaywireError("invalid_argument", `${what} must be a Uint8Array`);
}

/** A body given as text or bytes. */
export function body(value: unknown, what: string): string | Uint8Array {
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new PaywireError("invalid_argument", `${what} must be a string or a Uint8Array`);
}

/** An optional body: absent when `undefined` or `null`. */
export function optionalBody(value: unknown, what: string): string | Uint8Array | undefined {
  return value === undefined || value === null ? undefined : body(value, what);
}
