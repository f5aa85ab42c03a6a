/**
 * Scenario 5: a deep backlog, at several depths (the claim-cost curve). N queued no-op tasks are
 * put in place with SQL (set-up, not measured), then one worker process at concurrency 10 starts:
 * the time to its first claimed task (claim latency at that depth) and the drain rate of the
 * first sample of tasks. A claim whose cost does not grow with the queue shows a flat curve.
 */
import { performance } from "node:perf_hooks";
import type { Adapter } from "../adapters/types.js";
import { spawnWorker, type WorkerChild } from "../child.js";
import { epochNow } from "../common.js";
import { waitFor } from "./measure.js";
import type { Row, ScenarioContext } from "./types.js";

/** The claim-cost curve: the same measure at each depth, shallowest first (`backlogCurve`, then `backlog`). */
export async function runBacklog(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  const depths = [...new Set([...ctx.sizes.backlogCurve.filter((d) => d < ctx.sizes.backlog), ctx.sizes.backlog])];
  const rows: Row[] = [];
  for (const depth of depths) rows.push(await backlogAt(adapter, ctx, depth));
  return rows;
}

async function backlogAt(adapter: Adapter, ctx: ScenarioContext, backlog: number): Promise<Row> {
  const { backlogCapMs } = ctx.sizes;
  const backlogSample = Math.min(ctx.sizes.backlogSample, backlog);
  const target = await adapter.prepare(`backlog_${backlog}`);
  let child: WorkerChild | null = null;
  try {
    const producer = await adapter.openProducer(target);
    try {
      const f0 = performance.now();
      await producer.bulkFill("noop", backlog);
      const fillS = (performance.now() - f0) / 1000;
      child = await spawnWorker(adapter.id, target, { concurrency: 10, kind: "noop" });
      const t0 = epochNow();
      child.go();
      await waitFor(() => child!.firstStartAt > 0, backlogCapMs);
      const ok = await waitFor(() => child!.finished >= backlogSample, backlogCapMs);
      const end = ok ? child.lastAt : epochNow();
      const n = child.finished;
      const first = child.firstStartAt > 0 ? child.firstStartAt - t0 : null;
      await child.stop();
      ctx.log(`  ${adapter.id} at ${backlog}: first claim ${first?.toFixed(1)} ms, ${n} in ${(end - t0).toFixed(0)} ms (fill ${fillS.toFixed(1)} s)`);
      return {
        system: adapter.id,
        case: `${backlog.toLocaleString("en-US")} queued`,
        values: {
          firstClaimMs: first,
          rate: child.firstStartAt > 0 ? (n / (end - child.firstStartAt)) * 1000 : null,
          fillSeconds: fillS,
        },
        ...(ok ? {} : { note: `capped at ${backlogCapMs / 1000} s` }),
      };
    } finally {
      await producer.close();
    }
  } finally {
    child?.kill();
    await adapter.dispose(target);
  }
}
