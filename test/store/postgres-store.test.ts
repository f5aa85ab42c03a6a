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
