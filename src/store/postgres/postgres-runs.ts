import { type EventRow, runIdOf, type RunRow } from "../../model/task-row.js";
import type { EventTrim, FinishApplied, LeaseState, NewEvent, ProgressWrite, RunFinish, RunRef } from "../store.js";
import { pgJson, PgPart } from "./postgres-db.js";
import { pgRowToEvent, pgRowToRun } from "./postgres-rows.js";
import { addedEvents, changedEvents, endOfRunKind, insertTaskEvents } from "./postgres-task-events.js";

/**
 * The follow-ups of tasks that just ended for good (`ended`, a CTE of them), added in the same
 * statement as their end. Fixed ids make a second insert of the same follow-up a no-op.
 */
export function followUpsInsert(S: string, ended: string): string {
  return `INSERT INTO ${S}.tasks (id, type, name, description, params, status, priority, run_at,
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
}

/**
 * The running tasks named by `named` (a CTE with columns id and run_no), locked, with the status
 * of the locked version (row_status), for an UPDATE that takes its rows with `byId` and checks
 * `row_status` (the lock keeps it true until commit).
 *
 * One primary-key probe per named run, whatever the statistics say. Joining the runs to tasks
 * on id and status let the planner read every running row version through tasks_running (dead
 * ones included, which a transaction held open elsewhere keeps) or hash a seq scan of tasks:
 * a finish of 50 took 3.8 ms, then 408 ms once 60,000 runs had started during a hold. A
 * LATERAL subquery with FOR UPDATE is never flattened into a join, and without a status
 * condition no partial index applies, so each probe is an index scan of tasks_pkey (the test
 * "PostgreSQL run-statement plans" reads the plans under both kinds of stale statistics).
 *
 * The UPDATE then finds its rows by id (an = ANY of the locked ids, a tasks_pkey scan), not by
 * the ctid the lock returned: a version committed by another session after this statement's
 * snapshot (a progress write racing a renewal) is locked and returned here, but is invisible to
 * the UPDATE's own scan, so an update by ctid would silently skip it. Found by the cluster drain
 * test: renewals skipped that way let leases lapse, and 76 of 10,000 tasks ran twice.
 *
 * Locks are taken in id order: two multi-row updates of the same running tasks (a renewal and
 * the finish of the same runs, from two connections) would otherwise deadlock.
 */
function lockRuns(S: string, named: string): string {
  return `SELECT n.*, l.row_status FROM (SELECT * FROM ${named} ORDER BY id) n
        CROSS JOIN LATERAL (SELECT t.status AS row_status FROM ${S}.tasks t
          WHERE t.id = n.id AND t.run_count = n.run_no FOR UPDATE) l`;
}

/** The UPDATE's condition on `t` for the rows `locked` (alias `l`) holds: see lockRuns. */
function byId(locked: string, l: string): string {
  return `t.id = ANY(ARRAY(SELECT id FROM ${locked} WHERE row_status = 'running')) AND t.id = ${l}.id AND ${l}.row_status = 'running'`;
}

/** Statements of running and ending runs. */
export function runStatements(S: string) {
  // A re-queue becomes final when a cancel was requested, or when no run is left (maxRuns):
  // nothing would ever claim, rescue or retry it otherwise.
  const NEXT = `(CASE WHEN f.next = 'queued' AND t.cancel_requested THEN 'cancelled'
    WHEN f.next = 'queued' AND t.run_count >= t.max_runs THEN 'failed' ELSE f.next END)`;
  return {
    finish: `WITH f AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, run_no int, next text, delay_ms float8, refund int,
          result jsonb, error jsonb, p_current float8, p_total float8, p_message text, p_rate float8, p_at text, outcome text)
      ),
      locked AS (${lockRuns(S, "f")}),
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
          last_outcome = CASE WHEN ${NEXT} = 'queued' THEN NULL ELSE f.outcome END,
          progress_current = CASE WHEN f.p_at IS NOT NULL THEN f.p_current ELSE t.progress_current END,
          progress_total = CASE WHEN f.p_at IS NOT NULL THEN f.p_total ELSE t.progress_total END,
          progress_message = CASE WHEN f.p_at IS NOT NULL THEN f.p_message ELSE t.progress_message END,
          progress_rate = CASE WHEN f.p_at IS NOT NULL THEN f.p_rate ELSE t.progress_rate END,
          progress_at = CASE WHEN f.p_at IS NOT NULL THEN f.p_at::timestamptz ELSE t.progress_at END
        FROM locked f WHERE ${byId("locked", "f")}
        RETURNING t.id, t.run_count, t.status, t.run_at, t.attempt, t.updated_at, t.finished_at, t.delete_at,
          t.node, t.started_at, f.refund, f.outcome, f.result, f.error, t.type, t.follow_ups, t.owner
      ),
      kids AS (${followUpsInsert(S, "upd")}),
      -- The run ends' and follow-ups' events, in this statement: one insert for the batch where
      -- the trigger before migration 5 made one plpgsql call and one insert per row. Measured:
      -- 91-99 -> 82-87 µs of server CPU per task for claim + finish of 100 on one connection,
      -- but 0.17 ms more planning per finish, so small concurrent batches cost more (see
      -- postgres-task-events.ts for every figure).
      upd_events AS (${insertTaskEvents(S, changedEvents("upd", endOfRunKind("e.attempt + e.refund")), addedEvents("kids"))}),
      -- While a run goes on, and after it ended a task for good, the task row is the run's
      -- record (last_outcome): a row of runs is written only when another run will follow, so a
      -- task that succeeds at once costs no run row. (Retry writes it before starting anew.)
      ins AS (
        INSERT INTO ${S}.runs (task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error)
        SELECT id, run_count, attempt + refund, node, started_at, now(), outcome, result, error FROM upd WHERE status = 'queued'
      )
      SELECT id, run_count, status, run_at, attempt, updated_at, finished_at, delete_at, (status = 'queued' AND run_at > now()::timestamptz(3)) AS scheduled_now,
        CASE WHEN status = 'queued' AND run_at <= now()::timestamptz(3) THEN pg_notify($2, $3) END AS woke,
        (SELECT pg_notify($2, $3) FROM kids LIMIT 1) AS kids_woke
      FROM upd`,
    renew: `WITH r AS (SELECT * FROM unnest($1::text[], $2::int[]) AS r(id, run_no)),
      locked AS (${lockRuns(S, "r")})
      UPDATE ${S}.tasks t SET lease_expires_at = now() + $3 * interval '1 millisecond'
      FROM locked r WHERE ${byId("locked", "r")}
      RETURNING t.id, t.run_count, t.cancel_requested`,
    progress: `WITH x AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, run_no int, current float8, total float8, message text, rate float8, at text)
      ),
      locked AS (${lockRuns(S, "x")})
      UPDATE ${S}.tasks t SET progress_current = x.current, progress_total = x.total, progress_message = x.message,
        progress_rate = x.rate, progress_at = x.at::timestamptz
      FROM locked x WHERE ${byId("locked", "x")}`,
    // In array order, so event ids follow the order the lines were written.
    eventInsert: `INSERT INTO ${S}.events (task_id, run_no, seq, at, level, message, data)
      SELECT e.v ->> 'task_id', (e.v ->> 'run_no')::int, (e.v ->> 'seq')::int, (e.v ->> 'at')::timestamptz, e.v ->> 'level',
        e.v ->> 'message', NULLIF(e.v -> 'data', 'null'::jsonb)
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, ord)
      -- Fenced like every write of a run: a run that lost its task writes no more lines. A scalar
      -- subquery with no status condition, so it stays a primary-key probe per line (an EXISTS
      -- may become a semi-join over tasks_running: see lockRuns).
      WHERE (SELECT t.status = 'running' FROM ${S}.tasks t WHERE t.id = e.v ->> 'task_id' AND t.run_count = (e.v ->> 'run_no')::int)
      ORDER BY e.ord
      ON CONFLICT DO NOTHING`,
    runs: `SELECT task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error FROM ${S}.runs WHERE task_id = $1
      UNION ALL
      SELECT id, run_count, attempt, node, started_at, NULL, NULL, NULL, NULL FROM ${S}.tasks WHERE id = $1 AND status = 'running'
      UNION ALL
      SELECT id, run_count, attempt, node, started_at, finished_at, last_outcome, result, error FROM ${S}.tasks
      WHERE id = $1 AND last_outcome IS NOT NULL
      ORDER BY 2`,
  };
}

/** Runs: lease renewals, progress, log lines, and the end of a run (with its follow-ups and run record). */
export class PgRuns extends PgPart {
  private readonly sql = runStatements(this.S);

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
}
