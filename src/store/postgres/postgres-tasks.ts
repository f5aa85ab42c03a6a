import pg from "pg";
import { KeyConflictError, QueueFullError, ValidationError } from "../../model/errors.js";
import type { TaskStatus } from "../../model/status.js";
import type { TaskRow } from "../../model/task-row.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { InsertLimits, InsertOptions, InsertOutcome, NewTask, TaskListFilter, TaskPage, TaskQuery, TaskStats, TaskStatsQuery } from "../store.js";
import { WAKE_CHANNEL, wakePayloadFor } from "./postgres-notify.js";
import { type PgRow, pgRowToTask } from "./postgres-rows.js";
import { PgPart } from "./postgres-db.js";
import { addedEvents, changedEvents, deletedEvents, insertTaskEvents } from "./postgres-task-events.js";

/** Adds, with their task events and wake-up. */
function taskStatements(S: string) {
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
  };
}

/**
 * What committed adds announce: the types of the tasks due now, and the earliest due time of
 * those due later (idle nodes set a timer for it instead of polling: see parseWakePayload).
 */
function wakeOf(rows: PgRow[]): { types: Set<string>; dueAt: number | null } {
  const types = new Set<string>();
  let dueAt: number | null = null;
  for (const r of rows) {
    if (!r.scheduled_now) types.add(r.type as string);
    else dueAt = Math.min(dueAt ?? Infinity, (r.run_at as Date).getTime());
  }
  return { types, dueAt };
}

/** Tasks: adding (with business keys and queue limits), reading, listing, cancel, retry, delete, stats. */
export class PgTasks extends PgPart {
  private readonly sql = taskStatements(this.S);

  /** The add statement without wake-up, for adds inside another statement's transaction (a schedule's tick). */
  get insertStatement(): string {
    return this.sql.insert;
  }

  async taskInsertMany(tasks: NewTask[], limits: InsertLimits, options: InsertOptions = {}): Promise<InsertOutcome[]> {
    if (tasks.length === 0) return [];
    const limited = [...new Set(tasks.map((t) => t.type))].filter((type) => limits.maxQueued.has(type)).sort();
    try {
      if (!options.tx && limited.length === 0) {
        // The common case in one round trip: one autocommit statement (a transaction would cost
        // BEGIN and COMMIT on top), then the wake-up, after the commit (see WakeSender).
        const inserted = new Map((await this.query(this.sql.insert, [this.insertPayload(tasks)])).map((r) => [r.id as string, r]));
        const outcomes = await this.insertOutcomes(tasks, inserted, this.pool);
        this.wake([...inserted.values()]);
        return outcomes;
      }
      if (!options.tx) {
        const { outcomes, inserted } = await this.transaction((client) => this.insertInTransaction(client, tasks, limits, limited));
        this.wake(inserted);
        return outcomes;
      }
      // Inside the caller's transaction: the wake-up is delivered at its commit, so workers wake
      // only if the caller commits.
      const client = options.tx as pg.ClientBase;
      const { outcomes, inserted } = await this.insertInTransaction(client, tasks, limits, limited);
      const { types, dueAt } = wakeOf(inserted);
      const payloads = [...(types.size ? [wakePayloadFor(this.schema, [...types])] : []), ...(dueAt !== null ? [`${this.schema}:at:${dueAt}`] : [])];
      if (payloads.length) await client.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [WAKE_CHANNEL, payloads]);
      return outcomes;
    } catch (error) {
      const e = error as { code?: string; constraint?: string; detail?: string };
      if (e.code === "23505" && e.constraint === "tasks_pkey") {
        throw new ValidationError("id", `id: a task with this id already exists (${e.detail ?? "duplicate id"})`);
      }
      throw error;
    }
  }

  private wake(inserted: PgRow[]): void {
    const { types, dueAt } = wakeOf(inserted);
    if (types.size) this.db.wakes.wake(types, null);
    if (dueAt !== null) this.db.wakes.wake([], dueAt);
  }

  /** An add in a transaction: one with a queue limit (maxQueued), or inside the caller's. */
  private async insertInTransaction(
    client: pg.ClientBase,
    tasks: NewTask[],
    limits: InsertLimits,
    limited: string[],
  ): Promise<{ outcomes: InsertOutcome[]; inserted: PgRow[] }> {
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
    return { outcomes, inserted: [...inserted.values()] };
  }

  /** The parameter of the add statements: the tasks as one JSON array. */
  insertPayload(tasks: NewTask[]): string {
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
      if (!holder) throw new ValidationError("id", `id: a task with id "${t.id}" already exists`);
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
        `WITH kept AS (
           -- The last run's record leaves the task row (see the finish) before a new run starts.
           INSERT INTO ${this.S}.runs (task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error)
           SELECT id, run_count, attempt, node, started_at, finished_at, last_outcome, result, error FROM ${this.S}.tasks
           WHERE id = $1 AND last_outcome IS NOT NULL AND status IN ('failed', 'cancelled', 'expired') AND run_count < max_runs
           ON CONFLICT DO NOTHING
         ),
         r AS (
           UPDATE ${this.S}.tasks SET status = 'queued', attempt = 0, run_at = now(), finished_at = NULL, delete_at = NULL,
             cancel_requested = false, result = NULL, updated_at = now(), last_outcome = NULL,
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
}
