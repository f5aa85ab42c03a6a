/**
 * export-report: writes a real CSV export of `rows` order lines to ./exports/<task id>.csv,
 * chunk by chunk, reporting progress and log lines as it goes. Honours cancel, timeout and
 * shutdown between chunks, and writes to a `.part` file renamed at the end, so a retried or
 * interrupted run never leaves a half-written export behind.
 *
 *   tasklane add export-report --params '{"rows":50000}'
 */
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { defineTask } from "tasklane";
import { z } from "zod";

const CHUNK_ROWS = 1000;
const REGIONS = ["north", "south", "east", "west", "central"];
const PRODUCTS = ["widget", "gadget", "gizmo", "doohickey", "sprocket", "flange", "grommet"];

/** A small deterministic generator, so the same task id writes the same file on every attempt. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function csvRows(from: number, to: number, random: () => number): string {
  const start = Date.UTC(2026, 0, 1);
  let out = "";
  for (let i = from; i < to; i++) {
    const day = new Date(start + Math.floor(random() * 365) * 86_400_000).toISOString().slice(0, 10);
    const quantity = 1 + Math.floor(random() * 20);
    const unitPrice = (1 + random() * 199).toFixed(2);
    const total = (quantity * Number(unitPrice)).toFixed(2);
    const customer = `C${String(1 + Math.floor(random() * 9999)).padStart(5, "0")}`;
    const region = REGIONS[Math.floor(random() * REGIONS.length)];
    const product = PRODUCTS[Math.floor(random() * PRODUCTS.length)];
    out += `${i + 1},${day},${customer},${region},${product},${quantity},${unitPrice},${total}\n`;
  }
  return out;
}

export default defineTask({
  name: "export-report",
  description: "Writes a CSV export of N order lines to ./exports/<task id>.csv, with progress.",
  params: z.strictObject({
    /** Rows to write. */
    rows: z.number().int().positive().max(10_000_000).default(10_000),
    /** Pause after each chunk of 1,000 rows, ms (simulates a slow database) [75]. */
    delayMs: z.number().int().min(0).max(60_000).optional(),
  }),
  timeout: "10m",
  attempts: 3,
  async run(ctx) {
    const { rows } = ctx.params;
    const delayMs = ctx.params.delayMs ?? 75;
    const dir = path.resolve("exports");
    const file = path.join(dir, `${ctx.task.id}.csv`);
    const part = `${file}.part`;
    await mkdir(dir, { recursive: true });
    const random = rng(seedOf(ctx.task.id));
    const handle = await open(part, "w");
    ctx.log.info("export started", { rows, file, attempt: ctx.attempt });
    try {
      await handle.write("id,date,customer,region,product,quantity,unit_price,total\n");
      ctx.progress(0, rows, "writing rows");
      for (let done = 0; done < rows; ) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const next = Math.min(rows, done + CHUNK_ROWS);
        await handle.write(csvRows(done, next, random));
        done = next;
        ctx.progress(done, rows, "writing rows");
        if (done % (CHUNK_ROWS * 10) === 0 && done < rows) ctx.log.info(`wrote ${done} of ${rows} rows`, { done });
        if (delayMs > 0 && done < rows) await sleep(delayMs, undefined, { signal: ctx.signal });
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(part, { force: true });
      ctx.log.warn("export stopped, partial file removed", { reason: ctx.signal.aborted ? String((ctx.signal.reason as Error)?.message) : String(error) });
      throw ctx.signal.aborted ? ctx.signal.reason : error;
    }
    await handle.close();
    await rename(part, file);
    const { size: bytes } = await stat(file);
    ctx.progress(rows, rows, "done");
    ctx.log.info("export finished", { file, rows, bytes });
    return { file, rows, bytes };
  },
});
