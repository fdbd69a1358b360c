/** Hono middleware over @paywire/node: see the host layer's hono.ts. */
export * from "./host/hono.js";
