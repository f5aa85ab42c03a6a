import { afterEach, describe, expect, it } from "vitest";
import { Scenario, statusCounts, waitFor, SUITE_ISOLATIONS } from "../fixtures/harness.js";

let scenario: Scenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

const TOTAL = 2000;

// The same tests with handlers inline and in worker threads.
for (const isolation of SUITE_ISOLATIONS) {
  describe(`two worker processes on one SQLite file [isolation ${isolation}]`, () => {
    it(`drain ${TOTAL} tasks: each succeeds exactly once, and nobody sees "database is locked"`, async () => {
      scenario = new Scenario("two", { isolation });
      const lane = await scenario.observer();
      const env = { concurrency: 20, claimBatch: 20, pollIntervalMs: 200 };
      const [a, b] = await Promise.all([scenario.startWorker("w1", env), scenario.startWorker("w2", env)]);

      // Added in batches while both run, so adds, claims and finishes of three processes interleave.
      const ids: string[] = [];
      for (let batch = 0; batch < TOTAL / 100; batch++) {
        const added = await lane.addMany(Array.from({ length: 100 }, (_, i) => ({ type: "record", params: { n: batch * 100 + i } })));
        ids.push(...added.map((t) => t.id));
      }
      expect(new Set(ids).size).toBe(TOTAL);

      await waitFor(`${TOTAL} tasks to succeed`, async () => ((await statusCounts(lane)).succeeded === TOTAL) || undefined, 60_000, 100);
      expect(await statusCounts(lane)).toEqual({ succeeded: TOTAL });

      // Exactly one recorded success per task, and every task recorded.
      const recorded = scenario.recordedTaskIds();
      expect(recorded).toHaveLength(TOTAL);
      expect(new Set(recorded).size).toBe(TOTAL);
      expect([...recorded].sort()).toEqual([...ids].sort());

      // One run, one attempt each (no takeover happened), and both processes did part of the work.
      const byNode: Record<string, number> = {};
      let cursor: string | undefined;
      let seen = 0;
      do {
        const page = await lane.list({ limit: 1000, cursor });
        for (const t of page.tasks) {
          expect([t.id, t.runCount, t.attempt]).toEqual([t.id, 1, 1]);
          byNode[t.node!] = (byNode[t.node!] ?? 0) + 1;
          seen += 1;
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toBe(TOTAL);
      expect(Object.keys(byNode).sort()).toEqual(["w1", "w2"]);

      const stderr = scenario.allStderr();
      expect(stderr.filter((l) => /database is locked|SQLITE_BUSY/i.test(l))).toEqual([]);
      expect(stderr).toEqual([]);
      expect(a.isAlive() && b.isAlive()).toBe(true);
    });
  });
}
