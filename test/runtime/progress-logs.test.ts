import { describe, expect, it } from "vitest";
import { type EventRow } from "../../src/index.js";
import { RunState } from "../../src/runtime/run-state.js";
import { chatty, flood, hooked, record, spam, steps, tick } from "../fixtures/runtime/tasks.js";
import { BACKENDS, runtimeIsolations, useLanes, useProbe, sleep, waitFor, waitForStatus } from "../helpers/lane.js";

// The rate and ETA arithmetic, on the node whatever the mode: run once.
describe("progress rate and ETA of a run", () => {
    const running = (): RunState =>
      new RunState({ id: "t", runCount: 1, type: "x" } as never, 100);

    it("derives the rate over the sample window and the ETA from it", () => {
      const run = running();
      const t0 = 1_000_000;
      run.setProgress(0, 1000, "start");
      expect(run.takeProgress(t0)!.ratePerSec).toBeNull(); // one sample: no rate yet
      run.setProgress(100, undefined, undefined);
      const p1 = run.takeProgress(t0 + 1000)!;
      expect(p1.ratePerSec).toBe(100);
      expect(p1).toMatchObject({ current: 100, total: 1000, message: "start" });
      run.setProgress(400, undefined, "faster");
      expect(run.takeProgress(t0 + 2000)!.ratePerSec).toBe(200); // (400-0)/2s over the window
      expect(run.takeProgress(t0 + 2500)).toBeNull(); // nothing new: nothing to write
    });

    it("forgets samples older than the window so the rate follows the current speed", () => {
      const run = running();
      const t0 = 0;
      run.setProgress(0, 10_000, null);
      run.takeProgress(t0);
      for (let s = 1; s <= 30; s++) {
        run.setProgress(s <= 15 ? s * 10 : 150 + (s - 15) * 100, undefined, undefined);
        run.takeProgress(t0 + s * 1000);
      }
      const last = run.finalProgress(t0 + 30_000)!;
      expect(last.ratePerSec).toBeGreaterThan(90); // last 10 s ran at 100/s, the first 15 s at 10/s
      expect(last.ratePerSec).toBeLessThanOrEqual(100);
    });
});

for (const backend of BACKENDS) {
for (const isolation of runtimeIsolations(backend)) {
describe(`on ${backend}, isolation ${isolation}`, () => {
  const useLane = useLanes(backend, isolation);
  const probe = useProbe();

  describe("progress rate and ETA", () => {

    it("reports rate and ETA through get() while running, and stores the final value", async () => {
      const lane = await useLane().open({ worker: { flushMs: 20 } });
      lane.register(steps);
      await lane.start();
      const task = await lane.add("steps");
      const mid = await waitFor(async () => {
        const t = await lane.get(task.id);
        return t?.progress?.current === 100 && t.progress.ratePerSec ? t : null;
      }, "progress with a rate", 60_000);
      const p = mid.progress!;
      expect(p.total).toBe(200);
      expect(p.message).toBe("step 10");
      expect(p.ratePerSec).toBeGreaterThan(0);
      expect(p.etaMs).toBeCloseTo(((200 - 100) / p.ratePerSec!) * 1000, 0);
      await waitFor(() => probe().heard("holding", task.id).length, "the handler to reach its hold point");
      probe().open(task.id);
      const done = await waitForStatus(lane, task.id, ["succeeded"]);
      expect(done.progress).toMatchObject({ current: 200, total: 200, message: "done", etaMs: null });
    });

    it("coalesces a flood of progress calls into a few writes, keeping the last value", async () => {
      const lane = await useLane().open({ worker: { flushMs: 50 } });
      let writes = 0;
      const original = lane.store.progressWriteMany.bind(lane.store);
      lane.store.progressWriteMany = async (updates) => {
        writes += 1;
        return original(updates);
      };
      lane.register(flood);
      const seen: number[] = [];
      lane.on("task:progress", ({ progress }) => seen.push(progress.current));
      await lane.start();
      const task = await lane.add("flood");
      const done = await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      expect(done.progress!.current).toBe(100_000);
      expect(writes).toBeLessThan(10);
      expect(seen.length).toBe(writes);
    });
  });

  describe("logs", () => {
    it("stores leveled lines per run and reads them back in order", async () => {
      const lane = await useLane().open();
      lane.register({ ...chatty, attempts: 2, backoff: 1 });
      await lane.start();
      const task = await lane.add("chatty");
      await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      const lines: EventRow[] = [];
      for await (const e of lane.logs(task.id)) lines.push(e);
      expect(lines.map((e) => [e.runNo, e.level, e.message])).toEqual([
        [1, "debug", "debugging"],
        [1, "info", "working"],
        [1, "warn", "careful"],
        [1, "error", "failing now"],
        [2, "debug", "debugging"],
        [2, "info", "working"],
        [2, "warn", "careful"],
      ]);
      expect(lines[0]!.data).toEqual({ attempt: 1 });
      expect(lines[4]!.data).toEqual({ attempt: 2 });
    });

    it("follows a running task's log live and ends when the task ends", async () => {
      const file = useLane().file();
      const worker = await useLane().open({ file, node: "w", tasks: [tick], worker: { flushMs: 20 } });
      const reader = await useLane().open({ file, node: "r", tasks: [tick] });
      await worker.start();
      const task = await reader.add("tick", { n: 5, ms: 60 });
      const got: Array<{ message: string; at: number }> = [];
      for await (const e of reader.logs(task.id, { follow: true, pollMs: 20 })) got.push({ message: e.message, at: Date.now() });
      expect(got.map((g) => g.message)).toEqual(["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"]);
      // Lines arrived while the task ran, not all at the end.
      expect(got[4]!.at - got[0]!.at).toBeGreaterThan(100);
      expect((await reader.get(task.id))!.status).toBe("succeeded");
    });

    // SQLite's change watch reports every commit of another connection, log lines included.
    // PostgreSQL's notifications name new work, cancels and schedules only: a log follow of a
    // task run by another node still waits for its poll there.
    it.runIf(backend === "sqlite")("wakes a follow in another process through the store's change watch, not its poll", async () => {
      const file = useLane().file();
      const worker = await useLane().open({ file, node: "w", tasks: [tick], worker: { flushMs: 20 } });
      const reader = await useLane().open({ file, node: "r", tasks: [tick] });
      await worker.start();
      const task = await reader.add("tick", { n: 3, ms: 100 });
      const t0 = Date.now();
      const got: string[] = [];
      // A poll of a minute: only a wake-up from the other connection's commits can end this in time.
      for await (const e of reader.logs(task.id, { follow: true, pollMs: 60_000, signal: AbortSignal.timeout(15_000) })) got.push(e.message);
      expect(got).toEqual(["tick 1", "tick 2", "tick 3"]);
      expect((await reader.get(task.id))!.status).toBe("succeeded");
      expect(Date.now() - t0).toBeLessThan(10_000);
    });

    it("keeps the newest lines of a run beyond the cap, with a marker", async () => {
      const lane = await useLane().open({ worker: { maxEventsPerRun: 5 } });
      lane.register(spam); // 8 lines, a flush, 4 more
      await lane.start();
      const task = await lane.add("spam");
      await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      const lines: string[] = [];
      for await (const e of lane.logs(task.id)) lines.push(e.message);
      expect(lines).toEqual([expect.stringMatching(/^7 earlier log line\(s\)/), "a8", "a9", "a10", "a11", "a12"]);
    });
  });

  describe("retention", () => {
    it("prunes finished tasks after deleteAfter, keeping live and young ones", async () => {
      const lane = await useLane().open({ tasks: [record] });
      const old = await lane.add("record", {}, { deleteAfter: 0 });
      const young = await lane.add("record");
      const waiting = await lane.add("record", {}, { delay: "1h", deleteAfter: 0 });
      await lane.start();
      await waitForStatus(lane, old.id, ["succeeded"], 60_000);
      await waitForStatus(lane, young.id, ["succeeded"], 60_000);
      await sleep(5);
      const report = await lane.prune();
      expect(report.tasksDeleted).toBe(1);
      expect(await lane.get(old.id)).toBeNull();
      expect(await lane.get(young.id)).not.toBeNull();
      expect(await lane.get(waiting.id)).not.toBeNull();
    });
  });

  describe("hooks and events", () => {
    it("calls onAdd, onProgress, onSuccess and emits the lifecycle events in order", async () => {
      const calls: string[] = [];
      const lane = await useLane().open({ worker: { flushMs: 10 } });
      // Hooks run on the node in every mode: they may be the test's closures.
      lane.register({
        ...hooked,
        onAdd: () => void calls.push("onAdd"),
        onProgress: () => void calls.push("onProgress"),
        onSuccess: (_t, r) => void calls.push(`onSuccess:${r}`),
      });
      const events: string[] = [];
      for (const e of ["task:added", "task:started", "task:succeeded"] as const) lane.on(e, () => events.push(e));
      await lane.start();
      const task = await lane.add("hooked");
      await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      await waitFor(() => calls.includes("onSuccess:7"), "onSuccess");
      expect(events).toEqual(["task:added", "task:started", "task:succeeded"]);
      expect(calls[0]).toBe("onAdd");
      expect(calls).toContain("onProgress");
    });

    it("reports a throwing hook as an error event without failing the task", async () => {
      const lane = await useLane().open();
      const errors: string[] = [];
      lane.on("error", ({ where }) => errors.push(where));
      lane.register({ ...record, onSuccess: () => { throw new Error("hook bug"); } });
      await lane.start();
      const task = await lane.add("record");
      await waitForStatus(lane, task.id, ["succeeded"], 60_000);
      await waitFor(() => errors.length > 0, "error event");
      expect(errors).toEqual(["onSuccess of record"]);
    });
  });
});
}
}
