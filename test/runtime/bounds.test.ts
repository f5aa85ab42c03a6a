import { describe, expect, it } from "vitest";
import { defineTask, Tasklane, ValidationError } from "../../src/index.js";
import { MAX_ERROR_TEXT } from "../../src/runtime/bounds.js";
import { poolSize } from "../../src/runtime/isolation/pool-size.js";
import { BACKENDS, useLanes, waitForStatus } from "../helpers/lane.js";

/** Blocks the event loop, as a CPU-bound handler does. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

for (const backend of BACKENDS) {
  describe(`bounds on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("records a result that arrives after the timeout as timed_out, even when the loop was blocked", async () => {
      const lane = await useLane().open();
      lane.register(
        defineTask({
          name: "spin",
          attempts: 1,
          timeout: 200,
          run: () => {
            spin(800); // the timeout timer cannot fire meanwhile
            return "late";
          },
        }),
      );
      await lane.start();
      const task = await lane.add("spin");
      const done = await waitForStatus(lane, task.id, ["failed", "succeeded"]);
      expect(done.status).toBe("failed");
      expect(done.result).toBeNull();
      expect(done.error).toMatchObject({ name: "TimeoutError", message: "run exceeded its timeout of 200ms" });
      expect((await lane.runs(task.id)).map((r) => r.outcome)).toEqual(["timed_out"]);
    });

    it("stores at most 64 Ki characters of an error's message and stack, marking the cut", async () => {
      const lane = await useLane().open();
      const huge = "x".repeat(10 * 1024 * 1024);
      lane.register(
        defineTask({
          name: "loud",
          attempts: 1,
          run: (ctx) => {
            if ((ctx.params as { reject?: boolean }).reject) return Promise.reject(huge);
            const error = new Error(huge);
            error.stack = `Error: ${huge}\n    at somewhere`;
            throw error;
          },
        }),
      );
      await lane.start();
      const thrown = await lane.add("loud", {});
      const rejected = await lane.add("loud", { reject: true });
      for (const id of [thrown.id, rejected.id]) {
        const done = await waitForStatus(lane, id, ["failed"]);
        expect(done.error!.message.length).toBe(MAX_ERROR_TEXT);
        expect(done.error!.message).toMatch(/… \[cut: \d+ more characters\]$/);
        expect(done.error!.message.startsWith("xxxx")).toBe(true);
      }
      const done = await lane.get(thrown.id);
      expect(done!.error!.stack!.length).toBe(MAX_ERROR_TEXT);
      expect(done!.error!.stack).toMatch(/cut: \d+ more characters\]$/);
    });

    it("stores a result just under maxResultBytes whole, and fails one over it naming the limit", async () => {
      const limit = 64 * 1024;
      const lane = await useLane().open({ worker: { maxResultBytes: limit } });
      // JSON of a string of n ASCII characters is n + 2 bytes.
      lane.register(defineTask({ name: "sized", attempts: 3, run: (ctx) => "r".repeat((ctx.params as { n: number }).n) }));
      await lane.start();
      const under = await lane.add("sized", { n: limit - 2 });
      const over = await lane.add("sized", { n: limit - 1 });
      const ok = await waitForStatus(lane, under.id, ["succeeded", "failed"]);
      expect(ok.status).toBe("succeeded");
      expect(ok.result).toBe("r".repeat(limit - 2));
      const bad = await waitForStatus(lane, over.id, ["succeeded", "failed"]);
      expect(bad.status).toBe("failed");
      expect(bad.attempt).toBe(1); // the same result would be too large again: no retry
      expect(bad.error).toMatchObject({ name: "ResultTooLargeError" });
      expect(bad.error!.message).toContain(`${limit + 1} bytes of JSON, over the ${limit}-byte limit (worker option maxResultBytes)`);
    });
  });
}

describe("validation of the new options", () => {
  const run = () => null;
  const lane = () => Tasklane.open({ db: "sqlite::memory:" });

  it("names the field and the allowed range", async () => {
    const l = await lane();
    try {
      expect(() => l.register(defineTask({ name: "a", run, memoryLimitMb: 4, isolation: "thread", module: "file:///x.js" }))).toThrow(
        /memoryLimitMb: must be a whole number of MB from 16 to 65536/,
      );
      expect(() => l.register(defineTask({ name: "a", run, isolation: "fork" as never }))).toThrow(/isolation: must be one of none, thread, process/);
      expect(() => l.register(defineTask({ name: "a", run, killAfter: "1h" }))).toThrow(/killAfter: must be from 0 to 10m/);
      expect(() => l.register(defineTask({ name: "a", run, killAfter: "soon" }))).toThrow(ValidationError);
      expect(() => l.register(defineTask({ name: "a", run, memoryLimitMb: 64, isolation: "none" }))).toThrow(/memoryLimitMb: needs isolation/);
      await expect(l.start({ maxResultBytes: 10 })).rejects.toThrow(/maxResultBytes: 10 is not allowed; use a whole number of bytes from 1024 to 268435456/);
      await expect(l.start({ claimBatch: 0 })).rejects.toThrow(/claimBatch: 0 is not allowed; use a whole number of tasks from 1 to 10000/);
      await expect(l.start({ claimBatch: 2.5 })).rejects.toThrow(/claimBatch: 2.5 is not allowed/);
      await expect(l.start({ maxRunners: 0 })).rejects.toThrow(/maxRunners: 0 is not allowed; use a whole number of runners \(at most the node's concurrency\) from 1 to 10/);
      await expect(l.start({ concurrency: 4, maxRunners: 5 })).rejects.toThrow(/maxRunners: 5 is not allowed; .* from 1 to 4/);
      await expect(l.start({ maxRunners: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    } finally {
      await l.close();
    }
  });
});

describe("isolation pool size", () => {
  it("follows the node's concurrency and CPU capacity per mode, unless maxRunners is set", () => {
    // 2 cores: 4 threads or 2 child processes per core, never above the concurrency.
    expect(poolSize("thread", 10, 200, null)).toEqual({ max: 8, warm: 2 });
    expect(poolSize("process", 10, 200, null)).toEqual({ max: 4, warm: 2 });
    expect(poolSize("thread", 3, 200, null)).toEqual({ max: 3, warm: 2 });
    expect(poolSize("process", 100, 1600, null)).toEqual({ max: 32, warm: 16 });
    // Half a core still gets a runner; warm never exceeds max.
    expect(poolSize("process", 10, 50, null)).toEqual({ max: 1, warm: 1 });
    expect(poolSize("thread", 10, 200, 10)).toEqual({ max: 10, warm: 2 });
    expect(poolSize("thread", 10, 800, 3)).toEqual({ max: 3, warm: 3 });
  });
});
