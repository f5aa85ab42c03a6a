import { afterEach, describe, expect, it } from "vitest";
import { ClusterScenario, waitFor } from "../fixtures/cluster.js";

let scenario: ClusterScenario | null = null;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

describe("cron schedules across worker processes on PostgreSQL", () => {
  it("three processes racing fire each tick exactly once", async () => {
    scenario = new ClusterScenario();
    const lane = await scenario.observer();
    await Promise.all(["s1", "s2", "s3"].map((n) => scenario!.startWorker(n, { pollIntervalMs: 250 })));
    await lane.schedule("every-second", { type: "noop", cron: "* * * * * *" });
    await waitFor(
      "six ticks",
      async () => ((await scenario!.sql<{ n: number }>(`SELECT count(*)::int AS n FROM {S}.schedule_ticks`))[0]!.n >= 6 ? true : undefined),
      20_000,
      100,
    );
    await lane.pauseSchedule("every-second");
    // A tick being fired while pausing commits its task with it; let it land.
    await new Promise((r) => setTimeout(r, 300));
    const ticks = await scenario.sql<{ tick_at: Date; task_id: string }>(
      `SELECT tick_at, task_id FROM {S}.schedule_ticks WHERE schedule = 'every-second' ORDER BY tick_at`,
    );
    const tasks = await scenario.sql<{ id: string }>(`SELECT id FROM {S}.tasks WHERE name = 'every-second'`);
    // One task per tick, the task the tick row names, consecutive seconds with no tick twice.
    expect(tasks.map((t) => t.id).sort()).toEqual(ticks.map((t) => t.task_id).sort());
    ticks.forEach((t, i) => i > 0 && expect(t.tick_at.getTime() - ticks[i - 1]!.tick_at.getTime()).toBe(1000));
  });
});
