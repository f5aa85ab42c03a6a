import path from "node:path";
import { afterAll } from "vitest";
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
