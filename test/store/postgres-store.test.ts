import { afterAll } from "vitest";
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
