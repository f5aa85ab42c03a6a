/** Both event streams (`/api/events`, a log follow) share one SSE path: the same keep-alive option, the same 400 on a bad Last-Event-ID, the same failure handling. */
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveHttp, Tasklane, type HttpServer } from "../../src/index.js";
import { tempDir } from "../helpers/temp.js";
import { testTasks } from "./helpers.js";
import { assertDocumentedEvent, documentedJson } from "./openapi-check.js";

let tmp: ReturnType<typeof tempDir>;
let lane: Tasklane;
let server: HttpServer;
let token: string;
let taskId: string;
const logged: Array<{ level: number; msg: string; path?: string; err?: { message: string } }> = [];

beforeAll(async () => {
  tmp = tempDir("tasklane-sse-");
  // No worker: the task stays queued, so its log follow stays open.
  lane = await Tasklane.open({ db: `sqlite:${path.join(tmp.dir, "sse.db")}`, tasks: testTasks });
  token = (await lane.users.add("root", { role: "admin" })).token.token;
  taskId = (await lane.add("echo", {}, { owner: "root" })).id;
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged.push(JSON.parse(String(chunk)));
      done();
    },
  });
  server = await serveHttp(lane, { port: 0, keepAliveMs: 50, defaultMetrics: false, logger: pino(sink) });
});
afterAll(async () => {
  await server.close();
  await lane.close();
  tmp.cleanup();
});

const streams = () => [
  { name: "/api/events", route: "/api/events" },
  { name: "log follow", route: `/api/tasks/${taskId}/logs?follow=1` },
];

/** Reads the raw stream until `until` matches the text so far (or 5 s pass), then hangs up. */
async function readUntil(route: string, until: RegExp): Promise<string> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  const res = await fetch(server.url + route, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  let text = "";
  try {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    while (!until.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } catch {
    // aborted after 5 s: the caller's expectation on `text` says what was missing
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return text;
}

describe("the event streams", () => {
  it.each(["/api/events", "log follow"])("%s refuses a malformed Last-Event-ID with 400 naming it", async (name) => {
    const { route } = streams().find((s) => s.name === name)!;
    const res = await fetch(server.url + route, { headers: { authorization: `Bearer ${token}`, "last-event-id": "12x" } });
    expect(res.status).toBe(400);
    const body = await documentedJson("GET", route, res);
    expect(body.error).toMatchObject({ code: "VALIDATION_FAILED", details: { field: "last-event-id" } });
  });

  it.each(["/api/events", "log follow"])("%s sends keep-alive comments at keepAliveMs", async (name) => {
    const { route } = streams().find((s) => s.name === name)!;
    // 50 ms configured, 15 s by default: two comments within 5 s come from the option.
    const text = await readUntil(route, /(: keepalive\n\n[^]*){2}/);
    expect(text.match(/: keepalive\n\n/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it.each(["/api/events", "log follow"])("%s logs a failure and ends with a bare error event", async (name) => {
    const { route } = streams().find((s) => s.name === name)!;
    const boom = async function* (): AsyncGenerator<never> {
      throw new Error("store on fire");
    };
    const saved = { logs: lane.logs, followTaskEvents: lane.followTaskEvents };
    lane.logs = boom;
    lane.followTaskEvents = boom;
    const before = logged.length;
    try {
      const text = await readUntil(route, /event: error\ndata: .*\n/);
      const data = /event: error\ndata: (.*)\n/.exec(text)?.[1];
      expect(data).toBeDefined();
      assertDocumentedEvent(route, "error", data!);
      expect(JSON.parse(data!)).toEqual({ code: "INTERNAL", message: "internal error" });
      expect(text).not.toContain("on fire");
    } finally {
      Object.assign(lane, saved);
    }
    const line = logged.slice(before).find((l) => l.msg === "event stream failed");
    expect(line).toMatchObject({ level: 50, path: route.split("?")[0], err: { message: "store on fire" } });
  });
});
