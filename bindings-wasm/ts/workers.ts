/**
 * Edge workers (Cloudflare Workers, Vercel Edge, and bundlers that follow them): ready on
 * import. The `.wasm` is imported as a compiled `WebAssembly.Module`, the way these runtimes
 * provide it — no Node API, no `fetch` of the module's own bytes, no runtime compilation of
 * bytes (which Cloudflare forbids).
 */
import { initSync } from "../pkg/paywire_wasm.js";
import wasmModule from "../pkg/paywire_wasm_bg.wasm";

initSync({ module: wasmModule });

export * from "./index.js";
