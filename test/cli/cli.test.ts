/**
 * The `tasklane` command without a worker: add / ls / show / control commands, configuration
 * precedence, task folders, and the promise that every user error is one `tasklane:` line.
 * Each test spawns the built CLI (`node bin/tasklane.js`) in a fresh temp folder.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectOneLineError, showJson, tempDir } from "./helpers.js";

const ID = /^[0-9a-z]{26}$/;

let dir: string;
let db: string;
const dirs: string[] = [];

beforeAll(() => {
  dir = tempDir();
  dirs.push(dir);
  db = `sqlite:${path.join(dir, "x.db")}`;
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });

describe("add, ls, show", () => {
  it("add prints the new id alone on stdout", async () => {
    const r = await run("add", "sleep", "--params", '{"ms":10}');
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-z]{26}\n$/);
  });

  it("add --json prints the task with the options applied", async () => {
    const r = await run(
      "add", "export-report", "--params", '{"rows":500}', "--priority", "-3", "--delay", "1h", "--attempts", "7",
      "--timeout", "30s", "--owner", "ana", "--name", "March report", "--deadline", "2h", "--executor", "node-a", "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(r.stdout);
    expect(task.id).toMatch(ID);
    expect(task).toMatchObject({
      type: "export-report",
      status: "scheduled",
      priority: -3,
      maxAttempts: 7,
      timeoutMs: 30_000,
      owner: "ana",
      name: "March report",
      executor: "node-a",
      params: { rows: 500 },
    });
    expect(Date.parse(task.runAt) - Date.parse(task.createdAt)).toBeGreaterThan(3_500_000);
    expect(task.deadline).not.toBeNull();
  });

  it("add --key returns the live task holding the key", async () => {
    const a = await run("add", "sleep", "--key", "order-42");
    const b = await run("add", "sleep", "--key", "order-42");
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it("ls prints a table and --json the page; filters and cursors work", async () => {
    const table = await run("ls");
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split("\n");
    expect(header).toMatch(/^ID\s+TYPE\s+STATUS\s+PROGRESS\s+ATTEMPT\s+AGE\s+NODE$/);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.some((l) => /export-report\s+scheduled\s+-\s+0\/7\s+\d+s\s+-/.test(l))).toBe(true);

    const json = JSON.parse((await run("ls", "--json")).stdout);
    expect(json.tasks.length).toBeGreaterThanOrEqual(3);
    expect(json.nextCursor).toBeNull();

    const scheduled = JSON.parse((await run("ls", "--status", "scheduled", "--json")).stdout);
    expect(scheduled.tasks.map((t: any) => t.type)).toEqual(["export-report"]);

    const first = JSON.parse((await run("ls", "--limit", "1", "--json")).stdout);
    expect(first.tasks).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = JSON.parse((await run("ls", "--limit", "1", "--cursor", first.nextCursor, "--json")).stdout);
    expect(second.tasks).toHaveLength(1);
    expect(second.tasks[0].id).not.toBe(first.tasks[0].id);
  });

  it("show prints details, --json the task with its runs", async () => {
    const id = (await run("add", "flaky", "--params", '{"failures":1}', "--name", "shaky")).stdout.trim();
    const r = await run("show", id);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^id\\s+${id}$`, "m"));
    expect(r.stdout).toMatch(/^type\s+flaky$/m);
    expect(r.stdout).toMatch(/^status\s+queued$/m);
    expect(r.stdout).toMatch(/^attempt\s+0\/5/m);
    expect(r.stdout).toMatch(/^params\s+\{"failures":1\}$/m);
    const json = await showJson(id, dir, db);
    expect(json).toMatchObject({ id, type: "flaky", status: "queued", name: "shaky", runs: [] });
  });

  it("cancel, retry, delete and prune", async () => {
    const id = (await run("add", "sleep")).stdout.trim();
    const cancelled = await run("cancel", id);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toBe(`cancelled ${id}\n`);
    expect((await showJson(id, dir, db)).status).toBe("cancelled");

    const retried = await run("retry", id, "--json");
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id, status: "queued", attempt: 0 });

    expectOneLineError(await run("retry", id), /only failed, cancelled or expired tasks can be retried/);

    const deleted = await run("delete", id);
    expect(deleted.stdout).toBe(`deleted ${id}\n`);
    expectOneLineError(await run("show", id), new RegExp(`task ${id} not found`));

    const pruned = await run("prune", "--json");
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toEqual({ tasksDeleted: expect.any(Number), runsDeleted: expect.any(Number) });
  });
});

describe("db", () => {
  it("db status lists migration 1 as applied", async () => {
    const r = await run("db", "status");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^1\s+\S.*\s+applied/m);
    const json = JSON.parse((await run("db", "status", "--json")).stdout);
    expect(json.migrations[0]).toMatchObject({ version: 1, appliedAt: expect.any(String) });
  });

  it("db migrate on a fresh file applies the migrations", async () => {
    const fresh = `sqlite:${path.join(dir, "fresh.db")}`;
    const r = await cli(["db", "migrate", "--json", "--db", fresh], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).applied).toContain(1);
    const again = await cli(["db", "migrate", "--db", fresh], { cwd: dir });
    expect(again.stdout).toMatch(/up to date/);
  });
});

describe("errors a user can cause: one line, exit 1, no stack", () => {
  it("bad JSON in --params", async () => {
    expectOneLineError(await run("add", "sleep", "--params", "{rows: 5"), /--params is not valid JSON/);
  });

  it("params that fail the type's schema name the field", async () => {
    expectOneLineError(await run("add", "export-report", "--params", '{"rows":-5}'), /params of "export-report" are invalid: rows/);
  });

  it("unknown task type", async () => {
    expectOneLineError(await run("add", "no-such-type"), /unknown task type "no-such-type" \(registered: .*export-report/);
  });

  it("bad options, unknown commands, missing arguments", async () => {
    expectOneLineError(await run("add", "sleep", "--priority", "high"), /--priority.*'high' is invalid/);
    expectOneLineError(await run("add", "sleep", "--delay", "soon"), /--delay.*'soon' is invalid/);
    expectOneLineError(await run("ls", "--status", "done"), /--status: "done" is not one of/);
    expectOneLineError(await run("ls", "--frobnicate"), /unknown option '--frobnicate'/);
    expectOneLineError(await run("shw", "x"), /unknown command 'shw'/);
    expectOneLineError(await run("show"), /missing required argument 'id'/);
    expectOneLineError(await run("logs", "00000000000000000000000000"), /task 00000000000000000000000000 not found/);
  });

  it("unreadable database", async () => {
    const missing = `sqlite:${path.join(dir, "no", "such", "dir", "x.db")}`;
    // Reading commands never create a database; adding to a folder that does not exist cannot.
    expectOneLineError(await cli(["ls", "--db", missing], { cwd: dir }), /no Tasklane database at .*x\.db/);
    expectOneLineError(await cli(["add", "sleep", "--db", missing], { cwd: dir }), /cannot open database/);
    expect(fs.existsSync(path.join(dir, "nope.db"))).toBe(false);
    expectOneLineError(await cli(["show", "x", "--db", `sqlite:${path.join(dir, "nope.db")}`], { cwd: dir }), /no Tasklane database at .*nope\.db/);
    expect(fs.existsSync(path.join(dir, "nope.db"))).toBe(false);
    fs.writeFileSync(path.join(dir, "garbage.db"), "this is not a database, just text ".repeat(200));
    expectOneLineError(await cli(["ls", "--db", `sqlite:${path.join(dir, "garbage.db")}`], { cwd: dir }), /cannot open database .*not a database/);
  });

  it("bad configuration", async () => {
    const cfgDir = tempDir();
    dirs.push(cfgDir);
    fs.writeFileSync(path.join(cfgDir, "tasklane.config.json"), '{"db": "sqlite:./a.db",');
    expectOneLineError(await cli(["ls"], { cwd: cfgDir }), /tasklane.config.json: invalid JSON/);
    fs.writeFileSync(path.join(cfgDir, "tasklane.config.json"), '{"database": "x"}');
    expectOneLineError(await cli(["ls"], { cwd: cfgDir }), /tasklane.config.json: unknown key database/);
    expectOneLineError(await cli(["ls", "--config", "missing.json"], { cwd: cfgDir }), /--config: missing.json does not exist/);
    expectOneLineError(await cli(["ls", "--db", db], { cwd: dir, env: { TASKLANE_CONCURRENCY: "many" } }), /TASKLANE_CONCURRENCY/);
  });
});

describe("configuration and task folders", () => {
  it("flags beat environment, environment beats the config file", async () => {
    const cfgDir = tempDir();
    dirs.push(cfgDir);
    fs.writeFileSync(path.join(cfgDir, "tasklane.config.json"), JSON.stringify({ db: "sqlite:./from-config.db" }));
    expect((await cli(["add", "sleep"], { cwd: cfgDir })).code).toBe(0);
    expect(fs.existsSync(path.join(cfgDir, "from-config.db"))).toBe(true);

    expect((await cli(["add", "sleep"], { cwd: cfgDir, env: { TASKLANE_DB: "sqlite:./from-env.db" } })).code).toBe(0);
    expect(fs.existsSync(path.join(cfgDir, "from-env.db"))).toBe(true);

    const flag = await cli(["add", "sleep", "--db", "sqlite:./from-flag.db"], { cwd: cfgDir, env: { TASKLANE_DB: "sqlite:./from-env.db" } });
    expect(flag.code, flag.stderr).toBe(0);
    expect(fs.existsSync(path.join(cfgDir, "from-flag.db"))).toBe(true);
    const fromEnv = JSON.parse((await cli(["ls", "--json"], { cwd: cfgDir, env: { TASKLANE_DB: "sqlite:./from-env.db" } })).stdout);
    expect(fromEnv.tasks).toHaveLength(1);
  });

  it("./tasks is loaded; a bad default export is an error naming the file", async () => {
    const projDir = tempDir();
    dirs.push(projDir);
    fs.mkdirSync(path.join(projDir, "tasks"));
    fs.writeFileSync(path.join(projDir, "tasks", "hello.mjs"), 'export default { name: "hello", run: async () => "hi" };\n');
    fs.writeFileSync(path.join(projDir, "tasks", "_helper.mjs"), "export default 42;\n");
    fs.writeFileSync(path.join(projDir, "tasks", "greet.ts"), 'const name: string = "greet";\nexport default [{ name, run: async () => name }];\n');
    const added = await cli(["add", "greet", "--json"], { cwd: projDir });
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout).type).toBe("greet");
    expectOneLineError(await cli(["add", "export-report"], { cwd: projDir }), /unknown task type "export-report" \(registered: greet, hello\)/);

    fs.writeFileSync(path.join(projDir, "tasks", "broken.mjs"), "export default { name: 'broken' };\n");
    expectOneLineError(await cli(["add", "hello"], { cwd: projDir }), /task file tasks\/broken\.mjs: the default export must be a task definition/);
    expectOneLineError(await cli(["add", "hello", "--tasks", "nowhere"], { cwd: projDir }), /--tasks: folder .*nowhere does not exist/);
  });
});
