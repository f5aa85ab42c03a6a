/** Rough edges of the HTTP API a new user met (issue 13), over real HTTP on a real SQLite file. */
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
