import type { MigrationState, Store, ChangeHint, SqlRunOptions, SqlRunResult, StoreCapabilities, StoreThreadConfig, ClaimRequest, FinishApplied, RunFinish } from "../store.js";
import type { TaskRow } from "../../model/task-row.js";
import { SQLITE_MIGRATIONS } from "./migrations.js";
import { SqliteClaims } from "./sqlite-claim.js";
import { SqliteDb } from "./sqlite-db.js";
import { SqliteNodes } from "./sqlite-nodes.js";
import { SqliteWakeups } from "./sqlite-notify.js";
import { SqliteRuns } from "./sqlite-runs.js";
import { SqliteSchedules } from "./sqlite-schedules.js";
import { sqliteSqlRun } from "./sqlite-sql-run.js";
import { SqliteTaskLog } from "./sqlite-task-log.js";
import { SqliteTasks } from "./sqlite-tasks.js";
import { SqliteTypes } from "./sqlite-types.js";
import { SqliteUpkeep } from "./sqlite-upkeep.js";
import { SqliteUsers } from "./sqlite-users.js";

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

/**
 * SQLite store on better-sqlite3: WAL, one writer at a time, `BEGIN IMMEDIATE` for every write
 * transaction so a writer never has to upgrade a read lock (which is where "database is locked"
 * comes from), and a busy timeout for the other processes on the same file. This class is the
 * shell; each concern is a part in a file of its own (claim, tasks, runs, upkeep, types,
 * schedules, users, task-log, nodes, notify), with the same file and statement names as the PostgreSQL
 * store's.
 */
export class SqliteStore implements Store {
  readonly dialect = "sqlite" as const;
  readonly capabilities: StoreCapabilities;
  private readonly options: SqliteStoreOptions;
  private readonly shared: SqliteDb;
  private readonly wakeups: SqliteWakeups;
  private readonly tasks: SqliteTasks;
  private readonly claims: SqliteClaims;
  private readonly runs: SqliteRuns;
  private readonly upkeep: SqliteUpkeep;
  private readonly schedules: SqliteSchedules;
  private readonly users: SqliteUsers;
  private readonly taskLog: SqliteTaskLog;
  private readonly nodes: SqliteNodes;
  private readonly types: SqliteTypes;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.options = options;
    const memory = options.path === ":memory:";
    this.shared = new SqliteDb(options);
    this.capabilities = { multiProcess: !memory, transactionalAdd: false, changeNotification: !memory, cancelNotification: false, dueTimeNotification: false, roundTripClaims: false };
    if (options.migrate !== false) this.migrateSync();
    this.wakeups = new SqliteWakeups(this.shared.db, { safetyPollMs: options.changeSafetyPollMs, fallbackPollMs: options.changeFallbackPollMs });
    this.tasks = new SqliteTasks(this.shared);
    this.claims = new SqliteClaims(this.shared);
    this.runs = new SqliteRuns(this.shared);
    this.upkeep = new SqliteUpkeep(this.shared, this.runs);
    this.schedules = new SqliteSchedules(this.shared, this.tasks);
    this.users = new SqliteUsers(this.shared);
    this.taskLog = new SqliteTaskLog(this.shared);
    this.nodes = new SqliteNodes(this.shared);
    this.types = new SqliteTypes(this.shared);
  }

  private migrateSync(): number[] {
    return this.shared.write(true, () => {
      this.shared.db.exec(
        "CREATE TABLE IF NOT EXISTS tasklane_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
      );
      const applied = new Set(
        (this.shared.db.prepare("SELECT version FROM tasklane_migrations").all() as Array<{ version: number }>).map((r) => r.version),
      );
      const done: number[] = [];
      for (const m of SQLITE_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        this.shared.db.exec(m.sql);
        this.shared.db.prepare("INSERT INTO tasklane_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
        done.push(m.version);
      }
      return done;
    });
  }

  async migrate(): Promise<number[]> {
    return this.migrateSync();
  }

  async migrationStatus(): Promise<MigrationState[]> {
    const exists = this.shared.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasklane_migrations'").get();
    const rows = (exists ? this.shared.db.prepare("SELECT version, applied_at FROM tasklane_migrations").all() : []) as Array<{
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
    this.wakeups.close();
    this.shared.db.close();
  }

  async now(): Promise<number> {
    return Date.now();
  }

  threadConfig(): StoreThreadConfig | null {
    if (this.options.path === ":memory:") return null;
    return { dialect: "sqlite", path: this.options.path, busyTimeoutMs: this.shared.busyTimeoutMs };
  }

  watchChanges(onChange: (hint: ChangeHint) => void): () => void {
    return this.wakeups.watchChanges(onChange);
  }

  async taskFinishAndClaim(
    finishes: RunFinish[],
    claim: ClaimRequest,
  ): Promise<{ applied: FinishApplied[]; claimed: TaskRow[]; claimError?: Error }> {
    return this.shared.write(false, () => {
      const applied = finishes.length ? this.runs.finishSync(finishes) : [];
      const claimed = claim.limit > 0 && claim.types.length > 0 ? this.claims.claimSync(claim) : [];
      return { applied, claimed };
    });
  }

  /** One statement in a durable `BEGIN IMMEDIATE` transaction (see `sqliteSqlRun`). */
  async sqlRun(statement: string, params: unknown[], options: SqlRunOptions): Promise<SqlRunResult> {
    return this.shared.write(true, () => sqliteSqlRun(this.shared.db, statement, params, options));
  }

  // One line per part method: prototype methods (not fields), so instrumentation can wrap them.
  // tasks
  taskInsertMany(...a: Parameters<Store["taskInsertMany"]>) { return this.tasks.taskInsertMany(...a); }
  taskGet(...a: Parameters<Store["taskGet"]>) { return this.tasks.taskGet(...a); }
  taskList(...a: Parameters<Store["taskList"]>) { return this.tasks.taskList(...a); }
  taskQuery(...a: Parameters<Store["taskQuery"]>) { return this.tasks.taskQuery(...a); }
  taskCount(...a: Parameters<Store["taskCount"]>) { return this.tasks.taskCount(...a); }
  taskCancel(...a: Parameters<Store["taskCancel"]>) { return this.tasks.taskCancel(...a); }
  taskRetry(...a: Parameters<Store["taskRetry"]>) { return this.tasks.taskRetry(...a); }
  taskDelete(...a: Parameters<Store["taskDelete"]>) { return this.tasks.taskDelete(...a); }
  taskStats(...a: Parameters<Store["taskStats"]>) { return this.tasks.taskStats(...a); }
  // claims
  taskClaim(...a: Parameters<Store["taskClaim"]>) { return this.claims.taskClaim(...a); }
  // runs
  leaseRenewMany(...a: Parameters<Store["leaseRenewMany"]>) { return this.runs.leaseRenewMany(...a); }
  progressWriteMany(...a: Parameters<Store["progressWriteMany"]>) { return this.runs.progressWriteMany(...a); }
  eventInsertMany(...a: Parameters<Store["eventInsertMany"]>) { return this.runs.eventInsertMany(...a); }
  taskFinishMany(...a: Parameters<Store["taskFinishMany"]>) { return this.runs.taskFinishMany(...a); }
  runList(...a: Parameters<Store["runList"]>) { return this.runs.runList(...a); }
  eventList(...a: Parameters<Store["eventList"]>) { return this.runs.eventList(...a); }
  // upkeep
  taskRescueExpired(...a: Parameters<Store["taskRescueExpired"]>) { return this.upkeep.taskRescueExpired(...a); }
  taskRescueNode(...a: Parameters<Store["taskRescueNode"]>) { return this.upkeep.taskRescueNode(...a); }
  taskExpireOverdue(...a: Parameters<Store["taskExpireOverdue"]>) { return this.upkeep.taskExpireOverdue(...a); }
  prune(...a: Parameters<Store["prune"]>) { return this.upkeep.prune(...a); }
  flowStartPrune(...a: Parameters<Store["flowStartPrune"]>) { return this.upkeep.flowStartPrune(...a); }
  // types
  typePause(...a: Parameters<Store["typePause"]>) { return this.types.typePause(...a); }
  typePausedList(...a: Parameters<Store["typePausedList"]>) { return this.types.typePausedList(...a); }
  typeActivity(...a: Parameters<Store["typeActivity"]>) { return this.types.typeActivity(...a); }
  // schedules
  scheduleUpsert(...a: Parameters<Store["scheduleUpsert"]>) { return this.schedules.scheduleUpsert(...a); }
  scheduleGet(...a: Parameters<Store["scheduleGet"]>) { return this.schedules.scheduleGet(...a); }
  scheduleList(...a: Parameters<Store["scheduleList"]>) { return this.schedules.scheduleList(...a); }
  scheduleDelete(...a: Parameters<Store["scheduleDelete"]>) { return this.schedules.scheduleDelete(...a); }
  schedulePause(...a: Parameters<Store["schedulePause"]>) { return this.schedules.schedulePause(...a); }
  scheduleFire(...a: Parameters<Store["scheduleFire"]>) { return this.schedules.scheduleFire(...a); }
  scheduleNoteTask(...a: Parameters<Store["scheduleNoteTask"]>) { return this.schedules.scheduleNoteTask(...a); }
  scheduleTicks(...a: Parameters<Store["scheduleTicks"]>) { return this.schedules.scheduleTicks(...a); }
  scheduleTickPrune(...a: Parameters<Store["scheduleTickPrune"]>) { return this.schedules.scheduleTickPrune(...a); }
  // users
  userInsert(...a: Parameters<Store["userInsert"]>) { return this.users.userInsert(...a); }
  userGet(...a: Parameters<Store["userGet"]>) { return this.users.userGet(...a); }
  userList(...a: Parameters<Store["userList"]>) { return this.users.userList(...a); }
  userCount(...a: Parameters<Store["userCount"]>) { return this.users.userCount(...a); }
  userDelete(...a: Parameters<Store["userDelete"]>) { return this.users.userDelete(...a); }
  tokenInsert(...a: Parameters<Store["tokenInsert"]>) { return this.users.tokenInsert(...a); }
  tokenGet(...a: Parameters<Store["tokenGet"]>) { return this.users.tokenGet(...a); }
  tokenList(...a: Parameters<Store["tokenList"]>) { return this.users.tokenList(...a); }
  tokenRevoke(...a: Parameters<Store["tokenRevoke"]>) { return this.users.tokenRevoke(...a); }
  // taskLog
  taskEventList(...a: Parameters<Store["taskEventList"]>) { return this.taskLog.taskEventList(...a); }
  taskEventLastId(...a: Parameters<Store["taskEventLastId"]>) { return this.taskLog.taskEventLastId(...a); }
  taskEventPrune(...a: Parameters<Store["taskEventPrune"]>) { return this.taskLog.taskEventPrune(...a); }
  // nodes
  nodeHeartbeat(...a: Parameters<Store["nodeHeartbeat"]>) { return this.nodes.nodeHeartbeat(...a); }
  nodeList(...a: Parameters<Store["nodeList"]>) { return this.nodes.nodeList(...a); }
  nodeMarkStale(...a: Parameters<Store["nodeMarkStale"]>) { return this.nodes.nodeMarkStale(...a); }
  nodePrune(...a: Parameters<Store["nodePrune"]>) { return this.nodes.nodePrune(...a); }
}
