/**
 * Tasklane, on SQLite (embedded, one file) and on PostgreSQL. Settings are the library defaults
 * except `concurrency`; the failover "short" setting is a 2 s lease (default 15 s).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Tasklane, defineTask, type TaskDefinition } from "../../../src/index.js";
import { PACKAGE_VERSION } from "../../../src/model/version.js";
import { createDatabase, dropDatabase, withPg } from "../common.js";
import { KINDS, runHandler } from "./handlers.js";
import type { Adapter, Payload, PreparedWorker, Producer, Target, WorkerHooks, WorkerOptions } from "./types.js";

const SHORT_LEASE_MS = 2000;

function definitions(hooks: WorkerHooks | null): TaskDefinition[] {
  return KINDS.map((kind) =>
    defineTask<Payload>({
      name: kind,
      // Retries would blur the failover figure (a killed run counts an attempt): keep the default.
      async run(ctx) {
        if (!hooks) return null;
        await runHandler(kind, ctx.params, hooks, (i, of) => ctx.progress(i, of), kind === "hold" ? ctx.signal : undefined);
        return null;
      },
    }),
  );
}

function dbOf(target: Target): string {
  return target.location.startsWith("postgres") ? target.location : "sqlite:" + target.location;
}

/** Copies one template row n-1 times in SQL: set-up for the backlog scenario only. */
async function fillBySql(target: Target, templateId: string, n: number): Promise<void> {
  if (n <= 0) return;
  if (target.location.startsWith("postgres")) {
    await withPg(target.location, async (c) => {
      const { rows } = await c.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'tasklane' AND table_name = 'tasks' ORDER BY ordinal_position",
      );
      const cols = rows.map((r) => r.column_name).filter((c) => c !== "id" && c !== "params");
      const list = cols.map((c) => `"${c}"`).join(", ");
      const chunk = 200_000;
      for (let from = 1; from <= n; from += chunk) {
        const to = Math.min(n, from + chunk - 1);
        await c.query(
          `INSERT INTO tasklane.tasks (id, params, ${list})
           SELECT substr(t.id, 1, 16) || lpad(g::text, 10, '0'), jsonb_build_object('seq', g), ${cols.map((c) => `t."${c}"`).join(", ")}
           FROM tasklane.tasks t, generate_series($2::int, $3::int) g WHERE t.id = $1`,
          [templateId, from, to],
        );
      }
      await c.query("ANALYZE tasklane.tasks");
    });
    return;
  }
  const db = new Database(target.location);
  db.pragma("busy_timeout = 15000");
  const cols = (db.prepare("PRAGMA table_info(tasks)").all() as Array<{ name: string }>).map((r) => r.name).filter((c) => c !== "id" && c !== "params");
  const list = cols.map((c) => `"${c}"`).join(", ");
  db.prepare(
    `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ?)
     INSERT INTO tasks (id, params, ${list})
     SELECT substr(t.id, 1, 16) || printf('%010d', g), json_object('seq', g), ${cols.map((c) => `t."${c}"`).join(", ")}
     FROM tasks t, s WHERE t.id = ?`,
  ).run(n, templateId);
  db.prepare("ANALYZE").run();
  db.close();
}

function makeAdapter(backend: "sqlite" | "postgres"): Adapter {
  const id = backend === "sqlite" ? "tasklane-sqlite" : "tasklane-pg";
  return {
    id,
    label: backend === "sqlite" ? "Tasklane (SQLite)" : "Tasklane (PostgreSQL)",
    version: `tasklane ${PACKAGE_VERSION}`,
    backend,
    settings:
      backend === "sqlite"
        ? "defaults (WAL, synchronous FULL, claimBatch 100, lease 15 s) except concurrency, and the overload guard off (see below)"
        : "defaults (pool 10, claimBatch 100, LISTEN/NOTIFY wake-up, lease 15 s) except concurrency, and the overload guard off (see below)",
    failover: { defaultSettings: "leaseMs 15000 (default)", shortSettings: `leaseMs ${SHORT_LEASE_MS} (heartbeat every ${Math.floor(SHORT_LEASE_MS / 3)} ms)` },
    progressNote: "ctx.progress(i, 10): coalesced, written every 200 ms (flushMs default)",
    async unavailable() {
      return null;
    },
    async prepare(tag) {
      if (backend === "postgres") {
        const name = `bench_tasklane_${tag}`;
        return { system: id, location: await createDatabase(name), name };
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-tasklane-${tag}-`));
      return { system: id, location: path.join(dir, "tasklane.db"), name: dir };
    },
    async dispose(target) {
      if (backend === "postgres") await dropDatabase(target.name);
      else fs.rmSync(target.name, { recursive: true, force: true });
    },
    async openProducer(target): Promise<Producer> {
      const lane = await Tasklane.open({ db: dbOf(target), tasks: definitions(null), node: `producer-${process.pid}` });
      return producerOf(lane, target);
    },
    async openEmbedded(target, options, hooks) {
      const lane = await Tasklane.open({ db: dbOf(target), tasks: definitions(hooks), node: `embedded-${process.pid}` });
      return { producer: producerOf(lane, target), worker: { start: () => lane.start(workerOptions(options)), stop: () => lane.close({ graceMs: 500 }) } };
    },
    async prepareWorker(target: Target, options: WorkerOptions, hooks: WorkerHooks): Promise<PreparedWorker> {
      const lane = await Tasklane.open({ db: dbOf(target), tasks: definitions(hooks), node: `w-${process.pid}` });
      return {
        start: () => lane.start(workerOptions(options)),
        stop: () => lane.close({ graceMs: 500 }),
      };
    },
  };
}

function producerOf(lane: Tasklane, target: Target): Producer {
  return {
    async add(kind, payload) {
      await lane.add(kind, payload);
    },
    async addBatch(kind, payloads) {
      await lane.addMany(payloads.map((params) => ({ type: kind, params })));
    },
    async bulkFill(kind, n) {
      const template = await lane.add(kind, { seq: 0 });
      await fillBySql(target, template.id, n - 1);
    },
    async doneCount(kind) {
      const counts = await lane.counts();
      return counts.filter((c) => c.type === kind && c.status === "succeeded").reduce((s, c) => s + c.count, 0);
    },
    async close() {
      await lane.close();
    },
  };
}

function workerOptions(options: WorkerOptions) {
  // The overload guard (on by default) stops claiming while the 1-minute load average exceeds
  // 6 per core; other people's work on a shared benchmark machine can trip it, and no peer has
  // such a guard, so it is off here (stated on the results page).
  return { concurrency: options.concurrency, overload: false as const, ...(options.short ? { leaseMs: SHORT_LEASE_MS } : {}) };
}

export const tasklaneSqlite = makeAdapter("sqlite");
export const tasklanePg = makeAdapter("postgres");
