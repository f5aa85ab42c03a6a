/**
 * `tasklane schedule …`, the follow-up and group flags of `add`/`show`, and the dispatch and
 * scheduler flags of `worker`. Each command is the built CLI in a child process on a real
 * SQLite file; the bundled example types (`sleep`, …) validate what is added.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineTask, Tasklane } from "../../src/index.js";
import { background, cli, expectOneLineError, showJson, tempDir, waitFor } from "./helpers.js";

let dir: string;
let db: string;

beforeAll(() => {
  dir = tempDir("tasklane-cli-schedule-");
  db = `sqlite:${path.join(dir, "x.db")}`;
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => cli([...args, "--db", db], { cwd: dir });
const schedulesJson = async (): Promise<any[]> => {
  const r = await run("schedule", "ls", "--json");
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).schedules;
};
/** The `schedule ls` table row of a schedule, split on the column gaps. */
const lsRow = async (name: string): Promise<string> => {
  const r = await run("schedule", "ls");
  expect(r.code, r.stderr).toBe(0);
  const row = r.stdout.split("\n").find((l) => l.startsWith(`${name} `));
  expect(row, r.stdout).toBeDefined();
  return row!;
};

describe("tasklane schedule", () => {
  it("add creates a schedule and ls shows the next three fires in its zone, with the offset of each", async () => {
    // 12:00 on the 1st of March and of April: Berlin is on +01:00 in March and +02:00 in April.
    const added = await run("schedule", "add", "spring", "sleep", "--cron", "0 12 1 3,4 *", "--tz", "Europe/Berlin", "--params", '{"ms":1}');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^created schedule spring: sleep at "0 12 1 3,4 \*" Europe\/Berlin; next: /);

    const table = await run("schedule", "ls");
    const [header] = table.stdout.split("\n");
    expect(header).toMatch(/^NAME\s+TYPE\s+CRON\s+ZONE\s+STATE\s+NEXT FIRES \(IN ZONE\)\s+LAST TASK$/);
    const row = await lsRow("spring");
    expect(row).toMatch(/^spring\s+sleep\s+0 12 1 3,4 \*\s+Europe\/Berlin\s+active\s+/);
    const fires = row.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d/g)!;
    expect(fires).toHaveLength(3);
    // Wall-clock noon in the zone every time, with the offset in force on that day.
    for (const f of fires) expect(f).toMatch(/T12:00:00\+0[12]:00$/);
    expect(fires.filter((f) => /-03-01T/.test(f)).every((f) => f.endsWith("+01:00"))).toBe(true);
    expect(fires.filter((f) => /-04-01T/.test(f)).every((f) => f.endsWith("+02:00"))).toBe(true);
    expect(fires.some((f) => f.endsWith("+01:00")) && fires.some((f) => f.endsWith("+02:00"))).toBe(true);

    const [json] = (await schedulesJson()).filter((s) => s.name === "spring");
    expect(json).toMatchObject({ name: "spring", type: "sleep", cron: "0 12 1 3,4 *", tz: "Europe/Berlin", params: { ms: 1 }, paused: false, missed: { policy: "skip" } });
    // JSON carries the same instants in UTC.
    expect(json.nextFires.map((d: string) => new Date(d).getTime())).toEqual(fires.map((f) => new Date(f).getTime()));
  });

  it("a UTC schedule shows +00:00; --missed catchUp:<window> and --options are stored", async () => {
    const r = await run("schedule", "add", "often", "sleep", "--cron", "*/30 * * * * *", "--missed", "catchUp:1h", "--options", '{"priority":3,"timeout":"1m"}');
    expect(r.code, r.stderr).toBe(0);
    expect(await lsRow("often")).toMatch(/often\s+sleep\s+\*\/30 \* \* \* \* \*\s+UTC\s+active\s+\S+:\d\d\+00:00, /);
    const [s] = (await schedulesJson()).filter((x) => x.name === "often");
    expect(s.missed).toEqual({ policy: "catchUp", windowMs: 3_600_000 });
    expect(s.options).toEqual({ priority: 3, timeout: "1m" });
  });

  it("add on an existing name updates it; pause, resume and --paused change its state", async () => {
    const updated = await run("schedule", "add", "often", "sleep", "--cron", "0 * * * *", "--paused");
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/^updated schedule often: .*; paused$/m);
    expect(await lsRow("often")).toMatch(/often\s+sleep\s+0 \* \* \* \*\s+UTC\s+paused\s+-/);

    const resumed = await run("schedule", "resume", "often");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resumed schedule often; next: \S+:00:00\+00:00\n$/);
    expect(await lsRow("often")).toMatch(/\s+active\s+/);

    const paused = await run("schedule", "pause", "often", "--json");
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ name: "often", paused: true, nextFires: [] });
  });

  it("trigger adds one task now (also while paused) and prints its id; ls and show name it", async () => {
    const r = await run("schedule", "trigger", "often");
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-z]{26}$/);
    const task = await showJson(id, dir, db);
    expect(task).toMatchObject({ type: "sleep", status: "queued", name: "often" });
    expect(await lsRow("often")).toMatch(new RegExp(`${id} queued$`));

    const json = await run("schedule", "trigger", "often", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ type: "sleep", status: "queued" });

    const show = await run("schedule", "show", "often");
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^name\s+often$/m);
    expect(show.stdout).toMatch(/^state\s+paused$/m);
    // The update replaced the whole definition: the catch-up policy and options went with it.
    expect(show.stdout).toMatch(/^missed\s+skip \(fire once for the latest missed tick\)$/m);
    expect(show.stdout).toMatch(/^options\s+\{\}$/m);
    expect(show.stdout).toMatch(/^last task\s+\S+ queued$/m);
    expect(show.stdout).toMatch(/recent ticks\n {2}none yet/);
    const showJsonOut = JSON.parse((await run("schedule", "show", "often", "--json")).stdout);
    expect(showJsonOut).toMatchObject({ name: "often", ticks: [] });
  });

  it("rm deletes a schedule (its tasks stay); a missing one is a one-line error", async () => {
    const before = (await run("ls", "--json")).stdout;
    const r = await run("schedule", "rm", "often");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("removed schedule often\n");
    expect((await schedulesJson()).map((s) => s.name)).toEqual(["spring"]);
    expect(JSON.parse((await run("ls", "--json")).stdout).tasks.length).toBe(JSON.parse(before).tasks.length);

    expectOneLineError(await run("schedule", "rm", "often"), /schedule "often" not found/);
    expectOneLineError(await run("schedule", "pause", "often"), /schedule "often" not found/);
    expectOneLineError(await run("schedule", "trigger", "often"), /schedule "often" not found/);
    expectOneLineError(await run("schedule", "show", "often"), /schedule "often" not found/);
  });

  it("refuses an invalid cron, an unknown zone, a bad policy, params or type in one line naming the problem, storing nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--cron", "61 * * * *"], /^tasklane: cron: "61 \* \* \* \*" is invalid: .*minute/],
      [["--cron", "0 3 * *"], /^tasklane: cron: "0 3 \* \*" has 4 field\(s\); use 5 .* or 6/],
      [["--cron", "0 3 * * *", "--tz", "Mars/Olympus"], /^tasklane: tz: "Mars\/Olympus" is not an IANA time zone/],
      [["--cron", "0 3 * * *", "--missed", "sometimes"], /^tasklane: --missed: expected "skip" or "catchUp:<duration>"/],
      [["--cron", "0 3 * * *", "--missed", "catchUp:soon"], /^tasklane: --missed: "soon" is not a duration/],
      [["--cron", "0 3 * * *", "--params", '{"ms":-1}'], /^tasklane: params of "sleep"/],
      [["--cron", "0 3 * * *", "--options", '{"key":"k"}'], /^tasklane: options\.key: not allowed on a schedule/],
      [["--cron", "0 3 * * *", "--options", "[1]"], /^tasklane: --options: expected a JSON object/],
    ];
    for (const [flags, message] of cases) expectOneLineError(await run("schedule", "add", "broken", "sleep", ...flags), message);
    expectOneLineError(await run("schedule", "add", "broken", "no-such-type", "--cron", "0 3 * * *"), /unknown task type "no-such-type".*loaded from/);
    expectOneLineError(await run("schedule", "add", "broken", "sleep"), /--cron <expr>' not specified/);
    expect((await schedulesJson()).map((s) => s.name)).toEqual(["spring"]);
  });
});

describe("add --group --then --on-failure, and show", () => {
  it("stores the group and the follow-up tree (ids <parent>.<n>); show lists them", async () => {
    const then = JSON.stringify([{ type: "sleep", params: { ms: 1 }, options: { then: [{ type: "sleep", params: { ms: 2 } }] } }]);
    const onFailure = JSON.stringify([{ type: "sleep", options: { delay: "1m" } }]);
    const r = await run("add", "sleep", "--params", '{"ms":1}', "--group", "customer-7", "--then", then, "--on-failure", onFailure, "--json");
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(r.stdout);
    expect(task.group).toBe("customer-7");
    expect(task.followUps.map((f: any) => [f.id, f.type, f.on])).toEqual([
      [`${task.id}.1`, "sleep", "success"],
      [`${task.id}.2`, "sleep", "failure"],
    ]);
    expect(task.followUps[0].followUps[0]).toMatchObject({ id: `${task.id}.1.1`, on: "success", params: { ms: 2 } });

    const show = await run("show", task.id);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^group\s+customer-7$/m);
    expect(show.stdout).toContain(`follow-ups\n  ${task.id}.1  sleep  on success\n    ${task.id}.1.1  sleep  on success\n  ${task.id}.2  sleep  on failure, 1m 00s later\n`);
  });

  it("refuses a bad --then in one line and stores nothing", async () => {
    const count = async () => JSON.parse((await run("ls", "--json", "--limit", "1000")).stdout).tasks.length;
    const before = await count();
    expectOneLineError(await run("add", "sleep", "--then", "{not json"), /^tasklane: --then is not valid JSON/);
    expectOneLineError(await run("add", "sleep", "--then", '{"type":"sleep"}'), /^tasklane: --then: expected a JSON array/);
    expectOneLineError(await run("add", "sleep", "--then", '[{"type":"nope"}]'), /unknown task type "nope"/);
    expectOneLineError(await run("add", "sleep", "--on-failure", '[{"type":"sleep","params":{"ms":"x"}}]'), /^tasklane: onFailure\[0\]: params of "sleep"/);
    expectOneLineError(await run("add", "sleep", "--group", ""), /--group/);
    expect(await count()).toBe(before);
  });

  it("show prints the parent of a follow-up once the parent has run", async () => {
    const id = (await run("add", "sleep", "--params", '{"ms":1}', "--then", '[{"type":"sleep","params":{"ms":1}}]')).stdout.trim();
    // Run the parent in-process on the same database, with a stand-in for the example type.
    const lane = await Tasklane.open({ db, tasks: [defineTask({ name: "sleep", run: async () => ({ slept: 1 }) })], scheduler: false, worker: { pollIntervalMs: 50, overload: false } });
    try {
      await lane.start({ types: ["sleep"] });
      await waitFor("the follow-up to be added", () => lane.get(`${id}.1`));
    } finally {
      await lane.close({ graceMs: 0 });
    }
    const child = await showJson(`${id}.1`, dir, db);
    expect(child.parent).toMatchObject({ id, type: "sleep", status: "succeeded", result: { slept: 1 } });
    const show = await run("show", `${id}.1`);
    expect(show.stdout).toMatch(new RegExp(`^parent\\s+${id} \\(sleep, succeeded\\)$`, "m"));
  });
});

describe("worker --dispatch, --aging, --no-scheduler", () => {
  it("refuses a bad policy, aging with fifo, and a bad TASKLANE_DISPATCH in one line", async () => {
    expectOneLineError(await run("worker", "--dispatch", "random"), /--dispatch <policy>' argument 'random' is invalid. Allowed choices are priority, fifo, fair/);
    expectOneLineError(await run("worker", "--dispatch", "fifo", "--aging", "1m"), /dispatch\.agingMs: aging applies to the priority and fair policies, not fifo/);
    expectOneLineError(await cli(["worker", "--db", db], { cwd: dir, env: { TASKLANE_DISPATCH: "lifo" } }), /^tasklane: TASKLANE_DISPATCH: expected one of priority, fifo, fair/);
  });

  it("logs the dispatch policy; with --no-scheduler a due schedule does not fire there, without it it does", async () => {
    const sub = tempDir("tasklane-cli-sched-");
    const subDb = `sqlite:${path.join(sub, "y.db")}`;
    try {
      const add = await cli(["schedule", "add", "every-second", "sleep", "--cron", "* * * * * *", "--params", '{"ms":1}', "--db", subDb], { cwd: sub });
      expect(add.code, add.stderr).toBe(0);
      const countTasks = async () => JSON.parse((await cli(["ls", "--json", "--db", subDb], { cwd: sub })).stdout).tasks.length as number;

      const quiet = background(["worker", "--db", subDb, "--dispatch", "fair", "--aging", "10m", "--no-scheduler", "--grace", "1s"], { cwd: sub });
      try {
        await waitFor("the worker to start", () => quiet.stdout().includes('"msg":"worker started"') || quiet.child.exitCode !== null);
        const started = quiet.stdout().split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.msg === "worker started");
        expect(started, quiet.stderr()).toMatchObject({ dispatch: "fair", agingMs: 600_000, scheduler: false });
        // Two whole seconds: a scheduler would have fired at least one tick by now.
        await new Promise((r) => setTimeout(r, 2500));
        expect(await countTasks()).toBe(0);
      } finally {
        quiet.child.kill("SIGTERM");
        await quiet.exited;
      }

      const firing = background(["worker", "--db", subDb, "--grace", "1s"], { cwd: sub, env: { TASKLANE_DISPATCH: "fifo" } });
      try {
        await waitFor("a scheduled task", async () => (await countTasks()) > 0);
        expect(firing.stdout()).toMatch(/"msg":"schedule fired"/);
        const started = firing.stdout().split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.msg === "worker started");
        expect(started).toMatchObject({ dispatch: "fifo", scheduler: true });
      } finally {
        firing.child.kill("SIGTERM");
        await firing.exited;
      }
    } finally {
      fs.rmSync(sub, { recursive: true, force: true });
    }
  });
});
