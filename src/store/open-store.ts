import fs from "node:fs";
import path from "node:path";
import { ConfigError, TasklaneError } from "../model/errors.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import type { Store, StoreThreadConfig } from "./store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";

export interface StoreConfig {
  /** `sqlite:./tasklane.db`, `sqlite::memory:`, a path ending in .db/.sqlite, or `:memory:`. */
  db: string;
  synchronous?: "full" | "normal";
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
  /** Refuse to create a database that does not exist yet [false] (SQLite). */
  mustExist?: boolean;
  /** PostgreSQL schema [from the URL's `schema` parameter, else tasklane]. */
  schema?: string;
  /** PostgreSQL connection pool size [10]. */
  poolSize?: number;
}

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
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) throw new ConfigError(`db: unsupported database URL "${describeDb(db)}" (use sqlite:PATH)`);
  else file = db;
  if (!file) throw new ConfigError("db: empty SQLite path");
  const target = file === ":memory:" ? file : path.resolve(file);
  try {
    return new SqliteStore({ path: target, synchronous: config.synchronous, migrate: config.migrate, mustExist: config.mustExist });
  } catch (error) {
    const reason = (error as Error).message;
    if (config.mustExist && /does not exist|unable to open/i.test(reason) && !fs.existsSync(target)) {
      throw new ConfigError(`db: database ${target} does not exist (run "tasklane db migrate" or "tasklane start" first)`);
    }
    throw new ConfigError(`db: cannot open database ${target}: ${reason}`);
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
  try {
    return await PostgresStore.open({
      url: url.toString(),
      schema,
      migrate: config.migrate,
      poolSize: config.poolSize,
      pooler: pooler === "transaction" ? "transaction" : null,
      directUrl,
    });
  } catch (error) {
    if (error instanceof TasklaneError) throw error;
    throw new ConfigError(`db: cannot open database ${describeDb(db)}: ${(error as Error).message}`);
  }
}

/** Opens a store described by `threadConfig()` (inside a worker thread). */
export async function openStoreFromThreadConfig(config: StoreThreadConfig): Promise<Store> {
  if (config.dialect === "postgres") {
    return PostgresStore.open({ url: config.url, schema: config.schema, poolSize: 1, migrate: false, pooler: config.pooler, directUrl: config.directUrl });
  }
  return new SqliteStore({ path: config.path, busyTimeoutMs: config.busyTimeoutMs, migrate: false });
}
