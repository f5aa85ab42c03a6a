/**
 * Store conformance for `sqlRun`, the statement runner behind the built-in `sql` task type.
 * Same target shape as `conformance.ts`, so every backend runs the same cases.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import { newTask, type ConformanceTarget } from "./conformance.js";

const noLimits = { maxQueued: new Map<string, number>() };

export function runSqlConformance(target: ConformanceTarget): void {
  describe(`Store conformance (sqlRun): ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await target.open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("runs a query against Tasklane's own tables (unqualified names), with bound parameters", async () => {
      await store.taskInsertMany([newTask({ id: "q1" }), newTask({ id: "q2" }), newTask({ id: "q3", type: "other" })], noLimits);
      const all = await store.sqlRun("SELECT count(*) AS n FROM tasks", [], { rowLimit: 10 });
      expect(all).toEqual({ rowCount: 1, rows: [{ n: 3 }], truncated: false });
      const some = await store.sqlRun("SELECT id FROM tasks WHERE type = $1 ORDER BY id", ["t"], { rowLimit: 10 });
      expect(some).toEqual({ rowCount: 2, rows: [{ id: "q1" }, { id: "q2" }], truncated: false });
    });

    it("caps a query at rowLimit and says it was truncated", async () => {
      await store.sqlRun("CREATE TABLE sql_nums (n INTEGER NOT NULL)", [], { rowLimit: 10 });
      await store.sqlRun("INSERT INTO sql_nums (n) VALUES (1), (2), (3), (4), (5)", [], { rowLimit: 10 });
      const capped = await store.sqlRun("SELECT n FROM sql_nums ORDER BY n", [], { rowLimit: 3 });
      expect(capped).toEqual({ rowCount: 3, rows: [{ n: 1 }, { n: 2 }, { n: 3 }], truncated: true });
      const exact = await store.sqlRun("SELECT n FROM sql_nums ORDER BY n", [], { rowLimit: 5 });
      expect(exact.truncated).toBe(false);
      expect(exact.rows).toHaveLength(5);
    });

    it("returns the affected row count of a write, and RETURNING rows capped at rowLimit", async () => {
      await store.sqlRun("CREATE TABLE sql_items (id INTEGER PRIMARY KEY, label TEXT)", [], { rowLimit: 10 });
      const inserted = await store.sqlRun("INSERT INTO sql_items (id, label) VALUES ($1, $2), ($3, $4), ($5, $6)", [1, "a", 2, "b", 3, "c"], {
        rowLimit: 10,
      });
      expect(inserted).toEqual({ rowCount: 3, rows: [], truncated: false });
      const updated = await store.sqlRun("UPDATE sql_items SET label = $1 WHERE id >= $2", ["z", 2], { rowLimit: 10 });
      expect(updated).toEqual({ rowCount: 2, rows: [], truncated: false });
      const returning = await store.sqlRun("DELETE FROM sql_items WHERE id >= $1 RETURNING id", [1], { rowLimit: 2 });
      expect(returning.rowCount).toBe(3);
      expect(returning.rows).toHaveLength(2);
      expect(returning.truncated).toBe(true);
      expect((await store.sqlRun("SELECT count(*) AS n FROM sql_items", [], { rowLimit: 1 })).rows).toEqual([{ n: 0 }]);
    });

    it("rejects bad SQL with the database's message and stores nothing", async () => {
      await store.sqlRun("CREATE TABLE sql_once (id INTEGER PRIMARY KEY)", [], { rowLimit: 10 });
      await expect(store.sqlRun("SELEC 1", [], { rowLimit: 10 })).rejects.toThrow(/syntax/i);
      await expect(store.sqlRun("SELECT * FROM no_such_table", [], { rowLimit: 10 })).rejects.toThrow(/no_such_table/);
      // Fails on the second row: the first row of the same statement must be rolled back too.
      await expect(store.sqlRun("INSERT INTO sql_once (id) VALUES (1), (1)", [], { rowLimit: 10 })).rejects.toThrow(/unique|duplicate/i);
      expect((await store.sqlRun("SELECT count(*) AS n FROM sql_once", [], { rowLimit: 1 })).rows).toEqual([{ n: 0 }]);
    });

    it("runs exactly one statement: a second one is refused, not run", async () => {
      await store.sqlRun("CREATE TABLE sql_one (id INTEGER)", [], { rowLimit: 10 });
      await expect(store.sqlRun("INSERT INTO sql_one (id) VALUES (1); INSERT INTO sql_one (id) VALUES (2)", [], { rowLimit: 10 })).rejects.toThrow();
      expect((await store.sqlRun("SELECT count(*) AS n FROM sql_one", [], { rowLimit: 1 })).rows).toEqual([{ n: 0 }]);
    });

    it("refuses transaction control, so the statement always runs inside the store's transaction", async () => {
      for (const statement of ["COMMIT", "  rollback", "BEGIN", "-- note\nSAVEPOINT x", "/* c */ END"]) {
        await expect(store.sqlRun(statement, [], { rowLimit: 1 }), statement).rejects.toThrow(/transaction control/);
      }
    });

    it("binds parameters as data: an injection-looking string is stored verbatim", async () => {
      await store.sqlRun("CREATE TABLE sql_notes (body TEXT)", [], { rowLimit: 10 });
      const evil = "x'); DROP TABLE tasks; --";
      expect((await store.sqlRun("INSERT INTO sql_notes (body) VALUES ($1)", [evil], { rowLimit: 10 })).rowCount).toBe(1);
      expect((await store.sqlRun("SELECT body FROM sql_notes", [], { rowLimit: 10 })).rows).toEqual([{ body: evil }]);
      expect((await store.sqlRun("SELECT count(*) AS n FROM tasks", [], { rowLimit: 1 })).rows).toEqual([{ n: 0 }]);
      // null, numbers and booleans bind too (SQLite stores booleans as 1/0).
      await store.sqlRun("CREATE TABLE sql_typed (a TEXT, b INTEGER, c BOOLEAN)", [], { rowLimit: 1 });
      await store.sqlRun("INSERT INTO sql_typed (a, b, c) VALUES ($1, $2, $3)", [null, 7, true], { rowLimit: 1 });
      const typed = (await store.sqlRun("SELECT a, b, c FROM sql_typed", [], { rowLimit: 1 })).rows[0]!;
      expect(typed.a).toBeNull();
      expect(typed.b).toBe(7);
      expect(Boolean(typed.c)).toBe(true);
      expect((await store.sqlRun("SELECT count(*) AS n FROM sql_notes WHERE $1", [true], { rowLimit: 1 })).rows).toEqual([{ n: 1 }]);
    });
  });
}
