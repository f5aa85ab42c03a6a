import type { TaskRow } from "../../model/task-row.js";
import type { PruneOptions, PruneReport, RescueOutcome } from "../store.js";
import { FINAL_SQL, OUT_OF_TRIES, PgPart } from "./postgres-db.js";
import { pgRowToTask } from "./postgres-rows.js";
import { followUpsInsert } from "./postgres-runs.js";
import { addedEvents, changedEvents, deletedEvents, endOfRunKind, insertTaskEvents } from "./postgres-task-events.js";

/** The rescue of runs whose node is gone. */
function upkeepStatements(S: string) {
  return {
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
      kids AS (${followUpsInsert(S, "r")}),
      r_events AS (${insertTaskEvents(S, changedEvents("r", endOfRunKind("e.attempt")), addedEvents("kids"))})
      -- One row at least: the earliest lease still to expire comes back even when nothing was
      -- rescued, so the caller can sleep until then (see Maintenance).
      SELECT r.*, (r.status = 'queued' AND r.run_at > now()::timestamptz(3)) AS scheduled_now, nx.next_expiry
      FROM (SELECT min(lease_expires_at) AS next_expiry FROM ${S}.tasks WHERE status = 'running' AND lease_expires_at > now()) AS nx
      LEFT JOIN r ON true`,
  };
}

/** Upkeep: rescue of lost runs, expiry of overdue tasks, pruning, statistics. */
export class PgUpkeep extends PgPart {
  private readonly sql = upkeepStatements(this.S);

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
    // A transaction-level lock, released by the commit: a session-level one would stay with
    // whichever server connection a pooler in transaction mode gave this statement.
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [
        `tasklane:${this.schema}:analyze`,
      ]);
      if (!rows[0]!.ok) return false;
      await client.query(`ANALYZE ${this.S}.tasks`);
      return true;
    });
  }

  // ---- users, tokens, task event log, queries and stats (HTTP API) ----

  async flowStartPrune(): Promise<number> {
    return (await this.book(`DELETE FROM ${this.S}.flow_starts WHERE expires_at <= now() RETURNING 1`)).length;
  }
}
