/**
 * Small helpers shared by the peer benchmark's parent, adapters and worker processes.
 * No measurement logic lives here: see scenarios/ for what is measured and how.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export { parseArgs, percentile, sleep } from "../bench-kit.js";

export const round = (n: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** The server every PostgreSQL-backed system uses; databases are created and dropped on it. */
export const PG_SERVER = process.env.BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.BENCH_REDIS ?? "redis://127.0.0.1:6379";

export function pgUrlFor(database: string): string {
  const url = new URL(PG_SERVER);
  url.pathname = "/" + database;
  return url.toString();
}

export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database for one system in one scenario (never shared with another run). */
export async function createDatabase(name: string): Promise<string> {
  await withPg(PG_SERVER, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  return pgUrlFor(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await withPg(PG_SERVER, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * Counts SQL statements sent by this process (every `pg` client, pools included: graphile-worker,
 * pg-boss and Tasklane all use the one `pg` installed here). Round trips per task is the figure
 * that explains most differences between PostgreSQL-backed queues.
 */
export const sqlCounter = { statements: 0 };
export function countPgStatements(): void {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown; __benchCounted?: boolean };
  if (proto.__benchCounted) return;
  proto.__benchCounted = true;
  const original = proto.query;
  proto.query = function (this: unknown, ...a: unknown[]) {
    sqlCounter.statements += 1;
    return original.apply(this, a);
  };
}
