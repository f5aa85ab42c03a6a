import { afterEach, describe, expect, it } from "vitest";
import { ClusterScenario, FAST_FAILOVER, waitFor } from "../fixtures/cluster.js";
import { handlerStarted, SUITE_ISOLATIONS } from "../fixtures/harness.js";

let scenario: ClusterScenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

/** How long a lost node's tasks may take to run elsewhere: the lease plus generous slack. */
const FAILOVER_DEADLINE_MS = 20_000;
// The same tests with handlers inline and in worker threads.
for (const isolation of SUITE_ISOLATIONS) {
  describe(`one of three worker processes SIGKILLed mid-run [isolation ${isolation}]`, () => {
    it("its running tasks re-run on the others within the failover time, and every task succeeds exactly once", async () => {
      scenario = new ClusterScenario({ isolation });
      const lane = await scenario.observer();
      const env = { ...FAST_FAILOVER, concurrency: 5 };
      const [a, b, victim] = await Promise.all(["node-a", "node-b", "victim"].map((n) => scenario!.startWorker(n, env)));

      // On the victim a task naps until killed (so it holds running tasks that never reached their
      // side effect); anywhere else it takes 20 ms.
      const TOTAL = 300;
      const added = await lane.addMany(
        Array.from({ length: TOTAL }, (_, i) => ({ type: "pgrecord", params: { i, ms: 20, slowOn: "victim" }, options: { attempts: 3 } })),
      );
      const held = await waitFor(
        "the victim to hold 5 running tasks",
        async () => {
          const rows = await scenario!.sql<{ id: string }>(`SELECT id FROM {S}.tasks WHERE status = 'running' AND node = 'victim' ORDER BY id`);
          return rows.length === 5 ? rows.map((r) => r.id) : undefined;
        },
        30_000,
      );

      victim.kill("SIGKILL");
      expect((await victim.exited).signal).toBe("SIGKILL");
      // More work arrives while the victim's leases run out: nothing may be lost.
      const more = await lane.addMany(Array.from({ length: 50 }, (_, i) => ({ type: "pgrecord", params: { late: i, ms: 20 } })));

      // The victim's tasks run again on a survivor within the failover time.
      await waitFor(
        "the victim's tasks to succeed on the survivors",
        async () => {
          const rows = await scenario!.sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM {S}.tasks WHERE id = ANY($1::text[]) AND status = 'succeeded' AND node IN ('node-a', 'node-b')`,
            [held],
          );
          return rows[0]!.n === held.length || undefined;
        },
        FAILOVER_DEADLINE_MS,
      );
      await scenario.waitForSucceeded(TOTAL + more.length, 60_000);
      expect(await scenario.statusCounts()).toEqual({ succeeded: TOTAL + more.length });

      for (const id of held) {
        const runs = await lane.runs(id);
        expect(runs.map((r) => [r.runNo, r.node === "victim" ? "victim" : "survivor", r.outcome])).toEqual([
          [1, "victim", "offline"],
          [2, "survivor", "succeeded"],
        ]);
        expect(runs[0]!.error?.name).toBe("NodeLostError");
      }
      // Exactly one side effect per task; the victim never wrote one (it was killed mid-nap).
      expect(await scenario.effectAnomalies()).toEqual([]);
      expect(await scenario.sql(`SELECT task_id FROM {S}.effects WHERE node = 'victim'`)).toEqual([]);
      expect(added.length + more.length).toBe(TOTAL + 50);
      // Only the victim's tasks were run twice.
      const rerun = await scenario.sql<{ id: string }>(`SELECT id FROM {S}.tasks WHERE run_count > 1 ORDER BY id`);
      expect(rerun.map((r) => r.id)).toEqual(held);
      expect(a.isAlive() && b.isAlive()).toBe(true);
      expect(scenario.allStderr()).toEqual([]);
    }, 120_000);
  });

  describe(`a zombie worker (SIGSTOP past its lease, then SIGCONT) [isolation ${isolation}]`, () => {
    it("cannot complete the task another node took over: its late result is dropped", async () => {
      scenario = new ClusterScenario({ isolation });
      const lane = await scenario.observer();
      const zombie = await scenario.startWorker("zombie", FAST_FAILOVER);

      // 3 s on the first run, ignoring the signal, so once resumed the zombie's handler runs to the
      // end and tries to commit a success; 50 ms on the takeover run.
      const task = await lane.add("pgrecord", { ms: 3000, thenMs: 50, ignoreSignal: true }, { attempts: 3 });
      await scenario.waitForTask(task.id, "running", (t) => t.node === "zombie");
      await waitFor("the zombie's handler to have started", () => handlerStarted(lane, task.id));
      zombie.kill("SIGSTOP");
      const stoppedAt = Date.now();

      // Another node rescues the expired lease, runs the task again and commits its success.
      const other = await scenario.startWorker("node-b", FAST_FAILOVER);
      const done = await scenario.waitForTask(task.id, "succeeded", () => true, FAILOVER_DEADLINE_MS);
      expect(done.node).toBe("node-b");
      expect(done.runCount).toBe(2);
      expect(done.result).toEqual({ runId: `${task.id}#2`, node: "node-b" });

      // Resume the zombie after its handler's 3 s are over: it wakes with a result in hand.
      await waitFor("the zombie's nap to be over", () => Date.now() - stoppedAt > 3500 || undefined, 10_000, 100);
      zombie.kill("SIGCONT");
      // The zombie's handler ran to its end (its side effect is the evidence) …
      await waitFor(
        "the zombie's handler to finish",
        async () => (await scenario!.effects(task.id)).some((e) => e.node === "zombie") || undefined,
        20_000,
      );
      // … and then it must not have committed anything. Give it time to try: it renews (and is
      // refused) every 250 ms, and completes within a flush; wait for a later success on the
      // zombie to prove its loop went on after the refused run.
      const probe = await lane.add("pgrecord", { ms: 0 }, { executor: "zombie" });
      await scenario.waitForTask(probe.id, "succeeded", (t) => t.node === "zombie", 20_000);

      const after = (await lane.get(task.id))!;
      expect(after.status).toBe("succeeded");
      expect(after.node).toBe("node-b");
      expect(after.runCount).toBe(2);
      expect(after.result).toEqual({ runId: `${task.id}#2`, node: "node-b" });
      expect(after.finishedAt).toEqual(done.finishedAt);
      const runs = await lane.runs(task.id);
      expect(runs.map((r) => [r.runNo, r.node, r.outcome])).toEqual([
        [1, "zombie", "offline"],
        [2, "node-b", "succeeded"],
      ]);
      // The zombie's late success left no trace on the task or its runs.
      expect(runs[0]!.result ?? null).toBeNull();
      expect((await scenario.effects(task.id)).map((e) => [e.run_id, e.node, e.kind]).sort()).toEqual(
        [
          [`${task.id}#1`, "zombie", "done"],
          [`${task.id}#2`, "node-b", "done"],
        ].sort(),
      );
      expect(zombie.isAlive() && other.isAlive()).toBe(true);
      // The refused late finish is dropped quietly: no error on either process.
      expect(scenario.allStderr()).toEqual([]);
    }, 120_000);
  });
}
