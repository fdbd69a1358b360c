/**
 * The engine under @paywire/wasm's host layer: the core compiled to WebAssembly, with the
 * exact API of @paywire/node — both packages build the same wrappers over their engine: the
 * free functions and classes generated from bindings-common/exports.toml (host/exports.ts),
 * and the two hot calls written by hand (host/hot.ts), which take the generated KeyRing's and
 * Policy's place.
 */
export * from "./host/exports.js";
export { KeyRing, Policy } from "./host/hot.js";
