import { Command } from "commander";
import { withContext } from "../context.js";
import { printJson } from "../format.js";

interface JsonFlag {
  json?: boolean;
}

export function cancelCommand(): Command {
  return new Command("cancel")
    .description("cancel a task: a queued one at once, a running one is aborted by its worker")
    .argument("<id>", "task id")
    .option("--json", "print the task as JSON")
    .action(async (id: string, flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        const task = await lane.cancel(id);
        if (flags.json) return printJson(task);
        if (task.status === "running") {
          process.stdout.write(`cancel requested: ${id} is running on ${task.node ?? "a worker"}; it stops at its next heartbeat\n`);
        } else {
          process.stdout.write(`cancelled ${id}\n`);
        }
      });
    });
}

export function retryCommand(): Command {
  return new Command("retry")
    .description("queue a failed, cancelled or expired task again, with its attempts reset")
    .argument("<id>", "task id")
    .option("--json", "print the task as JSON")
    .action(async (id: string, flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        const task = await lane.retry(id);
        if (flags.json) return printJson(task);
        process.stdout.write(`re-queued ${id} (${task.status}, ${task.maxAttempts} attempt(s) available)\n`);
      });
    });
}

export function deleteCommand(): Command {
  return new Command("delete")
    .alias("rm")
    .description("delete a task that is not running, with its runs and logs")
    .argument("<id>", "task id")
    .option("--json", "print { id, deleted: true } as JSON")
    .action(async (id: string, flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        await lane.delete(id);
        if (flags.json) return printJson({ id, deleted: true });
        process.stdout.write(`deleted ${id}\n`);
      });
    });
}

export function pruneCommand(): Command {
  return new Command("prune")
    .description("delete finished tasks past their deleteAfter, and runs beyond the per-task cap, now")
    .option("--json", "print { tasksDeleted, runsDeleted } as JSON")
    .action(async (flags: JsonFlag, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        const report = await lane.prune();
        if (flags.json) return printJson(report);
        process.stdout.write(`pruned ${report.tasksDeleted} task(s) and ${report.runsDeleted} run(s)\n`);
      });
    });
}
