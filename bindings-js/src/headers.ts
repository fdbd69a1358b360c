import { PaywireError } from "./errors.js";

/** x402 and Paywire header names (the core's constants, in the host's language). */
export const PAYMENT_REQUIRED = "PAYMENT-REQUIRED";
export const PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE";
export const PAYMENT_RESPONSE = "PAYMENT-RESPONSE";
export const X_PAYMENT = "X-PAYMENT";
export const X_PAYMENT_RESPONSE = "X-PAYMENT-RESPONSE";
/** Where an agent presents an access token (not `Authorization`, which providers keep). */
export const ACCESS_TOKEN_HEADER = "PAYWIRE-ACCESS-TOKEN";
/** The settlement-response extension that carries a sold access token. */
export const ACCESS_TOKEN_EXTENSION = "paywire-access-token";

/** Unix seconds now. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** `n` cryptographically random bytes from the runtime (Web Crypto, in every target). */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of a hex string (with or without `0x`). */
export function fromHex(text: string): Uint8Array {
  const hex = text.startsWith("0x") ? text.slice(2) : text;
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new PaywireError("invalid_argument", "expected a hex string");
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Header fields as a plain object (names lower-cased, as `Headers` keeps them). */
export function headersObject(headers: Headers): { [name: string]: string } {
  const fields: { [name: string]: string } = {};
  headers.forEach((value, name) => {
    fields[name] = value;
  });
  return fields;
}
