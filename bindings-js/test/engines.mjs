// The two engines under the shared host layer, loaded as their packages' Node entries load
// them: @paywire/wasm (the core in WebAssembly) and @paywire/node (the core as a native addon).
// Every suite in this directory runs against both.
import { test as nodeTest } from "node:test";

export const engines = [
  ["wasm", await import("../../bindings-wasm/dist/node.js")],
  ["node", await import("../../bindings-node/dist/index.mjs")],
];

/** Runs `suite(test, pw, engine)` once per engine, each test's name prefixed with its engine. */
export function forEachEngine(suite) {
  for (const [engine, pw] of engines) {
    const test = (name, ...rest) => nodeTest(`${engine}: ${name}`, ...rest);
    suite(test, pw, engine);
  }
}
