import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "../model/errors.js";
import type { Store, StoreThreadConfig } from "./store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";

export interface StoreConfig {
  /** `sqlite:./tasklane.db`, `sqlite::memory:`, a path ending in .db/.sqlite, or `:memory:`. */
  db: string;
  synchronous?: "full" | "normal";
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
  /** Refuse to create a database that does not exist yet [false]. */
  mustExist?: boolean;
}

/** Where `db` points, for messages (a file path, or the URL with its password hidden). */
export function describeDb(db: string): string {
  return db.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

export function openStore(config: StoreConfig): Store {
  const db = config.db.trim();
  if (/^postgres(ql)?:\/\//i.test(db)) {
    throw new ConfigError(`db: PostgreSQL is not available in this build yet (got ${describeDb(db)}); use sqlite:PATH`);
  }
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

/** Opens a store described by `threadConfig()` (inside a worker thread). */
export function openStoreFromThreadConfig(config: StoreThreadConfig): Store {
  return new SqliteStore({ path: config.path, busyTimeoutMs: config.busyTimeoutMs });
}
