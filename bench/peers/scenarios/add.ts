/** Scenario 1: adding tasks, one awaited add at a time and with the system's batched add. */
import { performance } from "node:perf_hooks";
import type { Adapter } from "../adapters/types.js";
import type { Row, ScenarioContext } from "./types.js";

export async function runAdd(adapter: Adapter, ctx: ScenarioContext): Promise<Row[]> {
  const { addOneByOne, addBatched, addBatchSize } = ctx.sizes;
  const target = await adapter.prepare("add");
  try {
    const producer = await adapter.openProducer(target);
    try {
      for (let i = 0; i < 50; i++) await producer.add("noop", { seq: -i }); // warm-up: connections, plans
      let t0 = performance.now();
      for (let i = 0; i < addOneByOne; i++) await producer.add("noop", { seq: i });
      const oneMs = performance.now() - t0;

      await producer.addBatch("noop", Array.from({ length: addBatchSize }, (_, i) => ({ seq: -i }))); // warm-up
      t0 = performance.now();
      for (let from = 0; from < addBatched; from += addBatchSize) {
        await producer.addBatch("noop", Array.from({ length: Math.min(addBatchSize, addBatched - from) }, (_, i) => ({ seq: from + i })));
      }
      const batchMs = performance.now() - t0;
      return [
        {
          system: adapter.id,
          values: {
            oneByOne: (addOneByOne / oneMs) * 1000,
            perAddMs: oneMs / addOneByOne,
            batched: (addBatched / batchMs) * 1000,
          },
        },
      ];
    } finally {
      await producer.close();
    }
  } finally {
    await adapter.dispose(target);
  }
}
