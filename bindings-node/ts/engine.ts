/**
 * The engine under @paywire/node: the core as a native addon, with the exact API of
 * @paywire/wasm — both packages build the same wrappers over their engine: the free functions
 * and classes generated from bindings-common/exports.toml (host/exports.ts), and the two hot
 * calls written by hand (host/hot.ts), which take the generated KeyRing's and Policy's place.
 */
export * from "./host/exports.js";
export { KeyRing, Policy } from "./host/hot.js";
