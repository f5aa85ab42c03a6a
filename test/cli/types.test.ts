/**
 * `tasklane types` and `tasklane pause|resume TYPE`, the built CLI in child processes on a real
 * SQLite file, with `tasklane start` running the bundled example types in another process.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { background, cli, expectOneLineError, showJson, tempDir, waitFor, type Background } from "./helpers.js";

let dir: string;
let db: string;
let worker: Background | null = null;

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });
const typesJson = async (): Promise<any[]> => {
  const r = await run("types", "--json");
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).types;
};
const add = async (...args: string[]) => {
  const r = await run("add", ...args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
};
const statusOf = async (id: string) => (await showJson(id, dir, db)).status as string;

beforeAll(() => {
  dir = tempDir("tasklane-cli-types-");
  db = `sqlite:${path.join(dir, "x.db")}`;
});
afterAll(() => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("tasklane types, pause, resume", () => {
  it("types reads without creating a database", async () => {
    const missing = path.join(dir, "missing.db");
    const r = await cli(["types", "--db", `sqlite:${missing}`], { cwd: dir });
    expect(r.code).toBe(1);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it("a paused type is not run by a running node, its tasks say why, and it runs once resumed", async () => {
    const early = await add("sleep", "--params", '{"ms":1}');
    const table = await run("types");
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^TYPE\s+STATE\s+QUEUED\s+SCHEDULED\s+RUNNING\s+SUCCEEDED\s+FAILED\s+LAST MIN OK\/FAIL\s+LAST HOUR OK\/FAIL\s+OLDEST QUEUED$/);
    // No node yet: nothing can run it (0 of 0).
    expect(rows.find((l) => l.startsWith("sleep "))).toMatch(/^sleep\s+active\s+1\s+0\s+0\/0\s+0\s+0\s+0\/0\s+0\/0\s+\S+/);

    const paused = await run("pause", "sleep");
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toBe("paused type sleep on every node: 1 task(s) waiting, 0 running will finish\n");
    expect((await typesJson()).find((t) => t.type === "sleep")).toMatchObject({ paused: true, counts: { queued: 1 } });

    worker = background(["start", "--db", db, "--grace", "1s", "--node", "types-node", "--port", "0", "--concurrency", "3"], { cwd: dir });
    await waitFor("the worker to start", () => worker!.stdout().includes('"msg":"tasklane started"') || worker!.child.exitCode !== null);
    expect(worker.child.exitCode, worker.stderr()).toBeNull();
    // Another type runs; the paused one stays queued, and says why.
    const other = await add("flaky", "--params", '{"failures":0}');
    await waitFor("the other type to run", async () => (await statusOf(other)) === "succeeded");
    const late = await add("sleep", "--params", '{"ms":1}');
    const again = await add("flaky", "--params", '{"failures":0}');
    await waitFor("another claim to pass the paused type by", async () => (await statusOf(again)) === "succeeded");
    expect(await statusOf(early)).toBe("queued");
    const show = await run("show", late);
    expect(show.stdout).toMatch(/waiting\s+type "sleep" is paused/);
    const ls = await run("ls", "--type", "sleep");
    expect(ls.stdout).toContain('waiting: type "sleep" is paused (2 task(s) on this page)');
    const row = (await typesJson()).find((t) => t.type === "sleep");
    expect(row).toMatchObject({ paused: true, counts: { queued: 2 }, running: 0, limit: 3, nodes: 1 });

    const resumed = await run("resume", "sleep");
    expect(resumed.stdout).toBe("resumed type sleep: 2 task(s) waiting will be claimed\n");
    for (const id of [early, late]) await waitFor(`${id} to run once resumed`, async () => (await statusOf(id)) === "succeeded");
    const after = await waitFor("the finishes to count", async () => {
      const t = (await typesJson()).find((r) => r.type === "sleep");
      return t.throughput.lastMinute.succeeded === 2 ? t : null;
    });
    expect(after).toMatchObject({ paused: false, pausedAt: null, oldestQueuedAgeMs: null });
  });

  it("refuses an unknown or malformed type in one line, changing nothing", async () => {
    await add("sleep", "--params", '{"ms":1}', "--delay", "1h");
    expectOneLineError(await run("pause", "slep"), /task type "slep" not found: no task, node or definition has it \(known types: .*sleep/);
    expectOneLineError(await run("resume", "a b"), /type: a task type name is 1 to 200/);
    expect((await typesJson()).every((t) => !t.paused)).toBe(true);
  });
});
