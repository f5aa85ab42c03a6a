/**
 * Scenario 3: add→start latency at a fixed gentle rate with idle workers (concurrency 10, one
 * worker process). Each add is timed from just before the add call to the handler's first line,
 * on one clock (the machine's; both processes read performance.timeOrigin + now()).
 * Tasklane on SQLite is also shown with the worker in the adding process (embedded use).
 */
import type { Adapter, Payload, TaskKind } from "../adapters/types.js";
import { spawnWorker, type WorkerChild } from "../child.js";
import { epochNow, percentile, sleep } from "../common.js";
import { waitFor } from "./measure.js";
import type { Row, ScenarioContext } from "./types.js";

export async function runLatency(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  const rows = [await latencyOne(adapter, ctx, false)];
  if (adapter.id === "tasklane-sqlite") rows.push(await latencyOne(adapter, ctx, true));
  return rows;
}

async function latencyOne(adapter: Adapter, ctx: ScenarioContext, inProcess: boolean): Promise<Row> {
  const target = await adapter.prepare(inProcess ? "latency_inproc" : "latency");
  let child: WorkerChild | null = null;
  let local: { stop(): Promise<void> } | null = null;
  const starts = new Map<number, number>();
  const hooks = {
    started(_kind: TaskKind, p: Payload) {
      if (p.seq !== undefined && !starts.has(p.seq)) starts.set(p.seq, epochNow());
    },
    finished() {},
  };
  try {
    // Embedded: one instance adds and runs (its adds wake its own worker without a round trip).
    const embedded = inProcess && adapter.openEmbedded ? await adapter.openEmbedded(target, { concurrency: 10, kind: "stamp" }, hooks) : null;
    const producer = embedded ? embedded.producer : await adapter.openProducer(target);
    try {
      if (inProcess) {
        const w = embedded ? embedded.worker : await adapter.prepareWorker(target, { concurrency: 10, kind: "stamp" }, hooks);
        await w.start();
        local = w;
      } else {
        child = await spawnWorker(adapter.id, target, { concurrency: 10, kind: "stamp" });
        child.go();
      }
      const startOf = (seq: number) => (child ? child.starts.get(seq) : starts.get(seq));
      await sleep(1000); // let the worker reach its idle state (listening / polling)
      const rate = ctx.sizes.latencyRate;
      const gap = 1000 / rate;
      const warm = 20;
      const total = warm + rate * ctx.sizes.latencySeconds;
      const addedAt: number[] = [];
      // The add's own duration is part of the latency; this splits it from the wake-up-and-claim path.
      const addReturnedAt: number[] = [];
      const t0 = epochNow();
      for (let seq = 0; seq < total; seq++) {
        const wait = t0 + seq * gap - epochNow();
        if (wait > 0) await sleep(wait);
        addedAt[seq] = epochNow();
        await producer.add("stamp", { seq });
        addReturnedAt[seq] = epochNow();
      }
      await waitFor(() => addedAt.every((_, seq) => startOf(seq) !== undefined), 10_000, 50);
      const lat: number[] = [];
      const addMs: number[] = [];
      let missing = 0;
      for (let seq = warm; seq < total; seq++) {
        const s = startOf(seq);
        addMs.push(addReturnedAt[seq]! - addedAt[seq]!);
        if (s === undefined) missing += 1;
        else lat.push(s - addedAt[seq]!);
      }
      lat.sort((a, b) => a - b);
      addMs.sort((a, b) => a - b);
      const system = inProcess ? `${adapter.id}-inproc` : adapter.id;
      ctx.log(`  ${system}: p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms${missing ? `, ${missing} not started` : ""}`);
      return {
        system,
        values: { p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? null, addP50: percentile(addMs, 50) },
        ...(missing ? { note: `${missing} of ${total - warm} did not start within 10 s` } : inProcess ? { note: "one Tasklane instance adds and runs (embedded use)" } : {}),
      };
    } finally {
      if (child) await child.stop();
      if (local) await local.stop();
      if (!embedded) await producer.close();
    }
  } finally {
    child?.kill();
    await adapter.dispose(target);
  }
}
