/**
 * Tasklane: durable background tasks for TypeScript and Node.js.
 * Explicit named exports only; see docs/api.md.
 */
export { Tasklane } from "./client/tasklane.js";
export type { TasklaneOptions, ListOptions, AddManyItem } from "./client/tasklane.js";
export type { LogsOptions } from "./client/log-stream.js";
export type { TasklaneEvents, TasklaneEventName } from "./client/events.js";
export { defineTask, ISOLATION_MODES } from "./model/options.js";
export type {
  AddOptions,
  Isolation,
  BackoffOption,
  FollowUp,
  FollowUpOptions,
  MissedTickPolicy,
  RateLimit,
  ScheduleTaskOptions,
  TaskContext,
  TaskDefinition,
  TaskLogger,
  TaskOptions,
  TaskSchedule,
} from "./model/options.js";
export type { ScheduleInfo, ScheduleRow, ScheduleTick, StoredMissedPolicy } from "./model/schedule.js";
export type { ScheduleSpec } from "./client/schedules.js";
export type { QueueInfo } from "./client/queues.js";
export type { BackoffSpec, EventRow, ParentOutcome, RunRow, StoredFollowUp, TaskErrorInfo, TaskProgress, TaskRow } from "./model/task-row.js";
export { TASK_STATUSES, RUN_OUTCOMES, LOG_LEVELS, FINAL_STATUSES, isFinalStatus } from "./model/status.js";
export type { TaskStatus, RunOutcome, LogLevel } from "./model/status.js";
export type { Duration } from "./model/duration.js";
export { parseDuration, formatDuration } from "./model/duration.js";
export type { DispatchOrder, WorkerOptions } from "./runtime/worker.js";
export type { IsolationStats } from "./runtime/isolation/isolated-invoker.js";
export type { PoolStats } from "./runtime/isolation/pool.js";
export { MAX_ERROR_TEXT, DEFAULT_MAX_RESULT_BYTES } from "./runtime/bounds.js";
export type { NodeRow, NodeStatus } from "./model/node-row.js";
export type { OverloadOptions } from "./runtime/load-guard.js";
export type { StandardSchemaV1 } from "./model/standard-schema.js";
export {
  TasklaneError,
  ValidationError,
  ParamsValidationError,
  UnknownTaskTypeError,
  TaskNotFoundError,
  QueueFullError,
  InvalidStateError,
  KeyConflictError,
  ConfigError,
  NonRetryableError,
  TaskAbortedError,
  SqlTasksDisabledError,
  ScheduleNotFoundError,
  TypeNotFoundError,
  UserExistsError,
  UserNotFoundError,
} from "./model/errors.js";
export type { AbortCause, ParamsIssue } from "./model/errors.js";
export { SQL_TASK_TYPE } from "./client/sql-task.js";
export type { SqlTaskParams, SqlTaskResult } from "./client/sql-task.js";
// ---- users, tokens, task event log, stats and the HTTP API ----
export { UserDirectory } from "./client/users.js";
export type { ApiTokenInfo, IssuedToken } from "./client/users.js";
export type { FollowTaskEventsOptions, TaskEventsOptions, TaskEventKind, TaskEventRow } from "./client/task-events.js";
export type { NodeInfo, QueryOptions, StatsBucket, StatsOptions, TaskStatsReport } from "./client/task-stats.js";
export type { UserRole, UserRow } from "./store/store.js";
export { createHttpApp, serveHttp } from "./server/index.js";
export type { HttpAppOptions, HttpServer, ServeHttpOptions } from "./server/index.js";
