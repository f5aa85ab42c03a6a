/**
 * Rough edges a new user met (issue 13): values that cannot work, read-only commands that
 * created databases, misspelt options, engines, task files with syntax errors. The built CLI
 * as a child process in a fresh folder, on SQLite and PostgreSQL.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import pg from "pg";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { background, cli, expectOneLineError, tempDir } from "./helpers.js";

let dir: string;
let db: string;

beforeEach(() => {
  dir = tempDir();
  db = `sqlite:${path.join(dir, "x.db")}`;
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });

describe("values that cannot work", () => {
  it("start and worker refuse --lease, --poll and --grace out of range, naming the flag and the range", async () => {
    expectOneLineError(await run("start", "--lease", "0"), /--lease <duration>.*'0' is invalid\. expected a duration from 1s to 1d/);
    expectOneLineError(await run("worker", "--lease", "500ms"), /--lease <duration>.*expected a duration from 1s to 1d/);
    expectOneLineError(await run("start", "--poll", "0"), /--poll <duration>.*expected a duration from 10ms to 1h/);
    expectOneLineError(await run("start", "--grace", "2d"), /--grace <duration>.*expected a duration from 0 to 1d/);
    expectOneLineError(await run("show", "x", "--watch", "--interval", "0"), /--interval <duration>.*expected a duration from 10ms to 1h/);
    expect(fs.existsSync(path.join(dir, "x.db"))).toBe(false);
  });

  it("a config file's lease or poll out of range is refused with the file and the range", async () => {
    fs.writeFileSync(path.join(dir, "tasklane.config.json"), JSON.stringify({ lease: 0 }));
    expectOneLineError(await run("start"), /tasklane\.config\.json: lease: 0 is not allowed; use a duration from 1s to 1d/);
    fs.writeFileSync(path.join(dir, "tasklane.config.json"), JSON.stringify({ poll: "0s" }));
    expectOneLineError(await run("start"), /tasklane\.config\.json: poll: "0s" is not allowed; use a duration from 10ms to 1h/);
  });

  it("add --timeout 0 is refused and nothing is stored", async () => {
    expect((await run("db", "migrate")).code).toBe(0);
    expectOneLineError(await run("add", "sleep", "--timeout", "0"), /timeout: 0 is not allowed; use 1ms to 100 years/);
    const ls = await run("ls", "--json");
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout).tasks).toEqual([]);
  });
});

describe("read-only commands never create or migrate a database", () => {
  const readOnly = [["db", "status"], ["ls"], ["show", "00000000000000000000000000"], ["logs", "00000000000000000000000000"], ["nodes"], ["schedule", "ls"], ["user", "ls"]];

  it("SQLite: a missing file is not created, an empty one is not filled, an old one is not migrated", async () => {
    const file = path.join(dir, "new.db");
    const at = `sqlite:${file}`;
    for (const args of readOnly) {
      expectOneLineError(await cli([...args, "--db", at], { cwd: dir }), new RegExp(`no Tasklane database at ${file.replace(/[.]/g, "\\.")} \\(run "tasklane db migrate"`));
      expect(fs.existsSync(file), args.join(" ")).toBe(false);
    }
    fs.writeFileSync(file, "");
    for (const args of readOnly) {
      expectOneLineError(await cli([...args, "--db", at], { cwd: dir }), /new\.db has no Tasklane tables; run "tasklane db migrate"/);
    }
    expect(await tables(at)).toEqual([]);

    expect((await cli(["db", "migrate", "--db", at], { cwd: dir })).code).toBe(0);
    const latest = await dropLatestMigration(at);
    for (const args of readOnly.slice(1)) {
      expectOneLineError(await cli([...args, "--db", at], { cwd: dir }), new RegExp(`is at schema version ${latest - 1}, this Tasklane needs ${latest}: run "tasklane db migrate"`));
    }
    const status = await cli(["db", "status", "--db", at], { cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/1 pending: run tasklane db migrate/);
    expect(await appliedVersions(at)).not.toContain(latest);
  });

  it("PostgreSQL: a missing schema is not created, an old one is not migrated", async () => {
    const schemas = schemaFactory("tl_cli_ro");
    try {
      const schema = schemas.next();
      const at = pgUrl(schema);
      for (const args of readOnly) {
        expectOneLineError(await cli([...args, "--db", at], { cwd: dir }), new RegExp(`schema "${schema}" of postgres://.* has no Tasklane tables; run "tasklane db migrate"`));
      }
      expect(await schemaExists(schema)).toBe(false);

      expect((await cli(["db", "migrate", "--db", at], { cwd: dir })).code).toBe(0);
      const latest = await dropLatestMigration(at);
      for (const args of readOnly.slice(1)) {
        expectOneLineError(await cli([...args, "--db", at], { cwd: dir }), new RegExp(`is at schema version ${latest - 1}, this Tasklane needs ${latest}`));
      }
      expect(await appliedVersions(at)).not.toContain(latest);
      // A command that changes tasks refuses a missing schema too.
      const other = schemas.next();
      expectOneLineError(await cli(["cancel", "x", "--db", pgUrl(other)], { cwd: dir }), /has no Tasklane tables/);
      expect(await schemaExists(other)).toBe(false);
    } finally {
      await schemas.dropAll();
    }
  });
});

function pgUrl(schema: string): string {
  const u = new URL(TEST_PG_URL);
  u.searchParams.set("schema", schema);
  return u.toString();
}

async function schemaExists(schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** Versions recorded in the migrations table of a database made by `db migrate`. */
async function appliedVersions(at: string): Promise<number[]> {
  if (at.startsWith("sqlite:")) {
    const db = new Database(at.slice("sqlite:".length), { readonly: true });
    try {
      return (db.prepare("SELECT version FROM tasklane_migrations ORDER BY version").all() as Array<{ version: number }>).map((r) => r.version);
    } finally {
      db.close();
    }
  }
  const schema = new URL(at).searchParams.get("schema")!;
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query<{ version: number }>(`SELECT version FROM "${schema}".tasklane_migrations ORDER BY version`)).rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

/** Forgets the latest migration, as a database made by the previous version would lack it; returns its number. */
async function dropLatestMigration(at: string): Promise<number> {
  const latest = Math.max(...(await appliedVersions(at)));
  if (at.startsWith("sqlite:")) {
    const db = new Database(at.slice("sqlite:".length));
    db.prepare("DELETE FROM tasklane_migrations WHERE version = ?").run(latest);
    db.close();
  } else {
    const schema = new URL(at).searchParams.get("schema")!;
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    await client.query(`DELETE FROM "${schema}".tasklane_migrations WHERE version = $1`, [latest]);
    await client.end();
  }
  return latest;
}

async function tables(at: string): Promise<string[]> {
  const db = new Database(at.slice("sqlite:".length), { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe("misspelt options", () => {
  it("flags, commands, config keys and JSON options are refused with the nearest known name", async () => {
    expectOneLineError(await run("add", "sleep", "--priorty", "1"), /unknown option '--priorty' \(Did you mean --priority\?\)/);
    expectOneLineError(await run("lss"), /unknown command 'lss' \(Did you mean ls\?\)/);
    expectOneLineError(await run("add", "sleep", "--then", '[{"type":"sleep","options":{"atempts":2}}]'), /then\[0\]: options: unknown option atempts; did you mean attempts\?/);
    expectOneLineError(
      await run("schedule", "add", "s", "sleep", "--cron", "* * * * *", "--options", '{"priorty":1}'),
      /unknown option priorty; did you mean priority\?/,
    );
    fs.writeFileSync(path.join(dir, "tasklane.config.json"), JSON.stringify({ concurency: 3 }));
    expectOneLineError(await run("start"), /tasklane\.config\.json: unknown key concurency; did you mean concurrency\?/);
    fs.writeFileSync(path.join(dir, "tasklane.config.json"), JSON.stringify({ dispatch: { policy: "fair", agin: "1m" } }));
    expectOneLineError(await run("start"), /tasklane\.config\.json: dispatch: unknown key agin; did you mean aging\?/);
  });
});

describe("impossible calendar dates", () => {
  it("add --run-at and --deadline refuse a day that does not exist", async () => {
    expectOneLineError(await run("add", "sleep", "--run-at", "2024-02-30"), /--run-at <iso>.*'2024-02-30' is invalid\. the date is not a day of the calendar: February 2024 has 29 days/);
    expectOneLineError(await run("add", "sleep", "--deadline", "2030-04-31T10:00:00Z"), /April 2030 has 30 days/);
    expectOneLineError(await run("add", "sleep", "--run-at", "tomorrow"), /expected an ISO date-time like 2026-01-31T09:00:00Z/);
    expect(fs.existsSync(path.join(dir, "x.db"))).toBe(false);
  });
});

describe("engines", () => {
  it("an unsupported URL and --help name every supported engine", async () => {
    expectOneLineError(
      await cli(["ls", "--db", "mysql://root:secret@localhost/app"], { cwd: dir }),
      /unsupported database URL "mysql:\/\/root:\*\*\*@localhost\/app": Tasklane runs on SQLite \(sqlite:PATH.*\) and PostgreSQL \(postgres:\/\/USER@HOST:PORT\/DB\?schema=NAME\)/,
    );
    const help = await cli(["--help"], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Durable background tasks on SQLite or PostgreSQL/);
    expect(help.stdout.replace(/\s+/g, " ")).toMatch(/--db <url> database: SQLite \(sqlite:PATH, .*\) or PostgreSQL \(postgres:\/\/USER@HOST:PORT\/DB\?schema=NAME\)/);
  });
});

describe("task files with a syntax error", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "broken.ts",
      'import { defineTask } from "tasklane";\n\nexport default defineTask({\n  name: "broken",\n  run: async () => { return 1 +; },\n});\n',
      /^tasklane: cannot load task file tasks\/broken\.ts:5:32: Unexpected ";" \(line 5: run: async \(\) => \{ return 1 \+; \},\)$/,
    ],
    ["broken.mjs", 'export default {\n  name: "b",\n  run() { return 1 } }\n  foo {\n};\n', /^tasklane: cannot load task file tasks\/broken\.mjs:4:7: Unexpected token '\{' \(line 4: foo \{\)$/],
    ["broken.js", 'export default { name: "c", run() { return 1 } };\nconst x = ;\n', /^tasklane: cannot load task file tasks\/broken\.js:2:11: Unexpected token ';' \(line 2: const x = ;\)$/],
  ];
  for (const [name, source, message] of cases) {
    it(`${name}: the compiler's message with file:line:column and the offending line`, async () => {
      fs.mkdirSync(path.join(dir, "tasks"));
      fs.writeFileSync(path.join(dir, "tasks", name), source);
      const r = await run("start");
      expectOneLineError(r, message);
      expect(fs.existsSync(path.join(dir, "x.db"))).toBe(false);
    });
  }
});

describe("show: durations and decided follow-ups", () => {
  it("a task that succeeded on its third attempt shows the time since its first start, the runs and the last run; a follow-up of the other branch will not run", async () => {
    const worker = background(["worker", "--db", db, "--poll", "100ms", "--grace", "1s"], { cwd: dir });
    try {
      const added = await run(
        "add", "flaky", "--params", '{"failures":2}',
        "--then", '[{"type":"sleep","params":{"ms":1},"options":{"then":[{"type":"sleep"}]}}]',
        "--on-failure", '[{"type":"sleep","options":{"then":[{"type":"sleep"}]}}]',
      );
      expect(added.code, added.stderr).toBe(0);
      const id = added.stdout.trim();
      const watched = await run("show", id, "--watch", "--interval", "50ms");
      expect(watched.code, watched.stderr).toBe(0);
      // Two failures 500 ms apart before the success: over a second in all, a few ms the last run.
      expect(watched.stdout).toMatch(/^succeeded after 3 runs in (1\.\d|[2-9]\.\d)s \(last run \d+ms\)$/m);
      const shown = await run("show", id);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/^took +(1\.\d|[2-9]\.\d)s over 3 runs \(last run \d+ms\)$/m);
      expect(shown.stdout).toMatch(new RegExp(`^  ${id}\\.1  sleep  on success  added$`, "m"));
      expect(shown.stdout).toMatch(new RegExp(`^  ${id}\\.2  sleep  on failure  will not run$`, "m"));
      expect(shown.stdout).toMatch(new RegExp(`^    ${id}\\.2\\.1  sleep  on success  will not run$`, "m"));
      // A step below an added follow-up is decided by that follow-up, shown on its own page.
      expect(shown.stdout).toMatch(new RegExp(`^    ${id}\\.1\\.1  sleep  on success$`, "m"));

      const once = (await run("add", "sleep", "--params", '{"ms":1}')).stdout.trim();
      const single = await run("show", once, "--watch", "--interval", "50ms");
      expect(single.stdout).toMatch(/^succeeded in \d+ms$/m);
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exited;
    }
  });
});
