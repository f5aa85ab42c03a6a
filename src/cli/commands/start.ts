import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import type { Logger } from "pino";
import type { Tasklane } from "../../client/tasklane.js";
import { formatDuration } from "../../model/duration.js";
import type { TaskRow } from "../../model/task-row.js";
import { ISOLATION_MODES, type Isolation } from "../../model/options.js";
import { resolveWorkerOptions, type DispatchOrder, type WorkerOptions } from "../../runtime/worker.js";
import { describeDb } from "../../store/open-store.js";
import { DISPATCH_ORDERS } from "../config.js";
import { openContext } from "../context.js";
import { painter, useColor } from "../format.js";
import { createLogger, type LogFormat } from "../logger.js";
import { durationArg, durationRangeArg, intArg } from "../parsers.js";
import { CLI_BOUNDS } from "../config.js";
import { watchNpmLauncher } from "../launcher-watch.js";
import { START_EXTENSIONS, type RunningExtension } from "../start-extensions.js";

interface WorkerFlags {
  concurrency?: number;
  lease?: number;
  poll?: number;
  grace?: number;
  quiet?: boolean;
  dispatch?: DispatchOrder;
  aging?: number;
  isolation?: Isolation;
  /** False with `--no-scheduler`. */
  scheduler: boolean;
  logLevel: string;
  logFormat: LogFormat | "auto";
}

function addWorkerOptions(command: Command): Command {
  return command
    .option("-c, --concurrency <n>", "most tasks running at once on this node [10]", intArg(1, 100_000))
    .option("--lease <duration>", "lease of a run, 1s to 1d; a node silent this long is presumed dead [15s]", durationRangeArg(...CLI_BOUNDS.lease))
    .option("--poll <duration>", "fallback poll for due tasks, 10ms to 1h [1s]", durationRangeArg(...CLI_BOUNDS.poll))
    .option("--grace <duration>", "on SIGTERM/SIGINT, how long running tasks may take to finish, 0 to 1d [10s]", durationRangeArg(...CLI_BOUNDS.grace))
    .option("-q, --quiet", "no per-task log lines (start, stop and errors only)")
    .addOption(
      new Option("--dispatch <policy>", "claim order: priority, fifo, or fair (turns across groups/owners) (env TASKLANE_DISPATCH) [priority]").choices(
        DISPATCH_ORDERS,
      ),
    )
    .addOption(
      new Option(
        "--isolation <mode>",
        "where handlers run unless their type says: none (this event loop), thread (worker-thread pool) or process (child-process pool) (env TASKLANE_ISOLATION) [none]",
      ).choices(ISOLATION_MODES),
    )
    .option("--aging <duration>", "priority aging: a waiting task gains one priority step per this long (10m); priority and fair only", durationArg)
    .option("--no-scheduler", "do not fire cron schedules on this node (another node's scheduler does; each tick fires once)")
    .option("--sql-tasks", "run the built-in sql task type: SQL statements on the task database (env TASKLANE_SQL_TASKS=1) [off]")
    .addOption(new Option("--log-level <level>", "pino log level").choices(["debug", "info", "warn", "error", "silent"]).default("info"))
    .addOption(
      new Option("--log-format <format>", "json lines, or pretty for people (default: pretty on a TTY, else json)")
        .choices(["auto", "json", "pretty"])
        .default("auto"),
    );
}

export function startCommand(): Command {
  return addWorkerOptions(
    new Command("start").description("run this node: the worker for the task folder's types, the cron scheduler and the HTTP API"),
  ).action(async (flags: WorkerFlags, command: Command) => runNode(command, flags, { banner: true, extensions: true }));
}

export function workerCommand(): Command {
  return addWorkerOptions(new Command("worker").description("run only the worker of this node (no banner, no extra services)")).action(
    async (flags: WorkerFlags, command: Command) => runNode(command, flags, { banner: false, extensions: false }),
  );
}

/** Starts the worker, logs task events, and resolves after a graceful stop on SIGTERM/SIGINT. */
async function runNode(command: Command, flags: WorkerFlags, mode: { banner: boolean; extensions: boolean }): Promise<void> {
  const ctx = await openContext(command, { loadTasks: true, scheduler: flags.scheduler });
  const { config, lane } = ctx;
  const worker: WorkerOptions = {};
  const concurrency = flags.concurrency ?? config.concurrency;
  if (concurrency !== undefined) worker.concurrency = concurrency;
  const leaseMs = flags.lease ?? config.leaseMs;
  if (leaseMs !== undefined) worker.leaseMs = leaseMs;
  const pollMs = flags.poll ?? config.pollMs;
  if (pollMs !== undefined) worker.pollIntervalMs = pollMs;
  const dispatch = flags.dispatch ?? config.dispatch;
  const agingMs = flags.aging ?? config.agingMs;
  if (agingMs !== undefined) worker.dispatch = { policy: dispatch ?? "priority", agingMs };
  else if (dispatch !== undefined) worker.dispatch = dispatch;
  if (config.overload !== undefined) worker.overload = config.overload;
  // This process is the node: a handler's stray exception fails its run, not the node.
  worker.containHandlerCrashes = true;
  const isolation = flags.isolation ?? config.isolation;
  if (isolation !== undefined) worker.isolation = isolation;
  const graceMs = flags.grace ?? config.graceMs ?? 10_000;
  let resolved;
  try {
    // Refuses e.g. --aging with fifo before anything starts.
    resolved = resolveWorkerOptions(worker);
  } catch (error) {
    await lane.close({ graceMs: 0 }).catch(() => {});
    throw error;
  }
  const log = createLogger({ format: flags.logFormat, level: flags.logLevel, node: lane.node });

  wireEvents(lane, log, Boolean(flags.quiet));
  try {
    await lane.start(worker);
  } catch (error) {
    await lane.close({ graceMs: 0 }).catch(() => {});
    throw error;
  }

  const running: Array<{ name: string; ext: RunningExtension }> = [];
  if (mode.extensions) {
    try {
      for (const extension of START_EXTENSIONS) {
        const ext = await extension.start({ lane, config, log: log.child({ service: extension.name }) });
        if (ext) running.push({ name: extension.name, ext });
      }
    } catch (error) {
      for (const { ext } of running.reverse()) await ext.stop().catch(() => {});
      await lane.close({ graceMs: 0 }).catch(() => {});
      throw error;
    }
  }

  const types = lane.types().map((t) => t.name);
  const folder = ctx.folder!;
  if (mode.banner) {
    printBanner([
      ["database", describeDb(config.db)],
      ["node", lane.node],
      ["tasks", `${types.join(", ") || "(none)"}  ${painter(useColor(process.stderr))("dim", `from ${shortPath(folder.dir)} (${folder.source})`)}`],
      ["concurrency", String(resolved.concurrency)],
      ["lease", formatDuration(resolved.leaseMs)],
      ["isolation", resolved.isolation],
      ["dispatch", resolved.dispatch.order + (resolved.dispatch.agingMs ? `, aging ${formatDuration(resolved.dispatch.agingMs)}` : "")],
      ["scheduler", flags.scheduler ? "on" : "off (--no-scheduler)"],
      ...running.flatMap((r) => r.ext.banner ?? []),
      ["stop", `Ctrl-C or SIGTERM (grace ${formatDuration(graceMs)})`],
    ]);
  }
  log.info(
    {
      db: describeDb(config.db),
      types,
      concurrency: resolved.concurrency,
      dispatch: resolved.dispatch.order,
      isolation: resolved.isolation,
      agingMs: resolved.dispatch.agingMs,
      scheduler: flags.scheduler,
      tasksDir: folder.dir,
    },
    mode.banner ? "tasklane started" : "worker started",
  );
  if (types.length === 0) log.warn({ tasksDir: folder.dir }, "no task types loaded: this worker will claim nothing");

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, "second signal: exiting at once (running tasks are re-queued when their lease expires)");
        process.exit(signal === "SIGINT" ? 130 : 143);
      }
      stopping = true;
      const state = lane.workerState();
      log.info({ signal, running: state?.running ?? 0, graceMs }, "stopping: no new claims, waiting for running tasks");
      void (async () => {
        for (const { name, ext } of running.reverse()) {
          try {
            await ext.stop();
          } catch (error) {
            log.error({ err: error, service: name }, "error while stopping");
          }
        }
        try {
          await lane.close({ graceMs });
          log.info("stopped");
        } catch (error) {
          log.error({ err: error }, "error while stopping");
          process.exitCode = 1;
        }
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        unwatchLauncher();
        resolve();
      })();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    const unwatchLauncher = watchNpmLauncher(() => {
      log.info("npx (npm exec), which started this node, has ended: stopping as on SIGTERM");
      onSignal("SIGTERM");
    });
  });
}

function taskFields(task: TaskRow) {
  return { id: task.id, type: task.type, attempt: task.attempt, maxAttempts: task.maxAttempts };
}

function tookMs(task: TaskRow): number | undefined {
  return task.startedAt && task.finishedAt ? task.finishedAt.getTime() - task.startedAt.getTime() : undefined;
}

/** Task lifecycle at info (a task that failed for good at warn); background errors at error. */
function wireEvents(lane: Tasklane, log: Logger, quiet: boolean): void {
  lane.on("error", ({ error, where }) => log.error({ err: error, where }, `error ${where}`));
  if (quiet) return;
  lane.on("task:started", ({ task }) => log.info(taskFields(task), "task started"));
  lane.on("task:succeeded", ({ task }) => log.info({ ...taskFields(task), ms: tookMs(task) }, "task succeeded"));
  lane.on("task:retrying", ({ task, error }) =>
    log.info({ ...taskFields(task), error: error?.message, retryAt: task.runAt.toISOString() }, "task failed, will retry"),
  );
  lane.on("task:failed", ({ task, error }) => log.warn({ ...taskFields(task), error: error?.message }, "task failed"));
  lane.on("task:cancelled", ({ task }) => log.info(taskFields(task), "task cancelled"));
  lane.on("task:expired", ({ task }) => log.info(taskFields(task), "task expired"));
  lane.on("task:rescued", ({ task }) => log.info({ ...taskFields(task), status: task.status }, "task rescued from a lost run"));
  lane.on("task:released", ({ task }) => log.info(taskFields(task), "task released to the queue (shutdown)"));
  lane.on("schedule:fired", ({ schedule, tickAt, task }) => log.info({ schedule, tick: tickAt.toISOString(), id: task.id, type: task.type }, "schedule fired"));
}

function shortPath(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  if (!rel) return ".";
  if (!rel.startsWith("..")) return `./${rel}`;
  const home = os.homedir();
  return dir.startsWith(home) ? `~${dir.slice(home.length)}` : dir;
}

/** The human banner, on stderr so stdout stays a clean log stream (`tasklane start | jq`). */
function printBanner(rows: Array<[string, string]>): void {
  const paint = painter(useColor(process.stderr));
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = rows.map(([l, v]) => `  ${paint("dim", l.padEnd(width))}  ${v}`);
  process.stderr.write(`\n  ${paint("bold", "tasklane")} ${paint("dim", "worker running")}\n\n${lines.join("\n")}\n\n`);
}
