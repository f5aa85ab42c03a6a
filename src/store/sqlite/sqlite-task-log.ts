import type Database from "better-sqlite3";
import type { TaskEventFilter, TaskEventRow } from "../store.js";
import { SqlitePart } from "./sqlite-db.js";
import type { SqlRow } from "./sqlite-rows.js";

/** Statements of the task-event log. */
function taskLogStatements(db: Database.Database) {
  return {
    eventsAll: db.prepare("SELECT * FROM task_events WHERE id > ? ORDER BY id LIMIT ?"),
    eventsOwner: db.prepare("SELECT * FROM task_events WHERE owner = ? AND id > ? ORDER BY id LIMIT ?"),
    eventLast: db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM task_events"),
    eventPrune: db.prepare("DELETE FROM task_events WHERE id IN (SELECT id FROM task_events WHERE at < ? ORDER BY at LIMIT ?)"),
  };
}

/** The task-event log (written by triggers in each change's transaction): reads and pruning. */
export class SqliteTaskLog extends SqlitePart {
  private prepared: ReturnType<typeof taskLogStatements> | null = null;

  /** Prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<typeof taskLogStatements> {
    this.prepared ??= taskLogStatements(this.db);
    return this.prepared;
  }

  async taskEventList(filter: TaskEventFilter): Promise<TaskEventRow[]> {
    const rows = (
      filter.owner === undefined
        ? this.stmt.eventsAll.all(filter.afterId, filter.limit)
        : this.stmt.eventsOwner.all(filter.owner, filter.afterId, filter.limit)
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
    return (this.stmt.eventLast.get() as { id: number }).id;
  }

  async taskEventPrune(options: { before: number; batchSize: number }): Promise<number> {
    let total = 0;
    for (;;) {
      const n = this.write(false, () => this.stmt.eventPrune.run(options.before, options.batchSize).changes);
      total += n;
      if (n < options.batchSize) return total;
    }
  }
}
