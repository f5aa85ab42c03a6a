import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { defineTask, Tasklane } from "../../src/index.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { waitFor, waitForStatus } from "../helpers/lane.js";

/**
 * Through PgBouncer in transaction mode (scripts/services.sh starts one on 127.0.0.1:6432 in front
 * of the test PostgreSQL): each transaction may run on another server connection, so nothing may
 * rely on session state (startup options, prepared statements, session advisory locks, LISTEN).
 */
const PGBOUNCER_URL = process.env.TASKLANE_TEST_PGBOUNCER ?? "postgres://postgres@127.0.0.1:6432/postgres";
const schemas = schemaFactory("tl_bouncer");
afterAll(() => schemas.dropAll());

function bouncerDb(schema: string, params: Record<string, string>): string {
  const url = new URL(PGBOUNCER_URL);
  url.searchParams.set("schema", schema);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

const tasks = () => [defineTask<{ n: number }>({ name: "count", async run(ctx) { return ctx.params.n; } })];

describe("PostgreSQL behind PgBouncer in transaction mode", () => {
  it("without pooler=transaction, the pooler's refusal names the fix", async () => {
    await expect(Tasklane.open({ db: bouncerDb(schemas.next(), {}), tasks: tasks() })).rejects.toThrow(/pooler=transaction&direct_url/);
  });

  it("pooler=transaction needs a direct URL, and says so", async () => {
    await expect(Tasklane.open({ db: bouncerDb(schemas.next(), { pooler: "transaction" }), tasks: tasks() })).rejects.toThrow(
      /direct_url.*straight to PostgreSQL/,
    );
    await expect(Tasklane.open({ db: bouncerDb(schemas.next(), { pooler: "pipelined" }), tasks: tasks() })).rejects.toThrow(
      /pooler=pipelined: expected transaction/,
    );
  });

  it("migrates, wakes idle workers, drains each task once, and leaves no session lock behind", async () => {
    const schema = schemas.next();
    const db = bouncerDb(schema, { pooler: "transaction", direct_url: TEST_PG_URL });
    const worker = await Tasklane.open({ db, tasks: tasks(), node: "bouncer-worker" });
    const producer = await Tasklane.open({ db, tasks: tasks(), node: "bouncer-producer" });
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    try {
      const errors: Error[] = [];
      worker.on("error", ({ error }) => errors.push(error));
      await worker.start({ concurrency: 20, overload: false });
      // An idle worker wakes on a NOTIFY (its LISTEN is on the direct URL): well before its
      // 10 s fallback poll.
      const first = await producer.add("count", { n: 0 });
      const started = Date.now();
      await waitForStatus(worker, first.id, ["succeeded"], 5000);
      expect(Date.now() - started).toBeLessThan(5000);

      const batch = await producer.addMany(Array.from({ length: 300 }, (_, i) => ({ type: "count", params: { n: i + 1 } })));
      const singles = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.add("count", { n: 1000 + i })));
      const ids = [...batch, ...singles].map((t) => t.id);
      await waitFor(async () => {
        const counts = await producer.counts();
        return counts.find((c) => c.type === "count" && c.status === "succeeded")?.count === ids.length + 1;
      }, "every task succeeded");
      for (const id of ids.slice(0, 20)) expect(await producer.runs(id)).toHaveLength(1);
      expect(errors).toEqual([]);

      // The statistics refresh takes its lock per transaction: nothing held once it is done.
      await admin.query(`UPDATE "${schema}".tasks SET updated_at = updated_at`);
      const analyzed = await worker.store.analyzeIfStale?.();
      expect(typeof analyzed).toBe("boolean");
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND objid = (hashtext($1)::bigint & 4294967295)::oid`,
        [`tasklane:${schema}:analyze`],
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await admin.end();
      await producer.close();
      await worker.close();
    }
  });
});
