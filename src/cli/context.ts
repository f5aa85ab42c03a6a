import { Command } from "commander";
import { Tasklane } from "../client/tasklane.js";
import { TasklaneError } from "../model/errors.js";
import type { WorkerOptions } from "../runtime/worker.js";
import { describeDb } from "../store/open-store.js";
import { resolveConfig, type CliConfig, type GlobalFlags } from "./config.js";
import { CliError } from "./errors.js";
import { chooseTasksDir, loadTaskFolder, type LoadedTask, type TaskFolder } from "./task-loader.js";

/** What a command works with: the resolved config, the open instance and (if asked) the loaded task types. */
export interface CliContext {
  config: CliConfig;
  lane: Tasklane;
  folder: TaskFolder | null;
  tasks: LoadedTask[];
}

/** The global flags of the command (they may be given before or after the subcommand). */
export function globalFlags(command: Command): GlobalFlags {
  const o = command.optsWithGlobals() as GlobalFlags;
  return { db: o.db, tasks: o.tasks, config: o.config, node: o.node, sqlTasks: o.sqlTasks };
}

/**
 * Resolves the configuration, opens the database and, with `loadTasks`, registers the task
 * types of the task folder. Errors a user can cause become one-line `CliError`s.
 */
export interface ContextOptions {
  loadTasks: boolean;
  worker?: WorkerOptions;
  /** Apply pending migrations on open [true]. */
  migrate?: boolean;
  /** Commands that only read or change existing tasks refuse to create a new database [false]. */
  mustExist?: boolean;
  /**
   * A read-only command: the database must exist with every migration applied; nothing is
   * created or migrated [false].
   */
  readOnly?: boolean;
  /** Fire cron schedules while the worker runs (`--no-scheduler` turns it off) [true]. */
  scheduler?: boolean;
}

export async function openContext(command: Command, options: ContextOptions = { loadTasks: false }): Promise<CliContext> {
  const config = await resolveConfig(globalFlags(command));
  let folder: TaskFolder | null = null;
  let tasks: LoadedTask[] = [];
  if (options.loadTasks) {
    folder = chooseTasksDir(config.tasks, config.tasksSource);
    tasks = await loadTaskFolder(folder.dir);
  }
  let lane: Tasklane;
  try {
    lane = await Tasklane.open({
      db: config.db,
      node: config.node,
      synchronous: config.synchronous,
      worker: options.worker,
      migrate: options.readOnly ? false : options.migrate,
      mustExist: options.readOnly || options.mustExist,
      sqlTasks: config.sqlTasks,
      scheduler: options.scheduler,
    });
  } catch (error) {
    if (error instanceof TasklaneError) throw error;
    throw new CliError(`cannot open database ${describeDb(config.db)}: ${(error as Error).message}`);
  }
  try {
    if (options.readOnly) await refuseOutdated(lane, config.db);
    for (const { definition, file } of tasks) {
      try {
        lane.register(definition);
      } catch (error) {
        throw new CliError(`task file ${file}: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    await lane.close();
    throw error;
  }
  return { config, lane, folder, tasks };
}

/** A read-only command does not migrate: on a database behind this version it says so instead of failing in SQL. */
async function refuseOutdated(lane: Tasklane, db: string): Promise<void> {
  const states = await lane.store.migrationStatus();
  const pending = states.filter((m) => m.appliedAt === null);
  if (pending.length === 0) return;
  const at = Math.max(0, ...states.filter((m) => m.appliedAt).map((m) => m.version));
  const latest = Math.max(...states.map((m) => m.version));
  throw new CliError(`${describeDb(db)} is at schema version ${at}, this Tasklane needs ${latest}: run "tasklane db migrate"`);
}

/** Runs `fn` with an open context and always closes the database afterwards. */
export async function withContext<T>(
  command: Command,
  options: ContextOptions,
  fn: (ctx: CliContext) => Promise<T>,
): Promise<T> {
  const ctx = await openContext(command, options);
  try {
    return await fn(ctx);
  } finally {
    await ctx.lane.close();
  }
}
