/**
 * `tasklane start` in a child process: it runs added tasks, `show --watch` and `logs` follow
 * them from other processes, and SIGTERM drains and exits 0. No timed assertions: every wait
 * polls for a state with a generous deadline.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { background, cli, showJson, tempDir, waitFor, type Background } from "./helpers.js";

let dir: string;
let db: string;
let worker: Background;

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });

async function addTask(...args: string[]): Promise<string> {
  const r = await run("add", ...args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function waitForStatus(id: string, statuses: string[]): Promise<Record<string, any>> {
  return waitFor(`task ${id} to be ${statuses.join(" or ")}`, async () => {
    const task = await showJson(id, dir, db);
    return statuses.includes(task.status) ? task : null;
  });
}

/** The worker's stdout as pino JSON records (stdout is not a TTY, so it is JSON lines). */
function records(): Array<Record<string, any>> {
  return worker
    .stdout()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);
}

beforeAll(async () => {
  dir = tempDir();
  db = `sqlite:${path.join(dir, "x.db")}`;
  worker = background(["start", "--db", db, "--grace", "1s", "--node", "cli-test-node", "--port", "0"], { cwd: dir });
  await waitFor("the worker to start", () => worker.stdout().includes('"msg":"tasklane started"') || worker.child.exitCode !== null);
  expect(worker.child.exitCode, worker.stderr()).toBeNull();
});

afterAll(() => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("tasklane start", () => {
  it("prints a banner on stderr and JSON log lines on stdout", () => {
    expect(worker.stderr()).toMatch(/database\s+sqlite:.*x\.db/);
    expect(worker.stderr()).toMatch(/node\s+cli-test-node/);
    expect(worker.stderr()).toMatch(/tasks\s+export-report, flaky, graceful-stop, sleep/);
    expect(worker.stderr()).toMatch(/concurrency\s+10/);
    const started = records().find((r) => r.msg === "tasklane started");
    expect(started).toMatchObject({ level: 30, node: "cli-test-node", concurrency: 10 });
  });

  it("runs an added export-report task to succeeded and writes the CSV", async () => {
    const id = await addTask("export-report", "--params", '{"rows":5000,"delayMs":5}');
    const task = await waitForStatus(id, ["succeeded", "failed"]);
    expect(task.status).toBe("succeeded");
    expect(task.result).toMatchObject({ rows: 5000, bytes: expect.any(Number) });
    expect(task.runs).toHaveLength(1);
    expect(task.runs[0]).toMatchObject({ outcome: "succeeded", node: "cli-test-node" });
    const csv = fs.readFileSync(path.join(dir, "exports", `${id}.csv`), "utf8");
    expect(csv.split("\n")[0]).toBe("id,date,customer,region,product,quantity,unit_price,total");
    expect(csv.trimEnd().split("\n")).toHaveLength(5001);
    expect(fs.statSync(path.join(dir, "exports", `${id}.csv`)).size).toBe(task.result.bytes);
    await waitFor("the worker to log the success", () => records().some((r) => r.msg === "task succeeded" && r.id === id));
    expect(records().find((r) => r.msg === "task started" && r.id === id)).toMatchObject({ type: "export-report", attempt: 1 });

    // logs: leveled lines `time level message data`
    const logs = await run("logs", id);
    expect(logs.code, logs.stderr).toBe(0);
    const lines = logs.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z info\s+export started \{.*"rows":5000/);
    expect(lines.at(-1)).toMatch(/^\S+Z info\s+export finished \{.*"bytes":\d+/);
    for (const line of lines) expect(line).toMatch(/^\S+Z (debug|info|warn|error)\s+\S/);
    const json = (await run("logs", id, "--json")).stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(json.map((e) => e.message)).toEqual(lines.map((l) => l.replace(/^\S+ \S+\s+/, "").replace(/ \{.*$/, "")));
    expect(json[0]).toMatchObject({ taskId: id, runNo: 1, level: "info" });
  });

  it("show --watch follows progress and ends with the result, exit 0", async () => {
    const id = await addTask("export-report", "--params", '{"rows":20000,"delayMs":10}');
    const watch = await run("show", id, "--watch", "--interval", "100ms");
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stderr).toBe("");
    expect(watch.stdout).toMatch(/^succeeded in \S+$/m);
    expect(watch.stdout).toMatch(/"rows": 20000/);
    const result = JSON.parse(watch.stdout.slice(watch.stdout.indexOf("result: ") + "result: ".length));
    expect(result).toMatchObject({ rows: 20000, file: expect.stringContaining(id) });
  });

  it("show --watch of a task that fails exits 1 with the error", async () => {
    const id = await addTask("flaky", "--params", '{"failures":3}', "--attempts", "1");
    const watch = await run("show", id, "--watch", "--interval", "100ms");
    expect(watch.code).toBe(1);
    expect(watch.stdout).toMatch(/^failed after 1 attempt/m);
    expect(watch.stdout).toMatch(/error: Error: planned failure 1 of 3/);
    // The failed list shows each task's error.
    const ls = await run("ls", "--status", "failed");
    const [header, ...rows] = ls.stdout.trimEnd().split("\n");
    expect(header).toMatch(/\bNODE\s+ERROR$/);
    expect(rows.find((r) => r.startsWith(id))).toMatch(/Error: planned failure 1 of 3$/);
    // No error column where no task failed.
    expect((await run("ls", "--status", "succeeded")).stdout.split("\n")[0]).not.toContain("ERROR");
  });

  it("logs -f follows a retried task to its end; runs are separated", async () => {
    const id = await addTask("flaky", "--params", '{"failures":1}');
    const follow = await run("logs", id, "-f");
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toMatch(/warn\s+attempt 1: failing on purpose/);
    expect(follow.stdout).toMatch(/-- run 2 --\n\S+Z info\s+attempt 2: succeeding/);
    expect((await showJson(id, dir, db)).status).toBe("succeeded");
  });

  it("cancel stops a running task through its signal", async () => {
    const id = await addTask("graceful-stop", "--params", '{"seconds":120,"stepMs":50}');
    await waitForStatus(id, ["running"]);
    const cancel = await run("cancel", id);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/cancel requested/);
    const task = await waitForStatus(id, ["cancelled", "failed", "succeeded"]);
    expect(task.status).toBe("cancelled");
    expect((await run("logs", id)).stdout).toMatch(/info\s+stopping cleanly: cancelled/);
  });

  it("SIGTERM releases what is running and exits 0", async () => {
    const id = await addTask("graceful-stop", "--params", '{"seconds":120,"stepMs":50}');
    await waitForStatus(id, ["running"]);
    worker.child.kill("SIGTERM");
    const exit = await worker.exited;
    expect(exit, worker.stderr()).toEqual({ code: 0, signal: null });
    const msgs = records().map((r) => r.msg);
    expect(msgs).toContain("stopped");
    const task = await showJson(id, dir, db);
    expect(task.status).toBe("queued"); // released at once, not left running
    expect(task.attempt).toBe(0); // the released run does not count
    expect((await run("logs", id)).stdout).toMatch(/info\s+stopping cleanly: shutdown/);
  });
});
