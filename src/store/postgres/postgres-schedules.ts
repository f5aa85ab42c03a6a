import { ValidationError } from "../../model/errors.js";
import { missedColumns, missedOfColumns, type ScheduleFire, type ScheduleFired, type ScheduleRow, type ScheduleTick, type ScheduleWrite } from "../../model/schedule.js";
import { type PgDb, pgJson, PgPart } from "./postgres-db.js";
import { WAKE_CHANNEL } from "./postgres-notify.js";
import { type PgRow, pgRowToTask } from "./postgres-rows.js";
import type { PgTasks } from "./postgres-tasks.js";

/** Schedules and their ticks; a fired tick adds its task in the same transaction. */
export class PgSchedules extends PgPart {
  constructor(
    db: PgDb,
    private readonly tasks: PgTasks,
  ) {
    super(db);
  }

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
        const [row] = await this.query(this.tasks.insertStatement, [this.tasks.insertPayload([fire.task])], client);
        if (!row) throw new ValidationError("schedule", `schedule ${fire.schedule}: its task could not be added`);
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
