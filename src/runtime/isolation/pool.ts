import { Runner } from "./runner.js";
import type { Transport } from "./spawn.js";

export interface PoolSettings {
  /** Most runners at once: one per run that may execute at the same time. */
  max: number;
  /** Runners kept started while idle, so a run does not wait for one to start. */
  warm: number;
  /** A runner is replaced after this many runs (bounds leaks in handler code). */
  recycleAfter: number;
  /** …or once its heap has grown this much since it started, MB (null: never). */
  recycleAboveMb: number | null;
  /** Idle runners above `warm` are ended after this long, ms. */
  idleMs: number;
}

/** What a pool reports, summed over pools for the node. */
export interface PoolStats {
  size: number;
  busy: number;
  /** Runners replaced after `recycleAfter` runs. */
  recycled: number;
  /** Runners that died or were terminated (crash, exit, memory, grace expired). */
  replaced: number;
}

/**
 * The runners of one kind (thread or process, with one memory limit): started ahead, reused for
 * many runs, replaced when they die or have run `recycleAfter` tasks.
 */
export class RunnerPool {
  private readonly all = new Set<Runner>();
  private idle: Array<{ runner: Runner; since: number }> = [];
  private readonly waiters: Array<{ resolve(runner: Runner): void; reject(error: Error): void }> = [];
  private closed = false;
  /** Runners started and not ready yet. */
  private starting = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  recycled = 0;
  replaced = 0;

  constructor(
    private readonly spawn: () => Transport,
    /** Handler modules the runners import before they report ready. */
    private readonly modules: () => string[],
    private readonly memoryLimitMb: number | null,
    private readonly settings: PoolSettings,
    private readonly onError: (error: Error) => void,
  ) {}

  stats(): PoolStats {
    let busy = 0;
    for (const runner of this.all) if (runner.busy) busy++;
    return { size: this.all.size, busy, recycled: this.recycled, replaced: this.replaced };
  }

  /** Starts runners up to `warm`. */
  warmUp(): void {
    while (!this.closed && this.all.size < this.settings.warm) this.start();
  }

  /** An idle, ready runner: a warm one, one already starting, a new one, or the next one released. */
  async acquire(): Promise<Runner> {
    if (this.closed) throw new Error("the runner pool is closed");
    for (;;) {
      const entry = this.idle.pop();
      if (!entry) break;
      if (!entry.runner.dead) return entry.runner;
    }
    const runner = new Promise<Runner>((resolve, reject) => this.waiters.push({ resolve, reject }));
    // A runner already starting (warming up) serves the first waiter: starting one costs far more than waiting for it.
    if (this.starting < this.waiters.length && this.all.size < this.settings.max) this.start();
    return runner;
  }

  /** Gives a runner back after a run; a dead or worn-out one is replaced. */
  release(runner: Runner): void {
    if (runner.dead) return; // onDeath saw to it
    const grown = this.settings.recycleAboveMb !== null && runner.heapGrowthMb >= this.settings.recycleAboveMb;
    if (runner.tasksRun >= this.settings.recycleAfter || grown || this.closed) {
      this.recycled += this.closed ? 0 : 1;
      this.retire(runner);
      this.refill(true);
      return;
    }
    this.putIdle(runner);
  }

  close(): void {
    this.closed = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error("the runner pool is closed"));
    for (const runner of this.all) runner.kill();
    this.all.clear();
    this.idle = [];
  }

  private start(): void {
    const runner = new Runner(this.spawn(), this.modules(), this.memoryLimitMb, (dead) => this.onDeath(dead));
    this.all.add(runner);
    this.starting++;
    runner.ready.then(
      () => {
        this.starting--;
        this.putIdle(runner);
      },
      (error: Error) => {
        this.starting--;
        // A run waiting for this runner fails with the reason; with none waiting, the node hears of it.
        const waiter = this.waiters.shift();
        if (waiter) waiter.reject(error);
        else this.onError(error);
      },
    );
  }

  /** After a runner left: a run waiting for one gets a fresh one; else the pool is kept warm. */
  private refill(keepWarm: boolean): void {
    if (this.closed) return;
    if (this.starting < this.waiters.length && this.all.size < this.settings.max) this.start();
    else if (keepWarm) this.warmUp();
  }

  private putIdle(runner: Runner): void {
    if (runner.dead || !this.all.has(runner)) return;
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(runner);
    this.idle.push({ runner, since: Date.now() });
    this.armIdleTimer();
  }

  private retire(runner: Runner): void {
    this.all.delete(runner);
    this.idle = this.idle.filter((e) => e.runner !== runner);
    runner.kill();
  }

  private onDeath(runner: Runner): void {
    if (!this.all.delete(runner)) return;
    this.idle = this.idle.filter((e) => e.runner !== runner);
    if (this.closed) return;
    this.replaced++;
    // One that never started would fail again the same way: the pool is not kept warm with it.
    this.refill(runner.started);
  }

  /** Idle runners above `warm` end after `idleMs`: a burst of concurrency does not keep its runners forever. */
  private armIdleTimer(): void {
    if (this.idleTimer || this.idle.length <= this.settings.warm) return;
    this.idleTimer = setInterval(() => {
      const cutoff = Date.now() - this.settings.idleMs;
      // Oldest idle first (the front of the list); the newest are reused first.
      while (this.idle.length > this.settings.warm && this.idle[0]!.since < cutoff) this.retire(this.idle[0]!.runner);
      if (this.idle.length <= this.settings.warm && this.idleTimer) {
        clearInterval(this.idleTimer);
        this.idleTimer = null;
      }
    }, Math.max(1000, this.settings.idleMs / 2));
    this.idleTimer.unref();
  }
}
