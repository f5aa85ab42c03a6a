import path from "node:path";
import { afterAll } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../helpers/temp.js";
import { runUsersConformance } from "./conformance-users.js";

const tmp = tempDir("tasklane-store-users-");
afterAll(() => tmp.cleanup());
let n = 0;

runUsersConformance({
  name: "SQLite file (WAL)",
  open: async () => new SqliteStore({ path: path.join(tmp.dir, `u${++n}.db`) }),
});
