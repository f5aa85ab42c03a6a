import { describe, expect, it } from "vitest";
import type { Tasklane } from "../../src/index.js";
import { job } from "../fixtures/runtime/tasks.js";
import { BACKENDS, runtimeIsolations, useLanes, useProbe, sleep, waitFor, waitForStatus } from "../helpers/lane.js";

/**
 * Waits (5 s at most: far less than a 10 s poll or a 1 h lease) for `node` to have claimed the
 * task again. Its claim, not its success, is what must be prompt: in an isolated mode the handler
 * then waits for a runner to start, seconds on a loaded machine.
 */
async function claimedBy(lane: Tasklane, id: string, node: string): Promise<void> {
  await waitFor(async () => {
    const t = await lane.get(id);
    return t && t.node === node && t.runCount === 2 && (t.status === "running" || t.status === "succeeded");
  }, `the task to be claimed again by ${node}`, 5000);
}

for (const backend of BACKENDS) {
for (const isolation of runtimeIsolations(backend)) {
describe(`on ${backend}, isolation ${isolation}`, () => {
  const useLane = useLanes(backend, isolation);
  const probe = useProbe();

  describe("leases and fencing between nodes", () => {
    it("drops the late result of a node whose lease was taken over", async () => {
      const file = useLane().file();
      const def = { ...job, attempts: 3 };
      // A never renews (heartbeat far slower than the lease), as if its process were frozen.
      const a = await useLane().open({ file, node: "a", tasks: [def], worker: { leaseMs: 200, heartbeatMs: 60_000, concurrency: 1 } });
      const b = await useLane().open({ file, node: "b", tasks: [def] });
      await a.start();
      const task = await a.add("job", { onA: "gate" }); // held on A until the test opens its gate
      await waitForStatus(a, task.id, ["running"]);
      await b.start(); // B's maintenance rescues A's expired lease and runs the task
      const done = await waitForStatus(b, task.id, ["succeeded"], 60_000);
      expect(done).toMatchObject({ result: "from b", node: "b", attempt: 2 });
      // A's handler, once started, returns now: its result must be refused.
      await waitFor(() => probe().heard("holding", task.id).length, "A's handler to start", 60_000);
      probe().open(task.id);
      await sleep(200);
      const after = await b.get(task.id);
      expect(after).toMatchObject({ status: "succeeded", result: "from b" });
      const runs = await b.runs(task.id);
      expect(runs.map((r) => [r.node, r.outcome])).toEqual([["a", "offline"], ["b", "succeeded"]]);
    });

    it("aborts a handler whose lease was lost, with kind lease-lost", async () => {
      const file = useLane().file();
      // A's heartbeat comes after its lease already expired: B takes over first. (One slot: A's
      // stuck run holds it, so A cannot re-claim the task itself after its own rescue.)
      const a = await useLane().open({ file, node: "a", tasks: [job], worker: { leaseMs: 150, heartbeatMs: 600, concurrency: 1 } });
      const b = await useLane().open({ file, node: "b", tasks: [job] });
      await a.start();
      const task = await a.add("job", { onA: "abort" }); // on A: waits for its signal, then returns
      await waitForStatus(a, task.id, ["running"]);
      await b.start();
      await waitForStatus(b, task.id, ["succeeded"], 60_000);
      const reason = await waitFor(() => probe().data<{ isTaskAbortedError: boolean; kind: string }>("aborted", task.id)[0], "A's signal to abort", 60_000);
      expect(reason).toMatchObject({ isTaskAbortedError: true, kind: "lease-lost" });
      await sleep(100);
      expect((await b.get(task.id))!.result).toBe("from b");
    });

    it("starts a task it rescued itself without waiting for the next poll", async () => {
      const file = useLane().file();
      // A never rescues (so only B's own rescue can free the task) and never renews.
      const a = await useLane().open({
        file,
        node: "a",
        tasks: [job],
        worker: { leaseMs: 200, heartbeatMs: 60_000, concurrency: 1, maintenanceMs: 60_000 },
      });
      await a.start();
      const task = await a.add("job", { onA: "freeze" });
      await waitForStatus(a, task.id, ["running"]);
      // B polls only every 10 s; its own rescue commit does not change its data_version either.
      const b = await useLane().open({ file, node: "b", tasks: [job], worker: { pollIntervalMs: 10_000, maintenanceMs: 50 } });
      await b.start();
      await claimedBy(b, task.id, "b");
      await waitForStatus(b, task.id, ["succeeded"], 60_000);
      await a.stop({ graceMs: 0 });
    });

    it("re-queues its own leftover runs at start, without waiting for the lease", async () => {
      const file = useLane().file();
      const first = await useLane().open({ file, node: "same", tasks: [job] });
      const task = await first.add("job");
      // Simulate a crash: claim through the store, then never finish.
      await first.store.taskClaim({ node: "same", types: [{ type: "job", slots: Infinity }], limit: 1, cpuFree: 100, cpuCapacity: 100, leaseMs: 3_600_000 });
      expect((await first.get(task.id))!.status).toBe("running");
      const second = await useLane().open({ file, node: "same", tasks: [job] });
      await second.start();
      await claimedBy(second, task.id, "same");
      const done = await waitForStatus(second, task.id, ["succeeded"], 60_000);
      expect(done.runCount).toBe(2);
      expect((await second.runs(task.id))[0]!.outcome).toBe("offline");
    });
  });
});
}
}
