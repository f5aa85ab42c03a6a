import path from "node:path";
import { z } from "zod";
import { defineTask, NonRetryableError, serveHttp, Tasklane, type HttpServer } from "../../src/index.js";
import { tempDir } from "../helpers/temp.js";
import { assertDocumentedEvent, assertDocumentedResponse } from "./openapi-check.js";

/** Gates the tests open to let a `gated` task finish. */
const gates = new Map<string, () => void>();
export function openGate(name: string): void {
  const open = gates.get(name);
  if (!open) throw new Error(`gate ${name} is not waiting`);
  open();
}
export const gateWaiting = (name: string) => gates.has(name);

export const testTasks = [
  defineTask({ name: "echo", run: async (ctx) => ({ echo: ctx.params }) }),
  defineTask({
    name: "typed",
    params: z.strictObject({ n: z.number().int().min(0), label: z.string().max(20).optional() }),
    run: async (ctx) => ctx.params.n * 2,
  }),
  defineTask({
    name: "fails",
    run: async () => {
      throw new NonRetryableError("boom");
    },
  }),
  defineTask({
    name: "gated",
    params: z.object({ gate: z.string(), lines: z.number().int().optional() }),
    async run(ctx) {
      for (let i = 0; i < (ctx.params.lines ?? 0); i++) ctx.log.info(`before ${i}`);
      await new Promise<void>((resolve, reject) => {
        gates.set(ctx.params.gate, resolve);
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
      });
      gates.delete(ctx.params.gate);
      ctx.log.info("after gate");
      return "done";
    },
  }),
  defineTask({ name: "limited", maxQueued: 1, run: async () => null }),
];

export interface Harness {
  lane: Tasklane;
  server: HttpServer;
  url: string;
  file: string;
  admin: string;
  alice: string;
  bob: string;
  /** fetch with a token and JSON. */
  call(token: string | null, method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers; text: string }>;
  close(): Promise<void>;
}

/** A lane on a real SQLite file with the test task types, a real server on an ephemeral port, and three users. */
export async function startHarness(options: { worker?: boolean; bodyLimit?: number } = {}): Promise<Harness> {
  const tmp = tempDir("tasklane-http-");
  const file = path.join(tmp.dir, "http.db");
  const lane = await Tasklane.open({ db: `sqlite:${file}`, tasks: testTasks, worker: { pollIntervalMs: 50, maintenanceMs: 50, overload: false } });
  if (options.worker !== false) await lane.start();
  const admin = (await lane.users.add("root", { role: "admin" })).token.token;
  const alice = (await lane.users.add("alice")).token.token;
  const bob = (await lane.users.add("bob")).token.token;
  const server = await serveHttp(lane, { port: 0, bodyLimit: options.bodyLimit, eventsPollMs: 100, defaultMetrics: false });
  return {
    lane,
    server,
    url: server.url,
    file,
    admin,
    alice,
    bob,
    async call(token, method, route, body, headers = {}) {
      const h: Record<string, string> = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === "string" ? body : JSON.stringify(body);
        h["content-type"] ??= "application/json";
      }
      const res = await fetch(server.url + route, { method, headers: h, body: payload });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON (metrics)
      }
      // Every JSON answer must be the documented shape for its route and status.
      if (json !== undefined) assertDocumentedResponse(method, route, res.status, res.headers.get("content-type"), json);
      return { status: res.status, json, headers: res.headers, text };
    },
    async close() {
      await server.close();
      await lane.close({ graceMs: 0 });
      tmp.cleanup();
    },
  };
}

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: Headers;
  next(): Promise<SseMessage | null>;
  nextOf(event: string): Promise<SseMessage | null>;
  close(): void;
}

/**
 * Opens an event stream; `next()` returns the next message (comments skipped), its data checked
 * against the event's documented schema; `close()` aborts. A refusal (JSON) is checked too.
 */
export async function openSse(url: string, token: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers }, signal: abort.signal });
  const requestPath = new URL(url).pathname;
  if (res.headers.get("content-type")?.startsWith("application/json")) {
    const json = JSON.parse(await res.clone().text()) as unknown;
    assertDocumentedResponse("GET", requestPath, res.status, res.headers.get("content-type"), json);
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let ended = false;
  async function next(): Promise<SseMessage | null> {
    for (;;) {
      const cut = buffer.indexOf("\n\n");
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const msg: SseMessage = { event: "message", data: "" };
        const data: string[] = [];
        let any = false;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          any = true;
          if (field === "event") msg.event = value;
          else if (field === "id") msg.id = value;
          else if (field === "data") data.push(value);
        }
        if (!any) continue;
        msg.data = data.join("\n");
        assertDocumentedEvent(requestPath, msg.event, msg.data);
        return msg;
      }
      if (ended) return null;
      const { value, done } = await reader.read();
      if (done) ended = true;
      else buffer += value;
    }
  }
  return {
    status: res.status,
    headers: res.headers,
    next,
    /** The next message of this event type (others skipped). */
    async nextOf(event: string): Promise<SseMessage | null> {
      for (;;) {
        const m = await next();
        if (!m || m.event === event) return m;
      }
    },
    close() {
      abort.abort();
      reader.cancel().catch(() => {});
    },
  };
}
