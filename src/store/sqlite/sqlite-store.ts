import Database from "better-sqlite3";
import { KeyConflictError, QueueFullError, ValidationError } from "../../model/errors.js";
import type { TaskStatus } from "../../model/status.js";
import { runIdOf, type EventRow, type RunRow, type TaskRow } from "../../model/task-row.js";
import type { NodeHeartbeat, NodeRow } from "../../model/node-row.js";
import type {
  ClaimRequest,
  EventTrim,
  FinishApplied,
  InsertLimits,
  InsertOptions,
  InsertOutcome,
  LeaseState,
  MigrationState,
  NewEvent,
  NewTask,
  ProgressWrite,
  PruneOptions,
  PruneReport,
  RunFinish,
  RunRef,
  Store,
  ChangeHint,
  StoreCapabilities,
  StoreThreadConfig,
  TaskListFilter,
  TaskPage,
  RescueOutcome,
} from "../store.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { SQLITE_MIGRATIONS } from "./migrations.js";
import { SqliteClaimReader } from "./sqlite-claim.js";
import { prepareScheduleStatements, rowToSchedule, scheduleArgs } from "./sqlite-schedules.js";
import type { ScheduleFire, ScheduleFired, ScheduleRow, ScheduleTick, ScheduleWrite } from "../../model/schedule.js";
import { FlowAllowance } from "../flow-budget.js";
import { chooseCandidates } from "../claim-choice.js";
// ---- users, tokens, task event log, queries and stats (HTTP API) ----
import type {
  ApiTokenRow,
  NewApiToken,
  NewUser,
  TaskEventFilter,
  TaskEventRow,
  TaskQuery,
  TaskStats,
  TaskStatsQuery,
  UserRow,
} from "../store.js";
import type { SqlRunOptions, SqlRunResult } from "../store.js";
import { sqliteSqlRun } from "./sqlite-sql-run.js";
import { retryWhileBusy } from "./sqlite-write-lock.js";
import { watchWalChanges } from "./sqlite-change-watch.js";
import { rowToEvent, rowToNode, rowToRun, rowToTask as mapRow, taskColumns, valuesToTask, type SqlRow, type TaskColumns } from "./sqlite-rows.js";

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /**
   * Durability of acknowledged writes (add, cancel, retry, delete). `full` (default) survives
   * power loss; `normal` survives a crash of the process but may lose the last commits on power
   * loss. Worker bookkeeping (claim, lease, progress, finish) always commits with `normal`: losing
   * one of those to power loss only makes a task run again, never loses it.
   */
  synchronous?: "full" | "normal";
  /** How long a writer waits for another process's write lock, ms. Default 15000. */
  busyTimeoutMs?: number;
  /** Apply pending migrations on open. Default true; `false` for `tasklane db status`. */
  migrate?: boolean;
  /** Refuse to create the file when it does not exist. Default false. */
  mustExist?: boolean;
  /** @internal How often `watchChanges` checks besides its file watch, ms [250] (tests lengthen it). */
  changeSafetyPollMs?: number;
  /** @internal How often `watchChanges` checks while no file watch could be set, ms [10] (tests lengthen it). */
  changeFallbackPollMs?: number;
}

/** A new task's values in the column order of the `insertBatch` statement. */
function insertValues(t: NewTask): unknown[] {
  return [
    t.id, t.type, t.name, t.description, JSON.stringify(t.params ?? null), t.priority, t.runAt, t.maxAttempts, t.maxRuns,
    JSON.stringify(t.backoff), t.timeoutMs, t.cpu, t.executor, t.deadline, t.deleteAfterMs, t.key, t.owner, t.group,
    t.followUps && t.followUps.length ? JSON.stringify(t.followUps) : null,
  ];
}

const FINAL_SQL = "('succeeded','failed','cancelled','expired')";
const SQLITE_NEXT_STATUS = `(CASE WHEN f.next = 'queued' AND tasks.cancel_requested = 1 THEN 'cancelled'
  WHEN f.next = 'queued' AND tasks.run_count >= tasks.max_runs THEN 'failed' ELSE f.next END)`;

/**
 * SQLite store on better-sqlite3: WAL, one writer at a time, `BEGIN IMMEDIATE` for every write
 * transaction so a writer never has to upgrade a read lock (which is where "database is locked"
 * comes from), and a busy timeout for the other processes on the same file.
 */
export class SqliteStore implements Store {
  readonly dialect = "sqlite" as const;
  readonly capabilities: StoreCapabilities;
  private readonly db: Database.Database;
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly durableSync: "FULL" | "NORMAL";
  private currentSync: string | null = null;
  private prepared: ReturnType<SqliteStore["prepareStatements"]> | null = null;
  private columns: TaskColumns | null = null;
  private closed = false;
  private readonly options: SqliteStoreOptions;
  private readonly claimReader: SqliteClaimReader;
  private readonly busyTimeoutMs: number;
  /** Set around `BEGIN IMMEDIATE` only; null for `:memory:` (one connection, never busy). */
  private readonly busyTimeoutOff: Database.Statement | null;
  private readonly busyTimeoutOn: Database.Statement | null;
  private readonly changeWatches = new Set<() => void>();

  constructor(options: SqliteStoreOptions) {
    this.options = options;
    const memory = options.path === ":memory:";
    this.db = new Database(options.path, { fileMustExist: options.mustExist ?? false });
    // One wrapper for every write (better-sqlite3 builds a new one per transaction() call).
    this.inTransaction = this.db.transaction((fn: () => unknown) => fn());
    this.busyTimeoutMs = options.busyTimeoutMs ?? 15_000;
    // Reads keep SQLite's busy handler: in WAL mode a read meets SQLITE_BUSY only in rare moments
    // (another connection running WAL recovery after a crash, or rebuilding the wal-index), where a
    // 1–100 ms sleep costs nothing that matters, and retrying every read statement of the store by
    // hand would spread through all its SQL. Writes wait for the lock in `retryWhileBusy`.
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    this.busyTimeoutOff = memory ? null : this.db.prepare("PRAGMA busy_timeout = 0");
    this.busyTimeoutOn = memory ? null : this.db.prepare(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
    if (!memory) this.db.pragma("journal_mode = WAL");
    this.db.pragma("foreign_keys = OFF");
    this.db.pragma("cache_size = -32000");
    this.durableSync = options.synchronous === "normal" ? "NORMAL" : "FULL";
    this.capabilities = { multiProcess: !memory, transactionalAdd: false, changeNotification: !memory, cancelNotification: false, dueTimeNotification: false, roundTripClaims: false };
    if (options.migrate !== false) this.migrateSync();
    this.claimReader = new SqliteClaimReader(this.db);
  }

  /** Statements are prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<SqliteStore["prepareStatements"]> {
    if (!this.prepared) {
      this.prepared = this.prepareStatements();
      this.prepared.claimTake.raw(true);
      this.prepared.insertBatch.raw(true);
    }
    return this.prepared;
  }

  private get cols(): TaskColumns {
    this.columns ??= taskColumns(this.stmt.byId.columns().map((c) => c.name));
    return this.columns;
  }

  private rowToTask(row: SqlRow, now: number): TaskRow {
    return mapRow(row, this.cols, now);
  }

  // ---------------------------------------------------------------- plumbing

  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction committed with the given durability. */
  private write<T>(durable: boolean, fn: () => T): T {
    const sync = durable ? this.durableSync : "NORMAL";
    if (sync !== this.currentSync) {
      this.db.pragma(`synchronous = ${sync}`);
      this.currentSync = sync;
    }
    const off = this.busyTimeoutOff;
    const on = this.busyTimeoutOn;
    if (!off || !on || this.db.inTransaction) return this.inTransaction.immediate(fn) as T;
    // The write lock is waited for here, in µs steps, not in SQLite's busy handler (1–100 ms
    // sleeps): see sqlite-write-lock.ts. Once `BEGIN IMMEDIATE` holds the lock the busy timeout is
    // back on, so statements and COMMIT inside behave as before (a rollback-journal database, where
    // COMMIT waits for readers, included). The toggle costs ~3 µs per write transaction (two
    // prepared PRAGMA statements). Measured ad hoc (2 shared cores, load 2–4; 30 holds of 5–50 ms by
    // test/fixtures/sqlite-other-process.mjs): a write waiting for another
    // process's commit got the lock p50 2.5 ms / p90 4.4 ms after it, against 6.5 / 10.2 ms with
    // the busy handler (most of what is left is the scheduler waking this process on a busy box);
    // two worker processes draining one file (bench/peers, c10×2 / c100×2) stayed within the
    // noise, ~4,700–5,300 / ~3,800–4,200 tasks/s before and after: CPU, not the lock, limits them.
    let entered = false;
    const body = () => {
      entered = true;
      on.run();
      return fn();
    };
    off.run();
    try {
      return retryWhileBusy(
        () => this.inTransaction.immediate(body) as T,
        this.busyTimeoutMs,
        () => !entered,
      );
    } finally {
      if (!entered) on.run();
    }
  }

  private migrateSync(): number[] {
    return this.write(true, () => {
      this.db.exec(
        "CREATE TABLE IF NOT EXISTS tasklane_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
      );
      const applied = new Set(
        (this.db.prepare("SELECT version FROM tasklane_migrations").all() as Array<{ version: number }>).map((r) => r.version),
      );
      const done: number[] = [];
      for (const m of SQLITE_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        this.db.exec(m.sql);
        this.db.prepare("INSERT INTO tasklane_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
        done.push(m.version);
      }
      return done;
    });
  }

  async migrate(): Promise<number[]> {
    return this.migrateSync();
  }

  async migrationStatus(): Promise<MigrationState[]> {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasklane_migrations'").get();
    const rows = (exists ? this.db.prepare("SELECT version, applied_at FROM tasklane_migrations").all() : []) as Array<{
      version: number;
      applied_at: number;
    }>;
    const applied = new Map(rows.map((r) => [r.version, r.applied_at]));
    return SQLITE_MIGRATIONS.map((m) => ({
      version: m.version,
      name: m.name,
      appliedAt: applied.has(m.version) ? new Date(applied.get(m.version)!) : null,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.changeWatches]) stop();
    this.db.close();
  }

  async now(): Promise<number> {
    return Date.now();
  }

  threadConfig(): StoreThreadConfig | null {
    if (this.options.path === ":memory:") return null;
    return { dialect: "sqlite", path: this.options.path, busyTimeoutMs: this.options.busyTimeoutMs ?? 15_000 };
  }

  /**
   * Wakes on another connection's commit within microseconds: an inotify watch on the `-wal`
   * file, filtered by `PRAGMA data_version` so this connection's own commits do not count, with a
   * 250 ms safety poll (see sqlite-change-watch.ts). It replaced a 10 ms `data_version` poll, under
   * which a task added by another process waited ~5 ms on average (up to 10 ms) for the worker to
   * look: add→start across processes (bench/peers latency, 200 tasks/s) went from p50 6.75 ms /
   * p99 13.3 ms to p50 2.6–2.7 ms / p99 6.1–7.3 ms, of which ~1.1 ms is the add's own fsync.
   */
  watchChanges(onChange: (hint: ChangeHint) => void): () => void {
    if (this.options.path === ":memory:" || this.closed) return () => {};
    const dataVersion = this.db.prepare("PRAGMA data_version").pluck();
    const stopWatch = watchWalChanges({
      walPath: this.db.name + "-wal",
      dataVersion: () => {
        if (this.closed) throw new Error("store closed");
        return dataVersion.get() as number;
      },
      onChange: () => onChange("any"),
      safetyPollMs: this.options.changeSafetyPollMs,
      fallbackPollMs: this.options.changeFallbackPollMs,
    });
    const stop = () => {
      stopWatch();
      this.changeWatches.delete(stop);
    };
    this.changeWatches.add(stop);
    return stop;
  }

  private prepareStatements() {
    const db = this.db;
    return {
      // One statement per batch: each element of @batch is one task's values in column order
      // (JSON texts pre-serialised, so params round-trip byte for byte). Measured on 1,000-task
      // batches: 75 µs a task with one INSERT and one re-read per task, 35 µs with this one
      // (addMany in `npm run bench`: 10,918 → 31,111 tasks/s in the same session).
      insertBatch: db.prepare(`INSERT INTO tasks (id, type, name, description, params, status, priority, run_at, created_at, updated_at,
          max_attempts, max_runs, backoff, timeout_ms, cpu, executor, deadline, delete_after_ms, key, owner, grp, follow_ups)
        SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, 'queued', j.value ->> 5,
          coalesce(j.value ->> 6, @now), @now, @now, j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, j.value ->> 11,
          j.value ->> 12, j.value ->> 13, j.value ->> 14, j.value ->> 15, j.value ->> 16, j.value ->> 17, j.value ->> 18
        FROM json_each(@batch) AS j WHERE true
        ON CONFLICT DO NOTHING
        RETURNING *`),
      // The follow-ups of tasks that just ended, in the same transaction as their end. Fixed ids
      // make a second insert of the same follow-up a no-op.
      followUpInsert: db.prepare(`INSERT INTO tasks (id, type, name, description, params, status, priority, run_at, created_at, updated_at,
          max_attempts, max_runs, backoff, timeout_ms, cpu, executor, deadline, delete_after_ms, key, owner, grp, parent, follow_ups)
        SELECT f.value ->> 'id', f.value ->> 'type', f.value ->> 'name', f.value ->> 'description', f.value -> 'params', 'queued',
          f.value ->> 'priority', @now + (f.value ->> 'delayMs'), @now, @now, f.value ->> 'maxAttempts', f.value ->> 'maxRuns',
          f.value -> 'backoff', f.value ->> 'timeoutMs', f.value ->> 'cpu', f.value ->> 'executor', NULL, f.value ->> 'deleteAfterMs',
          NULL, f.value ->> 'owner', f.value ->> 'group',
          json_object('id', p.id, 'type', p.type, 'status', p.status, 'result', json(p.result), 'error', json(p.error)),
          CASE WHEN json_array_length(f.value -> 'followUps') > 0 THEN f.value -> 'followUps' END
        FROM tasks p, json_each(p.follow_ups) f
        WHERE p.id IN (SELECT value FROM json_each(@ids)) AND p.status IN ('succeeded', 'failed')
          AND f.value ->> 'on' = CASE p.status WHEN 'succeeded' THEN 'success' ELSE 'failure' END
        ON CONFLICT DO NOTHING`),
      byId: db.prepare("SELECT * FROM tasks WHERE id = ?"),
      nextLeaseExpiry: db.prepare("SELECT MIN(lease_expires_at) AS t FROM tasks WHERE status = 'running' AND lease_expires_at > ?"),
      liveByKey: db.prepare("SELECT * FROM tasks WHERE key = ? AND status IN ('queued','running')"),
      countQueued: db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE type = ? AND status = 'queued'"),
      // +status: keeps the planner on the primary key for the id list.
      claimTake: db.prepare(`UPDATE tasks SET status = 'running', attempt = attempt + 1, run_count = run_count + 1, node = @node,
          started_at = @now, updated_at = @now, lease_expires_at = @leaseUntil, cancel_requested = 0
        WHERE id IN (SELECT value FROM json_each(@ids)) AND +status = 'queued'
        RETURNING *`),
      // A run's record is written once, when it ends; while it runs, the task row is its record.
      runInsertMany: db.prepare(`INSERT INTO runs (task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, @now, value ->> 5, value ->> 6, value ->> 7
        FROM json_each(@runs)`),
      renew: db.prepare(`UPDATE tasks SET lease_expires_at = @until
        WHERE status = 'running' AND (id, run_count) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@refs))
        RETURNING id, run_count, cancel_requested`),
      progress: db.prepare(`UPDATE tasks SET progress_current = @current, progress_total = @total, progress_message = @message,
          progress_rate = @ratePerSec, progress_at = @at
        WHERE id = @taskId AND run_count = @runNo AND status = 'running'`),
      // Fenced like every write of a run: a run that lost its task writes no more lines.
      eventInsert: db.prepare(`INSERT OR IGNORE INTO events (task_id, run_no, seq, at, level, message, data)
        SELECT @taskId, @runNo, @seq, @at, @level, @message, @data
        WHERE EXISTS (SELECT 1 FROM tasks WHERE id = @taskId AND run_count = @runNo AND status = 'running')`),
      eventTrim: db.prepare("DELETE FROM events WHERE task_id = ? AND run_no = ? AND seq > 0 AND seq < ?"),
      markerUpdate: db.prepare("UPDATE events SET message = ? WHERE task_id = ? AND run_no = ? AND seq = 0"),
      // The newest dropped line becomes the marker, so the marker reads where the gap is.
      markerConvert: db.prepare(`UPDATE events SET seq = 0, level = 'warn', message = ?, data = NULL
        WHERE task_id = ? AND run_no = ? AND seq = ?`),
      markerInsert: db.prepare("INSERT INTO events (task_id, run_no, seq, at, level, message, data) VALUES (?, ?, 0, ?, 'warn', ?, NULL)"),
      // One statement ends a whole batch of runs; each element of @batch is one RunFinish.
      // A re-queue becomes final when a cancel was requested, or when no run is left (maxRuns):
      // nothing would ever claim, rescue or retry it otherwise.
      finish: db.prepare(`UPDATE tasks SET
          status = ${SQLITE_NEXT_STATUS},
          -- A released run (attempt refunded) goes back to its old place in the claim order.
          run_at = CASE WHEN f.next = 'queued' AND f.refund = 0 THEN f.run_at ELSE tasks.run_at END,
          attempt = tasks.attempt - f.refund,
          result = f.result,
          error = f.error,
          finished_at = CASE WHEN ${SQLITE_NEXT_STATUS} = 'queued' THEN NULL ELSE @now END,
          delete_at = CASE WHEN ${SQLITE_NEXT_STATUS} = 'queued' THEN NULL ELSE @now + tasks.delete_after_ms END,
          lease_expires_at = NULL,
          updated_at = @now,
          progress_current = CASE WHEN f.p_at IS NOT NULL THEN f.p_current ELSE tasks.progress_current END,
          progress_total = CASE WHEN f.p_at IS NOT NULL THEN f.p_total ELSE tasks.progress_total END,
          progress_message = CASE WHEN f.p_at IS NOT NULL THEN f.p_message ELSE tasks.progress_message END,
          progress_rate = CASE WHEN f.p_at IS NOT NULL THEN f.p_rate ELSE tasks.progress_rate END,
          progress_at = CASE WHEN f.p_at IS NOT NULL THEN f.p_at ELSE tasks.progress_at END
        FROM (SELECT value ->> 0 AS id, value ->> 1 AS run_no, value ->> 2 AS next, value ->> 3 AS run_at, value ->> 4 AS refund,
                value ->> 5 AS result, value ->> 6 AS error, value ->> 7 AS p_current, value ->> 8 AS p_total,
                value ->> 9 AS p_message, value ->> 10 AS p_rate, value ->> 11 AS p_at, value ->> 12 AS outcome
              FROM json_each(@batch)) AS f
        WHERE tasks.id = f.id AND tasks.run_count = f.run_no AND tasks.status = 'running'
        RETURNING tasks.id, tasks.run_count, tasks.status, tasks.run_at, tasks.attempt, tasks.updated_at, tasks.finished_at,
          tasks.delete_at, tasks.node, tasks.started_at, tasks.follow_ups IS NOT NULL AS has_follow_ups`),
      cancel: db.prepare(`UPDATE tasks SET
          status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
          cancel_requested = CASE WHEN status = 'running' THEN 1 ELSE cancel_requested END,
          finished_at = CASE WHEN status = 'queued' THEN @now ELSE finished_at END,
          delete_at = CASE WHEN status = 'queued' THEN @now + delete_after_ms ELSE delete_at END,
          updated_at = @now
        WHERE id = @id AND status IN ('queued', 'running')
        RETURNING *`),
      retry: db.prepare(`UPDATE tasks SET status = 'queued', attempt = 0, run_at = @now, finished_at = NULL, delete_at = NULL,
          cancel_requested = 0, result = NULL, updated_at = @now,
          progress_current = NULL, progress_total = NULL, progress_message = NULL, progress_rate = NULL, progress_at = NULL
        WHERE id = @id AND status IN ('failed', 'cancelled', 'expired') AND run_count < max_runs
        RETURNING *`),
      deleteTask: db.prepare("DELETE FROM tasks WHERE id = ? AND status <> 'running'"),
      deleteRuns: db.prepare("DELETE FROM runs WHERE task_id = ?"),
      deleteEvents: db.prepare("DELETE FROM events WHERE task_id = ?"),
      // Ended runs, plus the one in flight (its record is the task row until it ends).
      runs: db.prepare(`SELECT task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error FROM runs WHERE task_id = @id
        UNION ALL
        SELECT id, run_count, attempt, node, started_at, NULL, NULL, NULL, NULL FROM tasks WHERE id = @id AND status = 'running'
        ORDER BY 2`),
      events: db.prepare("SELECT * FROM events WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?"),
      expire: db.prepare(`UPDATE tasks SET status = 'expired', finished_at = @now, delete_at = @now + delete_after_ms, updated_at = @now
        WHERE status = 'queued' AND deadline IS NOT NULL AND deadline <= @now
        RETURNING *`),
      pruneTasks: db.prepare(`DELETE FROM tasks WHERE id IN (
          SELECT id FROM tasks WHERE delete_at IS NOT NULL AND delete_at <= @now AND status IN ${FINAL_SQL} LIMIT @batch)
        RETURNING id`),
      pruneTaskRuns: db.prepare("DELETE FROM runs WHERE task_id IN (SELECT value FROM json_each(?))"),
      pruneTaskEvents: db.prepare("DELETE FROM events WHERE task_id IN (SELECT value FROM json_each(?))"),
      pruneOldRuns: db.prepare(`DELETE FROM runs WHERE (task_id, run_no) IN (
          SELECT r.task_id, r.run_no FROM tasks t JOIN runs r ON r.task_id = t.id
          WHERE t.run_count > @keep AND r.run_no <= t.run_count - @keep LIMIT @batch)
        RETURNING task_id, run_no`),
      pruneRunEvents: db.prepare("DELETE FROM events WHERE (task_id, run_no) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))"),
      count: db.prepare(`SELECT CASE WHEN status = 'queued' AND run_at > @now THEN 'scheduled' ELSE status END AS status,
          type, COUNT(*) AS count FROM tasks GROUP BY 1, 2`),
    };
  }

  // ---------------------------------------------------------------- tasks

  async taskInsertMany(tasks: NewTask[], limits: InsertLimits, options: InsertOptions = {}): Promise<InsertOutcome[]> {
    if (options.tx !== undefined) throw new ValidationError("tx: transactional add needs PostgreSQL; SQLite adds commit on their own");
    return this.write(true, () => {
      const now = Date.now();
      const idCol = this.cols.id!;
      const inserted = new Map<string, unknown[]>();
      for (const row of this.stmt.insertBatch.all({ now, batch: JSON.stringify(tasks.map(insertValues)) }) as unknown[][]) {
        inserted.set(row[idCol] as string, row);
      }
      const outcomes: InsertOutcome[] = [];
      const added = new Map<string, number>();
      for (const t of tasks) {
        const row = inserted.get(t.id);
        if (row) {
          // Returned once: a second task with the same id in this batch was not inserted.
          inserted.delete(t.id);
          added.set(t.type, (added.get(t.type) ?? 0) + 1);
          outcomes.push({ task: valuesToTask(row, this.cols, now), existing: false });
          continue;
        }
        const holder = t.key === null ? undefined : (this.stmt.liveByKey.get(t.key) as SqlRow | undefined);
        if (!holder) throw new ValidationError(`id: a task with id "${t.id}" already exists`);
        outcomes.push({ task: this.rowToTask(holder, now), existing: true });
      }
      for (const type of added.keys()) {
        const max = limits.maxQueued.get(type);
        if (max === undefined) continue;
        const queued = (this.stmt.countQueued.get(type) as { n: number }).n;
        // `queued` includes this batch; refusing throws, which rolls the whole batch back.
        if (queued > max) throw new QueueFullError(type, max);
      }
      return outcomes;
    });
  }


  async taskGet(id: string): Promise<TaskRow | null> {
    const row = this.stmt.byId.get(id) as SqlRow | undefined;
    return row ? this.rowToTask(row, Date.now()) : null;
  }

  async taskList(filter: TaskListFilter): Promise<TaskPage> {
    return this.taskQuery(filter);
  }


  async taskCount(): Promise<Array<{ status: TaskStatus; type: string; count: number }>> {
    return this.stmt.count.all({ now: Date.now() }) as Array<{ status: TaskStatus; type: string; count: number }>;
  }

  // ---------------------------------------------------------------- runs

  async taskClaim(req: ClaimRequest): Promise<TaskRow[]> {
    if (req.limit <= 0 || req.types.length === 0) return [];
    return this.write(false, () => this.claimSync(req));
  }

  async taskFinishAndClaim(
    finishes: RunFinish[],
    claim: ClaimRequest,
  ): Promise<{ applied: FinishApplied[]; claimed: TaskRow[]; claimError?: Error }> {
    return this.write(false, () => {
      const applied = finishes.length ? this.finishSync(finishes) : [];
      const claimed = claim.limit > 0 && claim.types.length > 0 ? this.claimSync(claim) : [];
      return { applied, claimed };
    });
  }

  private claimSync(req: ClaimRequest): TaskRow[] {
    const now = Date.now();
    const budget = this.claimReader.flowBudget(req.types, now);
    const allowance = budget ? new FlowAllowance(req.types, budget) : null;
    const blocked = allowance?.blockedPairs() ?? [];
    const blockedTypes = new Set(blocked.filter(([, g]) => g === null).map(([t]) => t));
    const types = blockedTypes.size ? req.types.filter((t) => !blockedTypes.has(t.type)) : req.types;
    if (types.length === 0) return [];
    // With per-type or flow limits some candidates are passed over, so look a little further.
    const limited = allowance !== null || types.some((t) => Number.isFinite(t.slots));
    const scan = limited ? Math.min(req.limit * 4, 2000) : req.limit;
    const candidates = this.claimReader.candidates(req, types, blocked.filter(([, g]) => g !== null), scan, now);
    const { ids, taken, lastFairKey } = chooseCandidates(
      candidates.map(([id, type, cpu, fairKey, group]) => ({ id, type, cpu, fairKey, group })),
      types,
      req.limit,
      req.cpuFree,
      allowance,
    );
    if (ids.length === 0) return [];
    if (req.policy?.order === "fair" && lastFairKey !== null) this.claimReader.servedFairKey(lastFairKey);
    if (allowance) this.claimReader.recordStarts(allowance.startRows(taken, now), now);
    const rows = this.stmt.claimTake.all({ ids: JSON.stringify(ids), node: req.node, now, leaseUntil: now + req.leaseMs }) as unknown[][];
    // In the policy's order (the candidates' order).
    const order = new Map(ids.map((id, i) => [id, i]));
    return rows.map((values) => valuesToTask(values, this.cols, now)).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }

  async leaseRenewMany(leases: RunRef[], leaseMs: number): Promise<LeaseState[]> {
    if (leases.length === 0) return [];
    return this.write(false, () => {
      const rows = this.stmt.renew.all({
        until: Date.now() + leaseMs,
        refs: JSON.stringify(leases.map((l) => [l.taskId, l.runNo])),
      }) as Array<{ id: string; run_count: number; cancel_requested: number }>;
      return rows.map((r) => ({ taskId: r.id, runNo: r.run_count, cancelRequested: r.cancel_requested === 1 }));
    });
  }

  async progressWriteMany(updates: ProgressWrite[]): Promise<void> {
    if (updates.length === 0) return;
    this.write(false, () => {
      for (const u of updates) this.stmt.progress.run(u);
    });
  }

  async eventInsertMany(events: NewEvent[], trims: EventTrim[]): Promise<void> {
    if (events.length === 0 && trims.length === 0) return;
    this.write(false, () => {
      // Trims first, so a marker created now gets an id ahead of the lines it precedes.
      const cut = new Map<string, number>();
      for (const t of trims) {
        cut.set(runIdOf(t.taskId, t.runNo), t.dropBelowSeq);
        const message = `${t.droppedTotal} earlier log line(s) of this run were dropped (per-run cap)`;
        if (this.stmt.markerUpdate.run(message, t.taskId, t.runNo).changes === 1) {
          this.stmt.eventTrim.run(t.taskId, t.runNo, t.dropBelowSeq);
        } else {
          this.stmt.eventTrim.run(t.taskId, t.runNo, t.dropBelowSeq - 1);
          if (this.stmt.markerConvert.run(message, t.taskId, t.runNo, t.dropBelowSeq - 1).changes === 0) {
            this.stmt.markerInsert.run(t.taskId, t.runNo, Date.now(), message);
          }
        }
      }
      for (const e of events) {
        if (e.seq < (cut.get(runIdOf(e.taskId, e.runNo)) ?? 0)) continue;
        this.stmt.eventInsert.run({ ...e, data: e.data === undefined ? null : JSON.stringify(e.data) });
      }
    });
  }

  async taskFinishMany(finishes: RunFinish[]): Promise<FinishApplied[]> {
    if (finishes.length === 0) return [];
    return this.write(false, () => this.finishSync(finishes));
  }

  private finishSync(finishes: RunFinish[]): FinishApplied[] {
    const batch = finishes.map((f) => {
      const p = f.progress;
      return [
        f.taskId,
        f.runNo,
        f.next,
        f.retryDelayMs ?? 0,
        f.refundAttempt ? 1 : 0,
        f.result === undefined ? null : JSON.stringify(f.result),
        f.error ? JSON.stringify(f.error) : null,
        p?.current ?? null,
        p?.total ?? null,
        p?.message ?? null,
        p?.ratePerSec ?? null,
        p?.at ?? null,
        f.outcome,
      ];
    });
    const byRun = new Map(batch.map((b) => [runIdOf(b[0] as string, b[1] as number), b]));
    {
      const now = Date.now();
      for (const b of batch) b[3] = now + (b[3] as number); // retry delay → due time by this store's clock
      const rows = this.stmt.finish.all({ now, batch: JSON.stringify(batch) }) as SqlRow[];
      const runs: unknown[][] = [];
      const applied: FinishApplied[] = rows.map((row) => {
        const b = byRun.get(runIdOf(row.id, row.run_count))!;
        // The attempt of the run is the one before a refund.
        runs.push([row.id, row.run_count, row.attempt + (b[4] as number), row.node, row.started_at, b[12], b[5], b[6]]);
        return {
          taskId: row.id,
          runNo: row.run_count,
          status: row.status === "queued" && row.run_at > now ? "scheduled" : row.status,
          runAt: new Date(row.run_at),
          attempt: row.attempt,
          updatedAt: new Date(row.updated_at),
          finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
          deleteAt: row.delete_at === null ? null : new Date(row.delete_at),
        };
      });
      if (runs.length) this.stmt.runInsertMany.run({ now, runs: JSON.stringify(runs) });
      this.addFollowUps(rows, now);
      return applied;
    }
  }

  /** Adds the follow-ups of tasks that just ended for good (inside the caller's transaction). */
  private addFollowUps(ended: SqlRow[], now: number): void {
    const ids = ended.filter((r) => r.has_follow_ups === 1 && (r.status === "succeeded" || r.status === "failed")).map((r) => r.id);
    if (ids.length) this.stmt.followUpInsert.run({ now, ids: JSON.stringify(ids) });
  }

  // ---------------------------------------------------------------- control

  async taskCancel(id: string): Promise<{ task: TaskRow; applied: boolean } | null> {
    return this.write(true, () => {
      const now = Date.now();
      const changed = this.stmt.cancel.get({ id, now }) as SqlRow | undefined;
      const row = changed ?? (this.stmt.byId.get(id) as SqlRow | undefined);
      return row ? { task: this.rowToTask(row, now), applied: changed !== undefined } : null;
    });
  }

  async taskRetry(id: string): Promise<{ task: TaskRow; applied: boolean } | null> {
    return this.write(true, () => {
      const now = Date.now();
      let row: SqlRow | undefined;
      try {
        row = this.stmt.retry.get({ id, now }) as SqlRow | undefined;
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
          const t = this.stmt.byId.get(id) as SqlRow;
          throw new KeyConflictError(String(t.key));
        }
        throw err;
      }
      const applied = row !== undefined;
      row ??= this.stmt.byId.get(id) as SqlRow | undefined;
      return row ? { task: this.rowToTask(row, now), applied } : null;
    });
  }

  async taskDelete(id: string): Promise<"deleted" | "running" | "not-found"> {
    return this.write(true, () => {
      if (this.stmt.deleteTask.run(id).changes === 1) {
        this.stmt.deleteRuns.run(id);
        this.stmt.deleteEvents.run(id);
        return "deleted";
      }
      return this.stmt.byId.get(id) ? "running" : "not-found";
    });
  }

  async runList(taskId: string): Promise<RunRow[]> {
    return (this.stmt.runs.all({ id: taskId }) as SqlRow[]).map(rowToRun);
  }

  async eventList(taskId: string, options: { afterId?: number; limit?: number }): Promise<EventRow[]> {
    return (this.stmt.events.all(taskId, options.afterId ?? 0, options.limit ?? 1000) as SqlRow[]).map(rowToEvent);
  }

  // ---------------------------------------------------------------- recovery and retention

  async taskRescueExpired(): Promise<RescueOutcome> {
    const tasks = this.rescue("status = 'running' AND lease_expires_at < @now", {}, "stopped renewing its lease");
    const next = (this.stmt.nextLeaseExpiry.get(Date.now()) as { t: number | null }).t;
    return { tasks, nextExpiryAt: next };
  }

  async taskRescueNode(node: string): Promise<TaskRow[]> {
    return this.rescue("status = 'running' AND node = @node", { node }, "restarted while the run was in progress");
  }

  /**
   * One conditional UPDATE (never read-then-write), so any number of nodes may rescue at once.
   * The attempt was counted at claim, so a task that kills every node it lands on fails after
   * its attempts instead of looping forever.
   */
  private rescue(condition: string, args: Record<string, unknown>, why: string): TaskRow[] {
    return this.write(false, () => {
      const now = Date.now();
      const outOfTries = "(attempt >= max_attempts OR run_count >= max_runs)";
      const rows = this.db
        .prepare(
          `UPDATE tasks SET
            status = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN ${outOfTries} THEN 'failed' ELSE 'queued' END,
            -- run_at is kept: a rescued task goes back to its old place in the claim order, not
            -- behind everything added while its node was dying.
            lease_expires_at = NULL,
            updated_at = @now,
            error = json_object('name', 'NodeLostError', 'message', 'node ' || node || ' ' || @why),
            finished_at = CASE WHEN cancel_requested = 1 OR ${outOfTries} THEN @now ELSE NULL END,
            delete_at = CASE WHEN cancel_requested = 1 OR ${outOfTries} THEN @now + delete_after_ms ELSE NULL END
          WHERE ${condition}
          RETURNING *`,
        )
        .all({ ...args, now, why }) as SqlRow[];
      if (rows.length) {
        const runs = rows.map((r) => [r.id, r.run_count, r.attempt, r.node, r.started_at, "offline", null, r.error]);
        this.stmt.runInsertMany.run({ now, runs: JSON.stringify(runs) });
        this.addFollowUps(rows.map((r) => ({ ...r, has_follow_ups: r.follow_ups !== null ? 1 : 0 })), now);
      }
      return rows.map((r) => this.rowToTask(r, now));
    });
  }

  async taskExpireOverdue(): Promise<TaskRow[]> {
    return this.write(false, () => {
      const now = Date.now();
      return (this.stmt.expire.all({ now }) as SqlRow[]).map((r) => this.rowToTask(r, now));
    });
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    const report: PruneReport = { tasksDeleted: 0, runsDeleted: 0 };
    for (;;) {
      const n = this.write(false, () => {
        const ids = (this.stmt.pruneTasks.all({ now: Date.now(), batch: options.batchSize }) as Array<{ id: string }>).map((r) => r.id);
        if (ids.length) {
          const json = JSON.stringify(ids);
          report.runsDeleted += this.stmt.pruneTaskRuns.run(json).changes;
          this.stmt.pruneTaskEvents.run(json);
        }
        return ids.length;
      });
      report.tasksDeleted += n;
      if (n < options.batchSize) break;
    }
    for (;;) {
      const n = this.write(false, () => {
        const runs = this.stmt.pruneOldRuns.all({ keep: options.keepRunsPerTask, batch: options.batchSize }) as Array<{
          task_id: string;
          run_no: number;
        }>;
        if (runs.length) this.stmt.pruneRunEvents.run(JSON.stringify(runs.map((r) => [r.task_id, r.run_no])));
        return runs.length;
      });
      report.runsDeleted += n;
      if (n < options.batchSize) break;
    }
    return report;
  }

  // ---------------------------------------------------------------- schedules

  private get sched() {
    this.schedulePrepared ??= prepareScheduleStatements(this.db);
    return this.schedulePrepared;
  }
  private schedulePrepared: ReturnType<typeof prepareScheduleStatements> | null = null;

  async scheduleUpsert(schedule: ScheduleWrite): Promise<ScheduleRow> {
    return this.write(true, () => {
      const row = this.sched.upsert.get(scheduleArgs(schedule, Date.now())) as SqlRow;
      return rowToSchedule(row);
    });
  }

  async scheduleGet(name: string): Promise<ScheduleRow | null> {
    const row = this.sched.get.get(name) as SqlRow | undefined;
    return row ? rowToSchedule(row) : null;
  }

  async scheduleList(): Promise<ScheduleRow[]> {
    return (this.sched.list.all() as SqlRow[]).map(rowToSchedule);
  }

  async scheduleDelete(name: string): Promise<boolean> {
    return this.write(true, () => {
      this.sched.deleteTicks.run(name);
      return this.sched.delete.run(name).changes === 1;
    });
  }

  async schedulePause(name: string, paused: boolean): Promise<ScheduleRow | null> {
    return this.write(true, () => {
      const row = this.sched.pause.get({ name, paused: paused ? 1 : 0, now: Date.now() }) as SqlRow | undefined;
      return row ? rowToSchedule(row) : null;
    });
  }

  async scheduleFire(fires: ScheduleFire[]): Promise<ScheduleFired[]> {
    if (fires.length === 0) return [];
    return this.write(true, () => {
      const now = Date.now();
      return fires.map((fire): ScheduleFired => {
        const claimed = this.sched.tickInsert.run({ schedule: fire.schedule, tickAt: fire.tickAt, taskId: fire.task.id, now }).changes === 1;
        if (!claimed) return { schedule: fire.schedule, tickAt: fire.tickAt, task: null };
        const [row] = this.stmt.insertBatch.all({ now, batch: JSON.stringify([insertValues(fire.task)]) }) as unknown[][];
        if (!row) throw new ValidationError(`schedule ${fire.schedule}: its task could not be added (id ${fire.task.id} exists)`);
        this.sched.noteTick.run({ name: fire.schedule, tickAt: fire.tickAt, taskId: fire.task.id, now });
        return { schedule: fire.schedule, tickAt: fire.tickAt, task: valuesToTask(row, this.cols, now) };
      });
    });
  }

  async scheduleNoteTask(name: string, taskId: string): Promise<void> {
    this.write(true, () => this.sched.noteTask.run({ name, taskId, now: Date.now() }));
  }

  async scheduleTicks(name: string, limit: number): Promise<ScheduleTick[]> {
    return (this.sched.ticks.all(name, limit) as SqlRow[]).map((r) => ({
      schedule: r.schedule,
      tickAt: new Date(r.tick_at),
      taskId: r.task_id,
      firedAt: new Date(r.fired_at),
    }));
  }

  async scheduleTickPrune(before: number): Promise<number> {
    return this.write(false, () => this.sched.pruneTicks.run(before).changes);
  }

  async flowStartPrune(): Promise<number> {
    return this.write(false, () => this.sched.pruneFlowStarts.run(Date.now()).changes);
  }

  // ---- users, tokens, task event log, queries and stats (HTTP API) ----

  private httpPrepared: ReturnType<SqliteStore["prepareHttpStatements"]> | null = null;
  private readonly querySql = new Map<string, Database.Statement>();

  /** Prepared on first use, like `stmt`. */
  private get httpStmt(): ReturnType<SqliteStore["prepareHttpStatements"]> {
    this.httpPrepared ??= this.prepareHttpStatements();
    return this.httpPrepared;
  }

  private prepareHttpStatements() {
    const db = this.db;
    return {
      userInsert: db.prepare("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING"),
      userGet: db.prepare("SELECT name, role, created_at FROM users WHERE name = ?"),
      userList: db.prepare("SELECT name, role, created_at FROM users ORDER BY name"),
      userCount: db.prepare("SELECT COUNT(*) AS n FROM users"),
      userDelete: db.prepare("DELETE FROM users WHERE name = ?"),
      userTokensDelete: db.prepare("DELETE FROM api_tokens WHERE user_name = ?"),
      tokenInsert: db.prepare(`INSERT INTO api_tokens (id, user_name, hash, label, created_at)
        SELECT @id, @userName, @hash, @label, @now WHERE EXISTS (SELECT 1 FROM users WHERE name = @userName)`),
      tokenById: db.prepare("SELECT * FROM api_tokens WHERE id = ?"),
      tokenGet: db.prepare(`SELECT t.*, u.role AS user_role, u.created_at AS user_created_at
        FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.id = ?`),
      tokenList: db.prepare("SELECT * FROM api_tokens WHERE user_name = ? ORDER BY created_at, id"),
      tokenRevokeId: db.prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      tokenRevokeUser: db.prepare("UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL"),
      eventsAll: db.prepare("SELECT * FROM task_events WHERE id > ? ORDER BY id LIMIT ?"),
      eventsOwner: db.prepare("SELECT * FROM task_events WHERE owner = ? AND id > ? ORDER BY id LIMIT ?"),
      eventLast: db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM task_events"),
      eventPrune: db.prepare("DELETE FROM task_events WHERE id IN (SELECT id FROM task_events WHERE at < ? ORDER BY at LIMIT ?)"),
      countOwner: db.prepare(`SELECT CASE WHEN status = 'queued' AND run_at > @now THEN 'scheduled' ELSE status END AS status,
          type, COUNT(*) AS count FROM tasks WHERE owner = @owner GROUP BY 1, 2`),
      firstEventSince: db.prepare("SELECT MIN(id) AS id FROM task_events WHERE at >= ?"),
      bucketsAll: db.prepare(`SELECT CAST((at - @since) / @bucket AS INTEGER) AS k, SUM(kind = 'succeeded') AS succeeded, SUM(kind = 'failed') AS failed,
          SUM(kind = 'retrying') AS retrying
        FROM task_events WHERE id >= @fromId AND at >= @since AND kind IN ('succeeded', 'failed', 'retrying') GROUP BY 1 ORDER BY 1`),
      bucketsOwner: db.prepare(`SELECT CAST((at - @since) / @bucket AS INTEGER) AS k, SUM(kind = 'succeeded') AS succeeded, SUM(kind = 'failed') AS failed,
          SUM(kind = 'retrying') AS retrying
        FROM task_events WHERE owner = @owner AND id >= @fromId AND at >= @since AND kind IN ('succeeded', 'failed', 'retrying')
        GROUP BY 1 ORDER BY 1`),
      oldestAll: db.prepare("SELECT MIN(run_at) AS t FROM tasks WHERE status = 'queued' AND run_at <= ?"),
      oldestOwner: db.prepare("SELECT MIN(run_at) AS t FROM tasks WHERE owner = ? AND status = 'queued' AND run_at <= ?"),
    };
  }

  async userInsert(user: NewUser): Promise<UserRow | null> {
    return this.write(true, () => {
      const now = Date.now();
      if (this.httpStmt.userInsert.run(user.name, user.role, now).changes === 0) return null;
      return { name: user.name, role: user.role, createdAt: new Date(now) };
    });
  }

  async userGet(name: string): Promise<UserRow | null> {
    const row = this.httpStmt.userGet.get(name) as SqlRow | undefined;
    return row ? rowToUser(row) : null;
  }

  async userList(): Promise<UserRow[]> {
    return (this.httpStmt.userList.all() as SqlRow[]).map(rowToUser);
  }

  async userCount(): Promise<number> {
    return (this.httpStmt.userCount.get() as { n: number }).n;
  }

  async userDelete(name: string): Promise<boolean> {
    return this.write(true, () => {
      this.httpStmt.userTokensDelete.run(name);
      return this.httpStmt.userDelete.run(name).changes === 1;
    });
  }

  async tokenInsert(token: NewApiToken): Promise<ApiTokenRow | null> {
    return this.write(true, () => {
      const now = Date.now();
      if (this.httpStmt.tokenInsert.run({ ...token, now }).changes === 0) return null;
      return rowToToken(this.httpStmt.tokenById.get(token.id) as SqlRow);
    });
  }

  async tokenGet(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const row = this.httpStmt.tokenGet.get(id) as SqlRow | undefined;
    if (!row) return null;
    return {
      token: rowToToken(row),
      user: { name: row.user_name, role: row.user_role, createdAt: new Date(row.user_created_at) },
    };
  }

  async tokenList(userName: string): Promise<ApiTokenRow[]> {
    return (this.httpStmt.tokenList.all(userName) as SqlRow[]).map(rowToToken);
  }

  async tokenRevoke(match: { id: string } | { userName: string }): Promise<number> {
    return this.write(true, () => {
      const now = Date.now();
      return "id" in match
        ? this.httpStmt.tokenRevokeId.run(now, match.id).changes
        : this.httpStmt.tokenRevokeUser.run(now, match.userName).changes;
    });
  }

  async taskEventList(filter: TaskEventFilter): Promise<TaskEventRow[]> {
    const rows = (
      filter.owner === undefined
        ? this.httpStmt.eventsAll.all(filter.afterId, filter.limit)
        : this.httpStmt.eventsOwner.all(filter.owner, filter.afterId, filter.limit)
    ) as SqlRow[];
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at),
      taskId: r.task_id,
      type: r.type,
      owner: r.owner,
      kind: r.kind,
      status: r.status,
      attempt: r.attempt,
      runNo: r.run_no,
    }));
  }

  async taskEventLastId(): Promise<number> {
    return (this.httpStmt.eventLast.get() as { id: number }).id;
  }

  async taskEventPrune(options: { before: number; batchSize: number }): Promise<number> {
    let total = 0;
    for (;;) {
      const n = this.write(false, () => this.httpStmt.eventPrune.run(options.before, options.batchSize).changes);
      total += n;
      if (n < options.batchSize) return total;
    }
  }

  async taskQuery(query: TaskQuery): Promise<TaskPage> {
    const now = Date.now();
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.status?.length) where.push(`(${query.status.map((s) => statusCondition(s, args, now)).join(" OR ")})`);
    if (query.type?.length) {
      where.push(`type IN (${query.type.map(() => "?").join(",")})`);
      args.push(...query.type);
    }
    if (query.owner !== undefined) {
      where.push("owner = ?");
      args.push(query.owner);
    }
    if (query.key !== undefined) {
      where.push("key = ?");
      args.push(query.key);
    }
    if (query.createdFrom !== undefined) {
      where.push("created_at >= ?");
      args.push(query.createdFrom);
    }
    if (query.createdTo !== undefined) {
      where.push("created_at < ?");
      args.push(query.createdTo);
    }
    if (query.search !== undefined && query.search !== "") {
      // instr, not LIKE: the text is matched literally (no wildcards to escape).
      where.push("(instr(lower(id), ?) > 0 OR instr(lower(coalesce(key, '')), ?) > 0 OR instr(lower(coalesce(name, '')), ?) > 0)");
      const q = query.search.toLowerCase();
      args.push(q, q, q);
    }
    const desc = (query.order ?? "desc") === "desc";
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor);
      where.push(desc ? "(created_at, id) < (?, ?)" : "(created_at, id) > (?, ?)");
      args.push(createdAt, id);
    }
    const dir = desc ? "DESC" : "ASC";
    const sql = `SELECT * FROM tasks ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY created_at ${dir}, id ${dir} LIMIT ?`;
    args.push(query.limit + 1);
    let statement = this.querySql.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.querySql.size > 200) this.querySql.clear();
      this.querySql.set(sql, statement);
    }
    const rows = statement.all(...args) as SqlRow[];
    const more = rows.length > query.limit;
    const tasks = rows.slice(0, query.limit).map((r) => this.rowToTask(r, now));
    const last = tasks[tasks.length - 1];
    return { tasks, nextCursor: more && last ? encodeCursor(last.createdAt.getTime(), last.id) : null };
  }

  async taskStats(query: TaskStatsQuery): Promise<TaskStats> {
    const now = Date.now();
    const st = this.httpStmt;
    const counts = (
      query.owner === undefined ? this.stmt.count.all({ now }) : st.countOwner.all({ now, owner: query.owner })
    ) as TaskStats["counts"];
    const fromId = (st.firstEventSince.get(query.since) as { id: number | null }).id;
    const args = { since: query.since, bucket: query.bucketMs, fromId: fromId ?? Number.MAX_SAFE_INTEGER, owner: query.owner };
    const rows = (query.owner === undefined ? st.bucketsAll.all(args) : st.bucketsOwner.all(args)) as Array<{
      k: number;
      succeeded: number;
      failed: number;
      retrying: number;
    }>;
    const oldest = (query.owner === undefined ? st.oldestAll.get(now) : st.oldestOwner.get(query.owner, now)) as { t: number | null };
    return {
      counts,
      buckets: rows.map((r) => ({ start: query.since + r.k * query.bucketMs, succeeded: r.succeeded, failed: r.failed, retrying: r.retrying })),
      oldestQueuedAt: oldest.t,
      now,
    };
  }

  // ---- nodes (cluster membership) ----

  async nodeHeartbeat(node: NodeHeartbeat): Promise<void> {
    this.write(false, () => {
      this.db
        .prepare(
          `INSERT INTO nodes (name, host, pid, version, started_at, heartbeat_at, status, types, concurrency, running,
             cpu_capacity, cpu_used, load_per_core, memory_bytes)
           VALUES (@name, @host, @pid, @version, @startedAt, @now, @status, @types, @concurrency, @running,
             @cpuCapacity, @cpuUsed, @loadPerCore, @memoryBytes)
           ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, status = excluded.status,
             types = excluded.types, concurrency = excluded.concurrency, running = excluded.running,
             cpu_capacity = excluded.cpu_capacity, cpu_used = excluded.cpu_used, load_per_core = excluded.load_per_core,
             memory_bytes = excluded.memory_bytes`,
        )
        .run({ ...node, startedAt: node.startedAt.getTime(), now: Date.now(), types: JSON.stringify(node.types) });
    });
  }

  async nodeList(): Promise<NodeRow[]> {
    return (this.db.prepare("SELECT * FROM nodes ORDER BY heartbeat_at DESC, name").all() as SqlRow[]).map(rowToNode);
  }

  async nodeMarkStale(staleMs: number): Promise<NodeRow[]> {
    return this.write(false, () =>
      (
        this.db
          .prepare("UPDATE nodes SET status = 'offline' WHERE status <> 'offline' AND heartbeat_at < ? RETURNING *")
          .all(Date.now() - staleMs) as SqlRow[]
      ).map(rowToNode),
    );
  }

  async nodePrune(olderThanMs: number): Promise<number> {
    return this.write(false, () =>
      this.db.prepare("DELETE FROM nodes WHERE status = 'offline' AND heartbeat_at < ?").run(Date.now() - olderThanMs).changes,
    );
  }

  // ---- the built-in `sql` task type ----

  /** One statement in a durable `BEGIN IMMEDIATE` transaction (see `sqliteSqlRun`). */
  async sqlRun(statement: string, params: unknown[], options: SqlRunOptions): Promise<SqlRunResult> {
    return this.write(true, () => sqliteSqlRun(this.db, statement, params, options));
  }
}

function rowToUser(row: SqlRow): UserRow {
  return { name: row.name, role: row.role, createdAt: new Date(row.created_at) };
}

function rowToToken(row: SqlRow): ApiTokenRow {
  return {
    id: row.id,
    userName: row.user_name,
    hash: row.hash,
    label: row.label,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}

function statusCondition(status: TaskStatus, args: unknown[], now: number): string {
  if (status === "scheduled") {
    args.push(now);
    return "(status = 'queued' AND run_at > ?)";
  }
  if (status === "queued") {
    args.push(now);
    return "(status = 'queued' AND run_at <= ?)";
  }
  args.push(status);
  return "status = ?";
}
