/**
 * Tasklane on PostgreSQL: throughput and latency on this machine. Not a test; nothing is asserted.
 *
 *   npm run bench:pg
 *   npm run bench:pg -- --only drain100x2 --profile
 *
 * Options:
 *   --db URL          the server [TASKLANE_TEST_PG, else postgres://postgres@127.0.0.1:5432/postgres]
 *   --only a,b,…      phases: add, addMany, drain10x1, drain100x1, drain10x2, drain100x2, latency, latencyx, idle [all]
 *   --idle-seconds N  length of each window of the idle phase [30]
 *   --drain N         tasks per drain phase [50000]
 *   --analyze         ANALYZE the tasks table after filling it for a drain (the planner's statistics
 *                     are otherwise stale right after a bulk fill: see the report)
 *   --profile         count SQL statements (round trips) and their time per phase, in this process
 *                     and in the worker processes, and the server's transactions per task
 *
 * Every phase runs in a fresh schema, dropped at the end. Drains run in separate worker
 * processes (this file, started with --child) that open their Tasklane, then start on "go";
 * the clock runs from "go" to the last task's success as seen by the workers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import os from "node:os";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import pg from "pg";
import { Tasklane, defineTask } from "../src/index.js";
import { parseArgs, percentile, perSec, sleep } from "./bench-kit.js";

const { flag, option } = parseArgs(process.argv.slice(2));
const profile = flag("profile");
const SERVER = option("db") ?? process.env.TASKLANE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Wall-clock ms with sub-ms precision, comparable across processes on this machine. */
const epochNow = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- SQL statement counting

interface SqlStat {
  calls: number;
  ms: number;
}
const sqlStats = new Map<string, SqlStat>();

/** A short label for a statement: its first words, with the schema and whitespace folded. */
function labelOf(text: string): string {
  const t = text.replace(/"[^"]+"\./g, "").replace(/\s+/g, " ").trim();
  const m = /^WITH (\w+) AS \(\s*(\w+ \w+( \w+)?)/i.exec(t);
  if (m) return `WITH ${m[1]} … ${m[2]}`.slice(0, 48);
  return t.slice(0, 48);
}

/** Wraps pg's Client#query (pool queries included) to count statements and time round trips. */
function instrumentPg(): void {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...a: unknown[]) {
    const first = a[0] as string | { text?: string };
    const text = typeof first === "string" ? first : (first?.text ?? "?");
    const label = labelOf(text);
    const t0 = performance.now();
    const done = () => {
      const s = sqlStats.get(label) ?? { calls: 0, ms: 0 };
      s.calls += 1;
      s.ms += performance.now() - t0;
      sqlStats.set(label, s);
    };
    // pg.Pool#query passes a callback (and gets no promise back): time up to the callback.
    const last = a.length - 1;
    if (typeof a[last] === "function") {
      const callback = a[last] as (...r: unknown[]) => unknown;
      a[last] = (...r: unknown[]) => {
        done();
        return callback(...r);
      };
      return original.apply(this, a);
    }
    const out = original.apply(this, a);
    if (out && typeof (out as Promise<unknown>).then === "function") (out as Promise<unknown>).then(done, done);
    return out;
  };
}

function sqlStatsSnapshot(): Array<[string, SqlStat]> {
  const rows = [...sqlStats.entries()].sort((a, b) => b[1].calls - a[1].calls);
  sqlStats.clear();
  return rows;
}

function printSqlStats(where: string, rows: Array<[string, SqlStat]>, tasks: number): void {
  if (!rows.length) return;
  const calls = rows.reduce((s, [, v]) => s + v.calls, 0);
  console.log(`    SQL statements ${where}: ${calls} = ${(calls / tasks).toFixed(3)} per task`);
  for (const [label, s] of rows.slice(0, 12)) {
    console.log(
      `      ${String(s.calls).padStart(7)} ${(s.calls / tasks).toFixed(3).padStart(7)}/task ${((1000 * s.ms) / s.calls).toFixed(0).padStart(6)} µs/call  ${label}`,
    );
  }
}

// ---------------------------------------------------------------- child: a worker process

const noop = defineTask({ name: "noop", run: () => null });
const lat = defineTask<{ seq: number }>({
  name: "lat",
  run(ctx) {
    process.stdout.write(`lat ${ctx.params.seq} ${epochNow()}\n`);
    return null;
  },
});

async function child(): Promise<void> {
  const [db, node, concurrency, claimBatch] = [option("child-db")!, option("node")!, Number(option("concurrency")), Number(option("claim-batch"))];
  if (profile) instrumentPg();
  const lane = await Tasklane.open({ db, node, tasks: [noop, lat], worker: { concurrency, claimBatch, overload: false } });
  let count = 0;
  let lastAt = 0;
  lane.on("task:succeeded", () => {
    count += 1;
    lastAt = epochNow();
  });
  let errors = 0;
  lane.on("error", ({ error, where }) => {
    if (++errors <= 5) process.stderr.write(`[${node}] error ${where}: ${error.message}\n`);
  });
  const report = setInterval(() => process.stdout.write(`count ${count} ${lastAt}\n`), 50);
  const lines = readline.createInterface({ input: process.stdin });
  process.stdout.write("opened\n");
  for await (const line of lines) {
    if (line === "go") {
      await lane.start();
      process.stdout.write("started\n");
    } else if (line === "stop") {
      clearInterval(report);
      process.stdout.write(`count ${count} ${lastAt}\n`);
      if (profile) process.stdout.write(`sql ${JSON.stringify(sqlStatsSnapshot())}\n`);
      await lane.close({ graceMs: 1000 });
      process.stdout.write("closed\n");
      process.exit(0);
    }
  }
}

interface Child {
  proc: ChildProcess;
  count: number;
  lastAt: number;
  sql: Array<[string, SqlStat]>;
  lines: Array<(line: string) => void>;
  waitLine(line: string): Promise<void>;
  send(line: string): void;
}

function spawnChild(db: string, node: string, concurrency: number, claimBatch: number): Child {
  const self = fileURLToPath(import.meta.url);
  const childArgs = ["--import", "tsx", self, "--child", "--child-db", db, "--node", node, "--concurrency", String(concurrency), "--claim-batch", String(claimBatch)];
  if (profile) childArgs.push("--profile");
  const proc = spawn(process.execPath, childArgs, { stdio: ["pipe", "pipe", "inherit"] });
  const c: Child = {
    proc,
    count: 0,
    lastAt: 0,
    sql: [],
    lines: [],
    waitLine(line) {
      return new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`worker ${node} exited (${code}) before "${line}"`));
        proc.once("exit", onExit);
        const hook = (l: string) => {
          if (l !== line) return;
          c.lines.splice(c.lines.indexOf(hook), 1);
          proc.off("exit", onExit);
          resolve();
        };
        c.lines.push(hook);
      });
    },
    send(line) {
      proc.stdin!.write(line + "\n");
    },
  };
  readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
    if (line.startsWith("count ")) {
      const [, n, at] = line.split(" ");
      c.count = Number(n);
      c.lastAt = Number(at);
    } else if (line.startsWith("sql ")) {
      c.sql = JSON.parse(line.slice(4)) as Array<[string, SqlStat]>;
    }
    for (const hook of [...c.lines]) hook(line);
  });
  return c;
}

// ---------------------------------------------------------------- parent helpers

let schemaNo = 0;
const schemasMade: string[] = [];
function freshDb(): string {
  const schema = `tl_bench_${process.pid}_${++schemaNo}`;
  schemasMade.push(schema);
  const url = new URL(SERVER);
  url.searchParams.set("schema", schema);
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function dropSchemas(): Promise<void> {
  await withAdmin(async (client) => {
    for (const s of schemasMade.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  });
}

/** Transactions committed by the server (all databases' activity on this one), for --profile. */
async function serverCommits(): Promise<number> {
  return withAdmin(async (client) => {
    // Pending statistics are flushed by backends at most once a second: ask for a fresh snapshot.
    await client.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await client.query<{ n: string }>("SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()");
    return Number(rows[0]!.n);
  });
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
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// ---------------------------------------------------------------- phases

const SIZES = {
  addOneByOne: 5_000,
  addManyTotal: 50_000,
  addManyBatch: 1_000,
  drain: Number(option("drain") ?? 50_000),
  latencyRatePerSec: 200,
  latencySeconds: 5,
};

async function phaseAdd(): Promise<void> {
  const lane = await Tasklane.open({ db: freshDb(), tasks: [noop], node: "bench" });
  for (let i = 0; i < 200; i++) await lane.add("noop", { i }); // warm-up
  sqlStats.clear();
  const n = SIZES.addOneByOne;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await lane.add("noop", { i });
  const ms = performance.now() - t0;
  report("add, one by one, awaited", `${fmt(perSec(n, ms))} tasks/s`, `${fmt(n)} adds, ${((ms * 1000) / n).toFixed(0)} µs each`);
  if (profile) printSqlStats("per add", sqlStatsSnapshot(), n);
  await lane.close();
}

async function phaseAddMany(): Promise<void> {
  const lane = await Tasklane.open({ db: freshDb(), tasks: [noop], node: "bench" });
  const batch = (b: number) => Array.from({ length: SIZES.addManyBatch }, (_, i) => ({ type: "noop", params: { i: b * SIZES.addManyBatch + i } }));
  await lane.addMany(batch(-1)); // warm-up
  sqlStats.clear();
  const batches = SIZES.addManyTotal / SIZES.addManyBatch;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await lane.addMany(batch(b));
  const ms = performance.now() - t0;
  report(
    `addMany, batches of ${fmt(SIZES.addManyBatch)}`,
    `${fmt(perSec(SIZES.addManyTotal, ms))} tasks/s`,
    `${fmt(SIZES.addManyTotal)} tasks, ${(ms / batches).toFixed(1)} ms per batch`,
  );
  if (profile) printSqlStats("per task", sqlStatsSnapshot(), SIZES.addManyTotal);
  await lane.close();
}

async function phaseDrain(concurrency: number, processes: number): Promise<void> {
  const db = freshDb();
  const total = SIZES.drain;
  {
    const filler = await Tasklane.open({ db, tasks: [noop], node: "filler" });
    for (let b = 0; b < total / 1000; b++) await filler.addMany(Array.from({ length: 1000 }, (_, i) => ({ type: "noop", params: { i } })));
    await filler.close();
  }
  if (flag("analyze")) await withAdmin((client) => client.query(`ANALYZE "${new URL(db).searchParams.get("schema")}".tasks`));
  // The worker's default: with fetch-ahead a node claims beyond its free slots, up to this many.
  const claimBatch = 100;
  const children = Array.from({ length: processes }, (_, i) => spawnChild(db, `w${i + 1}`, concurrency, claimBatch));
  try {
    await Promise.all(children.map((c) => c.waitLine("opened")));
    const commits0 = profile ? await serverCommits() : 0;
    const t0 = epochNow();
    for (const c of children) c.send("go");
    const deadline = Date.now() + 600_000;
    while (children.reduce((s, c) => s + c.count, 0) < total) {
      if (Date.now() > deadline) throw new Error(`drain stuck at ${children.map((c) => c.count).join("+")} of ${total}`);
      await sleep(20);
    }
    const ms = Math.max(...children.map((c) => c.lastAt)) - t0;
    const commits = profile ? (await serverCommits()) - commits0 : 0;
    report(
      `drain of ${fmt(total)} no-op tasks, concurrency ${concurrency}, ${processes} process${processes > 1 ? "es" : ""}`,
      `${fmt(perSec(total, ms))} tasks/s`,
      `${ms.toFixed(0)} ms, claimBatch ${claimBatch}, per process ${children.map((c) => c.count).join(" + ")}${flag("analyze") ? ", ANALYZE after fill" : ""}`,
    );
    for (const c of children) c.send("stop");
    await Promise.all(children.map((c) => c.waitLine("closed")));
    if (profile) {
      console.log(`    server transactions committed: ${commits} = ${(commits / total).toFixed(3)} per task (all processes; stats may lag ~1 s)`);
      const merged = new Map<string, SqlStat>();
      for (const c of children) {
        for (const [label, s] of c.sql) {
          const m = merged.get(label) ?? { calls: 0, ms: 0 };
          m.calls += s.calls;
          m.ms += s.ms;
          merged.set(label, m);
        }
      }
      printSqlStats("in the worker processes (lease-renewer thread not counted)", [...merged.entries()].sort((a, b) => b[1].calls - a[1].calls), total);
    }
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  }
}

/** add→start latency; `crossProcess`: adds here, a worker process runs (wake-up by NOTIFY). */
async function phaseLatency(crossProcess: boolean): Promise<void> {
  const db = freshDb();
  const addedAt: number[] = [];
  const startedAt: number[] = [];
  const localLat = defineTask<{ seq: number }>({
    name: "lat",
    run(ctx) {
      startedAt[ctx.params.seq] = epochNow();
      return null;
    },
  });
  const lane = await Tasklane.open({ db, tasks: [crossProcess ? lat : localLat], node: "bench", worker: { concurrency: 10, overload: false } });
  let worker: Child | null = null;
  if (crossProcess) {
    worker = spawnChild(db, "w1", 10, 10);
    worker.lines.push((line) => {
      if (!line.startsWith("lat ")) return;
      const [, seq, at] = line.split(" ");
      startedAt[Number(seq)] = Number(at);
    });
    await worker.waitLine("opened");
    worker.send("go");
    await worker.waitLine("started");
  } else {
    await lane.start();
  }
  try {
    // Warm-up: 50 tasks, not measured.
    for (let i = 0; i < 50; i++) {
      addedAt[i] = epochNow();
      await lane.add("lat", { seq: i });
    }
    await sleep(300);
    sqlStats.clear();
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const total = SIZES.latencyRatePerSec * SIZES.latencySeconds;
    const gap = 1000 / SIZES.latencyRatePerSec;
    const t0 = performance.now();
    let addMs = 0;
    for (let i = 0; i < total; i++) {
      const wait = t0 + i * gap - performance.now();
      if (wait > 0) await sleep(wait);
      const seq = 50 + i;
      const before = performance.now();
      addedAt[seq] = epochNow();
      await lane.add("lat", { seq });
      addMs += performance.now() - before;
    }
    const deadline = performance.now() + 10_000;
    const measured = () => addedAt.slice(50).filter((_, i) => startedAt[50 + i] !== undefined).length;
    while (measured() < total && performance.now() < deadline) await sleep(20);
    loop.disable();
    const latencies = addedAt.slice(50).flatMap((a, i) => (startedAt[50 + i] === undefined ? [] : [startedAt[50 + i]! - a]));
    const sorted = latencies.sort((a, b) => a - b);
    const f = (v: number) => `${v.toFixed(2)} ms`;
    report(
      `add→start latency at ${SIZES.latencyRatePerSec}/s for ${SIZES.latencySeconds} s, ${crossProcess ? "worker in another process (NOTIFY)" : "worker in the adding process"}`,
      `p50 ${f(percentile(sorted, 50))}, p95 ${f(percentile(sorted, 95))}, p99 ${f(percentile(sorted, 99))}`,
      `${sorted.length}/${total} started, max ${f(sorted[sorted.length - 1] ?? NaN)}, mean add() ${f(addMs / total)}, event-loop delay p99 ${f(loop.percentile(99) / 1e6)}`,
    );
    if (profile) printSqlStats(`in the ${crossProcess ? "adding" : "adding and running"} process`, sqlStatsSnapshot(), total);
  } finally {
    if (worker) {
      worker.send("stop");
      await Promise.race([worker.waitLine("closed"), sleep(5000)]).catch(() => undefined);
      if (worker.proc.exitCode === null) worker.proc.kill("SIGKILL");
    }
    await lane.close({ graceMs: 1000 });
  }
}

/**
 * What an idle node costs the server: transactions committed a second (pg_stat_database), with
 * one idle node (worker, scheduler and a schedule that fires hourly) minus the same window with
 * none, so background activity and the measurement's own queries cancel out.
 */
async function phaseIdle(): Promise<void> {
  const seconds = Number(option("idle-seconds") ?? 30);
  const rate = async (): Promise<number> => {
    await sleep(1500); // the statistics of what came before are flushed
    const c0 = await serverCommits();
    const t0 = Date.now();
    await sleep(seconds * 1000);
    await sleep(1100); // ...and those of the window itself
    const c1 = await serverCommits();
    return (c1 - c0) / ((Date.now() - t0 - 1100) / 1000);
  };
  const none = await rate();
  const db = freshDb();
  const hourly = defineTask({ name: "hourly", schedule: { cron: "0 * * * *" }, run: () => null });
  const lane = await Tasklane.open({ db, tasks: [noop, hourly], node: "idle" });
  await lane.start();
  await sleep(3000); // start-up: migrations, first claims, schedule upsert
  if (profile) sqlStatsSnapshot();
  const withNode = await rate();
  if (profile) printSqlStats("of the idle node and the measurement, per second", sqlStatsSnapshot(), seconds);
  await lane.close();
  const cost = withNode - none;
  report(
    `one idle node (worker + scheduler, default options), ${seconds} s`,
    `${cost.toFixed(2)} transactions/s`,
    `server: ${withNode.toFixed(2)}/s with the node, ${none.toFixed(2)}/s without (pg_stat_database xact_commit)`,
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const PHASES = ["add", "addMany", "drain10x1", "drain100x1", "drain10x2", "drain100x2", "latency", "latencyx", "idle"] as const;
  type Phase = (typeof PHASES)[number];
  const only = option("only")?.split(",").map((s) => s.trim()) ?? [...PHASES];
  for (const p of only) {
    if (!(PHASES as readonly string[]).includes(p)) {
      console.error(`--only: unknown phase "${p}" (one of ${PHASES.join(", ")})`);
      process.exit(2);
    }
  }
  if (profile) instrumentPg();

  const cpus = os.cpus();
  const server = await withAdmin(async (client) => {
    const { rows } = await client.query<{ v: string; sc: string; fsync: string; sb: string }>(
      "SELECT version() AS v, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync, current_setting('shared_buffers') AS sb",
    );
    return rows[0]!;
  });
  const pgVersion = (createRequire(import.meta.url)("pg/package.json") as { version: string }).version;
  console.log("Tasklane PostgreSQL benchmark");
  console.log(
    `  machine: ${os.availableParallelism()} cores (${cpus[0]?.model.trim() ?? "unknown CPU"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`  node ${process.version}, pg ${pgVersion}, ${server.v.split(" on ")[0]} on the same box (${SERVER.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")})`);
  console.log(`  server: synchronous_commit ${server.sc}, fsync ${server.fsync}, shared_buffers ${server.sb}; default pool of 10 connections per process`);
  console.log("");

  const runners: Record<Phase, () => Promise<void>> = {
    add: phaseAdd,
    addMany: phaseAddMany,
    drain10x1: () => phaseDrain(10, 1),
    drain100x1: () => phaseDrain(100, 1),
    drain10x2: () => phaseDrain(10, 2),
    drain100x2: () => phaseDrain(100, 2),
    latency: () => phaseLatency(false),
    latencyx: () => phaseLatency(true),
    idle: phaseIdle,
  };
  try {
    for (const phase of PHASES) if (only.includes(phase)) await runners[phase]();
  } finally {
    await dropSchemas();
  }

  console.log(`\nResults (PostgreSQL, ${os.availableParallelism()} cores, node ${process.version}, load average now ${os.loadavg()[0]!.toFixed(2)})`);
  const w1 = Math.max(...table.map((r) => r.what.length), 10);
  const w2 = Math.max(...table.map((r) => r.value.length), 10);
  console.log(`  ${"measure".padEnd(w1)}  ${"result".padEnd(w2)}  notes`);
  console.log(`  ${"-".repeat(w1)}  ${"-".repeat(w2)}  -----`);
  for (const r of table) console.log(`  ${r.what.padEnd(w1)}  ${r.value.padEnd(w2)}  ${r.note}`);
  console.log("\nTargets: drain ≥ 40,000 tasks/s with two processes; batched add ≥ 100,000 tasks/s; add→start p50 ≤ 2 ms, p99 ≤ 10 ms.");
}

if (flag("child")) await child();
else await main();
