import type { LogLevel, RunOutcome, TaskStatus } from "./status.js";

/** How the delay before a retry grows. */
export interface BackoffSpec {
  /** `fixed`: always `delayMs`; `exponential`: `delayMs * 2^(attempt-1)` [`exponential`]. */
  type: "fixed" | "exponential";
  /** Base delay in ms [1000]. */
  delayMs: number;
  /** Upper bound of the delay in ms [1 hour]. */
  maxMs: number;
  /** 0..1: the delay is spread uniformly by ± this fraction [0.2]. */
  jitter: number;
}

/** What a handler reported last, plus the rate and ETA Tasklane derived from it. */
export interface TaskProgress {
  current: number;
  total: number | null;
  message: string | null;
  /** Units of `current` per second, smoothed over the last samples (about 10 s). */
  ratePerSec: number | null;
  /** Milliseconds until `current` reaches `total` at `ratePerSec`; null when unknown. */
  etaMs: number | null;
  updatedAt: Date;
}

/** The error of a failed run, as stored. */
export interface TaskErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** The one task record shape, from the store to every edge (library, CLI, HTTP). */
export interface TaskRow {
  id: string;
  type: string;
  name: string | null;
  description: string | null;
  params: unknown;
  status: TaskStatus;
  /** Smaller runs first. */
  priority: number;
  /** When the task is due (first run, or the next retry). */
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  /** Start of the current or last run. */
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Attempts used since the task was added or last retried by hand (counted at claim). */
  attempt: number;
  maxAttempts: number;
  /** Runs ever started, never reset; also the fencing token of the current run. */
  runCount: number;
  maxRuns: number;
  backoff: BackoffSpec;
  timeoutMs: number | null;
  /** CPU cost, 100 = one core. */
  cpu: number;
  /** Only the node of this name may run the task. */
  executor: string | null;
  /** A task not started by then ends `expired`. */
  deadline: Date | null;
  deleteAfterMs: number;
  /** When the pruner deletes the finished task. */
  deleteAt: Date | null;
  key: string | null;
  owner: string | null;
  /** Node running the task, or that ran it last. */
  node: string | null;
  leaseExpiresAt: Date | null;
  cancelRequested: boolean;
  progress: TaskProgress | null;
  result: unknown;
  error: TaskErrorInfo | null;
  /** Flow-control group (e.g. a customer id): cluster-wide limits and `fair` dispatch apply per group. */
  group: string | null;
  /** The task whose end added this one (a follow-up), with that task's outcome; null otherwise. */
  parent: ParentOutcome | null;
  /** Follow-ups added when this task ends (`then` on success, `onFailure` when it fails for good). */
  followUps: StoredFollowUp[];
  /**
   * Set by `get` and `list` for a queued task that no node will run as things stand: pinned to
   * a node that is offline, or no online node handles its type. Null otherwise.
   */
  waitReason?: string | null;
}

/** How the parent of a follow-up ended; `ctx.parent` in the follow-up's handler. */
export interface ParentOutcome {
  id: string;
  type: string;
  status: "succeeded" | "failed";
  /** The parent's result (on success). */
  result: unknown;
  /** The parent's error (on failure). */
  error: TaskErrorInfo | null;
}

/**
 * A follow-up as stored on its parent: every option resolved when the parent was added, so the
 * store can add it in the same transaction as the parent's end, on any node. Its id is fixed
 * (`<parent id>.<n>`), so it is added at most once.
 */
export interface StoredFollowUp {
  id: string;
  on: "success" | "failure";
  type: string;
  name: string | null;
  description: string | null;
  params: unknown;
  priority: number;
  maxAttempts: number;
  maxRuns: number;
  backoff: BackoffSpec;
  timeoutMs: number | null;
  cpu: number;
  executor: string | null;
  deleteAfterMs: number;
  owner: string | null;
  group: string | null;
  /** Due this long after the parent ends. */
  delayMs: number;
  followUps: StoredFollowUp[];
}

/** One attempt of a task on one node. */
export interface RunRow {
  taskId: string;
  /** 1-based, equals the task's `runCount` when the run started. */
  runNo: number;
  /** `${taskId}#${runNo}`: unique, stable, handy as an idempotency key. */
  runId: string;
  attempt: number;
  node: string;
  startedAt: Date;
  endedAt: Date | null;
  outcome: RunOutcome | null;
  result: unknown;
  error: TaskErrorInfo | null;
}

/** A log line of a run. */
export interface EventRow {
  /** Increases in write order across the whole database; use as a cursor. */
  id: number;
  taskId: string;
  runNo: number;
  at: Date;
  level: LogLevel;
  message: string;
  data: unknown;
}

/** Milliseconds until `current` reaches `total` at `ratePerSec`; null when either is unknown. */
export function etaMs(current: number, total: number | null, ratePerSec: number | null): number | null {
  if (total === null || ratePerSec === null || ratePerSec <= 0) return null;
  return Math.max(0, ((total - current) / ratePerSec) * 1000);
}

export function runIdOf(taskId: string, runNo: number): string {
  return `${taskId}#${runNo}`;
}
