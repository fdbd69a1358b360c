/**
 * Everything @paywire/node exports: the core as a native addon, with the same API as
 * @paywire/wasm name for name, and the host layer both packages share (`wrapFetch`,
 * `paywall`, `mcpPaywall`, `wrapMcpClient`).
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
