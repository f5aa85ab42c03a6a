import { pathToFileURL } from "node:url";
import type { Isolation, TaskDefinition } from "../../model/options.js";
import type { Invocation, RunInvoker, Settled } from "../run-executor.js";
import { RunnerPool, type PoolStats } from "./pool.js";
import { poolSize } from "./pool-size.js";
import { spawnProcess, spawnThread } from "./spawn.js";

export interface IsolationSettings {
  /** The node's concurrency: the most runners one pool may need at once. */
  concurrency: number;
  /** The node's CPU capacity, 100 = one core. */
  cpuCapacity: number;
  /** Most runners per pool (the worker option `maxRunners`); null: from concurrency and CPU (see pool-size.ts). */
  maxRunners: number | null;
  /** Runs per runner before it is replaced. */
  recycleAfter: number;
  /** Heap growth of a runner, MB, after which it is replaced (null: never). */
  recycleAboveMb: number | null;
  /** Idle runners above the warm count end after this long, ms. */
  idleMs: number;
}

/** The handler module of a definition as a URL, or null if it has none. */
export function handlerModuleOf(def: TaskDefinition): string | null {
  const module = def.module;
  if (!module) return null;
  return /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module) ? module : pathToFileURL(module).href;
}

/** Node-wide pool statistics, and per mode. */
export interface IsolationStats extends PoolStats {
  thread: PoolStats;
  process: PoolStats;
}

/**
 * The node's isolation pools, one per kind of runner (thread or process, and memory limit):
 * created when a type needs one, warmed when the worker starts, closed when it stops.
 */
export class IsolationPools {
  private readonly pools = new Map<string, { mode: "thread" | "process"; pool: RunnerPool }>();
  private readonly invokers = new Map<string, RunInvoker>();

  constructor(
    private readonly registry: Map<string, TaskDefinition>,
    private readonly nodeDefault: Isolation,
    private readonly settings: IsolationSettings,
    private readonly onError: (error: Error) => void,
  ) {}

  modeOf(def: TaskDefinition): Isolation {
    return def.isolation ?? this.nodeDefault;
  }

  /** Starts the warm runners of every pool the registered types need. */
  warmUp(): void {
    for (const def of this.registry.values()) {
      const mode = this.modeOf(def);
      if (mode !== "none") this.poolFor(mode, def.memoryLimitMb ?? null).warmUp();
    }
  }

  /** The invoker of an isolated type (one per pool). */
  invokerFor(def: TaskDefinition): RunInvoker {
    const mode = this.modeOf(def);
    if (mode === "none") throw new Error(`task "${def.name}" is not isolated`);
    const memory = def.memoryLimitMb ?? null;
    const key = `${mode}:${memory ?? ""}`;
    let invoker = this.invokers.get(key);
    if (!invoker) {
      invoker = this.isolatedInvoker(this.poolFor(mode, memory));
      this.invokers.set(key, invoker);
    }
    return invoker;
  }

  /**
   * The pool a type's runs go to (its key) and how many of them it can run at once; null for a
   * type that runs on the node's loop. The worker claims no more runs of a pool than this, so
   * the rest stay queued for other nodes instead of waiting here for a runner.
   */
  capacityOf(def: TaskDefinition): { pool: string; max: number } | null {
    const mode = this.modeOf(def);
    if (mode === "none") return null;
    return { pool: `${mode}:${def.memoryLimitMb ?? ""}`, max: this.sizeOf(mode).max };
  }

  stats(): IsolationStats {
    const zero = (): PoolStats => ({ size: 0, busy: 0, recycled: 0, replaced: 0 });
    const out: IsolationStats = { ...zero(), thread: zero(), process: zero() };
    for (const { mode, pool } of this.pools.values()) {
      const s = pool.stats();
      for (const target of [out, out[mode]]) {
        target.size += s.size;
        target.busy += s.busy;
        target.recycled += s.recycled;
        target.replaced += s.replaced;
      }
    }
    return out;
  }

  close(): void {
    for (const { pool } of this.pools.values()) pool.close();
    this.pools.clear();
    this.invokers.clear();
  }

  private poolFor(mode: "thread" | "process", memoryLimitMb: number | null): RunnerPool {
    const key = `${mode}:${memoryLimitMb ?? ""}`;
    let entry = this.pools.get(key);
    if (!entry) {
      const spawn = mode === "thread" ? () => spawnThread(memoryLimitMb) : () => spawnProcess(memoryLimitMb);
      const pool = new RunnerPool(spawn, () => this.modulesFor(mode, memoryLimitMb), memoryLimitMb, {
        ...this.sizeOf(mode),
        recycleAfter: this.settings.recycleAfter,
        recycleAboveMb: this.settings.recycleAboveMb,
        idleMs: this.settings.idleMs,
      }, this.onError);
      entry = { mode, pool };
      this.pools.set(key, entry);
    }
    return entry.pool;
  }

  private sizeOf(mode: "thread" | "process") {
    return poolSize(mode, this.settings.concurrency, this.settings.cpuCapacity, this.settings.maxRunners);
  }

  /** The modules a new runner of this pool imports ahead, so a first run does not pay for it. */
  private modulesFor(mode: Isolation, memoryLimitMb: number | null): string[] {
    const out = new Set<string>();
    for (const def of this.registry.values()) {
      const module = handlerModuleOf(def);
      if (module && this.modeOf(def) === mode && (def.memoryLimitMb ?? null) === memoryLimitMb) out.add(module);
    }
    return [...out];
  }

  private isolatedInvoker(pool: RunnerPool): RunInvoker {
    return {
      invoke(def, run, ctx): Invocation {
        const module = handlerModuleOf(def);
        let inner: Invocation | null = null;
        let gaveUp = false;
        let abandon!: (settled: Settled) => void;
        const abandoned = new Promise<Settled>((resolve) => (abandon = resolve));
        let markStarted!: () => void;
        const started = new Promise<void>((resolve) => (markStarted = resolve));
        const settled = (async (): Promise<Settled> => {
          if (!module) return { ok: false, error: new Error(`task "${def.name}" has no module to load in a runner (set module: import.meta.url)`) };
          let runner;
          try {
            runner = await pool.acquire();
          } catch (error) {
            return { ok: false, error };
          }
          if (gaveUp) {
            pool.release(runner);
            return { ok: false, abandoned: true };
          }
          inner = runner.invoke(module, def.name, run, ctx);
          markStarted();
          const result = await inner.settled;
          pool.release(runner);
          return result;
        })();
        return {
          settled: Promise.race([settled, abandoned]),
          started,
          giveUp() {
            gaveUp = true;
            if (inner) inner.giveUp();
            else abandon({ ok: false, abandoned: true });
          },
        };
      },
    };
  }
}
