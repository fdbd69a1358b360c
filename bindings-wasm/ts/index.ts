/**
 * Everything @paywire/wasm exports, whichever entry loaded the module: the core's binding
 * (see the crate's docs for each function) and the host layer (`wrapFetch`, `paywall`).
 */
export * from "../pkg/paywire_wasm.js";
export { PaywireError, isPaywireError } from "./errors.js";
export * from "./headers.js";
export * from "./fetch.js";
export * from "./paywall.js";
