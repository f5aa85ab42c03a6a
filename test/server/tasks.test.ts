/** Every task route's success path and every kind of bad input, over real HTTP on a real SQLite file. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/lane.js";
import { openGate, startHarness, gateWaiting, type Harness } from "./helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const total = async () => (await h.lane.stats()).total;
const waitStatus = (id: string, statuses: string[]) =>
  waitFor(async () => {
    const t = await h.lane.get(id);
    return t && statuses.includes(t.status) ? t : null;
  }, `task ${id} to be ${statuses.join("|")}`);

describe("task routes", () => {
  it("POST /api/tasks adds a task owned by the caller with every per-add option", async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const r = await h.call(h.alice, "POST", "/api/tasks", {
      type: "echo",
      params: { x: 1 },
      priority: 3,
      attempts: 5,
      backoff: { type: "fixed", delay: "2s" },
      timeout: "1m",
      cpu: 50,
      executor: "nowhere",
      maxRuns: 9,
      deleteAfter: "1d",
      runAt,
      deadline: "2h",
      key: "order-1",
      name: "an order",
      description: "d",
    });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get("location")).toBe(`/api/tasks/${r.json.id}`);
    expect(r.json).toMatchObject({
      type: "echo",
      params: { x: 1 },
      status: "scheduled",
      priority: 3,
      maxAttempts: 5,
      backoff: { type: "fixed", delayMs: 2000 },
      timeoutMs: 60_000,
      cpu: 50,
      executor: "nowhere",
      maxRuns: 9,
      deleteAfterMs: 86_400_000,
      runAt,
      key: "order-1",
      owner: "alice",
      name: "an order",
      created: true,
    });
    // The same key while live: the existing task, 200.
    const again = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", key: "order-1" });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: r.json.id, created: false });
    // Another user's live key: 409 without revealing the task.
    const other = await h.call(h.bob, "POST", "/api/tasks", { type: "echo", key: "order-1" });
    expect(other.status).toBe(409);
    expect(other.json.error).toMatchObject({ code: "KEY_CONFLICT", details: { field: "key" } });
    expect(other.text).not.toContain(r.json.id);
    expect((await h.call(h.alice, "DELETE", `/api/tasks/${r.json.id}`)).status).toBe(200);
  });

  it("GET /api/tasks/:id shows progress, result, attempt and node once run; runs and logs", async () => {
    const add = await h.call(h.alice, "POST", "/api/tasks", { type: "gated", params: { gate: "g-show", lines: 3 } });
    expect(add.status).toBe(201);
    const id = add.json.id as string;
    await waitFor(() => gateWaiting("g-show"), "the handler to wait");
    const running = await h.call(h.alice, "GET", `/api/tasks/${id}`);
    expect(running.json).toMatchObject({ id, status: "running", attempt: 1, node: h.lane.node });
    openGate("g-show");
    await waitStatus(id, ["succeeded"]);
    const done = await h.call(h.alice, "GET", `/api/tasks/${id}`);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ status: "succeeded", result: "done", attempt: 1, node: h.lane.node, error: null });
    const runs = await h.call(h.alice, "GET", `/api/tasks/${id}/runs`);
    expect(runs.status).toBe(200);
    expect(runs.json.runs).toHaveLength(1);
    expect(runs.json.runs[0]).toMatchObject({ taskId: id, runNo: 1, outcome: "succeeded", node: h.lane.node, runId: `${id}#1` });
    const logs = await h.call(h.alice, "GET", `/api/tasks/${id}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.json.logs.map((l: any) => l.message)).toEqual(["before 0", "before 1", "before 2", "after gate"]);
    const page = await h.call(h.alice, "GET", `/api/tasks/${id}/logs?after=${logs.json.logs[1].id}&limit=1`);
    expect(page.json.logs.map((l: any) => l.message)).toEqual(["before 2"]);
    expect(page.json.more).toBe(true);
  });

  it("cancel, retry and delete", async () => {
    const add = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", delay: "1h" });
    const id = add.json.id as string;
    const cancelled = await h.call(h.alice, "POST", `/api/tasks/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe("cancelled");
    const retried = await h.call(h.alice, "POST", `/api/tasks/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.json.status).toBe("queued");
    await waitStatus(id, ["succeeded"]);
    // Retrying a succeeded task is a state conflict.
    const bad = await h.call(h.alice, "POST", `/api/tasks/${id}/retry`);
    expect(bad.status).toBe(409);
    expect(bad.json.error.code).toBe("INVALID_STATE");
    const del = await h.call(h.alice, "DELETE", `/api/tasks/${id}`);
    expect(del.json).toEqual({ id, deleted: true });
    expect((await h.call(h.alice, "GET", `/api/tasks/${id}`)).status).toBe(404);
    // A running task cannot be deleted, but can be cancelled.
    const run = await h.call(h.alice, "POST", "/api/tasks", { type: "gated", params: { gate: "g-cancel" } });
    await waitFor(() => gateWaiting("g-cancel"), "the handler to wait");
    expect((await h.call(h.alice, "DELETE", `/api/tasks/${run.json.id}`)).status).toBe(409);
    expect((await h.call(h.alice, "POST", `/api/tasks/${run.json.id}/cancel`)).status).toBe(200);
    await waitStatus(run.json.id, ["cancelled"]);
  });

  it("GET /api/tasks filters by status, type, key, created range and text, with a keyset cursor and order", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await h.call(h.bob, "POST", "/api/tasks", { type: "echo", delay: "1h", name: `Report ${i}`, key: `list-${i}` });
      ids.push(r.json.id);
    }
    const all = await h.call(h.bob, "GET", "/api/tasks?status=scheduled&type=echo&limit=2");
    expect(all.status).toBe(200);
    expect(all.json.tasks.map((t: any) => t.id)).toEqual([ids[4], ids[3]]);
    const next = await h.call(h.bob, "GET", `/api/tasks?status=scheduled&type=echo&limit=2&cursor=${all.json.nextCursor}`);
    expect(next.json.tasks.map((t: any) => t.id)).toEqual([ids[2], ids[1]]);
    const asc = await h.call(h.bob, "GET", "/api/tasks?status=scheduled,queued&order=asc&limit=1");
    expect(asc.json.tasks[0].id).toBe(ids[0]);
    expect((await h.call(h.bob, "GET", "/api/tasks?key=list-3")).json.tasks.map((t: any) => t.id)).toEqual([ids[3]]);
    expect((await h.call(h.bob, "GET", "/api/tasks?q=REPORT%203")).json.tasks.map((t: any) => t.id)).toEqual([ids[3]]);
    expect((await h.call(h.bob, "GET", `/api/tasks?q=${ids[2]}`)).json.tasks.map((t: any) => t.id)).toEqual([ids[2]]);
    const created = (await h.lane.get(ids[2]!))!.createdAt.getTime();
    const range = await h.call(h.bob, "GET", `/api/tasks?createdFrom=${created}&createdTo=${new Date(created + 1).toISOString()}`);
    expect(range.json.tasks.map((t: any) => t.id)).toContain(ids[2]);
    expect(range.json.tasks.every((t: any) => Date.parse(t.createdAt) === created)).toBe(true);
    for (const id of ids) await h.call(h.bob, "POST", `/api/tasks/${id}/cancel`);
  });

  it("stores strings that look like SQL or HTML verbatim and serves them as JSON, never markup", async () => {
    const evil = `'); DROP TABLE tasks; -- <script>alert(1)</script>`;
    const r = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", delay: "1h", name: evil, description: evil, params: { s: evil } });
    expect(r.status).toBe(201);
    const got = await h.call(h.alice, "GET", `/api/tasks/${r.json.id}`);
    expect(got.headers.get("content-type")).toMatch(/^application\/json/);
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    expect(got.json).toMatchObject({ name: evil, description: evil, params: { s: evil } });
    expect((await h.call(h.alice, "GET", `/api/tasks?q=${encodeURIComponent("drop table")}`)).json.tasks.map((t: any) => t.id)).toContain(r.json.id);
    await h.call(h.alice, "DELETE", `/api/tasks/${r.json.id}`);
  });

  it("sends secure headers and JSON for unknown routes", async () => {
    const r = await h.call(h.alice, "GET", "/api/nope");
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("NOT_FOUND");
    expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("bad input: a 4xx naming the field, and nothing stored", () => {
  const cases: Array<[string, unknown, number, string, string]> = [
    ["malformed JSON", "{not json", 400, "INVALID_JSON", "body"],
    ["empty body", "", 400, "INVALID_JSON", "body"],
    ["a JSON array", [1, 2], 400, "VALIDATION_FAILED", "(root)"],
    ["unknown type", { type: "nope" }, 400, "UNKNOWN_TASK_TYPE", "type"],
    ["missing type", { params: {} }, 400, "VALIDATION_FAILED", "type"],
    ["params failing the type's schema", { type: "typed", params: { n: "x" } }, 400, "VALIDATION_FAILED", "params.n"],
    ["unknown field in params", { type: "typed", params: { n: 1, extra: 1 } }, 400, "VALIDATION_FAILED", "params"],
    ["negative integer", { type: "echo", attempts: -1 }, 400, "VALIDATION_FAILED", "attempts"],
    ["non-integer", { type: "echo", priority: 1.5 }, 400, "VALIDATION_FAILED", "priority"],
    ["unknown field", { type: "echo", colour: "red" }, 400, "VALIDATION_FAILED", "colour"],
    ["over-long string", { type: "echo", key: "k".repeat(256) }, 400, "VALIDATION_FAILED", "key"],
    ["over-long name", { type: "echo", name: "n".repeat(501) }, 400, "VALIDATION_FAILED", "name"],
    ["bad duration", { type: "echo", delay: "soon" }, 400, "VALIDATION_FAILED", "delay"],
    ["bad date", { type: "echo", runAt: "yesterday-ish" }, 400, "VALIDATION_FAILED", "runAt"],
    ["owner set by a user", { type: "echo", owner: "bob" }, 403, "FORBIDDEN", "owner"],
    ["admin-only sql type", { type: "sql", params: { statement: "DELETE FROM tasks" } }, 403, "FORBIDDEN", "type"],
  ];
  for (const [what, body, status, code, field] of cases) {
    it(`${what} → ${status} ${code} (${field})`, async () => {
      const before = await total();
      const r = await h.call(h.alice, "POST", "/api/tasks", body);
      expect(r.status, r.text).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(r.json.error.message).toContain(field === "(root)" ? "" : field);
      expect(r.json.error.details.field).toBe(field);
      expect(r.text).not.toMatch(/\n\s+at /); // no stack traces
      expect(await total()).toBe(before);
    });
  }

  it("a body over the limit → 413", async () => {
    const before = await total();
    const r = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", params: { blob: "x".repeat(1024 * 1024 + 10) } });
    expect(r.status).toBe(413);
    expect(r.json.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { field: "body" } });
    expect(await total()).toBe(before);
  });

  it("a non-JSON content type → 415", async () => {
    const r = await h.call(h.alice, "POST", "/api/tasks", "type=echo", { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(415);
    expect(r.json.error.details.field).toBe("content-type");
  });

  it("a full queue → 429 QUEUE_FULL, the second task not stored", async () => {
    await h.lane.stop({ graceMs: 0 });
    try {
      expect((await h.call(h.alice, "POST", "/api/tasks", { type: "limited" })).status).toBe(201);
      const before = await total();
      const r = await h.call(h.alice, "POST", "/api/tasks", { type: "limited" });
      expect(r.status).toBe(429);
      expect(r.json.error.code).toBe("QUEUE_FULL");
      expect(await total()).toBe(before);
    } finally {
      await h.lane.start();
    }
  });

  it("invalid ids, queries and cursors → 400 naming the field", async () => {
    const bad: Array<[string, string]> = [
      ["/api/tasks/" + "x".repeat(201), "id"],
      ["/api/tasks/a%20b", "id"],
      ["/api/tasks?limit=0", "limit"],
      ["/api/tasks?limit=-5", "limit"],
      ["/api/tasks?limit=2.5", "limit"],
      ["/api/tasks?status=sleeping", "status"],
      ["/api/tasks?order=sideways", "order"],
      ["/api/tasks?createdFrom=notadate", "createdFrom"],
      ["/api/tasks?cursor=garbage", "cursor"],
      ["/api/tasks?colour=red", "colour"],
      ["/api/tasks/x/logs?after=-1", "after"],
      ["/api/stats?x=1", "x"],
    ];
    for (const [route, field] of bad) {
      const r = await h.call(h.alice, "GET", route);
      expect(r.status, `${route}: ${r.text}`).toBe(400);
      expect(r.json.error.details.field, route).toBe(field);
    }
  });
});
