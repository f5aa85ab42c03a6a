/**
 * Scenario 6: failover. Worker A (concurrency 100) holds N running long tasks; worker B is idle;
 * A is killed with SIGKILL; the figure is the time from the kill until B has started every one of
 * them again. Systems whose defaults put this beyond the run's budget are listed with the bound
 * their documentation and source give, not measured.
 */
import type { Adapter } from "../adapters/types.js";
import { spawnWorker, type WorkerChild } from "../child.js";
import { epochNow, sleep } from "../common.js";
import { waitFor } from "./measure.js";
import type { Row, ScenarioContext } from "./types.js";

export async function runFailover(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mode of ctx.sizes.failoverModes) {
    const settings = mode === "short" ? adapter.failover.shortSettings : adapter.failover.defaultSettings;
    const skip = mode === "short" ? adapter.failover.shortNote : adapter.failover.defaultNote;
    if (skip) {
      rows.push({ system: adapter.id, case: mode, values: { allSeconds: null, firstSeconds: null }, note: `${settings}: ${skip}` });
      continue;
    }
    rows.push(await failoverOne(adapter, ctx, mode, settings));
  }
  return rows;
}

async function failoverOne(adapter: Adapter, ctx: ScenarioContext, mode: "default" | "short", settings: string): Promise<Row> {
  const n = ctx.sizes.failoverTasks;
  const short = mode === "short";
  const target = await adapter.prepare(`failover_${mode}`);
  const children: WorkerChild[] = [];
  try {
    const producer = await adapter.openProducer(target, { short });
    try {
      const a = await spawnWorker(adapter.id, target, { concurrency: 100, kind: "hold", short });
      children.push(a);
      a.go();
      await producer.addBatch("hold", Array.from({ length: n }, (_, i) => ({ seq: i })));
      if (!(await waitFor(() => a.starts.size >= n, 30_000))) throw new Error(`worker A started only ${a.starts.size} of ${n}`);
      const b = await spawnWorker(adapter.id, target, { concurrency: 100, kind: "hold", short });
      children.push(b);
      b.go();
      await sleep(500); // B idle and polling/listening
      const killedAt = epochNow();
      a.kill();
      const all = await waitFor(() => b.starts.size >= n, ctx.sizes.failoverCapMs, 50);
      const times = [...b.starts.values()].map((t) => (t - killedAt) / 1000).sort((x, y) => x - y);
      ctx.log(`  ${adapter.id} ${mode}: ${b.starts.size}/${n} restarted, last after ${times[times.length - 1]?.toFixed(2)} s`);
      return {
        system: adapter.id,
        case: mode,
        values: { allSeconds: all ? times[times.length - 1]! : null, firstSeconds: times[0] ?? null },
        note: all ? settings : `${settings}: only ${b.starts.size} of ${n} restarted within ${ctx.sizes.failoverCapMs / 1000} s`,
      };
    } finally {
      await producer.close();
    }
  } finally {
    for (const c of children) c.kill();
    await adapter.dispose(target);
  }
}
