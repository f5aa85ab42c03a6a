import type { PausedType, TypeActivity } from "../store.js";
import { typeActivityOf } from "../type-activity.js";
import { PgPart } from "./postgres-db.js";
import { WAKE_CHANNEL } from "./postgres-notify.js";

/**
 * Task types: pausing and resuming, and the per-type activity of the queues page. A pause or
 * resume is announced on the wake channel (`schema:types`), so every node drops its cached
 * paused set at once (postgres-claim.ts) and a resumed type is claimed without waiting for a poll.
 */
export class PgTypes extends PgPart {
  async typePause(type: string, paused: boolean): Promise<boolean> {
    const notify = `pg_notify('${WAKE_CHANNEL}', '${this.schema}:types')`;
    const rows = paused
      ? await this.query(
          `WITH changed AS (INSERT INTO ${this.S}.paused_types (type, paused_at) VALUES ($1, now()) ON CONFLICT (type) DO NOTHING RETURNING type)
           SELECT type, ${notify} IS NULL AS notified FROM changed`,
          [type],
        )
      : await this.query(
          `WITH changed AS (DELETE FROM ${this.S}.paused_types WHERE type = $1 RETURNING type)
           SELECT type, ${notify} IS NULL AS notified FROM changed`,
          [type],
        );
    return rows.length === 1;
  }

  async typePausedList(): Promise<PausedType[]> {
    const rows = await this.query<{ type: string; paused_at: Date }>(`SELECT type, paused_at FROM ${this.S}.paused_types ORDER BY type`);
    return rows.map((r) => ({ type: r.type, pausedAt: r.paused_at }));
  }

  async typeActivity(): Promise<TypeActivity> {
    // Both ranges use indexes: task_events (at) for the last hour, tasks_ready_type for the queue.
    const finished = await this.query<{ type: string; sm: number; fm: number; sh: number; fh: number }>(
      `SELECT type,
         count(*) FILTER (WHERE kind = 'succeeded' AND at >= now() - interval '1 minute')::int AS sm,
         count(*) FILTER (WHERE kind = 'failed' AND at >= now() - interval '1 minute')::int AS fm,
         count(*) FILTER (WHERE kind = 'succeeded')::int AS sh,
         count(*) FILTER (WHERE kind = 'failed')::int AS fh
       FROM ${this.S}.task_events
       WHERE at >= now() - interval '1 hour' AND kind IN ('succeeded', 'failed')
       GROUP BY type`,
    );
    const oldest = await this.query<{ type: string; t: Date }>(
      `SELECT type, min(run_at) AS t FROM ${this.S}.tasks WHERE status = 'queued' AND run_at <= now() GROUP BY type`,
    );
    return typeActivityOf(finished, oldest.map((o) => ({ type: o.type, at: o.t.getTime() })), this.nowSync());
  }
}
