import type Database from "better-sqlite3";
import type { PausedType, TypeActivity } from "../store.js";
import { typeActivityOf } from "../type-activity.js";
import { SqlitePart } from "./sqlite-db.js";

function typeStatements(db: Database.Database) {
  return {
    pause: db.prepare("INSERT INTO paused_types (type, paused_at) VALUES (?, ?) ON CONFLICT (type) DO NOTHING"),
    resume: db.prepare("DELETE FROM paused_types WHERE type = ?"),
    list: db.prepare("SELECT type, paused_at FROM paused_types ORDER BY type"),
    // The first event id of the hour, then a range of ids: the log's primary key, as taskStats does.
    firstEventSince: db.prepare("SELECT MIN(id) AS id FROM task_events WHERE at >= ?").pluck(true),
    finished: db.prepare(`SELECT type,
        SUM(kind = 'succeeded' AND at >= @minute) AS sm, SUM(kind = 'failed' AND at >= @minute) AS fm,
        SUM(kind = 'succeeded') AS sh, SUM(kind = 'failed') AS fh
      FROM task_events WHERE id >= @fromId AND at >= @hour AND kind IN ('succeeded', 'failed') GROUP BY type`),
    oldest: db.prepare("SELECT type, MIN(run_at) AS t FROM tasks INDEXED BY tasks_queued_type WHERE status = 'queued' AND run_at <= ? GROUP BY type"),
  };
}

/**
 * Task types: pausing and resuming, and the per-type activity of the queues page. Claims read
 * the paused set inside their own transaction (sqlite-claim.ts), so a pause holds from its commit
 * on, in every process; another process's worker notices a resume through the change watch.
 */
export class SqliteTypes extends SqlitePart {
  private prepared: ReturnType<typeof typeStatements> | null = null;

  private get stmt(): ReturnType<typeof typeStatements> {
    this.prepared ??= typeStatements(this.db);
    return this.prepared;
  }

  async typePause(type: string, paused: boolean): Promise<boolean> {
    return this.write(true, () => (paused ? this.stmt.pause.run(type, Date.now()) : this.stmt.resume.run(type)).changes === 1);
  }

  async typePausedList(): Promise<PausedType[]> {
    return (this.stmt.list.all() as Array<{ type: string; paused_at: number }>).map((r) => ({ type: r.type, pausedAt: new Date(r.paused_at) }));
  }

  async typeActivity(): Promise<TypeActivity> {
    const now = Date.now();
    const hour = now - 3_600_000;
    const fromId = (this.stmt.firstEventSince.get(hour) as number | null) ?? Number.MAX_SAFE_INTEGER;
    const finished = this.stmt.finished.all({ fromId, hour, minute: now - 60_000 }) as Array<{ type: string; sm: number; fm: number; sh: number; fh: number }>;
    const oldest = this.stmt.oldest.all(now) as Array<{ type: string; t: number }>;
    return typeActivityOf(finished, oldest.map((o) => ({ type: o.type, at: o.t })), now);
  }
}
