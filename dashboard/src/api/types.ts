/**
 * The JSON shapes of the HTTP API (docs/http.md), as the server sends them: dates are ISO
 * strings. Written from the server's responses, not shared with src/, because the page is a
 * separate program that must only rely on the wire format.
 */

export const TASK_STATUSES = ["scheduled", "queued", "running", "succeeded", "failed", "cancelled", "expired"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINAL_STATUSES: readonly TaskStatus[] = ["succeeded", "failed", "cancelled", "expired"];

export interface Me {
  name: string;
  role: "admin" | "user";
}

export interface TaskProgress {
  current: number;
  total: number | null;
  message: string | null;
  ratePerSec: number | null;
  etaMs: number | null;
  updatedAt: string;
}

export interface TaskErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export interface Task {
  id: string;
  type: string;
  name: string | null;
  description: string | null;
  params: unknown;
  status: TaskStatus;
  priority: number;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempt: number;
  maxAttempts: number;
  runCount: number;
  maxRuns: number;
  timeoutMs: number | null;
  cpu: number;
  executor: string | null;
  deadline: string | null;
  deleteAt: string | null;
  key: string | null;
  owner: string | null;
  node: string | null;
  leaseExpiresAt: string | null;
  cancelRequested: boolean;
  progress: TaskProgress | null;
  result: unknown;
  error: TaskErrorInfo | null;
  waitReason?: string | null;
  /** Flow-control group (servers with flow control). */
  group?: string | null;
  /** The task whose end added this one, with its outcome (servers with follow-ups). */
  parent?: ParentOutcome | null;
  /** Follow-ups added when this task ends (servers with follow-ups). */
  followUps?: FollowUp[];
}

export interface ParentOutcome {
  id: string;
  type: string;
  status: "succeeded" | "failed";
  result: unknown;
  error: TaskErrorInfo | null;
}

/** A follow-up as stored on its parent; its id is fixed (`<parent id>.<n>`), the task exists once the parent ended. */
export interface FollowUp {
  id: string;
  on: "success" | "failure";
  type: string;
  name: string | null;
  params: unknown;
  delayMs: number;
  followUps?: FollowUp[];
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export interface Run {
  taskId: string;
  runNo: number;
  runId: string;
  attempt: number;
  node: string;
  startedAt: string;
  endedAt: string | null;
  outcome: "succeeded" | "failed" | "cancelled" | "timed_out" | "offline" | null;
  result: unknown;
  error: TaskErrorInfo | null;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogLine {
  id: number;
  taskId: string;
  runNo: number;
  at: string;
  level: LogLevel;
  message: string;
  data: unknown;
}

/** One event of `GET /api/events`: a state change of a task. */
export interface TaskEvent {
  id: number;
  at: string;
  taskId: string;
  type: string;
  owner: string | null;
  kind: string;
  status: TaskStatus | null;
  attempt: number;
  runNo: number;
}

export interface StatsBucket {
  start: string;
  succeeded: number;
  failed: number;
  retrying: number;
}

export interface Stats {
  at: string;
  total: number;
  byStatus: Record<TaskStatus, number>;
  byType: Record<string, { total: number; byStatus: Partial<Record<TaskStatus, number>> }>;
  window: { from: string; bucketMs: number; buckets: StatsBucket[] };
  throughputPerMinute?: number;
  failureRate?: number | null;
  oldestQueuedAgeMs: number | null;
}

export interface NodeInfo {
  name: string;
  host: string;
  pid: number;
  version: string;
  startedAt: string;
  heartbeatAt: string;
  status: "online" | "draining" | "offline";
  types: string[];
  concurrency: number;
  running: number;
  cpuCapacity: number;
  cpuUsed: number;
  loadPerCore: number;
  memoryBytes: number;
  self?: boolean;
}

export type MissedPolicy = { policy: "skip" } | { policy: "catchUp"; window?: string | number; windowMs?: number };

export interface Schedule {
  name: string;
  cron: string;
  tz: string;
  type: string;
  params: unknown;
  options: unknown;
  missed: MissedPolicy;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
  lastTickAt: string | null;
  lastTaskId: string | null;
  lastTaskStatus: TaskStatus | null;
  nextFires: string[];
}
