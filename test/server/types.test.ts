/**
 * Task-type routes (admin only): the queues of every type, pause and resume, over real HTTP on
 * a real SQLite file with a running worker.
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

describe("type routes", () => {
  it("an admin lists the queues, pauses a type (its tasks wait, saying why), and resumes it", async () => {
    const done = await h.call(h.admin, "POST", "/api/tasks", { type: "echo", params: { n: 1 } });
    await waitFor(async () => (await h.lane.get(done.json.id))?.status === "succeeded", "the first echo to succeed");

    const paused = await h.call(h.admin, "POST", "/api/types/echo/pause");
    expect(paused.status, paused.text).toBe(200);
    expect(paused.json).toMatchObject({ type: "echo", paused: true, nodes: 1 });
    expect(paused.json.pausedAt).toMatch(ISO);

    // Adds are accepted; the task waits and says why, in the list and on its own.
    const added = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", params: { n: 2 } });
    expect(added.status).toBe(201);
    const other = await h.call(h.alice, "POST", "/api/tasks", { type: "typed", params: { n: 3 } });
    await waitFor(async () => (await h.lane.get(other.json.id))?.status === "succeeded", "a task of another type to run");
    const waiting = await h.call(h.alice, "GET", `/api/tasks/${added.json.id}`);
    expect(waiting.json).toMatchObject({ status: "queued", waitReason: 'type "echo" is paused' });
    const page = await h.call(h.alice, "GET", "/api/tasks?type=echo&status=queued");
    expect(page.json.tasks.map((t: { waitReason: string }) => t.waitReason)).toEqual(['type "echo" is paused']);

    const list = await h.call(h.admin, "GET", "/api/types");
    expect(list.status).toBe(200);
    const echo = list.json.types.find((t: { type: string }) => t.type === "echo");
    expect(echo).toMatchObject({
      paused: true,
      running: 0,
      nodes: 1,
      throughput: { lastMinute: { succeeded: 1, failed: 0 }, lastHour: { succeeded: 1, failed: 0 } },
    });
    expect(echo.counts).toMatchObject({ queued: 1, succeeded: 1, failed: 0 });
    expect(echo.limit).toBeGreaterThan(0);
    expect(echo.oldestQueuedAgeMs).toBeGreaterThanOrEqual(0);
    // Every registered type has a row, by name.
    const names = list.json.types.map((t: { type: string }) => t.type);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["echo", "typed", "fails", "gated", "limited"]));

    const resumed = await h.call(h.admin, "POST", "/api/types/echo/resume");
    expect(resumed.json).toMatchObject({ type: "echo", paused: false, pausedAt: null });
    await waitFor(async () => (await h.lane.get(added.json.id))?.status === "succeeded", "the waiting echo to run once resumed");
  });

  it("is for admins only", async () => {
    for (const [method, route] of [["GET", "/api/types"], ["POST", "/api/types/echo/pause"], ["POST", "/api/types/echo/resume"]] as const) {
      expect((await h.call(h.alice, method, route)).status).toBe(403);
      expect((await h.call(null, method, route)).status).toBe(401);
    }
    expect((await h.lane.queues()).find((q) => q.type === "echo")!.paused).toBe(false);
  });

  it("refuses an unknown type (404) and a malformed name (400), naming the field, changing nothing", async () => {
    const unknown = await h.call(h.admin, "POST", "/api/types/exprot/pause");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: "TYPE_NOT_FOUND" });
    expect(unknown.json.error.message).toMatch(/task type "exprot" not found.*known types: .*echo/);
    const bad = await h.call(h.admin, "POST", "/api/types/-x/pause");
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toMatchObject({ field: "type" });
    const query = await h.call(h.admin, "GET", "/api/types?x=1");
    expect(query.status).toBe(400);
    expect(await h.lane.store.typePausedList()).toEqual([]);
  });
});
