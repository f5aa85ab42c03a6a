/** The response check every HTTP test runs (openapi-check.ts) refuses what the document does not say, and the drifts it was written for stay fixed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./helpers.js";
import { assertDocumentedEvent, assertDocumentedResponse } from "./openapi-check.js";

let h: Harness;
beforeAll(async () => {
  // A running worker makes this process a node, so a task pinned elsewhere has a wait reason.
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const JSON_TYPE = "application/json";

describe("the OpenAPI response check", () => {
  it("refuses a served field the document lacks, a documented field missing, and a wrong type", async () => {
    const added = await h.call(h.admin, "POST", "/api/tasks", { type: "echo" });
    expect(added.status).toBe(201);
    const task = (await h.call(h.admin, "GET", `/api/tasks/${added.json.id}`)).json;
    expect(() => assertDocumentedResponse("GET", `/api/tasks/${task.id}`, 200, JSON_TYPE, task)).not.toThrow();
    expect(() => assertDocumentedResponse("GET", `/api/tasks/${task.id}`, 200, JSON_TYPE, { ...task, colour: "red" })).toThrow(/colour/);
    const { priority: _priority, ...missing } = task;
    expect(() => assertDocumentedResponse("GET", `/api/tasks/${task.id}`, 200, JSON_TYPE, missing)).toThrow(/priority/);
    expect(() => assertDocumentedResponse("GET", `/api/tasks/${task.id}`, 200, JSON_TYPE, { ...task, attempt: "1" })).toThrow(/attempt/);
    // Nested objects are closed too.
    const page = (await h.call(h.admin, "GET", "/api/tasks")).json;
    const extra = { ...page, tasks: [{ ...page.tasks[0], backoff: { ...page.tasks[0].backoff, extra: 1 } }] };
    expect(() => assertDocumentedResponse("GET", "/api/tasks", 200, JSON_TYPE, extra)).toThrow(/extra/);
  });

  it("refuses an undocumented status, and anything but the error body from an undocumented route", () => {
    const error = { error: { code: "X", message: "x" } };
    expect(() => assertDocumentedResponse("GET", "/api/me", 418, JSON_TYPE, error)).toThrow(/not documented/);
    expect(() => assertDocumentedResponse("GET", "/api/nope", 404, JSON_TYPE, error)).not.toThrow();
    expect(() => assertDocumentedResponse("GET", "/api/nope", 404, JSON_TYPE, { message: "x" })).toThrow(/undocumented route/);
    expect(() => assertDocumentedResponse("GET", "/api/nope", 200, JSON_TYPE, {})).toThrow(/undocumented route/);
  });

  it("refuses an undocumented stream event and an event whose data is not its documented shape", () => {
    const event = { id: 1, at: new Date().toISOString(), taskId: "t", type: "echo", owner: null, kind: "added", status: "queued", attempt: 0, runNo: 0 };
    expect(() => assertDocumentedEvent("/api/events", "task", JSON.stringify(event))).not.toThrow();
    expect(() => assertDocumentedEvent("/api/events", "tick", JSON.stringify(event))).toThrow(/not documented/);
    expect(() => assertDocumentedEvent("/api/events", "task", JSON.stringify({ ...event, status: null }))).toThrow(/status/);
  });
});

describe("the drifts between server, document and dashboard, fixed", () => {
  it("documents waitReason, and a read of a task that waits for a node carries it", async () => {
    const added = await h.call(h.admin, "POST", "/api/tasks", { type: "echo", executor: "node-gone" });
    const read = await h.call(h.admin, "GET", `/api/tasks/${added.json.id}`);
    expect(read.status).toBe(200);
    expect(read.json.waitReason).toBe('pinned to node "node-gone", which has never been seen');
    const listed = await h.call(h.admin, "GET", "/api/tasks?status=queued");
    expect(listed.json.tasks.find((t: { id: string }) => t.id === added.json.id).waitReason).toBe(read.json.waitReason);
    expect(() => assertDocumentedResponse("GET", "/api/tasks/x", 200, JSON_TYPE, { ...read.json, waitReason: 3 })).toThrow(/waitReason/);
  });

  it("documents throughputPerMinute and failureRate under window, where the server sends them, not at the top level", async () => {
    const stats = (await h.call(h.admin, "GET", "/api/stats")).json;
    expect(stats.window).toHaveProperty("throughputPerMinute");
    expect(stats.window).toHaveProperty("failureRate");
    expect(stats).not.toHaveProperty("throughputPerMinute");
    const { throughputPerMinute, failureRate, ...window } = stats.window;
    expect(() => assertDocumentedResponse("GET", "/api/stats", 200, JSON_TYPE, { ...stats, window, throughputPerMinute, failureRate })).toThrow(/throughputPerMinute/);
  });

  it("types a task event's kind as the closed list of kinds", () => {
    const event = { id: 1, at: new Date().toISOString(), taskId: "t", type: "echo", owner: null, kind: "added", status: "queued", attempt: 0, runNo: 0 };
    expect(() => assertDocumentedEvent("/api/events", "task", JSON.stringify({ ...event, kind: "renamed" }))).toThrow(/kind/);
  });
});
