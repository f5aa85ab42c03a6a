import { describe, expect, it } from "vitest";
import { defineTask, type Tasklane } from "../../src/index.js";
import { openStore } from "../../src/store/open-store.js";
import { FetchAheadBuffer } from "../../src/runtime/fetch-ahead.js";
import { BACKENDS, useLanes, waitFor, waitForStatus } from "../helpers/lane.js";

/**
 * Fetch-ahead: a node claims beyond its free slots (about `fetchAheadMs` of work at its recent
 * rate), holds those runs in a local buffer and starts them as slots free. Buffered runs are
 * claimed runs: released at once on stop, fenced when their lease is taken over.
 * In isolation "none" only: the buffer is the node's claim path, the same whatever runs the
 * handlers (an isolated type is claimed up to its pool's runners; see isolation.test.ts).
 */
for (const backend of BACKENDS) {
  describe(`fetch-ahead on ${backend}`, () => {
    const useLane = useLanes(backend);

    /** A node with one slot that has learned a fast finishing rate, then meets gated tasks. */
    async function nodeWithBuffer(file: string) {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const started: string[] = [];
      const fast = defineTask({ name: "fast", run: async () => "ok" });
      const gated = defineTask({
        name: "gated",
        run: async (ctx) => {
          started.push(ctx.task.id);
          await Promise.race([gate, new Promise((r) => ctx.signal.addEventListener("abort", r))]);
          return "done";
        },
      });
      const lane = await useLane().open({
        file,
        node: "a",
        tasks: [fast, gated],
        worker: { concurrency: 1, claimBatch: 20, fetchAheadMs: 60_000, abortGraceMs: 200, heartbeatMs: 100 },
      });
      await lane.start();
      // Learn a rate: 40 quick tasks through one slot.
      const warm = await lane.addMany(Array.from({ length: 40 }, () => ({ type: "fast" })));
      await waitForStatus(lane, warm.at(-1)!.id, ["succeeded"]);
      const tasks = await lane.addMany(Array.from({ length: 30 }, () => ({ type: "gated" })));
      return { lane, tasks, started, open: () => open() };
    }

    /** The gated tasks this node holds (running, or claimed ahead), once it holds more than one. */
    async function claimedAhead(lane: Tasklane) {
      const held = async () => (await lane.list({ status: ["running"], type: ["gated"], limit: 100 })).tasks;
      await waitFor(async () => (await held()).length > 1, "claims ahead");
      return held();
    }

    it("claims beyond its free slots and runs the buffered tasks as slots free", async () => {
      const file = useLane().file();
      const { lane, tasks, started, open } = await nodeWithBuffer(file);
      // One slot runs, up to claimBatch more are claimed (status running on this node), unstarted.
      const running = await claimedAhead(lane);
      expect(started.length).toBe(1);
      expect(running.length).toBeLessThanOrEqual(21);
      expect(running.every((t) => t.node === "a")).toBe(true);
      open();
      for (const t of tasks) await waitForStatus(lane, t.id, ["succeeded"]);
      // Started one at a time, in claim order (the order they were added: same priority and due time).
      expect(started).toEqual(tasks.map((t) => t.id));
    });

    it("releases buffered tasks at once on stop, attempts refunded, never started", async () => {
      const file = useLane().file();
      const { lane, tasks, started } = await nodeWithBuffer(file);
      const buffered = (await claimedAhead(lane)).map((t) => t.id).filter((id) => !started.includes(id));
      expect(buffered.length).toBeGreaterThan(0);
      await lane.stop({ graceMs: 0 });
      for (const id of buffered) {
        const t = await lane.get(id);
        expect(t).toMatchObject({ status: "queued", attempt: 0, node: "a" });
      }
      expect(started.length).toBe(1);
      // Another node takes them all, in their old order.
      const order: string[] = [];
      const b = await useLane().open({ file, node: "b", tasks: [defineTask({ name: "gated", run: async (ctx) => void order.push(ctx.task.id) })], worker: { concurrency: 1 } });
      await b.start();
      for (const t of tasks) await waitForStatus(b, t.id, ["succeeded"]);
      expect(order).toEqual(tasks.map((t) => t.id));
    });

    it("ends a cancelled buffered task as cancelled without starting it", async () => {
      const file = useLane().file();
      const { lane, started, open } = await nodeWithBuffer(file);
      const buffered = (await claimedAhead(lane)).map((t) => t.id).filter((id) => !started.includes(id));
      const victim = buffered[buffered.length - 1]!;
      await lane.cancel(victim);
      expect(await waitForStatus(lane, victim, ["cancelled"])).toMatchObject({ status: "cancelled" });
      open();
      for (const id of buffered.filter((id) => id !== victim)) await waitForStatus(lane, id, ["succeeded"]);
      expect(started).not.toContain(victim);
      expect((await lane.runs(victim)).map((r) => r.outcome)).toEqual(["cancelled"]);
    });

    it("never starts a buffered task whose lease was taken over", async () => {
      const file = useLane().file();
      const { lane, started, open } = await nodeWithBuffer(file);
      const held = (await claimedAhead(lane)).map((t) => t.id);
      const buffered = held.filter((id) => !started.includes(id));
      // Node b takes every run of node a over in one statement (a new run number: a's fencing
      // token is stale), as a rescue and a claim elsewhere would.
      const other = await openStore({ db: file });
      try {
        await other.sqlRun("UPDATE tasks SET run_count = run_count + 1, node = 'b' WHERE node = 'a' AND status = 'running'", [], { rowLimit: 10 });
      } finally {
        await other.close();
      }
      // Node a's next lease renewal (every 100 ms) finds those leases gone...
      await new Promise((r) => setTimeout(r, 400));
      open();
      await new Promise((r) => setTimeout(r, 300));
      // ...so it dropped its buffered runs unstarted and wrote nothing for any of them.
      expect(started.filter((id) => buffered.includes(id))).toEqual([]);
      for (const id of held) expect(await lane.get(id)).toMatchObject({ status: "running", node: "b", runCount: 2, attempt: 1 });
    });
  });
}

describe("fetch-ahead sizing", () => {
  /** A buffer that has seen handlers finish at 1,000 a second for a second. */
  const atThousandPerSecond = (aheadMs: number, max: number) => {
    const buffer = new FetchAheadBuffer(aheadMs, max);
    const t0 = Date.now();
    for (let ms = 0; ms < 1000; ms++) buffer.noteFinished(t0 + ms);
    return { buffer, now: t0 + 1000 };
  };

  it("holds its fetch-ahead time of work at the rate handlers finish, at most its maximum", () => {
    const { buffer, now } = atThousandPerSecond(50, 1000);
    expect(buffer.target(now)).toBeGreaterThanOrEqual(45);
    expect(buffer.target(now)).toBeLessThanOrEqual(55);
    expect(atThousandPerSecond(50, 20).buffer.target(now)).toBe(20);
  });

  it("holds more when claims turn slow: ten round trips of work, so claiming stays a small share", () => {
    const { buffer, now } = atThousandPerSecond(50, 1000);
    buffer.noteClaim(30);
    // 10 × 30 ms of work at 1,000/s.
    expect(buffer.target(now)).toBeGreaterThanOrEqual(270);
    expect(buffer.target(now)).toBeLessThanOrEqual(330);
    // One fast claim does not undo it at once; a run of them does.
    buffer.noteClaim(1);
    expect(buffer.target(now)).toBeGreaterThan(150);
    for (let i = 0; i < 20; i++) buffer.noteClaim(1);
    expect(buffer.target(now)).toBeLessThanOrEqual(55);
  });

  it("stays off when fetch-ahead is off, however slow claims are", () => {
    const { buffer, now } = atThousandPerSecond(0, 1000);
    buffer.noteClaim(500);
    expect(buffer.target(now)).toBe(0);
  });
});
