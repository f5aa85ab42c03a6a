import type { Duration } from "./duration.js";
import type { StandardSchemaV1 } from "./standard-schema.js";
import type { LogLevel } from "./status.js";
import type { ParentOutcome, TaskErrorInfo, TaskProgress, TaskRow } from "./task-row.js";

/** Retry delay: a duration (exponential from that base), or the full spec. */
export type BackoffOption =
  | Duration
  | { type?: "fixed" | "exponential"; delay?: Duration; max?: Duration; jitter?: number };

/** Options a task type sets as defaults and each `add` may override. */
export interface TaskOptions {
  /** Smaller runs first. Integer, default 0. */
  priority?: number;
  /** Attempts before the task fails (counted at claim) [3]. */
  attempts?: number;
  /** Delay between attempts [exponential from 1s, max 1h, jitter 0.2]. */
  backoff?: BackoffOption;
  /** Longest one run may take; then `ctx.signal` aborts and the run ends `timed_out` [none]. */
  timeout?: Duration | null;
  /** CPU cost, 100 = one core, counted against the node's capacity [0]. */
  cpu?: number;
  /** Only the node of this name may run the task. */
  executor?: string | null;
  /** Most runs ever, across manual retries; guards against crash loops [100]. */
  maxRuns?: number;
  /** How long a finished task is kept before the pruner deletes it [7d]. */
  deleteAfter?: Duration;
}

/** A task added when another one ends (see `then` and `onFailure`). */
export interface FollowUp {
  type: string;
  params?: unknown;
  options?: FollowUpOptions;
}

/** The options of a follow-up: those of `add`, less the ones about a fixed time or a key. */
export type FollowUpOptions = Omit<AddOptions, "tx" | "key" | "runAt" | "deadline">;

/** At most `limit` starts in any window of `interval`. */
export interface RateLimit {
  limit: number;
  interval: Duration;
}

/** Options of one `add` call. */
export interface AddOptions extends TaskOptions {
  /** Run no earlier than this long from now. */
  delay?: Duration;
  /** Run no earlier than this time (Date, ISO string or epoch ms). */
  runAt?: Date | string | number;
  /** A task not started by then ends `expired` (Date, ISO string, epoch ms, or a duration from now). */
  deadline?: Date | string | number;
  /** Business key: while a task with this key is queued or running, `add` returns it instead. */
  key?: string;
  /** The submitting user. */
  owner?: string;
  /** A human title for this task. */
  name?: string;
  description?: string;
  /**
   * Flow-control group (a customer, a tenant, an API account): the type's cluster-wide
   * `concurrencyLimit.group` and `rateLimit.group` count per group, and the `fair` dispatch policy
   * takes turns across groups [the type's `group(params)`, else none].
   */
  group?: string;
  /** Added when this task succeeds, in the same transaction; each receives the result as `ctx.parent` [the type's `then`]. */
  then?: FollowUp[];
  /** Added when this task fails for good (not when it is cancelled or expires) [the type's `onFailure`]. */
  onFailure?: FollowUp[];
  /**
   * PostgreSQL: the application's open transaction (a `pg` client after BEGIN). The task is
   * stored inside it, so it exists if and only if that transaction commits; workers are woken at
   * commit. Events and `onAdd` fire when `add` returns, before the commit.
   */
  tx?: unknown;
}

export interface TaskLogger {
  debug(message: string, data?: unknown): void;
  info(message: string, data?: unknown): void;
  warn(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
}

/** What a handler receives. */
export interface TaskContext<P = unknown> {
  /** Validated params. */
  params: P;
  /** The task as claimed (status `running`). */
  task: TaskRow;
  /** 1-based attempt of this run. */
  attempt: number;
  /** Unique id of this run (`taskId#runNo`), stable across nothing else: use it for idempotency. */
  runId: string;
  /** Node running the task. */
  node: string;
  /** Aborts on cancel, timeout, shutdown and lost lease; `signal.reason` is a `TaskAbortedError`. */
  signal: AbortSignal;
  /** Reports progress; cheap to call often (writes are coalesced, the last value is always stored). */
  progress(current: number, total?: number | null, message?: string | null): void;
  /** Leveled log lines stored as events of this run. */
  log: TaskLogger;
  /** For a follow-up: the task whose end added it, with its result or error. Null otherwise. */
  parent: ParentOutcome | null;
}

/**
 * Where a handler runs: `none` on the node's own event loop (fastest; a handler that blocks or
 * crashes takes the node with it), `thread` in a pool of worker threads, `process` in a pool of
 * child processes. See docs/isolation.md.
 */
export type Isolation = "none" | "thread" | "process";

export const ISOLATION_MODES: readonly Isolation[] = ["none", "thread", "process"];

/** Bounds of `memoryLimitMb`. */
export const MIN_MEMORY_LIMIT_MB = 16;
export const MAX_MEMORY_LIMIT_MB = 65_536;
/** Longest `killAfter` (and `abortGraceMs`): a grace longer than this is a mistake. */
export const MAX_KILL_AFTER_MS = 10 * 60_000;

/** A task type: a name, a handler, and defaults for every per-task option. */
export interface TaskDefinition<P = any, R = unknown> extends TaskOptions {
  name: string;
  description?: string;
  /** Any Standard Schema (zod 4, valibot, arktype); params are validated at `add` time. */
  params?: StandardSchemaV1<unknown, P>;
  run(ctx: TaskContext<P>): Promise<R> | R;
  /**
   * Where the handler runs [the node's `isolation` option, itself "none" by default]. In `thread`
   * and `process` mode the runner imports the handler from `module`.
   */
  isolation?: Isolation;
  /**
   * The module that exports this definition (as its default export, in an array, or as a named
   * export), for isolated runs: pass `import.meta.url`. Task-folder files get it set when loaded.
   */
  module?: string;
  /** Isolated runs: heap limit of the runner, MB (16..65536); exceeding it fails the run [none]. */
  memoryLimitMb?: number;
  /**
   * After an abort (timeout, cancel, shutdown, lost lease), how long the handler may take to
   * stop before the run ends without it; an isolated runner is then terminated [the node's
   * `abortGraceMs`, 2s]. 0..10m.
   */
  killAfter?: Duration;
  /** Most tasks of this type running at once on one node [unlimited: the node limit applies]. */
  concurrency?: number;
  /** Most queued tasks of this type; `add` beyond it throws `QueueFullError` [unlimited]. */
  maxQueued?: number;
  /** The flow-control group of a task from its params (an `add` may set `group` itself). */
  group?: (params: P) => string | null | undefined;
  /**
   * Cluster-wide: most tasks of this type running at once on all nodes together (`type`), and
   * per group (`group`). Enforced in the claim, so racing nodes cannot exceed it. Every node that
   * runs the type must declare the same limits.
   */
  concurrencyLimit?: { type?: number; group?: number };
  /** Cluster-wide: most starts of this type (`type`), or per group (`group`), in any window of `interval`. */
  rateLimit?: { type?: RateLimit; group?: RateLimit };
  /** Follow-ups of every task of this type (an `add` may replace them). */
  then?: FollowUp[];
  onFailure?: FollowUp[];
  /** A cron schedule adding a task of this type, created or updated when the worker starts (named after the type unless `name` is set). */
  schedule?: TaskSchedule;
  /** Id of a new task of this type [a sortable unique id]. */
  idGenerator?: () => string;
  // The hooks run in the process where the change happened, after it was stored, and are not
  // awaited by it: a hook that throws or rejects emits `error` and never fails the task. For
  // what every node sees, read the task event log (`lane.followTaskEvents`).

  /** A task of this type was stored by `add`/`addMany` (not when a live task held its key). With `tx`, before that transaction commits. */
  onAdd?(task: TaskRow): void | Promise<void>;
  /** Coalesced progress of a run on this node was written (at most every `flushMs`). */
  onProgress?(task: TaskRow, progress: TaskProgress): void | Promise<void>;
  /** A run on this node returned and its success was committed; `result` is what the handler returned. */
  onSuccess?(task: TaskRow, result: R): void | Promise<void>;
  /**
   * A run failed. `willRetry`: the task is due again (it failed or timed out with attempts left);
   * false: it failed for good, also when a lost run was rescued without attempts left.
   */
  onError?(task: TaskRow, error: TaskErrorInfo, info: { willRetry: boolean }): void | Promise<void>;
}

/** A schedule declared with its task type (see `lane.schedule` for the fields). */
export interface TaskSchedule {
  cron: string;
  tz?: string;
  name?: string;
  params?: unknown;
  options?: ScheduleTaskOptions;
  missed?: MissedTickPolicy;
}

/** The options of a scheduled task: those of `add`, less the ones about a fixed time or a key. */
export type ScheduleTaskOptions = Omit<AddOptions, "tx" | "key" | "runAt" | "deadline" | "delay">;

/**
 * What to do with ticks that passed while no node was running: `skip` (default) fires once, for
 * the latest missed tick; `catchUp` fires every missed tick within `window` (oldest first, at
 * most 1,000).
 */
export type MissedTickPolicy = "skip" | { catchUp: Duration };

/** Declares a task type; the identity function that gives `run` typed params. */
export function defineTask<P = unknown, R = unknown>(definition: TaskDefinition<P, R>): TaskDefinition<P, R> {
  return definition;
}

export type { LogLevel };
