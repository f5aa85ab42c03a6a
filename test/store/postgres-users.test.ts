import { afterAll } from "vitest";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { runUsersConformance } from "./conformance-users.js";

const schemas = schemaFactory("tl_users");
afterAll(() => schemas.dropAll());

runUsersConformance({
  name: "PostgreSQL",
  open: async () => PostgresStore.open({ url: TEST_PG_URL, schema: schemas.next(), poolSize: 4 }),
});
