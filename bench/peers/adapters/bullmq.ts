/**
 * BullMQ on the local Redis. BullMQ 6 takes its Redis driver as an optional peer dependency
 * (ioredis or node-redis); neither is in this project's dependencies, so this adapter loads ioredis
 * at run time and the system is reported as not run when it is missing (add `ioredis` ^5 to
 * devDependencies to include it). Settings: defaults (lockDuration 30 s, stalledInterval 30 s)
 * except concurrency; one Queue, one Worker per process, a fresh key prefix per scenario.
 */
import { createRequire } from "node:module";
import { Queue, Worker, type ConnectionOptions, type Job } from "bullmq";
import { REDIS_URL } from "../common.js";
import { runHandler } from "./handlers.js";
import type { Adapter, Payload, PreparedWorker, Producer, Target, WorkerHooks, WorkerOptions } from "./types.js";

const require = createRequire(import.meta.url);
const VERSION = (require("bullmq/package.json") as { version: string }).version;
const QUEUE = "bench";
const SHORT = { lockDuration: 2000, stalledInterval: 1000 };

type RedisCtor = new (url: string, options: Record<string, unknown>) => {
  quit(): Promise<unknown>;
  scan(cursor: string, ...args: Array<string | number>): Promise<[string, string[]]>;
  del(...keys: string[]): Promise<number>;
};

/** ioredis, if installed (resolved through the package name held in a variable so tsc does not need it). */
async function loadRedis(): Promise<RedisCtor | null> {
  const name = "ioredis";
  try {
    const mod = (await import(name)) as { default?: RedisCtor; Redis?: RedisCtor };
    return mod.Redis ?? mod.default ?? null;
  } catch {
    return null;
  }
}

async function connection(): Promise<ConnectionOptions> {
  const Redis = await loadRedis();
  if (!Redis) throw new Error("ioredis is not installed");
  // BullMQ workers need maxRetriesPerRequest null on their blocking connection.
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null }) as unknown as ConnectionOptions;
}

export const bullmq: Adapter = {
  id: "bullmq",
  label: "BullMQ (Redis)",
  version: `bullmq ${VERSION}`,
  backend: "redis",
  settings: "defaults (lockDuration 30 s, stalledInterval 30 s, blocking fetch from Redis); only concurrency set",
  failover: {
    defaultSettings: "lockDuration 30000, stalledInterval 30000 (defaults)",
    shortSettings: `lockDuration ${SHORT.lockDuration}, stalledInterval ${SHORT.stalledInterval}`,
  },
  progressNote: "job.updateProgress(i * 10): one Redis round trip per call",
  async unavailable() {
    return (await loadRedis()) ? null : "not run: BullMQ 6 needs a Redis driver (its optional peer dependency ioredis or redis), and neither is installed in this project";
  },
  async prepare(tag) {
    const prefix = `bench-${process.pid}-${tag}`;
    return { system: "bullmq", location: prefix, name: prefix };
  },
  async dispose(target) {
    const Redis = await loadRedis();
    if (!Redis) return;
    // Only this run's keys: SCAN by prefix (never FLUSHALL: the server is shared).
    const redis = new Redis(REDIS_URL, {});
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${target.name}:*`, "COUNT", 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    await redis.quit();
  },
  async openProducer(target): Promise<Producer> {
    const queue = new Queue(QUEUE, { connection: await connection(), prefix: target.location });
    return {
      async add(kind, payload) {
        await queue.add(kind, payload);
      },
      async addBatch(kind, payloads) {
        await queue.addBulk(payloads.map((data) => ({ name: kind, data })));
      },
      async bulkFill(kind, n) {
        // Set-up only: four addBulk calls of 5,000 in flight keep Redis busy (one call at a time
        // leaves it waiting on the client between chunks).
        const chunks: number[] = [];
        for (let from = 0; from < n; from += 5000) chunks.push(from);
        const lane = async () => {
          for (let from = chunks.shift(); from !== undefined; from = chunks.shift()) {
            await queue.addBulk(Array.from({ length: Math.min(5000, n - from) }, (_, i) => ({ name: kind, data: { seq: from + i + 1 } })));
          }
        };
        await Promise.all([lane(), lane(), lane(), lane()]);
      },
      async doneCount() {
        return queue.getCompletedCount();
      },
      async close() {
        await queue.close();
      },
    };
  },
  async prepareWorker(target: Target, options: WorkerOptions, hooks: WorkerHooks): Promise<PreparedWorker> {
    const worker = new Worker(
      QUEUE,
      async (job: Job<Payload>) => {
        await runHandler(job.name as WorkerOptions["kind"], job.data, hooks, (i, of) => job.updateProgress(Math.round((100 * i) / of)));
      },
      {
        connection: await connection(),
        prefix: target.location,
        concurrency: options.concurrency,
        autorun: false,
        ...(options.short ? SHORT : {}),
      },
    );
    worker.on("error", () => undefined);
    await worker.waitUntilReady();
    return {
      async start() {
        void worker.run();
      },
      async stop() {
        await worker.close(true);
      },
    };
  },
};
