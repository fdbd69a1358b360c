// The README's runtime-parity table names the wasm exports of each concept; keep it true.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as pw from "../dist/node.js";

test("every export the README's parity table lists exists, and every binding export is listed", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Runtime parity"), readme.indexOf("## Performance"));
  const rows = section.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| ---") && !line.startsWith("| concept"));
  assert.ok(rows.length >= 9, "the table has its rows");
  const listed = new Set();
  for (const row of rows) {
    const wasmCell = row.split("|")[3] ?? "";
    for (const [, name] of wasmCell.matchAll(/`(\w+)`/g)) {
      assert.ok(name in pw, `the README lists ${name}, which @paywire/wasm does not export`);
      listed.add(name);
    }
  }
  const binding = readFileSync(new URL("../pkg/paywire_wasm.d.ts", import.meta.url), "utf8");
  for (const [, name] of binding.matchAll(/^export (?:function|class) (\w+)/gm)) {
    if (name === "initSync") continue;
    assert.ok(listed.has(name), `${name} is exported but missing from the README's parity table`);
  }
});
