/**
 * How both engines' free functions and classes carry values across their boundary (the Node
 * addon, the wasm module): every argument's JavaScript type checked here, the same way for both
 * (wasm-bindgen would coerce a number into a string, napi throws its own status codes),
 * objects as JSON text and back, and every failure rethrown as a `PaywireError` with the core's
 * code.
 */
import { PaywireError } from "./errors.js";

/** Rethrows what the engine threw as a `PaywireError`: the core's code, or `invalid_argument`
 *  for the engine's own type checks (napi's codes are statuses, `StringExpected` and the like). */
export function rethrow(error: unknown): never {
  if (error instanceof PaywireError) throw error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const ours = typeof code === "string" && /^[a-z][a-z0-9_]*$/.test(code);
    throw new PaywireError(ours ? (code as string) : "invalid_argument", error.message);
  }
  throw new PaywireError("invalid_argument", String(error));
}

/** Runs an engine call, rethrowing its failure coded. */
export function call<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    rethrow(error);
  }
}

/** A JavaScript value as JSON text for the engine; `undefined` is `null`. */
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

/** A string argument. */
export function string(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  throw new PaywireError("invalid_argument", `${what} must be a string`);
}

/** An optional string: absent when `undefined` or `null`. */
export function optionalString(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : string(value, what);
}

/** A number argument (bindings-common judges its range and wholeness). */
export function number(value: unknown, what: string): number {
  if (typeof value === "number") return value;
  throw new PaywireError("invalid_argument", `${what} must be a number`);
}

/** An optional number: absent when `undefined` or `null`. */
export function optionalNumber(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : number(value, what);
}

/** A boolean argument. */
export function bool(value: unknown, what: string): boolean {
  if (typeof value === "boolean") return value;
  throw new PaywireError("invalid_argument", `${what} must be a boolean`);
}

const utf8 = new TextEncoder();

/** A body given as text (sent as its UTF-8) or bytes, as bytes. */
export function body(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return utf8.encode(value);
  throw new PaywireError("invalid_argument", `${what} must be a string or a Uint8Array`);
}

/** An optional body: empty when `undefined` or `null`. */
export function optionalBody(value: unknown, what: string): Uint8Array {
  return value === undefined || value === null ? new Uint8Array(0) : body(value, what);
}

/** Where a wrapper keeps its engine object: a symbol that no entry of the packages exports. */
export const NATIVE: unique symbol = Symbol("paywire.native");

/** Gives a wrapper its engine object. */
export function own(wrapper: object, engine: object): void {
  (wrapper as { [NATIVE]?: object })[NATIVE] = engine;
}

/** A wrapper of `Class` around an engine object a static constructor made. */
export function adopt<T extends object>(Class: abstract new (...args: never[]) => T, engine: object): T {
  const made = Object.create(Class.prototype) as T;
  own(made, engine);
  return made;
}

/** The engine object of a wrapper of `Class`; `invalid_argument` for anything else. */
export function nativeOf<N>(value: unknown, Class: abstract new (...args: never[]) => object, what: string): N {
  const engine = value instanceof Class ? (value as { [NATIVE]?: unknown })[NATIVE] : undefined;
  if (engine === undefined) throw new PaywireError("invalid_argument", `${what} must be a ${Class.name}`);
  return engine as N;
}
