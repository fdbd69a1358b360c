/**
 * Node (and Bun, Deno's npm support): ready on import — the module's bytes are read from the
 * package next to this file, synchronously, once.
 */
import { readFileSync } from "node:fs";
import { initSync } from "../pkg/paywire_wasm.js";

initSync({ module: readFileSync(new URL("../pkg/paywire_wasm_bg.wasm", import.meta.url)) });

export * from "./index.js";
