import pg from "pg";

/** The PostgreSQL the tests use: TASKLANE_TEST_PG, else the local server (trust auth). Never skipped: if it is down, tests fail. */
export const TEST_PG_URL = process.env.TASKLANE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

let counter = 0;

/** Fresh schema names per test, dropped by `dropAll`. */
export function schemaFactory(prefix = "tl_test") {
  const made: string[] = [];
  return {
    next(): string {
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${++counter}`;
      made.push(name);
      return name;
    },
    async dropAll(): Promise<void> {
      if (made.length === 0) return;
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        for (const name of made.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
