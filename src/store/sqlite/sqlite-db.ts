import Database from "better-sqlite3";
import type { TaskRow } from "../../model/task-row.js";
import { rowToTask as mapRow, taskColumns, type SqlRow, type TaskColumns } from "./sqlite-rows.js";
import { retryWhileBusy } from "./sqlite-write-lock.js";

/**
 * What every part of the SQLite store shares: the connection, the write transaction (with its
 * durability and its wait for the write lock), and the column layout of `tasks`.
 */

export interface SqliteDbOptions {
  path: string;
  synchronous?: "full" | "normal";
  busyTimeoutMs?: number;
  mustExist?: boolean;
}

export class SqliteDb {
  readonly db: Database.Database;
  readonly busyTimeoutMs: number;
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly durableSync: "FULL" | "NORMAL";
  private currentSync: string | null = null;
  /** Set around `BEGIN IMMEDIATE` only; null for `:memory:` (one connection, never busy). */
  private readonly busyTimeoutOff: Database.Statement | null;
  private readonly busyTimeoutOn: Database.Statement | null;
  private columns: TaskColumns | null = null;

  constructor(options: SqliteDbOptions) {
    const memory = options.path === ":memory:";
    this.db = new Database(options.path, { fileMustExist: options.mustExist ?? false });
    // One wrapper for every write (better-sqlite3 builds a new one per transaction() call).
    this.inTransaction = this.db.transaction((fn: () => unknown) => fn());
    this.busyTimeoutMs = options.busyTimeoutMs ?? 15_000;
    // Reads keep SQLite's busy handler: in WAL mode a read meets SQLITE_BUSY only in rare moments
    // (another connection running WAL recovery after a crash, or rebuilding the wal-index), where a
    // 1–100 ms sleep costs nothing that matters, and retrying every read statement of the store by
    // hand would spread through all its SQL. Writes wait for the lock in `retryWhileBusy`.
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    this.busyTimeoutOff = memory ? null : this.db.prepare("PRAGMA busy_timeout = 0");
    this.busyTimeoutOn = memory ? null : this.db.prepare(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
    if (!memory) this.db.pragma("journal_mode = WAL");
    this.db.pragma("foreign_keys = OFF");
    this.db.pragma("cache_size = -32000");
    this.durableSync = options.synchronous === "normal" ? "NORMAL" : "FULL";
  }

  /** The column layout of `tasks` (read once the schema exists), for rows read in raw mode. */
  get cols(): TaskColumns {
    this.columns ??= taskColumns(this.db.prepare("SELECT * FROM tasks LIMIT 0").columns().map((c) => c.name));
    return this.columns;
  }

  rowToTask(row: SqlRow, now: number): TaskRow {
    return mapRow(row, this.cols, now);
  }

  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction committed with the given durability. */
  write<T>(durable: boolean, fn: () => T): T {
    const sync = durable ? this.durableSync : "NORMAL";
    if (sync !== this.currentSync) {
      this.db.pragma(`synchronous = ${sync}`);
      this.currentSync = sync;
    }
    const off = this.busyTimeoutOff;
    const on = this.busyTimeoutOn;
    if (!off || !on || this.db.inTransaction) return this.inTransaction.immediate(fn) as T;
    // The write lock is waited for here, in µs steps, not in SQLite's busy handler (1–100 ms
    // sleeps): see sqlite-write-lock.ts. Once `BEGIN IMMEDIATE` holds the lock the busy timeout is
    // back on, so statements and COMMIT inside behave as before (a rollback-journal database, where
    // COMMIT waits for readers, included). The toggle costs ~3 µs per write transaction (two
    // prepared PRAGMA statements). Measured ad hoc (2 shared cores, load 2–4; 30 holds of 5–50 ms by
    // test/fixtures/sqlite-other-process.mjs): a write waiting for another
    // process's commit got the lock p50 2.5 ms / p90 4.4 ms after it, against 6.5 / 10.2 ms with
    // the busy handler (most of what is left is the scheduler waking this process on a busy box);
    // two worker processes draining one file (bench/peers, c10×2 / c100×2) stayed within the
    // noise, ~4,700–5,300 / ~3,800–4,200 tasks/s before and after: CPU, not the lock, limits them.
    let entered = false;
    const body = () => {
      entered = true;
      on.run();
      return fn();
    };
    off.run();
    try {
      return retryWhileBusy(
        () => this.inTransaction.immediate(body) as T,
        this.busyTimeoutMs,
        () => !entered,
      );
    } finally {
      if (!entered) on.run();
    }
  }
}

/** A part of the store (one concern): the shared connection under the names its statements use. */
export abstract class SqlitePart {
  constructor(protected readonly shared: SqliteDb) {}

  protected get db(): Database.Database {
    return this.shared.db;
  }

  protected get cols(): TaskColumns {
    return this.shared.cols;
  }

  protected rowToTask(row: SqlRow, now: number): TaskRow {
    return this.shared.rowToTask(row, now);
  }

  protected write<T>(durable: boolean, fn: () => T): T {
    return this.shared.write(durable, fn);
  }
}
