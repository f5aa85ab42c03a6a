/**
 * Scenario 2: drain pre-added no-op tasks at concurrency 10 and 100, with one and two worker
 * processes. The clock runs from "go" (workers connected and migrated, not yet claiming) to the
 * moment the store shows every task finished; when the cap comes first, the rate is the handlers
 * finished by then over the cap (marked "capped").
 */
import type { Adapter } from "../adapters/types.js";
import { spawnWorker, type WorkerChild } from "../child.js";
import { epochNow } from "../common.js";
import { confirmedAt, pgBackendCpu, pgCpuSince, waitFor, workerTotals } from "./measure.js";
import type { Row, ScenarioContext } from "./types.js";

export const DRAIN_CASES = [
  { concurrency: 10, processes: 1 },
  { concurrency: 100, processes: 1 },
  { concurrency: 10, processes: 2 },
  { concurrency: 100, processes: 2 },
];

export const caseName = (c: { concurrency: number; processes: number }) => `c${c.concurrency}×${c.processes}`;

export async function runDrain(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const dc of DRAIN_CASES) rows.push(await drainOne(adapter, ctx, dc.concurrency, dc.processes));
  return rows;
}

async function drainOne(adapter: Adapter, ctx: ScenarioContext, concurrency: number, processes: number): Promise<Row> {
  const total = ctx.sizes.drain;
  const target = await adapter.prepare(`drain_c${concurrency}_p${processes}`);
  const children: WorkerChild[] = [];
  try {
    const producer = await adapter.openProducer(target);
    try {
      // Set-up, not measured: the fastest way each system offers (scenario 1 measures adding).
      await producer.bulkFill("noop", total);
      for (let i = 0; i < processes; i++) children.push(await spawnWorker(adapter.id, target, { concurrency, kind: "noop" }));
      const pgBefore = adapter.backend === "postgres" ? await pgBackendCpu(target.name) : null;
      const t0 = epochNow();
      for (const c of children) c.go();
      const finishedAll = await waitFor(() => children.reduce((s, c) => s + c.finished, 0) >= total, ctx.sizes.drainCapMs);
      let ms: number;
      let note: string | undefined;
      if (finishedAll) {
        const at = await confirmedAt(producer, "noop", total);
        ms = (at ?? epochNow()) - t0;
        if (at === null) note = "store did not confirm all finished";
      } else {
        ms = epochNow() - t0;
        note = `capped at ${(ctx.sizes.drainCapMs / 1000).toFixed(0)} s`;
      }
      const pgCpu = pgBefore ? pgCpuSince(pgBefore, await pgBackendCpu(target.name)) : null;
      const doneByHandlers = children.reduce((s, c) => s + c.finished, 0);
      await Promise.all(children.map((c) => c.stop()));
      const w = workerTotals(children);
      const n = finishedAll ? total : doneByHandlers;
      ctx.log(`  ${adapter.id} c${concurrency}×${processes}: ${n} in ${ms.toFixed(0)} ms${note ? ` (${note})` : ""}`);
      return {
        system: adapter.id,
        case: caseName({ concurrency, processes }),
        values: {
          rate: (n / ms) * 1000,
          seconds: ms / 1000,
          statementsPerTask: adapter.backend === "postgres" ? w.statements / Math.max(1, w.finished) : null,
          workerCpuUsPerTask: (w.cpuMs * 1000) / Math.max(1, w.finished),
          pgCpuUsPerTask: pgCpu === null ? null : (pgCpu * 1000) / Math.max(1, n),
        },
        ...(note ? { note } : {}),
      };
    } finally {
      await producer.close();
    }
  } finally {
    for (const c of children) c.kill();
    await adapter.dispose(target);
  }
}
