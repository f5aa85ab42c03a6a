import { afterEach, describe, expect, it } from "vitest";
import { Scenario, statusCounts, waitFor, waitForTask, handlerStarted, SUITE_ISOLATIONS } from "../fixtures/harness.js";

let scenario: Scenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

// The same tests with handlers inline and in worker threads.
for (const isolation of SUITE_ISOLATIONS) {
  describe(`SIGTERM drain [isolation ${isolation}]`, () => {
    it("lets short tasks finish, releases long ones to the queue at once, exits 0, and another worker completes all", async () => {
      scenario = new Scenario("sigterm", { isolation });
      const lane = await scenario.observer();
      const env = { concurrency: 10, leaseMs: 60_000, heartbeatMs: 500, pollIntervalMs: 200, graceMs: 2500, abortGraceMs: 500 };

      const a = await scenario.startWorker("drainer", env);
      // Short tasks finish inside the grace period. The long ones sleep 60 s on their first run
      // (one stops when its signal aborts, one ignores it) and 50 ms on any later run.
      const short = await lane.addMany(Array.from({ length: 5 }, (_, i) => ({ type: "record", params: { ms: 500, i } })));
      const obeys = await lane.add("sleepy", { ms: 60_000, thenMs: 50 });
      const ignores = await lane.add("sleepy", { ms: 60_000, thenMs: 50, ignoreSignal: true });
      const all = [...short, obeys, ignores];
      await waitFor("all 7 tasks to be running on the drainer", async () => {
        const rows = await Promise.all(all.map((t) => lane.get(t.id)));
        return rows.every((r) => r!.status === "running" && r!.node === "drainer") || undefined;
      });
      // In an isolated mode a task is running before its handler has a runner: wait for the handlers.
      for (const t of all) await waitFor(`the handler of ${t.id} to have started`, () => handlerStarted(lane, t.id));

      a.kill("SIGTERM");
      const exit = await a.exited; // the test timeout bounds this
      expect(exit).toEqual({ code: 0, signal: null });
      expect(a.stdout).toContain("stopped");

      // Nothing is left running: short ones succeeded, long ones were released (not after a lease
      // of 60 s: at once), with the attempt refunded and the run recorded as `offline`.
      for (const t of short) expect((await lane.get(t.id))!.status).toBe("succeeded");
      for (const t of [obeys, ignores]) {
        const row = (await lane.get(t.id))!;
        expect(row.status).toBe("queued");
        expect(row.attempt).toBe(0);
        expect(row.runCount).toBe(1);
        expect(row.leaseExpiresAt).toBeNull();
        const runs = await lane.runs(t.id);
        expect(runs.map((r) => [r.node, r.outcome])).toEqual([["drainer", "offline"]]);
        expect(runs[0]!.error?.name).toBe("Released");
      }
      expect((await statusCounts(lane)).running).toBeUndefined();
      expect([...scenario.recordedTaskIds()].sort()).toEqual(short.map((t) => t.id).sort());

      // Another worker picks the released tasks up and completes everything.
      await scenario.startWorker("finisher", env);
      for (const t of [obeys, ignores]) {
        const done = await waitForTask(lane, t.id, "succeeded");
        expect(done.node).toBe("finisher");
        expect(done.attempt).toBe(1); // the released run did not count as an attempt
        expect((await lane.runs(t.id)).map((r) => r.outcome)).toEqual(["offline", "succeeded"]);
      }
      expect(await statusCounts(lane)).toEqual({ succeeded: 7 });
      expect(scenario.recordedTaskIds()).toHaveLength(5);
      expect(scenario.allStderr()).toEqual([]);
    });
  });
}
