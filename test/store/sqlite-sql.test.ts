import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../helpers/temp.js";
import { runSqlConformance } from "./conformance-sql.js";

const tmp = tempDir("tasklane-store-sql-");
afterAll(() => tmp.cleanup());
let n = 0;

runSqlConformance({
  name: "SQLite file (WAL)",
  open: async () => new SqliteStore({ path: path.join(tmp.dir, `q${++n}.db`) }),
});

runSqlConformance({
  name: "SQLite :memory:",
  open: async () => new SqliteStore({ path: ":memory:" }),
});

describe("sqlRun on SQLite: placeholders", () => {
  it("binds ? by position as well as $1, $2 by number, and says so when neither fits", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    try {
      expect((await store.sqlRun("SELECT ? AS a, ? AS b", ["x", 2], { rowLimit: 1 })).rows).toEqual([{ a: "x", b: 2 }]);
      expect((await store.sqlRun("SELECT $2 AS b, $1 AS a", ["x", 2], { rowLimit: 1 })).rows).toEqual([{ b: 2, a: "x" }]);
      await expect(store.sqlRun("SELECT ? AS a", [1, 2], { rowLimit: 1 })).rejects.toThrow(/cannot bind 2 parameter\(s\)/);
    } finally {
      await store.close();
    }
  });
});
