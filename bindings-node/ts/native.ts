/** The engine the shared wrappers (host/exports.ts) call: the native addon napi built. */
export * from "../native/index.js";
