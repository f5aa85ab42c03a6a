import { ISOLATION_MODES, type Isolation } from "../model/options.js";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { formatBound, parseDuration } from "../model/duration.js";
import type { OverloadOptions } from "../runtime/load-guard.js";
import type { DispatchOrder } from "../runtime/worker.js";
import { CliError } from "./errors.js";
import { knownKeysAt, unknownName } from "../model/suggest.js";

/**
 * CLI configuration, resolved once per command with this precedence (first wins):
 * command-line flags, then environment variables, then a config file
 * (`tasklane.config.json`, `.js` or `.mjs` in the current directory, or `--config FILE`),
 * then the defaults.
 */
export interface CliConfig {
  /** Database URL or path [`sqlite:./tasklane.db`]. */
  db: string;
  /** Folder of task modules; null = `./tasks` if present, else the bundled examples. */
  tasks: string | null;
  /** Where `tasks` came from, for messages (`--tasks`, `TASKLANE_TASKS`, `tasklane.config.json: tasks`). */
  tasksSource: string;
  /** Node name [`<hostname>-<pid>`]. */
  node: string | undefined;
  /** SQLite durability of acknowledged writes [full]. */
  synchronous: "full" | "normal" | undefined;
  /** Worker concurrency [10]. */
  concurrency: number | undefined;
  /** Lease of a run, ms [15000]. */
  leaseMs: number | undefined;
  /** Fallback poll interval, ms [1000]. */
  pollMs: number | undefined;
  /** Grace period on SIGTERM/SIGINT, ms [10000]. */
  graceMs: number | undefined;
  /** HTTP port and host (reserved for the HTTP server; not used by this build). */
  port: number | undefined;
  host: string | undefined;
  /** The config file that was read, if any. */
  configFile: string | null;
  /** Register the built-in `sql` task type (`--sql-tasks`, `TASKLANE_SQL_TASKS`, `sqlTasks`) [false]. */
  sqlTasks: boolean;
  /** Claim order of the worker (`TASKLANE_DISPATCH`, `dispatch`) [priority]. */
  dispatch: DispatchOrder | undefined;
  /** Priority aging of the worker's claim, ms (`dispatch: { aging }` in the file) [none]. */
  agingMs: number | undefined;
  /**
   * The worker's overload guard (`TASKLANE_OVERLOAD=0` or `overload: false` turn it off; the file
   * may set its limits) [on: event-loop lag 1000 ms, load 6 per core].
   */
  overload: OverloadOptions | false | undefined;
  /** Where handlers run by default (`TASKLANE_ISOLATION`, `isolation`) [none]. */
  isolation: Isolation | undefined;
}

/** Flags shared by every command. */
export interface GlobalFlags {
  db?: string;
  tasks?: string;
  config?: string;
  node?: string;
  /** `--sql-tasks` (on the commands that take it). */
  sqlTasks?: boolean;
}

/** The defaults when nothing else says otherwise. */
export const DEFAULT_DB = "sqlite:./tasklane.db";
const CONFIG_NAMES = ["tasklane.config.js", "tasklane.config.mjs", "tasklane.config.json"];

/** Claim orders of `--dispatch`, `TASKLANE_DISPATCH` and `dispatch` (see WorkerOptions.dispatch). */
export const DISPATCH_ORDERS = ["priority", "fifo", "fair"] as const satisfies readonly DispatchOrder[];

/**
 * Ranges of the worker's durations given to the CLI, ms. A lease is renewed every
 * min(1s, lease/3); under 1s one event-loop pause loses the run.
 */
export const CLI_BOUNDS = {
  lease: [1000, 86_400_000],
  poll: [10, 3_600_000],
  grace: [0, 86_400_000],
} as const satisfies Record<string, readonly [number, number]>;

const durationValue = z.union([z.number().nonnegative(), z.string().min(1)]);

const fileSchema = z.strictObject({
  db: z.string().min(1).optional(),
  tasks: z.string().min(1).optional(),
  node: z.string().min(1).max(200).optional(),
  synchronous: z.enum(["full", "normal"]).optional(),
  concurrency: z.number().int().min(1).max(100_000).optional(),
  lease: durationValue.optional(),
  poll: durationValue.optional(),
  grace: durationValue.optional(),
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).optional(),
  sqlTasks: z.boolean().optional(),
  isolation: z.enum(ISOLATION_MODES).optional(),
  dispatch: z
    .union([z.enum(DISPATCH_ORDERS), z.strictObject({ policy: z.enum(DISPATCH_ORDERS), aging: durationValue.optional() })])
    .optional(),
  overload: z
    .union([z.literal(false), z.strictObject({ maxLoadPerCore: z.number().positive().optional(), maxEventLoopLagMs: z.number().positive().optional() })])
    .optional(),
});
type FileConfig = z.infer<typeof fileSchema>;

/** Resolves the configuration; throws `CliError` naming the bad source and field. */
export async function resolveConfig(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<CliConfig> {
  const { file, config: fileConfig } = await readConfigFile(flags.config, cwd);
  const fileDir = file ? path.dirname(file) : cwd;
  const envDb = nonEmpty(env.TASKLANE_DB) ?? nonEmpty(env.DATABASE_URL);
  const db = flags.db ?? envDb ?? (fileConfig.db !== undefined ? relativeDb(fileConfig.db, fileDir) : undefined) ?? DEFAULT_DB;
  if (!db.trim()) throw new CliError("--db: empty database URL");
  const where = file ? path.basename(file) : "config";
  const tasksEnv = nonEmpty(env.TASKLANE_TASKS);
  const [tasks, tasksSource] =
    flags.tasks !== undefined
      ? [path.resolve(cwd, flags.tasks), "--tasks"]
      : tasksEnv !== undefined
        ? [path.resolve(cwd, tasksEnv), "TASKLANE_TASKS"]
        : fileConfig.tasks !== undefined
          ? [path.resolve(fileDir, fileConfig.tasks), `${where}: tasks`]
          : [null, "default"];
  const fileDispatch = fileConfig.dispatch;
  return {
    db,
    tasks,
    tasksSource,
    node: flags.node ?? nonEmpty(env.TASKLANE_NODE) ?? fileConfig.node,
    synchronous: envSynchronous(env.TASKLANE_SYNCHRONOUS) ?? fileConfig.synchronous,
    concurrency: envInt(env.TASKLANE_CONCURRENCY, "TASKLANE_CONCURRENCY", 1, 100_000) ?? fileConfig.concurrency,
    leaseMs: fileDuration(fileConfig.lease, `${where}: lease`, CLI_BOUNDS.lease),
    pollMs: fileDuration(fileConfig.poll, `${where}: poll`, CLI_BOUNDS.poll),
    graceMs: fileDuration(fileConfig.grace, `${where}: grace`, CLI_BOUNDS.grace),
    port: envInt(env.TASKLANE_PORT, "TASKLANE_PORT", 0, 65535) ?? fileConfig.port,
    host: nonEmpty(env.TASKLANE_HOST) ?? fileConfig.host,
    configFile: file,
    sqlTasks: flags.sqlTasks ?? envBool(env.TASKLANE_SQL_TASKS, "TASKLANE_SQL_TASKS") ?? fileConfig.sqlTasks ?? false,
    dispatch: envDispatch(env.TASKLANE_DISPATCH) ?? (typeof fileDispatch === "object" ? fileDispatch.policy : fileDispatch),
    agingMs: fileDuration(typeof fileDispatch === "object" ? fileDispatch.aging : undefined, `${where}: dispatch.aging`),
    overload: overloadOf(envBool(env.TASKLANE_OVERLOAD, "TASKLANE_OVERLOAD"), fileConfig.overload),
    isolation: envIsolation(env.TASKLANE_ISOLATION) ?? fileConfig.isolation,
  };
}

/** `TASKLANE_OVERLOAD` turns the guard off or on; on, the file's limits still apply. */
function overloadOf(env: boolean | undefined, file: FileConfig["overload"]): CliConfig["overload"] {
  if (env === false) return false;
  if (env === true) return typeof file === "object" ? file : {};
  return file;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function envInt(value: string | undefined, name: string, min: number, max: number): number | undefined {
  const v = nonEmpty(value);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || n < min || n > max) throw new CliError(`${name}: expected an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

function envBool(value: string | undefined, name: string): boolean | undefined {
  const v = nonEmpty(value)?.trim().toLowerCase();
  if (v === undefined) return undefined;
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new CliError(`${name}: expected 1 or 0 (true/false), got "${value}"`);
}

function envDispatch(value: string | undefined): DispatchOrder | undefined {
  const v = nonEmpty(value)?.trim().toLowerCase();
  if (v === undefined) return undefined;
  if (!(DISPATCH_ORDERS as readonly string[]).includes(v)) throw new CliError(`TASKLANE_DISPATCH: expected one of ${DISPATCH_ORDERS.join(", ")}, got "${value}"`);
  return v as DispatchOrder;
}

function envIsolation(value: string | undefined): Isolation | undefined {
  const v = nonEmpty(value)?.trim().toLowerCase();
  if (v === undefined) return undefined;
  if (!(ISOLATION_MODES as readonly string[]).includes(v)) throw new CliError(`TASKLANE_ISOLATION: expected one of ${ISOLATION_MODES.join(", ")}, got "${value}"`);
  return v as Isolation;
}

function envSynchronous(value: string | undefined): "full" | "normal" | undefined {
  const v = nonEmpty(value)?.trim().toLowerCase();
  if (v === undefined) return undefined;
  if (v !== "full" && v !== "normal") throw new CliError(`TASKLANE_SYNCHRONOUS: expected "full" or "normal", got "${value}"`);
  return v;
}

function fileDuration(value: string | number | undefined, field: string, range?: readonly [number, number]): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (range && (ms < range[0] || ms > range[1])) {
    throw new CliError(`${field}: ${JSON.stringify(value)} is not allowed; use a duration from ${formatBound(range[0])} to ${formatBound(range[1])}`);
  }
  return ms;
}

/** A relative `sqlite:` path in a config file is relative to that file's folder. */
function relativeDb(db: string, dir: string): string {
  const m = /^sqlite:(?:\/\/)?(.*)$/.exec(db);
  if (m) {
    const target = m[1]!;
    if (!target || target === ":memory:" || path.isAbsolute(target)) return db;
    return `sqlite:${path.resolve(dir, target)}`;
  }
  if (db === ":memory:" || /^[a-z][a-z0-9+.-]*:/i.test(db) || path.isAbsolute(db)) return db;
  return path.resolve(dir, db);
}

async function readConfigFile(explicit: string | undefined, cwd: string): Promise<{ file: string | null; config: FileConfig }> {
  let file: string | null = null;
  if (explicit !== undefined) {
    file = path.resolve(cwd, explicit);
    if (!fs.existsSync(file)) throw new CliError(`--config: ${explicit} does not exist`);
  } else {
    for (const name of CONFIG_NAMES) {
      const candidate = path.join(cwd, name);
      if (fs.existsSync(candidate)) {
        file = candidate;
        break;
      }
    }
  }
  if (!file) return { file: null, config: {} };
  const name = path.basename(file);
  let raw: unknown;
  if (file.endsWith(".json")) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new CliError(`${name}: cannot read: ${(error as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new CliError(`${name}: invalid JSON: ${(error as Error).message}`);
    }
  } else {
    try {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      raw = mod.default;
    } catch (error) {
      throw new CliError(`${name}: cannot load: ${(error as Error).message}`);
    }
    if (typeof raw === "function") raw = await (raw as () => unknown)();
    if (raw === undefined) throw new CliError(`${name}: must default-export a configuration object`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.map(String).join(".") : issue.code === "unrecognized_keys" ? "" : "(root)";
    const msg =
      issue.code === "unrecognized_keys" ? issue.keys.map((k) => unknownName("key", k, knownKeysAt(fileSchema, issue.path))).join("; ") : issue.message;
    throw new CliError(`${name}: ${where ? `${where}: ` : ""}${msg}`);
  }
  return { file, config: parsed.data };
}
