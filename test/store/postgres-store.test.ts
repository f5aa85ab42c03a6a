import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { NewTask } from "../../src/store/store.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { runStoreConformance } from "./conformance.js";
import { runDispatchConformance } from "./conformance-dispatch.js";

const schemas = schemaFactory("tl_conf");
afterAll(() => schemas.dropAll());

runStoreConformance({
  name: "PostgreSQL",
  open: async () => PostgresStore.open({ url: TEST_PG_URL, schema: schemas.next(), poolSize: 4 }),
});

runDispatchConformance({
  name: "PostgreSQL",
  open: async () => PostgresStore.open({ url: TEST_PG_URL, schema: schemas.next(), poolSize: 4 }),
});

describe("PostgreSQL prepared statements", () => {
  it("keep working when another node changes the schema under them (a rolling upgrade)", async () => {
    const schema = schemas.next();
    const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 1 });
    try {
      const task = (id: string): NewTask => ({
        id, type: "t", name: null, description: null, params: {}, priority: 0, runAt: null, maxAttempts: 3, maxRuns: 10,
        backoff: { type: "fixed", delayMs: 10, maxMs: 10, jitter: 0 }, timeoutMs: null, cpu: 0, executor: null, deadline: null,
        deleteAfterMs: 60_000, key: null, owner: null, group: null, followUps: null,
      });
      const claim = () => store.taskClaim({ node: "n", types: [{ type: "t", slots: Infinity }], limit: 10, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
      await store.taskInsertMany([task("a")], { maxQueued: new Map() });
      expect((await claim()).map((t) => t.id)).toEqual(["a"]);
      // A later migration adds a column: the prepared `RETURNING t.*` now has another row type.
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      await admin.query(`ALTER TABLE "${schema}".tasks ADD COLUMN later_feature text`);
      await admin.end();
      await store.taskInsertMany([task("b")], { maxQueued: new Map() });
      expect((await claim()).map((t) => t.id)).toEqual(["b"]);
    } finally {
      await store.close();
    }
  });
});

describe("PostgreSQL claim plan", () => {
  it("reads at most the batch, even when statistics were taken with nothing queued", async () => {
    const schema = schemas.next();
    const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 2 });
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    try {
      let n = 0;
      const tasks = (k: number, type: string): NewTask[] =>
        Array.from({ length: k }, () => ({
          id: `t${n++}`, type, name: null, description: null, params: {}, priority: 0, runAt: null, maxAttempts: 3, maxRuns: 10,
          backoff: { type: "fixed", delayMs: 10, maxMs: 10, jitter: 0 }, timeoutMs: null, cpu: 0, executor: null, deadline: null,
          deleteAfterMs: 60_000, key: null, owner: null, group: null, followUps: null,
        }));
      const types = [{ type: "a", slots: Infinity }];
      // A drained queue, then statistics that say so (as after a burst of work).
      await store.taskInsertMany(tasks(1000, "a"), { maxQueued: new Map() });
      for (;;) {
        const claimed = await store.taskClaim({ node: "n", types, limit: 200, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
        if (claimed.length === 0) break;
        await store.taskFinishMany(claimed.map((t) => ({ taskId: t.id, runNo: t.runCount, outcome: "succeeded" as const, next: "succeeded" as const })));
      }
      // VACUUM: the drained tasks' dead index entries would be read once by the next walk of each
      // index and count below; this measures the plan, not them.
      await admin.query(`VACUUM ANALYZE "${schema}".tasks`);
      // Then a backlog the statistics do not know of.
      await store.taskInsertMany(tasks(3000, "a"), { maxQueued: new Map() });
      const { claimStatement } = await import("../../src/store/postgres/postgres-claim.js");
      const policies = [
        { policy: { order: "priority", agingMs: null }, ninth: [] },
        { policy: { order: "priority", agingMs: 60_000 }, ninth: [60_000] },
        { policy: { order: "fifo", agingMs: null }, ninth: [] },
        { policy: { order: "fair", agingMs: null }, ninth: [""] },
      ] as const;
      // Rows read through any index of tasks or by scanning it, as this session's statistics
      // count them (functions called by the claim included).
      await admin.query("SET stats_fetch_consistency = none");
      const rowsRead = async () => {
        await admin.query("SELECT pg_stat_force_next_flush()");
        const { rows } = await admin.query(
          `SELECT coalesce(sum(idx_tup_read), 0) + (SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'tasks') AS n
           FROM pg_stat_user_indexes WHERE schemaname = $1 AND relname = 'tasks'`,
          [schema],
        );
        return Number(rows[0].n);
      };
      for (const { policy, ninth } of policies) {
        const sql = claimStatement(`"${schema}"`, policy);
        const before = await rowsRead();
        const { rows } = await admin.query(sql, [["a"], [1e9], "n", 10, 10, 100, 100, 30_000, ...ninth]);
        const read = (await rowsRead()) - before;
        expect(rows).toHaveLength(10);
        // A few dozen: 10 from the queue, the 10 taken looked up by id, steps of a skip scan, and
        // entries of the rows re-queued by the previous round (before: every one of the 3,000
        // queued tasks read, then sorted, on every claim).
        expect(read, JSON.stringify(policy)).toBeLessThanOrEqual(60);
        await admin.query(`UPDATE "${schema}".tasks SET status = 'queued', run_count = 0, attempt = 0 WHERE status = 'running'`);
        await admin.query(`VACUUM "${schema}".tasks`);
      }
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
