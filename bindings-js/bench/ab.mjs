// A/B of two builds of the repository, in one run, alternating: each operation of tasks.mjs on
// @paywire/node and @paywire/wasm as built in checkout A (e.g. a worktree of the previous
// commit, after its scripts/build-node.sh and build-wasm.sh) and in checkout B (this one),
// rounds interleaved so that the machine's drift hits both alike. Medians per call.
// Run: node bindings-js/bench/ab.mjs <checkout A> [<checkout B>, default: this one] [rounds]
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { tasksOf } from "./tasks.mjs";

const devRequire = createRequire(new URL("../../bindings-wasm/package.json", import.meta.url));
const { Bench } = devRequire("tinybench");
const [a, b = new URL("../..", import.meta.url).pathname, rounds = "3"] = process.argv.slice(2);
if (!a) throw new Error("usage: node ab.mjs <checkout A> [<checkout B>] [rounds]");

const load = async (root) => ({
  node: await import(pathToFileURL(resolve(root, "bindings-node/dist/index.mjs")).href),
  wasm: await import(pathToFileURL(resolve(root, "bindings-wasm/dist/node.js")).href),
});
const builds = { A: await load(a), B: await load(b) };
const tasks = {};
for (const [build, engines] of Object.entries(builds)) {
  for (const [engine, pw] of Object.entries(engines)) {
    for (const [name, task] of Object.entries(tasksOf(pw, engine))) tasks[`${build} ${name}`] = task;
  }
}
const medians = {};
for (let round = 0; round < Number(rounds); round++) {
  // Alternate which build goes first.
  const order = round % 2 === 0 ? ["A", "B"] : ["B", "A"];
  for (const build of order) {
    const bench = new Bench({ time: 700, warmupTime: 200 });
    for (const [name, task] of Object.entries(tasks)) if (name.startsWith(`${build} `)) bench.add(name, task.fn);
    await bench.run();
    for (const task of bench.tasks) {
      (medians[task.name] ??= []).push((task.result.latency.p50 / tasks[task.name].size) * 1000);
    }
  }
}
const rows = [];
for (const name of Object.keys(tasks).filter((n) => n.startsWith("A "))) {
  const op = name.slice(2);
  const fmt = (xs) => xs.map((x) => x.toFixed(x < 10 ? 2 : 1)).join(" / ");
  const mid = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  const [ma, mb] = [medians[`A ${op}`], medians[`B ${op}`]];
  rows.push({ operation: op, "A µs/call (rounds)": fmt(ma), "B µs/call (rounds)": fmt(mb), "B/A": (mid(mb) / mid(ma)).toFixed(2) });
}
console.log(`A = ${resolve(a)}\nB = ${resolve(b)}`);
console.table(rows);
