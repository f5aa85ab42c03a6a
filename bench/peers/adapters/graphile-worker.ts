/**
 * graphile-worker 0.17 (the last line that runs on Node 20), in two settings:
 *   - defaults (only `concurrency` set): one job fetched per worker slot, completed one by one;
 *   - batched: the options its performance page documents for throughput — `localQueue.size` 500,
 *     `completeJobBatchDelay` 0, `failJobBatchDelay` 0 (prepared statements are on by default in both).
 * The pool stays at its default of 10 connections: PostgreSQL here allows 100 connections in total,
 * shared with other users, and two worker processes at 100 + 2 would exceed it.
 */
import { createRequire } from "node:module";
import { Logger, makeWorkerUtils, run, runMigrations, type Runner, type TaskList, type WorkerUtils } from "graphile-worker";
import { createDatabase, dropDatabase, withPg } from "../common.js";
import { KINDS, runHandler } from "./handlers.js";
import type { Adapter, Payload, PreparedWorker, Producer, Target, WorkerHooks, WorkerOptions } from "./types.js";

const VERSION = (createRequire(import.meta.url)("graphile-worker/package.json") as { version: string }).version;
const quiet = new Logger(() => () => undefined);

const BATCHED_PRESET = { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };

function makeAdapter(batched: boolean): Adapter {
  const id = batched ? "graphile-worker-batched" : "graphile-worker";
  return {
    id,
    label: batched ? "graphile-worker (batched)" : "graphile-worker",
    version: `graphile-worker ${VERSION}`,
    backend: "postgres",
    settings: batched
      ? "localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0 (its documented batching), preparedStatements on, pool 10, LISTEN/NOTIFY"
      : "defaults: pollInterval 2 s, preparedStatements on, pool 10, LISTEN/NOTIFY; only concurrency set",
    failover: {
      defaultSettings: "fixed 4 h lock timeout",
      shortSettings: "none configurable",
      defaultNote:
        "not measurable in a 15-minute run: jobs locked by a dead worker are released only when locked_at is 4 hours old (hard-coded in resetLockedAt); a restarted worker gets a new workerId and does not reclaim them",
      defaultBrief: "≥ 4 h (fixed lock timeout; not run)",
      shortBrief: "≥ 4 h (not configurable; not run)",
      shortNote: "no setting shortens the 4 h lock timeout (minResetLockedInterval only changes how often the 4 h check runs)",
    },
    progressNote: "no native progress API: the handler sleeps in 10 steps without reporting",
    async unavailable() {
      return null;
    },
    async prepare(tag) {
      const name = `bench_${id.replaceAll("-", "_")}_${tag}`;
      const location = await createDatabase(name);
      await runMigrations({ connectionString: location, logger: quiet });
      return { system: id, location, name };
    },
    async dispose(target) {
      await dropDatabase(target.name);
    },
    async openProducer(target): Promise<Producer> {
      const utils: WorkerUtils = await makeWorkerUtils({ connectionString: target.location, logger: quiet });
      return {
        async add(kind, payload) {
          await utils.addJob(kind, payload);
        },
        async addBatch(kind, payloads) {
          await utils.addJobs(payloads.map((payload) => ({ identifier: kind, payload })));
        },
        async bulkFill(kind, n) {
          // Its own SQL API (add_jobs), in chunks: the same function addJobs calls.
          await withPg(target.location, async (c) => {
            for (let from = 1; from <= n; from += 100_000) {
              const to = Math.min(n, from + 99_999);
              await c.query(
                `SELECT FROM graphile_worker.add_jobs(array(
                   SELECT ROW($1, json_build_object('seq', g), NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec
                   FROM generate_series($2::int, $3::int) g))`,
                [kind, from, to],
              );
            }
            await c.query("ANALYZE graphile_worker._private_jobs");
          });
        },
        async doneCount(kind, total) {
          // Completed jobs are deleted: done = added - still present.
          const { rows } = await utils.withPgClient((c) =>
            c.query<{ n: string }>(
              "SELECT count(*)::text AS n FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE t.identifier = $1",
              [kind],
            ),
          );
          return total - Number(rows[0]!.n);
        },
        async close() {
          await utils.release();
        },
      };
    },
    async prepareWorker(target: Target, options: WorkerOptions, hooks: WorkerHooks): Promise<PreparedWorker> {
      const taskList: TaskList = {};
      for (const kind of KINDS) {
        taskList[kind] = async (payload, helpers) => {
          await runHandler(kind, payload as Payload, hooks, undefined, kind === "hold" ? helpers.abortSignal : undefined);
        };
      }
      // Connecting and migrating happen in run(); do the migration check now so "go" starts claiming.
      await runMigrations({ connectionString: target.location, logger: quiet });
      let runner: Runner | null = null;
      return {
        async start() {
          runner = await run({
            connectionString: target.location,
            concurrency: options.concurrency,
            noHandleSignals: true,
            logger: quiet,
            taskList,
            ...(batched ? { preset: BATCHED_PRESET } : {}),
          });
        },
        async stop() {
          await runner?.stop();
        },
      };
    },
  };
}

export const graphileWorker = makeAdapter(false);
export const graphileWorkerBatched = makeAdapter(true);
