import { NonRetryableError } from "../model/errors.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import type { TaskContext, TaskDefinition } from "../model/options.js";
import type { TaskErrorInfo } from "../model/task-row.js";
import { runIdOf } from "../model/task-row.js";
import type { RunFinish } from "../store/store.js";
import { backoffDelayMs } from "./backoff.js";
import { boundError, resultProblem } from "./bounds.js";
import type { RunState } from "./run-state.js";

export interface ExecutorSettings {
  node: string;
  /** After an abort, how long the handler may take to settle before the run is ended anyway (a type's `killAfter` overrides it). */
  abortGraceMs: number;
  /** Largest result stored, bytes of JSON. */
  maxResultBytes: number;
  /** Where the handler of `def` runs: on this event loop, or in a runner of a pool. */
  invokerFor(def: TaskDefinition): RunInvoker;
  onLog(run: RunState, level: "debug" | "info" | "warn" | "error", message: string, data: unknown): void;
}

/** How a handler call ended, as seen by the node. */
export type Settled =
  | { ok: true; value: unknown }
  /** The result, already serialised (it crossed from a runner as JSON). */
  | { ok: true; json: string }
  | { ok: false; error: unknown }
  /** The grace after an abort expired and the handler was left running (shared event loop). */
  | { ok: false; abandoned: true }
  /** The grace after an abort expired and the runner was terminated. */
  | { ok: false; terminated: true };

/** One handler call in progress. */
export interface Invocation {
  settled: Promise<Settled>;
  /** Resolves when the handler starts, if that can come later than the call (waiting for a runner). */
  started?: Promise<void>;
  /** The grace after an abort expired: stop waiting (and terminate the runner, if there is one). */
  giveUp(): void;
}

/** Runs handlers somewhere: inline, or in an isolated runner. */
export interface RunInvoker {
  invoke(def: TaskDefinition, run: RunState, ctx: TaskContext): Invocation;
}

/** Handlers on the node's own event loop (`isolation: "none"`). */
export const inlineInvoker: RunInvoker = {
  invoke(def, _run, ctx) {
    let giveUp!: () => void;
    const settled = new Promise<Settled>((resolve) => {
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
      // Whatever the handler returns after this is dropped.
      giveUp = () => resolve({ ok: false, abandoned: true });
    });
    return { settled, giveUp };
  },
};

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

  const graceMs = def.killAfter === undefined ? settings.abortGraceMs : parseDuration(def.killAfter, "killAfter");
  let timeout: NodeJS.Timeout | null = null;
  let grace: NodeJS.Timeout | null = null;
  // Before the call: an inline handler may block from its first line.
  let startedAt = performance.now();
  const invocation = settings.invokerFor(def).invoke(def, run, ctx);
  run.onAbort(() => {
    // A handler that ignores its signal gets the grace, then the run ends without it.
    grace = setTimeout(() => invocation.giveUp(), graceMs);
  });
  let ended = false;
  const armTimeout = () => {
    if (task.timeoutMs !== null && !run.aborted && !ended) {
      timeout = setTimeout(() => run.abort("timeout", timeoutMessage(task.timeoutMs!)), task.timeoutMs);
    }
  };
  // The timeout counts the handler's time, not the wait for a runner to start.
  if (invocation.started) {
    void invocation.started.then(() => {
      startedAt = performance.now();
      armTimeout();
    });
  } else armTimeout();
  const settled = await invocation.settled;
  ended = true;
  if (timeout) clearTimeout(timeout);
  // A handler that blocked the event loop past its timeout returns before the timer could fire:
  // a result that arrives late is a timeout all the same, in every isolation mode.
  // (The monotonic clock: a wall-clock step must not make a run time out, or not.)
  if (task.timeoutMs !== null && !run.aborted && performance.now() - startedAt > task.timeoutMs) {
    run.abort("timeout", timeoutMessage(task.timeoutMs));
  }
  if (grace) clearTimeout(grace);
  return decideFinish(run, settled, settings.maxResultBytes, graceMs);
}

function timeoutMessage(timeoutMs: number): string {
  return `run exceeded its timeout of ${formatDuration(timeoutMs)}`;
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

function decideFinish(run: RunState, settled: Settled, maxResultBytes: number, graceMs: number): RunFinish | null {
  const base = { taskId: run.taskId, runNo: run.runNo };
  // The runner was killed: say so, since the handler never had its say.
  const killed = "terminated" in settled ? `; terminated after ${formatSeconds(graceMs)} grace: the handler did not stop` : "";
  switch (run.abortKind) {
    case "lease-lost":
      return null;
    case "shutdown":
      return stoppedFinish(run, run.abortKind);
    case "cancelled": {
      const finish = stoppedFinish(run, run.abortKind);
      if (killed && finish.error) finish.error = { ...finish.error, message: finish.error.message + killed };
      return finish;
    }
    case "timeout":
      return failure(run, { name: "TimeoutError", message: run.reason!.message + killed }, "timed_out", true);
    default:
      break;
  }
  if ("abandoned" in settled || "terminated" in settled) return null; // unreachable: both follow an abort
  if (settled.ok) {
    let json: string | undefined;
    if ("json" in settled) json = settled.json;
    else {
      try {
        json = JSON.stringify(settled.value === undefined ? null : settled.value);
      } catch (error) {
        return failure(run, { name: "ResultError", message: `result is not JSON-serialisable: ${(error as Error).message}` }, "failed", false);
      }
    }
    const problem = resultProblem(json, maxResultBytes);
    // The same result would be too large on every attempt.
    if (problem) return failure(run, problem, "failed", false);
    const value = "json" in settled ? (JSON.parse(settled.json) as unknown) : settled.value === undefined ? null : settled.value;
    return { ...base, outcome: "succeeded", next: "succeeded", result: value, error: null };
  }
  const error = errorInfo(settled.error);
  return failure(run, error, "failed", !(settled.error instanceof NonRetryableError || error.name === "NonRetryableError"));
}

/** `2 s`, `0.5 s`: how long the grace was, for the error message. */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 1000 ? 2 : 1))} s`;
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

/** The error as stored, message and stack bounded (see bounds.ts). */
export function errorInfo(error: unknown): TaskErrorInfo {
  if (error instanceof Error) {
    const info: TaskErrorInfo = { name: String(error.name), message: String(error.message) };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") info.code = code;
    if (error.stack) info.stack = String(error.stack);
    return boundError(info);
  }
  return boundError({ name: "Error", message: typeof error === "string" ? error : safeJson(error) });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
