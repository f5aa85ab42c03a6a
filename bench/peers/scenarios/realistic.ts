/**
 * Scenario 4: tasks that each work 5–20 ms in 10 steps and report progress after each step
 * (the system's native progress call where it has one), at concurrency 100 in one worker process.
 */
import type { Adapter } from "../adapters/types.js";
import { spawnWorker, type WorkerChild } from "../child.js";
import { epochNow } from "../common.js";
import { confirmedAt, waitFor, workerTotals } from "./measure.js";
import type { Row, ScenarioContext } from "./types.js";

/** Deterministic 5–20 ms per task, the same sequence for every system. */
export const workMs = (seq: number) => 5 + ((seq * 7919) % 16);

export async function runRealistic(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  const total = ctx.sizes.realistic;
  const target = await adapter.prepare("realistic");
  let child: WorkerChild | null = null;
  try {
    const producer = await adapter.openProducer(target);
    try {
      for (let from = 0; from < total; from += 1000) {
        await producer.addBatch("real", Array.from({ length: Math.min(1000, total - from) }, (_, i) => ({ seq: from + i, ms: workMs(from + i) })));
      }
      child = await spawnWorker(adapter.id, target, { concurrency: 100, kind: "real" });
      const t0 = epochNow();
      child.go();
      const ok = await waitFor(() => child!.finished >= total, 180_000);
      const at = ok ? await confirmedAt(producer, "real", total) : null;
      const ms = (at ?? epochNow()) - t0;
      await child.stop();
      const w = workerTotals([child]);
      ctx.log(`  ${adapter.id}: ${w.finished} in ${ms.toFixed(0)} ms`);
      return [
        {
          system: adapter.id,
          values: {
            rate: (w.finished / ms) * 1000,
            seconds: ms / 1000,
            workerCpuUsPerTask: (w.cpuMs * 1000) / Math.max(1, w.finished),
            statementsPerTask: adapter.backend === "postgres" ? w.statements / Math.max(1, w.finished) : null,
          },
        },
      ];
    } finally {
      await producer.close();
    }
  } finally {
    child?.kill();
    await adapter.dispose(target);
  }
}
