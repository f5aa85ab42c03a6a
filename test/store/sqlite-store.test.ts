import path from "node:path";
import { afterAll } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../helpers/temp.js";
import { runStoreConformance } from "./conformance.js";
import { runDispatchConformance } from "./conformance-dispatch.js";

const tmp = tempDir("tasklane-store-");
afterAll(() => tmp.cleanup());
let n = 0;

runStoreConformance({
  name: "SQLite file (WAL)",
  open: async () => new SqliteStore({ path: path.join(tmp.dir, `s${++n}.db`) }),
});

runStoreConformance({
  name: "SQLite :memory:",
  open: async () => new SqliteStore({ path: ":memory:" }),
});

runDispatchConformance({
  name: "SQLite file (WAL)",
  open: async () => new SqliteStore({ path: path.join(tmp.dir, `d${++n}.db`) }),
});

runDispatchConformance({
  name: "SQLite :memory:",
  open: async () => new SqliteStore({ path: ":memory:" }),
});
