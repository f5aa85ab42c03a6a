import { afterEach, describe, expect, it } from "vitest";
import { Scenario, statusCounts, waitFor, waitForTask, SUITE_ISOLATIONS } from "../fixtures/harness.js";

let scenario: Scenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

// The same tests with handlers inline and in worker threads.
for (const isolation of SUITE_ISOLATIONS) {
  describe(`a worker process killed with SIGKILL mid-task [isolation ${isolation}]`, () => {
    it("is taken over by another process after its lease expires; the task succeeds exactly once", async () => {
      scenario = new Scenario("sigkill", { isolation });
      const lane = await scenario.observer();
      // Short lease so the survivor takes over quickly; a heartbeat well inside it.
      const env = { concurrency: 4, leaseMs: 2000, heartbeatMs: 300, pollIntervalMs: 200, maintenanceMs: 200 };

      const a = await scenario.startWorker("node-a", env);
      // Far longer than node A can live: on a loaded machine B may take seconds to start, and a
      // short first run could end on A before the kill (it did, with 3 s). The rescued run is short.
      const long = await lane.add("record", { ms: 600_000, thenMs: 500 }, { attempts: 3 });
      const claimed = await waitForTask(lane, long.id, "running", (t) => t.node === "node-a");
      expect(claimed.runCount).toBe(1);

      // B is up before A dies, and more work arrives while A is down: nothing may be lost.
      const b = await scenario.startWorker("node-b", env);
      a.kill("SIGKILL");
      expect((await a.exited).signal).toBe("SIGKILL");
      const others = await lane.addMany(Array.from({ length: 20 }, (_, i) => ({ type: "record", params: { i } })));

      const done = await waitForTask(lane, long.id, "succeeded", () => true, 45_000);
      for (const t of others) await waitForTask(lane, t.id, "succeeded");

      expect(done.node).toBe("node-b");
      expect(done.runCount).toBe(2);
      const runs = await lane.runs(long.id);
      expect(runs.map((r) => [r.runNo, r.node, r.outcome])).toEqual([
        [1, "node-a", "offline"],
        [2, "node-b", "succeeded"],
      ]);
      expect(runs[0]!.error?.name).toBe("NodeLostError");

      // One committed success, and one visible side effect, per task.
      const recorded = scenario.recordedTaskIds();
      expect(recorded.filter((id) => id === long.id)).toHaveLength(1);
      expect([...recorded].sort()).toEqual([long.id, ...others.map((t) => t.id)].sort());
      expect(await statusCounts(lane)).toEqual({ succeeded: 21 });
      expect(b.isAlive()).toBe(true);
      expect(scenario.allStderr()).toEqual([]);
    });

    it("a restarted node re-queues its own leftover runs at once, without waiting for the lease", async () => {
      scenario = new Scenario("restart", { isolation });
      const lane = await scenario.observer();
      // A lease far longer than the test may take: only the restart can bring the task back.
      const env = { leaseMs: 60_000, heartbeatMs: 1000, pollIntervalMs: 200 };

      const first = await scenario.startWorker("n1", env);
      const task = await lane.add("record", { ms: 2000 });
      const running = await waitForTask(lane, task.id, "running", (t) => t.node === "n1");
      const leaseUntil = running.leaseExpiresAt!.getTime();
      first.kill("SIGKILL");
      await first.exited;

      await scenario.startWorker("n1", env);
      const done = await waitForTask(lane, task.id, "succeeded", () => true, 30_000);
      const runs = await lane.runs(task.id);
      expect(runs.map((r) => [r.runNo, r.node, r.outcome])).toEqual([
        [1, "n1", "offline"],
        [2, "n1", "succeeded"],
      ]);
      expect(runs[0]!.error?.message).toMatch(/restarted/);
      // The second run began while the first run's lease was still valid: the restart re-queued it.
      expect(runs[1]!.startedAt.getTime()).toBeLessThan(leaseUntil);
      expect(done.attempt).toBe(2);
      expect(scenario.recordedTaskIds()).toEqual([task.id]);
      expect(scenario.allStderr()).toEqual([]);
    });
  });

  describe(`a task that kills its own process [isolation ${isolation}]`, () => {
    it("fails after its attempts instead of crash-looping", async () => {
      scenario = new Scenario("crashloop", { isolation });
      const lane = await scenario.observer();
      const env = { leaseMs: 60_000, pollIntervalMs: 200 };
      const task = await lane.add("suicide", {}, { attempts: 2 });

      let starts = 0;
      let crashes = 0;
      // Restart the same node after every crash, like a supervisor would, with a hard bound.
      while (starts < 5) {
        const w = scenario.spawnWorker("looper", env);
        starts += 1;
        const outcome = await waitFor(`worker ${starts} to crash or task ${task.id} to fail`, async () => {
          if ((await lane.get(task.id))!.status === "failed") return "failed" as const;
          return w.isAlive() ? undefined : ("crashed" as const);
        });
        if (outcome === "failed") break;
        expect((await w.exited).signal).toBe("SIGKILL");
        crashes += 1;
      }

      const failed = await waitForTask(lane, task.id, "failed");
      expect(crashes).toBe(2);
      expect(starts).toBe(3);
      expect(failed.attempt).toBe(2);
      expect(failed.runCount).toBe(2);
      expect(failed.error?.name).toBe("NodeLostError");
      const runs = await lane.runs(task.id);
      expect(runs.map((r) => r.outcome)).toEqual(["offline", "offline"]);
      // The third process stays up and never claims it again.
      const last = scenario.workers[scenario.workers.length - 1]!;
      await last.waitForLine("ready");
      expect(last.isAlive()).toBe(true);
      expect((await lane.get(task.id))!.runCount).toBe(2);
      expect(scenario.allStderr()).toEqual([]);
    });
  });
}
