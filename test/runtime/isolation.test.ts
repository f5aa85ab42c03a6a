import { describe, expect, it } from "vitest";
import { defineTask, type Tasklane } from "../../src/index.js";
import type { TaskRow } from "../../src/model/task-row.js";
import { echo, hoard, hog, misbehave, quick, type Misdeed } from "../fixtures/isolation/handlers.js";
import { RUNNERS_PER_CORE } from "../../src/runtime/isolation/pool-size.js";
import { BACKENDS, useLanes, waitFor, waitForStatus } from "../helpers/lane.js";

const MODES = ["thread", "process"] as const;

/** Adds `n` quick tasks and waits until all succeeded. */
async function drain(lane: Tasklane, n: number): Promise<void> {
  const added = await lane.addMany(Array.from({ length: n }, (_, i) => ({ type: "quick", params: { n: i } })));
  const ids = new Set(added.map((t) => t.id));
  await waitFor(async () => {
    const done = await lane.list({ type: "quick", status: "succeeded", limit: 1000 });
    return done.tasks.filter((t) => ids.has(t.id)).length === n;
  }, `${n} quick tasks`, 60_000);
}

for (const backend of BACKENDS) {
  for (const mode of MODES) {
    describe(`isolation "${mode}" on ${backend}`, () => {
      const useLane = useLanes(backend);
      const open = (worker: Parameters<ReturnType<typeof useLane>["open"]>[0] = {}) =>
        useLane().open({ ...worker, worker: { isolation: mode, abortGraceMs: 500, concurrency: 3, ...worker.worker } });

      it("gives the handler the same ctx, and brings back results, progress, logs and errors faithfully", async () => {
        const lane = await open({ worker: { maxResultBytes: 64 * 1024 } });
        lane.register(echo);
        await lane.start();
        const ok = await lane.add("echo", { hello: "world" });
        const plain = await lane.add("echo", { throw: "plain" });
        const custom = await lane.add("echo", { throw: "custom" });
        const fatal = await lane.add("echo", { throw: "nonretryable" });
        const bare = await lane.add("echo", { throw: "string" });
        const under = await lane.add("echo", { bytes: 64 * 1024 });
        const over = await lane.add("echo", { bytes: 64 * 1024 + 1 });

        // Generous: on a loaded machine the first runners take seconds to start.
        const done = await waitForStatus(lane, ok.id, ["succeeded", "failed"], 60_000);
        expect(done.status).toBe("succeeded");
        expect(done.result).toEqual({ params: { hello: "world" }, attempt: 1, runId: `${ok.id}#1`, taskId: ok.id, parent: null, isDate: true });
        expect(done.progress).toMatchObject({ current: 1000, total: 1000, message: "step 1000" });
        const logs = [];
        for await (const e of lane.logs(ok.id)) logs.push(e);
        expect(logs.map((e) => [e.level, e.message, e.data])).toEqual([
          ["info", "hello from the handler", { attempt: 1 }],
          ["warn", "a warning", null],
        ]);

        const failedWith = async (id: string) => (await waitForStatus(lane, id, ["failed", "succeeded"], 60_000)).error!;
        expect(await failedWith(plain.id)).toMatchObject({ name: "Error", message: "plain failure" });
        const quota = await failedWith(custom.id);
        expect(quota).toMatchObject({ name: "QuotaError", message: "quota exceeded" });
        expect(quota.stack).toMatch(/QuotaError: quota exceeded\n\s+at .*handlers\.ts/);
        expect(await failedWith(fatal.id)).toMatchObject({ name: "NonRetryableError", message: "do not retry me" });
        expect(await failedWith(bare.id)).toMatchObject({ name: "Error", message: "a bare string" });
        expect((await waitForStatus(lane, under.id, ["succeeded", "failed"], 60_000)).result).toBe("r".repeat(64 * 1024 - 2));
        expect((await failedWith(over.id)).message).toContain("over the 65536-byte limit (worker option maxResultBytes)");
      });

      it("a NonRetryableError from a runner fails the task at once", async () => {
        const lane = await open();
        lane.register({ ...echo, attempts: 3 });
        await lane.start();
        const task = await lane.add("echo", { throw: "nonretryable" });
        const done = await waitForStatus(lane, task.id, ["failed"], 60_000);
        expect(done.attempt).toBe(1);
        expect(done.runCount).toBe(1);
      });

      it("ends a synchronous 10 s spin at its 1 s timeout by terminating the runner, while short tasks keep completing", async () => {
        const lane = await open({ worker: { concurrency: 4 } });
        lane.register(misbehave, quick);
        // The spin's 1 s must count from its start in a runner, not from a cold pool's start.
        await lane.start();
        const spinner = await lane.add("misbehave", { misdeed: "spin", always: true }, { timeout: "1s", attempts: 1 });
        await waitFor(() => lane.workerState()!.pools.busy === 1, "the spin to start in its runner", 60_000);
        const started = performance.now();
        await drain(lane, 20);
        const done = await waitForStatus(lane, spinner.id, ["failed", "succeeded"], 30_000);
        // timeout + grace + generous slack for a loaded machine; far below the 10 s of the spin.
        expect(performance.now() - started).toBeLessThan(8000);
        expect(done.status).toBe("failed");
        expect(done.error).toMatchObject({ name: "TimeoutError", message: "run exceeded its timeout of 1.0s; terminated after 0.5 s grace: the handler did not stop" });
        expect((await lane.runs(spinner.id)).map((r) => r.outcome)).toEqual(["timed_out"]);
        // The terminated runner's exit is seen a moment after the run's end.
        await waitFor(() => lane.workerState()!.pools.replaced >= 1, "the terminated runner to be replaced");
      });

      it("terminates a handler that ignores its signal when the task is cancelled", async () => {
        const lane = await open();
        lane.register(misbehave);
        await lane.start();
        const task = await lane.add("misbehave", { misdeed: "ignore-signal" });
        await waitForStatus(lane, task.id, ["running"], 60_000);
        await waitFor(() => lane.workerState()!.pools.busy === 1, "the handler to start in its runner", 60_000);
        await lane.cancel(task.id);
        const done = await waitForStatus(lane, task.id, ["cancelled"], 20_000);
        expect(done.error!.message).toBe("cancelled by request; terminated after 0.5 s grace: the handler did not stop");
        expect((await lane.runs(task.id)).map((r) => r.outcome)).toEqual(["cancelled"]);
      });

      it("sizes its pool from the node's CPU capacity and concurrency, and claims no more runs than its runners", async () => {
        // One core: 4 thread runners or 2 child processes, under the concurrency of 10.
        const lane = await open({ worker: { concurrency: 10, cpuCapacity: 100 } });
        lane.register(echo);
        await lane.start();
        const added = await lane.addMany(Array.from({ length: 6 }, (_, i) => ({ type: "echo", params: { wait: true, i } })));
        const runners = RUNNERS_PER_CORE[mode];
        await waitFor(() => lane.workerState()!.pools.busy === runners, `${runners} runners busy`, 60_000);
        const byStatus = async (status: TaskRow["status"]) => (await lane.list({ type: "echo", status })).tasks.map((t) => t.id);
        // The others stay queued (for other nodes), not claimed to wait here for a runner.
        expect(await byStatus("running")).toHaveLength(runners);
        expect(await byStatus("queued")).toHaveLength(6 - runners);
        expect(lane.workerState()!.pools.size).toBe(runners);
        // A freed runner takes the next one.
        const first = (await byStatus("running"))[0]!;
        await lane.cancel(first);
        await waitForStatus(lane, first, ["cancelled"], 20_000);
        await waitFor(async () => (await byStatus("queued")).length === 5 - runners, "the next task to be claimed", 20_000);
        expect(await byStatus("running")).toHaveLength(runners);
        for (const t of added) if (t.id !== first) await lane.cancel(t.id);
      });

      it.runIf(backend === "sqlite")("sizes its pool by maxRunners when set", async () => {
        const lane = await open({ worker: { concurrency: 5, maxRunners: 2 } });
        lane.register(echo);
        await lane.start();
        const added = await lane.addMany(Array.from({ length: 4 }, (_, i) => ({ type: "echo", params: { wait: true, i } })));
        await waitFor(() => lane.workerState()!.pools.busy === 2, "2 runners busy", 60_000);
        expect((await lane.list({ type: "echo", status: "running" })).tasks).toHaveLength(2);
        expect(lane.workerState()!.pools.size).toBe(2);
        for (const t of added) await lane.cancel(t.id);
      });

      const crashes: Array<[Misdeed, RegExp]> = [
        ["exit0", /the runner exited with code 0 during the run/],
        ["exit1", /the runner exited with code 1 during the run/],
        ["abort", mode === "thread" ? /process\.abort\(\) in the handler/ : /killed by SIGABRT during the run \(process\.abort\(\)/],
        ["throw-in-timer", /uncaught exception: Error: thrown in a timer/],
        ["unhandled-rejection", /unhandled rejection: Error: nobody handles me/],
      ];
      it("ends the run of a handler that exits, aborts or throws outside its promise as failed, retries it, and the node carries on", async () => {
        const lane = await open({ worker: { concurrency: 4 } });
        lane.register(misbehave, hog, quick);
        await lane.start();
        const added = new Map<string, RegExp>();
        for (const [misdeed, message] of crashes) added.set((await lane.add("misbehave", { misdeed })).id, message);
        const oom = await lane.add("hog", { misdeed: "allocate" });
        added.set(oom.id, /^out of memory: exceeded 128 MB$/);
        if (mode === "process") added.set((await lane.add("hog", { misdeed: "allocate-buffers" })).id, /^out of memory: exceeded 128 MB$/);
        for (const [id, message] of added) {
          const done: TaskRow = await waitForStatus(lane, id, ["succeeded", "failed"], 60_000);
          const runs = await lane.runs(id);
          expect(runs.map((r) => r.outcome), `${done.params && JSON.stringify(done.params)}`).toEqual(["failed", "succeeded"]);
          expect(runs[0]!.error!.message).toMatch(message);
          expect(done).toMatchObject({ status: "succeeded", result: "recovered" });
        }
        await drain(lane, 200);
      });

      it.runIf(backend === "sqlite")("replaces a runner after recycleRunnersAfter runs", async () => {
        const lane = await open({ worker: { concurrency: 1, recycleRunnersAfter: 2 } });
        lane.register(quick);
        await lane.start();
        await drain(lane, 6);
        await waitFor(() => lane.workerState()!.pools[mode].recycled >= 2, "two runners recycled");
        expect(lane.workerState()!.pools[mode].replaced).toBe(0);
      });

      it.runIf(backend === "sqlite")("replaces a runner whose heap grew past recycleRunnersAboveMb", async () => {
        const lane = await open({ worker: { concurrency: 1, recycleRunnersAboveMb: 16 } });
        lane.register(hoard);
        await lane.start();
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push((await lane.add("hoard")).id);
        // Each run starts in a fresh runner: the leak never accumulates past one run.
        for (const id of ids) expect((await waitForStatus(lane, id, ["succeeded", "failed"], 60_000)).result).toBe(1);
        await waitFor(() => lane.workerState()!.pools[mode].recycled >= 3, "three runners recycled");
      });

      it("refuses at registration a type it cannot load in a runner, naming the fix", async () => {
        const lane = await open();
        expect(() => lane.register(defineTask({ name: "inline", run: () => 1 }))).toThrow(
          /task "inline": isolation "\w+" loads the handler in a runner by module path.*add module: import\.meta\.url/,
        );
      });
    });
  }
}
