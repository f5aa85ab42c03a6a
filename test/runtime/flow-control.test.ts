import { describe, expect, it } from "vitest";
import { defineTask, ValidationError, type Tasklane } from "../../src/index.js";
import { BACKENDS, sleep, useLanes, waitFor } from "../helpers/lane.js";

const settle = (ms: number) => sleep(ms);

for (const backend of BACKENDS) {
  describe(`flow control and dispatch on ${backend}`, () => {
    const useLane = useLanes(backend);

    it("never runs more than a group's concurrencyLimit while 200 tasks of the group run on three runtimes", async () => {
      const f = useLane();
      const file = f.file();
      let running = 0;
      let observedMax = 0;
      let otherGroupRan = 0;
      const work = defineTask({
        name: "sync-customer",
        group: (p: { customer: string }) => p.customer,
        concurrencyLimit: { group: 2 },
        run: async (ctx) => {
          const p = ctx.params as { customer: string };
          if (p.customer !== "acme") {
            otherGroupRan++;
            return;
          }
          running++;
          observedMax = Math.max(observedMax, running);
          await settle(5 + Math.random() * 15);
          running--;
        },
      });
      const lanes: Tasklane[] = [];
      for (let i = 0; i < 3; i++) lanes.push(await f.open({ file, node: `flow-${i}`, tasks: [work], worker: { concurrency: 10 } }));
      await lanes[0]!.addMany([
        ...Array.from({ length: 200 }, () => ({ type: "sync-customer", params: { customer: "acme" } })),
        ...Array.from({ length: 20 }, () => ({ type: "sync-customer", params: { customer: "globex" } })),
      ]);
      await Promise.all(lanes.map((l) => l.start()));
      await waitFor(async () => (await lanes[0]!.list({ status: "succeeded", limit: 1000 })).tasks.length === 220, "all 220 done", 60_000);
      console.log(`[flow] ${backend}: observed maximum of acme tasks running at once = ${observedMax} (limit 2)`);
      expect(observedMax).toBeLessThanOrEqual(2);
      expect(observedMax).toBe(2); // the limit is used, not just respected
      expect(otherGroupRan).toBe(20);
    });

    it("never starts more than rateLimit per interval across runtimes", async () => {
      const f = useLane();
      const file = f.file();
      const limited = defineTask({ name: "call-api", rateLimit: { type: { limit: 4, interval: "400ms" } }, run: () => undefined });
      const lanes: Tasklane[] = [];
      for (let i = 0; i < 2; i++) lanes.push(await f.open({ file, node: `rate-${i}`, tasks: [limited] }));
      await lanes[0]!.addMany(Array.from({ length: 20 }, () => ({ type: "call-api" })));
      await Promise.all(lanes.map((l) => l.start()));
      await waitFor(async () => (await lanes[0]!.list({ status: "succeeded", limit: 100 })).tasks.length === 20, "20 done", 30_000);
      const starts = (await lanes[0]!.list({ limit: 100 })).tasks.map((t) => t.startedAt!.getTime()).sort((a, b) => a - b);
      // Start times are stored to the millisecond; allow 2 ms of rounding at the window's edge.
      let worst = 0;
      for (let i = 0; i < starts.length; i++) {
        const inWindow = starts.filter((s) => s >= starts[i]! && s < starts[i]! + 400 - 2).length;
        worst = Math.max(worst, inWindow);
      }
      console.log(`[flow] ${backend}: most starts in any 400 ms window = ${worst} (limit 4)`);
      expect(worst).toBeLessThanOrEqual(4);
      // 20 tasks at 4 per 400 ms need at least 4 full windows.
      expect(starts[starts.length - 1]! - starts[0]!).toBeGreaterThanOrEqual(1200);
    });

    it("fair dispatch: 10 tasks of owner B queued after 10,000 of owner A start within the first batches", async () => {
      const lane = await useLane().open({ worker: { concurrency: 20, claimBatch: 20, dispatch: "fair" } });
      const order: string[] = [];
      lane.register(defineTask({ name: "job", run: (ctx) => void order.push(ctx.task.owner!) }));
      for (let i = 0; i < 10; i++) {
        await lane.addMany(Array.from({ length: 1000 }, () => ({ type: "job", options: { owner: "A" } })));
      }
      await lane.addMany(Array.from({ length: 10 }, () => ({ type: "job", options: { owner: "B" } })));
      await lane.start();
      await waitFor(() => order.filter((o) => o === "B").length === 10, "B's ten tasks", 30_000);
      const lastB = order.lastIndexOf("B");
      console.log(`[fair] ${backend}: B's 10 tasks were all started among the first ${lastB + 1} of 10,010`);
      // Alternating turns: B's ten are done within about twenty starts.
      expect(lastB).toBeLessThan(40);
      await lane.stop({ graceMs: 0 });
    });

    it("refuses bad limits and dispatch settings, naming them", async () => {
      const lane = await useLane().open();
      expect(() => lane.register(defineTask({ name: "x", concurrencyLimit: { group: 0 }, run: () => 1 }))).toThrow(/concurrencyLimit\.group/);
      expect(() => lane.register(defineTask({ name: "x", rateLimit: { type: { limit: 1, interval: "0ms" } }, run: () => 1 }))).toThrow(/rateLimit\.type\.interval/);
      await expect(lane.start({ dispatch: "random" as never })).rejects.toBeInstanceOf(ValidationError);
      await expect(lane.start({ dispatch: { policy: "fifo", agingMs: 1000 } })).rejects.toThrow(/aging applies/);
    });
  });
}
