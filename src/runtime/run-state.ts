import { TaskAbortedError, type AbortCause } from "../model/errors.js";
import type { LogLevel } from "../model/status.js";
import { runIdOf, type TaskRow } from "../model/task-row.js";
import type { NewEvent, ProgressWrite, RunRef } from "../store/store.js";

/** Samples kept for the rate: about 10 s of flushes. */
const RATE_WINDOW_MS = 10_000;

/**
 * Everything the runtime keeps about one run in flight: its fencing reference, abort state,
 * the last reported progress (coalesced: only the newest value is written) and its unwritten
 * log lines.
 */
export class RunState implements RunRef {
  readonly taskId: string;
  readonly runNo: number;
  /** `taskId#runNo`. */
  readonly runId: string;
  /** Created on first use of `signal`: most handlers never look at it, and it costs ~2 us per run. */
  private controller: AbortController | null = null;
  private abortListeners: Array<() => void> = [];
  abortKind: AbortCause | null = null;
  private abortReason: TaskAbortedError | null = null;
  /** Set once the finish is queued: later progress/logs of this run are dropped. */
  finished = false;

  private progressCurrent = 0;
  private progressTotal: number | null = null;
  private progressMessage: string | null = null;
  private progressDirty = false;
  private hasProgress = false;
  private readonly samples: Array<{ at: number; current: number }> = [];
  private rate: number | null = null;

  private pendingEvents: NewEvent[] = [];
  private seq = 0;
  private trimPending = false;

  constructor(
    public task: TaskRow,
    private readonly maxEventsPerRun: number,
    /** The lease renewer stops renewing after this time (epoch ms); null = while the run lasts. */
    readonly renewUntil: number | null = null,
  ) {
    this.taskId = task.id;
    this.runNo = task.runCount;
    this.runId = runIdOf(task.id, task.runCount);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortKind !== null;
  }

  /** Why the run was aborted (the `signal.reason`), or null. */
  get reason(): TaskAbortedError | null {
    return this.abortReason;
  }

  /** Runs `listener` once when the run is aborted (at once if it already was). */
  onAbort(listener: () => void): void {
    if (this.abortKind) listener();
    else this.abortListeners.push(listener);
  }

  abort(kind: AbortCause, message: string): void {
    if (this.abortKind) return;
    this.abortKind = kind;
    this.abortReason = new TaskAbortedError(kind, message);
    this.controller?.abort(this.abortReason);
    const listeners = this.abortListeners;
    this.abortListeners = [];
    for (const listener of listeners) listener();
  }

  setProgress(current: number, total: number | null | undefined, message: string | null | undefined): void {
    if (this.finished) return;
    this.progressCurrent = current;
    if (total !== undefined) this.progressTotal = total;
    if (message !== undefined) this.progressMessage = message;
    this.progressDirty = true;
    this.hasProgress = true;
  }

  /** The progress to write now, if it changed since the last write; also advances the rate. */
  takeProgress(now: number): ProgressWrite | null {
    if (!this.progressDirty) return null;
    this.progressDirty = false;
    return this.progressSnapshot(now);
  }

  /** The final progress, written with the finish so the last value is always stored. */
  finalProgress(now: number): ProgressWrite | null {
    if (!this.hasProgress) return null;
    this.progressDirty = false;
    return this.progressSnapshot(now);
  }

  private progressSnapshot(now: number): ProgressWrite {
    this.samples.push({ at: now, current: this.progressCurrent });
    while (this.samples.length > 2 && now - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (now - first.at) / 1000;
    // Rate over the window (not the last interval) so bursty handlers give a steady figure.
    if (dt >= 0.05 && this.samples.length >= 2) this.rate = Math.max(0, (this.progressCurrent - first.current) / dt);
    return {
      taskId: this.taskId,
      runNo: this.runNo,
      current: this.progressCurrent,
      total: this.progressTotal,
      message: this.progressMessage,
      ratePerSec: this.rate,
      at: now,
    };
  }

  log(level: LogLevel, message: string, data: unknown, now: number): NewEvent | null {
    if (this.finished) return null;
    this.seq += 1;
    const event: NewEvent = { taskId: this.taskId, runNo: this.runNo, seq: this.seq, at: now, level, message: String(message), data };
    this.pendingEvents.push(event);
    if (this.pendingEvents.length > this.maxEventsPerRun) {
      // Keep memory bounded between flushes; the store trims what was already written.
      this.pendingEvents.shift();
    }
    if (this.seq > this.maxEventsPerRun) this.trimPending = true;
    return event;
  }

  takeEvents(): { events: NewEvent[]; trim: { dropBelowSeq: number; droppedTotal: number } | null } {
    const events = this.pendingEvents;
    this.pendingEvents = [];
    let trim = null;
    if (this.trimPending) {
      this.trimPending = false;
      const dropBelowSeq = this.seq - this.maxEventsPerRun + 1;
      trim = { dropBelowSeq, droppedTotal: dropBelowSeq - 1 };
    }
    return { events, trim };
  }

  get hasPendingWrites(): boolean {
    return this.progressDirty || this.pendingEvents.length > 0 || this.trimPending;
  }
}
