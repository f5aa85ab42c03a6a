/** Rough edges of the HTTP API a new user met (issue 13), over real HTTP on a real SQLite file. */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h.close();
});

const total = async () => (await h.lane.stats()).total;

describe("values that cannot work", () => {
  it("a timeout of 0 → 400 naming timeout and the allowed range, nothing stored", async () => {
    const before = await total();
    for (const timeout of [0, "0s"]) {
      const r = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", timeout });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.details.field).toBe("timeout");
      expect(r.json.error.message).toMatch(/timeout: .* is not allowed; use 1ms to 100 years/);
    }
    expect(await total()).toBe(before);
  });
});

describe("misspelt fields", () => {
  it("an unknown body or query field → 400 naming it and the nearest known field, nothing stored", async () => {
    const before = await total();
    const r = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", priorty: 1 });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ message: "priorty: unknown field; did you mean priority?", details: { field: "priorty" } });
    const nested = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", backoff: { delya: "1s" } });
    expect(nested.status).toBe(400);
    expect(nested.json.error.message).toBe("backoff.delya: unknown field; did you mean delay?");
    const far = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", colour: "red" });
    expect(far.json.error.message).toBe("colour: unknown field");
    const q = await h.call(h.alice, "GET", "/api/tasks?stauts=running");
    expect(q.status).toBe(400);
    expect(q.json.error.message).toBe("stauts: unknown field; did you mean status?");
    expect(await total()).toBe(before);
  });
});

describe("dates, content types and big bodies", () => {
  it("an impossible calendar date → 400 naming the field, not rolled over", async () => {
    const before = await total();
    const add = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", runAt: "2024-02-30" });
    expect(add.status).toBe(400);
    expect(add.json.error).toMatchObject({ message: 'runAt: "2024-02-30" is not a day of the calendar: February 2024 has 29 days', details: { field: "runAt" } });
    const deadline = await h.call(h.alice, "POST", "/api/tasks", { type: "echo", deadline: "2031-06-31T10:00:00Z" });
    expect(deadline.json.error.details.field).toBe("deadline");
    for (const query of ["createdTo=2024-02-30", "createdFrom=2024-13-01", "createdFrom=2024-01-01T25:00:00Z"]) {
      const r = await h.call(h.alice, "GET", `/api/tasks?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json.error.details.field, query).toBe(query.split("=")[0]);
    }
    expect((await h.call(h.alice, "GET", "/api/tasks?createdTo=2024-02-29")).status).toBe(200);
    expect(await total()).toBe(before);
  });

  it("a body without Content-Type: application/json → 415, nothing stored", async () => {
    const before = await total();
    const res = await fetch(`${h.url}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.alice}` },
      body: new Blob([JSON.stringify({ type: "echo" })]),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: "UNSUPPORTED_MEDIA_TYPE", message: "content-type: expected application/json, got no Content-Type header" } });
    const schedule = await fetch(`${h.url}/api/schedules`, { method: "POST", headers: { authorization: `Bearer ${h.admin}` }, body: new Blob(["{}"]) });
    expect(schedule.status).toBe(415);
    expect(await total()).toBe(before);
  });

  it("a 10 MB body sent slowly gets a readable 413, not a reset connection", async () => {
    for (const chunked of [true, false]) {
      const answer = await slowPost(`${h.url}/api/tasks`, h.alice, 10 * 1024 * 1024, chunked);
      expect(answer.error, `chunked ${chunked}`).toBeUndefined();
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE", details: { field: "body" } } });
    }
  });
});

/**
 * POSTs `size` bytes in 64 KiB pieces with a pause every 16 of them, so the upload outlasts the
 * half second a server gives an unread body before it drops the connection. Like curl, the
 * client counts a send that fails (EPIPE, ECONNRESET) as a failure even if an answer arrived.
 */
function slowPost(url: string, token: string, size: number, chunked: boolean): Promise<{ status?: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (!chunked) headers["content-length"] = String(size);
    const outcome: { status?: number; body: string; error?: string } = { body: "" };
    let responded = false;
    let sentAll = false;
    const settle = () => {
      if ((responded && sentAll) || outcome.error) resolve(outcome);
    };
    const req = http.request(url, { method: "POST", headers }, (res) => {
      outcome.status = res.statusCode;
      res.setEncoding("utf8");
      res.on("data", (d: string) => (outcome.body += d));
      res.on("end", () => {
        responded = true;
        settle();
      });
    });
    req.on("error", (e) => {
      outcome.error = `${(e as NodeJS.ErrnoException).code}: ${e.message}`;
      settle();
    });
    req.on("finish", () => {
      sentAll = true;
      settle();
    });
    const piece = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      if (outcome.error) return;
      for (let i = 0; i < 16 && sent < size; i++) {
        sent += piece.length;
        req.write(piece);
      }
      if (sent < size) setTimeout(pump, 60);
      else req.end();
    };
    pump();
  });
}
