/** The engine the shared wrappers (host/exports.ts) call: the wasm module wasm-bindgen built. */
export * from "../pkg/paywire_wasm.js";
