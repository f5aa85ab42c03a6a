/**
 * HTTP API load check (`npm run bench:http`, also run by `npm run bench`): a real server on
 * loopback, a real SQLite file.
 *   1. POST /api/tasks throughput with 50 concurrent clients (each awaits its response).
 *   2. GET /api/tasks latency p50/p95/p99 with 1,000,000 tasks in the table: first pages and deep
 *      keyset pages, unfiltered, by status, by type and by owner.
 * Speed is reported, never asserted.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Tasklane, defineTask } from "../src/index.js";
import { serveHttp } from "../src/server/serve.js";
import type { NewTask } from "../src/store/store.js";
import { sortableId } from "../src/model/ids.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { percentile } from "./bench-kit.js";

const execFileAsync = promisify(execFile);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const CLIENTS = 50;
const POST_SECONDS = 5;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tasklane-http-bench-"));
const lane = await Tasklane.open({ db: `sqlite:${path.join(dir, "bench.db")}`, tasks: [defineTask({ name: "noop", run: () => null })] });
const { token } = (await lane.users.add("bench", { role: "admin" })).token;
const server = await serveHttp(lane, { port: 0 });
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };


// 1. POST throughput, from a client in its own process (sharing this one would halve the server's CPU).
const client = await execFileAsync(
  process.execPath,
  [
    fileURLToPath(new URL("./http-load-client.mjs", import.meta.url)),
    `${server.url}/api/tasks`,
    token,
    String(CLIENTS),
    String(POST_SECONDS),
    JSON.stringify({ type: "noop", params: { from: "bench" } }),
  ],
  { encoding: "utf8" },
);
const load = JSON.parse(client.stdout) as { ok: number; failed: number; seconds: number };
const posted = load.ok;
const failed = load.failed;
const postSeconds = load.seconds;

// 2. GET with a big table: fill it through the store in large batches (the API is not the subject here).
const t1 = performance.now();
const types = ["noop", "export", "mail", "sync"];
for (let done = posted; done < ROWS; ) {
  const n = Math.min(10_000, ROWS - done);
  const now = Date.now();
  const batch: NewTask[] = Array.from({ length: n }, (_, i) => ({
    id: sortableId(now),
    type: types[(done + i) % types.length]!,
    name: null,
    description: null,
    params: { i: done + i },
    priority: 0,
    runAt: now + 86_400_000, // due tomorrow: scheduled, never claimed
    maxAttempts: 3,
    maxRuns: 100,
    backoff: { type: "exponential", delayMs: 1000, maxMs: 3_600_000, jitter: 0.2 },
    timeoutMs: null,
    cpu: 0,
    executor: null,
    deadline: null,
    deleteAfterMs: 604_800_000,
    key: null,
    owner: `owner-${(done + i) % 100}`,
    group: null,
    followUps: null,
  }));
  await lane.store.taskInsertMany(batch, { maxQueued: new Map() });
  done += n;
}
const fillSeconds = (performance.now() - t1) / 1000;

async function timeGets(label: string, query: string, pages: number): Promise<string> {
  const times: number[] = [];
  for (let round = 0; round < 10; round++) {
    let cursor: string | null = null;
    for (let p = 0; p < pages; p++) {
      const url = `${server.url}/api/tasks?limit=50&${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const start = performance.now();
      const res = await fetch(url, { headers });
      const body = (await res.json()) as { nextCursor: string | null };
      times.push(performance.now() - start);
      if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
  }
  times.sort((a, b) => a - b);
  return `${label.padEnd(44)} p50 ${percentile(times, 50).toFixed(1)} ms  p95 ${percentile(times, 95).toFixed(1)} ms  p99 ${percentile(times, 99).toFixed(1)} ms  (${times.length} requests)`;
}

const lines = [
  await timeGets("GET /api/tasks, first 20 pages", "", 20),
  await timeGets("GET /api/tasks?status=scheduled, 20 pages", "status=scheduled", 20),
  await timeGets("GET /api/tasks?type=mail, 20 pages", "type=mail", 20),
  await timeGets("GET /api/tasks?owner=owner-7, 20 pages", "owner=owner-7", 20),
];

console.log("Tasklane HTTP API benchmark");
console.log(`  machine: ${os.availableParallelism()} cores, node ${process.version}, SQLite file, synchronous FULL`);
console.log(
  `  POST /api/tasks, ${CLIENTS} concurrent clients, ${POST_SECONDS} s: ${Math.round(posted / postSeconds).toLocaleString("en-US")} tasks/s (${posted} added, ${failed} refused)`,
);
console.log(`  table filled to ${ROWS.toLocaleString("en-US")} tasks in ${fillSeconds.toFixed(1)} s`);
for (const line of lines) console.log(`  ${line}`);

await server.close();
await lane.close();
fs.rmSync(dir, { recursive: true, force: true });
