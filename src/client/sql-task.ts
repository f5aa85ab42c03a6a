import { z } from "zod";
import { ValidationError } from "../model/errors.js";
import { defineTask, type TaskDefinition } from "../model/options.js";
import type { Store } from "../store/store.js";

/** Name of the built-in task type that runs one SQL statement on the task database. */
export const SQL_TASK_TYPE = "sql";

/** Longest statement accepted, characters. */
export const SQL_MAX_LENGTH = 100_000;
/** Most rows a query returns in the task result: default and ceiling of `rowLimit`. */
export const SQL_DEFAULT_ROW_LIMIT = 1000;
export const SQL_MAX_ROW_LIMIT = 10_000;

/** Params of a `sql` task; validated at `add`, so a bad one is refused before anything is stored. */
export const sqlTaskParams = z.strictObject({
  /** One statement; placeholders `$1, $2, …` (SQLite also takes `?`). */
  sql: z.string().min(1).max(SQL_MAX_LENGTH).refine((s) => s.trim().length > 0, "must not be blank"),
  /** Values bound to the placeholders, in order [none]. */
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(10_000).default([]),
  /** Most rows of a query kept in the result, 1..10,000 [1000]. */
  rowLimit: z.number().int().min(1).max(SQL_MAX_ROW_LIMIT).default(SQL_DEFAULT_ROW_LIMIT),
});

export type SqlTaskParams = z.output<typeof sqlTaskParams>;

/** Result of a `sql` task. */
export interface SqlTaskResult {
  /** Rows changed by a write, or rows returned by a query (at most `rowLimit`). */
  rowCount: number;
  /** A query's rows (or a write's RETURNING rows), at most `rowLimit`, as JSON values. */
  rows: Record<string, unknown>[];
  /** The query had more rows than `rowLimit`. */
  truncated: boolean;
}

/**
 * The built-in `sql` type, bound to the store it runs on. It is only registered when the
 * instance is opened with `sqlTasks: true`: the statement runs with the task database's own
 * credentials, so it is an admin tool, never something a tenant may submit.
 *
 * One attempt by default: a failing statement is almost always wrong SQL, which a retry would not
 * fix, and a write is not generally safe to repeat. `attempts` on `add` overrides it.
 */
export function sqlTaskDefinition(store: Store): TaskDefinition<SqlTaskParams, SqlTaskResult> {
  return defineTask<SqlTaskParams, SqlTaskResult>({
    name: SQL_TASK_TYPE,
    description: "Runs one SQL statement with bound parameters on the task database, in its own transaction (built in; admin only).",
    params: sqlTaskParams,
    attempts: 1,
    // It runs on the node's own store connection: it cannot move to a runner.
    isolation: "none",
    async run(ctx) {
      const { sql, params, rowLimit } = ctx.params;
      // The task's timeout also bounds the statement on the server, and an aborted run (cancel,
      // timeout, shutdown, lost lease) cancels it there (PostgreSQL), so no query outlives its run.
      const result = await store.sqlRun(sql, params, { rowLimit, timeoutMs: ctx.task.timeoutMs, signal: ctx.signal });
      return { rowCount: result.rowCount, rows: result.rows.map(jsonRow), truncated: result.truncated };
    },
  });
}

/** Refuses a user type that would shadow the built-in one. */
export function assertNotSqlType(def: TaskDefinition): void {
  if (def.name === SQL_TASK_TYPE) {
    throw new ValidationError(
      null,
      `task "${SQL_TASK_TYPE}": this name belongs to the built-in sql task type, which is enabled (sqlTasks); choose another name`,
    );
  }
}

/** Column values as JSON keeps them in the stored result: bytes as `\x…` hex, big integers exactly. */
function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = jsonValue(value);
  return out;
}

function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  return value;
}
