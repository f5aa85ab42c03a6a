/**
 * A worker process: one system's worker in its own Node.js process, driven over stdin/stdout by
 * the parent (child.ts). Started with `node --import tsx bench/peers/worker-process.ts '<json>'`.
 *
 * Protocol — stdin: "go" (start claiming), "stop". stdout: "ready"; "f <t>" at the first handler
 * start; "s <seq> <t>" per start of a stamp/hold task; "c <count> <t>" (handlers finished, time of
 * the last) at most every 50 ms; "stopped <cpuMs> <statements>" at the end.
 */
import readline from "node:readline";
import { adapterById } from "./adapters/index.js";
import type { Target, TaskKind, WorkerOptions } from "./adapters/types.js";
import { countPgStatements, epochNow, sqlCounter } from "./common.js";
import { instrumentStores, storeStatsTable } from "./store-stats.js";

export interface ChildConfig {
  system: string;
  target: Target;
  options: WorkerOptions;
}

const config = JSON.parse(process.argv[2]!) as ChildConfig;
const out = (line: string) => process.stdout.write(line + "\n");
countPgStatements();
if (process.env.BENCH_STORE_STATS) instrumentStores();

let finished = 0;
let lastAt = 0;
let first = true;
const adapter = adapterById(config.system);
const worker = await adapter.prepareWorker(config.target, config.options, {
  started(kind: TaskKind, payload) {
    const t = epochNow();
    if (first) {
      first = false;
      out(`f ${t}`);
    }
    if ((kind === "stamp" || kind === "hold") && payload.seq !== undefined) out(`s ${payload.seq} ${t}`);
  },
  finished() {
    finished += 1;
    lastAt = epochNow();
  },
});

let reported = -1;
const reporter = setInterval(() => {
  if (finished === reported) return;
  reported = finished;
  out(`c ${finished} ${lastAt}`);
}, 50);

// Statements counted from "go" only: set-up (migrations, connect) is not per-task work.
let statementsAtGo = 0;
let cpuAtGo = process.cpuUsage();
out("ready");
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line === "go") {
    statementsAtGo = sqlCounter.statements;
    cpuAtGo = process.cpuUsage();
    await worker.start();
  } else if (line === "stop") {
    clearInterval(reporter);
    out(`c ${finished} ${lastAt}`);
    const cpu = process.cpuUsage(cpuAtGo);
    const statements = sqlCounter.statements - statementsAtGo;
    await Promise.race([worker.stop(), new Promise((r) => setTimeout(r, 5000))]).catch(() => undefined);
    if (process.env.BENCH_STORE_STATS) process.stderr.write(`[${config.system} ${process.pid}] ${storeStatsTable(finished)}\n`);
    out(`stopped ${(cpu.user + cpu.system) / 1000} ${statements}`);
    process.exit(0);
  }
}
