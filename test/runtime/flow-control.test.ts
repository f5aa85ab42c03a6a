import { describe, expect, it } from "vitest";
import { ValidationError, type Tasklane } from "../../src/index.js";
import { record, timed } from "../fixtures/runtime/tasks.js";
import { BACKENDS, runtimeIsolations, useLanes, useProbe, waitFor } from "../helpers/lane.js";

type Interval = { group: string; enter: number; leave: number };

/** The most intervals open at once (one that ends as another starts does not overlap it). */
function mostAtOnce(intervals: Interval[]): number {
  const edges = intervals.flatMap((i) => [{ at: i.enter, d: 1 }, { at: i.leave, d: -1 }]);
  // At equal times, leaving first.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (open += e.d));
  return most;
}

for (const backend of BACKENDS) {
  for (const isolation of runtimeIsolations(backend)) {
  describe(`flow control and dispatch on ${backend}, isolation ${isolation}`, () => {
    const useLane = useLanes(backend, isolation);
    const probe = useProbe();

    it("never runs more than a group's concurrencyLimit while 200 tasks of the group run on three runtimes", async () => {
      const f = useLane();
      const file = f.file();
      // Each run says when it entered and left its handler, on the process's monotonic clock
      // (the same in the test's thread and in runner threads).
      const work = timed;
      const lanes: Tasklane[] = [];
      for (let i = 0; i < 3; i++) lanes.push(await f.open({ file, node: `flow-${i}`, tasks: [work], worker: { concurrency: 10 } }));
      await lanes[0]!.addMany([
        ...Array.from({ length: 200 }, () => ({ type: "sync-customer", params: { customer: "acme" } })),
        ...Array.from({ length: 20 }, () => ({ type: "sync-customer", params: { customer: "globex" } })),
      ]);
      await Promise.all(lanes.map((l) => l.start()));
      await waitFor(async () => (await lanes[0]!.list({ status: "succeeded", limit: 1000 })).tasks.length === 220, "all 220 done", 60_000);
      await waitFor(() => probe().heard("interval").length === 220, "220 intervals heard");
      const intervals = probe().data<Interval>("interval");
      const observedMax = mostAtOnce(intervals.filter((i) => i.group === "acme"));
      const otherGroupRan = intervals.filter((i) => i.group === "globex").length;
      console.log(`[flow] ${backend}, ${isolation}: observed maximum of acme tasks running at once = ${observedMax} (limit 2)`);
      expect(observedMax).toBeLessThanOrEqual(2);
      expect(observedMax).toBe(2); // the limit is used, not just respected
      expect(otherGroupRan).toBe(20);
    });

    it("never starts more than rateLimit per interval across runtimes", async () => {
      const f = useLane();
      const file = f.file();
      const limited = { ...record, rateLimit: { type: { limit: 4, interval: "400ms" } } };
      const lanes: Tasklane[] = [];
      for (let i = 0; i < 2; i++) lanes.push(await f.open({ file, node: `rate-${i}`, tasks: [limited] }));
      await lanes[0]!.addMany(Array.from({ length: 20 }, () => ({ type: "record" })));
      await Promise.all(lanes.map((l) => l.start()));
      await waitFor(async () => (await lanes[0]!.list({ status: "succeeded", limit: 100 })).tasks.length === 20, "20 done", 30_000);
      const starts = (await lanes[0]!.list({ limit: 100 })).tasks.map((t) => t.startedAt!.getTime()).sort((a, b) => a - b);
      // Start times are stored to the millisecond; allow 2 ms of rounding at the window's edge.
      let worst = 0;
      for (let i = 0; i < starts.length; i++) {
        const inWindow = starts.filter((s) => s >= starts[i]! && s < starts[i]! + 400 - 2).length;
        worst = Math.max(worst, inWindow);
      }
      console.log(`[flow] ${backend}, ${isolation}: most starts in any 400 ms window = ${worst} (limit 4)`);
      expect(worst).toBeLessThanOrEqual(4);
      // 20 tasks at 4 per 400 ms need at least 4 full windows.
      expect(starts[starts.length - 1]! - starts[0]!).toBeGreaterThanOrEqual(1200);
    });

    it("fair dispatch: 10 tasks of owner B queued after 10,000 of owner A start within the first batches", async () => {
      const lane = await useLane().open({ worker: { concurrency: 20, claimBatch: 20, dispatch: "fair" } });
      lane.register(record);
      for (let i = 0; i < 10; i++) {
        await lane.addMany(Array.from({ length: 1000 }, () => ({ type: "record", options: { owner: "A" } })));
      }
      await lane.addMany(Array.from({ length: 10 }, () => ({ type: "record", options: { owner: "B" } })));
      await lane.start();
      const ran = () => probe().data<{ owner: string; mono: number }>("ran");
      await waitFor(() => ran().filter((r) => r.owner === "B").length === 10, "B's ten tasks", 30_000);
      // In the order the handlers started (runners report from their own threads).
      const order = ran().sort((a, b) => a.mono - b.mono).map((r) => r.owner);
      const lastB = order.lastIndexOf("B");
      console.log(`[fair] ${backend}, ${isolation}: B's 10 tasks were all started among the first ${lastB + 1} of 10,010`);
      // Alternating turns: B's ten are done within about twenty starts.
      expect(lastB).toBeLessThan(40);
      await lane.stop({ graceMs: 0 });
    });

    it("refuses bad limits and dispatch settings, naming them", async () => {
      const lane = await useLane().open();
      expect(() => lane.register({ ...record, concurrencyLimit: { group: 0 } })).toThrow(/concurrencyLimit\.group/);
      expect(() => lane.register({ ...record, rateLimit: { type: { limit: 1, interval: "0ms" } } })).toThrow(/rateLimit\.type\.interval/);
      await expect(lane.start({ dispatch: "random" as never })).rejects.toBeInstanceOf(ValidationError);
      await expect(lane.start({ dispatch: { policy: "fifo", agingMs: 1000 } })).rejects.toThrow(/aging applies/);
    });
  });
}
}
