/**
 * PostgreSQL's task event log across migration 5, which replaced the per-row trigger with
 * events written by each statement: a schema that logged with the trigger keeps its rows and
 * goes on logging every change exactly once.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { POSTGRES_MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { newTask } from "./conformance.js";

const schemas = schemaFactory("tl_tevents");
afterAll(() => schemas.dropAll());

const noLimits = { maxQueued: new Map<string, number>() };

/** A schema migrated up to `version` only, as an older Tasklane left it. */
async function schemaAtVersion(client: pg.Client, schema: string, version: number): Promise<void> {
  const S = `"${schema}"`;
  await client.query(`CREATE SCHEMA ${S}`);
  await client.query(
    `CREATE TABLE ${S}.tasklane_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= version)) {
    await client.query(m.sql.replaceAll("{schema}", S));
    await client.query(`INSERT INTO ${S}.tasklane_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
  }
}

describe("PostgreSQL task event log: upgrade to set-based writes (migration 5)", () => {
  it("keeps the rows the trigger wrote, drops the trigger, and logs every later change once", async () => {
    const schema = schemas.next();
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    try {
      await schemaAtVersion(client, schema, 4);
      // Added under version 4: logged by the trigger.
      await client.query(
        `INSERT INTO "${schema}".tasks (id, type, params, status, run_at, created_at, updated_at, max_attempts, max_runs, backoff, delete_after_ms, owner)
         VALUES ('old', 't', '{}', 'queued', now(), now(), now(), 3, 100, '{"type":"fixed","delayMs":10,"maxMs":1000,"jitter":0}', 86400000, 'alice')`,
      );
      const [before] = (await client.query(`SELECT at, kind, status FROM "${schema}".task_events`)).rows;
      expect(before).toMatchObject({ kind: "added", status: "queued" });

      const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 2 });
      try {
        expect((await store.migrationStatus()).find((m) => m.version === 5)?.appliedAt).toBeInstanceOf(Date);
        const triggers = await client.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`, [
          `"${schema}".tasks`,
        ]);
        expect(triggers.rows).toEqual([]);
        const fn = await client.query(`SELECT to_regproc($1) AS f`, [`"${schema}".tasklane_log_task_event`]);
        expect(fn.rows[0].f).toBeNull();

        const [claimed] = await store.taskClaim({ node: "n1", types: [{ type: "t", slots: 1 }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 30_000 });
        expect(claimed!.id).toBe("old");
        await store.taskFinishMany([{ taskId: "old", runNo: 1, outcome: "succeeded", next: "succeeded", result: 1 }]);
        await store.taskInsertMany([newTask({ id: "new", owner: "bob" })], noLimits);

        const events = await store.taskEventList({ afterId: 0, limit: 100 });
        expect(events.map((e) => [e.taskId, e.kind, e.status, e.owner])).toEqual([
          ["old", "added", "queued", "alice"],
          ["old", "started", "running", "alice"],
          ["old", "succeeded", "succeeded", "alice"],
          ["new", "added", "queued", "bob"],
        ]);
        expect(events[0]!.at.getTime()).toBe((before.at as Date).getTime());
      } finally {
        await store.close();
      }
    } finally {
      await client.end();
    }
  });
});
