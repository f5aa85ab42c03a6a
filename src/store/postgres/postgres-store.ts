import { createHash } from "node:crypto";
import pg from "pg";
import { KeyConflictError, QueueFullError, ValidationError } from "../../model/errors.js";
import type { TaskStatus } from "../../model/status.js";
import { runIdOf, type EventRow, type RunRow, type TaskRow } from "../../model/task-row.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
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
  ChangeWatcher,
  RescueOutcome,
  StoreCapabilities,
  StoreThreadConfig,
  TaskListFilter,
  TaskPage,
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
import type { ClaimType, DispatchPolicy } from "../store.js";

const PRIORITY_POLICY: DispatchPolicy = { order: "priority", agingMs: null };
import { POSTGRES_MIGRATIONS } from "./migrations.js";
import { candidateStatement, claimStatement, fairKeyAdvanceStatement, policyTakesNinth, startedEvents } from "./postgres-claim.js";
import { FlowAllowance, rateWindows } from "../flow-budget.js";
import { chooseCandidates } from "../claim-choice.js";
import { missedColumns, missedOfColumns, type ScheduleFire, type ScheduleFired, type ScheduleRow, type ScheduleTick, type ScheduleWrite } from "../../model/schedule.js";
import type { SqlRunOptions, SqlRunResult } from "../store.js";
import { postgresSqlRun } from "./postgres-sql-run.js";
import { addedEvents, changedEvents, deletedEvents, endOfRunKind, insertTaskEvents } from "./postgres-task-events.js";
import { pgRowToEvent, pgRowToNode, pgRowToRun, pgRowToTask, pgRowToToken, pgRowToUser, type PgRow } from "./postgres-rows.js";
import type { NodeHeartbeat, NodeRow } from "../../model/node-row.js";

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Schema holding Tasklane's tables [tasklane]. */
  schema?: string;
  /** Connections in the pool [10]: the worker's claim/finish loop, the flusher, maintenance and client calls share it. */
  poolSize?: number;
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
}

/** The NOTIFY channel for wake-ups; the payload is the schema, so schemas sharing a database stay apart. */
const WAKE_CHANNEL = "tasklane_wake";

/**
 * Payloads on the wake channel: `schema` (work due now), `schema:at:MS` (work added that is due
 * at MS by the database clock, none due now), `schema:cancel`, `schema:schedules`. Other
 * schemas' payloads are ignored.
 */
export function parseWakePayload(schema: string, payload: string): { hint: ChangeHint; dueAt?: number } | null {
  if (payload === schema) return { hint: "work" };
  if (!payload.startsWith(`${schema}:`)) return null;
  const rest = payload.slice(schema.length + 1);
  if (rest === "cancel") return { hint: "cancel" };
  if (rest === "schedules") return { hint: "schedules" };
  if (rest.startsWith("at:")) {
    const dueAt = Number(rest.slice(3));
    return Number.isFinite(dueAt) ? { hint: "work", dueAt } : { hint: "work" };
  }
  return null;
}
const FINAL_SQL = "('succeeded','failed','cancelled','expired')";
const OUT_OF_TRIES = "(attempt >= max_attempts OR run_count >= max_runs)";
// Times are stored as timestamptz(3), which ROUNDS to the millisecond: a run_at set to now() may
// read back up to 0.5 ms after now(). Comparisons that decide "due later" use now() rounded the
// same way (now()::timestamptz(3)), or a task added "now" would report itself scheduled.

// bigint (int8) columns hold counts and ids well inside 2^53: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/**
 * JSON for what handlers produce (results, errors, log lines, progress messages): PostgreSQL's
 * jsonb and text cannot hold the NUL character, and one such string must not make a whole batch
 * of outcomes unwritable, so NUL becomes U+FFFD. (Params with NUL are refused at `add`.)
 */
function pgJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" && v.includes("\u0000") ? v.replaceAll("\u0000", "\uFFFD") : v));
}

function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new ValidationError(`schema: "${name}" is not a plain SQL identifier`);
  return `"${name}"`;
}

/**
 * PostgreSQL store on `pg`: `FOR UPDATE SKIP LOCKED` batched claims in one statement, set-based
 * finishes, `LISTEN/NOTIFY` as a wake-up hint, the database clock (`now()`) as the one time
 * authority, migrations under an advisory lock.
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
  private readonly S: string;
  private readonly pool: pg.Pool;
  /**
   * Connections for worker bookkeeping (claims, run ends, leases, progress, logs, rescues), which
   * commit with synchronous_commit off: no WAL flush wait per commit. Losing one of those to a
   * server crash only makes a task run again (at-least-once), never loses a task; a later durable
   * commit flushes the WAL before it, in order. Adds, cancels, retries and deletes use \`pool\`
   * and are durable when they return.
   */
  private readonly bookkeeping: pg.Pool;
  private clockOffsetMs = 0;
  private clockMeasuredAt = 0;
  private listener: pg.Client | null = null;
  private readonly watchers = new Set<ChangeWatcher>();
  private listenRetry: NodeJS.Timeout | null = null;
  /** A LISTEN connection exists, is being opened, or will be retried. */
  private listening = false;
  private closed = false;
  private readonly sql: ReturnType<PostgresStore["statements"]>;
  private readonly claimStatements = new Map<string, string>();
  /** The fairness key served last: the next fair claim starts after it, so every key gets turns. */
  private fairCursor = "";

  private constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? "tasklane";
    this.S = quoteIdent(this.schema);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      types,
      application_name: "tasklane",
      // A database restart breaks idle connections: drop them quietly; the next query reconnects.
      idleTimeoutMillis: 30_000,
    });
    this.pool.on("error", () => undefined);
    this.bookkeeping = new pg.Pool({
      connectionString: options.url,
      max: Math.max(2, Math.ceil((options.poolSize ?? 10) / 2)),
      types,
      application_name: "tasklane-worker",
      idleTimeoutMillis: 30_000,
      options: "-c synchronous_commit=off",
    });
    this.bookkeeping.on("error", () => undefined);
    this.sql = this.statements();
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      if (options.migrate !== false) await store.migrate();
      await store.measureClock();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  // ---------------------------------------------------------------- plumbing

  private statements() {
    const S = this.S;
    // A re-queue becomes final when a cancel was requested, or when no run is left (maxRuns):
    // nothing would ever claim, rescue or retry it otherwise.
    const NEXT = `(CASE WHEN f.next = 'queued' AND t.cancel_requested THEN 'cancelled'
      WHEN f.next = 'queued' AND t.run_count >= t.max_runs THEN 'failed' ELSE f.next END)`;
    // The follow-ups of tasks that just ended for good, added in the same statement as their end.
    // Fixed ids make a second insert of the same follow-up a no-op.
    const followUps = (ended: string) => `INSERT INTO ${S}.tasks (id, type, name, description, params, status, priority, run_at,
          created_at, updated_at, max_attempts, max_runs, backoff, timeout_ms, cpu, executor, delete_after_ms, owner, grp, parent, follow_ups)
        SELECT k.id, k.type, k.name, k.description, coalesce(k.params, 'null'::jsonb), 'queued', k.priority, now() + k."delayMs" * interval '1 millisecond',
          now(), now(), k."maxAttempts", k."maxRuns", k.backoff, k."timeoutMs", k.cpu, k.executor, k."deleteAfterMs", k.owner, k."group",
          jsonb_build_object('id', e.id, 'type', e.type, 'status', e.status, 'result', e.result, 'error', e.error),
          CASE WHEN jsonb_array_length(k."followUps") > 0 THEN k."followUps" END
        FROM ${ended} e CROSS JOIN LATERAL jsonb_to_recordset(e.follow_ups) AS k(id text, "on" text, type text, name text,
          description text, params jsonb, priority int, "maxAttempts" int, "maxRuns" int, backoff jsonb, "timeoutMs" int, cpu int,
          executor text, "deleteAfterMs" bigint, owner text, "group" text, "delayMs" float8, "followUps" jsonb)
        WHERE e.status IN ('succeeded', 'failed') AND e.follow_ups IS NOT NULL
          AND k."on" = CASE e.status WHEN 'succeeded' THEN 'success' ELSE 'failure' END
        ON CONFLICT DO NOTHING
        RETURNING id, type, owner, status, run_at, created_at, attempt, run_count`;
    // jsonb_to_recordset turns a JSON null into SQL NULL: params `null` are stored as JSON null.
    const insertSql = `INSERT INTO ${S}.tasks (id, type, name, description, params, status, priority, run_at, created_at, updated_at,
          max_attempts, max_runs, backoff, timeout_ms, cpu, executor, deadline, delete_after_ms, key, owner, grp, follow_ups)
        SELECT x.id, x.type, x.name, x.description, coalesce(x.params, 'null'::jsonb), 'queued', x.priority, COALESCE(x.run_at::timestamptz, now()), now(), now(),
          x.max_attempts, x.max_runs, x.backoff, x.timeout_ms, x.cpu, x.executor, x.deadline::timestamptz, x.delete_after_ms, x.key, x.owner,
          x.grp, x.follow_ups
        FROM jsonb_to_recordset($1::jsonb) AS x(id text, type text, name text, description text, params jsonb,
          priority int, run_at text, max_attempts int, max_runs int, backoff jsonb, timeout_ms int, cpu int, executor text,
          deadline text, delete_after_ms bigint, key text, owner text, grp text, follow_ups jsonb)
        -- Only a held business key is skipped (its holder is returned); a duplicate id fails the
        -- whole statement, so a batch stays all or nothing even outside a transaction.
        ON CONFLICT (key) WHERE key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING
        RETURNING *, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now`;
    // Every add, with its 'added' events in the same statement (see postgres-task-events.ts).
    const insertWithEvents = `ins AS (${insertSql}),
        ins_events AS (${insertTaskEvents(S, addedEvents("ins"))})`;
    return {
      insert: `WITH ${insertWithEvents} SELECT * FROM ins`,
      // The referenced scalar subquery makes the notify run (an unreferenced SELECT CTE would not).
      // Tasks all due later tell their earliest due time, so idle nodes set a timer for it
      // instead of polling every second (see parseWakePayload).
      insertAndNotify: `WITH ${insertWithEvents},
          woke AS (
            SELECT pg_notify($2, CASE WHEN bool_and(scheduled_now)
              THEN $3 || ':at:' || floor(extract(epoch FROM min(run_at)) * 1000)::bigint ELSE $3 END)
            FROM ins HAVING count(*) > 0
          )
        SELECT ins.*, (SELECT count(*) FROM woke) AS woke FROM ins`,
      fairKeyAdvance: fairKeyAdvanceStatement(S),
      finish: `WITH f AS (
          SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, run_no int, next text, delay_ms float8, refund int,
            result jsonb, error jsonb, p_current float8, p_total float8, p_message text, p_rate float8, p_at text, outcome text)
        ),
        locked AS (
          SELECT t.id FROM ${S}.tasks t JOIN f ON t.id = f.id AND t.run_count = f.run_no
          WHERE t.status = 'running' ORDER BY t.id FOR UPDATE OF t
        ),
        upd AS (
          UPDATE ${S}.tasks t SET
            status = ${NEXT},
            -- A released run (attempt refunded) goes back to its old place in the claim order.
            run_at = CASE WHEN f.next = 'queued' AND f.refund = 0 THEN now() + f.delay_ms * interval '1 millisecond' ELSE t.run_at END,
            attempt = t.attempt - f.refund,
            result = f.result,
            error = f.error,
            finished_at = CASE WHEN ${NEXT} = 'queued' THEN NULL ELSE now() END,
            delete_at = CASE WHEN ${NEXT} = 'queued' THEN NULL ELSE now() + t.delete_after_ms * interval '1 millisecond' END,
            lease_expires_at = NULL,
            updated_at = now(),
            progress_current = CASE WHEN f.p_at IS NOT NULL THEN f.p_current ELSE t.progress_current END,
            progress_total = CASE WHEN f.p_at IS NOT NULL THEN f.p_total ELSE t.progress_total END,
            progress_message = CASE WHEN f.p_at IS NOT NULL THEN f.p_message ELSE t.progress_message END,
            progress_rate = CASE WHEN f.p_at IS NOT NULL THEN f.p_rate ELSE t.progress_rate END,
            progress_at = CASE WHEN f.p_at IS NOT NULL THEN f.p_at::timestamptz ELSE t.progress_at END
          FROM f JOIN locked ON locked.id = f.id WHERE t.id = f.id AND t.run_count = f.run_no AND t.status = 'running'
          RETURNING t.id, t.run_count, t.status, t.run_at, t.attempt, t.updated_at, t.finished_at, t.delete_at,
            t.node, t.started_at, f.refund, f.outcome, f.result, f.error, t.type, t.follow_ups, t.owner
        ),
        kids AS (${followUps("upd")}),
        -- The run ends' and follow-ups' events, in this statement: one insert for the batch where
        -- the trigger before migration 5 made one plpgsql call and one insert per row. Measured:
        -- 91-99 -> 82-87 µs of server CPU per task for claim + finish of 100 on one connection,
        -- but 0.17 ms more planning per finish, so small concurrent batches cost more (see
        -- postgres-task-events.ts for every figure).
        upd_events AS (${insertTaskEvents(S, changedEvents("upd", endOfRunKind("e.attempt + e.refund")), addedEvents("kids"))}),
        -- A run's record is written once, when it ends; while it runs, the task row is its record.
        ins AS (
          INSERT INTO ${S}.runs (task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error)
          SELECT id, run_count, attempt + refund, node, started_at, now(), outcome, result, error FROM upd
        )
        SELECT id, run_count, status, run_at, attempt, updated_at, finished_at, delete_at, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now,
          CASE WHEN status = 'queued' AND run_at <= now()::timestamptz(3) THEN pg_notify($2, $3) END AS woke,
          (SELECT pg_notify($2, $3) FROM kids LIMIT 1) AS kids_woke
        FROM upd`,
      // Every multi-row update of running tasks (renew, progress, finish) first locks its rows in
      // id order: two of them over the same rows (a renewal and the finish of the same runs, from
      // two connections) would otherwise deadlock.
      renew: `WITH locked AS (
          SELECT t.id FROM ${S}.tasks t JOIN unnest($1::text[], $2::int[]) AS r(id, run_no) ON t.id = r.id AND t.run_count = r.run_no
          WHERE t.status = 'running' ORDER BY t.id FOR UPDATE OF t
        )
        UPDATE ${S}.tasks t SET lease_expires_at = now() + $3 * interval '1 millisecond'
        FROM locked WHERE t.id = locked.id AND t.status = 'running'
        RETURNING t.id, t.run_count, t.cancel_requested`,
      progress: `WITH x AS (
          SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, run_no int, current float8, total float8, message text, rate float8, at text)
        ),
        locked AS (
          SELECT t.id FROM ${S}.tasks t JOIN x ON t.id = x.id AND t.run_count = x.run_no
          WHERE t.status = 'running' ORDER BY t.id FOR UPDATE OF t
        )
        UPDATE ${S}.tasks t SET progress_current = x.current, progress_total = x.total, progress_message = x.message,
          progress_rate = x.rate, progress_at = x.at::timestamptz
        FROM x JOIN locked ON locked.id = x.id
        WHERE t.id = x.id AND t.run_count = x.run_no AND t.status = 'running'`,
      // In array order, so event ids follow the order the lines were written.
      eventInsert: `INSERT INTO ${S}.events (task_id, run_no, seq, at, level, message, data)
        SELECT e.v ->> 'task_id', (e.v ->> 'run_no')::int, (e.v ->> 'seq')::int, (e.v ->> 'at')::timestamptz, e.v ->> 'level',
          e.v ->> 'message', NULLIF(e.v -> 'data', 'null'::jsonb)
        FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, ord)
        -- Fenced like every write of a run: a run that lost its task writes no more lines.
        WHERE EXISTS (SELECT 1 FROM ${S}.tasks t
          WHERE t.id = e.v ->> 'task_id' AND t.run_count = (e.v ->> 'run_no')::int AND t.status = 'running')
        ORDER BY e.ord
        ON CONFLICT DO NOTHING`,
      runs: `SELECT task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error FROM ${S}.runs WHERE task_id = $1
        UNION ALL
        SELECT id, run_count, attempt, node, started_at, NULL, NULL, NULL, NULL FROM ${S}.tasks WHERE id = $1 AND status = 'running'
        ORDER BY 2`,
      rescue: (condition: string) => `WITH r AS (
          UPDATE ${S}.tasks SET
            status = CASE WHEN cancel_requested THEN 'cancelled' WHEN ${OUT_OF_TRIES} THEN 'failed' ELSE 'queued' END,
            -- run_at is kept: a rescued task goes back to its old place in the claim order, not
            -- behind everything added while its node was dying.
            lease_expires_at = NULL,
            updated_at = now(),
            error = jsonb_build_object('name', 'NodeLostError', 'message', 'node ' || node || ' ' || $1::text),
            finished_at = CASE WHEN cancel_requested OR ${OUT_OF_TRIES} THEN now() ELSE NULL END,
            delete_at = CASE WHEN cancel_requested OR ${OUT_OF_TRIES} THEN now() + delete_after_ms * interval '1 millisecond' ELSE NULL END
          -- SKIP LOCKED: a run being finished or renewed right now is not lost; a later tick sees it.
          WHERE id IN (SELECT id FROM ${S}.tasks WHERE ${condition} ORDER BY id FOR UPDATE SKIP LOCKED)
            AND ${condition}
          RETURNING *
        ),
        ins AS (
          INSERT INTO ${S}.runs (task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error)
          SELECT id, run_count, attempt, node, started_at, now(), 'offline', NULL, error FROM r
        ),
        kids AS (${followUps("r")}),
        r_events AS (${insertTaskEvents(S, changedEvents("r", endOfRunKind("e.attempt")), addedEvents("kids"))})
        -- One row at least: the earliest lease still to expire comes back even when nothing was
        -- rescued, so the caller can sleep until then (see Maintenance).
        SELECT r.*, (r.status = 'queued' AND r.run_at > now()::timestamptz(3)) AS scheduled_now, nx.next_expiry
        FROM (SELECT min(lease_expires_at) AS next_expiry FROM ${S}.tasks WHERE status = 'running' AND lease_expires_at > now()) AS nx
        LEFT JOIN r ON true`,
    };
  }

  private async query<R extends PgRow = PgRow>(text: string, values: unknown[] = [], client?: pg.ClientBase): Promise<R[]> {
    const result = await (client ?? this.pool).query<R>(text, values);
    return result.rows;
  }

  /**
   * A statement of worker bookkeeping: committed without waiting for the WAL flush (see
   * `bookkeeping`), and prepared once per connection under a name: the claim and finish
   * statements are large CTEs whose planning cost 0.1–0.2 ms on every call (measured by
   * EXPLAIN's planning time on this machine); a named statement is parsed and planned once.
   */
  private async book<R extends PgRow = PgRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const config = { name: this.statementName(text), text, values };
    try {
      return (await this.bookkeeping.query<R>(config)).rows;
    } catch (error) {
      // Another node migrated the schema under a prepared `RETURNING *`: prepare anew.
      if ((error as { code?: string }).code !== "0A000") throw error;
      this.statementGeneration++;
      this.statementNames.clear();
      return (await this.bookkeeping.query<R>({ ...config, name: this.statementName(text) })).rows;
    }
  }

  private readonly statementNames = new Map<string, string>();
  private statementGeneration = 0;

  private statementName(text: string): string {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `tl${this.statementGeneration}_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
      this.statementNames.set(text, name);
    }
    return name;
  }

  /** Runs `fn` in a transaction on one pooled connection. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const value = await fn(client);
      await client.query("COMMIT");
      return value;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async measureClock(): Promise<void> {
    const before = Date.now();
    const [row] = await this.query<{ ms: number }>("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms");
    const after = Date.now();
    this.clockOffsetMs = Math.round(row!.ms - (before + after) / 2);
    this.clockMeasuredAt = after;
  }

  async now(): Promise<number> {
    // The database clock, as an offset from this machine's measured once a minute: no round trip per add.
    if (Date.now() - this.clockMeasuredAt > 60_000) await this.measureClock().catch(() => undefined);
    return Date.now() + this.clockOffsetMs;
  }

  private nowSync(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private iso(ms: number | null): string | null {
    return ms === null ? null : new Date(ms).toISOString();
  }

  threadConfig(): StoreThreadConfig {
    return { dialect: "postgres", url: this.options.url, schema: this.schema };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.listenRetry) clearTimeout(this.listenRetry);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.bookkeeping.end().catch(() => undefined);
  }

  // ---------------------------------------------------------------- migrations

  async migrate(): Promise<number[]> {
    const client = await this.pool.connect();
    const lockKey = `tasklane:migrate:${this.schema}`;
    try {
      // Concurrent starters queue here; the first applies, the others find nothing to do.
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [lockKey]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.S}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.S}.tasklane_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${this.S}.tasklane_migrations`);
      const applied = new Set(rows.map((r) => r.version));
      const done: number[] = [];
      for (const m of POSTGRES_MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(m.sql.replaceAll("{schema}", this.S));
          await client.query(`INSERT INTO ${this.S}.tasklane_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
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
      client.release();
    }
  }

  async migrationStatus(): Promise<MigrationState[]> {
    const [exists] = await this.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [`${this.S}.tasklane_migrations`]);
    const rows = exists?.t
      ? await this.query<{ version: number; applied_at: Date }>(`SELECT version, applied_at FROM ${this.S}.tasklane_migrations`)
      : [];
    const applied = new Map(rows.map((r) => [r.version, r.applied_at]));
    return POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: applied.get(m.version) ?? null }));
  }

  // ---------------------------------------------------------------- wake-ups

  watchChanges(onChange: ChangeWatcher): () => void {
    this.watchers.add(onChange);
    // Set before the first await in listen(): two watchers added in one turn share one connection.
    if (!this.listening) {
      this.listening = true;
      void this.listen();
    }
    return () => {
      this.watchers.delete(onChange);
    };
  }

  /** One LISTEN connection per store, re-established after the database restarts. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.url, application_name: "tasklane-listen" });
    const retry = () => {
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
      if (this.closed || this.listenRetry || this.watchers.size === 0) {
        if (!this.listenRetry) this.listening = false;
        return;
      }
      this.listenRetry = setTimeout(() => {
        this.listenRetry = null;
        void this.listen();
      }, 1000);
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", (n) => {
      const wake = parseWakePayload(this.schema, n.payload ?? "");
      if (!wake) return;
      for (const watcher of this.watchers) watcher(wake.hint, wake.dueAt);
    });
    // Known from the start, so close() ends it even while it is still connecting.
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      // Anything committed while not listening: let the watchers look once.
      for (const watcher of this.watchers) watcher("any");
    } catch {
      retry();
    }
  }

  private notifyArgs(): [string, string] {
    return [WAKE_CHANNEL, this.schema];
  }

  // ---------------------------------------------------------------- tasks

  async taskInsertMany(tasks: NewTask[], limits: InsertLimits, options: InsertOptions = {}): Promise<InsertOutcome[]> {
    if (tasks.length === 0) return [];
    const limited = [...new Set(tasks.map((t) => t.type))].filter((type) => limits.maxQueued.has(type)).sort();
    try {
      if (!options.tx && limited.length === 0) {
        // The common case in one round trip: insert and wake the workers in one autocommit
        // statement (a transaction would cost BEGIN, NOTIFY and COMMIT on top).
        const rows = await this.query(this.sql.insertAndNotify, [this.insertPayload(tasks), ...this.notifyArgs()]);
        return await this.insertOutcomes(tasks, new Map(rows.map((r) => [r.id as string, r])), this.pool);
      }
      return await this.insertInTransaction(tasks, limits, limited, options);
    } catch (error) {
      const e = error as { code?: string; constraint?: string; detail?: string };
      if (e.code === "23505" && e.constraint === "tasks_pkey") {
        throw new ValidationError(`id: a task with this id already exists (${e.detail ?? "duplicate id"})`);
      }
      throw error;
    }
  }

  private async insertInTransaction(tasks: NewTask[], limits: InsertLimits, limited: string[], options: InsertOptions): Promise<InsertOutcome[]> {
    const run = async (client: pg.ClientBase): Promise<InsertOutcome[]> => {
      if (limited.length) {
        // maxQueued is a count, not a uniqueness: serialise adds of a limited type so two
        // concurrent adds cannot both see room for one.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1 || x)) FROM unnest($2::text[]) AS x", [`tasklane:${this.schema}:queued:`, limited]);
      }
      const rows = await this.query(this.sql.insert, [this.insertPayload(tasks)], client);
      const inserted = new Map(rows.map((r) => [r.id as string, r]));
      const outcomes = await this.insertOutcomes(tasks, inserted, client);
      if (limited.length) {
        const counts = await this.query<{ type: string; n: number }>(
          `SELECT type, count(*)::int AS n FROM ${this.S}.tasks WHERE status = 'queued' AND type = ANY($1::text[]) GROUP BY type`,
          [limited],
          client,
        );
        for (const { type, n } of counts) {
          const max = limits.maxQueued.get(type)!;
          if (n > max && outcomes.some((o) => !o.existing && o.task.type === type)) throw new QueueFullError(type, max);
        }
      }
      // Delivered at commit, so a transactional add wakes workers only if the caller commits.
      if (inserted.size) {
        const rows = [...inserted.values()];
        const payload = rows.every((r) => r.scheduled_now)
          ? `${this.schema}:at:${Math.min(...rows.map((r) => (r.run_at as Date).getTime()))}`
          : this.schema;
        await client.query("SELECT pg_notify($1, $2)", [WAKE_CHANNEL, payload]);
      }
      return outcomes;
    };
    if (options.tx) return run(options.tx as pg.ClientBase);
    return this.transaction(run);
  }

  private insertPayload(tasks: NewTask[]): string {
    return JSON.stringify(
      tasks.map((t) => ({
        ...t,
        params: t.params ?? null,
        run_at: this.iso(t.runAt),
        max_attempts: t.maxAttempts,
        max_runs: t.maxRuns,
        timeout_ms: t.timeoutMs,
        deadline: this.iso(t.deadline),
        delete_after_ms: t.deleteAfterMs,
        grp: t.group,
        follow_ups: t.followUps && t.followUps.length ? t.followUps : null,
      })),
    );
  }

  /**
   * Outcomes in input order. A task that was not inserted because its key is held by a live task
   * returns that task. If the holder finished in between (read committed), the task is inserted
   * again; a task with no key that was not inserted had a duplicate id.
   */
  private async insertOutcomes(tasks: NewTask[], inserted: Map<string, PgRow>, db: pg.ClientBase | pg.Pool): Promise<InsertOutcome[]> {
    const holders = new Map<string, PgRow>();
    for (let round = 0; round < 3; round++) {
      const keys = tasks.filter((t) => !inserted.has(t.id) && t.key !== null && !holders.has(t.key)).map((t) => t.key!);
      if (keys.length === 0) break;
      const found = (await db.query(
        `SELECT *, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now FROM ${this.S}.tasks
         WHERE key = ANY($1::text[]) AND status IN ('queued', 'running')`,
        [keys],
      )).rows as PgRow[];
      for (const r of found) holders.set(r.key as string, r);
      const orphans = tasks.filter((t) => !inserted.has(t.id) && t.key !== null && !holders.has(t.key));
      if (orphans.length === 0) break;
      for (const r of (await db.query(this.sql.insert, [this.insertPayload(orphans)])).rows as PgRow[]) inserted.set(r.id as string, r);
    }
    const now = this.nowSync();
    return tasks.map((t): InsertOutcome => {
      const row = inserted.get(t.id);
      if (row) return { task: pgRowToTask(row, now), existing: false };
      const holder = t.key === null ? undefined : holders.get(t.key);
      if (!holder) throw new ValidationError(`id: a task with id "${t.id}" already exists`);
      return { task: pgRowToTask(holder, now), existing: true };
    });
  }

  async taskGet(id: string): Promise<TaskRow | null> {
    const [row] = await this.query(`SELECT *, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now FROM ${this.S}.tasks WHERE id = $1`, [id]);
    return row ? pgRowToTask(row, this.nowSync()) : null;
  }

  async taskList(filter: TaskListFilter): Promise<TaskPage> {
    return this.taskQuery(filter);
  }

  async taskQuery(query: TaskQuery): Promise<TaskPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (value: unknown) => {
      args.push(value);
      return `$${args.length}`;
    };
    if (query.status?.length) {
      const parts = query.status.map((s) =>
        s === "scheduled"
          ? "(status = 'queued' AND run_at > now()::timestamptz(3))"
          : s === "queued"
            ? "(status = 'queued' AND run_at <= now()::timestamptz(3))"
            : `status = ${arg(s)}`,
      );
      where.push(`(${parts.join(" OR ")})`);
    }
    if (query.type?.length) where.push(`type = ANY(${arg(query.type)}::text[])`);
    if (query.owner !== undefined) where.push(`owner = ${arg(query.owner)}`);
    if (query.key !== undefined) where.push(`key = ${arg(query.key)}`);
    if (query.createdFrom !== undefined) where.push(`created_at >= ${arg(new Date(query.createdFrom).toISOString())}::timestamptz`);
    if (query.createdTo !== undefined) where.push(`created_at < ${arg(new Date(query.createdTo).toISOString())}::timestamptz`);
    if (query.search !== undefined && query.search !== "") {
      // strpos, not LIKE: the text is matched literally (no wildcards to escape).
      const q = arg(query.search.toLowerCase());
      where.push(`(strpos(lower(id), ${q}) > 0 OR strpos(lower(coalesce(key, '')), ${q}) > 0 OR strpos(lower(coalesce(name, '')), ${q}) > 0)`);
    }
    const desc = (query.order ?? "desc") === "desc";
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor);
      where.push(`(created_at, id) ${desc ? "<" : ">"} (${arg(new Date(createdAt).toISOString())}::timestamptz, ${arg(id)})`);
    }
    const dir = desc ? "DESC" : "ASC";
    const rows = await this.query(
      `SELECT *, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now FROM ${this.S}.tasks
       ${where.length ? "WHERE " + where.join(" AND ") : ""}
       ORDER BY created_at ${dir}, id ${dir} LIMIT ${arg(query.limit + 1)}`,
      args,
    );
    const now = this.nowSync();
    const tasks = rows.slice(0, query.limit).map((r) => pgRowToTask(r, now));
    const last = tasks[tasks.length - 1];
    return { tasks, nextCursor: rows.length > query.limit && last ? encodeCursor(last.createdAt.getTime(), last.id) : null };
  }

  async taskCount(): Promise<Array<{ status: TaskStatus; type: string; count: number }>> {
    return this.query(
      `SELECT CASE WHEN status = 'queued' AND run_at > now()::timestamptz(3) THEN 'scheduled' ELSE status END AS status, type, count(*)::int AS count
       FROM ${this.S}.tasks GROUP BY 1, 2`,
    ) as Promise<Array<{ status: TaskStatus; type: string; count: number }>>;
  }

  // ---------------------------------------------------------------- runs

  async taskClaim(req: ClaimRequest): Promise<TaskRow[]> {
    if (req.limit <= 0 || req.types.length === 0) return [];
    const policy = req.policy ?? PRIORITY_POLICY;
    if (req.types.some((t) => t.flow)) return this.claimWithFlow(req, policy);
    const limited = req.types.some((t) => Number.isFinite(t.slots));
    const scan = limited ? Math.min(req.limit * 4, 2000) : req.limit;
    const rows = await this.book(this.claimSql("claim", policy), this.claimParams(req, req.types, scan, policy));
    rows.sort((a, b) => Number(a.claim_no) - Number(b.claim_no));
    if (policy.order === "fair") {
      // A claim reads `limit` keys from the cursor on, and the key scan cannot tell which keys have
      // something claimable now (due, of these types), so it may come back short while later keys
      // have work. Move past the keys it examined and claim again, until full, every key was seen
      // (the statement itself wraps once the scan reaches the end), or 8 rounds.
      // When every key fitted in one round, a key may still hold more than its share: claim again
      // from the same cursor as long as the last round found something.
      let examined = req.limit;
      let progressed = rows.length > 0;
      for (let round = 1; rows.length < req.limit && round < 8; round++) {
        const [next] = await this.book<{ v: string; n: number }>(this.sql.fairKeyAdvance, [this.fairCursor, examined]);
        if (next && next.n >= examined) this.fairCursor = next.v;
        else if (!progressed) break;
        examined = req.limit - rows.length;
        const more = await this.book(this.claimSql("claim", policy), this.claimParams({ ...req, limit: examined }, req.types, scan, policy));
        more.sort((a, b) => Number(a.claim_no) - Number(b.claim_no));
        rows.push(...more);
        progressed = more.length > 0;
      }
      // The next claim starts after the last key served (or past the keys found empty).
      if (rows.length) this.fairCursor = rows[rows.length - 1]!.fair_key as string;
    }
    const now = this.nowSync();
    return rows.map((r) => pgRowToTask(r, now));
  }

  /** The claim's parameters ($1..$9 of postgres-claim.ts). */
  private claimParams(req: ClaimRequest, types: ClaimType[], scan: number, policy: DispatchPolicy): unknown[] {
    const params: unknown[] = [
      types.map((t) => t.type),
      types.map((t) => (Number.isFinite(t.slots) ? t.slots : 1_000_000_000)),
      req.node,
      scan,
      req.limit,
      req.cpuCapacity,
      Math.max(0, req.cpuFree),
      req.leaseMs,
    ];
    if (policy.order === "fair") params.push(this.fairCursor);
    else if (policyTakesNinth(policy)) params.push(policy.agingMs);
    return params;
  }

  private claimSql(kind: "claim" | "candidates", policy: DispatchPolicy): string {
    const key = `${kind}:${policy.order}:${policy.agingMs !== null}`;
    let sql = this.claimStatements.get(key);
    if (!sql) {
      sql = kind === "claim" ? claimStatement(this.S, policy) : candidateStatement(this.S, policy);
      this.claimStatements.set(key, sql);
    }
    return sql;
  }

  /**
   * A claim of types with cluster-wide limits: under a transaction-scoped advisory lock, so the
   * running counts and recent starts it reads cannot change under it by another node's claim
   * (claims are the only way a task starts). Three round trips, paid only by limited types:
   * lock and read the budget; lock candidates (chosen in JS, as on SQLite); take them, record
   * their starts and commit. The first and last are simple-protocol batches with literals
   * escaped by the driver, so each is one round trip.
   */
  private async claimWithFlow(req: ClaimRequest, policy: DispatchPolicy): Promise<TaskRow[]> {
    const client = await this.bookkeeping.connect();
    const lit = (v: string) => client.escapeLiteral(v);
    const num = (v: number) => {
      if (!Number.isFinite(v)) throw new Error(`flow claim: ${v} is not a finite number`);
      return String(v);
    };
    try {
      const limited = req.types.filter((t) => t.flow);
      const S = this.S;
      const budget = [
        `SELECT type, grp, count(*)::int AS n, false AS is_start FROM ${S}.tasks
         WHERE status = 'running' AND type = ANY(ARRAY[${limited.map((t) => lit(t.type)).join(",")}]::text[]) GROUP BY type, grp`,
        // Index ranges over (type, grp, at): a window never holds more rows of a scope than its limit.
        ...rateWindows(limited).map(
          (w) => `SELECT type, NULLIF(grp, ''), count(*)::int, true FROM ${S}.flow_starts
            WHERE type = ${lit(w.type)} AND grp ${w.perGroup ? "> ''" : "= ''"}
              AND at > clock_timestamp() - ${num(w.windowMs)} * interval '1 millisecond'
            GROUP BY type, grp`,
        ),
      ].join(" UNION ALL ");
      const batch = (await client.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext(${lit(`tasklane:${this.schema}:flow`)})); ${budget}`)) as unknown as pg.QueryResult[];
      const budgetRows = batch[batch.length - 1]!.rows as PgRow[];
      const allowance = new FlowAllowance(req.types, {
        running: budgetRows.filter((r) => !r.is_start).map((r) => ({ type: r.type, grp: r.grp, n: r.n })),
        starts: budgetRows.filter((r) => r.is_start).map((r) => ({ type: r.type, grp: r.grp, n: r.n })),
      });
      const blocked = allowance.blockedPairs();
      const blockedTypes = new Set(blocked.filter(([, g]) => g === null).map(([t]) => t));
      const types = req.types.filter((t) => !blockedTypes.has(t.type));
      let claimed: PgRow[] = [];
      let finish = "COMMIT";
      let choice: ReturnType<typeof chooseCandidates> | null = null;
      if (types.length) {
        const scan = Math.min(req.limit * 4, 2000);
        const blockedKeys = blocked.filter(([, g]) => g !== null).map(([t, g]) => `${t}\t${g}`);
        const candidates = (await client.query(this.claimSql("candidates", policy), [...this.claimParams(req, types, scan, policy), blockedKeys]))
          .rows as PgRow[];
        // Fair: keys with nothing claimable now leave a round short; go on past them (see taskClaim).
        for (let round = 1; policy.order === "fair" && candidates.length < req.limit && round < 8; round++) {
          const [next] = (await client.query(this.sql.fairKeyAdvance, [this.fairCursor, req.limit])).rows as Array<{ v: string; n: number }>;
          if (!next || next.n < req.limit) break;
          this.fairCursor = next.v;
          const seen = new Set(candidates.map((c) => c.id));
          const more = (await client.query(this.claimSql("candidates", policy), [...this.claimParams(req, types, scan, policy), blockedKeys]))
            .rows as PgRow[];
          candidates.push(...more.filter((c) => !seen.has(c.id)));
        }
        choice = chooseCandidates(
          candidates.map((c) => ({ id: c.id, type: c.type, cpu: c.cpu, fairKey: c.fair_key, group: c.grp })),
          types,
          req.limit,
          req.cpuFree,
          allowance,
        );
        if (choice.ids.length) {
          const starts = allowance.startRows(choice.taken, 0);
          finish = `WITH claimed AS (
              UPDATE ${S}.tasks t SET status = 'running', attempt = t.attempt + 1, run_count = t.run_count + 1, node = ${lit(req.node)},
                started_at = clock_timestamp(), updated_at = clock_timestamp(),
                lease_expires_at = clock_timestamp() + ${num(req.leaseMs)} * interval '1 millisecond', cancel_requested = false
              WHERE t.id = ANY(ARRAY[${choice.ids.map(lit).join(",")}]::text[]) AND t.status = 'queued'
              RETURNING t.*
            ),
            claimed_events AS (${startedEvents(S, "claimed")})
            SELECT * FROM claimed;
            ${
              starts.length
                ? `INSERT INTO ${S}.flow_starts (type, grp, at, expires_at)
                   SELECT w.type, w.grp, clock_timestamp(), clock_timestamp() + w.ms * interval '1 millisecond'
                   FROM (VALUES ${starts.map(([type, grp, ms]) => `(${lit(type)}, ${lit(grp)}, ${num(ms)}::float8)`).join(",")}) AS w(type, grp, ms);`
                : ""
            }
            COMMIT`;
        }
      }
      const done = (await client.query(finish)) as unknown as pg.QueryResult | pg.QueryResult[];
      if (choice?.ids.length) {
        claimed = (Array.isArray(done) ? done[0]! : done).rows as PgRow[];
        if (policy.order === "fair" && choice.lastFairKey !== null) this.fairCursor = choice.lastFairKey;
        const order = new Map(choice.ids.map((id, i) => [id, i]));
        claimed.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      }
      const now = this.nowSync();
      return claimed.map((r) => pgRowToTask(r, now));
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async taskFinishAndClaim(
    finishes: RunFinish[],
    claim: ClaimRequest,
  ): Promise<{ applied: FinishApplied[]; claimed: TaskRow[]; claimError?: Error }> {
    // One after the other, never the claim alone: claimed rows must reach a caller that will run
    // them, which a failed finish (thrown) would not.
    const applied = await this.taskFinishMany(finishes);
    try {
      return { applied, claimed: await this.taskClaim(claim) };
    } catch (error) {
      return { applied, claimed: [], claimError: error as Error };
    }
  }

  async leaseRenewMany(leases: RunRef[], leaseMs: number): Promise<LeaseState[]> {
    if (leases.length === 0) return [];
    const rows = await this.book(this.sql.renew, [leases.map((l) => l.taskId), leases.map((l) => l.runNo), leaseMs]);
    return rows.map((r) => ({ taskId: r.id, runNo: r.run_count, cancelRequested: r.cancel_requested === true }));
  }

  async progressWriteMany(updates: ProgressWrite[]): Promise<void> {
    if (updates.length === 0) return;
    const payload = updates.map((u) => ({
      id: u.taskId,
      run_no: u.runNo,
      current: u.current,
      total: u.total,
      message: u.message,
      rate: u.ratePerSec,
      at: new Date(u.at).toISOString(),
    }));
    await this.book(this.sql.progress, [pgJson(payload)]);
  }

  async eventInsertMany(events: NewEvent[], trims: EventTrim[]): Promise<void> {
    if (events.length === 0 && trims.length === 0) return;
    const toRow = (e: NewEvent) => ({
      task_id: e.taskId,
      run_no: e.runNo,
      seq: e.seq,
      at: new Date(e.at).toISOString(),
      level: e.level,
      message: e.message,
      data: e.data === undefined ? null : e.data,
    });
    if (trims.length === 0) {
      await this.book(this.sql.eventInsert, [pgJson(events.map(toRow))]);
      return;
    }
    await this.transaction(async (client) => {
      // Trims first, so a marker created now gets an id ahead of the lines it precedes.
      const cut = new Map<string, number>();
      const E = `${this.S}.events`;
      for (const t of trims) {
        cut.set(runIdOf(t.taskId, t.runNo), t.dropBelowSeq);
        const message = `${t.droppedTotal} earlier log line(s) of this run were dropped (per-run cap)`;
        const updated = await client.query(`UPDATE ${E} SET message = $1 WHERE task_id = $2 AND run_no = $3 AND seq = 0`, [message, t.taskId, t.runNo]);
        if (updated.rowCount === 1) {
          await client.query(`DELETE FROM ${E} WHERE task_id = $1 AND run_no = $2 AND seq > 0 AND seq < $3`, [t.taskId, t.runNo, t.dropBelowSeq]);
          continue;
        }
        await client.query(`DELETE FROM ${E} WHERE task_id = $1 AND run_no = $2 AND seq > 0 AND seq < $3`, [t.taskId, t.runNo, t.dropBelowSeq - 1]);
        // The newest dropped line becomes the marker, so the marker reads where the gap is.
        const converted = await client.query(
          `UPDATE ${E} SET seq = 0, level = 'warn', message = $1, data = NULL WHERE task_id = $2 AND run_no = $3 AND seq = $4`,
          [message, t.taskId, t.runNo, t.dropBelowSeq - 1],
        );
        if (converted.rowCount === 0) {
          await client.query(`INSERT INTO ${E} (task_id, run_no, seq, at, level, message) VALUES ($1, $2, 0, now(), 'warn', $3)`, [
            t.taskId,
            t.runNo,
            message,
          ]);
        }
      }
      const kept = events.filter((e) => e.seq >= (cut.get(runIdOf(e.taskId, e.runNo)) ?? 0));
      if (kept.length) await client.query(this.sql.eventInsert, [pgJson(kept.map(toRow))]);
    });
  }

  async taskFinishMany(finishes: RunFinish[]): Promise<FinishApplied[]> {
    if (finishes.length === 0) return [];
    const payload = finishes.map((f) => {
      const p = f.progress;
      return {
        id: f.taskId,
        run_no: f.runNo,
        next: f.next,
        delay_ms: f.retryDelayMs ?? 0,
        refund: f.refundAttempt ? 1 : 0,
        result: f.result === undefined ? null : f.result,
        error: f.error ?? null,
        p_current: p?.current ?? null,
        p_total: p?.total ?? null,
        p_message: p?.message ?? null,
        p_rate: p?.ratePerSec ?? null,
        p_at: p ? new Date(p.at).toISOString() : null,
        outcome: f.outcome,
      };
    });
    // A retry re-queues: wake the workers. (Sent only if a row was updated.)
    const rows = await this.book(this.sql.finish, [pgJson(payload), ...this.notifyArgs()]);
    const now = this.nowSync();
    return rows.map((row) => ({
      taskId: row.id,
      runNo: row.run_count,
      status: row.scheduled_now ? "scheduled" : row.status,
      runAt: row.run_at,
      attempt: row.attempt,
      updatedAt: row.updated_at,
      finishedAt: row.finished_at,
      deleteAt: row.delete_at,
    }));
  }

  // ---------------------------------------------------------------- control

  async taskCancel(id: string): Promise<{ task: TaskRow; applied: boolean } | null> {
    // The row is locked first to read whether a cancel was already requested: a second request
    // of a running task logs no second 'cancel-requested' event.
    const [changed] = await this.query(
      `WITH before AS (
         SELECT id, cancel_requested FROM ${this.S}.tasks WHERE id = $1 AND status IN ('queued', 'running') FOR UPDATE
       ),
       c AS (
         UPDATE ${this.S}.tasks t SET
           status = CASE WHEN t.status = 'queued' THEN 'cancelled' ELSE t.status END,
           cancel_requested = CASE WHEN t.status = 'running' THEN true ELSE t.cancel_requested END,
           finished_at = CASE WHEN t.status = 'queued' THEN now() ELSE t.finished_at END,
           delete_at = CASE WHEN t.status = 'queued' THEN now() + t.delete_after_ms * interval '1 millisecond' ELSE t.delete_at END,
           updated_at = now()
         FROM before WHERE t.id = before.id AND t.status IN ('queued', 'running')
         RETURNING t.*, before.cancel_requested AS was_cancel_requested
       ),
       c_events AS (${insertTaskEvents(
         this.S,
         changedEvents("c", "CASE WHEN e.status = 'cancelled' THEN 'cancelled' WHEN NOT e.was_cancel_requested THEN 'cancel-requested' END"),
       )})
       SELECT *, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now,
         CASE WHEN status = 'running' THEN pg_notify($2, $3) END AS woke
       FROM c`,
      [id, WAKE_CHANNEL, `${this.schema}:cancel`],
    );
    const now = this.nowSync();
    if (changed) return { task: pgRowToTask(changed, now), applied: true };
    const task = await this.taskGet(id);
    return task ? { task, applied: false } : null;
  }

  async taskRetry(id: string): Promise<{ task: TaskRow; applied: boolean } | null> {
    let changed: PgRow | undefined;
    try {
      [changed] = await this.query(
        `WITH r AS (
           UPDATE ${this.S}.tasks SET status = 'queued', attempt = 0, run_at = now(), finished_at = NULL, delete_at = NULL,
             cancel_requested = false, result = NULL, updated_at = now(),
             progress_current = NULL, progress_total = NULL, progress_message = NULL, progress_rate = NULL, progress_at = NULL
           WHERE id = $1 AND status IN ('failed', 'cancelled', 'expired') AND run_count < max_runs
           RETURNING *
         ),
         r_events AS (${insertTaskEvents(this.S, changedEvents("r", "'retried'"))})
         SELECT *, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now, pg_notify($2, $3) AS woke FROM r`,
        [id, ...this.notifyArgs()],
      );
    } catch (error) {
      if ((error as { code?: string }).code === "23505") {
        const task = await this.taskGet(id);
        throw new KeyConflictError(String(task?.key));
      }
      throw error;
    }
    if (changed) return { task: pgRowToTask(changed, this.nowSync()), applied: true };
    const task = await this.taskGet(id);
    return task ? { task, applied: false } : null;
  }

  async taskDelete(id: string): Promise<"deleted" | "running" | "not-found"> {
    const [row] = await this.query<{ deleted: number; present: number }>(
      `WITH d AS (DELETE FROM ${this.S}.tasks WHERE id = $1 AND status <> 'running' RETURNING *),
       d_events AS (${insertTaskEvents(this.S, deletedEvents("d"))}),
       dr AS (DELETE FROM ${this.S}.runs WHERE task_id IN (SELECT id FROM d)),
       de AS (DELETE FROM ${this.S}.events WHERE task_id IN (SELECT id FROM d))
       SELECT (SELECT count(*) FROM d)::int AS deleted, (SELECT count(*) FROM ${this.S}.tasks WHERE id = $1)::int AS present`,
      [id],
    );
    if (row!.deleted === 1) return "deleted";
    return row!.present ? "running" : "not-found";
  }

  async runList(taskId: string): Promise<RunRow[]> {
    return (await this.query(this.sql.runs, [taskId])).map(pgRowToRun);
  }

  async eventList(taskId: string, options: { afterId?: number; limit?: number }): Promise<EventRow[]> {
    const rows = await this.query(`SELECT * FROM ${this.S}.events WHERE task_id = $1 AND id > $2 ORDER BY id LIMIT $3`, [
      taskId,
      options.afterId ?? 0,
      options.limit ?? 1000,
    ]);
    return rows.map(pgRowToEvent);
  }

  // ---------------------------------------------------------------- recovery and retention

  async taskRescueExpired(): Promise<RescueOutcome> {
    // Several nodes may run this at once: a row another rescuer just re-queued fails the
    // re-checked WHERE (status = 'running') and is skipped, never rescued twice.
    return this.rescue("status = 'running' AND lease_expires_at < now()", ["stopped renewing its lease"]);
  }

  async taskRescueNode(node: string): Promise<TaskRow[]> {
    return (await this.rescue("status = 'running' AND node = $2", ["restarted while the run was in progress", node])).tasks;
  }

  private async rescue(condition: string, args: unknown[]): Promise<RescueOutcome> {
    const all = await this.book(this.sql.rescue(condition), args);
    const rows = all.filter((r) => r.id !== null);
    if (rows.some((r) => r.status === "queued")) await this.book("SELECT pg_notify($1, $2)", this.notifyArgs());
    const now = this.nowSync();
    const next = all[0]?.next_expiry as Date | null | undefined;
    return { tasks: rows.map((r) => pgRowToTask(r, now)), nextExpiryAt: next ? next.getTime() : null };
  }

  async taskExpireOverdue(): Promise<TaskRow[]> {
    const rows = await this.query(
      `WITH x AS (
         UPDATE ${this.S}.tasks SET status = 'expired', finished_at = now(), delete_at = now() + delete_after_ms * interval '1 millisecond',
           updated_at = now()
         WHERE status = 'queued' AND deadline IS NOT NULL AND deadline <= now()
         RETURNING *
       ),
       x_events AS (${insertTaskEvents(this.S, changedEvents("x", "'expired'"))})
       SELECT * FROM x`,
    );
    const now = this.nowSync();
    return rows.map((r) => pgRowToTask(r, now));
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    const report: PruneReport = { tasksDeleted: 0, runsDeleted: 0 };
    for (;;) {
      const [row] = await this.query<{ tasks: number; runs: number }>(
        `WITH d AS (
           DELETE FROM ${this.S}.tasks WHERE id IN (
             SELECT id FROM ${this.S}.tasks WHERE delete_at IS NOT NULL AND delete_at <= now() AND status IN ${FINAL_SQL}
             LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING *),
         d_events AS (${insertTaskEvents(this.S, deletedEvents("d"))}),
         dr AS (DELETE FROM ${this.S}.runs WHERE task_id IN (SELECT id FROM d) RETURNING 1),
         de AS (DELETE FROM ${this.S}.events WHERE task_id IN (SELECT id FROM d))
         SELECT (SELECT count(*) FROM d)::int AS tasks, (SELECT count(*) FROM dr)::int AS runs`,
        [options.batchSize],
      );
      report.tasksDeleted += row!.tasks;
      report.runsDeleted += row!.runs;
      if (row!.tasks < options.batchSize) break;
    }
    for (;;) {
      const [row] = await this.query<{ n: number }>(
        `WITH old AS (
           SELECT r.task_id, r.run_no FROM ${this.S}.tasks t JOIN ${this.S}.runs r ON r.task_id = t.id
           WHERE t.run_count > $1 AND r.run_no <= t.run_count - $1 LIMIT $2),
         dr AS (DELETE FROM ${this.S}.runs r USING old WHERE r.task_id = old.task_id AND r.run_no = old.run_no RETURNING 1),
         de AS (DELETE FROM ${this.S}.events e USING old WHERE e.task_id = old.task_id AND e.run_no = old.run_no)
         SELECT count(*)::int AS n FROM dr`,
        [options.keepRunsPerTask, options.batchSize],
      );
      report.runsDeleted += row!.n;
      if (row!.n < options.batchSize) break;
    }
    return report;
  }


  /**
   * Refreshes the planner's statistics of \`tasks\` when many rows changed since the last analyze.
   * Right after a burst of adds, stale statistics make the claim read and sort every queued row
   * (measured 20 ms a claim at 30,000 queued, 2.5 ms after ANALYZE); autovacuum gets there only
   * within about a minute. One node at a time (advisory lock). Returns whether it analyzed.
   */
  async analyzeIfStale(): Promise<boolean> {
    // At most once per 30 s across all nodes: a steady drain changes rows all the time, and an
    // ANALYZE of a large table costs a core for most of a second (measured 0.65-0.78 s at 50k
    // rows, five times in a 30 s drain before this bound).
    const [stats] = await this.query<{ changed: number; live: number; recent: boolean }>(
      `SELECT n_mod_since_analyze::float8 AS changed, n_live_tup::float8 AS live,
         coalesce(greatest(last_analyze, last_autoanalyze) > now() - interval '30 seconds', false) AS recent
       FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'tasks'`,
      [this.schema],
    );
    if (!stats || stats.recent || stats.changed < Math.max(1000, stats.live * 0.1)) return false;
    const client = await this.pool.connect();
    const key = `tasklane:${this.schema}:analyze`;
    try {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [key]);
      if (!rows[0]!.ok) return false;
      try {
        await client.query(`ANALYZE ${this.S}.tasks`);
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
      }
      return true;
    } finally {
      client.release();
    }
  }

  // ---- users, tokens, task event log, queries and stats (HTTP API) ----

  // ---------------------------------------------------------------- schedules

  /**
   * The end of a schedule change (`changed` is its CTE): tells every node's cron ticker at
   * commit, so tickers need not list the schedules every second to notice a change.
   */
  private scheduleNotice(): string {
    return `SELECT changed.*, pg_notify('${WAKE_CHANNEL}', '${this.schema}:schedules') IS NULL AS notified FROM changed`;
  }

  async scheduleUpsert(schedule: ScheduleWrite): Promise<ScheduleRow> {
    const missed = missedColumns(schedule.missed);
    const S = this.S;
    // A new schedule, or a changed cron, zone or missed-tick policy, counts ticks from now; the
    // last fired tick is kept, so no tick at or before it ever fires again.
    const [row] = await this.query(
      `WITH changed AS (INSERT INTO ${S}.schedules AS s (name, type, params, options, cron, tz, missed, catch_up_ms, paused, anchor_at, created_at, updated_at)
       VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8, coalesce($9::boolean, false), now(), now(), now())
       ON CONFLICT (name) DO UPDATE SET
         type = excluded.type, params = excluded.params, options = excluded.options,
         anchor_at = CASE
           WHEN s.cron <> excluded.cron OR s.tz <> excluded.tz OR s.missed <> excluded.missed OR s.catch_up_ms <> excluded.catch_up_ms THEN now()
           WHEN $9::boolean IS NOT NULL AND s.paused AND NOT $9::boolean THEN now()
           ELSE s.anchor_at END,
         cron = excluded.cron, tz = excluded.tz, missed = excluded.missed, catch_up_ms = excluded.catch_up_ms,
         paused = coalesce($9::boolean, s.paused), updated_at = now()
       RETURNING *)
       ${this.scheduleNotice()}`,
      [
        schedule.name,
        schedule.type,
        pgJson(schedule.params ?? null),
        pgJson(schedule.options ?? {}),
        schedule.cron,
        schedule.tz,
        missed.missed,
        missed.catchUpMs,
        schedule.paused ?? null,
      ],
    );
    return pgRowToSchedule(row!);
  }

  async scheduleGet(name: string): Promise<ScheduleRow | null> {
    const [row] = await this.query(`SELECT * FROM ${this.S}.schedules WHERE name = $1`, [name]);
    return row ? pgRowToSchedule(row) : null;
  }

  async scheduleList(): Promise<ScheduleRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.schedules ORDER BY name`)).map(pgRowToSchedule);
  }

  async scheduleDelete(name: string): Promise<boolean> {
    const rows = await this.query(
      `WITH t AS (DELETE FROM ${this.S}.schedule_ticks WHERE schedule = $1),
       changed AS (DELETE FROM ${this.S}.schedules WHERE name = $1 RETURNING name)
       ${this.scheduleNotice()}`,
      [name],
    );
    return rows.length === 1;
  }

  async schedulePause(name: string, paused: boolean): Promise<ScheduleRow | null> {
    // Resuming counts ticks from now: ticks that passed while paused never fire.
    const [row] = await this.query(
      `WITH changed AS (UPDATE ${this.S}.schedules SET anchor_at = CASE WHEN paused AND NOT $2 THEN now() ELSE anchor_at END,
         paused = $2, updated_at = now()
       WHERE name = $1 RETURNING *)
       ${this.scheduleNotice()}`,
      [name, paused],
    );
    return row ? pgRowToSchedule(row) : null;
  }

  async scheduleFire(fires: ScheduleFire[]): Promise<ScheduleFired[]> {
    if (fires.length === 0) return [];
    const S = this.S;
    return this.transaction(async (client) => {
      const out: ScheduleFired[] = [];
      for (const fire of fires) {
        // Lock the schedule first: a delete (or pause) waits for this fire to commit, or this fire
        // sees the schedule gone, never a task added after the delete returned. Racing fires of
        // one schedule queue here too (a share lock would deadlock them at the update below).
        await client.query(`SELECT 1 FROM ${S}.schedules WHERE name = $1 FOR NO KEY UPDATE`, [fire.schedule]);
        // The unique (schedule, tick_at) key makes a tick fire once across nodes; the conditions
        // keep a node with a clock behind (or a stale list) from firing a tick already passed.
        const tick = await client.query(
          `INSERT INTO ${S}.schedule_ticks (schedule, tick_at, task_id, fired_at)
           SELECT $1, $2::timestamptz, $3, now()
           WHERE EXISTS (SELECT 1 FROM ${S}.schedules WHERE name = $1 AND NOT paused AND anchor_at < $2::timestamptz
             AND (last_tick_at IS NULL OR last_tick_at < $2::timestamptz))
           ON CONFLICT DO NOTHING RETURNING 1`,
          [fire.schedule, new Date(fire.tickAt).toISOString(), fire.task.id],
        );
        if (tick.rowCount !== 1) {
          out.push({ schedule: fire.schedule, tickAt: fire.tickAt, task: null });
          continue;
        }
        const [row] = await this.query(this.sql.insert, [this.insertPayload([fire.task])], client);
        if (!row) throw new ValidationError(`schedule ${fire.schedule}: its task could not be added`);
        await client.query(
          `UPDATE ${S}.schedules SET last_tick_at = GREATEST(coalesce(last_tick_at, $2::timestamptz), $2::timestamptz), last_task_id = $3
           WHERE name = $1`,
          [fire.schedule, new Date(fire.tickAt).toISOString(), fire.task.id],
        );
        out.push({ schedule: fire.schedule, tickAt: fire.tickAt, task: pgRowToTask(row, this.nowSync()) });
      }
      if (out.some((f) => f.task)) await client.query("SELECT pg_notify($1, $2)", this.notifyArgs());
      return out;
    });
  }

  async scheduleNoteTask(name: string, taskId: string): Promise<void> {
    await this.query(`UPDATE ${this.S}.schedules SET last_task_id = $2 WHERE name = $1`, [name, taskId]);
  }

  async scheduleTicks(name: string, limit: number): Promise<ScheduleTick[]> {
    const rows = await this.query(`SELECT * FROM ${this.S}.schedule_ticks WHERE schedule = $1 ORDER BY tick_at DESC LIMIT $2`, [name, limit]);
    return rows.map((r) => ({ schedule: r.schedule, tickAt: r.tick_at, taskId: r.task_id, firedAt: r.fired_at }));
  }

  async scheduleTickPrune(before: number): Promise<number> {
    const rows = await this.book(
      `DELETE FROM ${this.S}.schedule_ticks t WHERE fired_at < $1::timestamptz
         AND tick_at IS DISTINCT FROM (SELECT s.last_tick_at FROM ${this.S}.schedules s WHERE s.name = t.schedule)
       RETURNING 1`,
      [new Date(before).toISOString()],
    );
    return rows.length;
  }

  async flowStartPrune(): Promise<number> {
    return (await this.book(`DELETE FROM ${this.S}.flow_starts WHERE expires_at <= now() RETURNING 1`)).length;
  }

  async userInsert(user: NewUser): Promise<UserRow | null> {
    const [row] = await this.query(`INSERT INTO ${this.S}.users (name, role) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING *`, [
      user.name,
      user.role,
    ]);
    return row ? pgRowToUser(row) : null;
  }

  async userGet(name: string): Promise<UserRow | null> {
    const [row] = await this.query(`SELECT * FROM ${this.S}.users WHERE name = $1`, [name]);
    return row ? pgRowToUser(row) : null;
  }

  async userList(): Promise<UserRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.users ORDER BY name`)).map(pgRowToUser);
  }

  async userCount(): Promise<number> {
    const [row] = await this.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.S}.users`);
    return row!.n;
  }

  async userDelete(name: string): Promise<boolean> {
    const [row] = await this.query<{ n: number }>(
      `WITH t AS (DELETE FROM ${this.S}.api_tokens WHERE user_name = $1), u AS (DELETE FROM ${this.S}.users WHERE name = $1 RETURNING 1)
       SELECT count(*)::int AS n FROM u`,
      [name],
    );
    return row!.n === 1;
  }

  async tokenInsert(token: NewApiToken): Promise<ApiTokenRow | null> {
    const [row] = await this.query(
      `INSERT INTO ${this.S}.api_tokens (id, user_name, hash, label)
       SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ${this.S}.users WHERE name = $2)
       RETURNING *`,
      [token.id, token.userName, token.hash, token.label],
    );
    return row ? pgRowToToken(row) : null;
  }

  async tokenGet(id: string): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const [row] = await this.query(
      `SELECT t.*, u.role AS user_role, u.created_at AS user_created_at
       FROM ${this.S}.api_tokens t JOIN ${this.S}.users u ON u.name = t.user_name WHERE t.id = $1`,
      [id],
    );
    if (!row) return null;
    return { token: pgRowToToken(row), user: { name: row.user_name, role: row.user_role, createdAt: row.user_created_at } };
  }

  async tokenList(userName: string): Promise<ApiTokenRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.api_tokens WHERE user_name = $1 ORDER BY created_at, id`, [userName])).map(pgRowToToken);
  }

  async tokenRevoke(match: { id: string } | { userName: string }): Promise<number> {
    const result = await this.pool.query(
      `UPDATE ${this.S}.api_tokens SET revoked_at = now() WHERE ${"id" in match ? "id" : "user_name"} = $1 AND revoked_at IS NULL`,
      ["id" in match ? match.id : match.userName],
    );
    return result.rowCount ?? 0;
  }

  /**
   * Gives committed, unsequenced events their public position, in write order, after every
   * position handed out before. One sequencer at a time (advisory lock; a busy lock means another
   * is doing it now). The UPDATE is a statement of its own so its snapshot sees the previous
   * sequencer's commit, which taking the lock waited for.
   */
  private async sequenceEvents(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [
        `tasklane:${this.schema}:task-events`,
      ]);
      if (rows[0]!.ok) {
        const todo = await client.query<{ seq: number }>(
          `SELECT seq FROM ${this.S}.task_events WHERE id IS NULL ORDER BY seq LIMIT 50000`,
        );
        const n = todo.rows.length;
        if (n > 0) {
          // Reserve n positions in one step: the first is nextval, the sequence ends at first + n - 1.
          const [first] = (
            await client.query<{ first: number }>("SELECT setval($1::regclass, nextval($1::regclass) + $2 - 1) - $2 + 1 AS first", [
              `${this.S}.task_event_position`,
              n,
            ])
          ).rows;
          await client.query(
            `UPDATE ${this.S}.task_events e SET id = $1 + t.rn - 1
             FROM unnest($2::bigint[]) WITH ORDINALITY AS t(seq, rn) WHERE e.seq = t.seq`,
            [first!.first, todo.rows.map((r) => r.seq)],
          );
        }
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async taskEventList(filter: TaskEventFilter): Promise<TaskEventRow[]> {
    await this.sequenceEvents();
    const rows =
      filter.owner === undefined
        ? await this.query(`SELECT * FROM ${this.S}.task_events WHERE id > $1 ORDER BY id LIMIT $2`, [filter.afterId, filter.limit])
        : await this.query(`SELECT * FROM ${this.S}.task_events WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3`, [
            filter.owner,
            filter.afterId,
            filter.limit,
          ]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
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
    await this.sequenceEvents();
    const [row] = await this.query<{ id: number }>(`SELECT COALESCE(MAX(id), 0)::bigint AS id FROM ${this.S}.task_events`);
    return Number(row!.id);
  }

  async taskEventPrune(options: { before: number; batchSize: number }): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.pool.query(
        `DELETE FROM ${this.S}.task_events WHERE seq IN (
           SELECT seq FROM ${this.S}.task_events WHERE at < $1::timestamptz ORDER BY at LIMIT $2)`,
        [new Date(options.before).toISOString(), options.batchSize],
      );
      const n = result.rowCount ?? 0;
      total += n;
      if (n < options.batchSize) return total;
    }
  }

  async taskStats(query: TaskStatsQuery): Promise<TaskStats> {
    const owner = query.owner === undefined ? "" : "AND owner = $2";
    const ownerArgs = query.owner === undefined ? [] : [query.owner];
    const counts = (await this.query(
      `SELECT CASE WHEN status = 'queued' AND run_at > now()::timestamptz(3) THEN 'scheduled' ELSE status END AS status,
         type, count(*)::int AS count
       FROM ${this.S}.tasks WHERE true ${owner.replace("$2", "$1")} GROUP BY 1, 2`,
      ownerArgs,
    )) as TaskStats["counts"];
    const since = new Date(query.since).toISOString();
    const buckets = await this.query<{ k: number; succeeded: number; failed: number; retrying: number }>(
      `SELECT floor(extract(epoch FROM (at - $1::timestamptz)) * 1000 / ${Math.max(1, Math.floor(query.bucketMs))})::int AS k,
         count(*) FILTER (WHERE kind = 'succeeded')::int AS succeeded,
         count(*) FILTER (WHERE kind = 'failed')::int AS failed,
         count(*) FILTER (WHERE kind = 'retrying')::int AS retrying
       FROM ${this.S}.task_events
       WHERE at >= $1::timestamptz AND kind IN ('succeeded', 'failed', 'retrying') ${owner}
       GROUP BY 1 ORDER BY 1`,
      [since, ...ownerArgs],
    );
    const [oldest] = await this.query<{ t: Date | null }>(
      `SELECT MIN(run_at) AS t FROM ${this.S}.tasks WHERE status = 'queued' AND run_at <= now() ${owner.replace("$2", "$1")}`,
      ownerArgs,
    );
    return {
      counts,
      buckets: buckets.map((b) => ({ start: query.since + b.k * query.bucketMs, succeeded: b.succeeded, failed: b.failed, retrying: b.retrying })),
      oldestQueuedAt: oldest?.t ? oldest.t.getTime() : null,
      now: this.nowSync(),
    };
  }

  // ---- nodes (cluster membership) ----

  async nodeHeartbeat(node: NodeHeartbeat): Promise<void> {
    await this.query(
      `INSERT INTO ${this.S}.nodes (name, host, pid, version, started_at, heartbeat_at, status, types, concurrency, running,
         cpu_capacity, cpu_used, load_per_core, memory_bytes)
       VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, status = excluded.status, types = excluded.types,
         concurrency = excluded.concurrency, running = excluded.running, cpu_capacity = excluded.cpu_capacity,
         cpu_used = excluded.cpu_used, load_per_core = excluded.load_per_core, memory_bytes = excluded.memory_bytes`,
      [
        node.name,
        node.host,
        node.pid,
        node.version,
        node.startedAt.toISOString(),
        node.status,
        JSON.stringify(node.types),
        node.concurrency,
        node.running,
        node.cpuCapacity,
        node.cpuUsed,
        node.loadPerCore,
        node.memoryBytes,
      ],
    );
  }

  async nodeList(): Promise<NodeRow[]> {
    return (await this.query(`SELECT * FROM ${this.S}.nodes ORDER BY heartbeat_at DESC, name`)).map(pgRowToNode);
  }

  async nodeMarkStale(staleMs: number): Promise<NodeRow[]> {
    const rows = await this.query(
      `UPDATE ${this.S}.nodes SET status = 'offline'
       WHERE status <> 'offline' AND heartbeat_at < now() - $1 * interval '1 millisecond' RETURNING *`,
      [staleMs],
    );
    return rows.map(pgRowToNode);
  }

  async nodePrune(olderThanMs: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM ${this.S}.nodes WHERE status = 'offline' AND heartbeat_at < now() - $1 * interval '1 millisecond'`,
      [olderThanMs],
    );
    return result.rowCount ?? 0;
  }

  // ---- the built-in `sql` task type ----

  /** One statement in its own durable transaction with `search_path` set to this store's schema (see `postgresSqlRun`). */
  async sqlRun(statement: string, params: unknown[], options: SqlRunOptions): Promise<SqlRunResult> {
    return postgresSqlRun(this.pool, this.S, statement, params, options);
  }
}

function claimOrder(a: TaskRow, b: TaskRow): number {
  return a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function pgRowToSchedule(r: PgRow): ScheduleRow {
  return {
    name: r.name,
    type: r.type,
    params: r.params,
    options: r.options,
    cron: r.cron,
    tz: r.tz,
    missed: missedOfColumns(r.missed, Number(r.catch_up_ms)),
    paused: r.paused === true,
    anchorAt: r.anchor_at,
    lastTickAt: r.last_tick_at,
    lastTaskId: r.last_task_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
