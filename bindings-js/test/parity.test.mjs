// One API, two engines: @paywire/node exports what @paywire/wasm exports, name for name, with
// the same arities; and the README's runtime-parity table lists exactly those names. (Same
// results and the same error codes: every other suite here runs against both engines.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { engines } from "./engines.mjs";

const [[, wasm], [, node]] = engines;
// Initialisation of the WebAssembly module, and CommonJS interop markers, are not the API.
const ENGINE_ONLY = new Set(["initSync", "default", "init", "__esModule"]);
const api = (module) => Object.keys(module).filter((name) => !ENGINE_ONLY.has(name)).sort();

/** A class's public methods and their arities, inherited ones included (the engines may
 *  reshape a method in a subclass). Names starting with `__` are the engines' internals. */
function methods(cls) {
  const found = {};
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = Object.getOwnPropertyDescriptor(proto, name).value;
      if (name === "constructor" || name === "free" || name.startsWith("__") || typeof value !== "function" || name in found) continue;
      found[name] = value.length;
    }
  }
  return Object.fromEntries(Object.entries(found).sort());
}

test("@paywire/node exports every name @paywire/wasm does, and nothing else", () => {
  assert.deepEqual(api(node), api(wasm));
});

test("functions and class methods take the same number of arguments in both engines", () => {
  for (const name of api(wasm)) {
    const [a, b] = [wasm[name], node[name]];
    if (typeof a !== "function") continue;
    const isClass = /^[A-Z]/.test(name) && a.prototype;
    if (isClass) {
      assert.deepEqual(methods(b), methods(a), `${name}'s methods`);
    } else {
      assert.equal(b.length, a.length, `${name}(): ${a.length} arguments in wasm, ${b.length} in node`);
    }
  }
});

test("the README's parity table lists every export, in both engine columns", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Runtime parity"), readme.indexOf("## Performance"));
  const rows = section.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| ---") && !line.startsWith("| concept"));
  assert.ok(rows.length >= 9, "the table has its rows");
  const listed = new Set();
  for (const row of rows) {
    const cells = row.split("|");
    for (const [column, module] of [[3, wasm], [4, node]]) {
      for (const [, name] of (cells[column] ?? "").matchAll(/`(\w+)`/g)) {
        assert.ok(name in module, `the README lists ${name}, which the ${column === 3 ? "wasm" : "node"} engine does not export`);
        if (column === 3) listed.add(name);
      }
    }
  }
  const binding = readFileSync(new URL("../../bindings-wasm/pkg/paywire_wasm.d.ts", import.meta.url), "utf8");
  for (const [, name] of binding.matchAll(/^export (?:function|class) (\w+)/gm)) {
    // Native-only exports (the hot calls' helpers) are the engine's, not the package's API.
    if (ENGINE_ONLY.has(name) || !(name in wasm)) continue;
    assert.ok(listed.has(name), `${name} is exported but missing from the README's parity table`);
  }
});
