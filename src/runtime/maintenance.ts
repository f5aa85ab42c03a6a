import type { EventBus } from "../client/events.js";
import type { TaskDefinition } from "../model/options.js";
import type { PruneReport, Store } from "../store/store.js";
import type { ResolvedWorkerOptions } from "./worker.js";

/** How long fired-tick records are kept (a schedule's latest is always kept: it guards against firing twice). */
const TICK_RECORDS_KEPT_MS = 30 * 86_400_000;
/**
 * Every tick rescues expired leases (failover speed rests on it). Rarer chores: deadlines every
 * `EXPIRE_EVERY` ticks (an overdue task is never claimed anyway: this only settles its status),
 * statistics and rate-limit records every `SLOW_CHORES_MS`. Each is a transaction on every idle
 * node; at one a second each, an idle PostgreSQL node cost about 5 transactions a second.
 */
const EXPIRE_EVERY = 5;
const IDLE_RESCUE_EVERY = 5;
const SLOW_CHORES_MS = 30_000;

/**
 * Background upkeep any node may do, all with conditional updates so several nodes can do it
 * at once: rescue runs whose lease expired (outcome `offline`), expire tasks past their
 * deadline, and prune old tasks and runs.
 */
export class Maintenance {
  private tickTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private busy = false;
  private ticks = 0;

  constructor(
    private readonly store: Store,
    private readonly registry: Map<string, TaskDefinition>,
    private readonly bus: EventBus,
    private readonly options: ResolvedWorkerOptions,
    /** Called when rescued tasks went back to the queue: this node's own commit does not wake its claimer. */
    private readonly onRequeued: () => void,
  ) {}

  start(): void {
    void this.analyze();
    this.tickTimer = setInterval(() => void this.tick(), this.options.maintenanceMs);
    if (this.options.pruneIntervalMs > 0) {
      this.pruneTimer = setInterval(() => void this.prune().catch(() => undefined), this.options.pruneIntervalMs);
    }
  }

  stop(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.tickTimer = this.pruneTimer = null;
  }

  /** Store-clock time of the next rescue pass (see `rescueTime`). */
  private nextRescueAt = 0;

  /**
   * When to look for expired leases next: when the earliest lease still held expires (a dead
   * node's runs are rescued within a tick of their expiry), and at least every
   * `IDLE_RESCUE_EVERY` ticks, for runs claimed after this pass. A pass every tick was one
   * transaction a second on every idle node.
   */
  private rescueTime(nextExpiryAt: number | null, now: number): number {
    const latest = now + IDLE_RESCUE_EVERY * this.options.maintenanceMs;
    return nextExpiryAt === null ? latest : Math.min(latest, nextExpiryAt);
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if ((await this.store.now()) >= this.nextRescueAt) await this.rescue();
      this.ticks++;
      if (this.ticks % EXPIRE_EVERY === 0) {
        for (const task of await this.store.taskExpireOverdue()) this.bus.emit("task:expired", { task });
      }
      if (this.ticks * this.options.maintenanceMs >= SLOW_CHORES_MS) {
        this.ticks = 0;
        await this.analyze();
        await this.store.flowStartPrune();
      }
    } catch (error) {
      this.bus.emit("error", { error: error as Error, where: "maintenance" });
    } finally {
      this.busy = false;
    }
  }

  private async rescue(): Promise<void> {
    const { tasks: rescued, nextExpiryAt } = await this.store.taskRescueExpired();
    this.nextRescueAt = this.rescueTime(nextExpiryAt, await this.store.now());
    // A re-queued task, or a failed one whose onFailure follow-ups were just added, is work.
    if (rescued.some((t) => t.status === "queued" || (t.status === "failed" && t.followUps.length > 0))) this.onRequeued();
    for (const task of rescued) {
      this.bus.emit("task:rescued", { task });
      if (task.status === "failed") {
        this.bus.emit("task:failed", { task, error: task.error });
        const hook = this.registry.get(task.type)?.onError;
        if (hook && task.error) {
          Promise.resolve()
            .then(() => hook(task, task.error!, { willRetry: false }))
            .catch((error: Error) => this.bus.emit("error", { error, where: `onError of ${task.type}` }));
        }
      } else if (task.status === "cancelled") {
        this.bus.emit("task:cancelled", { task });
      }
    }
  }

  /** Keeps the planner's statistics fresh where the engine needs it (PostgreSQL). */
  private async analyze(): Promise<void> {
    try {
      await this.store.analyzeIfStale?.();
    } catch (error) {
      this.bus.emit("error", { error: error as Error, where: "analyzing statistics" });
    }
  }

  async prune(): Promise<PruneReport> {
    try {
      const report = await this.store.prune({ keepRunsPerTask: this.options.keepRunsPerTask, batchSize: 1000 });
      await this.store.scheduleTickPrune((await this.store.now()) - TICK_RECORDS_KEPT_MS);
      return report;
    } catch (error) {
      this.bus.emit("error", { error: error as Error, where: "pruning" });
      throw error;
    }
  }
}
