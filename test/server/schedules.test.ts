/**
 * Schedule routes (admin only) and follow-ups on POST /api/tasks, over real HTTP on a real
 * SQLite file with a running worker (and its scheduler).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/lane.js";
import { startHarness, type Harness } from "./helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const waitStatus = (id: string, statuses: string[]) =>
  waitFor(async () => {
    const t = await h.lane.get(id);
    return t && statuses.includes(t.status) ? t : null;
  }, `task ${id} to be ${statuses.join("|")}`);

describe("schedule routes", () => {
  it("an admin creates (201), updates (200), lists, reads, pauses, resumes, triggers and deletes a schedule", async () => {
    const body = {
      name: "nightly",
      type: "typed",
      cron: "0 3 * * *",
      tz: "Europe/Berlin",
      params: { n: 21 },
      options: { priority: 2, timeout: "1m" },
      missed: { catchUp: "1h" },
    };
    const created = await h.call(h.admin, "POST", "/api/schedules", body);
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get("location")).toBe("/api/schedules/nightly");
    // The shape the dashboard codes against.
    expect(created.json).toMatchObject({
      name: "nightly",
      type: "typed",
      cron: "0 3 * * *",
      tz: "Europe/Berlin",
      params: { n: 21 },
      options: { priority: 2, timeout: "1m" },
      missed: { policy: "catchUp", windowMs: 3_600_000 },
      paused: false,
      lastTickAt: null,
      lastTaskId: null,
      lastTaskStatus: null,
    });
    for (const field of ["createdAt", "updatedAt"]) expect(created.json[field]).toMatch(ISO);
    expect(created.json.nextFires).toHaveLength(3);
    for (const at of created.json.nextFires) {
      expect(at).toMatch(ISO);
      // 03:00 in Berlin is 01:00 or 02:00 UTC, depending on the season.
      expect(new Date(at).getUTCHours() === 2 || new Date(at).getUTCHours() === 1).toBe(true);
    }

    const updated = await h.call(h.admin, "POST", "/api/schedules", { ...body, cron: "30 4 * * 1-5", paused: true });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.json).toMatchObject({ name: "nightly", cron: "30 4 * * 1-5", paused: true, nextFires: [] });

    const list = await h.call(h.admin, "GET", "/api/schedules");
    expect(list.status).toBe(200);
    expect(list.json.schedules.map((s: any) => s.name)).toContain("nightly");

    const one = await h.call(h.admin, "GET", "/api/schedules/nightly");
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ name: "nightly", paused: true, ticks: [] });

    const resumed = await h.call(h.admin, "POST", "/api/schedules/nightly/resume");
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ paused: false });
    expect(resumed.json.nextFires).toHaveLength(3);
    const paused = await h.call(h.admin, "POST", "/api/schedules/nightly/pause");
    expect(paused.json).toMatchObject({ paused: true, nextFires: [] });

    // Trigger works while paused and adds exactly one task.
    const before = (await h.lane.list({ type: "typed", limit: 1000 })).tasks.length;
    const triggered = await h.call(h.admin, "POST", "/api/schedules/nightly/trigger");
    expect(triggered.status, triggered.text).toBe(201);
    expect(triggered.headers.get("location")).toBe(`/api/tasks/${triggered.json.id}`);
    expect(triggered.json).toMatchObject({ type: "typed", params: { n: 21 }, priority: 2, timeoutMs: 60_000, name: "nightly" });
    expect((await h.lane.list({ type: "typed", limit: 1000 })).tasks.length).toBe(before + 1);
    await waitStatus(triggered.json.id, ["succeeded"]);
    const after = await h.call(h.admin, "GET", "/api/schedules/nightly");
    expect(after.json).toMatchObject({ lastTaskId: triggered.json.id, lastTaskStatus: "succeeded" });

    const deleted = await h.call(h.admin, "DELETE", "/api/schedules/nightly");
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ name: "nightly", deleted: true });
    // The task it added stays.
    expect((await h.lane.get(triggered.json.id))?.status).toBe("succeeded");
    for (const [method, route] of [
      ["GET", "/api/schedules/nightly"],
      ["DELETE", "/api/schedules/nightly"],
      ["POST", "/api/schedules/nightly/pause"],
      ["POST", "/api/schedules/nightly/resume"],
      ["POST", "/api/schedules/nightly/trigger"],
    ] as const) {
      const r = await h.call(h.admin, method, route);
      expect(r.status, `${method} ${route}`).toBe(404);
      expect(r.json.error).toMatchObject({ code: "SCHEDULE_NOT_FOUND", message: 'schedule "nightly" not found' });
    }
  });

  it("fires on its cron through the running scheduler; GET shows the ticks", async () => {
    const r = await h.call(h.admin, "POST", "/api/schedules", { name: "each-second", type: "echo", cron: "* * * * * *", params: { tick: true } });
    expect(r.status, r.text).toBe(201);
    try {
      const withTicks = await waitFor(async () => {
        const s = await h.call(h.admin, "GET", "/api/schedules/each-second?ticks=5");
        return s.json.ticks.length > 0 ? s.json : null;
      }, "a tick of each-second");
      const [tick] = withTicks.ticks;
      expect(tick).toMatchObject({ schedule: "each-second", taskId: expect.any(String) });
      expect(tick.tickAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      const task = await waitStatus(tick.taskId, ["succeeded"]);
      expect(task.result).toEqual({ echo: { tick: true } });
    } finally {
      await h.call(h.admin, "DELETE", "/api/schedules/each-second");
    }
  });

  it("plain users get 403 on every schedule route, and nothing changes", async () => {
    await h.lane.schedule("admins-only", { type: "echo", cron: "0 0 1 1 *" });
    const routes = [
      ["GET", "/api/schedules", undefined],
      ["POST", "/api/schedules", { name: "mine", type: "echo", cron: "* * * * *" }],
      ["GET", "/api/schedules/admins-only", undefined],
      ["DELETE", "/api/schedules/admins-only", undefined],
      ["POST", "/api/schedules/admins-only/pause", undefined],
      ["POST", "/api/schedules/admins-only/resume", undefined],
      ["POST", "/api/schedules/admins-only/trigger", undefined],
    ] as const;
    for (const [method, route, body] of routes) {
      const r = await h.call(h.alice, method, route, body);
      expect(r.status, `${method} ${route}`).toBe(403);
      expect(r.json.error.code).toBe("FORBIDDEN");
      expect((await h.call(null, method, route, body)).status, `${method} ${route} without a token`).toBe(401);
    }
    expect(await h.lane.getSchedule("mine")).toBeNull();
    const kept = await h.lane.getSchedule("admins-only");
    expect(kept).toMatchObject({ paused: false, lastTaskId: null });
    await h.lane.unschedule("admins-only");
  });

  it("refuses an invalid cron, an unknown zone and other bad input with 400 naming the field; nothing is stored", async () => {
    const base = { name: "bad", type: "typed", cron: "0 3 * * *", params: { n: 1 } };
    const cases: Array<[Record<string, unknown>, string, string, RegExp]> = [
      [{ cron: "61 * * * *" }, "VALIDATION_FAILED", "cron", /^cron: "61 \* \* \* \*" is invalid/],
      [{ cron: "0 3 * *" }, "VALIDATION_FAILED", "cron", /^cron: .* has 4 field\(s\)/],
      [{ cron: "" }, "VALIDATION_FAILED", "cron", /^cron: /],
      [{ tz: "Mars/Olympus" }, "VALIDATION_FAILED", "tz", /^tz: "Mars\/Olympus" is not an IANA time zone/],
      [{ name: "no spaces" }, "VALIDATION_FAILED", "name", /^name: /],
      [{ type: "nope" }, "UNKNOWN_TASK_TYPE", "type", /unknown task type "nope"/],
      [{ params: { n: -1 } }, "VALIDATION_FAILED", "params.n", /^params\.n: /],
      [{ options: { key: "k" } }, "VALIDATION_FAILED", "options.key", /unknown field/],
      [{ missed: "sometimes" }, "VALIDATION_FAILED", "missed", /^missed: /],
      [{ missed: { catchUp: "soon" } }, "VALIDATION_FAILED", "missed.catchUp", /^missed\.catchUp: "soon" is not a duration/],
      [{ extra: 1 }, "VALIDATION_FAILED", "extra", /unknown field/],
    ];
    for (const [change, code, field, message] of cases) {
      const r = await h.call(h.admin, "POST", "/api/schedules", { ...base, ...change });
      expect(r.status, `${JSON.stringify(change)}: ${r.text}`).toBe(400);
      expect(r.json.error.code, JSON.stringify(change)).toBe(code);
      expect(r.json.error.details.field, JSON.stringify(change)).toBe(field);
      expect(r.json.error.message, JSON.stringify(change)).toMatch(message);
    }
    expect((await h.call(h.admin, "GET", "/api/schedules")).json.schedules.map((s: any) => s.name)).not.toContain("bad");
    expect((await h.call(h.admin, "GET", "/api/schedules/bad%20name")).status).toBe(400);
  });

  it("is described in the OpenAPI document", async () => {
    const doc = (await h.call(null, "GET", "/api/openapi.json")).json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/schedules", "/api/schedules/{name}", "/api/schedules/{name}/pause", "/api/schedules/{name}/resume", "/api/schedules/{name}/trigger"]),
    );
    expect(doc.paths["/api/schedules"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ScheduleInput" });
    expect(doc.components.schemas.Schedule.properties).toHaveProperty("nextFires");
    expect(doc.components.schemas.AddTask.properties).toHaveProperty("then");
    expect(doc.components.schemas.FollowUpOptions.properties.then).toEqual({ $ref: "#/components/schemas/FollowUpList" });
  });
});

describe("follow-ups and groups on POST /api/tasks", () => {
  it("a then chain added over HTTP runs in order; each child shows its parent and belongs to the caller", async () => {
    const r = await h.call(h.admin, "POST", "/api/tasks", {
      type: "typed",
      params: { n: 5 },
      owner: "alice",
      group: "customer-1",
      then: [{ type: "echo", params: { step: 2 }, options: { then: [{ type: "echo", params: { step: 3 } }] } }],
      onFailure: [{ type: "echo", params: { cleanup: true } }],
    });
    expect(r.status, r.text).toBe(201);
    const id = r.json.id as string;
    expect(r.json).toMatchObject({ group: "customer-1", parent: null, owner: "alice" });
    expect(r.json.followUps.map((f: any) => [f.id, f.type, f.on])).toEqual([
      [`${id}.1`, "echo", "success"],
      [`${id}.2`, "echo", "failure"],
    ]);

    await waitStatus(`${id}.1.1`, ["succeeded"]);
    const child = await h.call(h.alice, "GET", `/api/tasks/${id}.1`);
    expect(child.status, child.text).toBe(200);
    expect(child.json).toMatchObject({ status: "succeeded", owner: "alice", parent: { id, type: "typed", status: "succeeded", result: 10 }, result: { echo: { step: 2 } } });
    const grandchild = await h.call(h.alice, "GET", `/api/tasks/${id}.1.1`);
    expect(grandchild.json).toMatchObject({ owner: "alice", parent: { id: `${id}.1`, status: "succeeded", result: { echo: { step: 2 } } } });
    // Order: each link started after its parent finished.
    const [p, c, g] = await Promise.all([id, `${id}.1`, `${id}.1.1`].map(async (x) => (await h.lane.get(x))!));
    expect(c.startedAt!.getTime()).toBeGreaterThanOrEqual(p.finishedAt!.getTime());
    expect(g.startedAt!.getTime()).toBeGreaterThanOrEqual(c.finishedAt!.getTime());
    // The failure branch never ran; another user sees none of the chain.
    expect((await h.call(h.alice, "GET", `/api/tasks/${id}.2`)).status).toBe(404);
    expect((await h.call(h.bob, "GET", `/api/tasks/${id}.1`)).status).toBe(404);
  });

  it("onFailure follow-ups run when the parent fails for good, with its error; then does not", async () => {
    const r = await h.call(h.bob, "POST", "/api/tasks", { type: "fails", then: [{ type: "echo" }], onFailure: [{ type: "echo", params: { why: "cleanup" } }] });
    expect(r.status, r.text).toBe(201);
    const id = r.json.id as string;
    await waitStatus(`${id}.2`, ["succeeded"]);
    const failure = await h.call(h.bob, "GET", `/api/tasks/${id}.2`);
    expect(failure.json).toMatchObject({ owner: "bob", parent: { id, status: "failed", error: { message: "boom" } } });
    expect((await h.call(h.bob, "GET", `/api/tasks/${id}.1`)).status).toBe(404);
  });

  it("a plain user cannot smuggle a sql task (or another owner) in through follow-ups at any depth: 403, nothing stored", async () => {
    const total = async () => (await h.lane.stats()).total;
    const before = await total();
    const sql = { type: "sql", params: { sql: "DELETE FROM tasks" } };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ then: [sql] }, "then[0].type"],
      [{ onFailure: [{ type: "echo" }, sql] }, "onFailure[1].type"],
      [{ then: [{ type: "echo", options: { then: [{ type: "echo", options: { onFailure: [sql] } }] } }] }, "then[0].options.then[0].options.onFailure[0].type"],
      [{ then: [{ type: "echo", options: { owner: "bob" } }] }, "then[0].options.owner"],
      [{ group: "someone-else" }, "group"],
      [{ then: [{ type: "echo", options: { group: "g" } }] }, "then[0].options.group"],
    ];
    for (const [extra, field] of cases) {
      const r = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", ...extra });
      expect(r.status, `${field}: ${r.text}`).toBe(403);
      expect(r.json.error).toMatchObject({ code: "FORBIDDEN", details: { field } });
    }
    // An admin is not refused by the guard; here the type is merely not enabled.
    const admin = await h.call(h.admin, "POST", "/api/tasks", { type: "echo", then: [sql] });
    expect(admin.status, admin.text).toBe(400);
    expect(admin.json.error.code).toBe("SQL_TASKS_DISABLED");
    expect(await total()).toBe(before);
  });

  it("refuses malformed follow-ups with 400 naming the field", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ then: { type: "echo" } }, "then"],
      [{ then: [{ params: {} }] }, "then.0.type"],
      [{ then: [{ type: "echo", options: { key: "k" } }] }, "then.0.options.key"],
      [{ then: [{ type: "echo", extra: 1 }] }, "then.0.extra"],
      [{ then: [{ type: "typed", params: { n: "x" } }] }, "then[0].params.n"],
      [{ then: [{ type: "echo", options: { onFailure: [{ type: "typed" }] } }] }, "then[0].options.onFailure[0].params.n"],
      [{ then: [{ type: "nope" }] }, "then[0].type"],
      [{ group: "" }, "group"],
    ];
    for (const [extra, field] of cases) {
      const r = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", ...extra });
      expect(r.status, `${JSON.stringify(extra)}: ${r.text}`).toBe(400);
      expect(r.json.error.details.field, JSON.stringify(extra)).toBe(field);
    }
  });
});
