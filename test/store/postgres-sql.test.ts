import { afterAll } from "vitest";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { runSqlConformance } from "./conformance-sql.js";

const schemas = schemaFactory("tl_sql");
afterAll(() => schemas.dropAll());

runSqlConformance({
  name: "PostgreSQL",
  open: async () => PostgresStore.open({ url: TEST_PG_URL, schema: schemas.next(), poolSize: 4 }),
});
