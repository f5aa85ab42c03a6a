import type { MissedTickPolicy } from "../model/options.js";
import type { ScheduleInfo, ScheduleTick, StoredMissedPolicy } from "../model/schedule.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import { CliError } from "./errors.js";
import { compactJson, isoTime, statusStyle, table, type Paint } from "./format.js";
import { zonedIso } from "./zoned-time.js";

/** `--missed skip` or `--missed catchUp:1h` (also `catch-up:1h`). */
export function parseMissedFlag(text: string | undefined): MissedTickPolicy | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  if (value === "skip") return "skip";
  const m = /^catch-?up:(.+)$/i.exec(value);
  if (m) {
    try {
      // Parsed here only to name the flag in the message; the library keeps the duration as given.
      parseDuration(m[1]!.trim(), "--missed");
    } catch (error) {
      throw new CliError(`--missed: ${(error as Error).message.replace(/^--missed: /, "")}`);
    }
    return { catchUp: m[1]!.trim() };
  }
  throw new CliError(`--missed: expected "skip" or "catchUp:<duration>" (for example catchUp:1h), got "${text}"`);
}

export function describeMissed(missed: StoredMissedPolicy): string {
  return missed.policy === "skip" ? "skip (fire once for the latest missed tick)" : `catch up within ${formatDuration(missed.windowMs)}`;
}

function lastTaskCell(s: ScheduleInfo, paint: Paint): string {
  if (!s.lastTaskId) return "-";
  return s.lastTaskStatus ? `${s.lastTaskId} ${paint(statusStyle(s.lastTaskStatus), s.lastTaskStatus)}` : `${s.lastTaskId} (deleted)`;
}

/** The `schedule ls` table; fire times in each schedule's own zone, with the offset. */
export function scheduleTable(schedules: ScheduleInfo[], paint: Paint): string {
  const rows = schedules.map((s) => [
    s.name,
    s.type,
    s.cron,
    s.tz,
    s.paused ? paint("yellow", "paused") : paint("green", "active"),
    s.nextFires.length ? s.nextFires.map((d) => zonedIso(d, s.tz)).join(", ") : "-",
    lastTaskCell(s, paint),
  ]);
  return table(["NAME", "TYPE", "CRON", "ZONE", "STATE", "NEXT FIRES (IN ZONE)", "LAST TASK"], rows, paint);
}

/** `schedule show`: every field, then the latest ticks. */
export function scheduleDetails(s: ScheduleInfo, ticks: ScheduleTick[], paint: Paint): string {
  const inZone = (d: Date | null) => (d ? `${zonedIso(d, s.tz)}  (${isoTime(d)})` : "-");
  const lines: Array<[string, string]> = [
    ["name", s.name],
    ["type", s.type],
    ["cron", s.cron],
    ["zone", s.tz],
    ["state", s.paused ? paint("yellow", "paused") : paint("green", "active")],
    ["missed", describeMissed(s.missed)],
    ["params", compactJson(s.params)],
    ["options", compactJson(s.options)],
    ["next fires", s.nextFires.length ? s.nextFires.map((d) => zonedIso(d, s.tz)).join("\n" + " ".repeat(12)) : "- (paused)"],
    ["last tick", inZone(s.lastTickAt)],
    ["last task", lastTaskCell(s, paint)],
    ["created", isoTime(s.createdAt)],
    ["updated", isoTime(s.updatedAt)],
  ];
  let out = lines.map(([l, v]) => `${paint("dim", l.padEnd(10))}  ${v}`).join("\n") + "\n";
  out += `\n${paint("bold", "recent ticks")}\n`;
  if (ticks.length === 0) return out + "  none yet\n";
  const rows = ticks.map((t) => [zonedIso(t.tickAt, s.tz), t.taskId ?? "-", isoTime(t.firedAt)]);
  return out + table(["TICK (IN ZONE)", "TASK", "FIRED AT (UTC)"], rows, paint).replace(/^/gm, "  ");
}
