/**
 * The test kit for applications that use Tasklane (`import … from "tasklane/testing"`):
 * run a handler inline with a recording context, or drain a real queue in-process.
 */
import { Tasklane, type TasklaneOptions } from "../client/tasklane.js";
import { validateParams } from "../client/task-options.js";
import { TaskAbortedError } from "../model/errors.js";
import type { ParentOutcome } from "../model/task-row.js";
import type { TaskContext, TaskDefinition } from "../model/options.js";
import type { LogLevel, TaskStatus } from "../model/status.js";
import type { TaskRow } from "../model/task-row.js";
import { runIdOf } from "../model/task-row.js";

export interface InlineRunOptions {
  /** Attempt number the handler sees [1]. */
  attempt?: number;
  /** Abort the handler through `ctx.signal`. */
  signal?: AbortSignal;
  /** Validate params against the type's schema first, as `add` would [true]. */
  validate?: boolean;
  /** What the handler sees as `ctx.parent` (a follow-up's parent) [null]. */
  parent?: ParentOutcome | null;
}

export interface InlineRun<R> {
  status: "succeeded" | "failed";
  result?: R;
  error?: unknown;
  /** Every `ctx.progress` call, uncoalesced. */
  progress: Array<{ current: number; total: number | null; message: string | null }>;
  logs: Array<{ level: LogLevel; message: string; data: unknown }>;
}

/** Runs a task's handler once, in this process, with a context that records progress and logs. */
export async function runInline<P, R>(definition: TaskDefinition<P, R>, params?: unknown, options: InlineRunOptions = {}): Promise<InlineRun<R>> {
  const value = options.validate === false ? params : await validateParams(definition, params);
  const now = new Date();
  const attempt = options.attempt ?? 1;
  const task: TaskRow = {
    id: "inline",
    type: definition.name,
    name: null,
    description: null,
    params: value,
    status: "running",
    priority: 0,
    runAt: now,
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    finishedAt: null,
    attempt,
    maxAttempts: definition.attempts ?? 3,
    runCount: attempt,
    maxRuns: definition.maxRuns ?? 100,
    backoff: { type: "fixed", delayMs: 0, maxMs: 0, jitter: 0 },
    timeoutMs: null,
    cpu: 0,
    executor: null,
    deadline: null,
    deleteAfterMs: 0,
    deleteAt: null,
    key: null,
    owner: null,
    node: "inline",
    leaseExpiresAt: null,
    cancelRequested: false,
    progress: null,
    result: null,
    error: null,
    group: null,
    parent: options.parent ?? null,
    followUps: [],
  };
  const run: InlineRun<R> = { status: "succeeded", progress: [], logs: [] };
  const log = (level: LogLevel) => (message: string, data?: unknown) => run.logs.push({ level, message, data });
  const controller = new AbortController();
  options.signal?.addEventListener("abort", () => controller.abort(new TaskAbortedError("cancelled", "aborted by the test")), { once: true });
  const ctx: TaskContext<P> = {
    params: value as P,
    task,
    attempt,
    runId: runIdOf(task.id, attempt),
    node: "inline",
    parent: task.parent,
    signal: controller.signal,
    progress: (current, total, message) => run.progress.push({ current, total: total ?? null, message: message ?? null }),
    log: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
  };
  try {
    run.result = await definition.run(ctx);
  } catch (error) {
    run.status = "failed";
    run.error = error;
  }
  return run;
}

/** A Tasklane on an in-memory SQLite database with these task types registered. */
export async function createTestLane(tasks: TaskDefinition[], options: Omit<TasklaneOptions, "tasks"> = {}): Promise<Tasklane> {
  return Tasklane.open({
    db: "sqlite::memory:",
    ...options,
    worker: { pollIntervalMs: 20, overload: false, ...options.worker },
    tasks,
  });
}

export interface DrainResult {
  /** Tasks by status once nothing is due or running. */
  counts: Partial<Record<TaskStatus, number>>;
}

/**
 * Starts the worker if needed and waits until no task is due or running (tasks scheduled for
 * later are left alone). Throws if that takes longer than `timeoutMs` [10000].
 */
export async function drain(lane: Tasklane, options: { timeoutMs?: number } = {}): Promise<DrainResult> {
  if (!lane.workerState()) await lane.start({ pollIntervalMs: 20, overload: false });
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const counts: Partial<Record<TaskStatus, number>> = {};
    for (const row of await lane.counts()) counts[row.status] = (counts[row.status] ?? 0) + row.count;
    if (!counts.queued && !counts.running) return { counts };
    if (Date.now() > deadline) {
      throw new Error(`drain: still ${counts.queued ?? 0} queued and ${counts.running ?? 0} running after ${options.timeoutMs ?? 10_000} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
