/**
 * pg-boss 10 (the last major that runs on Node 20) with batch fetching: one `work()` loop,
 * `batchSize` = 10 × concurrency, the batch's handlers run with at most `concurrency` at once, and
 * `pollingIntervalSeconds` 0.5, its documented minimum (default 2).
 *
 * Why this shape: a pg-boss 10 work() loop waits out the rest of its polling interval after every
 * batch, even when more jobs are queued (src/worker.js: `if (interval - duration > 100) delay`), so
 * throughput is bounded by batchSize × loops / interval whatever the concurrency. With batchSize =
 * concurrency that bound is 20 tasks/s at concurrency 10 — below the latency scenario's 200/s. A
 * batch 10× the concurrency, run through a local limit, is the most generous reading of "batch
 * fetching at concurrency N" (bound: 20 × concurrency per second). pg-boss has no LISTEN/NOTIFY
 * wake-up, so latency is bounded by the polling interval too.
 */
import { createRequire } from "node:module";
import PgBoss from "pg-boss";
import { createDatabase, dropDatabase, withPg } from "../common.js";
import { HOLD_MS, KINDS, runHandler } from "./handlers.js";
import type { Adapter, Payload, PreparedWorker, Producer, Target, WorkerHooks, WorkerOptions } from "./types.js";

const VERSION = (createRequire(import.meta.url)("pg-boss/package.json") as { version: string }).version;
const POLL_S = 0.5;
const BATCH_FACTOR = 10;
/** Expiry is a run timeout in pg-boss, not a heartbeat: it must exceed the longest healthy run. */
const SHORT_EXPIRE_S = HOLD_MS / 1000;

export const pgBoss: Adapter = {
  id: "pg-boss",
  label: "pg-boss",
  version: `pg-boss ${VERSION}`,
  backend: "postgres",
  settings: `one work() loop, batchSize = 10 × concurrency run with at most concurrency at once, pollingIntervalSeconds ${POLL_S} (its minimum; default 2), pool 10; no LISTEN/NOTIFY (polling only)`,
  failover: {
    defaultSettings: "expireInSeconds 900, maintenanceIntervalSeconds 120 (defaults)",
    shortSettings: `expireInSeconds ${SHORT_EXPIRE_S} (the task's run time: expiry is a run timeout, a shorter one expires healthy runs), maintenanceIntervalSeconds 1, pollingIntervalSeconds ${POLL_S}`,
    defaultBrief: "15–17 min (expiry + maintenance; not run)",
    defaultNote: "not run (over the time budget): a dead worker's jobs are retried once they are 15 min old and the 2-minute maintenance runs, i.e. 15–17 min",
  },
  progressNote: "no native progress API: the handler sleeps in 10 steps without reporting",
  async unavailable() {
    return null;
  },
  async prepare(tag) {
    const name = `bench_pgboss_${tag}`;
    const location = await createDatabase(name);
    const boss = new PgBoss({ connectionString: location, supervise: false, schedule: false });
    boss.on("error", () => undefined);
    await boss.start();
    for (const kind of KINDS) await boss.createQueue(kind);
    await boss.stop({ graceful: false, wait: true });
    return { system: "pg-boss", location, name };
  },
  async dispose(target) {
    await dropDatabase(target.name);
  },
  async openProducer(target, options = {}): Promise<Producer> {
    // A producer-only instance: no maintenance or cron here (the workers run it), as its docs suggest.
    const boss = new PgBoss({ connectionString: target.location, supervise: false, schedule: false });
    boss.on("error", () => undefined);
    await boss.start();
    const jobOptions = options.short ? { expireInSeconds: SHORT_EXPIRE_S } : {};
    return {
      async add(kind, payload) {
        await boss.send(kind, payload, jobOptions);
      },
      async addBatch(kind, payloads) {
        await boss.insert(payloads.map((data) => ({ name: kind, data, ...jobOptions })));
      },
      async bulkFill(kind, n) {
        await withPg(target.location, async (c) => {
          for (let from = 1; from <= n; from += 200_000) {
            const to = Math.min(n, from + 199_999);
            await c.query("INSERT INTO pgboss.job (name, data) SELECT $1, json_build_object('seq', g) FROM generate_series($2::int, $3::int) g", [kind, from, to]);
          }
          await c.query("ANALYZE pgboss.job");
        });
      },
      async doneCount(kind) {
        const { rows } = await withPg(target.location, (c) =>
          c.query<{ n: string }>("SELECT count(*)::text AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'", [kind]),
        );
        return Number(rows[0]!.n);
      },
      async close() {
        await boss.stop({ graceful: false, wait: true });
      },
    };
  },
  async prepareWorker(target: Target, options: WorkerOptions, hooks: WorkerHooks): Promise<PreparedWorker> {
    const boss = new PgBoss({ connectionString: target.location, ...(options.short ? { maintenanceIntervalSeconds: 1 } : {}) });
    boss.on("error", () => undefined);
    await boss.start();
    return {
      async start() {
        {
          const kind = options.kind;
          await boss.work<Payload>(kind, { batchSize: BATCH_FACTOR * options.concurrency, pollingIntervalSeconds: POLL_S }, async (jobs) => {
            // At most `concurrency` handlers at once: each lane takes the next job of the batch.
            let next = 0;
            const lane = async () => {
              while (next < jobs.length) await runHandler(kind, jobs[next++]!.data, hooks);
            };
            await Promise.all(Array.from({ length: Math.min(options.concurrency, jobs.length) }, lane));
          });
        }
      },
      async stop() {
        await boss.stop({ graceful: false, wait: true, timeout: 2000 });
      },
    };
  },
};
