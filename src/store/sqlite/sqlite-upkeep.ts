import type Database from "better-sqlite3";
import type { TaskRow } from "../../model/task-row.js";
import type { PruneOptions, PruneReport, RescueOutcome } from "../store.js";
import { type SqliteDb, SqlitePart } from "./sqlite-db.js";
import type { SqlRow } from "./sqlite-rows.js";
import type { SqliteRuns } from "./sqlite-runs.js";

const FINAL_SQL = "('succeeded','failed','cancelled','expired')";

/** Statements of expiry and pruning. */
function upkeepStatements(db: Database.Database) {
  return {
    pruneFlowStarts: db.prepare("DELETE FROM flow_starts WHERE expires_at <= ?"),
    nextLeaseExpiry: db.prepare("SELECT MIN(lease_expires_at) AS t FROM tasks WHERE status = 'running' AND lease_expires_at > ?"),
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
  };
}

/** Upkeep: rescue of lost runs, expiry of overdue tasks, pruning. */
export class SqliteUpkeep extends SqlitePart {
  private prepared: ReturnType<typeof upkeepStatements> | null = null;

  /** Prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<typeof upkeepStatements> {
    this.prepared ??= upkeepStatements(this.db);
    return this.prepared;
  }

  constructor(
    shared: SqliteDb,
    private readonly runs: SqliteRuns,
  ) {
    super(shared);
  }

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
        this.runs.recordRuns(now, runs);
        this.runs.addFollowUps(rows.map((r) => ({ ...r, has_follow_ups: r.follow_ups !== null ? 1 : 0 })), now);
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

  async flowStartPrune(): Promise<number> {
    return this.write(false, () => this.stmt.pruneFlowStarts.run(Date.now()).changes);
  }
}
