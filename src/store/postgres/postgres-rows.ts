import type { LogLevel, RunOutcome, TaskStatus } from "../../model/status.js";
import type { EventRow, ParentOutcome, RunRow, TaskErrorInfo, TaskRow } from "../../model/task-row.js";
import { etaMs, runIdOf } from "../../model/task-row.js";
import type { NodeRow } from "../../model/node-row.js";
import type { ApiTokenRow, UserRow } from "../store.js";

export type PgRow = Record<string, any>;

/**
 * Maps a `tasks` row as pg returns it (timestamptz → Date, jsonb → values) to the one record
 * shape. Queries select `scheduled_now` (queued and due later, by the database clock); rows
 * without it fall back to `now`, the database clock as last measured.
 */
export function pgRowToTask(r: PgRow, now: number): TaskRow {
  const scheduled = r.scheduled_now ?? (r.status === "queued" && (r.run_at as Date).getTime() > now);
  const status: TaskStatus = scheduled ? "scheduled" : r.status;
  const rate: number | null = r.progress_rate ?? null;
  const total: number | null = r.progress_total ?? null;
  const current: number = r.progress_current ?? 0;
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    description: r.description,
    params: r.params,
    status,
    priority: r.priority,
    runAt: r.run_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    runCount: r.run_count,
    maxRuns: r.max_runs,
    backoff: r.backoff,
    timeoutMs: r.timeout_ms,
    cpu: r.cpu,
    executor: r.executor,
    deadline: r.deadline,
    deleteAfterMs: Number(r.delete_after_ms),
    deleteAt: r.delete_at,
    key: r.key,
    owner: r.owner,
    node: r.node,
    leaseExpiresAt: r.lease_expires_at,
    cancelRequested: r.cancel_requested === true,
    progress: r.progress_at
      ? {
          current,
          total,
          message: r.progress_message,
          ratePerSec: rate,
          etaMs: r.status === "running" ? etaMs(current, total, rate) : null,
          updatedAt: r.progress_at,
        }
      : null,
    result: r.result ?? null,
    error: (r.error ?? null) as TaskErrorInfo | null,
    group: r.grp ?? null,
    parent: (r.parent ?? null) as ParentOutcome | null,
    followUps: (r.follow_ups ?? null) ?? [],
  };
}

export function pgRowToRun(r: PgRow): RunRow {
  return {
    taskId: r.task_id,
    runNo: r.run_no,
    runId: runIdOf(r.task_id, r.run_no),
    attempt: r.attempt,
    node: r.node,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    outcome: r.outcome as RunOutcome | null,
    result: r.result ?? null,
    error: (r.error ?? null) as TaskErrorInfo | null,
  };
}

export function pgRowToEvent(r: PgRow): EventRow {
  return {
    id: Number(r.id),
    taskId: r.task_id,
    runNo: r.run_no,
    at: r.at,
    level: r.level as LogLevel,
    message: r.message,
    data: r.data ?? null,
  };
}

export function pgRowToNode(r: PgRow): NodeRow {
  return {
    name: r.name,
    host: r.host,
    pid: r.pid,
    version: r.version,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    status: r.status,
    types: r.types,
    concurrency: r.concurrency,
    running: r.running,
    cpuCapacity: r.cpu_capacity,
    cpuUsed: r.cpu_used,
    loadPerCore: r.load_per_core,
    memoryBytes: Number(r.memory_bytes),
    runners: r.runners ?? null,
  };
}

export function pgRowToUser(r: PgRow): UserRow {
  return { name: r.name, role: r.role, createdAt: r.created_at };
}

export function pgRowToToken(r: PgRow): ApiTokenRow {
  return { id: r.id, userName: r.user_name, hash: r.hash, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at };
}
