/** Hono middleware over @paywire/wasm in Node: the module is loaded on import. */
import "./node.js";
export * from "./host/hono.js";
