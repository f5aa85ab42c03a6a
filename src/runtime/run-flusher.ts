import type { EventBus } from "../client/events.js";
import type { TaskDefinition } from "../model/options.js";
import { etaMs, type TaskRow } from "../model/task-row.js";
import type { EventTrim, NewEvent, ProgressWrite, Store } from "../store/store.js";
import type { RunState } from "./run-state.js";

/**
 * Writes coalesced progress and buffered log lines of all running runs, every `flushMs`, in
 * one store call each. A handler calling `progress` 100,000 times a second costs one write per
 * interval; the finish carries the final value.
 */
export class RunFlusher {
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly runs: Map<string, RunState>,
    private readonly registry: Map<string, TaskDefinition>,
    private readonly bus: EventBus,
    private readonly flushMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flushAll(), this.flushMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Flushes every run with pending writes. */
  flushAll(): Promise<void> {
    return this.flush([...this.runs.values()]);
  }

  /** Writes the pending log lines (not progress) of these runs: done before their finish. */
  async flushEvents(runs: RunState[]): Promise<void> {
    await this.flushing;
    const events: NewEvent[] = [];
    const trims: EventTrim[] = [];
    for (const run of runs) collectEvents(run, events, trims);
    await this.store.eventInsertMany(events, trims);
  }

  private async flush(runs: RunState[]): Promise<void> {
    if (this.flushing) return this.flushing;
    const now = Date.now();
    const progress: Array<{ run: RunState; write: ProgressWrite }> = [];
    const events: NewEvent[] = [];
    const trims: EventTrim[] = [];
    for (const run of runs) {
      if (!run.hasPendingWrites || run.finished) continue;
      const write = run.takeProgress(now);
      if (write) progress.push({ run, write });
      collectEvents(run, events, trims);
    }
    if (progress.length === 0 && events.length === 0 && trims.length === 0) return;
    this.flushing = (async () => {
      try {
        await this.store.eventInsertMany(events, trims);
        await this.store.progressWriteMany(progress.map((p) => p.write));
        for (const { run, write } of progress) this.announceProgress(run.task, write);
      } catch (error) {
        this.bus.emit("error", { error: error as Error, where: "progress/log flush" });
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private announceProgress(task: TaskRow, write: ProgressWrite): void {
    const progress = {
      current: write.current,
      total: write.total,
      message: write.message,
      ratePerSec: write.ratePerSec,
      etaMs: etaMs(write.current, write.total, write.ratePerSec),
      updatedAt: new Date(write.at),
    };
    task.progress = progress;
    this.bus.emit("task:progress", { task, progress });
    const hook = this.registry.get(task.type)?.onProgress;
    if (hook) {
      Promise.resolve()
        .then(() => hook(task, progress))
        .catch((error: Error) => this.bus.emit("error", { error, where: `onProgress of ${task.type}` }));
    }
  }
}

function collectEvents(run: RunState, events: NewEvent[], trims: EventTrim[]): void {
  const taken = run.takeEvents();
  events.push(...taken.events);
  if (taken.trim) trims.push({ taskId: run.taskId, runNo: run.runNo, ...taken.trim });
}
