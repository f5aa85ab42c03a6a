/**
 * What isolation costs: the overhead a no-op task pays in each mode, the drain rate of each mode
 * at concurrency 10 and 100 on SQLite, and the add→start latency of short tasks while a handler
 * spins synchronously on the same node. Not a test; nothing is asserted.
 *
 *   npm run bench                       # with the other benchmarks
 *   npm run build && npx tsx bench/isolation-bench.ts [--modes none,thread,process] [--drain 5000]
 *
 * Overhead: one warm runner, no-op handlers called one after another through the same code the
 * worker uses (executeRun: ctx, abort wiring, timeout, result check), without the store; the
 * figure for `none` is the floor the others are compared with. Drain: `--drain` no-op tasks
 * added ahead, then one node drains them; the pool is warmed by a first, unmeasured drain, so the
 * figure is the steady rate, not the runners' start-up; at c=100 with the default pool size (which
 * follows the CPU) and with one runner per slot (`maxRunners` 100), for comparison.
 *
 * Latency during a spin: one node (concurrency 10, default pool), a `spin` task spinning
 * synchronously for `--spin` ms (5000) in the mode measured, and meanwhile a short task added every
 * 20 ms. Latency is from the moment each add was due (a fixed schedule, so an add the spin itself
 * delayed counts from when it should have happened: in `none` mode the adder shares the node's
 * blocked loop) to its handler's first line; only adds due while the spin ran count. The same
 * schedule without a spin is the baseline.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
// The built package (`npm run build`; `npm run bench` builds it first): from source, every
// runner would start a TypeScript loader (seconds each), which says nothing about production.
// (Typed by the sources, loaded from dist.)
import type { Isolation, TaskDefinition } from "../src/index.js";
import type { TaskRow } from "../src/model/task-row.js";
import type { ExecutorSettings } from "../src/runtime/run-executor.js";
import { parseArgs, percentile, perSec, sleep } from "./bench-kit.js";

const built = (file: string) => new URL(`../dist/${file}`, import.meta.url).href;
const { Tasklane } = (await import(built("index.js"))) as typeof import("../src/index.js");
const { IsolationPools } = (await import(built("runtime/isolation/isolated-invoker.js"))) as typeof import("../src/runtime/isolation/isolated-invoker.js");
const { executeRun, inlineInvoker } = (await import(built("runtime/run-executor.js"))) as typeof import("../src/runtime/run-executor.js");
const { RunState } = (await import(built("runtime/run-state.js"))) as typeof import("../src/runtime/run-state.js");
const handlers = (await import(new URL("./isolation-noop.mjs", import.meta.url).href)) as Record<"noop" | "stamp" | "spin", TaskDefinition>;
const { noop } = handlers;

const { option } = parseArgs(process.argv.slice(2));
const modes = (option("modes") ?? "none,thread,process").split(",").map((s) => s.trim()) as Isolation[];
const drainSize = Number(option("drain") ?? 5000);
const spinMs = Number(option("spin") ?? 5000);
/** A short task is added this often during the latency measure, ms. */
const ADD_EVERY_MS = 20;
const OVERHEAD_RUNS = 3000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tasklane-iso-bench-"));
let fileNo = 0;

function fakeTask(n: number): TaskRow {
  return { id: `t${n}`, runCount: 1, attempt: 1, params: {}, parent: null, timeoutMs: null, type: "noop" } as unknown as TaskRow;
}

/** Microseconds per no-op run through one warm runner (or inline), runs one after another. */
async function overheadUs(mode: Isolation): Promise<number> {
  const registry = new Map([["noop", { ...noop, isolation: mode }]]);
  const pools = new IsolationPools(registry, mode, { concurrency: 1, cpuCapacity: 100, maxRunners: 1, recycleAfter: 1_000_000, recycleAboveMb: null, idleMs: 60_000 }, (e) => console.error(e));
  const settings: ExecutorSettings = {
    node: "bench",
    abortGraceMs: 2000,
    maxResultBytes: 1024 * 1024,
    invokerFor: (def) => (mode === "none" ? inlineInvoker : pools.invokerFor(def)),
    onLog: () => undefined,
  };
  const def = registry.get("noop")!;
  try {
    // Warm-up: the runner starts and imports the module; the JIT settles.
    for (let i = 0; i < 300; i++) await executeRun(def, new RunState(fakeTask(i), 100), settings);
    const t0 = performance.now();
    for (let i = 0; i < OVERHEAD_RUNS; i++) await executeRun(def, new RunState(fakeTask(i), 100), settings);
    return ((performance.now() - t0) * 1000) / OVERHEAD_RUNS;
  } finally {
    pools.close();
  }
}

/** Tasks per second one node drains, the pool already warm; and the pool's size afterwards. */
async function drainRate(mode: Isolation, concurrency: number, maxRunners?: number): Promise<{ rate: number; runners: number }> {
  const lane = await Tasklane.open({
    db: `sqlite:${path.join(tmp, `drain-${++fileNo}.db`)}`,
    tasks: [noop],
    worker: { concurrency, isolation: mode, overload: false, maxRunners },
    node: "bench",
  });
  try {
    let done = 0;
    let target = 0;
    let finish = () => undefined as void;
    lane.on("task:succeeded", () => {
      if (++done === target) finish();
    });
    const drain = async (n: number) => {
      done = 0;
      target = n;
      const all = new Promise<void>((resolve) => (finish = resolve));
      const t0 = performance.now();
      // One transaction: the worker sees them all at once (the add is a few ms of the figure).
      await lane.addMany(Array.from({ length: n }, (_, i) => ({ type: "noop", params: { i } })));
      await all;
      return performance.now() - t0;
    };
    await lane.start();
    // The first drain grows the pool to the size this concurrency needs (unmeasured): the
    // figure is the steady rate, not the runners' start-up.
    await drain(Math.min(drainSize, concurrency * 20));
    const ms = await drain(drainSize);
    return { rate: perSec(drainSize, ms), runners: lane.workerState()?.pools.size ?? 0 };
  } finally {
    await lane.close({ graceMs: 1000 });
  }
}

/** Add→start latencies (ms) of short tasks added every ADD_EVERY_MS, with or without a handler spinning meanwhile. */
async function latencyDuringSpin(mode: Isolation, withSpin: boolean): Promise<number[]> {
  const lane = await Tasklane.open({
    db: `sqlite:${path.join(tmp, `spin-${++fileNo}.db`)}`,
    tasks: [handlers.stamp, handlers.spin],
    worker: { concurrency: 10, isolation: mode, overload: false },
    node: "bench",
  });
  const now = () => performance.timeOrigin + performance.now();
  try {
    const started = new Map<string, number>();
    lane.on("task:succeeded", ({ task, result }) => {
      if (task.type === "stamp") started.set(task.id, result as number);
    });
    await lane.start();
    // Warm: the pool started and its runners imported the handlers.
    const warm = await lane.addMany(Array.from({ length: 50 }, () => ({ type: "stamp" })));
    while (!warm.every((t) => started.has(t.id))) await sleep(10);
    let spinWindow = { start: -Infinity, end: Infinity };
    let spinDone: Promise<unknown> = Promise.resolve();
    if (withSpin) {
      const spinner = await lane.add("spin", { ms: spinMs });
      spinDone = new Promise<void>((resolve) =>
        lane.on("task:succeeded", ({ task, result }) => {
          if (task.id === spinner.id) {
            spinWindow = result as typeof spinWindow;
            resolve();
          }
        }),
      );
      // Isolated: until the spin holds its runner. On the node's loop the schedule starts at
      // once: the spin begins with the claim a moment later and blocks this loop too.
      if (mode !== "none") {
        while ((lane.workerState()?.pools.busy ?? 0) < 1) await sleep(1);
        await sleep(50);
      }
    }
    const due: Array<{ id: Promise<string>; at: number }> = [];
    const t0 = now();
    const count = Math.floor((withSpin ? spinMs - 500 : 4000) / ADD_EVERY_MS);
    for (let i = 0; i < count; i++) {
      const at = t0 + i * ADD_EVERY_MS;
      const wait = at - now();
      if (wait > 0) await sleep(wait);
      due.push({ id: lane.add("stamp").then((t) => t.id), at });
    }
    const ids = await Promise.all(due.map((d) => d.id));
    while (!ids.every((id) => started.has(id))) await sleep(10);
    await spinDone;
    const out: number[] = [];
    ids.forEach((id, i) => {
      const at = due[i]!.at;
      if (at >= spinWindow.start && at <= spinWindow.end) out.push(started.get(id)! - at);
    });
    return out.sort((a, b) => a - b);
  } finally {
    await lane.close({ graceMs: 1000 });
  }
}

const ms = (v: number) => (v >= 100 ? `${Math.round(v).toLocaleString("en-US")} ms` : `${v.toFixed(1)} ms`);
const latencyText = (l: number[]) => `p50 ${ms(percentile(l, 50))}, p99 ${ms(percentile(l, 99))}, max ${ms(l.at(-1) ?? NaN)} (${l.length})`;

console.log("Tasklane isolation benchmark");
console.log(`  node ${process.version}, ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? "?"}; SQLite in ${tmp}`);
console.log(`  overhead: ${OVERHEAD_RUNS} no-op runs one after another; drain: ${drainSize} no-op tasks, pool warmed first\n`);

const rows: string[][] = [];
let floor = NaN;
for (const mode of modes) {
  const us = await overheadUs(mode);
  if (mode === "none") floor = us;
  const row = [mode, `${us.toFixed(1)} µs`, mode === "none" || Number.isNaN(floor) ? "-" : `+${(us - floor).toFixed(1)} µs`];
  for (const [c, maxRunners] of [[10], [100], [100, 100]] as Array<[number, number?]>) {
    if (mode === "none" && maxRunners) {
      row.push("-");
      continue;
    }
    const { rate, runners } = await drainRate(mode, c, maxRunners);
    row.push(`${Math.round(rate).toLocaleString("en-US")}/s${mode === "none" ? "" : ` (${runners} runners)`}`);
  }
  rows.push(row);
  console.log(`  ${row.join("  |  ")}`);
}
const head = ["mode", "per no-op run", "overhead vs none", "drain c=10", "drain c=100", "drain c=100, maxRunners 100"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log("");
console.log(`  ${head.map((h, i) => h.padEnd(widths[i]!)).join("  ")}`);
console.log(`  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
for (const r of rows) console.log(`  ${r.map((v, i) => v.padEnd(widths[i]!)).join("  ")}`);
console.log("\nTargets: overhead ≤ 200 µs per task for thread, ≤ 500 µs for process.");

console.log(`\nAdd→start latency of short tasks (one added every ${ADD_EVERY_MS} ms), concurrency 10, default pool:`);
for (const mode of modes) {
  const idle = await latencyDuringSpin(mode, false);
  const spinning = await latencyDuringSpin(mode, true);
  console.log(`  ${mode.padEnd(7)}  idle: ${latencyText(idle)}  |  during a ${spinMs} ms spin: ${latencyText(spinning)}`);
}
fs.rmSync(tmp, { recursive: true, force: true });
