import { afterEach, describe, expect, it } from "vitest";
import { ClusterScenario } from "../fixtures/cluster.js";

let scenario: ClusterScenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

const TOTAL = 10_000;

describe("three worker processes on one PostgreSQL schema", () => {
  it(`drain ${TOTAL} tasks: every task succeeds exactly once (one side effect each)`, async () => {
    scenario = new ClusterScenario();
    const lane = await scenario.observer();
    const env = { concurrency: 20, pollIntervalMs: 250 };
    const workers = await Promise.all(["n1", "n2", "n3"].map((n) => scenario!.startWorker(n, env)));

    // Added in batches while all three run, so adds, claims and finishes of four processes interleave.
    const ids: string[] = [];
    for (let batch = 0; batch < TOTAL / 1000; batch++) {
      const added = await lane.addMany(Array.from({ length: 1000 }, (_, i) => ({ type: "pgrecord", params: { n: batch * 1000 + i } })));
      ids.push(...added.map((t) => t.id));
    }
    expect(new Set(ids).size).toBe(TOTAL);

    await scenario.waitForSucceeded(TOTAL, 90_000);
    expect(await scenario.statusCounts()).toEqual({ succeeded: TOTAL });

    // Exactly one side effect per task, written by the run that committed the success.
    expect(await scenario.effectAnomalies()).toEqual([]);
    const [effects] = await scenario.sql<{ n: number; other: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE kind <> 'done')::int AS other FROM {S}.effects`,
    );
    expect(effects).toEqual({ n: TOTAL, other: 0 });
    const mismatched = await scenario.sql(
      `SELECT t.id FROM {S}.tasks t JOIN {S}.effects e ON e.task_id = t.id
       WHERE e.run_id <> t.id || '#' || t.run_count OR e.node <> t.node OR t.result ->> 'runId' <> e.run_id`,
    );
    expect(mismatched).toEqual([]);

    // One run, one attempt each (no takeover happened), and every process did part of the work.
    const perTask = await scenario.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM {S}.tasks WHERE run_count <> 1 OR attempt <> 1`,
    );
    expect(perTask).toEqual([{ n: 0 }]);
    // Run records: rows of runs, and the task row of a run that ended its task (migration 10).
    const [runs] = await scenario.sql<{ n: number; ok: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE outcome = 'succeeded')::int AS ok FROM (
         SELECT outcome FROM {S}.runs UNION ALL SELECT last_outcome FROM {S}.tasks WHERE last_outcome IS NOT NULL) r`,
    );
    expect(runs).toEqual({ n: TOTAL, ok: TOTAL });
    const byNode = await scenario.sql<{ node: string }>(`SELECT DISTINCT node FROM {S}.tasks ORDER BY node`);
    expect(byNode.map((r) => r.node)).toEqual(["n1", "n2", "n3"]);

    expect(scenario.allStderr()).toEqual([]);
    expect(workers.every((w) => w.isAlive())).toBe(true);
  }, 150_000);
});
