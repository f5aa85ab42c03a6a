import os from "node:os";
import { InvalidStateError, ScheduleNotFoundError, SqlTasksDisabledError, TaskNotFoundError, UnknownTaskTypeError, ValidationError } from "../model/errors.js";
import type { AddOptions, TaskDefinition } from "../model/options.js";
import { RETRYABLE_STATUSES, TASK_STATUSES, type TaskStatus } from "../model/status.js";
import type { EventRow, RunRow, TaskRow } from "../model/task-row.js";
import { openStore } from "../store/open-store.js";
import { refuseUnknownKeys } from "../model/suggest.js";
import { parseIsoDate } from "../model/iso-date.js";
import type { InsertOutcome, PruneReport, Store } from "../store/store.js";
import { resolveWorkerOptions, Worker, type WorkerOptions } from "../runtime/worker.js";
import type { IsolationStats } from "../runtime/isolation/isolated-invoker.js";
import type { Isolation } from "../model/options.js";
import { EventBus, type TasklaneEventName, type TasklaneEvents } from "./events.js";
import { readLogs, type LogsOptions } from "./log-stream.js";
import { buildNewTask, checkIsolatable, validateDefinition } from "./task-options.js";
import { CronTicker } from "../schedule/cron-ticker.js";
import { checkScheduleName, scheduleInfo, scheduledTask, toScheduleWrite, type ScheduleSpec } from "./schedules.js";
import type { ScheduleInfo, ScheduleTick } from "../model/schedule.js";
import { waitReason } from "./placement.js";
import { listQueues, setTypePaused, type QueueInfo } from "./queues.js";
import { AddBatcher } from "./add-batcher.js";
// ---- users, tokens, task event log, queries, stats and nodes (HTTP API) ----
import { followTaskEvents, listTaskEvents, type FollowTaskEventsOptions, type TaskEventRow, type TaskEventsOptions } from "./task-events.js";
import { listNodes, taskStats, type NodeInfo, type QueryOptions, type StatsOptions, type TaskStatsReport } from "./task-stats.js";
import { UserDirectory } from "./users.js";
import { assertNotSqlType, SQL_TASK_TYPE, sqlTaskDefinition } from "./sql-task.js";

export interface TasklaneOptions {
  /**
   * Database: SQLite as `sqlite:./tasklane.db` (default), `sqlite::memory:` or a path to a file;
   * PostgreSQL as `postgres://user@host:5432/db?schema=NAME`.
   */
  db?: string;
  /** An already-open store (tests, or sharing one between instances). */
  store?: Store;
  /** This node's name, unique in the cluster [`<hostname>-<pid>`]. */
  node?: string;
  /** SQLite durability of acknowledged writes: `full` (default, survives power loss) or `normal`. */
  synchronous?: "full" | "normal";
  /** Worker settings used by `start()`. */
  worker?: WorkerOptions;
  /** Task types to register right away. */
  tasks?: TaskDefinition[];
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
  /**
   * Refuse a database without Tasklane's tables, creating nothing [false]: a SQLite file that
   * does not exist or holds no Tasklane tables, a PostgreSQL schema that is missing or empty.
   */
  mustExist?: boolean;
  /** Fire cron schedules on this node while its worker runs [true]. Every node may; each tick fires once. */
  scheduler?: boolean;
  /**
   * Register the built-in `sql` task type, which runs one SQL statement on the task database
   * with its credentials [false]. Over HTTP only admins may add it.
   */
  sqlTasks?: boolean;
}

/** Every option of `Tasklane.open`, so a misspelt one is refused rather than ignored. */
const OPEN_OPTION_NAMES = Object.keys({
  db: true, store: true, node: true, synchronous: true, worker: true, tasks: true, migrate: true, mustExist: true, scheduler: true, sqlTasks: true,
} satisfies Record<keyof TasklaneOptions, true>);

export interface ListOptions {
  status?: TaskStatus | TaskStatus[];
  type?: string | string[];
  owner?: string;
  key?: string;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** Page size, 1..1000 [50]. */
  limit?: number;
  /** `desc` = newest first (default). */
  order?: "asc" | "desc";
  /** Created at or after this time (Date, ISO string or epoch ms). */
  createdFrom?: Date | string | number;
  /** Created before this time. */
  createdTo?: Date | string | number;
  /** Case-insensitive text matched literally against the id, key and name (at most 200 characters). */
  search?: string;
}

const LIST_OPTION_NAMES = Object.keys({
  status: true, type: true, owner: true, key: true, cursor: true, limit: true, order: true, createdFrom: true, createdTo: true, search: true,
} satisfies Record<keyof ListOptions, true>);

export interface AddManyItem {
  type: string;
  params?: unknown;
  options?: AddOptions;
}

/**
 * A Tasklane instance: the client API (add, get, list, cancel, …) and, after `start()`, the
 * worker of this node.
 */
export class Tasklane {
  readonly store: Store;
  readonly node: string;
  private readonly registry = new Map<string, TaskDefinition>();
  private readonly bus = new EventBus();
  private readonly workerOptions: WorkerOptions;
  private worker: Worker | null = null;
  private ticker: CronTicker | null = null;
  private unwatchSchedules: (() => void) | null = null;
  private readonly schedulerEnabled: boolean;
  private readonly addBatcher: AddBatcher;
  private readonly ownsStore: boolean;
  private closed = false;
  /** The built-in `sql` type is registered (`sqlTasks: true`). */
  readonly sqlTasksEnabled: boolean;

  private constructor(store: Store, ownsStore: boolean, options: TasklaneOptions) {
    this.store = store;
    this.ownsStore = ownsStore;
    this.addBatcher = new AddBatcher(store);
    this.node = options.node ?? `${os.hostname()}-${process.pid}`;
    this.workerOptions = options.worker ?? {};
    this.schedulerEnabled = options.scheduler ?? true;
    this.sqlTasksEnabled = options.sqlTasks === true;
    // Before the user's types, so one of those named `sql` is refused rather than replacing it.
    if (this.sqlTasksEnabled) this.registry.set(SQL_TASK_TYPE, sqlTaskDefinition(store));
    for (const def of options.tasks ?? []) this.register(def);
  }

  /** Opens the database (applying migrations) and returns a ready instance. */
  static async open(options: TasklaneOptions = {}): Promise<Tasklane> {
    refuseUnknownKeys("Tasklane.open", options, OPEN_OPTION_NAMES);
    // Worker options that cannot work are refused before a database is opened, not at start().
    resolveWorkerOptions(options.worker);
    if (options.store) return new Tasklane(options.store, false, options);
    const store = await openStore({
      db: options.db ?? "sqlite:./tasklane.db",
      synchronous: options.synchronous,
      migrate: options.migrate,
      mustExist: options.mustExist,
    });
    return new Tasklane(store, true, options);
  }

  // ---------------------------------------------------------------- types

  /** Registers task types; a name registered twice is replaced. */
  register(...definitions: TaskDefinition[]): this {
    for (const def of definitions) {
      if (this.sqlTasksEnabled && this.registry.get(SQL_TASK_TYPE) !== def) assertNotSqlType(def);
      validateDefinition(def);
      checkIsolatable(def, this.worker?.options.isolation ?? this.workerOptions.isolation ?? "none");
      this.registry.set(def.name, def);
    }
    this.worker?.notify();
    return this;
  }

  /** Registered task types, by name. */
  types(): TaskDefinition[] {
    return [...this.registry.values()];
  }

  private definition(type: string): TaskDefinition {
    const def = this.registry.get(type);
    if (!def && type === SQL_TASK_TYPE) throw new SqlTasksDisabledError();
    if (!def) throw new UnknownTaskTypeError(type, [...this.registry.keys()]);
    return def;
  }

  // ---------------------------------------------------------------- adding

  /**
   * Adds a task; returns once it is durable. With a `key` held by a live task, returns that
   * task instead; `addWithOutcome` also tells which happened (`created`).
   */
  async add(type: string, params?: unknown, options?: AddOptions): Promise<TaskRow> {
    return (await this.addWithOutcome(type, params, options)).task;
  }

  /** `add`, also telling whether the task was created or a live task holding the key was returned. */
  async addWithOutcome(type: string, params?: unknown, options?: AddOptions): Promise<{ task: TaskRow; created: boolean }> {
    const { tx, ...rest } = options ?? {};
    const [outcome] = await this.insert([{ type, params, options: rest }], { tx });
    return { task: outcome!.task, created: !outcome!.existing };
  }

  /**
   * Adds several tasks in one transaction: all or nothing. With `tx` (PostgreSQL), inside the
   * application's own transaction instead.
   */
  async addMany(items: AddManyItem[], options: { tx?: unknown } = {}): Promise<TaskRow[]> {
    return (await this.insert(items, options)).map((o) => o.task);
  }

  private async insert(items: AddManyItem[], options: { tx?: unknown }): Promise<InsertOutcome[]> {
    if (!Array.isArray(items)) throw new ValidationError("addMany", "addMany: expected an array of { type, params, options }");
    if (options.tx !== undefined && !this.store.capabilities.transactionalAdd) {
      throw new ValidationError("tx", `tx: transactional add needs a backend that supports it (PostgreSQL); this is ${this.store.dialect}`);
    }
    if (items.length === 0) return [];
    const now = await this.store.now();
    const records = [];
    const maxQueued = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      if (!item || typeof item.type !== "string") throw new ValidationError(`addMany[${i}].type`, `addMany[${i}].type: expected a task type name`);
      const def = this.definition(item.type);
      try {
        records.push(await buildNewTask(def, item.params, item.options, now, (t) => this.definition(t)));
      } catch (error) {
        if (error instanceof ValidationError && items.length > 1) {
          throw error.under(`addMany[${i}]`, `addMany[${i}] (${item.type})`);
        }
        throw error;
      }
      if (def.maxQueued !== undefined) maxQueued.set(def.name, def.maxQueued);
    }
    const outcomes =
      options.tx === undefined
        ? await this.addBatcher.insert(records, { maxQueued })
        : await this.store.taskInsertMany(records, { maxQueued }, { tx: options.tx });
    for (const { task, existing } of outcomes) {
      if (existing) continue;
      this.bus.emit("task:added", { task });
      const hook = this.registry.get(task.type)?.onAdd;
      if (hook) {
        Promise.resolve()
          .then(() => hook(task))
          .catch((error: Error) => this.bus.emit("error", { error, where: `onAdd of ${task.type}` }));
      }
    }
    if (this.worker) {
      this.worker.notify();
      for (const { task } of outcomes) if (task.status === "scheduled") this.worker.wakeAt(task.runAt.getTime());
    }
    return outcomes;
  }

  // ---------------------------------------------------------------- reading

  /** The task, or null if there is none with this id. */
  async get(id: string): Promise<TaskRow | null> {
    checkId(id);
    const task = await this.store.taskGet(id);
    if (task && (task.status === "queued" || task.status === "scheduled")) {
      const [nodes, paused] = await Promise.all([this.store.nodeList(), this.pausedTypeSet()]);
      task.waitReason = waitReason(task, nodes, paused);
    }
    return task;
  }


  /** Tasks matching the filter, newest first, one page at a time (keyset pagination). */
  async list(options: ListOptions = {}): Promise<{ tasks: TaskRow[]; nextCursor: string | null }> {
    refuseUnknownKeys("list", options, LIST_OPTION_NAMES);
    const status = options.status === undefined ? undefined : ([] as TaskStatus[]).concat(options.status);
    for (const s of status ?? []) {
      if (!TASK_STATUSES.includes(s)) throw new ValidationError("status", `status: "${s}" is not one of ${TASK_STATUSES.join(", ")}`);
    }
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError("limit", `limit: must be an integer from 1 to 1000, got ${limit}`);
    if (options.order !== undefined && options.order !== "asc" && options.order !== "desc") {
      throw new ValidationError("order", `order: must be "asc" or "desc"`);
    }
    if (options.search !== undefined && (typeof options.search !== "string" || options.search.length > 200)) {
      throw new ValidationError("search", "search: at most 200 characters");
    }
    const page = await this.store.taskQuery({
      status,
      type: options.type === undefined ? undefined : ([] as string[]).concat(options.type),
      owner: options.owner,
      key: options.key,
      cursor: options.cursor,
      limit,
      order: options.order,
      createdFrom: options.createdFrom === undefined ? undefined : instantOf(options.createdFrom, "createdFrom"),
      createdTo: options.createdTo === undefined ? undefined : instantOf(options.createdTo, "createdTo"),
      search: options.search,
    });
    if (page.tasks.some((t) => t.status === "queued" || t.status === "scheduled")) {
      const [nodes, paused] = await Promise.all([this.store.nodeList(), this.pausedTypeSet()]);
      for (const task of page.tasks) task.waitReason = waitReason(task, nodes, paused);
    }
    return page;
  }

  private async pausedTypeSet(): Promise<Set<string>> {
    return new Set((await this.store.typePausedList()).map((p) => p.type));
  }

  /** Counts by status and type. */
  async counts(): Promise<Array<{ status: TaskStatus; type: string; count: number }>> {
    return this.store.taskCount();
  }

  /** The runs (attempts) of a task, oldest first. */
  async runs(id: string): Promise<RunRow[]> {
    await this.mustGet(id);
    return this.store.runList(id);
  }

  /** The task's log lines; with `follow`, keeps yielding until the task is final. */
  async *logs(id: string, options: LogsOptions = {}): AsyncGenerator<EventRow> {
    await this.mustGet(id);
    yield* readLogs(this.store, id, options, (wake) => {
      const offs = (["task:succeeded", "task:failed", "task:cancelled", "task:expired", "task:progress"] as const).map((e) =>
        this.bus.on(e, (p) => {
          if (p.task.id === id) wake();
        }),
      );
      return () => offs.forEach((off) => off());
    });
  }

  // ---------------------------------------------------------------- control

  /** Queued → cancelled at once; running → its `ctx.signal` aborts and it ends cancelled. */
  async cancel(id: string): Promise<TaskRow> {
    checkId(id);
    const outcome = await this.store.taskCancel(id);
    if (!outcome) throw new TaskNotFoundError(id);
    const { task, applied } = outcome;
    if (!applied) {
      if (task.status === "cancelled") return task; // cancelling twice is harmless
      throw new InvalidStateError(`task ${id} is ${task.status}; only queued, scheduled or running tasks can be cancelled`);
    }
    if (task.status === "cancelled") this.bus.emit("task:cancelled", { task });
    else {
      this.bus.emit("task:cancel-requested", { task });
      this.worker?.abortLocal(id, "cancelled");
    }
    return task;
  }

  /** A failed, cancelled or expired task is queued again with its attempts reset. */
  async retry(id: string): Promise<TaskRow> {
    checkId(id);
    const outcome = await this.store.taskRetry(id);
    if (!outcome) throw new TaskNotFoundError(id);
    const { task, applied } = outcome;
    if (!applied) {
      if (task.runCount >= task.maxRuns && RETRYABLE_STATUSES.includes(task.status)) {
        throw new InvalidStateError(`task ${id} has used all ${task.maxRuns} runs (maxRuns); it cannot be retried`);
      }
      throw new InvalidStateError(`task ${id} is ${task.status}; only failed, cancelled or expired tasks can be retried`);
    }
    this.bus.emit("task:retried", { task });
    this.worker?.notify();
    return task;
  }

  /** Deletes a task that is not running, with its runs and logs. */
  async delete(id: string): Promise<void> {
    checkId(id);
    const outcome = await this.store.taskDelete(id);
    if (outcome === "not-found") throw new TaskNotFoundError(id);
    if (outcome === "running") throw new InvalidStateError(`task ${id} is running; cancel it first`);
    this.bus.emit("task:deleted", { id });
  }

  /** Deletes finished tasks past `deleteAfter` and runs beyond the per-task cap now. */
  async prune(): Promise<PruneReport> {
    const keep = resolveWorkerOptions(this.workerOptions).keepRunsPerTask;
    return this.store.prune({ keepRunsPerTask: keep, batchSize: 1000 });
  }

  // ---------------------------------------------------------------- events

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends TasklaneEventName>(event: E, listener: (payload: TasklaneEvents[E]) => void): () => void {
    return this.bus.on(event, listener);
  }

  // ---------------------------------------------------------------- worker

  /** Starts this node's worker (claims and runs tasks of the registered types). */
  async start(options: WorkerOptions = {}): Promise<void> {
    if (this.closed) throw new InvalidStateError("this Tasklane instance is closed");
    if (this.worker?.isRunning) return;
    const resolved = resolveWorkerOptions({ ...this.workerOptions, ...options });
    for (const def of this.registry.values()) checkIsolatable(def, resolved.isolation);
    // Schedules declared with their task types are created (or updated) before anything runs.
    for (const def of this.registry.values()) {
      if (!def.schedule) continue;
      const { name, ...spec } = def.schedule;
      await this.schedule(name ?? def.name, { ...spec, type: def.name });
    }
    this.worker = new Worker(this.store, this.registry, this.bus, this.node, resolved);
    await this.worker.start();
    if (this.schedulerEnabled) {
      this.cronTicker().start();
      // Schedule changes announced by other nodes (PostgreSQL); after a reconnect ("any"), one
      // look in case an announcement was missed. SQLite's "any" (every commit elsewhere) is no
      // such sign: its ticker keeps its one-second look instead.
      const announced = this.store.capabilities.dueTimeNotification;
      this.unwatchSchedules =
        this.store.watchChanges?.((hint) => {
          if (hint === "schedules" || (announced && hint === "any")) this.ticker?.poke();
        }) ?? null;
    }
  }

  // ---------------------------------------------------------------- queues

  /**
   * One row per task type: counts by status, finishes in the last minute and hour, the oldest
   * queued task's age, running against the most that can run, and whether it is paused.
   */
  async queues(): Promise<QueueInfo[]> {
    return listQueues(this.store, this.registry);
  }

  /**
   * Pauses a task type on every node, durably: no node claims its tasks until `resumeType`
   * (runs already claimed go on; `add` still accepts it, and its waiting tasks say why). A type
   * that no task, node or definition names is refused (`TypeNotFoundError`).
   */
  async pauseType(type: string): Promise<QueueInfo> {
    return setTypePaused(this.store, this.registry, type, true);
  }

  /** Resumes a paused task type: every node claims its tasks again. */
  async resumeType(type: string): Promise<QueueInfo> {
    const queue = await setTypePaused(this.store, this.registry, type, false);
    this.worker?.notify();
    return queue;
  }

  // ---------------------------------------------------------------- schedules

  private cronTicker(): CronTicker {
    this.ticker ??= new CronTicker(this.store, {
      buildTask: async (schedule, tickAt) => {
        const def = this.registry.get(schedule.type);
        return def ? scheduledTask(schedule, def, (t) => this.definition(t), tickAt) : null;
      },
      onFired: (task, schedule, tickAt) => {
        this.bus.emit("task:added", { task });
        this.bus.emit("schedule:fired", { schedule, tickAt: new Date(tickAt), task });
        this.worker?.notify();
      },
      onError: (error, schedule) => this.bus.emit("error", { error, where: schedule ? `schedule ${schedule}` : "firing schedules" }),
    });
    return this.ticker;
  }

  /**
   * Creates or updates a cron schedule: at each tick, one task of `spec.type` with `spec.params`
   * is added, across all nodes together. Everything is validated first (cron, zone, type, params,
   * options); nothing is stored on a bad spec. A new or changed cron counts ticks from now.
   */
  async schedule(name: string, spec: ScheduleSpec): Promise<ScheduleInfo> {
    const now = await this.store.now();
    const write = await toScheduleWrite(name, spec, (t) => this.definition(t), now);
    const row = await this.store.scheduleUpsert(write);
    this.ticker?.poke();
    return scheduleInfo(this.store, row, now);
  }

  /** Deletes a schedule (its tasks stay); false if there was none. */
  async unschedule(name: string): Promise<boolean> {
    checkScheduleName(name);
    const deleted = await this.store.scheduleDelete(name);
    this.ticker?.poke();
    return deleted;
  }

  /** Stops a schedule firing until `resumeSchedule` (its type's tasks still run: see `pauseType`). */
  async pauseSchedule(name: string): Promise<ScheduleInfo> {
    return this.setSchedulePaused(name, true);
  }

  /** Resumes a paused schedule; ticks that passed while it was paused do not fire. */
  async resumeSchedule(name: string): Promise<ScheduleInfo> {
    return this.setSchedulePaused(name, false);
  }

  private async setSchedulePaused(name: string, paused: boolean): Promise<ScheduleInfo> {
    checkScheduleName(name);
    const row = await this.store.schedulePause(name, paused);
    if (!row) throw new ScheduleNotFoundError(name);
    this.ticker?.poke();
    return scheduleInfo(this.store, row, await this.store.now());
  }

  /** Adds the schedule's task now, outside the cron (also when paused); returns it. */
  async trigger(name: string): Promise<TaskRow> {
    checkScheduleName(name);
    const row = await this.store.scheduleGet(name);
    if (!row) throw new ScheduleNotFoundError(name);
    // Through `add`'s own path: the type's maxQueued, onAdd hook and events apply as to any add.
    const [outcome] = await this.insert([{ type: row.type, params: row.params, options: { name: row.name, ...row.options } }], {});
    const task = outcome!.task;
    await this.store.scheduleNoteTask(name, task.id);
    return task;
  }

  /** Every schedule, by name, with its next three fire times. */
  async schedules(): Promise<ScheduleInfo[]> {
    const now = await this.store.now();
    return Promise.all((await this.store.scheduleList()).map((row) => scheduleInfo(this.store, row, now)));
  }

  /** One schedule, or null. */
  async getSchedule(name: string): Promise<ScheduleInfo | null> {
    checkScheduleName(name);
    const row = await this.store.scheduleGet(name);
    return row ? scheduleInfo(this.store, row, await this.store.now()) : null;
  }

  /** The latest fired ticks of a schedule (tick time and task id), newest first. */
  async scheduleTicks(name: string, limit = 20): Promise<ScheduleTick[]> {
    checkScheduleName(name);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError("limit", "limit: must be an integer from 1 to 1000");
    return this.store.scheduleTicks(name, limit);
  }

  /**
   * Fires due ticks as of `now` (epoch ms) on this node, as the scheduler does every second.
   * For tests and tools: lets a test walk a schedule through a daylight-saving change.
   */
  async fireDueSchedules(now: number): Promise<void> {
    await this.cronTicker().fireDue(now);
  }

  /** Worker state, or null if not started. */
  workerState(): {
    running: number;
    concurrency: number;
    leaseRenewal: "thread" | "main-thread";
    /** The node's default isolation, and its runner pools (all modes, and per mode). */
    isolation: Isolation;
    pools: IsolationStats;
  } | null {
    if (!this.worker?.isRunning) return null;
    return {
      running: this.worker.running.size,
      concurrency: this.worker.options.concurrency,
      leaseRenewal: this.worker.leaseRenewalMode,
      isolation: this.worker.options.isolation,
      pools: this.worker.isolationStats(),
    };
  }

  /**
   * Stops the worker: no new claims, running tasks get `graceMs` to finish, the rest are
   * aborted and released to the queue at once (the released run does not count as a failure).
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.unwatchSchedules?.();
    this.unwatchSchedules = null;
    await this.ticker?.stop();
    await this.worker?.stop(options.graceMs ?? 10_000);
  }

  /** Stops the worker (if started) and closes the database. */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    await this.stop(options);
    this.closed = true;
    if (this.ownsStore) await this.store.close();
  }

  // ---- users, tokens, task event log, queries, stats and nodes (HTTP API) ----

  private userDirectory: UserDirectory | null = null;

  /** Users and API tokens (`tasklane user …`, the HTTP API's auth). */
  get users(): UserDirectory {
    this.userDirectory ??= new UserDirectory(this.store);
    return this.userDirectory;
  }

  /** The same as `list` (which takes the created-time range and text search too). */
  async query(options: QueryOptions = {}): Promise<{ tasks: TaskRow[]; nextCursor: string | null }> {
    return this.list(options);
  }

  /** Counts by status and type, throughput and failures per minute over the last hour, oldest queued age. */
  async stats(options: StatsOptions = {}): Promise<TaskStatsReport> {
    return taskStats(this, options);
  }

  /** One page of the durable task event log (every task state change), oldest first. */
  async taskEvents(options: TaskEventsOptions = {}): Promise<TaskEventRow[]> {
    return listTaskEvents(this, options);
  }

  /** Follows the task event log from `after` (default: now) until `signal` aborts; resumable by event id. */
  followTaskEvents(options: FollowTaskEventsOptions = {}): AsyncGenerator<TaskEventRow> {
    return followTaskEvents(this, options);
  }

  /** Deletes task event log rows older than `olderThanMs`; returns how many. */
  async pruneTaskEvents(olderThanMs: number): Promise<number> {
    const store = this.store;
    return store.taskEventPrune({ before: (await store.now()) - olderThanMs, batchSize: 5000 });
  }

  /** The nodes of the cluster (every process that ran a worker on this database), newest heartbeat first. */
  async nodes(): Promise<NodeInfo[]> {
    return listNodes(this);
  }

  // ---- end of users, tokens, task event log, queries, stats and nodes ----

  private async mustGet(id: string): Promise<TaskRow> {
    checkId(id);
    const task = await this.store.taskGet(id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }
}

function instantOf(value: Date | string | number, field: string): number {
  if (typeof value === "string") {
    const date = parseIsoDate(value);
    if ("error" in date) throw new ValidationError(field, `${field}: "${value.slice(0, 100)}" ${date.error}`);
    return date.ms;
  }
  const t = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(t)) throw new ValidationError(field, `${field}: expected a date-time (ISO string or epoch ms)`);
  return t;
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > 200) throw new ValidationError("id", "id: expected a task id");
}
