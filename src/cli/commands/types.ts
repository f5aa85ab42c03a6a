import { Command } from "commander";
import type { QueueInfo } from "../../client/queues.js";
import { formatDuration } from "../../model/duration.js";
import { withContext } from "../context.js";
import { formatCount, painter, printJson, table, useColor } from "../format.js";

/** `tasklane types`: one row per task type, the queues page of the terminal. */
export function typesCommand(): Command {
  return new Command("types")
    .description("list task types: tasks by status, finished in the last minute and hour, oldest queued, running/limit, paused")
    .option("--json", "print { types } as JSON")
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
        const types = await lane.queues();
        if (flags.json) return printJson({ types });
        if (types.length === 0) {
          process.stdout.write("no task types yet: add a task or start a node\n");
          return;
        }
        const paint = painter(useColor(process.stdout));
        const rows = types.map((q) => [
          q.type,
          q.paused ? paint("yellow", "paused") : paint("green", "active"),
          formatCount(q.counts.queued),
          formatCount(q.counts.scheduled),
          `${formatCount(q.running)}/${formatCount(q.limit)}`,
          formatCount(q.counts.succeeded),
          formatCount(q.counts.failed),
          throughput(q.throughput.lastMinute),
          throughput(q.throughput.lastHour),
          q.oldestQueuedAgeMs === null ? "-" : formatDuration(q.oldestQueuedAgeMs),
        ]);
        process.stdout.write(
          table(["TYPE", "STATE", "QUEUED", "SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED", "LAST MIN OK/FAIL", "LAST HOUR OK/FAIL", "OLDEST QUEUED"], rows, paint),
        );
      });
    });
}

function throughput(t: { succeeded: number; failed: number }): string {
  return `${formatCount(t.succeeded)}/${formatCount(t.failed)}`;
}

/** `tasklane pause TYPE` and `tasklane resume TYPE`: a task type, on every node. */
export function typePauseCommands(): Command[] {
  return (
    [
      ["pause", "pause a task type on every node: its tasks stay queued (running ones finish, adds are accepted) until it is resumed"],
      ["resume", "resume a paused task type: every node claims its tasks again"],
    ] as const
  ).map(([verb, description]) =>
    new Command(verb)
      .description(description)
      .argument("<type>", "task type (a schedule is paused with tasklane schedule pause NAME)")
      .option("--json", "print the type's queue as JSON")
      .action(async (type: string, flags: { json?: boolean }, command: Command) => {
        await withContext(command, { loadTasks: false, mustExist: true }, async ({ lane }) => {
          // What waited when the type was resumed: read after it, a running node may have claimed them already.
          const before = verb === "resume" ? (await lane.queues()).find((q) => q.type === type) : undefined;
          const queue: QueueInfo = verb === "pause" ? await lane.pauseType(type) : await lane.resumeType(type);
          if (flags.json) return printJson(queue);
          const waiting = (before ?? queue).counts.queued + (before ?? queue).counts.scheduled;
          process.stdout.write(
            verb === "pause"
              ? `paused type ${type} on every node: ${waiting} task(s) waiting, ${queue.running} running will finish\n`
              : `resumed type ${type}: ${waiting} task(s) waiting will be claimed\n`,
          );
        });
      }),
  );
}
