/**
 * BENCH_STORE_STATS=1: in a Tasklane worker process, count calls, rows and time of every Store
 * method (both backends) and print a table to stderr at stop — batch sizes per round trip and
 * where a worker's time goes. Diagnostics only; the figures on the results page never use it.
 */
import { performance } from "node:perf_hooks";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";

interface Stat {
  calls: number;
  rows: number;
  ms: number;
}
const stats = new Map<string, Stat>();

export function instrumentStores(): void {
  for (const cls of [SqliteStore, PostgresStore] as Array<{ prototype: object; name: string }>) {
    const proto = cls.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const fn = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown; // getters are left alone
      if (name === "constructor" || typeof fn !== "function" || !/^(task|lease|progress|event|run|node)/.test(name)) continue;
      proto[name] = function (this: unknown, ...a: unknown[]) {
        const t0 = performance.now();
        const record = (value: unknown) => {
          const s = stats.get(name) ?? { calls: 0, rows: 0, ms: 0 };
          s.calls += 1;
          s.ms += performance.now() - t0;
          const v = value as { applied?: unknown[]; claimed?: unknown[] } | unknown[] | undefined;
          if (Array.isArray(v)) s.rows += v.length;
          else if (v && typeof v === "object" && Array.isArray(v.claimed)) s.rows += v.claimed.length + (v.applied?.length ?? 0);
          stats.set(name, s);
          return value;
        };
        const out = (fn as (...x: unknown[]) => unknown).apply(this, a);
        return out instanceof Promise ? out.then(record) : record(out);
      };
    }
  }
}

export function storeStatsTable(tasks: number): string {
  const lines = [`store calls for ${tasks} tasks (time = call start to promise settled, so queueing included):`];
  for (const [name, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(
      `  ${name.padEnd(22)} ${String(s.calls).padStart(7)} calls ${(s.rows / s.calls).toFixed(1).padStart(7)} rows/call ${((1000 * s.ms) / s.calls).toFixed(0).padStart(7)} µs/call ${((1000 * s.ms) / Math.max(1, tasks)).toFixed(1).padStart(7)} µs/task`,
    );
  }
  return lines.join("\n");
}
