/** Measurement helpers shared by the scenarios. */
import fs from "node:fs";
import type { Producer, TaskKind } from "../adapters/types.js";
import type { WorkerChild } from "../child.js";
import { epochNow, PG_SERVER, sleep, withPg } from "../common.js";

/** Waits until `done()` or the cap; returns whether it finished. */
export async function waitFor(done: () => boolean, capMs: number, stepMs = 20): Promise<boolean> {
  const until = Date.now() + capMs;
  while (!done()) {
    if (Date.now() > until) return false;
    await sleep(stepMs);
  }
  return true;
}

/** After every handler ended: the moment the store shows all `total` committed (polled every 50 ms). */
export async function confirmedAt(producer: Producer, kind: TaskKind, total: number, capMs = 15_000): Promise<number | null> {
  const until = Date.now() + capMs;
  while (Date.now() < until) {
    if ((await producer.doneCount(kind, total)) >= total) return epochNow();
    await sleep(50);
  }
  return null;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/**
 * CPU time (ms) per PostgreSQL backend connected to `database`, read from /proc (server and
 * benchmark share the machine). Take one snapshot at "go" and one at the end: `pgCpuSince`.
 */
export async function pgBackendCpu(database: string): Promise<Map<number, number>> {
  const { rows } = await withPg(PG_SERVER, (c) => c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]));
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MS); // utime, stime (stat fields 14, 15)
    } catch {
      // the backend ended in between
    }
  }
  return out;
}

/** CPU ms used by the database's backends between two snapshots (new backends count in full). */
export function pgCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, v] of after) ms += v - (before.get(pid) ?? 0);
  return ms;
}

/** Sum of the workers' own figures after stop: CPU and SQL statements. */
export function workerTotals(children: WorkerChild[]): { cpuMs: number; statements: number; finished: number } {
  return {
    cpuMs: children.reduce((s, c) => s + c.cpuMs, 0),
    statements: children.reduce((s, c) => s + c.statements, 0),
    finished: children.reduce((s, c) => s + c.finished, 0),
  };
}
