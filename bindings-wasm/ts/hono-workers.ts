/** Hono middleware over @paywire/wasm on edge workers: the module is loaded on import. */
import "./workers.js";
export * from "./host/hono.js";
