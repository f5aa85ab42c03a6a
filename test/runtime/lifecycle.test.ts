import { describe, expect, it } from "vitest";
import { type Tasklane } from "../../src/index.js";
import { failing, flaky, held, record, waiter } from "../fixtures/runtime/tasks.js";
import { BACKENDS, runtimeIsolations, useLanes, useProbe, sleep, waitFor, waitForStatus } from "../helpers/lane.js";

type Aborted = { isTaskAbortedError: boolean; name: string; kind: string };

for (const backend of BACKENDS) {
for (const isolation of runtimeIsolations(backend)) {
describe(`on ${backend}, isolation ${isolation}`, () => {
  const useLane = useLanes(backend, isolation);
  const probe = useProbe();

  describe("ordering and timing", () => {
    it("runs smaller priority first, then older first", async () => {
      const lane = await useLane().open({ worker: { concurrency: 1 } });
      lane.register(record);
      await lane.add("record", { tag: "p5" }, { priority: 5 });
      await lane.add("record", { tag: "p0-first" });
      await lane.add("record", { tag: "p-3" }, { priority: -3 });
      await lane.add("record", { tag: "p0-second" });
      await lane.start();
      await waitFor(() => probe().heard("ran").length === 4, "4 runs", 60_000);
      expect(probe().data<{ params: { tag: string } }>("ran").map((r) => r.params.tag)).toEqual(["p-3", "p0-first", "p0-second", "p5"]);
    });

    it("keeps a delayed task scheduled until it is due", async () => {
      const lane = await useLane().open();
      lane.register(record);
      await lane.start();
      const before = Date.now();
      const task = await lane.add("record", {}, { delay: "400ms" });
      expect(task.status).toBe("scheduled");
      expect((await lane.list({ status: "scheduled" })).tasks.map((t) => t.id)).toEqual([task.id]);
      const done = await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      expect(probe().data<{ at: number }>("ran", task.id)[0]!.at - before).toBeGreaterThanOrEqual(390);
      expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(task.runAt.getTime());
    });

    it("accepts runAt as an ISO date", async () => {
      const lane = await useLane().open();
      lane.register(record);
      const at = new Date(Date.now() + 3_600_000);
      const task = await lane.add("record", {}, { runAt: at.toISOString() });
      expect(task.runAt.getTime()).toBe(at.getTime());
      expect(task.status).toBe("scheduled");
    });
  });

  describe("retries and failure", () => {
    it("retries with backoff, then succeeds", async () => {
      const lane = await useLane().open();
      lane.register({ ...flaky, attempts: 4, backoff: { type: "exponential", delay: 100, jitter: 0 } });
      const retrying: number[] = [];
      lane.on("task:retrying", ({ task }) => retrying.push(task.attempt));
      await lane.start();
      const task = await lane.add("flaky", { succeedAt: 3 });
      const done = await waitForStatus(lane, task.id, ["succeeded", "failed"], 60_000);
      expect(done).toMatchObject({ status: "succeeded", attempt: 3, result: { ok: 3 } });
      await waitFor(() => probe().heard("attempt", task.id).length === 3, "3 attempts heard");
      const seen = probe().data<{ attempt: number; at: number }>("attempt", task.id);
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
      lane.register({ ...failing, attempts: 5, onError: (_t, _e, info) => void errors.push(info) });
      await lane.start();
      const task = await lane.add("failing", { nonRetryable: true, message: "bad input" });
      const done = await waitForStatus(lane, task.id, ["failed"], 60_000);
      expect(done).toMatchObject({ attempt: 1, error: { name: "NonRetryableError", message: "bad input" } });
      await waitFor(() => errors.length === 1, "onError");
      expect(errors).toEqual([{ willRetry: false }]);
    });

    it("fails after its attempts are used", async () => {
      const lane = await useLane().open();
      lane.register({ ...failing, attempts: 2, backoff: 1 });
      await lane.start();
      const task = await lane.add("failing");
      const done = await waitForStatus(lane, task.id, ["failed"], 60_000);
      expect(done.attempt).toBe(2);
      expect((await lane.runs(task.id)).length).toBe(2);
    });

    it("stops retrying at maxRuns even across manual retries", async () => {
      const lane = await useLane().open();
      lane.register({ ...failing, attempts: 2, maxRuns: 3, backoff: 1 });
      await lane.start();
      const task = await lane.add("failing", { message: "x" });
      await waitForStatus(lane, task.id, ["failed"], 60_000);
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
      lane.register({ ...waiter, attempts: 1, timeout: "150ms" });
      await lane.start();
      // Ignores the signal for 600 ms, then returns "late".
      const task = await lane.add("waiter", { onAbort: "ignore", ignoreMs: 600 });
      const done = await waitForStatus(lane, task.id, ["failed"], 60_000);
      expect(done.error).toMatchObject({ name: "TimeoutError" });
      expect(done.error!.message).toMatch(/timeout/);
      const reason = await waitFor(() => probe().data<Aborted>("aborted", task.id)[0], "the handler to see its signal abort");
      expect(reason).toMatchObject({ isTaskAbortedError: true, kind: "timeout" });
      expect((await lane.runs(task.id))[0]!.outcome).toBe("timed_out");
      await sleep(600);
      expect((await lane.get(task.id))!.result).toBeNull();
    });

    it("retries a timed-out run while attempts remain", async () => {
      const lane = await useLane().open({ worker: { abortGraceMs: 50 } });
      lane.register({ ...waiter, attempts: 2, timeout: 100, backoff: 1 });
      await lane.start();
      const task = await lane.add("waiter", { succeedAt: 2 });
      const done = await waitForStatus(lane, task.id, ["succeeded", "failed"], 60_000);
      expect(done).toMatchObject({ status: "succeeded", result: 2 });
      expect((await lane.runs(task.id)).map((r) => r.outcome)).toEqual(["timed_out", "succeeded"]);
    });
  });

  describe("cancel and retry by hand", () => {
    it("cancels a queued task at once", async () => {
      const lane = await useLane().open();
      lane.register(record);
      const task = await lane.add("record", {}, { delay: "1h" });
      const cancelled = await lane.cancel(task.id);
      expect(cancelled.status).toBe("cancelled");
      expect(await lane.runs(task.id)).toEqual([]);
      await expect(lane.cancel("nope")).rejects.toMatchObject({ code: "TASK_NOT_FOUND" });
    });

    it("cancels a running task through ctx.signal", async () => {
      const lane = await useLane().open();
      lane.register(waiter);
      await lane.start();
      const task = await lane.add("waiter");
      await waitFor(() => probe().heard("started", task.id).length, "handler start", 60_000);
      const req = await lane.cancel(task.id);
      expect(req).toMatchObject({ status: "running", cancelRequested: true });
      const done = await waitForStatus(lane, task.id, ["cancelled"]);
      expect(done.finishedAt).toBeInstanceOf(Date);
      expect((await lane.runs(task.id))[0]!.outcome).toBe("cancelled");
      expect(await waitFor(() => probe().data<Aborted>("aborted", task.id)[0], "the handler to see its signal abort")).toEqual({ isTaskAbortedError: true, name: "TaskAbortedError", kind: "cancelled" });
    });

    it("cancels a task running in another process's worker (via the lease heartbeat)", async () => {
      const file = useLane().file();
      const runner = await useLane().open({ file, node: "runner", worker: { heartbeatMs: 50 } });
      const client = await useLane().open({ file, node: "client" });
      runner.register(waiter);
      client.register(waiter);
      await runner.start();
      const task = await client.add("waiter", { onAbort: "return" });
      await waitForStatus(client, task.id, ["running"]);
      // In an isolated mode the task is running from its claim; the cancel is for its handler.
      await waitFor(() => probe().heard("started", task.id).length, "handler start", 60_000);
      await client.cancel(task.id);
      await waitForStatus(client, task.id, ["cancelled"]);
      await waitFor(() => probe().heard("aborted", task.id).length, "the handler to see its signal abort");
    });

    it("refuses to cancel a finished task and to retry a live one", async () => {
      const lane = await useLane().open();
      lane.register(record);
      await lane.start();
      const task = await lane.add("record");
      await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      await expect(lane.cancel(task.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
      const queued = await lane.add("record", {}, { delay: "1h" });
      await expect(lane.retry(queued.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
    });

    it("retries a cancelled task and runs it", async () => {
      const lane = await useLane().open();
      lane.register(record);
      const task = await lane.add("record", { value: "ran" });
      await lane.cancel(task.id);
      await lane.start();
      const retried = await lane.retry(task.id);
      expect(retried).toMatchObject({ status: "queued", attempt: 0 });
      expect(await waitForStatus(lane, task.id, ["succeeded"], 60_000)).toMatchObject({ result: "ran" });
    });

    it("deletes a finished task but not a running one", async () => {
      const lane = await useLane().open();
      lane.register(held);
      await lane.start();
      const task = await lane.add("held");
      await waitForStatus(lane, task.id, ["running"]);
      await expect(lane.delete(task.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
      await waitFor(() => probe().heard("holding", task.id).length, "handler", 60_000);
      probe().open(task.id);
      await waitForStatus(lane, task.id, ["succeeded"]);
      await lane.delete(task.id);
      expect(await lane.get(task.id)).toBeNull();
    });
  });

  describe("deadline", () => {
    it("expires a task not started by its deadline", async () => {
      const lane = await useLane().open();
      lane.register(record);
      const expired: string[] = [];
      lane.on("task:expired", ({ task }) => expired.push(task.id));
      const task = await lane.add("record", {}, { delay: "300ms", deadline: "100ms" });
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
      lane.register(held, waiter);
      const s = await lane.add("held");
      const l = await lane.add("waiter");
      await lane.start();
      await waitFor(() => probe().heard("holding", s.id).length && probe().heard("started", l.id).length, "both handlers to start", 60_000);
      // The short task is still running when the stop begins, and ends inside the grace period.
      setTimeout(() => probe().open(s.id), 50);
      await lane.stop({ graceMs: 300 });
      expect(probe().heard("released", s.id)).toHaveLength(1);
      expect((await lane.get(s.id))!.status).toBe("succeeded");
      const released = await lane.get(l.id);
      expect(released).toMatchObject({ status: "queued", attempt: 0, runCount: 1 });
      expect((await lane.runs(l.id))[0]!.outcome).toBe("offline");
    });
  });
});
}
}
