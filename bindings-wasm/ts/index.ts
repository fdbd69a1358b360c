/**
 * Everything @paywire/wasm exports, whichever entry loaded the module: the core's binding
 * (see the crate's docs for each function) and the host layer (`wrapFetch`, `paywall`,
 * `mcpPaywall`, `wrapMcpClient`), which is shared with @paywire/node.
 */
export * from "./engine.js";
export { PaywireError, isPaywireError } from "./host/errors.js";
export * from "./host/headers.js";
export * from "./host/fetch.js";
export * from "./host/paywall.js";
export * from "./host/mcp.js";
export * from "./host/stores.js";
export type { FacilitatorCall, FacilitatorHeaders, FacilitatorOptions } from "./host/facilitator.js";
export type * from "./host/types.js";
