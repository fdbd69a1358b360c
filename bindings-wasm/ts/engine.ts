/**
 * The engine under @paywire/wasm's host layer: the core compiled to WebAssembly, as
 * wasm-bindgen exports it. (@paywire/node has the same API over a native addon.)
 */
export * from "../pkg/paywire_wasm.js";
