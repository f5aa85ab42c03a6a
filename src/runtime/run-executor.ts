import { NonRetryableError } from "../model/errors.js";
import { formatDuration } from "../model/duration.js";
import type { TaskContext, TaskDefinition } from "../model/options.js";
import type { TaskErrorInfo } from "../model/task-row.js";
import { runIdOf } from "../model/task-row.js";
import type { RunFinish } from "../store/store.js";
import { backoffDelayMs } from "./backoff.js";
import type { RunState } from "./run-state.js";

export interface ExecutorSettings {
  node: string;
  /** After an abort, how long the handler may take to settle before the run is ended anyway. */
  abortGraceMs: number;
  onLog(run: RunState, level: "debug" | "info" | "warn" | "error", message: string, data: unknown): void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown } | { ok: false; abandoned: true };

/**
 * Runs one claimed task's handler and decides how the run ends. Returns null when nothing may
 * be written (the lease was lost: another node may own the task now).
 */
export async function executeRun(def: TaskDefinition, run: RunState, settings: ExecutorSettings): Promise<RunFinish | null> {
  const task = run.task;
  const ctx: TaskContext = {
    params: task.params,
    task,
    attempt: task.attempt,
    runId: runIdOf(task.id, task.runCount),
    node: settings.node,
    parent: task.parent,
    get signal() {
      return run.signal;
    },
    progress: (current, total, message) => {
      if (typeof current !== "number" || !Number.isFinite(current)) return;
      run.setProgress(current, total === undefined ? undefined : total, message === undefined ? undefined : message);
    },
    log: {
      debug: (m, d) => settings.onLog(run, "debug", m, d),
      info: (m, d) => settings.onLog(run, "info", m, d),
      warn: (m, d) => settings.onLog(run, "warn", m, d),
      error: (m, d) => settings.onLog(run, "error", m, d),
    },
  };

  let timeout: NodeJS.Timeout | null = null;
  let grace: NodeJS.Timeout | null = null;
  const settled = await new Promise<Settled>((resolve) => {
    let handlerPromise: Promise<unknown>;
    try {
      handlerPromise = Promise.resolve(def.run(ctx));
    } catch (error) {
      handlerPromise = Promise.reject(error);
    }
    handlerPromise.then(
      (value) => resolve({ ok: true, value }),
      (error: unknown) => resolve({ ok: false, error }),
    );
    const onAbort = () => {
      // A handler that ignores its signal gets `abortGraceMs`, then the run ends without it;
      // whatever it returns later is dropped.
      grace = setTimeout(() => resolve({ ok: false, abandoned: true }), settings.abortGraceMs);
    };
    run.onAbort(onAbort);
    if (task.timeoutMs !== null) {
      timeout = setTimeout(() => run.abort("timeout", `run exceeded its timeout of ${formatDuration(task.timeoutMs!)}`), task.timeoutMs);
    }
  });
  if (timeout) clearTimeout(timeout);
  if (grace) clearTimeout(grace);
  return decideFinish(run, settled);
}

/**
 * How a run ends when it was stopped without (or before) its handler's say: released to the
 * queue on shutdown, cancelled. Also used for a fetched-ahead run that never started.
 */
export function stoppedFinish(run: RunState, kind: "shutdown" | "cancelled"): RunFinish {
  const base = { taskId: run.taskId, runNo: run.runNo };
  if (kind === "cancelled") {
    return { ...base, outcome: "cancelled", next: "cancelled", error: { name: "Cancelled", message: "cancelled by request" } };
  }
  return {
    ...base,
    outcome: "offline",
    next: "queued",
    retryDelayMs: 0,
    refundAttempt: true,
    error: { name: "Released", message: `released by node ${run.task.node} while shutting down` },
  };
}

function decideFinish(run: RunState, settled: Settled): RunFinish | null {
  const base = { taskId: run.taskId, runNo: run.runNo };
  switch (run.abortKind) {
    case "lease-lost":
      return null;
    case "shutdown":
    case "cancelled":
      return stoppedFinish(run, run.abortKind);
    case "timeout":
      return failure(run, { name: "TimeoutError", message: run.reason!.message }, "timed_out", true);
    default:
      break;
  }
  if ("abandoned" in settled) return null; // unreachable: abandonment follows an abort
  if (settled.ok) {
    const value = settled.value === undefined ? null : settled.value;
    try {
      JSON.stringify(value);
    } catch (error) {
      return failure(run, { name: "ResultError", message: `result is not JSON-serialisable: ${(error as Error).message}` }, "failed", false);
    }
    return { ...base, outcome: "succeeded", next: "succeeded", result: value, error: null };
  }
  const error = errorInfo(settled.error);
  return failure(run, error, "failed", !(settled.error instanceof NonRetryableError || error.name === "NonRetryableError"));
}

function failure(run: RunState, error: TaskErrorInfo, outcome: "failed" | "timed_out", retryable: boolean): RunFinish {
  const task = run.task;
  const canRetry = retryable && task.attempt < task.maxAttempts && task.runCount < task.maxRuns;
  return {
    taskId: run.taskId,
    runNo: run.runNo,
    outcome,
    next: canRetry ? "queued" : "failed",
    retryDelayMs: canRetry ? backoffDelayMs(task.backoff, task.attempt) : undefined,
    error,
  };
}

export function errorInfo(error: unknown): TaskErrorInfo {
  if (error instanceof Error) {
    const info: TaskErrorInfo = { name: error.name, message: error.message };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") info.code = code;
    if (error.stack) info.stack = error.stack;
    return info;
  }
  return { name: "Error", message: typeof error === "string" ? error : safeJson(error) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
