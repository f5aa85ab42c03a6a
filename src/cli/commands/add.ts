import { Command, Option } from "commander";
import { SqlTasksDisabledError, UnknownTaskTypeError } from "../../model/errors.js";
import type { AddOptions } from "../../model/options.js";
import { withContext } from "../context.js";
import { CliError } from "../errors.js";
import type { TaskFolder } from "../task-loader.js";
import { printJson } from "../format.js";
import { parseFollowUpsFlag, parseJsonFlag } from "../json-flags.js";
import { durationArg, instantArg, intArg, isoArg, nonEmptyArg } from "../parsers.js";

interface AddFlags {
  params?: string;
  priority?: number;
  delay?: number;
  runAt?: string;
  attempts?: number;
  timeout?: number;
  key?: string;
  owner?: string;
  deadline?: string;
  executor?: string;
  name?: string;
  description?: string;
  group?: string;
  then?: string;
  onFailure?: string;
  json?: boolean;
}

/** `--params` is JSON, or `@file.json` to read it from a file, or `-` for stdin. */
export function parseParams(text: string | undefined): unknown {
  return parseJsonFlag(text, "--params");
}

/**
 * A disabled `sql` type or an unknown type, explained for the command line (where to enable it,
 * which folder the types came from); any other error unchanged. Shared by `add` and `schedule`.
 */
export function explainTypeError(error: unknown, folder: TaskFolder | null): unknown {
  if (error instanceof SqlTasksDisabledError) {
    return new CliError(
      'the built-in "sql" task type is disabled; enable it with --sql-tasks, TASKLANE_SQL_TASKS=1 or "sqlTasks": true in tasklane.config.json (and run a worker with it enabled)',
    );
  }
  if (error instanceof UnknownTaskTypeError && folder) {
    return new CliError(`${error.message}; task types are loaded from ${folder.dir} (--tasks DIR to change)`);
  }
  return error;
}

export function addCommand(): Command {
  return new Command("add")
    .description("add a task; prints its id (so `id=$(tasklane add ...)` works)")
    .argument("<type>", "task type, as registered from the tasks folder")
    .option("-p, --params <json>", "params as JSON, @FILE to read a JSON file, or - for stdin")
    .option("--priority <n>", "smaller runs first", intArg(-1_000_000, 1_000_000))
    .addOption(new Option("--delay <duration>", "run no earlier than this long from now (10s, 5m)").argParser(durationArg).conflicts("runAt"))
    .option("--run-at <iso>", "run no earlier than this time (ISO 8601)", isoArg)
    .option("--attempts <n>", "attempts before the task fails", intArg(1, 1_000_000))
    .option("--timeout <duration>", "longest one run may take (30s, 2m)", durationArg)
    .option("--key <key>", "business key: while a task with this key is live, its id is returned instead", nonEmptyArg)
    .option("--owner <owner>", "the submitting user", nonEmptyArg)
    .option("--deadline <when>", "ISO time or duration from now; not started by then = expired", instantArg)
    .option("--executor <node>", "only the node of this name may run it", nonEmptyArg)
    .option("--name <title>", "a human title for this task")
    .option("--description <text>", "a longer description")
    .option("--group <group>", "flow-control group (a customer, a tenant): per-group limits and fair dispatch count by it", nonEmptyArg)
    .option("--then <json>", 'follow-ups added when it succeeds: JSON array of {"type","params","options"} (or @FILE)')
    .option("--on-failure <json>", "follow-ups added when it fails for good: JSON array like --then (or @FILE)")
    .option("--json", "print the whole task as JSON")
    .option("--sql-tasks", "allow the built-in sql type (env TASKLANE_SQL_TASKS=1); a worker must run with it too")
    .action(async (type: string, flags: AddFlags, command: Command) => {
      const params = parseParams(flags.params);
      const options: AddOptions = {};
      if (flags.priority !== undefined) options.priority = flags.priority;
      if (flags.delay !== undefined) options.delay = flags.delay;
      if (flags.runAt !== undefined) options.runAt = flags.runAt;
      if (flags.attempts !== undefined) options.attempts = flags.attempts;
      if (flags.timeout !== undefined) options.timeout = flags.timeout;
      if (flags.key !== undefined) options.key = flags.key;
      if (flags.owner !== undefined) options.owner = flags.owner;
      if (flags.deadline !== undefined) options.deadline = flags.deadline;
      if (flags.executor !== undefined) options.executor = flags.executor;
      if (flags.name !== undefined) options.name = flags.name;
      if (flags.description !== undefined) options.description = flags.description;
      if (flags.group !== undefined) options.group = flags.group;
      const then = parseFollowUpsFlag(flags.then, "--then");
      if (then !== undefined) options.then = then;
      const onFailure = parseFollowUpsFlag(flags.onFailure, "--on-failure");
      if (onFailure !== undefined) options.onFailure = onFailure;
      await withContext(command, { loadTasks: true }, async ({ lane, folder }) => {
        let task;
        try {
          task = await lane.add(type, params, options);
        } catch (error) {
          throw explainTypeError(error, folder);
        }
        if (flags.json) return printJson(task);
        process.stdout.write(`${task.id}\n`);
        if (process.stderr.isTTY) {
          const when = task.status === "scheduled" ? ` (due ${task.runAt.toISOString()})` : "";
          process.stderr.write(`added ${task.type} task, ${task.status}${when}; follow it with: tasklane show ${task.id} --watch\n`);
        }
      });
    });
}
