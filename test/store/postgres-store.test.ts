import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { NewTask } from "../../src/store/store.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { waitFor } from "../helpers/lane.js";
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
      await admin.query(`ANALYZE "${schema}".tasks`);
      // Then a backlog the statistics do not know of.
      await store.taskInsertMany(tasks(3000, "a"), { maxQueued: new Map() });
      const { claimStatement } = await import("../../src/store/postgres/postgres-claim.js");
      const policies = [
        { policy: { order: "priority", agingMs: null }, ninth: [] },
        { policy: { order: "priority", agingMs: 60_000 }, ninth: [60_000] },
        { policy: { order: "fifo", agingMs: null }, ninth: [] },
        { policy: { order: "fair", agingMs: null }, ninth: [""] },
      ] as const;
      for (const { policy, ninth } of policies) {
        const sql = claimStatement(`"${schema}"`, policy);
        const { rows } = await admin.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, [["a"], [1e9], "n", 10, 10, 100, 100, 30_000, ...ninth]);
        // Rows each scan of tasks returned (live rows: dead versions it stepped over, which other
        // test files' snapshots may keep, do not count). The fair policy's skip-scan step is a
        // function that may not sort (migration 6), so its own plan is bounded too.
        const read: Array<{ index: string; rows: number }> = [];
        const walk = (node: Record<string, unknown>) => {
          if (node["Relation Name"] === "tasks" && String(node["Node Type"]).includes("Scan")) {
            read.push({ index: String(node["Index Name"]), rows: Number(node["Actual Rows"]) * Number(node["Actual Loops"]) });
          }
          for (const child of (node["Plans"] as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
        };
        walk(rows[0]["QUERY PLAN"][0].Plan);
        expect(read.length).toBeGreaterThan(0);
        // 10 from the queue, then the 10 taken looked up by id (before: all 3,000 queued, then a sort).
        for (const r of read) expect(r.rows, `${JSON.stringify(policy)}: ${JSON.stringify(read)}`).toBeLessThanOrEqual(10);
      }
    } finally {
      await admin.end();
      await store.close();
    }
  });
});

describe("PostgreSQL run-statement plans", () => {
  // Found in the held-transaction scenario: with statistics that saw no running task, the finish
  // read every running row version through tasks_running (dead ones included, which a held
  // transaction keeps) or hashed a seq scan of tasks, so its cost grew with every run since the
  // hold began (3.8 -> 408 ms per finish of 50 at 60,000 runs). Renewals and progress writes had
  // the same shape. Each must probe the rows it names, whatever the statistics say.
  const statistics = {
    "taken after a drain": async (fill: (n: number) => Promise<void>, analyze: () => Promise<unknown>) => {
      await fill(3000);
      await analyze();
    },
    "taken of an empty table": async (_fill: (n: number) => Promise<void>, analyze: () => Promise<unknown>) => {
      await analyze();
    },
  };
  for (const [name, prepare] of Object.entries(statistics)) {
    it(`probe the rows they name, with statistics ${name}`, async () => {
      const schema = schemas.next();
      const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 2 });
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        let n = 0;
        const tasks = (k: number): NewTask[] =>
          Array.from({ length: k }, () => ({
            id: `t${String(n++).padStart(6, "0")}`, type: "a", name: null, description: null, params: {}, priority: 0, runAt: null,
            maxAttempts: 3, maxRuns: 10, backoff: { type: "fixed", delayMs: 10, maxMs: 10, jitter: 0 }, timeoutMs: null, cpu: 0,
            executor: null, deadline: null, deleteAfterMs: 60_000, key: null, owner: null, group: null, followUps: null,
          }));
        const claim = (limit: number) =>
          store.taskClaim({ node: "n", types: [{ type: "a", slots: Infinity }], limit, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
        const fill = async (k: number) => {
          await store.taskInsertMany(tasks(k), { maxQueued: new Map() });
          for (let claimed = await claim(500); claimed.length > 0; claimed = await claim(500)) {
            await store.taskFinishMany(claimed.map((t) => ({ taskId: t.id, runNo: t.runCount, outcome: "succeeded" as const, next: "succeeded" as const })));
          }
        };
        await prepare(fill, () => admin.query(`ANALYZE "${schema}".tasks`));
        // Then 2,000 running tasks the statistics do not know of.
        await store.taskInsertMany(tasks(2500), { maxQueued: new Map() });
        const running = [...(await claim(1000)), ...(await claim(1000))];
        expect(running).toHaveLength(2000);
        const ten = running.slice(500, 510);
        const { runStatements } = await import("../../src/store/postgres/postgres-runs.js");
        const sql = runStatements(`"${schema}"`);
        const at = new Date().toISOString();
        const cases: Array<[string, string, unknown[]]> = [
          ["finish", sql.finish, [JSON.stringify(ten.map((t) => ({ id: t.id, run_no: t.runCount, next: "succeeded", delay_ms: 0, refund: 0, outcome: "succeeded" }))), "tl_plan_test", "x"]],
          ["renew", sql.renew, [ten.map((t) => t.id), ten.map((t) => t.runCount), 30_000]],
          ["progress", sql.progress, [JSON.stringify(ten.map((t) => ({ id: t.id, run_no: t.runCount, current: 1, total: 2, message: null, rate: null, at })))]],
          ["log lines", sql.eventInsert, [JSON.stringify(ten.map((t) => ({ task_id: t.id, run_no: t.runCount, seq: 1, at, level: "info", message: "m", data: null })))]],
        ];
        for (const [statement, text, params] of cases) {
          await admin.query("BEGIN");
          const { rows } = await admin.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
          await admin.query("ROLLBACK");
          const read: Array<{ node: string; index: string; rows: number; removed: number }> = [];
          const walk = (node: Record<string, unknown>) => {
            if (node["Relation Name"] === "tasks" && String(node["Node Type"]).includes("Scan")) {
              const loops = Number(node["Actual Loops"]);
              read.push({
                node: String(node["Node Type"]),
                index: String(node["Index Name"]),
                rows: Number(node["Actual Rows"]) * loops,
                removed: Number(node["Rows Removed by Filter"] ?? 0) * loops,
              });
            }
            for (const child of (node["Plans"] as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
          };
          walk(rows[0]["QUERY PLAN"][0].Plan);
          expect(read.length, statement).toBeGreaterThan(0);
          for (const r of read) {
            const seen = `${statement}: ${JSON.stringify(read)}`;
            expect(r.node, seen).not.toBe("Seq Scan");
            expect(r.rows + r.removed, seen).toBeLessThanOrEqual(10);
          }
        }
      } finally {
        await admin.end();
        await store.close();
      }
    });
  }
});

describe("PostgreSQL run writes racing another session's write of the same row", () => {
  // A renewal or finish that waits for another session's update of its row, committed after the
  // statement began, must still apply to the row as that session left it. An update by the ctid
  // its lock returned did not (the new version is invisible to the statement's snapshot): the
  // renewal silently renewed nothing, and in the cluster drain test 76 of 10,000 tasks ran twice.
  for (const write of ["renewal", "finish"] as const) {
    it(`applies a ${write} that waited for the row`, async () => {
      const schema = schemas.next();
      const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 2 });
      const other = new pg.Client({ connectionString: TEST_PG_URL });
      await other.connect();
      try {
        await store.taskInsertMany(
          [{
            id: "race", type: "t", name: null, description: null, params: {}, priority: 0, runAt: null, maxAttempts: 3, maxRuns: 10,
            backoff: { type: "fixed", delayMs: 10, maxMs: 10, jitter: 0 }, timeoutMs: null, cpu: 0, executor: null, deadline: null,
            deleteAfterMs: 60_000, key: null, owner: null, group: null, followUps: null,
          }],
          { maxQueued: new Map() },
        );
        const [task] = await store.taskClaim({ node: "n", types: [{ type: "t", slots: Infinity }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
        await other.query("BEGIN");
        await other.query(`UPDATE "${schema}".tasks SET progress_current = 1 WHERE id = 'race'`);
        const pending =
          write === "renewal"
            ? store.leaseRenewMany([{ taskId: "race", runNo: task!.runCount }], 600_000)
            : store.taskFinishMany([{ taskId: "race", runNo: task!.runCount, outcome: "succeeded", next: "succeeded", result: 1 }]);
        await waitFor(async () => {
          const { rows } = await other.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%locked%' AND datname = current_database()",
          );
          return rows.length > 0;
        }, `the ${write} waiting for the row`);
        await other.query("COMMIT");
        const applied = await pending;
        expect(applied).toHaveLength(1);
        const { rows } = await other.query(`SELECT status, progress_current, lease_expires_at > now() + interval '500 seconds' AS renewed FROM "${schema}".tasks`);
        if (write === "renewal") expect(rows[0]).toMatchObject({ status: "running", progress_current: 1, renewed: true });
        else expect(rows[0]).toMatchObject({ status: "succeeded" });
      } finally {
        await other.end();
        await store.close();
      }
    });
  }
});

describe("PostgreSQL row versions", () => {
  // Whether a given update is HOT also depends on room on its page and on other sessions'
  // snapshots (a test run's other files), so this checks what makes it possible: no index of
  // tasks covers a column that a renewal or a progress write changes, and pages keep room.
  it("indexes no column that lease renewals or progress writes change, and leaves room on each page", async () => {
    const schema = schemas.next();
    const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 1 });
    await store.close();
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    try {
      // Columns in index keys, expressions and predicates (pg_get_indexdef spells all three).
      const { rows } = await admin.query(
        `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = 'tasks'`,
        [schema],
      );
      expect(rows.length).toBeGreaterThan(5);
      for (const column of ["lease_expires_at", "progress_current", "progress_total", "progress_message", "progress_rate", "progress_at"]) {
        for (const r of rows) expect(r.def, `${r.name} covers ${column}`).not.toMatch(new RegExp(`\\b${column}\\b`));
      }
      const { rows: opts } = await admin.query(
        `SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'tasks'`,
        [schema],
      );
      expect(opts[0].reloptions).toContain("fillfactor=80");
    } finally {
      await admin.end();
    }
  });
});
