import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTask, ValidationError } from "../../src/index.js";
import { createTestLane, drain, runInline } from "../../src/testing/index.js";

const resize = defineTask({
  name: "resize",
  params: z.object({ width: z.number().int().positive() }),
  run: async (ctx) => {
    ctx.progress(1, 2, "loading");
    ctx.log.info("resizing", { width: ctx.params.width });
    ctx.progress(2, 2, "done");
    if (ctx.params.width > 5000) throw new Error("too wide");
    return { width: ctx.params.width };
  },
});

describe("tasklane/testing", () => {
  it("runs a handler inline and records progress and logs", async () => {
    const run = await runInline(resize, { width: 640 });
    expect(run.status).toBe("succeeded");
    expect(run.result).toEqual({ width: 640 });
    expect(run.progress).toEqual([
      { current: 1, total: 2, message: "loading" },
      { current: 2, total: 2, message: "done" },
    ]);
    expect(run.logs).toEqual([{ level: "info", message: "resizing", data: { width: 640 } }]);
  });

  it("reports a failing handler and validates params like add", async () => {
    const run = await runInline(resize, { width: 9000 });
    expect(run.status).toBe("failed");
    expect((run.error as Error).message).toBe("too wide");
    await expect(runInline(resize, { width: -1 })).rejects.toBeInstanceOf(ValidationError);
  });

  it("drains a real in-memory queue in-process", async () => {
    const lane = await createTestLane([resize]);
    try {
      await lane.addMany([{ type: "resize", params: { width: 1 } }, { type: "resize", params: { width: 9999 }, options: { attempts: 1 } }]);
      await lane.add("resize", { width: 2 }, { delay: "1h" });
      const { counts } = await drain(lane);
      expect(counts).toEqual({ succeeded: 1, failed: 1, scheduled: 1 });
    } finally {
      await lane.close();
    }
  });
});
