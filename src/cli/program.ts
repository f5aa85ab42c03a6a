import { Command } from "commander";
import { addCommand } from "./commands/add.js";
import { cancelCommand, deleteCommand, pruneCommand, retryCommand } from "./commands/control.js";
import { dbCommand } from "./commands/db.js";
import { listCommand } from "./commands/list.js";
import { nodesCommand } from "./commands/nodes.js";
import { logsCommand } from "./commands/logs.js";
import { scheduleCommand } from "./commands/schedule.js";
import { showCommand } from "./commands/show.js";
import { startCommand, workerCommand } from "./commands/start.js";
import { typePauseCommands, typesCommand } from "./commands/types.js";
// ---- users and the HTTP API
import { userCommand } from "./commands/user.js";
import { PACKAGE_VERSION } from "../model/version.js";
import { configureStartCommand } from "./start-extensions.js";

/** Every command throws instead of exiting, and prints nothing itself on error: main() reports it in one line. */
function harden(command: Command): void {
  command.exitOverride();
  command.configureOutput({
    writeErr: (text) => {
      // Help shown because of an error (e.g. `tasklane db` without a subcommand) still goes out.
      if (!/^error: /i.test(text)) process.stderr.write(text);
    },
    outputError: () => {},
  });
  for (const sub of command.commands) harden(sub);
}

/** The `tasklane` command tree. */
export function buildProgram(): Command {
  const program = new Command("tasklane")
    .description("Durable background tasks on SQLite or PostgreSQL: run workers, add and inspect tasks.")
    .version(PACKAGE_VERSION, "-V, --version")
    .option("--db <url>", "database: SQLite (sqlite:PATH, a path, sqlite::memory:) or PostgreSQL (postgres://USER@HOST:PORT/DB?schema=NAME) (env TASKLANE_DB or DATABASE_URL) [sqlite:./tasklane.db]")
    .option("--tasks <dir>", "folder of task modules (env TASKLANE_TASKS) [./tasks if present, else the bundled examples]")
    .option("--config <file>", "config file [tasklane.config.js, .mjs or .json in the current folder]")
    .option("--node <name>", "this node's name (env TASKLANE_NODE) [<hostname>-<pid>]")
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      `
Examples:
  tasklane start                                      run the worker (examples loaded if there is no ./tasks)
  tasklane add export-report --params '{"rows":50000}' add a task; prints its id
  tasklane show <id> --watch                          follow progress, then print the result
  tasklane logs <id> -f                               the task's log lines, live
  tasklane ls --status running,failed                 list tasks
  tasklane types                                      one row per task type: queued, running/limit, throughput
  tasklane pause export-report                        stop every node claiming a type (tasklane resume to undo)
  tasklane schedule add nightly export-report --cron "0 3 * * *" --tz Europe/Berlin

Configuration: flags, then environment (TASKLANE_DB, DATABASE_URL, TASKLANE_TASKS, TASKLANE_NODE,
TASKLANE_CONCURRENCY, TASKLANE_DISPATCH, TASKLANE_SYNCHRONOUS), then tasklane.config.{js,mjs,json}. Docs: docs/cli.md`,
    );

  program.addCommand(startCommand());
  program.addCommand(workerCommand());
  program.addCommand(dbCommand());
  program.addCommand(addCommand());
  program.addCommand(listCommand());
  program.addCommand(showCommand());
  program.addCommand(logsCommand());
  program.addCommand(cancelCommand());
  program.addCommand(retryCommand());
  program.addCommand(deleteCommand());
  program.addCommand(pruneCommand());
  program.addCommand(scheduleCommand());
  program.addCommand(nodesCommand());
  program.addCommand(typesCommand());
  for (const command of typePauseCommands()) program.addCommand(command);
  // ---- users and the HTTP API
  program.addCommand(userCommand());
  configureStartCommand(program.commands.find((c) => c.name() === "start"));
  harden(program);
  return program;
}
