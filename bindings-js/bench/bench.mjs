// Benchmarks of both engines side by side, in one run, with tinybench: @paywire/node (native
// addon) and @paywire/wasm, and viem's verifyTypedData on the same EIP-3009 payload. Medians per
// call. Run: `npm run bench` in bindings-node/ or bindings-wasm/ (after both builds). Fast
// operations run in batches so the timer's own cost does not dominate; the figure is the batch
// median divided by its size.
import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
// tinybench and viem, as the wasm package's development dependencies pin them.
const devRequire = createRequire(new URL("../../bindings-wasm/package.json", import.meta.url));
const { Bench } = devRequire("tinybench");
import * as wasm from "../../bindings-wasm/dist/node.js";
import * as node from "../../bindings-node/dist/index.mjs";
import { tasksOf, typed, verifyTypedData } from "./tasks.mjs";

const tasks = { ...tasksOf(node, "node"), ...tasksOf(wasm, "wasm") };

const bench = new Bench({ time: 1500, warmupTime: 300 });
for (const [name, task] of Object.entries(tasks)) bench.add(name, task.fn);
// viem's verifyTypedData is async; one call per sample.
bench.add("EIP-3009 verify: viem verifyTypedData", async () => {
  await verifyTypedData(typed);
});
await bench.run();

const perCall = {};
const rows = bench.tasks.map((task) => {
  const size = tasks[task.name]?.size ?? 1;
  const median = (task.result.latency.p50 / size) * 1000; // ms → µs
  perCall[task.name] = median;
  return { task: task.name, "median µs/call": median.toFixed(median < 10 ? 2 : 1), samples: task.result.latency.samplesCount ?? task.result.latency.samples?.length };
});
console.table(rows);
const viem = perCall["EIP-3009 verify: viem verifyTypedData"];
for (const engine of ["node", "wasm"]) {
  const ratio = viem / perCall[`${engine}: EIP-3009 verify (verifyEvmPayment)`];
  console.log(`EIP-3009 verification: @paywire/${engine} is ${ratio.toFixed(1)}x faster than viem's verifyTypedData`);
}
const module = new URL("../../bindings-wasm/pkg/paywire_wasm_bg.wasm", import.meta.url);
const bytes = readFileSync(module);
console.log(`.wasm after wasm-opt: ${statSync(module).size} bytes, ${gzipSync(bytes, { level: 9 }).length} gzipped`);
