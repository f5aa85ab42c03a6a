import type { TaskEventFilter, TaskEventRow } from "../store.js";
import { PgPart } from "./postgres-db.js";

/** The cluster-wide task-event log: positions assigned after commit, reads, pruning. */
export class PgTaskLog extends PgPart {
  /**
   * Gives committed, unsequenced events their public position, in write order, after every
   * position handed out before. One sequencer at a time (advisory lock; a busy lock means another
   * is doing it now). The UPDATE is a statement of its own so its snapshot sees the previous
   * sequencer's commit, which taking the lock waited for.
   */
  private async sequenceEvents(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [
        `tasklane:${this.schema}:task-events`,
      ]);
      if (rows[0]!.ok) {
        const todo = await client.query<{ seq: number }>(
          `SELECT seq FROM ${this.S}.task_events WHERE id IS NULL ORDER BY seq LIMIT 50000`,
        );
        const n = todo.rows.length;
        if (n > 0) {
          // Reserve n positions in one step: the first is nextval, the sequence ends at first + n - 1.
          const [first] = (
            await client.query<{ first: number }>("SELECT setval($1::regclass, nextval($1::regclass) + $2 - 1) - $2 + 1 AS first", [
              `${this.S}.task_event_position`,
              n,
            ])
          ).rows;
          await client.query(
            `UPDATE ${this.S}.task_events e SET id = $1 + t.rn - 1
             FROM unnest($2::bigint[]) WITH ORDINALITY AS t(seq, rn) WHERE e.seq = t.seq`,
            [first!.first, todo.rows.map((r) => r.seq)],
          );
        }
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async taskEventList(filter: TaskEventFilter): Promise<TaskEventRow[]> {
    await this.sequenceEvents();
    const rows =
      filter.owner === undefined
        ? await this.query(`SELECT * FROM ${this.S}.task_events WHERE id > $1 ORDER BY id LIMIT $2`, [filter.afterId, filter.limit])
        : await this.query(`SELECT * FROM ${this.S}.task_events WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3`, [
            filter.owner,
            filter.afterId,
            filter.limit,
          ]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
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
    await this.sequenceEvents();
    const [row] = await this.query<{ id: number }>(`SELECT COALESCE(MAX(id), 0)::bigint AS id FROM ${this.S}.task_events`);
    return Number(row!.id);
  }

  async taskEventPrune(options: { before: number; batchSize: number }): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.pool.query(
        `DELETE FROM ${this.S}.task_events WHERE seq IN (
           SELECT seq FROM ${this.S}.task_events WHERE at < $1::timestamptz ORDER BY at LIMIT $2)`,
        [new Date(options.before).toISOString(), options.batchSize],
      );
      const n = result.rowCount ?? 0;
      total += n;
      if (n < options.batchSize) return total;
    }
  }
}
