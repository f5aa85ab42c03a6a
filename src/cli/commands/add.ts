import fs from "node:fs";
import { Command, Option } from "commander";
import { SqlTasksDisabledError, UnknownTaskTypeError } from "../../model/errors.js";
import type { AddOptions } from "../../model/options.js";
import { withContext } from "../context.js";
import { CliError } from "../errors.js";
import { printJson } from "../format.js";
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
  json?: boolean;
}

/** `--params` is JSON, or `@file.json` to read it from a file, or `-` for stdin. */
export function parseParams(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  let source = text;
  let where = "--params";
  if (text === "-") {
    source = fs.readFileSync(0, "utf8");
    where = "--params (stdin)";
  } else if (text.startsWith("@")) {
    const file = text.slice(1);
    try {
      source = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new CliError(`--params: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    where = `--params ${text}`;
  }
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new CliError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
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
      await withContext(command, { loadTasks: true }, async ({ lane, folder }) => {
        let task;
        try {
          task = await lane.add(type, params, options);
        } catch (error) {
          if (error instanceof SqlTasksDisabledError) {
            throw new CliError(
              'the built-in "sql" task type is disabled; enable it with --sql-tasks, TASKLANE_SQL_TASKS=1 or "sqlTasks": true in tasklane.config.json (and run a worker with it enabled)',
            );
          }
          if (error instanceof UnknownTaskTypeError && folder) {
            throw new CliError(`${error.message}; task types are loaded from ${folder.dir} (--tasks DIR to change)`);
          }
          throw error;
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
