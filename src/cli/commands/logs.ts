import { Command } from "commander";
import type { LogLevel } from "../../model/status.js";
import type { EventRow } from "../../model/task-row.js";
import { withContext } from "../context.js";
import { compactJson, painter, useColor, type Paint, type Style } from "../format.js";

interface LogsFlags {
  follow?: boolean;
  json?: boolean;
}

const LEVEL_STYLE: Record<LogLevel, Style> = { debug: "gray", info: "green", warn: "yellow", error: "red" };

/** `2026-01-31T09:00:00.123Z info  writing rows {"done":1000}` */
export function formatEvent(e: EventRow, paint: Paint): string {
  const data = e.data === null || e.data === undefined ? "" : ` ${paint("dim", compactJson(e.data))}`;
  return `${paint("dim", e.at.toISOString())} ${paint(LEVEL_STYLE[e.level], e.level.padEnd(5))} ${e.message}${data}`;
}

export function logsCommand(): Command {
  return new Command("logs")
    .description("print a task's log lines (all runs, oldest first); -f keeps following until the task ends")
    .argument("<id>", "task id")
    .option("-f, --follow", "keep printing new lines until the task is final")
    .option("--json", "one JSON object per line")
    .action(async (id: string, flags: LogsFlags, command: Command) => {
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const paint = painter(useColor(process.stdout));
        const stop = new AbortController();
        const onSigint = () => stop.abort();
        process.once("SIGINT", onSigint);
        let lastRun = 0;
        let count = 0;
        try {
          for await (const e of lane.logs(id, { follow: Boolean(flags.follow), signal: stop.signal })) {
            if (flags.json) {
              process.stdout.write(JSON.stringify(e) + "\n");
              continue;
            }
            // A header when a new run (attempt) begins, so retries read as separate blocks.
            if (e.runNo !== lastRun && (lastRun !== 0 || e.runNo > 1)) process.stdout.write(paint("bold", `-- run ${e.runNo} --`) + "\n");
            lastRun = e.runNo;
            process.stdout.write(formatEvent(e, paint) + "\n");
            count++;
          }
        } finally {
          process.off("SIGINT", onSigint);
        }
        if (!flags.json && count === 0 && process.stderr.isTTY) process.stderr.write("(no log lines)\n");
      });
    });
}
