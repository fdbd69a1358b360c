/**
 * Browsers and bundlers: ES modules with explicit initialization.
 *
 * ```ts
 * import init, { wrapFetch } from "@paywire/wasm/web";
 * await init();                       // fetches paywire_wasm_bg.wasm next to this module
 * await init({ module_or_path: url }); // or from a URL, bytes, or a WebAssembly.Module
 * ```
 */
export { default, default as init, initSync } from "../pkg/paywire_wasm.js";
export * from "./index.js";
