/** Hono middleware over @paywire/wasm for browsers and bundlers (call `init()` from "@paywire/wasm/web" first); the Node and workers builds load the module themselves. */
export * from "./host/hono.js";
