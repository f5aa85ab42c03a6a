import type { LogLevel, RunOutcome, TaskStatus } from "../model/status.js";
import type { BackoffSpec, EventRow, RunRow, TaskErrorInfo, TaskRow } from "../model/task-row.js";

/**
 * The Store contract: every database fact the queue needs, named noun-verb, written from the
 * queue's semantics so each backend implements it with what its engine does best. Only stores
 * speak SQL. Every write of a run (renew, progress, finish) is fenced on `(taskId, runNo)`:
 * a run whose lease was taken over is refused, never half-applied.
 *
 * Times are epoch milliseconds of the store's clock (`store.now()`), the one time authority.
 */
export interface Store {
  readonly dialect: "sqlite" | "postgres";
  readonly capabilities: StoreCapabilities;

  /** Applies pending migrations under the store's lock; returns the versions applied. */
  migrate(): Promise<number[]>;
  migrationStatus(): Promise<MigrationState[]>;
  close(): Promise<void>;
  /** The store's clock (epoch ms). */
  now(): Promise<number>;
  /**
   * How another thread opens its own connection to this database (for the lease renewer, which
   * must keep renewing while a handler blocks the main thread), or null if it cannot.
   */
  threadConfig(): StoreThreadConfig | null;
  /**
   * Calls `onChange` soon after another connection commits (a wake-up hint: the worker then
   * claims instead of waiting for its poll). Returns the unsubscribe function. Optional: a
   * store without it is polled.
   */
  watchChanges?(onChange: () => void): () => void;

  /**
   * Inserts tasks in one transaction, all or nothing. A task whose `key` is held by a live task
   * yields that task with `existing: true` instead. A type over its `maxQueued` throws
   * `QueueFullError` and nothing is stored.
   */
  taskInsertMany(tasks: NewTask[], limits: InsertLimits): Promise<InsertOutcome[]>;
  taskGet(id: string): Promise<TaskRow | null>;
  taskList(filter: TaskListFilter): Promise<TaskPage>;
  /** Counts of tasks by (derived) status and type. */
  taskCount(): Promise<Array<{ status: TaskStatus; type: string; count: number }>>;

  /** Claims up to `limit` due tasks in one atomic step; each claim opens a run. */
  taskClaim(request: ClaimRequest): Promise<TaskRow[]>;
  /** Extends the leases of these runs; returns those still held (fenced), with their cancel flag. */
  leaseRenewMany(leases: RunRef[], leaseMs: number): Promise<LeaseState[]>;
  /** Stores coalesced progress of running runs (fenced; stale ones are ignored). */
  progressWriteMany(updates: ProgressWrite[]): Promise<void>;
  /** Appends log events; `dropBelowSeq` trims a run's oldest events beyond the per-run cap. */
  eventInsertMany(events: NewEvent[], trims: EventTrim[]): Promise<void>;
  /**
   * Ends runs (fenced): succeed, fail, retry later, cancel or release. Returns what changed for
   * those that applied (the caller holds the rest of the row from the claim).
   */
  taskFinishMany(finishes: RunFinish[]): Promise<FinishApplied[]>;
  /**
   * `taskFinishMany` then `taskClaim` in one transaction: a worker refills the slots a batch of
   * finishes frees with one commit instead of two.
   */
  taskFinishAndClaim(finishes: RunFinish[], claim: ClaimRequest): Promise<{ applied: FinishApplied[]; claimed: TaskRow[] }>;

  /** Queued → cancelled at once; running → cancel requested (the running node aborts it). */
  taskCancel(id: string): Promise<{ task: TaskRow; applied: boolean } | null>;
  /** failed/cancelled/expired → queued with attempts reset (not past maxRuns). Null if not found. */
  taskRetry(id: string): Promise<{ task: TaskRow; applied: boolean } | null>;
  /** Deletes a task that is not running, with its runs and events. */
  taskDelete(id: string): Promise<"deleted" | "running" | "not-found">;

  runList(taskId: string): Promise<RunRow[]>;
  eventList(taskId: string, options: { afterId?: number; limit?: number }): Promise<EventRow[]>;

  /** Re-queues (or fails, when out of attempts/runs) tasks whose lease expired: run outcome `offline`. */
  taskRescueExpired(): Promise<TaskRow[]>;
  /** On start: re-queues this node's leftover runs at once, without waiting for lease expiry. */
  taskRescueNode(node: string): Promise<TaskRow[]>;
  /** Queued tasks past their deadline → `expired`. */
  taskExpireOverdue(): Promise<TaskRow[]>;
  /** Deletes finished tasks past `deleteAt` and runs beyond the per-task cap, in bounded batches. */
  prune(options: PruneOptions): Promise<PruneReport>;
}

export interface StoreCapabilities {
  /** Several processes may share the database. */
  multiProcess: boolean;
  /** Transactional enqueue inside the application's own transaction. */
  transactionalAdd: boolean;
  /** Cross-process wake-up (LISTEN/NOTIFY or a cheap change counter). */
  changeNotification: boolean;
}

/** Serialisable description of a store, opened again inside a worker thread. */
export type StoreThreadConfig = { dialect: "sqlite"; path: string; busyTimeoutMs: number };

export interface MigrationState {
  version: number;
  name: string;
  appliedAt: Date | null;
}

export interface NewTask {
  id: string;
  type: string;
  name: string | null;
  description: string | null;
  params: unknown;
  priority: number;
  /** Due time (epoch ms); null = now by the store clock. */
  runAt: number | null;
  maxAttempts: number;
  maxRuns: number;
  backoff: BackoffSpec;
  timeoutMs: number | null;
  cpu: number;
  executor: string | null;
  deadline: number | null;
  deleteAfterMs: number;
  key: string | null;
  owner: string | null;
}

export interface InsertLimits {
  /** Per type: most queued tasks allowed. */
  maxQueued: Map<string, number>;
}

export interface InsertOutcome {
  task: TaskRow;
  /** True when a live task with the same key was returned instead of inserting. */
  existing: boolean;
}

export interface TaskListFilter {
  status?: TaskStatus[];
  type?: string[];
  owner?: string;
  key?: string;
  /** Keyset cursor: the `nextCursor` of the previous page. */
  cursor?: string;
  limit: number;
  /** Default `desc` (newest first). */
  order?: "asc" | "desc";
}

export interface TaskPage {
  tasks: TaskRow[];
  nextCursor: string | null;
}

export interface ClaimRequest {
  node: string;
  /** Types this node can run now, with the free per-type slots (Infinity = no per-type limit). */
  types: Array<{ type: string; slots: number }>;
  limit: number;
  /** CPU units still free on this node, and the node's capacity (a task's cost is capped at it). */
  cpuFree: number;
  cpuCapacity: number;
  leaseMs: number;
}

export interface RunRef {
  taskId: string;
  runNo: number;
}

export interface LeaseState extends RunRef {
  cancelRequested: boolean;
}

export interface ProgressWrite extends RunRef {
  current: number;
  total: number | null;
  message: string | null;
  ratePerSec: number | null;
  at: number;
}

export interface NewEvent extends RunRef {
  seq: number;
  at: number;
  level: LogLevel;
  message: string;
  data: unknown;
}

export interface EventTrim extends RunRef {
  /** Delete this run's events with seq below this value and note how many were dropped. */
  dropBelowSeq: number;
  droppedTotal: number;
}

/** How a run ends and what becomes of its task. */
export interface RunFinish extends RunRef {
  outcome: RunOutcome;
  /** Next task status: final, or `queued` to retry (at `runAt`). */
  next: "succeeded" | "failed" | "cancelled" | "queued";
  runAt?: number;
  result?: unknown;
  error?: TaskErrorInfo | null;
  /** Give the attempt back (graceful release: the run does not count as a failure). */
  refundAttempt?: boolean;
  progress?: ProgressWrite | null;
}

/** The new state of a task whose run end was applied. */
export interface FinishApplied extends RunRef {
  status: TaskStatus;
  runAt: Date;
  attempt: number;
  updatedAt: Date;
  finishedAt: Date | null;
  deleteAt: Date | null;
}

export interface PruneOptions {
  /** Keep this many most recent runs (and their events) per task. */
  keepRunsPerTask: number;
  /** Most rows deleted per statement. */
  batchSize: number;
}

export interface PruneReport {
  tasksDeleted: number;
  runsDeleted: number;
}
