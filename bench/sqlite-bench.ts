/**
 * Tasklane on SQLite: throughput and latency on this machine. Not a test; nothing is asserted.
 *
 *   npm run bench                        # synchronous FULL for acknowledged writes (the default)
 *   npm run bench -- --sync normal       # compare with synchronous NORMAL
 *   npm run bench -- --only drain100 --store-stats
 *
 * Options:
 *   --sync full|normal   durability of acknowledged writes (add) [full]
 *   --only a,b,…         phases: add, addMany, drain10, drain100, latency, xlatency, xlock [all]
 *   --store-stats        count and time every Store call per phase (where the time goes)
 *   --keep               keep the temp directory with the database files
 *
 * Each phase runs on a fresh database file in a temp directory. The x… phases put a second
 * process on the file (bench/sqlite-bench-child.ts): `xlatency` is add→start with the idle worker
 * in that process; `xlock` adds one by one while that process takes the write lock for 0.5 ms out
 * of every 2 ms (commits included), so many adds have to wait for it.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { Tasklane, defineTask, type TaskDefinition } from "../src/index.js";
import type { Store } from "../src/store/store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { parseArgs, percentile, perSec } from "./bench-kit.js";

// ---------------------------------------------------------------- arguments

const { flag, option } = parseArgs(process.argv.slice(2));
const sync = (option("sync") ?? "full").toLowerCase();
if (sync !== "full" && sync !== "normal") {
  console.error(`--sync: expected full or normal, got ${sync}`);
  process.exit(2);
}
const PHASES = ["add", "addMany", "drain10", "drain100", "latency", "xlatency", "xlock"] as const;
type Phase = (typeof PHASES)[number];
const only = option("only")?.split(",").map((s) => s.trim()) ?? [...PHASES];
for (const p of only) {
  if (!(PHASES as readonly string[]).includes(p)) {
    console.error(`--only: unknown phase "${p}" (one of ${PHASES.join(", ")})`);
    process.exit(2);
  }
}
const storeStats = flag("store-stats");
const keep = flag("keep");

const SIZES = {
  addOneByOne: 5_000,
  addManyTotal: 50_000,
  addManyBatch: 1_000,
  drain: 20_000,
  latencyRatePerSec: 200,
  latencySeconds: 5,
};

// ---------------------------------------------------------------- helpers

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tasklane-bench-"));
let fileNo = 0;
function freshDb(): string {
  return path.join(tmp, `bench-${++fileNo}.db`);
}

const noop = defineTask({ name: "noop", run: () => null });

interface CallStats {
  calls: number;
  ms: number;
  rows: number;
  maxMs: number;
}
type StatsTable = Map<string, CallStats>;

/** The Store contract's methods (private helpers of a backend are not counted twice). */
const STORE_METHODS = [
  "now", "taskInsertMany", "taskGet", "taskList", "taskCount", "taskClaim", "leaseRenewMany", "progressWriteMany",
  "eventInsertMany", "taskFinishMany", "taskCancel", "taskRetry", "taskDelete", "runList", "eventList",
  "taskRescueExpired", "taskRescueNode", "taskExpireOverdue", "prune", "dataVersion",
];

/** Wraps the Store methods of `store` to count calls, time, slowest call and rows returned. */
function instrument(store: Store): StatsTable {
  const table: StatsTable = new Map();
  const target = store as unknown as Record<string, unknown>;
  for (const name of STORE_METHODS) {
    const fn = target[name];
    if (typeof fn !== "function") continue;
    target[name] = (...a: unknown[]) => {
      const t0 = performance.now();
      const out = (fn as (...x: unknown[]) => unknown).apply(store, a);
      // The SQLite store does its work synchronously before returning its promise, so this
      // measures the database work (and row decoding), not the wait for the event loop.
      const ms = performance.now() - t0;
      const record = (value: unknown) => {
        const s = table.get(name) ?? { calls: 0, ms: 0, rows: 0, maxMs: 0 };
        s.calls += 1;
        s.ms += ms;
        s.maxMs = Math.max(s.maxMs, ms);
        if (Array.isArray(value)) s.rows += value.length;
        table.set(name, s);
        return value;
      };
      return out instanceof Promise ? out.then(record) : record(out);
    };
  }
  return table;
}

async function openLane(db: string, tasks: TaskDefinition[], worker = {}): Promise<{ lane: Tasklane; stats: StatsTable | null }> {
  if (!storeStats) {
    return { lane: await Tasklane.open({ db: "sqlite:" + db, synchronous: sync as "full" | "normal", tasks, worker, node: "bench" }), stats: null };
  }
  const store = new SqliteStore({ path: db, synchronous: sync as "full" | "normal" });
  const stats = instrument(store);
  const lane = await Tasklane.open({ store, tasks, worker, node: "bench" });
  return { lane, stats };
}

function printStats(phase: string, stats: StatsTable | null, wallMs: number, tasks: number, busy = true): void {
  if (!stats) return;
  const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, v]) => s + v.ms, 0);
  const us = (ms: number) => ((1000 * ms) / tasks).toFixed(1);
  if (!busy) console.log(`\n  store calls during ${phase}: wall ${wallMs.toFixed(0)} ms, in the store ${total.toFixed(0)} ms = ${us(total)} µs/task`);
  else console.log(
    `\n  store calls during ${phase}: wall ${wallMs.toFixed(0)} ms = ${us(wallMs)} µs/task; in the store ${total.toFixed(0)} ms = ${us(total)} µs/task (${((100 * total) / wallMs).toFixed(0)}%); outside it ${us(wallMs - total)} µs/task`,
  );
  console.log(`    ${"method".padEnd(20)} ${"calls".padStart(8)} ${"rows".padStart(8)} ${"ms".padStart(9)} ${"µs/call".padStart(9)} ${"rows/call".padStart(9)} ${"max ms".padStart(8)}`);
  for (const [name, s] of rows) {
    console.log(
      `    ${name.padEnd(20)} ${String(s.calls).padStart(8)} ${String(s.rows).padStart(8)} ${s.ms.toFixed(1).padStart(9)} ${((1000 * s.ms) / s.calls).toFixed(0).padStart(9)} ${(s.rows / s.calls).toFixed(1).padStart(9)} ${s.maxMs.toFixed(1).padStart(8)}`,
    );
  }
  stats.clear();
}


/** The connection's `PRAGMA synchronous` right after an acknowledged write (0 OFF, 1 NORMAL, 2 FULL). */
function syncModeOf(lane: Tasklane): string {
  const db = (lane.store as unknown as { shared?: { db: { pragma(s: string, o: { simple: true }): unknown } } }).shared?.db;
  if (!db) return `${sync.toUpperCase()} (configured)`;
  const v = Number(db.pragma("synchronous", { simple: true }));
  return ["OFF", "NORMAL", "FULL", "EXTRA"][v] ?? String(v);
}

interface Row {
  what: string;
  value: string;
  note: string;
}
const table: Row[] = [];
function report(what: string, value: string, note = ""): void {
  table.push({ what, value, note });
  console.log(`  ${what}: ${value}${note ? `  (${note})` : ""}`);
}

// ---------------------------------------------------------------- phases

async function phaseAdd(): Promise<void> {
  const { lane, stats } = await openLane(freshDb(), [noop]);
  for (let i = 0; i < 200; i++) await lane.add("noop", { i }); // warm-up
  stats?.clear();
  const n = SIZES.addOneByOne;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await lane.add("noop", { i });
  const ms = performance.now() - t0;
  report("add, one by one, awaited", `${Math.round(perSec(n, ms)).toLocaleString("en-US")} tasks/s`, `${n.toLocaleString("en-US")} adds, ${((ms * 1000) / n).toFixed(0)} µs each, synchronous ${syncModeOf(lane)}`);
  printStats("add", stats, ms, n);
  await lane.close();
}

async function phaseAddMany(): Promise<void> {
  const { lane, stats } = await openLane(freshDb(), [noop]);
  const batch = (b: number) => Array.from({ length: SIZES.addManyBatch }, (_, i) => ({ type: "noop", params: { i: b * SIZES.addManyBatch + i } }));
  await lane.addMany(batch(-1)); // warm-up
  stats?.clear();
  const batches = SIZES.addManyTotal / SIZES.addManyBatch;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await lane.addMany(batch(b));
  const ms = performance.now() - t0;
  report(
    `addMany, batches of ${SIZES.addManyBatch.toLocaleString("en-US")}`,
    `${Math.round(perSec(SIZES.addManyTotal, ms)).toLocaleString("en-US")} tasks/s`,
    `${SIZES.addManyTotal.toLocaleString("en-US")} tasks, ${(ms / batches).toFixed(1)} ms per batch`,
  );
  printStats("addMany", stats, ms, SIZES.addManyTotal);
  await lane.close();
}

async function phaseDrain(concurrency: number): Promise<void> {
  const db = freshDb();
  // Fill with a separate instance so the worker's instance starts cold, like a real restart.
  {
    const filler = await Tasklane.open({ db: "sqlite:" + db, synchronous: "normal", tasks: [noop] });
    for (let b = 0; b < SIZES.drain / 1000; b++) {
      await filler.addMany(Array.from({ length: 1000 }, (_, i) => ({ type: "noop", params: { i } })));
    }
    await filler.close();
  }
  const { lane, stats } = await openLane(db, [noop], { concurrency, overload: false });
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((resolve) => (finish = resolve));
  lane.on("task:succeeded", () => {
    if (++done === SIZES.drain) finish();
  });
  const errors: string[] = [];
  lane.on("error", ({ error, where }) => errors.push(`${where}: ${error.message}`));
  const t0 = performance.now();
  await lane.start();
  await all;
  const ms = performance.now() - t0;
  report(
    `drain of ${SIZES.drain.toLocaleString("en-US")} no-op tasks, concurrency ${concurrency}`,
    `${Math.round(perSec(SIZES.drain, ms)).toLocaleString("en-US")} tasks/s`,
    `${ms.toFixed(0)} ms, claimBatch 100 (default)${errors.length ? `, ${errors.length} errors: ${errors[0]}` : ""}`,
  );
  printStats(`drain at concurrency ${concurrency}`, stats, ms, SIZES.drain);
  await lane.close({ graceMs: 1000 });
}

async function phaseLatency(): Promise<void> {
  const startedAt: number[] = [];
  const latencies: number[] = [];
  const lat = defineTask<{ seq: number }>({
    name: "lat",
    run(ctx) {
      const now = performance.now();
      // Warm-up tasks (seq < 50) are never measured, even if one starts late.
      if (ctx.params.seq >= 50) latencies.push(now - startedAt[ctx.params.seq]!);
      return null;
    },
  });
  const { lane, stats } = await openLane(freshDb(), [lat], { concurrency: 10, overload: false });
  await lane.start();
  // Warm-up: 50 tasks, not measured.
  for (let i = 0; i < 50; i++) {
    startedAt[i] = performance.now();
    await lane.add("lat", { seq: i });
  }
  await new Promise((r) => setTimeout(r, 200));
  stats?.clear();

  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const total = SIZES.latencyRatePerSec * SIZES.latencySeconds;
  const gap = 1000 / SIZES.latencyRatePerSec;
  const t0 = performance.now();
  let addMs = 0;
  for (let i = 0; i < total; i++) {
    const due = t0 + i * gap;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const seq = 50 + i;
    const before = performance.now();
    startedAt[seq] = before;
    await lane.add("lat", { seq });
    addMs += performance.now() - before;
  }
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const wallMs = performance.now() - t0;
  loop.disable();
  const sorted = [...latencies].sort((a, b) => a - b);
  const f = (v: number) => `${v.toFixed(2)} ms`;
  report(
    `add→start latency at ${SIZES.latencyRatePerSec} tasks/s for ${SIZES.latencySeconds} s`,
    `p50 ${f(percentile(sorted, 50))}, p95 ${f(percentile(sorted, 95))}, p99 ${f(percentile(sorted, 99))}`,
    `${sorted.length}/${total} started, max ${f(sorted[sorted.length - 1] ?? NaN)}, mean add() ${f(addMs / total)}, event-loop delay p99 ${f(loop.percentile(99) / 1e6)} max ${f(loop.max / 1e6)}`,
  );
  printStats("latency", stats, wallMs, total, false);
  await lane.close({ graceMs: 1000 });
}

/** The other process of the x… phases; `onLine` gets its stdout lines but "ready". */
function spawnChild(args: string[], onLine: (line: string) => void) {
  const entry = fileURLToPath(new URL("./sqlite-bench-child.ts", import.meta.url));
  const proc = spawn(process.execPath, ["--import", "tsx", entry, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  let ready!: () => void;
  const isReady = new Promise<void>((resolve, reject) => {
    ready = resolve;
    void exited.then(() => reject(new Error(`bench child ${args[0]} exited before it was ready`)));
  });
  readline.createInterface({ input: proc.stdout! }).on("line", (line) => (line === "ready" ? ready() : onLine(line)));
  return { proc, exited, isReady };
}

const epochNow = () => performance.timeOrigin + performance.now();

async function phaseCrossProcessLatency(): Promise<void> {
  const db = freshDb();
  const xlat = defineTask<{ seq: number }>({ name: "xlat", run: () => null });
  // The producer: adds only, never claims (its worker is not started).
  const producer = await Tasklane.open({ db: "sqlite:" + db, synchronous: sync as "full" | "normal", tasks: [xlat], node: "bench" });
  const startedAt = new Map<number, number>();
  const child = spawnChild(["worker", db], (line) => {
    const [tag, seq, at] = line.split(" ");
    if (tag === "s") startedAt.set(Number(seq), Number(at));
  });
  await child.isReady;
  await new Promise((r) => setTimeout(r, 500)); // the worker's first claim is over: it is idle
  const warm = 20;
  const total = warm + SIZES.latencyRatePerSec * SIZES.latencySeconds;
  const gap = 1000 / SIZES.latencyRatePerSec;
  const addedAt: number[] = [];
  let addMs = 0;
  const t0 = epochNow();
  for (let seq = 0; seq < total; seq++) {
    const wait = t0 + seq * gap - epochNow();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    addedAt[seq] = epochNow();
    await producer.add("xlat", { seq });
    addMs += epochNow() - addedAt[seq]!;
  }
  const deadline = performance.now() + 10_000;
  while (startedAt.size < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.proc.stdin!.write("stop\n");
  await child.exited;
  await producer.close();
  const lat: number[] = [];
  for (let seq = warm; seq < total; seq++) if (startedAt.has(seq)) lat.push(startedAt.get(seq)! - addedAt[seq]!);
  lat.sort((a, b) => a - b);
  const f = (v: number) => `${v.toFixed(2)} ms`;
  report(
    `add→start latency, worker in another process, ${SIZES.latencyRatePerSec} tasks/s for ${SIZES.latencySeconds} s`,
    `p50 ${f(percentile(lat, 50))}, p95 ${f(percentile(lat, 95))}, p99 ${f(percentile(lat, 99))}`,
    `${lat.length}/${total - warm} started, max ${f(lat[lat.length - 1] ?? NaN)}, mean add() ${f(addMs / total)} (part of the latency)`,
  );
}

async function phaseLockContention(): Promise<void> {
  const db = freshDb();
  const { lane } = await openLane(db, [noop]);
  for (let i = 0; i < 100; i++) await lane.add("noop", { i }); // warm-up, alone on the file
  let holderCommits = 0;
  const forMs = 3000;
  const child = spawnChild(["holder", db, "0.5", "1.5", String(forMs + 500)], (line) => {
    if (line.startsWith("done ")) holderCommits = Number(line.slice(5));
  });
  await child.isReady;
  const durations: number[] = [];
  const end = performance.now() + forMs;
  while (performance.now() < end) {
    const t = performance.now();
    await lane.add("noop", {});
    durations.push(performance.now() - t);
  }
  await child.exited;
  await lane.close();
  const sorted = [...durations].sort((a, b) => a - b);
  const f = (v: number) => `${v.toFixed(2)} ms`;
  report(
    "add, one by one, while another process holds the write lock 0.5 ms of every 2",
    `${Math.round(perSec(durations.length, forMs)).toLocaleString("en-US")} tasks/s`,
    `add() p50 ${f(percentile(sorted, 50))}, p99 ${f(percentile(sorted, 99))}, max ${f(sorted[sorted.length - 1] ?? NaN)}; the other process committed ${holderCommits.toLocaleString("en-US")} times`,
  );
}

// ---------------------------------------------------------------- main

const cpus = os.cpus();
console.log("Tasklane SQLite benchmark");
console.log(
  `  machine: ${os.availableParallelism()} cores (${cpus[0]?.model.trim() ?? "unknown CPU"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
);
{
  const probe = new SqliteStore({ path: ":memory:" });
  const version = (probe as unknown as { shared: { db: { prepare(s: string): { pluck(): { get(): unknown } } } } }).shared.db
    .prepare("select sqlite_version()")
    .pluck()
    .get();
  await probe.close();
  console.log(`  node ${process.version}, SQLite ${String(version)}, database in ${tmp}`);
}
console.log(
  `  durability: synchronous ${sync.toUpperCase()} for acknowledged writes (add, cancel, retry); worker bookkeeping (claim, lease, finish) always NORMAL; WAL`,
);
console.log("");

const runners: Record<Phase, () => Promise<void>> = {
  add: phaseAdd,
  addMany: phaseAddMany,
  drain10: () => phaseDrain(10),
  drain100: () => phaseDrain(100),
  latency: phaseLatency,
  xlatency: phaseCrossProcessLatency,
  xlock: phaseLockContention,
};
try {
  for (const phase of PHASES) if (only.includes(phase)) await runners[phase]();
} finally {
  if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
}

console.log(
  `\nResults (synchronous ${sync.toUpperCase()}, ${os.availableParallelism()} cores, node ${process.version}, load average now ${os.loadavg()[0]!.toFixed(2)})`,
);
const w1 = Math.max(...table.map((r) => r.what.length), 10);
const w2 = Math.max(...table.map((r) => r.value.length), 10);
console.log(`  ${"measure".padEnd(w1)}  ${"result".padEnd(w2)}  notes`);
console.log(`  ${"-".repeat(w1)}  ${"-".repeat(w2)}  -----`);
for (const r of table) console.log(`  ${r.what.padEnd(w1)}  ${r.value.padEnd(w2)}  ${r.note}`);
console.log("\nTargets: drain ≥ 50,000 tasks/s; add→start p50 ≤ 2 ms.");
