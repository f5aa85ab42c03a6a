import type Database from "better-sqlite3";
import { type EventRow, runIdOf, type RunRow } from "../../model/task-row.js";
import type { EventTrim, FinishApplied, LeaseState, NewEvent, ProgressWrite, RunFinish, RunRef } from "../store.js";
import { SqlitePart } from "./sqlite-db.js";
import { rowToEvent, rowToRun, type SqlRow } from "./sqlite-rows.js";

const SQLITE_NEXT_STATUS = `(CASE WHEN f.next = 'queued' AND tasks.cancel_requested = 1 THEN 'cancelled'
  WHEN f.next = 'queued' AND tasks.run_count >= tasks.max_runs THEN 'failed' ELSE f.next END)`;

/** Statements of running and ending runs. */
function runStatements(db: Database.Database) {
  return {
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
        last_outcome = CASE WHEN ${SQLITE_NEXT_STATUS} = 'queued' THEN NULL ELSE f.outcome END,
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
    // Ended runs, plus the one in flight and the one that ended the task (the task row is
    // their record: see the finish).
    runs: db.prepare(`SELECT task_id, run_no, attempt, node, started_at, ended_at, outcome, result, error FROM runs WHERE task_id = @id
      UNION ALL
      SELECT id, run_count, attempt, node, started_at, NULL, NULL, NULL, NULL FROM tasks WHERE id = @id AND status = 'running'
      UNION ALL
      SELECT id, run_count, attempt, node, started_at, finished_at, last_outcome, result, error FROM tasks
      WHERE id = @id AND last_outcome IS NOT NULL
      ORDER BY 2`),
    events: db.prepare("SELECT * FROM events WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?"),
  };
}

/** Runs: lease renewals, progress, log lines, and the end of a run (with its follow-ups and run record). */
export class SqliteRuns extends SqlitePart {
  private prepared: ReturnType<typeof runStatements> | null = null;

  /** Prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<typeof runStatements> {
    this.prepared ??= runStatements(this.db);
    return this.prepared;
  }

  /** Writes the records of runs that ended (inside the caller's transaction). */
  recordRuns(now: number, runs: unknown[][]): void {
    this.stmt.runInsertMany.run({ now, runs: JSON.stringify(runs) });
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

  finishSync(finishes: RunFinish[]): FinishApplied[] {
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
        // A run row only when another run follows: after a run that ended the task for good,
        // the task row is its record (last_outcome). The attempt of the run is the one before a refund.
        if (row.status === "queued") runs.push([row.id, row.run_count, row.attempt + (b[4] as number), row.node, row.started_at, b[12], b[5], b[6]]);
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
  addFollowUps(ended: SqlRow[], now: number): void {
    const ids = ended.filter((r) => r.has_follow_ups === 1 && (r.status === "succeeded" || r.status === "failed")).map((r) => r.id);
    if (ids.length) this.stmt.followUpInsert.run({ now, ids: JSON.stringify(ids) });
  }

  async runList(taskId: string): Promise<RunRow[]> {
    return (this.stmt.runs.all({ id: taskId }) as SqlRow[]).map(rowToRun);
  }

  async eventList(taskId: string, options: { afterId?: number; limit?: number }): Promise<EventRow[]> {
    return (this.stmt.events.all(taskId, options.afterId ?? 0, options.limit ?? 1000) as SqlRow[]).map(rowToEvent);
  }
}
