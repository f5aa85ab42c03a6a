import { describe, expect, it } from "vitest";
import { defineTask, TaskAbortedError } from "../../src/index.js";
import { BACKENDS, useLanes, sleep, waitFor, waitForStatus } from "../helpers/lane.js";

for (const backend of BACKENDS) {
describe(`on ${backend}`, () => {
  const useLane = useLanes(backend);

  describe("leases and fencing between nodes", () => {
    it("drops the late result of a node whose lease was taken over", async () => {
      const file = useLane().file();
      let releaseA!: () => void;
      const holdOnA = new Promise<void>((r) => (releaseA = r));
      const onA = defineTask({ name: "job", attempts: 3, run: async (ctx) => { await holdOnA; return `from ${ctx.node}`; } });
      const onB = defineTask({ name: "job", attempts: 3, run: async (ctx) => `from ${ctx.node}` });
      // A never renews (heartbeat far slower than the lease), as if its process were frozen.
      const a = await useLane().open({ file, node: "a", tasks: [onA], worker: { leaseMs: 200, heartbeatMs: 60_000, concurrency: 1 } });
      const b = await useLane().open({ file, node: "b", tasks: [onB] });
      await a.start();
      const task = await a.add("job");
      await waitForStatus(a, task.id, ["running"]);
      await b.start(); // B's maintenance rescues A's expired lease and runs the task
      const done = await waitForStatus(b, task.id, ["succeeded"]);
      expect(done).toMatchObject({ result: "from b", node: "b", attempt: 2 });
      releaseA();
      await sleep(200);
      const after = await b.get(task.id);
      expect(after).toMatchObject({ status: "succeeded", result: "from b" });
      const runs = await b.runs(task.id);
      expect(runs.map((r) => [r.node, r.outcome])).toEqual([["a", "offline"], ["b", "succeeded"]]);
    });

    it("aborts a handler whose lease was lost, with kind lease-lost", async () => {
      const file = useLane().file();
      let reason: unknown;
      const job = defineTask({
        name: "job",
        run: async (ctx) => {
          if (ctx.node === "b") return "b";
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          reason = ctx.signal.reason;
          return "a (dropped)";
        },
      });
      // A's heartbeat comes after its lease already expired: B takes over first. (One slot: A's
      // stuck run holds it, so A cannot re-claim the task itself after its own rescue.)
      const a = await useLane().open({ file, node: "a", tasks: [job], worker: { leaseMs: 150, heartbeatMs: 600, concurrency: 1 } });
      const b = await useLane().open({ file, node: "b", tasks: [job] });
      await a.start();
      const task = await a.add("job");
      await waitForStatus(a, task.id, ["running"]);
      await b.start();
      await waitForStatus(b, task.id, ["succeeded"]);
      await waitFor(() => reason, "A's signal to abort");
      expect(reason).toBeInstanceOf(TaskAbortedError);
      expect((reason as TaskAbortedError).kind).toBe("lease-lost");
      await sleep(100);
      expect((await b.get(task.id))!.result).toBe("b");
    });

    it("starts a task it rescued itself without waiting for the next poll", async () => {
      const file = useLane().file();
      const job = defineTask({ name: "job", run: (ctx) => ctx.node });
      const frozen = defineTask({ name: "job", run: () => new Promise(() => {}) });
      // A never rescues (so only B's own rescue can free the task) and never renews.
      const a = await useLane().open({
        file,
        node: "a",
        tasks: [frozen],
        worker: { leaseMs: 200, heartbeatMs: 60_000, concurrency: 1, maintenanceMs: 60_000 },
      });
      await a.start();
      const task = await a.add("job");
      await waitForStatus(a, task.id, ["running"]);
      // B polls only every 10 s; its own rescue commit does not change its data_version either.
      const b = await useLane().open({ file, node: "b", tasks: [job], worker: { pollIntervalMs: 10_000, maintenanceMs: 50 } });
      await b.start();
      await waitForStatus(b, task.id, ["succeeded"], 5000);
      await a.stop({ graceMs: 0 });
    });

    it("re-queues its own leftover runs at start, without waiting for the lease", async () => {
      const file = useLane().file();
      const job = defineTask({ name: "job", run: () => "ran" });
      const first = await useLane().open({ file, node: "same", tasks: [job] });
      const task = await first.add("job");
      // Simulate a crash: claim through the store, then never finish.
      await first.store.taskClaim({ node: "same", types: [{ type: "job", slots: Infinity }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 3_600_000 });
      expect((await first.get(task.id))!.status).toBe("running");
      const second = await useLane().open({ file, node: "same", tasks: [job] });
      await second.start();
      const done = await waitForStatus(second, task.id, ["succeeded"], 5000);
      expect(done.runCount).toBe(2);
      expect((await second.runs(task.id))[0]!.outcome).toBe("offline");
    });
  });
});
}
