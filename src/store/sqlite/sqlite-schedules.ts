import type Database from "better-sqlite3";
import { missedColumns, missedOfColumns, type ScheduleRow, type ScheduleWrite } from "../../model/schedule.js";
import type { SqlRow } from "./sqlite-rows.js";

type ScheduleStatementName =
  | "upsert" | "get" | "list" | "delete" | "deleteTicks" | "pause" | "tickInsert" | "noteTick" | "noteTask" | "ticks" | "pruneTicks" | "pruneFlowStarts";

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
    pruneFlowStarts: db.prepare("DELETE FROM flow_starts WHERE expires_at <= ?"),
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
