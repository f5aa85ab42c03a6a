import { runIdOf, type TaskRow } from "../model/task-row.js";
import type { ClaimRequest, FinishApplied, RunFinish, Store } from "../store/store.js";
import type { RunFlusher } from "./run-flusher.js";
import type { RunState } from "./run-state.js";

interface PendingFinish {
  run: RunState;
  finish: RunFinish;
  /** Failed writes of this finish so far. */
  tries?: number;
}

/** A finish whose write keeps failing is given up after this many tries (its lease then lapses and the task is re-run). */
const MAX_TRIES = 6;

/**
 * Ends runs in batches: every finish that arrives within one turn of the event loop is written
 * in one store call (one transaction), preceded by one write of those runs' last log lines.
 * With no-op handlers at concurrency 100 this turns 100 commits into 2.
 */
export class Completer {
  private pending: PendingFinish[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly flusher: RunFlusher,
    private readonly onDone: (items: Array<{ run: RunState; finish: RunFinish; row: TaskRow | null }>) => void,
    private readonly onError: (error: Error) => void,
    /** The claim that refills the slots these runs free, written in the same transaction (or null). */
    private readonly claimAfter: (runs: RunState[]) => ClaimRequest | null,
    /** Receives what that claim took (always called after `claimAfter` returned a request). */
    private readonly onClaimed: (claimed: TaskRow[], request: ClaimRequest) => void,
  ) {}

  push(run: RunState, finish: RunFinish): void {
    finish.progress = run.finalProgress(Date.now());
    // Progress and log calls after this point (a handler still running after an abort) are dropped.
    run.finished = true;
    this.pending.push({ run, finish });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  /** Resolves when everything pushed so far is written. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.pending.length && !this.scheduled) return this.flush();
      return;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = (async () => {
      let rows: FinishApplied[] = [];
      let claimed: TaskRow[] = [];
      let request: ClaimRequest | null = null;
      try {
        await this.flusher.flushEvents(batch.map((b) => b.run));
      } catch (error) {
        // Log lines are lost, the outcome must not be: carry on with the finish.
        this.onError(error as Error);
      }
      try {
        request = this.claimAfter(batch.map((b) => b.run));
        if (request) {
          const result = await this.store.taskFinishAndClaim(batch.map((b) => b.finish), request);
          rows = result.applied;
          claimed = result.claimed;
          if (result.claimError) this.onError(result.claimError);
        } else {
          rows = await this.store.taskFinishMany(batch.map((b) => b.finish));
        }
      } catch (error) {
        this.onError(error as Error);
        if (request) this.onClaimed([], request);
        // One bad finish (or a passing fault) must not cost the others their outcome: retry each
        // on its own. The runs stay registered meanwhile, so their leases keep being renewed.
        for (const item of batch) this.retryAlone(item);
        return;
      }
      this.deliver(batch, rows);
      if (request) this.onClaimed(claimed, request);
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private deliver(batch: PendingFinish[], rows: FinishApplied[]): void {
    const byRun = new Map(rows.map((r) => [runIdOf(r.taskId, r.runNo), r]));
    this.onDone(
      batch.map((b) => {
        const applied = byRun.get(b.run.runId);
        return { run: b.run, finish: b.finish, row: applied ? taskAfterFinish(b.run.task, b.finish, applied) : null };
      }),
    );
  }

  /** Writes one finish by itself, with backoff (0.2 s, 0.4 s, … 6.4 s); gives up after MAX_TRIES. */
  private retryAlone(item: PendingFinish): void {
    item.tries = (item.tries ?? 0) + 1;
    if (item.tries > MAX_TRIES) {
      this.deliver([item], []);
      return;
    }
    const timer = setTimeout(async () => {
      let rows: FinishApplied[];
      try {
        rows = await this.store.taskFinishMany([item.finish]);
      } catch (error) {
        this.onError(error as Error);
        this.retryAlone(item);
        return;
      }
      this.deliver([item], rows);
    }, 100 * 2 ** item.tries);
    // A retry must not keep a stopping process alive; the run's lease lapses if it never lands.
    timer.unref();
  }
}

/** The task row after a run end: the claimed row updated with what the finish changed. */
export function taskAfterFinish(task: TaskRow, finish: RunFinish, applied: FinishApplied): TaskRow {
  const p = finish.progress;
  return {
    ...task,
    status: applied.status,
    runAt: applied.runAt,
    attempt: applied.attempt,
    updatedAt: applied.updatedAt,
    finishedAt: applied.finishedAt,
    deleteAt: applied.deleteAt,
    leaseExpiresAt: null,
    result: finish.result === undefined ? null : finish.result,
    error: finish.error ?? null,
    progress: p
      ? { current: p.current, total: p.total, message: p.message, ratePerSec: p.ratePerSec, etaMs: null, updatedAt: new Date(p.at) }
      : task.progress,
  };
}
