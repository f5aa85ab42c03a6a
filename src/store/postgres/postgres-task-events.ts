/**
 * The rows of the cluster-wide task event log (`task_events`), written by the statement that
 * makes the change, as a data-modifying CTE over that statement's RETURNING rows. Until
 * migration 5 a per-row plpgsql trigger wrote them: one function call and one single-row insert
 * per task and change. One set-based insert per statement writes the same rows.
 *
 * What it saves is the per-row trigger machinery, not the rows (still two per task). Measured on
 * this 2-core box, trigger against this, 20,000 tasks, alternating runs:
 * - claim 100 then finish 100 on one connection: 91-99 -> 82-87 µs of server CPU per task;
 * - 4 concurrent loops of 25: 260-272 -> 277-297 µs per task, i.e. more. Every statement is
 *   planned anew (unnamed statements), and the events CTE adds 0.08-0.17 ms of planning to a
 *   claim or a finish, where the trigger's plpgsql plan was cached per session: at small batches
 *   that outweighs the per-row calls saved;
 * - bench/pg-bench.ts drain100x1: 3.1k-5.6k tasks/s before, 3.4k-4.7k after; drain10x1:
 *   1.3k-2.1k before, 1.3k-2.0k after (load 2-4 from other work on the box: within the noise,
 *   if anything lower); transactions per task unchanged (0.02 and 0.20).
 * Bookkeeping statements are now prepared once per connection (PostgresStore.book), which removes
 * that planning cost: alternating drains, set-based against trigger, both prepared, gave
 * 6,376 / 6,388 against 4,968 / 5,593 tasks/s at c100x1 and 6,409 / 6,546 against
 * 4,454 / 5,957 at c100x2 (c10x1 mixed: 5,942 / 4,938 against 4,503 / 5,065).
 *
 * The rows are those the trigger wrote: `at` is created_at for an add, updated_at for a change,
 * now() for a delete; a queued task due later reports `scheduled`; attempt and run_no (run_count)
 * are the task's after the change (before it, for a delete). Positions (`id`) are still given
 * after commit by the sequencer (`PostgresStore.sequenceEvents`).
 */

const COLUMNS = "at, task_id, type, owner, kind, status, attempt, run_no";

/**
 * Events of the task rows a CTE returns. The CTE (alias `e` here) must return id, type, owner,
 * status, run_at, attempt, run_count, and the column `at` names.
 */
export interface TaskEventSource {
  /** The CTE returning the changed task rows. */
  rows: string;
  /** SQL for the event kind; rows for which it is NULL write no event. */
  kind: string;
  at: string;
  status: string;
}

/** The status an event reports: a queued task due after `at` is `scheduled`. */
function reportedStatus(at: string): string {
  return `CASE WHEN e.status = 'queued' AND e.run_at > ${at} THEN 'scheduled' ELSE e.status END`;
}

/** Tasks just inserted: `added`, at their creation. */
export function addedEvents(rows: string): TaskEventSource {
  return { rows, kind: "'added'", at: "e.created_at", status: reportedStatus("e.created_at") };
}

/** Tasks just updated: `kind` (SQL over the new row `e`), at their update. */
export function changedEvents(rows: string, kind: string): TaskEventSource {
  return { rows, kind, at: "e.updated_at", status: reportedStatus("e.updated_at") };
}

/** Tasks just deleted (rows as they were): `deleted`, now, with the status they had. */
export function deletedEvents(rows: string): TaskEventSource {
  return { rows, kind: "'deleted'", at: "now()", status: "e.status" };
}

/**
 * The kind of a running task's return to the queue: `released` when its attempt was refunded
 * (the attempt went down), `rescued` when its node was lost, else `retrying`. Other new statuses
 * are their own kind (`succeeded`, `failed`, `cancelled`). `oldAttempt` is SQL for the attempt
 * before the change.
 */
export function endOfRunKind(oldAttempt: string): string {
  return `CASE WHEN e.status <> 'queued' THEN e.status
    WHEN e.attempt < ${oldAttempt} THEN 'released'
    WHEN e.error ->> 'name' = 'NodeLostError' THEN 'rescued'
    ELSE 'retrying' END`;
}

/** One INSERT of the events of every source, in source order (rows of one source in their CTE's order). */
export function insertTaskEvents(S: string, ...sources: TaskEventSource[]): string {
  const selects = sources.map(
    (s) => `SELECT * FROM (SELECT ${s.at} AS at, e.id, e.type, e.owner, ${s.kind} AS kind, ${s.status} AS status, e.attempt, e.run_count
      FROM ${s.rows} e) x WHERE x.kind IS NOT NULL`,
  );
  return `INSERT INTO ${S}.task_events (${COLUMNS})
    ${selects.join("\n    UNION ALL ")}`;
}
