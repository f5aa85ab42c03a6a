import { describe, expect, it } from "vitest";
import { defineTask, SqlTasksDisabledError, Tasklane, ValidationError } from "../../src/index.js";
import { BACKENDS, useLanes, waitFor, waitForStatus } from "../helpers/lane.js";

// In isolation "none" only: the built-in sql type always runs on the node's loop (its definition
// says isolation "none"), whatever the node's default.
for (const backend of BACKENDS) {
  describe(`sql task type on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("is refused when not enabled, with a stable code and how to enable it; nothing is stored", async () => {
      const lane = await useLane().open();
      const err = await lane.add("sql", { sql: "SELECT 1" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SqlTasksDisabledError);
      expect((err as SqlTasksDisabledError).code).toBe("SQL_TASKS_DISABLED");
      expect((err as Error).message).toMatch(/"sql" task type is disabled.*sqlTasks: true.*TASKLANE_SQL_TASKS=1.*--sql-tasks/);
      await expect(lane.addMany([{ type: "sql", params: { sql: "SELECT 1" } }])).rejects.toBeInstanceOf(SqlTasksDisabledError);
      expect(lane.types().map((t) => t.name)).not.toContain("sql");
      expect((await lane.list()).tasks).toEqual([]);
    });

    it("runs a query when enabled: the result has rowCount and rows", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await lane.start();
      const task = await lane.add("sql", { sql: "SELECT count(*) AS n FROM tasks" });
      expect(task.params).toEqual({ sql: "SELECT count(*) AS n FROM tasks", params: [], rowLimit: 1000 });
      const done = await waitForStatus(lane, task.id, ["succeeded", "failed"]);
      expect(done.status).toBe("succeeded");
      // The sql task itself is a row of `tasks` while it runs.
      expect(done.result).toEqual({ rowCount: 1, rows: [{ n: 1 }], truncated: false });
    });

    it("runs writes with bound parameters: CREATE, INSERT and UPDATE report their affected rows", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await lane.start();
      const run = async (sql: string, params: unknown[] = [], rowLimit?: number) => {
        const t = await lane.add("sql", rowLimit === undefined ? { sql, params } : { sql, params, rowLimit });
        const done = await waitForStatus(lane, t.id, ["succeeded", "failed"]);
        expect(done.status, `${sql}: ${done.error?.message}`).toBe("succeeded");
        return done.result as { rowCount: number; rows: Record<string, unknown>[]; truncated: boolean };
      };
      await run("CREATE TABLE report_marks (id INTEGER PRIMARY KEY, label TEXT NOT NULL)");
      expect((await run("INSERT INTO report_marks (id, label) VALUES ($1, $2), ($3, $4), ($5, $6)", [1, "a", 2, "b", 3, "c"])).rowCount).toBe(3);
      expect(await run("UPDATE report_marks SET label = $1 WHERE id > $2", ["x'); DROP TABLE tasks; --", 1])).toEqual({
        rowCount: 2,
        rows: [],
        truncated: false,
      });
      expect(await run("SELECT id, label FROM report_marks ORDER BY id", [], 2)).toEqual({
        rowCount: 2,
        rows: [
          { id: 1, label: "a" },
          { id: 2, label: "x'); DROP TABLE tasks; --" },
        ],
        truncated: true,
      });
    });

    it("ends the task failed with the database's error message when the statement fails, and rolls it back", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await lane.start();
      const bad = await lane.add("sql", { sql: "SELECT * FROM no_such_table" });
      const failed = await waitForStatus(lane, bad.id, ["succeeded", "failed"]);
      expect(failed.status).toBe("failed");
      expect(failed.attempt).toBe(1); // one attempt by default: wrong SQL stays wrong
      expect(failed.error?.message).toMatch(/no_such_table/);

      const setup = await lane.add("sql", { sql: "CREATE TABLE once_only (id INTEGER PRIMARY KEY)" });
      expect((await waitForStatus(lane, setup.id, ["succeeded", "failed"])).status).toBe("succeeded");
      const dup = await lane.add("sql", { sql: "INSERT INTO once_only (id) VALUES (1), (1)" });
      const dupDone = await waitForStatus(lane, dup.id, ["succeeded", "failed"]);
      expect(dupDone.status).toBe("failed");
      expect(dupDone.error?.message).toMatch(/unique|duplicate/i);
      const count = await lane.add("sql", { sql: "SELECT count(*) AS n FROM once_only" });
      expect((await waitForStatus(lane, count.id, ["succeeded"])).result).toMatchObject({ rows: [{ n: 0 }] });
    });

    // SQLite runs the statement on the calling thread and cannot be interrupted from it.
    it.runIf(backend === "postgres")("bounds the statement on the server by the task's timeout (statement_timeout)", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await lane.start();
      const slow = await lane.add("sql", { sql: "SELECT pg_sleep(30) AS slept" }, { timeout: "300ms" });
      const done = await waitForStatus(lane, slow.id, ["succeeded", "failed"]);
      expect(done.status).toBe("failed");
      // Gone from the server long before the 30 s it asked for (the run's own timeout may end the task a moment first).
      await waitFor(async () => {
        const check = await lane.store.sqlRun(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(30) AS slept'",
          [],
          { rowLimit: 1 },
        );
        return check.rows[0]!.n === 0;
      }, "the slow statement to be cancelled on the server", 10_000);
    });

    it.runIf(backend === "postgres")("cancel stops a running statement on the server (pg_cancel_backend)", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await lane.start();
      const slow = await lane.add("sql", { sql: "SELECT pg_sleep(31) AS slept" });
      const active = () =>
        lane.store.sqlRun("SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(31) AS slept'", [], {
          rowLimit: 1,
        });
      await waitFor(async () => (await active()).rows[0]!.n === 1, "the statement to run on the server");
      await lane.cancel(slow.id);
      expect((await waitForStatus(lane, slow.id, ["cancelled", "failed", "succeeded"])).status).toBe("cancelled");
      await waitFor(async () => (await active()).rows[0]!.n === 0, "the statement to be cancelled on the server", 10_000);
    });

    it("refuses bad params naming the field, before anything is stored", async () => {
      const lane = await useLane().open({ sqlTasks: true });
      await expect(lane.add("sql", {})).rejects.toThrow(/params of "sql" are invalid: sql: /);
      await expect(lane.add("sql", { sql: "   " })).rejects.toThrow(/sql: must not be blank/);
      await expect(lane.add("sql", { sql: "SELECT 1", rowLimit: 0 })).rejects.toThrow(/params of "sql" are invalid: rowLimit: /);
      await expect(lane.add("sql", { sql: "SELECT 1", rowLimit: 10_001 })).rejects.toThrow(/rowLimit/);
      await expect(lane.add("sql", { sql: "x".repeat(100_001) })).rejects.toThrow(/sql: /);
      await expect(lane.add("sql", { sql: "SELECT $1", params: [{ a: 1 }] })).rejects.toThrow(/params\.0/);
      await expect(lane.add("sql", { sql: "SELECT 1", extra: true })).rejects.toBeInstanceOf(ValidationError);
      expect((await lane.list()).tasks).toEqual([]);
    });

    it("refuses a user task type named sql while the built-in one is enabled (and allows it when disabled)", async () => {
      const mine = defineTask({ name: "sql", run: () => "mine" });
      const lane = await useLane().open({ sqlTasks: true });
      expect(() => lane.register(mine)).toThrow(/"sql": this name belongs to the built-in sql task type/);
      await expect(useLane().open({ sqlTasks: true, tasks: [mine] })).rejects.toBeInstanceOf(ValidationError);
      const off = await useLane().open({ tasks: [mine] });
      expect((await off.add("sql", {})).type).toBe("sql");
    });
  });
}

describe("sql task type and the library's Tasklane.open", () => {
  it("is enabled per instance: a lane sharing a store without the switch still refuses it", async () => {
    const on = await Tasklane.open({ db: "sqlite::memory:", sqlTasks: true });
    try {
      const off = await Tasklane.open({ store: on.store });
      await expect(off.add("sql", { sql: "SELECT 1" })).rejects.toBeInstanceOf(SqlTasksDisabledError);
      expect(on.sqlTasksEnabled).toBe(true);
      expect(off.sqlTasksEnabled).toBe(false);
    } finally {
      await on.close();
    }
  });
});
