import { describe, expect, it } from "vitest";
import { defineTask, NonRetryableError, TaskAbortedError, type Tasklane } from "../../src/index.js";
import { BACKENDS, useLanes, sleep, waitFor, waitForStatus } from "../helpers/lane.js";

for (const backend of BACKENDS) {
describe(`on ${backend}`, () => {
  const useLane = useLanes(backend);

  describe("ordering and timing", () => {
    it("runs smaller priority first, then older first", async () => {
      const order: string[] = [];
      const lane = await useLane().open({ worker: { concurrency: 1 } });
      lane.register(defineTask({ name: "rec", run: (ctx) => void order.push((ctx.params as { tag: string }).tag) }));
      await lane.add("rec", { tag: "p5" }, { priority: 5 });
      await lane.add("rec", { tag: "p0-first" });
      await lane.add("rec", { tag: "p-3" }, { priority: -3 });
      await lane.add("rec", { tag: "p0-second" });
      await lane.start();
      await waitFor(() => order.length === 4, "4 runs");
      expect(order).toEqual(["p-3", "p0-first", "p0-second", "p5"]);
    });

    it("keeps a delayed task scheduled until it is due", async () => {
      const lane = await useLane().open();
      const ran: number[] = [];
      lane.register(defineTask({ name: "later", run: () => void ran.push(Date.now()) }));
      await lane.start();
      const before = Date.now();
      const task = await lane.add("later", {}, { delay: "400ms" });
      expect(task.status).toBe("scheduled");
      expect((await lane.list({ status: "scheduled" })).tasks.map((t) => t.id)).toEqual([task.id]);
      const done = await waitForStatus(lane, task.id, ["succeeded"]);
      expect(ran[0]! - before).toBeGreaterThanOrEqual(390);
      expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(task.runAt.getTime());
    });

    it("accepts runAt as an ISO date", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "x", run: () => 1 }));
      const at = new Date(Date.now() + 3_600_000);
      const task = await lane.add("x", {}, { runAt: at.toISOString() });
      expect(task.runAt.getTime()).toBe(at.getTime());
      expect(task.status).toBe("scheduled");
    });
  });

  describe("retries and failure", () => {
    it("retries with backoff, then succeeds", async () => {
      const lane = await useLane().open();
      const seen: Array<{ attempt: number; at: number }> = [];
      lane.register(
        defineTask({
          name: "flaky",
          attempts: 4,
          backoff: { type: "exponential", delay: 100, jitter: 0 },
          run: (ctx) => {
            seen.push({ attempt: ctx.attempt, at: Date.now() });
            if (ctx.attempt < 3) throw new Error(`fail #${ctx.attempt}`);
            return { ok: ctx.attempt };
          },
        }),
      );
      const retrying: number[] = [];
      lane.on("task:retrying", ({ task }) => retrying.push(task.attempt));
      await lane.start();
      const task = await lane.add("flaky");
      const done = await waitForStatus(lane, task.id, ["succeeded", "failed"]);
      expect(done).toMatchObject({ status: "succeeded", attempt: 3, result: { ok: 3 } });
      expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      // Exponential: ≥100 ms before attempt 2, ≥200 ms before attempt 3.
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(95);
      expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(195);
      expect(retrying).toEqual([1, 2]);
      const runs = await lane.runs(task.id);
      expect(runs.map((r) => r.outcome)).toEqual(["failed", "failed", "succeeded"]);
      expect(runs[0]!.error).toMatchObject({ name: "Error", message: "fail #1" });
      expect(runs[0]!.error!.stack).toContain("fail #1");
    });

    it("fails at once on NonRetryableError", async () => {
      const lane = await useLane().open();
      const errors: Array<{ willRetry: boolean }> = [];
      lane.register(
        defineTask({
          name: "fatal",
          attempts: 5,
          run: () => {
            throw new NonRetryableError("bad input");
          },
          onError: (_t, _e, info) => void errors.push(info),
        }),
      );
      await lane.start();
      const task = await lane.add("fatal");
      const done = await waitForStatus(lane, task.id, ["failed"]);
      expect(done).toMatchObject({ attempt: 1, error: { name: "NonRetryableError", message: "bad input" } });
      await waitFor(() => errors.length === 1, "onError");
      expect(errors).toEqual([{ willRetry: false }]);
    });

    it("fails after its attempts are used", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "always", attempts: 2, backoff: 1, run: () => Promise.reject(new Error("nope")) }));
      await lane.start();
      const task = await lane.add("always");
      const done = await waitForStatus(lane, task.id, ["failed"]);
      expect(done.attempt).toBe(2);
      expect((await lane.runs(task.id)).length).toBe(2);
    });

    it("stops retrying at maxRuns even across manual retries", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "mr", attempts: 2, maxRuns: 3, backoff: 1, run: () => Promise.reject(new Error("x")) }));
      await lane.start();
      const task = await lane.add("mr");
      await waitForStatus(lane, task.id, ["failed"]);
      await lane.retry(task.id);
      const done = await waitFor(async () => {
        const t = await lane.get(task.id);
        return t?.status === "failed" && t.runCount === 3 ? t : null;
      }, "third run to fail");
      expect(done.attempt).toBe(1); // the second attempt of the retry would exceed maxRuns
      await expect(lane.retry(task.id)).rejects.toThrow(/maxRuns/);
    });

    it("times out a run, aborts its signal, and drops a late result", async () => {
      const lane = await useLane().open({ worker: { abortGraceMs: 100 } });
      let reason: unknown;
      lane.register(
        defineTask({
          name: "slow",
          attempts: 1,
          timeout: "150ms",
          run: async (ctx) => {
            ctx.signal.addEventListener("abort", () => (reason = ctx.signal.reason));
            await sleep(600); // ignores the signal
            return "late";
          },
        }),
      );
      await lane.start();
      const task = await lane.add("slow");
      const done = await waitForStatus(lane, task.id, ["failed"]);
      expect(done.error).toMatchObject({ name: "TimeoutError" });
      expect(done.error!.message).toMatch(/timeout/);
      expect(reason).toBeInstanceOf(TaskAbortedError);
      expect((reason as TaskAbortedError).kind).toBe("timeout");
      expect((await lane.runs(task.id))[0]!.outcome).toBe("timed_out");
      await sleep(600);
      expect((await lane.get(task.id))!.result).toBeNull();
    });

    it("retries a timed-out run while attempts remain", async () => {
      const lane = await useLane().open({ worker: { abortGraceMs: 50 } });
      lane.register(
        defineTask({
          name: "slow-then-fast",
          attempts: 2,
          timeout: 100,
          backoff: 1,
          run: async (ctx) => {
            if (ctx.attempt === 1) await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
            return ctx.attempt;
          },
        }),
      );
      await lane.start();
      const task = await lane.add("slow-then-fast");
      const done = await waitForStatus(lane, task.id, ["succeeded", "failed"]);
      expect(done).toMatchObject({ status: "succeeded", result: 2 });
      expect((await lane.runs(task.id)).map((r) => r.outcome)).toEqual(["timed_out", "succeeded"]);
    });
  });

  describe("cancel and retry by hand", () => {
    it("cancels a queued task at once", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "q", run: () => 1 }));
      const task = await lane.add("q", {}, { delay: "1h" });
      const cancelled = await lane.cancel(task.id);
      expect(cancelled.status).toBe("cancelled");
      expect(await lane.runs(task.id)).toEqual([]);
      await expect(lane.cancel("nope")).rejects.toMatchObject({ code: "TASK_NOT_FOUND" });
    });

    it("cancels a running task through ctx.signal", async () => {
      const lane = await useLane().open();
      let started = false;
      lane.register(
        defineTask({
          name: "long",
          run: async (ctx) => {
            started = true;
            await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
          },
        }),
      );
      await lane.start();
      const task = await lane.add("long");
      await waitFor(() => started, "handler start");
      const req = await lane.cancel(task.id);
      expect(req).toMatchObject({ status: "running", cancelRequested: true });
      const done = await waitForStatus(lane, task.id, ["cancelled"]);
      expect(done.finishedAt).toBeInstanceOf(Date);
      expect((await lane.runs(task.id))[0]!.outcome).toBe("cancelled");
    });

    it("cancels a task running in another process's worker (via the lease heartbeat)", async () => {
      const file = useLane().file();
      const runner = await useLane().open({ file, node: "runner", worker: { heartbeatMs: 50 } });
      const client = await useLane().open({ file, node: "client" });
      let aborted = false;
      const def = defineTask({
        name: "long",
        run: async (ctx) => {
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          aborted = true;
        },
      });
      runner.register(def);
      client.register(def);
      await runner.start();
      const task = await client.add("long");
      await waitForStatus(client, task.id, ["running"]);
      await client.cancel(task.id);
      await waitForStatus(client, task.id, ["cancelled"]);
      expect(aborted).toBe(true);
    });

    it("refuses to cancel a finished task and to retry a live one", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "x", run: () => 1 }));
      await lane.start();
      const task = await lane.add("x");
      await waitForStatus(lane, task.id, ["succeeded"]);
      await expect(lane.cancel(task.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
      const queued = await lane.add("x", {}, { delay: "1h" });
      await expect(lane.retry(queued.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
    });

    it("retries a cancelled task and runs it", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "x", run: () => "ran" }));
      const task = await lane.add("x");
      await lane.cancel(task.id);
      await lane.start();
      const retried = await lane.retry(task.id);
      expect(retried).toMatchObject({ status: "queued", attempt: 0 });
      expect(await waitForStatus(lane, task.id, ["succeeded"])).toMatchObject({ result: "ran" });
    });

    it("deletes a finished task but not a running one", async () => {
      const lane = await useLane().open();
      let release!: () => void;
      lane.register(defineTask({ name: "hold", run: () => new Promise<void>((r) => (release = r)) }));
      await lane.start();
      const task = await lane.add("hold");
      await waitForStatus(lane, task.id, ["running"]);
      await expect(lane.delete(task.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
      await waitFor(() => release, "handler");
      release();
      await waitForStatus(lane, task.id, ["succeeded"]);
      await lane.delete(task.id);
      expect(await lane.get(task.id)).toBeNull();
    });
  });

  describe("deadline", () => {
    it("expires a task not started by its deadline", async () => {
      const lane = await useLane().open();
      lane.register(defineTask({ name: "d", run: () => 1 }));
      const expired: string[] = [];
      lane.on("task:expired", ({ task }) => expired.push(task.id));
      const task = await lane.add("d", {}, { delay: "300ms", deadline: "100ms" });
      await lane.start();
      const done = await waitForStatus(lane, task.id, ["expired"]);
      expect(done.runCount).toBe(0);
      expect(expired).toEqual([task.id]);
      // Retry brings it back (the deadline stays in the past, so it expires again unless changed).
      expect(await lane.runs(task.id)).toEqual([]);
    });
  });

  describe("graceful stop", () => {
    it("lets short tasks finish and releases long ones to the queue without using an attempt", async () => {
      const lane: Tasklane = await useLane().open({ worker: { abortGraceMs: 100 } });
      let shortDone = false;
      let releaseShort!: () => void;
      const shortGate = new Promise<void>((resolve) => (releaseShort = resolve));
      lane.register(
        defineTask({ name: "short", run: async () => { await shortGate; shortDone = true; } }),
        defineTask({
          name: "long",
          run: async (ctx) => {
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
            throw ctx.signal.reason;
          },
        }),
      );
      const s = await lane.add("short");
      const l = await lane.add("long");
      await lane.start();
      await waitForStatus(lane, l.id, ["running"]);
      await waitForStatus(lane, s.id, ["running"]);
      // The short task is still running when the stop begins, and ends inside the grace period.
      setTimeout(releaseShort, 50);
      await lane.stop({ graceMs: 300 });
      expect(shortDone).toBe(true);
      expect((await lane.get(s.id))!.status).toBe("succeeded");
      const released = await lane.get(l.id);
      expect(released).toMatchObject({ status: "queued", attempt: 0, runCount: 1 });
      expect((await lane.runs(l.id))[0]!.outcome).toBe("offline");
    });
  });
});
}
