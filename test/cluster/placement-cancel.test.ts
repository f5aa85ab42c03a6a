import { afterEach, describe, expect, it } from "vitest";
import { ClusterScenario, FAST_FAILOVER } from "../fixtures/cluster.js";
import { handlerStarted, SUITE_ISOLATIONS, waitFor } from "../fixtures/harness.js";

let scenario: ClusterScenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});
// The same tests with handlers inline and in worker threads.
for (const isolation of SUITE_ISOLATIONS) {
  describe(`a pinned task (executor: node-b) [isolation ${isolation}]`, () => {
    it("runs only on node-b: the other nodes never take it, even when idle", async () => {
      scenario = new ClusterScenario({ isolation });
      const lane = await scenario.observer();
      const env = { concurrency: 5, pollIntervalMs: 100 };
      const [a, c] = await Promise.all([scenario.startWorker("node-a", env), scenario.startWorker("node-c", env)]);

      // Pinned tasks first, at the best priority; then unpinned ones that sort after them. Idle
      // node-a and node-c must skip the pinned ones and run the rest.
      const pinned = await lane.addMany(
        Array.from({ length: 20 }, (_, i) => ({ type: "pgrecord", params: { pinned: i }, options: { executor: "node-b", priority: -10 } })),
      );
      const free = await lane.addMany(Array.from({ length: 40 }, (_, i) => ({ type: "pgrecord", params: { free: i }, options: { priority: 10 } })));
      for (const t of free) await scenario.waitForTask(t.id, "succeeded");
      // A second wave proves both nodes kept polling past the pinned tasks, several times over.
      const wave = await lane.addMany(Array.from({ length: 40 }, (_, i) => ({ type: "pgrecord", params: { wave: i } })));
      for (const t of wave) await scenario.waitForTask(t.id, "succeeded");
      const ranOn = await scenario.sql<{ node: string }>(`SELECT DISTINCT node FROM {S}.tasks WHERE status = 'succeeded' ORDER BY node`);
      expect(ranOn.map((r) => r.node)).toEqual(["node-a", "node-c"]);
      for (const t of pinned) {
        const now = (await lane.get(t.id))!;
        expect([now.status, now.runCount, now.node]).toEqual(["queued", 0, null]);
      }

      // node-b comes up and runs every pinned task; the others still never touch them.
      const b = await scenario.startWorker("node-b", env);
      for (const t of pinned) {
        const done = await scenario.waitForTask(t.id, "succeeded");
        expect([done.node, done.runCount, done.executor]).toEqual(["node-b", 1, "node-b"]);
        expect((await lane.runs(t.id)).map((r) => [r.node, r.outcome])).toEqual([["node-b", "succeeded"]]);
      }
      const effectsOfPinned = await scenario.sql<{ node: string; n: number }>(
        `SELECT node, count(*)::int AS n FROM {S}.effects WHERE task_id = ANY($1::text[]) GROUP BY node`,
        [pinned.map((t) => t.id)],
      );
      expect(effectsOfPinned).toEqual([{ node: "node-b", n: pinned.length }]);
      expect(await scenario.effectAnomalies()).toEqual([]);
      expect([a, b, c].every((w) => w.isAlive())).toBe(true);
      expect(scenario.allStderr()).toEqual([]);
    });
  });

  describe(`cancel across nodes [isolation ${isolation}]`, () => {
    it("a cancel issued through node A (the observer) aborts the handler running on node B; the task ends cancelled", async () => {
      scenario = new ClusterScenario({ isolation });
      const lane = await scenario.observer();
      // A long lease and heartbeat: the cancel must not depend on the lease running out.
      const b = await scenario.startWorker("node-b", { ...FAST_FAILOVER, leaseMs: 30_000, heartbeatMs: 1000 });

      const task = await lane.add("pgrecord", { ms: 600_000 }, { attempts: 3 });
      await scenario.waitForTask(task.id, "running", (t) => t.node === "node-b");
      await waitFor("the handler to have started", () => handlerStarted(lane, task.id));
      const asked = Date.now();
      const cancelling = await lane.cancel(task.id);
      expect(cancelling).toMatchObject({ status: "running", cancelRequested: true });

      const ended = await scenario.waitForTask(task.id, "cancelled", () => true, 15_000);
      const tookMs = Date.now() - asked;
      // The handler's own signal aborted with kind "cancelled" (it recorded that before rethrowing).
      expect((await scenario.effects(task.id)).map((e) => [e.run_id, e.node, e.kind])).toEqual([[`${task.id}#1`, "node-b", "abort:cancelled"]]);
      expect(ended.node).toBe("node-b");
      expect(ended.runCount).toBe(1);
      expect((await lane.runs(task.id)).map((r) => [r.node, r.outcome])).toEqual([["node-b", "cancelled"]]);
      // Informational only (no timing assertion): how long the cancel took to land on node B.
      console.log(`cross-node cancel: handler aborted and task cancelled ${tookMs} ms after lane.cancel()`);

      // node B is fine and keeps working.
      const next = await lane.add("pgrecord", {});
      await scenario.waitForTask(next.id, "succeeded", (t) => t.node === "node-b");
      expect(b.isAlive()).toBe(true);
      expect(scenario.allStderr()).toEqual([]);
    });
  });
}
