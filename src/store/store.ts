import type { LogLevel, RunOutcome, TaskStatus } from "../model/status.js";
import type { BackoffSpec, EventRow, RunRow, StoredFollowUp, TaskErrorInfo, TaskRow } from "../model/task-row.js";
import type { ScheduleRow, ScheduleWrite, ScheduleFire, ScheduleFired, ScheduleTick } from "../model/schedule.js";
import type { NodeHeartbeat, NodeRow } from "../model/node-row.js";

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
  watchChanges?(onChange: ChangeWatcher): () => void;
  /** Refreshes the query planner's statistics when much has changed; optional (engines that need it). */
  analyzeIfStale?(): Promise<boolean>;

  /**
   * Inserts tasks in one transaction, all or nothing. A task whose `key` is held by a live task
   * yields that task with `existing: true` instead. A type over its `maxQueued` throws
   * `QueueFullError` and nothing is stored.
   */
  taskInsertMany(tasks: NewTask[], limits: InsertLimits, options?: InsertOptions): Promise<InsertOutcome[]>;
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
   * `taskFinishMany`, then `taskClaim` to refill the slots those finishes free, in as few round
   * trips as the engine allows (SQLite: one transaction). Never claims unless the finishes were
   * written. A failed claim after written finishes is returned as `claimError`, not thrown, so
   * the finishes are not mistaken for unwritten.
   */
  taskFinishAndClaim(
    finishes: RunFinish[],
    claim: ClaimRequest,
  ): Promise<{ applied: FinishApplied[]; claimed: TaskRow[]; claimError?: Error }>;

  /** Queued → cancelled at once; running → cancel requested (the running node aborts it). */
  taskCancel(id: string): Promise<{ task: TaskRow; applied: boolean } | null>;
  /** failed/cancelled/expired → queued with attempts reset (not past maxRuns). Null if not found. */
  taskRetry(id: string): Promise<{ task: TaskRow; applied: boolean } | null>;
  /** Deletes a task that is not running, with its runs and events. */
  taskDelete(id: string): Promise<"deleted" | "running" | "not-found">;

  runList(taskId: string): Promise<RunRow[]>;
  eventList(taskId: string, options: { afterId?: number; limit?: number }): Promise<EventRow[]>;

  /**
   * Re-queues (or fails, when out of attempts/runs) tasks whose lease expired: run outcome
   * `offline`. Also tells when the next lease still held expires, so a caller can sleep until then.
   */
  taskRescueExpired(): Promise<RescueOutcome>;
  /** On start: re-queues this node's leftover runs at once, without waiting for lease expiry. */
  taskRescueNode(node: string): Promise<TaskRow[]>;
  /** Queued tasks past their deadline → `expired`. */
  taskExpireOverdue(): Promise<TaskRow[]>;
  /** Deletes finished tasks past `deleteAt` and runs beyond the per-task cap, in bounded batches. */
  prune(options: PruneOptions): Promise<PruneReport>;

  // ---- nodes (cluster membership) ----
  /** Records a node's heartbeat (insert or update), stamped with the store clock. */
  nodeHeartbeat(node: NodeHeartbeat): Promise<void>;
  /** Every node seen, newest heartbeat first. */
  nodeList(): Promise<NodeRow[]>;
  /** Marks nodes `offline` whose last heartbeat is older than `staleMs`; returns those it marked. */
  nodeMarkStale(staleMs: number): Promise<NodeRow[]>;
  /** Deletes nodes offline for longer than `olderThanMs`. */
  nodePrune(olderThanMs: number): Promise<number>;

  // ---- users, tokens, task event log, queries and stats (HTTP API) ----
  // Every backend implements them (test/store/conformance-users.ts runs on each).

  /** Inserts a user; null (and nothing changed) when the name is taken. `createdAt` by the store clock. */
  userInsert(user: NewUser): Promise<UserRow | null>;
  userGet(name: string): Promise<UserRow | null>;
  /** All users, by name. */
  userList(): Promise<UserRow[]>;
  userCount(): Promise<number>;
  /** Deletes the user and every token of it in one transaction; false if there was no such user. */
  userDelete(name: string): Promise<boolean>;
  /** Stores a token (its hash only) for an existing user; null when the user does not exist. */
  tokenInsert(token: NewApiToken): Promise<ApiTokenRow | null>;
  /** The token with this id and its user; null when either does not exist (revoked tokens are returned, with `revokedAt`). */
  tokenGet(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | null>;
  /** Tokens of a user, oldest first (hashes included; callers never show them). */
  tokenList(userName: string): Promise<ApiTokenRow[]>;
  /** Sets `revokedAt` (store clock) on the matching unrevoked tokens; returns how many. */
  tokenRevoke(match: { id: string } | { userName: string }): Promise<number>;

  /**
   * The task event log: one row per task state change, written in the same transaction as the
   * change (so it is durable exactly when the change is, from any process). Ids are strictly
   * increasing in commit order: a reader that has seen id N never later finds a new row <= N.
   */
  taskEventList(filter: TaskEventFilter): Promise<TaskEventRow[]>;
  /** The highest task event id (0 when the log is empty). */
  taskEventLastId(): Promise<number>;
  /** Deletes task events older than `before` (epoch ms), at most `batchSize` per statement; returns how many. */
  taskEventPrune(options: { before: number; batchSize: number }): Promise<number>;
  /** `taskList` plus a created-time range and a text search over id, key and name. */
  taskQuery(query: TaskQuery): Promise<TaskPage>;
  /** Counts, finished runs per time bucket since `since`, and the oldest due queued task; all for one owner or everyone. */
  taskStats(query: TaskStatsQuery): Promise<TaskStats>;

  // ---- task types: pause and activity (the queues page) ----

  /**
   * Pauses (`true`) or resumes a task type, durably and for every node: from the moment this
   * returns, no claim on this database takes a task of a paused type (runs already claimed go on;
   * adds are accepted). Returns false when it was already in that state.
   */
  typePause(type: string, paused: boolean): Promise<boolean>;
  /** The paused types, by name. */
  typePausedList(): Promise<PausedType[]>;
  /** Per type with recent finishes or due queued tasks: finishes in the last minute and hour, the oldest due queued task. */
  typeActivity(): Promise<TypeActivity>;

  // ---- schedules ----

  /** Creates or replaces a schedule; a changed cron, zone or policy (or a new schedule) counts ticks from now. */
  scheduleUpsert(schedule: ScheduleWrite): Promise<ScheduleRow>;
  scheduleGet(name: string): Promise<ScheduleRow | null>;
  /** Every schedule, by name. */
  scheduleList(): Promise<ScheduleRow[]>;
  /** Deletes the schedule and its tick records; false if there was none. */
  scheduleDelete(name: string): Promise<boolean>;
  /** Pauses or resumes; a resumed schedule counts ticks from now (ticks while paused never fire). Null if none. */
  schedulePause(name: string, paused: boolean): Promise<ScheduleRow | null>;
  /**
   * Fires ticks: for each, in one transaction, a `(schedule, tick)` row under a unique index and
   * the task, so a tick fires once across any number of nodes. A tick at or before the
   * schedule's last fired tick, or of a paused or deleted schedule, is not fired (`task: null`).
   */
  scheduleFire(fires: ScheduleFire[]): Promise<ScheduleFired[]>;
  /** Records a task added by hand for the schedule (`trigger`) as its latest task. */
  scheduleNoteTask(name: string, taskId: string): Promise<void>;
  /** The most recent fired ticks of a schedule, newest first. */
  scheduleTicks(name: string, limit: number): Promise<ScheduleTick[]>;
  /** Deletes tick records older than `before` (epoch ms), keeping each schedule's latest; returns how many. */
  scheduleTickPrune(before: number): Promise<number>;
  /** Deletes expired rate-limit start records; returns how many. */
  flowStartPrune(): Promise<number>;

  // ---- the built-in `sql` task type ----

  /**
   * Runs ONE statement with bound parameters in its own durable transaction against the task
   * database (unqualified names resolve to Tasklane's own tables), committed if it succeeds and
   * rolled back if it throws. A query returns at most `rowLimit` rows, `truncated` when there
   * were more; a write returns its affected row count. Bad SQL rejects with the database's
   * message. Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …) is refused.
   */
  sqlRun(statement: string, params: unknown[], options: SqlRunOptions): Promise<SqlRunResult>;
}

export interface StoreCapabilities {
  /** Several processes may share the database. */
  multiProcess: boolean;
  /** Transactional enqueue inside the application's own transaction. */
  transactionalAdd: boolean;
  /** Cross-process wake-up (LISTEN/NOTIFY or a cheap change counter). */
  changeNotification: boolean;
  /** `watchChanges` reports cancel requests as such (hint `cancel`): a running task is stopped at once, not at the next heartbeat. */
  cancelNotification: boolean;
  /**
   * `watchChanges` tells the due time of work added for later (`dueAt`) and announces schedule
   * changes (hint `schedules`): an idle node can sleep on timers instead of polling every second.
   */
  dueTimeNotification: boolean;
  /** A claim is a network round trip (not a local call): worth claiming ahead of free slots. */
  roundTripClaims: boolean;
}

/** What a change notification is about: new or re-queued work, a cancel request, a schedule change, a type paused or resumed, or unknown (any commit). */
export type ChangeHint = "work" | "cancel" | "schedules" | "types" | "any";

/**
 * Receives change notifications; `dueAt` (store clock, epoch ms): the work is due then, not now;
 * `types`: the new work is of these types only (absent: of any type).
 */
export type ChangeWatcher = (hint: ChangeHint, dueAt?: number, types?: readonly string[]) => void;

/** Serialisable description of a store, opened again inside a worker thread. */
export type StoreThreadConfig =
  | { dialect: "sqlite"; path: string; busyTimeoutMs: number }
  | { dialect: "postgres"; url: string; schema: string; pooler: "transaction" | null; directUrl: string };

export interface InsertOptions {
  /**
   * The application's open transaction (a `pg` client inside BEGIN): the tasks exist if and only
   * if it commits. Only for stores with `capabilities.transactionalAdd`.
   */
  tx?: unknown;
}

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
  /** Flow-control group. */
  group: string | null;
  /** Follow-ups, added by the store when the task ends (null: none). */
  followUps: StoredFollowUp[] | null;
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
  /** Types this node can run now, with the free per-type slots and cluster-wide limits. */
  types: ClaimType[];
  limit: number;
  /** CPU units still free on this node, and the node's capacity (a task's cost is capped at it). */
  cpuFree: number;
  cpuCapacity: number;
  leaseMs: number;
  /** Claim order [priority]. */
  policy?: DispatchPolicy;
}

/**
 * The claim order. `priority`: priority, then due time, then id. `fifo`: due time, then id.
 * `fair`: turns across fairness keys (the task's group, else its owner), each key's tasks in
 * priority order. `agingMs` (the priority policy only; fair turns ignore it): a task's priority
 * improves by 1 for every `agingMs` it has been due, so a low-priority task is eventually taken.
 */
export interface DispatchPolicy {
  order: "priority" | "fifo" | "fair";
  agingMs: number | null;
}

/** Cluster-wide limits of a task type, checked in the claim (see `TaskDefinition.concurrencyLimit`). */
export interface FlowLimits {
  typeConcurrency?: number;
  groupConcurrency?: number;
  typeRate?: { limit: number; intervalMs: number };
  groupRate?: { limit: number; intervalMs: number };
}

export interface ClaimType {
  type: string;
  /** Free per-type slots on this node (Infinity = no per-type limit). */
  slots: number;
  flow?: FlowLimits;
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
  /** Next task status: final, or `queued` to retry `retryDelayMs` from now by the store's clock. */
  next: "succeeded" | "failed" | "cancelled" | "queued";
  retryDelayMs?: number;
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

export interface RescueOutcome {
  tasks: TaskRow[];
  /** The earliest lease expiry among runs still running (store clock, epoch ms); null when none run. */
  nextExpiryAt: number | null;
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

// ---- users, tokens, task event log, queries and stats (HTTP API) ----

export type UserRole = "admin" | "user";

export interface NewUser {
  name: string;
  role: UserRole;
}

export interface UserRow {
  name: string;
  role: UserRole;
  createdAt: Date;
}

export interface NewApiToken {
  /** Public part of the token, unique. */
  id: string;
  userName: string;
  /** Hex SHA-256 of the secret part; the secret itself is never stored. */
  hash: string;
  label: string | null;
}

export interface ApiTokenRow {
  id: string;
  userName: string;
  hash: string;
  label: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

/** What a task event log row records. */
export type TaskEventKind =
  | "added"
  | "started"
  | "succeeded"
  | "failed"
  | "retrying"
  | "rescued"
  | "released"
  | "retried"
  | "cancelled"
  | "cancel-requested"
  | "expired"
  | "deleted";

export interface TaskEventRow {
  /** Position in the log; strictly increasing in commit order. */
  id: number;
  at: Date;
  taskId: string;
  type: string;
  owner: string | null;
  kind: TaskEventKind;
  /** The task's status after the change (`scheduled` for a queued task due later). */
  status: TaskStatus;
  attempt: number;
  runNo: number;
}

export interface TaskEventFilter {
  /** Rows with id greater than this. */
  afterId: number;
  /** Only events of tasks of this owner. */
  owner?: string;
  limit: number;
}

export interface TaskQuery extends TaskListFilter {
  /** Created at or after (epoch ms). */
  createdFrom?: number;
  /** Created before (epoch ms). */
  createdTo?: number;
  /** Case-insensitive substring of the id, key or name. */
  search?: string;
}

export interface TaskStatsQuery {
  owner?: string;
  /** Start of the bucketed window (epoch ms). */
  since: number;
  /** Bucket width, ms (60000 = per minute). */
  bucketMs: number;
}

export interface TaskStats {
  counts: Array<{ status: TaskStatus; type: string; count: number }>;
  /** Non-empty buckets only, oldest first: `start` = since + k * bucketMs; tasks that succeeded, failed for good, failed a run and will retry. */
  buckets: Array<{ start: number; succeeded: number; failed: number; retrying: number }>;
  /** Due time of the oldest task waiting to run (status queued, due), or null. */
  oldestQueuedAt: number | null;
  /** The store clock when the stats were taken. */
  now: number;
}


export interface PausedType {
  type: string;
  pausedAt: Date;
}

export interface TypeActivityRow {
  type: string;
  /** Tasks that succeeded / failed for good in the last minute and the last hour (store clock). */
  succeededLastMinute: number;
  failedLastMinute: number;
  succeededLastHour: number;
  failedLastHour: number;
  /** Due time of the type's oldest task waiting to run (queued and due), or null. */
  oldestQueuedAt: number | null;
}

export interface TypeActivity {
  types: TypeActivityRow[];
  /** The store clock when the figures were taken. */
  now: number;
}

// ---- the built-in `sql` task type ----

export interface SqlRunOptions {
  /** Most rows returned by a query (1..10,000 in the `sql` type). */
  rowLimit: number;
  /** Statement timeout, ms (PostgreSQL `statement_timeout`; SQLite cannot interrupt one and ignores it). Null/absent = none. */
  timeoutMs?: number | null;
  /** Aborting it cancels the statement on the server (PostgreSQL; SQLite cannot interrupt one and ignores it). */
  signal?: AbortSignal;
}

export interface SqlRunResult {
  /** Rows changed by a write; for a query, rows returned (at most `rowLimit`; see `truncated`). */
  rowCount: number;
  /** The first `rowLimit` rows (empty for a write without RETURNING). */
  rows: Record<string, unknown>[];
  /** True when the query had more rows than `rowLimit`. */
  truncated: boolean;
}
