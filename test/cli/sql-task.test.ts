/**
 * The built-in sql type from the command line: off unless enabled (`--sql-tasks`,
 * TASKLANE_SQL_TASKS=1 or `"sqlTasks": true`), and run by a `tasklane worker --sql-tasks`.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { background, cli, expectOneLineError, showJson, tempDir, waitFor, type Background } from "./helpers.js";

let dir: string;
let db: string;
let worker: Background;

beforeAll(async () => {
  dir = tempDir("tasklane-cli-sql-");
  db = `sqlite:${path.join(dir, "x.db")}`;
  worker = background(["worker", "--sql-tasks", "--db", db, "--grace", "1s", "--poll", "100ms"], { cwd: dir });
  await waitFor("the worker to start", () => worker.stdout().includes('"msg":"worker started"') || worker.child.exitCode !== null);
  expect(worker.child.exitCode, worker.stderr()).toBeNull();
});

afterAll(() => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

async function finished(id: string): Promise<Record<string, any>> {
  return waitFor(`task ${id} to finish`, async () => {
    const task = await showJson(id, dir, db);
    return task.status === "succeeded" || task.status === "failed" ? task : null;
  });
}

describe("tasklane add sql", () => {
  it("is refused in one line, saying how to enable it, when the switch is off", async () => {
    const r = await cli(["add", "sql", "--params", '{"sql":"select 1 as one"}', "--db", db], { cwd: dir });
    expectOneLineError(r, /"sql" task type is disabled; enable it with --sql-tasks, TASKLANE_SQL_TASKS=1 or "sqlTasks": true/);
  });

  it("adds with --sql-tasks; a worker started with --sql-tasks runs it and stores rows and rowCount", async () => {
    const r = await cli(["add", "sql", "--sql-tasks", "--params", '{"sql":"select 1 as one"}', "--db", db], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const task = await finished(r.stdout.trim());
    expect(task.status).toBe("succeeded");
    expect(task.result).toEqual({ rowCount: 1, rows: [{ one: 1 }], truncated: false });
    expect(worker.stdout()).toMatch(/"types":\[[^\]]*"sql"/);
  });

  it("adds with TASKLANE_SQL_TASKS=1 or sqlTasks in tasklane.config.json; a failing statement ends failed with the database's message", async () => {
    const viaEnv = await cli(["add", "sql", "--params", '{"sql":"select * from missing_table"}', "--db", db], {
      cwd: dir,
      env: { TASKLANE_SQL_TASKS: "1" },
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    const failed = await finished(viaEnv.stdout.trim());
    expect(failed.status).toBe("failed");
    expect(failed.error.message).toMatch(/no such table: missing_table/);

    const cfgDir = path.join(dir, "cfg");
    fs.mkdirSync(cfgDir);
    fs.writeFileSync(path.join(cfgDir, "tasklane.config.json"), JSON.stringify({ sqlTasks: true }));
    const viaFile = await cli(["add", "sql", "--params", '{"sql":"select count(*) as n from tasks"}', "--db", db], { cwd: cfgDir });
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect((await finished(viaFile.stdout.trim())).status).toBe("succeeded");

    const badEnv = await cli(["add", "sql", "--params", '{"sql":"select 1"}', "--db", db], { cwd: dir, env: { TASKLANE_SQL_TASKS: "maybe" } });
    expectOneLineError(badEnv, /TASKLANE_SQL_TASKS: expected 1 or 0/);
  });

  it("refuses bad params naming the field", async () => {
    const r = await cli(["add", "sql", "--sql-tasks", "--params", '{"sql":"select 1","rowLimit":0}', "--db", db], { cwd: dir });
    expectOneLineError(r, /params of "sql" are invalid: rowLimit: /);
  });
});

describe("tasklane start --sql-tasks serves it over HTTP", () => {
  it("runs an admin's sql task end to end; a plain user gets 403", async () => {
    const startDb = `sqlite:${path.join(dir, "start.db")}`;
    const node = background(["start", "--sql-tasks", "--db", startDb, "--port", "0", "--grace", "1s"], { cwd: dir });
    try {
      const login = await waitFor(
        "the login URL",
        () =>
          /login\s+(http:\/\/127\.0\.0\.1:\d+)\/\?token=(tl_\S+)/.exec(node.stderr()) ??
          (node.child.exitCode !== null ? Promise.reject(new Error(node.stderr())) : null),
      );
      const [, url, admin] = login;
      expect(node.stderr()).toMatch(/tasks\s+sql, /);
      const userAdd = await cli(["user", "add", "erin", "--db", startDb], { cwd: dir });
      expect(userAdd.code, userAdd.stderr).toBe(0);
      const post = (token: string) =>
        fetch(`${url}/api/tasks`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "sql", params: { sql: "select $1 as who", params: ["admin"] } }),
        });
      expect((await post(userAdd.stdout.trim())).status).toBe(403);
      const added = await post(admin!);
      expect(added.status).toBe(201);
      const { id } = (await added.json()) as { id: string };
      const task = await waitFor(`task ${id} to finish`, async () => {
        const res = await fetch(`${url}/api/tasks/${id}`, { headers: { authorization: `Bearer ${admin}` } });
        const body = (await res.json()) as Record<string, any>;
        return body.status === "succeeded" || body.status === "failed" ? body : null;
      });
      expect(task).toMatchObject({ status: "succeeded", result: { rowCount: 1, rows: [{ who: "admin" }], truncated: false } });
    } finally {
      node.child.kill("SIGTERM");
      await node.exited;
    }
  });
});
