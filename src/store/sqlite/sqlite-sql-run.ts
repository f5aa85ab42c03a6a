import type Database from "better-sqlite3";
import { ValidationError } from "../../model/errors.js";
import { refuseTransactionControl, transactionControlError } from "../sql-guard.js";
import type { SqlRunOptions, SqlRunResult } from "../store.js";

/**
 * The body of `SqliteStore.sqlRun`, called inside the store's `BEGIN IMMEDIATE` transaction.
 * better-sqlite3 refuses a string holding more than one statement at `prepare`, so exactly one
 * runs. SQLite has no statement timeout we can set from here (`timeoutMs` is ignored): the
 * statement runs on this thread to its end.
 */
export function sqliteSqlRun(db: Database.Database, statement: string, params: unknown[], options: SqlRunOptions): SqlRunResult {
  refuseTransactionControl(statement);
  const stmt = db.prepare(statement);
  bindParams(stmt, params);
  let result: SqlRunResult;
  if (!stmt.reader) {
    result = { rowCount: stmt.run().changes, rows: [], truncated: false };
  } else if (stmt.readonly) {
    // A query: stop reading one row past the limit, so a huge result costs no more than that.
    const rows: Record<string, unknown>[] = [];
    let truncated = false;
    // Leaving the loop early closes the iterator (for-of calls return()), which must happen before COMMIT.
    for (const row of stmt.iterate() as IterableIterator<Record<string, unknown>>) {
      if (rows.length === options.rowLimit) {
        truncated = true;
        break;
      }
      rows.push(row);
    }
    result = { rowCount: rows.length, rows, truncated };
  } else {
    // A write with RETURNING: every returned row is a changed row, so count them all (the
    // changes happen at the first step anyway) and keep only the first rowLimit.
    const rows: Record<string, unknown>[] = [];
    let count = 0;
    for (const row of stmt.iterate() as IterableIterator<Record<string, unknown>>) {
      if (count++ < options.rowLimit) rows.push(row);
    }
    result = { rowCount: count, rows, truncated: count > options.rowLimit };
  }
  // Belt and braces for what the pattern above cannot see (a statement that ends the transaction
  // some other way): the store's wrapper must still be the one to commit or roll back.
  if (!db.inTransaction) throw transactionControlError();
  return result;
}

/**
 * Binds the params array. SQLite reads `$1` as a parameter *named* "1" and `?` as positional, so
 * a statement written with PostgreSQL's `$1, $2` placeholders binds by name and one written with
 * `?` by position; binding fails before anything runs, so trying one form and then the other is safe.
 */
function bindParams(stmt: Database.Statement, params: unknown[]): void {
  // better-sqlite3 binds numbers, strings, bigints, buffers and null only; JSON booleans become 1/0 as SQLite stores them.
  const args = params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p));
  if (args.length === 0) return;
  try {
    stmt.bind(...args);
  } catch (positional) {
    try {
      stmt.bind(Object.fromEntries(args.map((value, i) => [String(i + 1), value])));
    } catch {
      throw new ValidationError("sql", `sql: cannot bind ${args.length} parameter(s): ${(positional as Error).message} (use ? or $1, $2, … placeholders)`);
    }
  }
}
