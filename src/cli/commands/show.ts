import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import type { Tasklane } from "../../client/tasklane.js";
import { formatDuration } from "../../model/duration.js";
import { TaskNotFoundError } from "../../model/errors.js";
import { isFinalStatus } from "../../model/status.js";
import type { RunRow, StoredFollowUp, TaskRow } from "../../model/task-row.js";
import { withContext } from "../context.js";
import { describeTiming, taskTiming, timingSuffix, type TaskTiming } from "../task-timing.js";
import { compactJson, formatAge, isoTime, painter, printJson, progressLine, statusStyle, useColor, type Paint } from "../format.js";
import { durationRangeArg } from "../parsers.js";

interface ShowFlags {
  watch?: boolean;
  json?: boolean;
  interval: number;
}

export function showCommand(): Command {
  return new Command("show")
    .description("show a task's details and runs; --watch follows its progress until it ends")
    .argument("<id>", "task id")
    .option("-w, --watch", "follow progress live until the task is final; exit 0 if it succeeded, 1 otherwise")
    .option("--interval <duration>", "how often --watch polls, 10ms to 1h", durationRangeArg(10, 3_600_000), 250)
    .option("--json", "print the task (with its runs) as JSON; with --watch, one JSON line per change")
    .action(async (id: string, flags: ShowFlags, command: Command) => {
      await withContext(command, { loadTasks: false, readOnly: true }, async ({ lane }) => {
        const task = await mustGet(lane, id);
        if (flags.watch) {
          const final = await watch(lane, task, flags);
          process.exitCode = final.status === "succeeded" ? 0 : 1;
          return;
        }
        const runs = await lane.runs(id);
        if (flags.json) return printJson({ ...task, runs });
        process.stdout.write(details(task, runs, painter(useColor(process.stdout))));
      });
    });
}

async function mustGet(lane: Tasklane, id: string): Promise<TaskRow> {
  const task = await lane.get(id);
  if (!task) throw new TaskNotFoundError(id);
  return task;
}

// ------------------------------------------------------------------ details

function details(task: TaskRow, runs: RunRow[], paint: Paint): string {
  const now = Date.now();
  const lines: Array<[string, string]> = [];
  const add = (label: string, value: string | null | undefined) => {
    if (value !== null && value !== undefined && value !== "") lines.push([label, value]);
  };
  const when = (d: Date | null) => (d ? `${isoTime(d)} (${d.getTime() > now ? "in " + formatDuration(d.getTime() - now) : formatAge(d, now) + " ago"})` : null);
  add("id", task.id);
  add("type", task.type);
  add("name", task.name);
  add("description", task.description);
  add("status", paint(statusStyle(task.status), task.status) + (task.cancelRequested && task.status === "running" ? " (cancel requested)" : ""));
  add("priority", String(task.priority));
  add("attempt", `${task.attempt}/${task.maxAttempts}   runs ${task.runCount}/${task.maxRuns}`);
  add("params", compactJson(task.params));
  add("created", when(task.createdAt));
  if (task.status === "scheduled" || task.status === "queued") add("due", when(task.runAt));
  add("started", when(task.startedAt));
  add("finished", when(task.finishedAt));
  const timing = taskTiming(task, runs, now);
  if (timing) add(task.status === "running" ? "running for" : "took", describeTiming(timing));
  add("node", task.node);
  add("waiting", task.waitReason ?? null);
  add("lease until", task.status === "running" ? isoTime(task.leaseExpiresAt) : null);
  add("executor", task.executor);
  add("timeout", task.timeoutMs === null ? null : formatDuration(task.timeoutMs));
  add("deadline", when(task.deadline));
  add("key", task.key);
  add("owner", task.owner);
  add("group", task.group);
  if (task.parent) add("parent", `${task.parent.id} (${task.parent.type}, ${paint(statusStyle(task.parent.status), task.parent.status)})`);
  add("progress", task.progress ? progressLine(task) : null);
  if (task.status === "succeeded") add("result", compactJson(task.result));
  if (task.error) add("error", paint("red", `${task.error.name}: ${task.error.message}`));
  add("delete at", task.deleteAt ? isoTime(task.deleteAt) : null);
  const width = Math.max(...lines.map(([l]) => l.length));
  let out = lines.map(([l, v]) => `${paint("dim", l.padEnd(width))}  ${v}`).join("\n") + "\n";
  if (task.followUps.length > 0) {
    out += `\n${paint("bold", "follow-ups")}\n` + followUpLines(task.followUps, 1, task.status, paint).join("\n") + "\n";
  }
  if (runs.length > 0) {
    out += `\n${paint("bold", "runs")}\n`;
    for (const r of runs) {
      const took = r.endedAt ? formatDuration(r.endedAt.getTime() - r.startedAt.getTime()) : "running";
      const outcome = r.outcome ?? "running";
      const style = outcome === "succeeded" ? "green" : outcome === "running" ? "yellow" : outcome === "offline" ? "gray" : "red";
      const err = r.error ? `  ${r.error.name}: ${r.error.message}` : "";
      out += `  #${r.runNo}  attempt ${r.attempt}  ${r.node}  ${isoTime(r.startedAt)}  ${took}  ${paint(style, outcome)}${err}\n`;
    }
  }
  return out;
}

/**
 * The follow-up tree: id, type, when it is added, and its state once the parent decided it
 * (`added`, or `will not run` when the parent ended the other way: so do the steps below it).
 * `parent` is the status of the task whose end decides, null when that is not known here.
 */
function followUpLines(followUps: StoredFollowUp[], depth: number, parent: TaskRow["status"] | "will not run" | null, paint: Paint): string[] {
  return followUps.flatMap((f) => {
    const delay = f.delayMs > 0 ? `, ${formatDuration(f.delayMs)} later` : "";
    const state = followUpState(f, parent);
    const shown = state === "will not run" ? paint("gray", state) : state === "added" ? paint("green", state) : state;
    const line = `${"  ".repeat(depth)}${f.id}  ${f.type}  on ${f.on}${delay}${state ? `  ${shown}` : ""}`;
    return [line, ...followUpLines(f.followUps, depth + 1, state === "will not run" ? state : null, paint)];
  });
}

function followUpState(f: StoredFollowUp, parent: TaskRow["status"] | "will not run" | null): "added" | "will not run" | null {
  if (parent === null) return null;
  if (parent === "will not run") return parent;
  if ((f.on === "success" && parent === "succeeded") || (f.on === "failure" && parent === "failed")) return "added";
  return isFinalStatus(parent) ? "will not run" : null;
}

// ------------------------------------------------------------------ watch

/** Polls the task until it is final, drawing progress; prints the result or error at the end. */
async function watch(lane: Tasklane, first: TaskRow, flags: ShowFlags): Promise<TaskRow> {
  const tty = Boolean(process.stdout.isTTY) && !flags.json;
  const paint = painter(useColor(process.stdout));
  let task = first;
  let lastPlain = "";
  let lastPlainAt = 0;
  let lastPlainKey = "";
  let drewLine = false;
  const columns = () => process.stdout.columns || 100;
  const render = (t: TaskRow): string | null => {
    const head = `${paint(statusStyle(t.status), t.status.padEnd(9))}`;
    if (t.status === "scheduled") return `${head} due in ${formatDuration(Math.max(0, t.runAt.getTime() - Date.now()))}`;
    if (t.status === "queued") {
      if (t.waitReason) return `${head} waiting: ${t.waitReason}`;
      return `${head} waiting for a worker` + (t.attempt > 0 ? ` (${t.attempt} of ${t.maxAttempts} attempts used)` : "");
    }
    const attempt = t.maxAttempts > 1 ? `  attempt ${t.attempt}/${t.maxAttempts}` : "";
    if (!t.progress) return t.status === "running" ? `${head} no progress reported yet${attempt}` : null;
    return `${head} ${progressLine(t, tty ? Math.max(10, Math.min(30, columns() - 80)) : 20)}${attempt}`;
  };
  for (;;) {
    const final = isFinalStatus(task.status);
    if (flags.json) {
      const line = JSON.stringify(task);
      if (line !== lastPlain) process.stdout.write(line + "\n");
      lastPlain = line;
    } else if (tty) {
      // Redraw in place; clip to the terminal width so the line never wraps.
      const text = render(task);
      process.stdout.write(`\r\x1b[2K${text === null ? "" : clip(text, columns() - 1)}`);
      drewLine = text !== null;
    } else if (!final) {
      // Plain lines: on a change of status or message at once, otherwise at most once a second.
      const text = render(task);
      const key = `${task.status}|${task.progress?.message ?? ""}|${task.attempt}`;
      const now = Date.now();
      if (text !== null && text !== lastPlain && (key !== lastPlainKey || now - lastPlainAt >= 1000)) {
        process.stdout.write(text + "\n");
        lastPlain = text;
        lastPlainAt = now;
        lastPlainKey = key;
      }
    }
    if (final) break;
    await sleep(flags.interval);
    const next = await lane.get(task.id);
    if (!next) throw new TaskNotFoundError(task.id);
    task = next;
  }
  if (drewLine) process.stdout.write("\n");
  if (!flags.json) process.stdout.write(ending(task, taskTiming(task, await lane.runs(task.id)), paint));
  return task;
}

function ending(task: TaskRow, timing: TaskTiming | null, paint: Paint): string {
  const took = timingSuffix(timing);
  switch (task.status) {
    case "succeeded":
      return `${paint("green", "succeeded")}${took}\nresult: ${JSON.stringify(task.result, null, 2)}\n`;
    case "failed": {
      const e = task.error;
      const failedAfter = timing && timing.runs > 1 ? took : ` after ${task.attempt} attempt(s)${took}`;
      return `${paint("red", "failed")}${failedAfter}\nerror: ${e ? `${e.name}: ${e.message}` : "unknown"}\n`;
    }
    case "cancelled":
      return `${paint("gray", "cancelled")}${took}\n`;
    case "expired":
      return `${paint("magenta", "expired")}: its deadline ${isoTime(task.deadline)} passed before it started\n`;
    default:
      return "";
  }
}

/** Cuts a string with colour codes to `width` visible characters. */
function clip(text: string, width: number): string {
  let visible = 0;
  let out = "";
  // eslint-disable-next-line no-control-regex
  const parts = text.split(/(\x1b\[[0-9;]*m)/);
  for (const part of parts) {
    if (part.startsWith("\x1b[")) {
      out += part;
      continue;
    }
    const room = width - visible;
    if (room <= 0) continue;
    out += part.slice(0, room);
    visible += Math.min(room, part.length);
  }
  return out + (out.includes("\x1b[") ? "\x1b[0m" : "");
}
