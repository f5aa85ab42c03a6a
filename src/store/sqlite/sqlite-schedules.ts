import type Database from "better-sqlite3";
import { missedColumns, missedOfColumns, type ScheduleRow, type ScheduleWrite } from "../../model/schedule.js";
import type { ScheduleFire, ScheduleFired, ScheduleTick } from "../../model/schedule.js";
import { ValidationError } from "../../model/errors.js";
import { SqlitePart, type SqliteDb } from "./sqlite-db.js";
import { valuesToTask, type SqlRow } from "./sqlite-rows.js";
import type { SqliteTasks } from "./sqlite-tasks.js";

type ScheduleStatementName =
  | "upsert" | "get" | "list" | "delete" | "deleteTicks" | "pause" | "tickInsert" | "noteTick" | "noteTask" | "ticks" | "pruneTicks";

/** The SQLite statements of cron schedules and their fired ticks, prepared once. */
export function prepareScheduleStatements(db: Database.Database): Record<ScheduleStatementName, Database.Statement> {
  return {
    // A new schedule, or a changed cron, zone or missed-tick policy, counts ticks from now; the
    // last fired tick is kept, so no tick at or before it ever fires again.
    upsert: db.prepare(`INSERT INTO schedules (name, type, params, options, cron, tz, missed, catch_up_ms, paused, anchor_at, created_at, updated_at)
        VALUES (@name, @type, @params, @options, @cron, @tz, @missed, @catchUpMs, coalesce(@paused, 0), @now, @now, @now)
        ON CONFLICT (name) DO UPDATE SET
          type = excluded.type, params = excluded.params, options = excluded.options,
          anchor_at = CASE
            WHEN cron <> excluded.cron OR tz <> excluded.tz OR missed <> excluded.missed OR catch_up_ms <> excluded.catch_up_ms THEN excluded.anchor_at
            WHEN @paused IS NOT NULL AND paused = 1 AND @paused = 0 THEN excluded.anchor_at
            ELSE anchor_at END,
          cron = excluded.cron, tz = excluded.tz, missed = excluded.missed, catch_up_ms = excluded.catch_up_ms,
          paused = coalesce(@paused, paused),
          updated_at = excluded.updated_at
        RETURNING *`),
    get: db.prepare("SELECT * FROM schedules WHERE name = ?"),
    list: db.prepare("SELECT * FROM schedules ORDER BY name"),
    delete: db.prepare("DELETE FROM schedules WHERE name = ?"),
    deleteTicks: db.prepare("DELETE FROM schedule_ticks WHERE schedule = ?"),
    // Resuming counts ticks from now: ticks that passed while paused never fire.
    pause: db.prepare(`UPDATE schedules SET
          anchor_at = CASE WHEN paused = 1 AND @paused = 0 THEN @now ELSE anchor_at END,
          paused = @paused, updated_at = @now
        WHERE name = @name RETURNING *`),
    // The unique (schedule, tick_at) key makes a tick fire once across nodes; the conditions keep
    // a node with a clock behind (or a stale list) from firing a tick already passed.
    tickInsert: db.prepare(`INSERT INTO schedule_ticks (schedule, tick_at, task_id, fired_at)
        SELECT @schedule, @tickAt, @taskId, @now
        WHERE EXISTS (SELECT 1 FROM schedules WHERE name = @schedule AND paused = 0 AND anchor_at < @tickAt
          AND (last_tick_at IS NULL OR last_tick_at < @tickAt))
        ON CONFLICT DO NOTHING`),
    noteTick: db.prepare(`UPDATE schedules SET last_tick_at = max(coalesce(last_tick_at, @tickAt), @tickAt), last_task_id = @taskId
        WHERE name = @name`),
    noteTask: db.prepare("UPDATE schedules SET last_task_id = @taskId WHERE name = @name"),
    ticks: db.prepare("SELECT * FROM schedule_ticks WHERE schedule = ? ORDER BY tick_at DESC LIMIT ?"),
    pruneTicks: db.prepare(`DELETE FROM schedule_ticks WHERE fired_at < ?
        AND tick_at <> coalesce((SELECT s.last_tick_at FROM schedules s WHERE s.name = schedule_ticks.schedule), -1)`),
  };
}

export function scheduleArgs(s: ScheduleWrite, now: number): Record<string, unknown> {
  return {
    name: s.name,
    type: s.type,
    params: JSON.stringify(s.params ?? null),
    options: JSON.stringify(s.options ?? {}),
    cron: s.cron,
    tz: s.tz,
    ...missedColumns(s.missed),
    paused: s.paused === undefined ? null : s.paused ? 1 : 0,
    now,
  };
}

export function rowToSchedule(r: SqlRow): ScheduleRow {
  return {
    name: r.name,
    type: r.type,
    params: JSON.parse(r.params),
    options: JSON.parse(r.options),
    cron: r.cron,
    tz: r.tz,
    missed: missedOfColumns(r.missed, r.catch_up_ms),
    paused: r.paused === 1,
    anchorAt: new Date(r.anchor_at),
    lastTickAt: r.last_tick_at === null ? null : new Date(r.last_tick_at),
    lastTaskId: r.last_task_id,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** Schedules and their ticks; a fired tick adds its task in the same transaction. */
export class SqliteSchedules extends SqlitePart {
  private prepared: ReturnType<typeof prepareScheduleStatements> | null = null;

  constructor(
    shared: SqliteDb,
    private readonly tasks: SqliteTasks,
  ) {
    super(shared);
  }

  /** Prepared on first use, once the schema exists. */
  private get stmt(): ReturnType<typeof prepareScheduleStatements> {
    this.prepared ??= prepareScheduleStatements(this.db);
    return this.prepared;
  }

  async scheduleUpsert(schedule: ScheduleWrite): Promise<ScheduleRow> {
    return this.write(true, () => {
      const row = this.stmt.upsert.get(scheduleArgs(schedule, Date.now())) as SqlRow;
      return rowToSchedule(row);
    });
  }

  async scheduleGet(name: string): Promise<ScheduleRow | null> {
    const row = this.stmt.get.get(name) as SqlRow | undefined;
    return row ? rowToSchedule(row) : null;
  }

  async scheduleList(): Promise<ScheduleRow[]> {
    return (this.stmt.list.all() as SqlRow[]).map(rowToSchedule);
  }

  async scheduleDelete(name: string): Promise<boolean> {
    return this.write(true, () => {
      this.stmt.deleteTicks.run(name);
      return this.stmt.delete.run(name).changes === 1;
    });
  }

  async schedulePause(name: string, paused: boolean): Promise<ScheduleRow | null> {
    return this.write(true, () => {
      const row = this.stmt.pause.get({ name, paused: paused ? 1 : 0, now: Date.now() }) as SqlRow | undefined;
      return row ? rowToSchedule(row) : null;
    });
  }

  async scheduleFire(fires: ScheduleFire[]): Promise<ScheduleFired[]> {
    if (fires.length === 0) return [];
    return this.write(true, () => {
      const now = Date.now();
      return fires.map((fire): ScheduleFired => {
        const claimed = this.stmt.tickInsert.run({ schedule: fire.schedule, tickAt: fire.tickAt, taskId: fire.task.id, now }).changes === 1;
        if (!claimed) return { schedule: fire.schedule, tickAt: fire.tickAt, task: null };
        const row = this.tasks.insertRow(now, fire.task);
        if (!row) throw new ValidationError("schedule", `schedule ${fire.schedule}: its task could not be added (id ${fire.task.id} exists)`);
        this.stmt.noteTick.run({ name: fire.schedule, tickAt: fire.tickAt, taskId: fire.task.id, now });
        return { schedule: fire.schedule, tickAt: fire.tickAt, task: valuesToTask(row, this.cols, now) };
      });
    });
  }

  async scheduleNoteTask(name: string, taskId: string): Promise<void> {
    this.write(true, () => this.stmt.noteTask.run({ name, taskId, now: Date.now() }));
  }

  async scheduleTicks(name: string, limit: number): Promise<ScheduleTick[]> {
    return (this.stmt.ticks.all(name, limit) as SqlRow[]).map((r) => ({
      schedule: r.schedule,
      tickAt: new Date(r.tick_at),
      taskId: r.task_id,
      firedAt: new Date(r.fired_at),
    }));
  }

  async scheduleTickPrune(before: number): Promise<number> {
    return this.write(false, () => this.stmt.pruneTicks.run(before).changes);
  }
}
