import type { LogLevel, RunOutcome, TaskStatus } from "../../model/status.js";
import type { EventRow, RunRow, TaskErrorInfo, TaskRow } from "../../model/task-row.js";
import { runIdOf } from "../../model/task-row.js";

export type SqlRow = Record<string, any>;

const date = (v: number | null): Date | null => (v === null || v === undefined ? null : new Date(v));
const json = (v: string | null): unknown => (v === null || v === undefined ? null : JSON.parse(v));

/** Maps a `tasks` row to the one record shape; `now` decides queued vs scheduled. */
export function rowToTask(r: SqlRow, now: number): TaskRow {
  const status: TaskStatus = r.status === "queued" && r.run_at > now ? "scheduled" : r.status;
  const hasProgress = r.progress_at !== null && r.progress_at !== undefined;
  const rate: number | null = r.progress_rate ?? null;
  const total: number | null = r.progress_total ?? null;
  const current: number = r.progress_current ?? 0;
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    description: r.description,
    params: json(r.params),
    status,
    priority: r.priority,
    runAt: new Date(r.run_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    runCount: r.run_count,
    maxRuns: r.max_runs,
    backoff: JSON.parse(r.backoff),
    timeoutMs: r.timeout_ms,
    cpu: r.cpu,
    executor: r.executor,
    deadline: date(r.deadline),
    deleteAfterMs: r.delete_after_ms,
    deleteAt: date(r.delete_at),
    key: r.key,
    owner: r.owner,
    node: r.node,
    leaseExpiresAt: date(r.lease_expires_at),
    cancelRequested: r.cancel_requested === 1,
    progress: hasProgress
      ? {
          current,
          total,
          message: r.progress_message,
          ratePerSec: rate,
          etaMs: r.status === "running" ? etaOf(current, total, rate) : null,
          updatedAt: new Date(r.progress_at),
        }
      : null,
    result: json(r.result),
    error: json(r.error) as TaskErrorInfo | null,
  };
}

function etaOf(current: number, total: number | null, rate: number | null): number | null {
  if (total === null || rate === null || rate <= 0) return null;
  return Math.max(0, ((total - current) / rate) * 1000);
}

export function rowToRun(r: SqlRow): RunRow {
  return {
    taskId: r.task_id,
    runNo: r.run_no,
    runId: runIdOf(r.task_id, r.run_no),
    attempt: r.attempt,
    node: r.node,
    startedAt: new Date(r.started_at),
    endedAt: date(r.ended_at),
    outcome: r.outcome as RunOutcome | null,
    result: json(r.result),
    error: json(r.error) as TaskErrorInfo | null,
  };
}

export function rowToEvent(r: SqlRow): EventRow {
  return {
    id: r.id,
    taskId: r.task_id,
    runNo: r.run_no,
    at: new Date(r.at),
    level: r.level as LogLevel,
    message: r.message,
    data: json(r.data),
  };
}
