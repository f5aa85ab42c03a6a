import type pg from "pg";
import { refuseTransactionControl } from "../sql-guard.js";
import type { SqlRunOptions, SqlRunResult } from "../store.js";

/** Commands whose `rowCount` is the number of rows they changed, with or without RETURNING. */
const WRITE_COMMANDS = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/**
 * The body of `PostgresStore.sqlRun`. `quotedSchema` is the store's schema as a quoted identifier.
 *
 * The statement goes through the extended protocol even without parameters (pg would otherwise
 * use the simple protocol, which runs `a; b` as two statements), so the server refuses more than
 * one. The connection is closed afterwards instead of returned to the pool: an admin's statement
 * may change session state (`SET`, `set_config`, temp tables, prepared statements) that must not
 * leak into the store's own queries. A fresh connection per sql task is cheap next to that risk.
 */
export async function postgresSqlRun(
  pool: pg.Pool,
  quotedSchema: string,
  statement: string,
  params: unknown[],
  options: SqlRunOptions,
): Promise<SqlRunResult> {
  refuseTransactionControl(statement);
  options.signal?.throwIfAborted();
  const client = await pool.connect();
  let broken: Error | undefined;
  // A cancelled or timed-out run must not leave its statement running: cancel it from another
  // connection (pg_cancel_backend), which makes the statement fail and the transaction roll back.
  const pid = (client as unknown as { processID?: unknown }).processID;
  const cancel = () => {
    if (typeof pid === "number") pool.query("SELECT pg_cancel_backend($1)", [pid]).catch(() => undefined);
  };
  options.signal?.addEventListener("abort", cancel, { once: true });
  try {
    // One round trip: unqualified names resolve to Tasklane's schema, the timeout bounds this statement only.
    const timeout = options.timeoutMs ? `; SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(options.timeoutMs))}` : "";
    await client.query(`BEGIN; SET LOCAL search_path TO ${quotedSchema}${timeout}`);
    let result: pg.QueryResult<Record<string, unknown>>;
    try {
      result = await client.query<Record<string, unknown>>({ text: statement, values: params, queryMode: "extended" } as pg.QueryConfig);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
    // pg reads a query's whole result before it resolves; only the first rowLimit rows are kept.
    const rows = result.rows.length > options.rowLimit ? result.rows.slice(0, options.rowLimit) : result.rows;
    const truncated = result.rows.length > options.rowLimit;
    const returnsRows = result.fields.length > 0 && !WRITE_COMMANDS.has(result.command);
    return { rowCount: returnsRows ? rows.length : (result.rowCount ?? 0), rows, truncated };
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", cancel);
    client.release(broken ?? true);
  }
}
