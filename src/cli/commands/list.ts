import { Command, Option } from "commander";
import { TASK_STATUSES, type TaskStatus } from "../../model/status.js";
import { withContext } from "../context.js";
import { CliError } from "../errors.js";
import { formatAge, painter, percentCell, printJson, statusStyle, table, useColor } from "../format.js";
import { intArg, listArg } from "../parsers.js";

interface ListFlags {
  status?: string[];
  type?: string[];
  owner?: string;
  key?: string;
  limit: number;
  cursor?: string;
  order: "asc" | "desc";
  json?: boolean;
}

export function listCommand(): Command {
  return new Command("ls")
    .alias("list")
    .description("list tasks, newest first")
    .option("-s, --status <status>", `filter by status (comma-separated or repeated): ${TASK_STATUSES.join(", ")}`, listArg)
    .option("-t, --type <type>", "filter by task type (comma-separated or repeated)", listArg)
    .option("--owner <owner>", "only tasks of this owner")
    .option("--key <key>", "only the task(s) with this business key")
    .option("-n, --limit <n>", "page size, 1..1000", intArg(1, 1000), 50)
    .option("--cursor <cursor>", "next page: the cursor printed under the previous page")
    .addOption(new Option("--order <order>", "newest first (desc) or oldest first (asc)").choices(["desc", "asc"]).default("desc"))
    .option("--json", "print { tasks, nextCursor } as JSON")
    .action(async (flags: ListFlags, command: Command) => {
      for (const s of flags.status ?? []) {
        if (!(TASK_STATUSES as readonly string[]).includes(s)) {
          throw new CliError(`--status: "${s}" is not one of ${TASK_STATUSES.join(", ")}`);
        }
      }
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const page = await lane.list({
          status: flags.status as TaskStatus[] | undefined,
          type: flags.type,
          owner: flags.owner,
          key: flags.key,
          limit: flags.limit,
          cursor: flags.cursor,
          order: flags.order,
        });
        if (flags.json) return printJson(page);
        const paint = painter(useColor(process.stdout));
        if (page.tasks.length === 0) {
          process.stdout.write(flags.cursor ? "no more tasks\n" : "no tasks\n");
          return;
        }
        const now = Date.now();
        const rows = page.tasks.map((t) => [
          t.id,
          t.type,
          paint(statusStyle(t.status), t.status),
          percentCell(t),
          `${t.attempt}/${t.maxAttempts}`,
          formatAge(t.createdAt, now),
          t.node ?? "-",
        ]);
        const header = ["ID", "TYPE", "STATUS", "PROGRESS", "ATTEMPT", "AGE", "NODE"];
        // The error column where it says something: a page with failed tasks on it.
        if (page.tasks.some((t) => t.status === "failed" && t.error)) {
          header.push("ERROR");
          page.tasks.forEach((t, i) => rows[i]!.push(t.error ? errorCell(t.error) : "-"));
        }
        process.stdout.write(table(header, rows, paint));
        // Tasks nothing will run as things stand: say why once per reason.
        const reasons = new Map<string, number>();
        for (const t of page.tasks) if (t.waitReason) reasons.set(t.waitReason, (reasons.get(t.waitReason) ?? 0) + 1);
        for (const [reason, n] of reasons) process.stdout.write(paint("yellow", `waiting: ${reason} (${n} task(s) on this page)`) + "\n");
        if (page.nextCursor) {
          const more = `next page: repeat with --cursor ${page.nextCursor}`;
          process.stdout.write(paint("dim", more) + "\n");
        }
      });
    });
}

/** `Name: first line of the message`, at most 80 characters (`show ID` prints the whole error). */
function errorCell(error: { name: string; message: string }): string {
  const text = `${error.name}: ${error.message.split("\n", 1)[0] ?? ""}`;
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
