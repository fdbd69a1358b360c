/** Express middleware over @paywire/node: see the host layer's express.ts. */
export * from "./host/express.js";
