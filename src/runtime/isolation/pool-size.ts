/**
 * How many runners an isolation pool may have, and how many it keeps warm.
 *
 * A runner runs one task at a time (so a timeout or cancel can terminate exactly one run), so
 * the pool's size is also how many of its runs the node may have in flight. Past the node's CPU,
 * more runners only time-slice: on the project's machine (2 cores; bench:isolation, two runs, the
 * same run per pair) the no-op drain at c=100 was 1,557–3,249/s with 8 threads and 755–1,542/s
 * with 4 child processes, against 1,389–1,510/s and 648–1,420/s with 100 of each
 * (docs/isolation.md). So the default follows both the node's concurrency and its CPU capacity
 * (`cpuCapacity`, 100 = one core):
 *
 * - `thread`: up to 4 runners per core. A thread costs a few MB; isolated handlers that also
 *   wait on I/O still overlap. (Piscina sizes its CPU-bound pools at 1.5 threads per core; a
 *   Tasklane runner is held for the whole run, awaits included, hence more.)
 * - `process`: up to 2 runners per core. A child process costs about 40 MB resident and a
 *   process switch; BullMQ's sandboxed processors fork one per concurrent job, which at c=100
 *   is 4 GB of children.
 *
 * `maxRunners` overrides both (e.g. up to `concurrency` for I/O-bound isolated handlers).
 */
export const RUNNERS_PER_CORE = { thread: 4, process: 2 } as const;

export interface PoolSize {
  /** Most runners at once, and most runs of the pool the node claims at once. */
  max: number;
  /** Runners started with the worker: one per core, so a burst starts on every core at once. */
  warm: number;
}

/**
 * The size of a pool of `mode` on a node of `concurrency` and `cpuCapacity` (100 = one core),
 * with `maxRunners` (the worker option, already checked: 1..concurrency) or null for the default.
 */
export function poolSize(mode: "thread" | "process", concurrency: number, cpuCapacity: number, maxRunners: number | null): PoolSize {
  const cores = Math.max(cpuCapacity, 1) / 100;
  const max = maxRunners ?? Math.max(1, Math.min(concurrency, Math.ceil(RUNNERS_PER_CORE[mode] * cores)));
  return { max, warm: Math.min(max, Math.max(1, Math.ceil(cores))) };
}
