import fs from "node:fs";
import path from "node:path";
import { ConfigError, TasklaneError } from "../model/errors.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import type { Store, StoreThreadConfig } from "./store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";

export interface StoreConfig {
  /** SQLite: `sqlite:./tasklane.db`, `sqlite::memory:`, a path, or `:memory:`; PostgreSQL: `postgres://user@host/db?schema=NAME`. */
  db: string;
  synchronous?: "full" | "normal";
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
  /**
   * Refuse a database without Tasklane's tables [false]: a SQLite file that does not exist (it is
   * not created) or holds none, a PostgreSQL schema that is missing or empty (it is not created).
   * Checked before any migration, so a read-only command changes nothing.
   */
  mustExist?: boolean;
  /** PostgreSQL schema [from the URL's `schema` parameter, else tasklane]. */
  schema?: string;
  /** PostgreSQL connection pool size [10]. */
  poolSize?: number;
}

/** Every engine Tasklane runs on, for messages about a database URL. */
export const SUPPORTED_ENGINES =
  "Tasklane runs on SQLite (sqlite:PATH, a path to a file, or sqlite::memory:) and PostgreSQL (postgres://USER@HOST:PORT/DB?schema=NAME)";

/** Where `db` points, for messages (a file path, or the URL with its password hidden). */
export function describeDb(db: string): string {
  return db.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** Opens (and by default migrates) the store `config.db` names. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const db = config.db.trim();
  if (/^postgres(ql)?:\/\//i.test(db)) return openPostgres(db, config);
  let file: string;
  if (db === ":memory:" || db === "sqlite::memory:") file = ":memory:";
  else if (db.startsWith("sqlite://")) file = db.slice("sqlite://".length);
  else if (db.startsWith("sqlite:")) file = db.slice("sqlite:".length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) throw new ConfigError(`db: unsupported database URL "${describeDb(db)}": ${SUPPORTED_ENGINES}`);
  else file = db;
  if (!file) throw new ConfigError("db: empty SQLite path");
  const target = file === ":memory:" ? file : path.resolve(file);
  if (config.mustExist && target !== ":memory:" && !fs.existsSync(target)) throw noDatabase(target);
  let store: SqliteStore;
  try {
    store = new SqliteStore({ path: target, synchronous: config.synchronous, migrate: config.migrate !== false && !config.mustExist, mustExist: config.mustExist });
  } catch (error) {
    const reason = (error as Error).message;
    if (config.mustExist && /does not exist|unable to open/i.test(reason) && !fs.existsSync(target)) throw noDatabase(target);
    throw new ConfigError(`db: cannot open database ${target}: ${reason}`);
  }
  if (config.mustExist) await checkedThenMigrated(store, `${target} has no Tasklane tables`, config.migrate);
  return store;
}

function noDatabase(target: string): ConfigError {
  return new ConfigError(`db: no Tasklane database at ${target} (run "tasklane db migrate" or "tasklane start" to create one)`);
}

/**
 * With `mustExist`: refuses a store none of whose migrations were applied (before anything is
 * created in it), then applies the pending ones unless `migrate` is false.
 */
async function checkedThenMigrated(store: Store, empty: string, migrate: boolean | undefined): Promise<void> {
  try {
    const states = await store.migrationStatus();
    if (!states.some((m) => m.appliedAt !== null)) throw new ConfigError(`db: ${empty}; run "tasklane db migrate" (or "tasklane start") to create them`);
    if (migrate !== false) await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * `postgres://…`; the schema comes from `config.schema`, else a `schema` query parameter,
 * else `tasklane`. Behind PgBouncer in transaction mode: `pooler=transaction` and
 * `direct_url=postgres://…` (straight to PostgreSQL, for LISTEN and migrations).
 */
async function openPostgres(db: string, config: StoreConfig): Promise<Store> {
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    throw new ConfigError(`db: ${describeDb(db)} is not a valid PostgreSQL URL (percent-encode special characters in the password)`);
  }
  const schema = config.schema ?? url.searchParams.get("schema") ?? "tasklane";
  const pooler = url.searchParams.get("pooler");
  if (pooler !== null && pooler !== "transaction" && pooler !== "session") {
    throw new ConfigError(`db: pooler=${pooler}: expected transaction (PgBouncer pool_mode = transaction) or session`);
  }
  const directUrl = url.searchParams.get("direct_url") ?? undefined;
  if (directUrl !== undefined && !/^postgres(ql)?:\/\//i.test(directUrl)) {
    throw new ConfigError(`db: direct_url must be a postgres:// URL (percent-encoded inside the db URL), got "${describeDb(directUrl)}"`);
  }
  for (const param of ["schema", "pooler", "direct_url"]) url.searchParams.delete(param);
  let store: PostgresStore;
  try {
    store = await PostgresStore.open({
      url: url.toString(),
      schema,
      migrate: config.migrate !== false && !config.mustExist,
      poolSize: config.poolSize,
      pooler: pooler === "transaction" ? "transaction" : null,
      directUrl,
    });
  } catch (error) {
    if (error instanceof TasklaneError) throw error;
    throw new ConfigError(`db: cannot open database ${describeDb(db)}: ${(error as Error).message}`);
  }
  if (config.mustExist) await checkedThenMigrated(store, `schema "${schema}" of ${describeDb(url.toString())} has no Tasklane tables`, config.migrate);
  return store;
}

/** Opens a store described by `threadConfig()` (inside a worker thread). */
export async function openStoreFromThreadConfig(config: StoreThreadConfig): Promise<Store> {
  if (config.dialect === "postgres") {
    return PostgresStore.open({ url: config.url, schema: config.schema, poolSize: 1, migrate: false, pooler: config.pooler, directUrl: config.directUrl });
  }
  return new SqliteStore({ path: config.path, busyTimeoutMs: config.busyTimeoutMs, migrate: false });
}
