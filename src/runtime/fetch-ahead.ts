import type { RunState } from "./run-state.js";

/** The rate is measured over windows of this length; a longer quiet spell counts as a slow window. */
const RATE_WINDOW_MS = 250;

/**
 * The buffer holds at least this many times the recent claim round trip of work. Claims turn
 * slow when the queue index fills with row versions no one may remove yet (a transaction held
 * open elsewhere on PostgreSQL: every claim steps over the versions of every task claimed since
 * it began). Claiming the same number of tasks in fewer, larger batches keeps the share of the
 * node's time spent claiming bounded instead of letting it grow with the dead versions.
 */
const CLAIM_COVER = 10;

/**
 * Runs claimed ahead of free slots (fetch-ahead), in claim order, and how many the node should
 * hold: about `aheadMs` of work at the rate its handlers have been finishing, at most `max`.
 *
 * Why: a node that claims only for its free slots at concurrency 10 moves at most 10 tasks per
 * round trip, and its slots sit empty while each claim travels (measured on PostgreSQL: 1,898
 * no-op tasks/s at c=10 against 4,542 at c=100, same run). Sizing the buffer by the finishing
 * rate keeps it to what the node starts within `aheadMs`: short tasks are batched by the
 * hundred, while long tasks (a rate of a few per second) are not hoarded away from idle nodes.
 * Buffered runs are claimed runs: their leases are renewed, they are fenced, cancels reach them,
 * and a stopping node releases them to the queue at once.
 */
export class FetchAheadBuffer {
  private readonly runs = new Map<string, RunState>();
  private windowStart = Date.now();
  private windowCount = 0;
  private ratePerSec = 0;
  private claimMs = 0;

  constructor(
    private readonly aheadMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.runs.size;
  }

  get(runId: string): RunState | undefined {
    return this.runs.get(runId);
  }

  values(): IterableIterator<RunState> {
    return this.runs.values();
  }

  push(run: RunState): void {
    this.runs.set(run.runId, run);
  }

  /** The oldest claimed run, removed. */
  shift(): RunState | undefined {
    for (const run of this.runs.values()) {
      this.runs.delete(run.runId);
      return run;
    }
    return undefined;
  }

  delete(run: RunState): boolean {
    return this.runs.delete(run.runId);
  }

  /** Removes and returns every buffered run. */
  takeAll(): RunState[] {
    const all = [...this.runs.values()];
    this.runs.clear();
    return all;
  }

  /** A handler finished (any outcome): feeds the rate. */
  noteFinished(now = Date.now()): void {
    this.roll(now);
    this.windowCount++;
  }

  /** A claim round trip took `ms` (a moving average keeps one slow claim from doubling the buffer). */
  noteClaim(ms: number): void {
    this.claimMs = this.claimMs === 0 ? ms : this.claimMs * 0.7 + ms * 0.3;
  }

  /** How many runs the buffer should hold now. */
  target(now = Date.now()): number {
    if (this.aheadMs === 0) return 0;
    this.roll(now);
    // The window in progress counts once it is long enough to say something: a burst of short
    // tasks gets its buffer within tens of ms, not a window later.
    const elapsed = now - this.windowStart;
    const current = elapsed >= 20 ? (this.windowCount * 1000) / elapsed : 0;
    const rate = Math.max(this.ratePerSec, current);
    const aheadMs = Math.max(this.aheadMs, CLAIM_COVER * this.claimMs);
    return Math.min(this.max, Math.floor((rate * aheadMs) / 1000));
  }

  private roll(now: number): void {
    const elapsed = now - this.windowStart;
    if (elapsed < RATE_WINDOW_MS) return;
    this.ratePerSec = (this.windowCount * 1000) / elapsed;
    this.windowStart = now;
    this.windowCount = 0;
  }
}
