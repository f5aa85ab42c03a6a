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
