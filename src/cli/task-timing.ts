import { formatDuration } from "../model/duration.js";
import type { RunRow, TaskRow } from "../model/task-row.js";

/** How long a task has taken: from its first start (across retries) to its end, and its last run alone. */
export interface TaskTiming {
  /** From the first run's start to the task's end (or now, while it runs), ms. */
  totalMs: number;
  /** Runs started. */
  runs: number;
  /** The last run alone, ms (to now while it runs). */
  lastRunMs: number;
}

/** Null before the first start. The first start is the oldest run kept (the pruner keeps the last 100). */
export function taskTiming(task: TaskRow, runs: RunRow[], now: number = Date.now()): TaskTiming | null {
  if (!task.startedAt || runs.length === 0) return null;
  const first = Math.min(...runs.map((r) => r.startedAt.getTime()));
  const last = runs.reduce((a, b) => (b.runNo > a.runNo ? b : a));
  const end = task.finishedAt?.getTime() ?? (task.status === "running" ? now : task.updatedAt.getTime());
  return {
    totalMs: Math.max(0, end - first),
    runs: Math.max(task.runCount, runs.length),
    lastRunMs: Math.max(0, (last.endedAt?.getTime() ?? now) - last.startedAt.getTime()),
  };
}

/** `1ms` for one run; `1.0s over 3 runs (last run 1ms)` otherwise. */
export function describeTiming(t: TaskTiming): string {
  if (t.runs <= 1) return formatDuration(t.totalMs);
  return `${formatDuration(t.totalMs)} over ${t.runs} runs (last run ${formatDuration(t.lastRunMs)})`;
}

/** The end line of `show --watch`: `after 3 runs in 1.0s (last run 1ms)`, or ` in 1ms` for one run. */
export function timingSuffix(t: TaskTiming | null): string {
  if (!t) return "";
  if (t.runs <= 1) return ` in ${formatDuration(t.totalMs)}`;
  return ` after ${t.runs} runs in ${formatDuration(t.totalMs)} (last run ${formatDuration(t.lastRunMs)})`;
}
