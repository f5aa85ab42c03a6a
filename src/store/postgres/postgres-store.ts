import pg from "pg";
import type { MigrationState, Store, ChangeWatcher, ClaimRequest, FinishApplied, RunFinish, SqlRunOptions, SqlRunResult, StoreCapabilities, StoreThreadConfig } from "../store.js";
import { ConfigError } from "../../model/errors.js";
import type { TaskRow } from "../../model/task-row.js";
import { POSTGRES_MIGRATIONS } from "./migrations.js";
import { PgClaims } from "./postgres-claim.js";
import { PgDb } from "./postgres-db.js";
import { PgNodes } from "./postgres-nodes.js";
import { PgWakeups } from "./postgres-notify.js";
import { PgRuns } from "./postgres-runs.js";
import { PgSchedules } from "./postgres-schedules.js";
import { postgresSqlRun } from "./postgres-sql-run.js";
import { PgTaskLog } from "./postgres-task-log.js";
import { PgTasks } from "./postgres-tasks.js";
import { PgTypes } from "./postgres-types.js";
import { PgUpkeep } from "./postgres-upkeep.js";
import { PgUsers } from "./postgres-users.js";

export { parseWakePayload } from "./postgres-notify.js";

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Schema holding Tasklane's tables [tasklane]. */
  schema?: string;
  /** Connections in the pool [10]: the worker's claim/finish loop, the flusher, maintenance and client calls share it. */
  poolSize?: number;
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
  /**
   * `transaction` when `url` is a connection pooler in transaction mode (PgBouncer
   * `pool_mode = transaction`): no startup options or prepared statements on pooled connections
   * (bookkeeping commits then wait for the WAL flush), and `LISTEN` and migrations on
   * `directUrl`. [none: `url` is PostgreSQL itself, or a pooler in session mode]
   */
  pooler?: "transaction" | null;
  /** A connection straight to PostgreSQL, for `LISTEN` and migrations (session state). Required with `pooler: "transaction"`. [url] */
  directUrl?: string;
}

/**
 * PostgreSQL store on `pg`: `FOR UPDATE SKIP LOCKED` batched claims in one statement, set-based
 * finishes, `LISTEN/NOTIFY` as a wake-up hint, the database clock (`now()`) as the one time
 * authority, migrations under an advisory lock. This class is the shell; each concern is a part
 * in a file of its own (claim, tasks, runs, upkeep, types, schedules, users, task-log, nodes, notify),
 * with the same file and statement names as the SQLite store's.
 */
export class PostgresStore implements Store {
  readonly dialect = "postgres" as const;
  readonly capabilities: StoreCapabilities = {
    multiProcess: true,
    transactionalAdd: true,
    changeNotification: true,
    cancelNotification: true,
    dueTimeNotification: true,
    roundTripClaims: true,
  };
  readonly schema: string;
  private readonly directUrl: string;
  private readonly db: PgDb;
  private readonly wakeups: PgWakeups;
  private readonly tasks: PgTasks;
  private readonly claims: PgClaims;
  private readonly runs: PgRuns;
  private readonly upkeep: PgUpkeep;
  private readonly schedules: PgSchedules;
  private readonly users: PgUsers;
  private readonly taskLog: PgTaskLog;
  private readonly nodes: PgNodes;
  private readonly types: PgTypes;
  private closed = false;

  private constructor(options: PostgresStoreOptions) {
    this.schema = options.schema ?? "tasklane";
    if (options.pooler === "transaction" && !options.directUrl) {
      throw new ConfigError(
        "pooler: transaction mode needs directUrl (URL parameter direct_url): a connection straight to PostgreSQL for LISTEN and migrations",
      );
    }
    this.directUrl = options.directUrl ?? options.url;
    this.db = new PgDb({ url: options.url, schema: this.schema, poolSize: options.poolSize ?? 10, pooler: options.pooler ?? null });
    this.tasks = new PgTasks(this.db);
    this.claims = new PgClaims(this.db);
    this.wakeups = new PgWakeups(this.directUrl, this.schema, () => this.claims.forgetPausedTypes());
    this.runs = new PgRuns(this.db);
    this.upkeep = new PgUpkeep(this.db);
    this.schedules = new PgSchedules(this.db, this.tasks);
    this.users = new PgUsers(this.db);
    this.taskLog = new PgTaskLog(this.db);
    this.nodes = new PgNodes(this.db);
    this.types = new PgTypes(this.db);
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      // First, so that a pooler in transaction mode is caught before migrations (whose session
      // lock it would strand on one of its server connections).
      await store.db.book("SELECT 1").catch((error: Error) => {
        if (!/startup parameter/i.test(error.message)) throw error;
        throw new ConfigError(`db: ${error.message}: behind a pooler in transaction mode, add ?pooler=transaction&direct_url=… (see docs/cluster.md)`);
      });
      if (options.migrate !== false) await store.migrate();
      await store.db.measureClock();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  now(): Promise<number> {
    return this.db.now();
  }

  threadConfig(): StoreThreadConfig {
    return { dialect: "postgres", url: this.db.url, schema: this.schema, pooler: this.db.pooler, directUrl: this.directUrl };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wakeups.close();
    await this.db.close();
  }

  watchChanges(onChange: ChangeWatcher): () => void {
    return this.wakeups.watchChanges(onChange);
  }

  async migrate(): Promise<number[]> {
    // A session of its own, straight to PostgreSQL: the lock below is held across transactions.
    const client = new pg.Client({ connectionString: this.directUrl, application_name: "tasklane-migrate" });
    await client.connect();
    const lockKey = `tasklane:migrate:${this.schema}`;
    try {
      // Concurrent starters queue here; the first applies, the others find nothing to do.
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [lockKey]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.db.S}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.db.S}.tasklane_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${this.db.S}.tasklane_migrations`);
      const applied = new Set(rows.map((r) => r.version));
      const done: number[] = [];
      for (const m of POSTGRES_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(m.sql.replaceAll("{schema}", this.db.S));
          await client.query(`INSERT INTO ${this.db.S}.tasklane_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        }
        done.push(m.version);
      }
      return done;
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  async migrationStatus(): Promise<MigrationState[]> {
    const [exists] = await this.db.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [`${this.db.S}.tasklane_migrations`]);
    const rows = exists?.t
      ? await this.db.query<{ version: number; applied_at: Date }>(`SELECT version, applied_at FROM ${this.db.S}.tasklane_migrations`)
      : [];
    const applied = new Map(rows.map((r) => [r.version, r.applied_at]));
    return POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: applied.get(m.version) ?? null }));
  }

  async taskFinishAndClaim(
    finishes: RunFinish[],
    claim: ClaimRequest,
  ): Promise<{ applied: FinishApplied[]; claimed: TaskRow[]; claimError?: Error }> {
    // One after the other, never the claim alone: claimed rows must reach a caller that will run
    // them, which a failed finish (thrown) would not.
    const applied = await this.runs.taskFinishMany(finishes);
    try {
      return { applied, claimed: await this.claims.taskClaim(claim) };
    } catch (error) {
      return { applied, claimed: [], claimError: error as Error };
    }
  }

  async sqlRun(statement: string, params: unknown[], options: SqlRunOptions): Promise<SqlRunResult> {
    return postgresSqlRun(this.db.pool, this.db.S, statement, params, options);
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
  analyzeIfStale() { return this.upkeep.analyzeIfStale(); }
  flowStartPrune(...a: Parameters<Store["flowStartPrune"]>) { return this.upkeep.flowStartPrune(...a); }
  // types
  async typePause(type: string, paused: boolean): Promise<boolean> {
    const changed = await this.types.typePause(type, paused);
    // This node's next claim sees it at once, notice or not.
    this.claims.forgetPausedTypes();
    return changed;
  }
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
