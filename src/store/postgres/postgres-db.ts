import { createHash } from "node:crypto";
import pg from "pg";
import { ValidationError } from "../../model/errors.js";
import { WAKE_CHANNEL } from "./postgres-notify.js";
import { WakeSender } from "./postgres-wake-sender.js";
import type { PgRow } from "./postgres-rows.js";

/**
 * What every part of the PostgreSQL store shares: the two pools, the schema, the database clock,
 * and the ways a statement is sent (plain, as prepared bookkeeping, in a transaction).
 */

export const FINAL_SQL = "('succeeded','failed','cancelled','expired')";
export const OUT_OF_TRIES = "(attempt >= max_attempts OR run_count >= max_runs)";
// Times are stored as timestamptz(3), which ROUNDS to the millisecond: a run_at set to now() may
// read back up to 0.5 ms after now(). Comparisons that decide "due later" use now() rounded the
// same way (now()::timestamptz(3)), or a task added "now" would report itself scheduled.

// bigint (int8) columns hold counts and ids well inside 2^53: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/**
 * JSON for what handlers produce (results, errors, log lines, progress messages): PostgreSQL's
 * jsonb and text cannot hold the NUL character, and one such string must not make a whole batch
 * of outcomes unwritable, so NUL becomes U+FFFD. (Params with NUL are refused at `add`.)
 */
export function pgJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" && v.includes("\u0000") ? v.replaceAll("\u0000", "\uFFFD") : v));
}

function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new ValidationError("schema", `schema: "${name}" is not a plain SQL identifier`);
  return `"${name}"`;
}

export interface PgDbOptions {
  url: string;
  schema: string;
  poolSize: number;
  /** `transaction`: `url` is a pooler in transaction mode (PgBouncer); see PostgresStoreOptions.pooler. */
  pooler: "transaction" | null;
}

export class PgDb {
  readonly url: string;
  readonly schema: string;
  /** The quoted schema name, for statements. */
  readonly S: string;
  readonly pool: pg.Pool;
  /**
   * Connections for worker bookkeeping (claims, run ends, leases, progress, logs, rescues), which
   * commit with synchronous_commit off: no WAL flush wait per commit. Losing one of those to a
   * server crash only makes a task run again (at-least-once), never loses a task; a later durable
   * commit flushes the WAL before it, in order. Adds, cancels, retries and deletes use `pool`
   * and are durable when they return.
   */
  readonly bookkeeping: pg.Pool;
  readonly pooler: "transaction" | null;
  /** Wake-ups of committed adds, sent after their commit (see WakeSender). */
  readonly wakes: WakeSender;
  private clockOffsetMs = 0;
  private clockMeasuredAt = 0;
  private readonly statementNames = new Map<string, string>();
  private statementGeneration = 0;

  constructor(options: PgDbOptions) {
    this.url = options.url;
    this.schema = options.schema;
    this.S = quoteIdent(this.schema);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      types,
      application_name: "tasklane",
      // A database restart breaks idle connections: drop them quietly; the next query reconnects.
      idleTimeoutMillis: 30_000,
    });
    this.pool.on("error", () => undefined);
    this.pooler = options.pooler;
    this.bookkeeping = new pg.Pool({
      connectionString: options.url,
      max: Math.max(2, Math.ceil(options.poolSize / 2)),
      types,
      application_name: "tasklane-worker",
      idleTimeoutMillis: 30_000,
      // A pooler in transaction mode hands each transaction to any server connection, so it
      // refuses startup options (PgBouncer: "unsupported startup parameter"): there,
      // bookkeeping commits wait for the WAL flush like every other.
      ...(options.pooler === "transaction" ? {} : { options: "-c synchronous_commit=off" }),
    });
    this.bookkeeping.on("error", () => undefined);
    this.wakes = new WakeSender(this.schema, async (channel, payloads) => {
      await this.book("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [channel, payloads]);
    });
  }

  async query<R extends PgRow = PgRow>(text: string, values: unknown[] = [], client?: pg.ClientBase): Promise<R[]> {
    const result = await (client ?? this.pool).query<R>(text, values);
    return result.rows;
  }

  /**
   * A statement of worker bookkeeping: committed without waiting for the WAL flush (see
   * `bookkeeping`), and prepared once per connection under a name: the claim and finish
   * statements are large CTEs whose planning cost 0.1–0.2 ms on every call (measured by
   * EXPLAIN's planning time on this machine); a named statement is parsed and planned once.
   */
  async book<R extends PgRow = PgRow>(text: string, values: unknown[] = []): Promise<R[]> {
    // Behind a pooler in transaction mode a statement prepared on one server connection is not
    // there on the next (PgBouncer before 1.21 does not carry them over): planned every time.
    if (this.pooler === "transaction") return (await this.bookkeeping.query<R>(text, values)).rows;
    const config = { name: this.statementName(text), text, values };
    try {
      return (await this.bookkeeping.query<R>(config)).rows;
    } catch (error) {
      // Another node migrated the schema under a prepared `RETURNING *`: prepare anew.
      if ((error as { code?: string }).code !== "0A000") throw error;
      this.statementGeneration++;
      this.statementNames.clear();
      return (await this.bookkeeping.query<R>({ ...config, name: this.statementName(text) })).rows;
    }
  }

  private statementName(text: string): string {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `tl${this.statementGeneration}_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
      this.statementNames.set(text, name);
    }
    return name;
  }

  /** Runs `fn` in a transaction on one pooled connection. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const value = await fn(client);
      await client.query("COMMIT");
      return value;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async measureClock(): Promise<void> {
    const before = Date.now();
    const [row] = await this.query<{ ms: number }>("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms");
    const after = Date.now();
    this.clockOffsetMs = Math.round(row!.ms - (before + after) / 2);
    this.clockMeasuredAt = after;
  }

  async now(): Promise<number> {
    // The database clock, as an offset from this machine's measured once a minute: no round trip per add.
    if (Date.now() - this.clockMeasuredAt > 60_000) await this.measureClock().catch(() => undefined);
    return Date.now() + this.clockOffsetMs;
  }

  nowSync(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** The wake-up channel and this schema's payload, for statements that `pg_notify($n, $n+1)`. */
  notifyArgs(): [string, string] {
    return [WAKE_CHANNEL, this.schema];
  }

  async close(): Promise<void> {
    await this.wakes.flush();
    await this.pool.end().catch(() => undefined);
    await this.bookkeeping.end().catch(() => undefined);
  }
}

/** A part of the store (one concern): the shared plumbing under the names its statements use. */
export abstract class PgPart {
  constructor(protected readonly db: PgDb) {}

  protected get S(): string {
    return this.db.S;
  }

  protected get schema(): string {
    return this.db.schema;
  }

  protected get pool(): pg.Pool {
    return this.db.pool;
  }

  protected get bookkeeping(): pg.Pool {
    return this.db.bookkeeping;
  }

  protected query<R extends PgRow = PgRow>(text: string, values: unknown[] = [], client?: pg.ClientBase): Promise<R[]> {
    return this.db.query<R>(text, values, client);
  }

  protected book<R extends PgRow = PgRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return this.db.book<R>(text, values);
  }

  protected transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  protected nowSync(): number {
    return this.db.nowSync();
  }

  protected iso(ms: number | null): string | null {
    return ms === null ? null : new Date(ms).toISOString();
  }

  protected notifyArgs(): [string, string] {
    return this.db.notifyArgs();
  }
}
