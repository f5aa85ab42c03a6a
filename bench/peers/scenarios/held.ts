/**
 * Scenario 7: a steady load while another session holds a transaction open — the classic way
 * PostgreSQL queues collapse. While any transaction with an XID stays open, no row version
 * deleted or updated after it began can be removed, so every claim that walks its queue index in
 * order steps over the dead versions of every task claimed since (they stay in the index and in
 * the heap until the transaction ends).
 *
 * Tasks are added at `heldRate` per second (batched every 100 ms) to one worker process at
 * concurrency 50. After a warm-up, a separate session runs `BEGIN; SELECT txid_current()` in the
 * same database and holds it for `heldSeconds`, then commits; the load goes on for a recovery
 * window. Reported: the largest backlog (added minus finished, sampled every second, also in
 * seconds of load), the rate finished while the transaction was held, the database size when it
 * ended, and the PostgreSQL CPU per task before the hold and in the last half of the recovery
 * window (whether claims got cheap again). PostgreSQL systems only.
 */
import type { Adapter } from "../adapters/types.js";
import { spawnWorker, type WorkerChild } from "../child.js";
import { epochNow, sleep, withPg } from "../common.js";
import pg from "pg";
import { pgBackendCpu, pgCpuSince } from "./measure.js";
import type { Row, ScenarioContext } from "./types.js";

const CONCURRENCY = 50;
const STEP_MS = 100;

export async function runHeld(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  if (adapter.backend !== "postgres") return [];
  const { heldRate: rate, heldSeconds, heldWarmSeconds: warm, heldRecoverySeconds: recovery } = ctx.sizes;
  const target = await adapter.prepare("held");
  let child: WorkerChild | null = null;
  const holder = new pg.Client({ connectionString: target.location });
  try {
    const producer = await adapter.openProducer(target);
    try {
      await holder.connect();
      child = await spawnWorker(adapter.id, target, { concurrency: CONCURRENCY, kind: "noop" });
      child.go();
      const w = child;
      let added = 0;
      let seq = 0;
      const t0 = epochNow();
      const phaseEnds = { warm: t0 + warm * 1000, hold: t0 + (warm + heldSeconds) * 1000, end: t0 + (warm + heldSeconds + recovery) * 1000 };
      const samples: Array<{ at: number; backlog: number }> = [];
      let held = false;
      let cpuWarmStart = await pgBackendCpu(target.name);
      let cpuBefore: number | null = null;
      let finishedAtHold = 0;
      let holdRate = 0;
      let dbMb = 0;
      let cpuAfterStart: Map<number, number> | null = null;
      let finishedAtAfterStart = 0;
      let cpuAfter: number | null = null;
      let nextSample = t0 + 1000;
      // The warm-up's second half gives the "before" cost (the first half includes start-up).
      let warmMeasureFrom = t0 + (warm * 1000) / 2;
      let finishedAtWarmMeasure = 0;
      let warmMeasured = false;
      for (;;) {
        const now = epochNow();
        if (now >= phaseEnds.end) break;
        if (!warmMeasured && now >= warmMeasureFrom) {
          cpuWarmStart = await pgBackendCpu(target.name);
          finishedAtWarmMeasure = w.finished;
          warmMeasured = true;
          warmMeasureFrom = Infinity;
        }
        if (!held && now >= phaseEnds.warm && now < phaseEnds.hold) {
          const cpu = pgCpuSince(cpuWarmStart, await pgBackendCpu(target.name));
          cpuBefore = (cpu * 1000) / Math.max(1, w.finished - finishedAtWarmMeasure);
          await holder.query("BEGIN");
          await holder.query("SELECT txid_current()");
          held = true;
          finishedAtHold = w.finished;
          ctx.log(`  ${adapter.id}: transaction held (backlog ${added - w.finished})`);
        }
        if (held && now >= phaseEnds.hold) {
          holdRate = (w.finished - finishedAtHold) / heldSeconds;
          const { rows } = await holder.query<{ mb: string }>("SELECT pg_database_size(current_database()) / 1048576.0 AS mb");
          dbMb = Number(rows[0]!.mb);
          await holder.query("COMMIT");
          held = false;
          ctx.log(`  ${adapter.id}: released (backlog ${added - w.finished}, ${dbMb.toFixed(0)} MB)`);
        }
        if (!cpuAfterStart && now >= phaseEnds.hold + (recovery * 1000) / 2) {
          cpuAfterStart = await pgBackendCpu(target.name);
          finishedAtAfterStart = w.finished;
        }
        if (now >= nextSample) {
          samples.push({ at: now - t0, backlog: added - w.finished });
          nextSample += 1000;
        }
        // Add what the steady rate calls for by now (catching up after a slow add), in one batch.
        const due = Math.min(Math.floor(((now - t0) / 1000) * rate) - added, rate * 2);
        if (due > 0) {
          await producer.addBatch("noop", Array.from({ length: due }, () => ({ seq: seq++ })));
          added += due;
        }
        await sleep(Math.max(1, STEP_MS - (epochNow() - now)));
      }
      if (cpuAfterStart) {
        const cpu = pgCpuSince(cpuAfterStart, await pgBackendCpu(target.name));
        cpuAfter = (cpu * 1000) / Math.max(1, w.finished - finishedAtAfterStart);
      }
      const maxBacklog = Math.max(0, ...samples.map((s) => s.backlog));
      const secondsOver2 = samples.filter((s) => s.backlog > rate * 2).length;
      ctx.log(
        `  ${adapter.id}: max backlog ${maxBacklog} (${(maxBacklog / rate).toFixed(1)} s of load), ${holdRate.toFixed(0)}/s while held, ${dbMb.toFixed(0)} MB, CPU/task ${cpuBefore?.toFixed(0)} → ${cpuAfter?.toFixed(0)} µs`,
      );
      await child.stop();
      return [
        {
          system: adapter.id,
          values: {
            maxBacklog,
            maxBacklogSeconds: maxBacklog / rate,
            secondsOver2,
            holdRate,
            dbMb,
            cpuBefore,
            cpuAfter,
          },
          note: `backlog each second: ${samples.map((s) => s.backlog).join(" ")}`,
        },
      ];
    } finally {
      await producer.close();
    }
  } finally {
    await holder.end().catch(() => undefined);
    child?.kill();
    await adapter.dispose(target);
  }
}
