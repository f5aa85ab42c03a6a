/** Live streams (log follow, task events with Last-Event-ID), metrics and the OpenAPI document. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tasklane } from "../../src/index.js";
import { waitFor } from "../helpers/lane.js";
import { gateWaiting, openGate, openSse, startHarness, testTasks, type Harness } from "./helpers.js";
import { documentedJson } from "./openapi-check.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe("log follow", () => {
  it("receives lines live and ends when the task ends", async () => {
    const id = (await h.call(h.alice, "POST", "/api/tasks", { type: "gated", params: { gate: "follow", lines: 2 } })).json.id;
    await waitFor(() => gateWaiting("follow"), "the handler to wait");
    const s = await openSse(`${h.url}/api/tasks/${id}/logs?follow=1`, h.alice);
    expect(s.status).toBe(200);
    expect(s.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const first = await s.nextOf("log");
    expect(JSON.parse(first!.data)).toMatchObject({ taskId: id, message: "before 0", level: "info" });
    expect(first!.id).toBe(String(JSON.parse(first!.data).id));
    expect(JSON.parse((await s.nextOf("log"))!.data).message).toBe("before 1");
    // The task is still running: the stream is open. Now let it finish.
    openGate("follow");
    expect(JSON.parse((await s.nextOf("log"))!.data).message).toBe("after gate");
    const end = await s.next();
    expect(end!.event).toBe("end");
    expect(JSON.parse(end!.data)).toEqual({ id, status: "succeeded" });
    expect(await s.next()).toBeNull(); // the server closed the stream
  });

  it("resumes a log follow with Last-Event-ID", async () => {
    const id = (await h.call(h.alice, "POST", "/api/tasks", { type: "gated", params: { gate: "resume-logs", lines: 3 } })).json.id;
    await waitFor(() => gateWaiting("resume-logs"), "the handler to wait");
    openGate("resume-logs");
    await waitFor(async () => (await h.lane.get(id))?.status === "succeeded", "the task to succeed");
    const all = (await h.call(h.alice, "GET", `/api/tasks/${id}/logs`)).json.logs;
    const s = await openSse(`${h.url}/api/tasks/${id}/logs?follow=1`, h.alice, { "last-event-id": String(all[1].id) });
    const rest: string[] = [];
    for (let m = await s.next(); m && m.event === "log"; m = await s.next()) rest.push(JSON.parse(m.data).message);
    expect(rest).toEqual(["before 2", "after gate"]);
  });
});

describe("task event stream", () => {
  it("delivers every change of the caller's tasks, and resumes with Last-Event-ID without loss, across processes", async () => {
    const s1 = await openSse(`${h.url}/api/events`, h.alice);
    await s1.nextOf("ready");
    const id = (await h.call(h.alice, "POST", "/api/tasks", { type: "echo", params: { a: 1 } })).json.id;
    const kinds: string[] = [];
    let lastId = "";
    while (kinds.length < 3) {
      const m = (await s1.nextOf("task"))!;
      const e = JSON.parse(m.data);
      expect(e.taskId).toBe(id);
      kinds.push(e.kind);
      lastId = m.id!;
    }
    expect(kinds).toEqual(["added", "started", "succeeded"]);
    s1.close();

    // While nobody listens, another process on the same database adds and cancels tasks.
    const other = await Tasklane.open({ db: `sqlite:${h.file}`, tasks: testTasks });
    const missed: string[] = [];
    try {
      for (let i = 0; i < 3; i++) missed.push((await other.add("echo", { i }, { owner: "alice", delay: "1h" })).id);
      await other.cancel(missed[0]!);
      await other.add("echo", {}, { owner: "bob", delay: "1h" }); // not alice's
    } finally {
      await other.close();
    }
    const s2 = await openSse(`${h.url}/api/events`, h.alice, { "last-event-id": lastId });
    const got: Array<[string, string]> = [];
    while (got.length < 4) {
      const e = JSON.parse((await s2.nextOf("task"))!.data);
      got.push([e.taskId, e.kind]);
    }
    expect(got).toEqual([
      [missed[0], "added"],
      [missed[1], "added"],
      [missed[2], "added"],
      [missed[0], "cancelled"],
    ]);
    // Live again: a change made now in this process arrives on the resumed stream.
    await h.call(h.alice, "DELETE", `/api/tasks/${missed[1]}`);
    expect(JSON.parse((await s2.nextOf("task"))!.data)).toMatchObject({ taskId: missed[1], kind: "deleted" });
    s2.close();
  });

  it("refuses a malformed Last-Event-ID", async () => {
    const r = await h.call(h.alice, "GET", "/api/events", undefined, { "last-event-id": "abc" });
    expect(r.status).toBe(400);
    expect(r.json.error.details.field).toBe("last-event-id");
  });
});

/** Parses Prometheus text exposition into { "name{labels}": value }; throws on a malformed line. */
function parseProm(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) {
      if (line.startsWith("#") && !/^# (HELP|TYPE) [a-zA-Z_:][\w:]* .+$/.test(line)) throw new Error(`bad comment: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (-?[\d.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

describe("metrics and health", () => {
  it("/metrics parses as Prometheus text and its counters move when tasks run", async () => {
    const before = parseProm((await h.call(h.admin, "GET", "/metrics")).text);
    const id = (await h.call(h.alice, "POST", "/api/tasks", { type: "echo" })).json.id;
    await waitFor(async () => (await h.lane.get(id))?.status === "succeeded", "the task to succeed");
    const r = await h.call(h.admin, "GET", "/metrics");
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    const after = parseProm(r.text);
    const get = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
    expect(get(after, 'tasklane_runs_started_total{type="echo"}')).toBe(get(before, 'tasklane_runs_started_total{type="echo"}') + 1);
    expect(get(after, 'tasklane_runs_succeeded_total{type="echo"}')).toBe(get(before, 'tasklane_runs_succeeded_total{type="echo"}') + 1);
    expect(get(after, 'tasklane_run_duration_seconds_count{type="echo",outcome="succeeded"}')).toBeGreaterThan(0);
    expect(get(after, 'tasklane_tasks{status="succeeded",type="echo"}')).toBeGreaterThan(0);
    expect(after.has("tasklane_queue_oldest_age_seconds")).toBe(true);
    expect(after.get(`tasklane_node_capacity{node="${h.lane.node}"}`)).toBeGreaterThan(0);
    // The node's isolation pools (none started here: its types run inline).
    expect(after.get('tasklane_runners{mode="thread",state="busy"}')).toBe(0);
    expect(after.get('tasklane_runners_replaced{mode="process",reason="died"}')).toBe(0);
  });

  it("/healthz answers without auth", async () => {
    const r = await h.call(null, "GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: "ok", worker: "running" });
  });
});

describe("OpenAPI", () => {
  it("is an OpenAPI 3.1 document covering every route, generated from the request schemas", async () => {
    const r = await h.call(null, "GET", "/api/openapi.json");
    expect(r.status).toBe(200);
    const doc = r.json;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBeTruthy();
    const routes = [
      ["post", "/api/tasks"],
      ["get", "/api/tasks"],
      ["get", "/api/tasks/{id}"],
      ["delete", "/api/tasks/{id}"],
      ["post", "/api/tasks/{id}/cancel"],
      ["post", "/api/tasks/{id}/retry"],
      ["get", "/api/tasks/{id}/runs"],
      ["get", "/api/tasks/{id}/logs"],
      ["get", "/api/events"],
      ["get", "/api/stats"],
      ["get", "/api/nodes"],
      ["get", "/api/me"],
      ["get", "/api/openapi.json"],
      ["get", "/healthz"],
      ["get", "/metrics"],
      ["get", "/"],
    ];
    for (const [method, path] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeTruthy();
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      for (const p of op.parameters ?? []) expect(["query", "path", "header"]).toContain(p.in);
      if (path.includes("{id}")) expect(op.parameters.some((p: any) => p.in === "path" && p.name === "id" && p.required)).toBe(true);
      if (op.security) expect(doc.components.securitySchemes[Object.keys(op.security[0])[0]!]).toBeTruthy();
    }
    // Every documented path answers something other than "no such route", in its documented shape.
    for (const [method, path] of routes) {
      const route = path.replace("{id}", "x");
      const res = await fetch(h.url + route, { method: method.toUpperCase(), headers: { authorization: `Bearer ${h.admin}` } });
      const type = res.headers.get("content-type");
      if (type?.startsWith("text/event-stream")) await res.body?.cancel();
      else if (type?.startsWith("application/json")) expect(JSON.stringify(await documentedJson(method, route, res)), `${method} ${path}`).not.toContain('"NOT_FOUND"');
      else expect((await res.text()).includes('"NOT_FOUND"'), `${method} ${path}`).toBe(false);
    }
    // The request body schema is the validating one: strict, with the add options.
    const ref = doc.paths["/api/tasks"].post.requestBody.content["application/json"].schema.$ref as string;
    expect(ref).toBe("#/components/schemas/AddTask");
    const body = doc.components.schemas.AddTask;
    // Every reference resolves.
    for (const m of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas[m[1]!], m[1]).toBeTruthy();
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(["type"]);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["params", "priority", "delay", "runAt", "key", "owner", "deadline"]));
    const list = doc.paths["/api/tasks"].get.parameters.map((p: any) => p.name);
    expect(list).toEqual(expect.arrayContaining(["status", "type", "owner", "key", "createdFrom", "createdTo", "q", "cursor", "limit", "order"]));
  });
});
