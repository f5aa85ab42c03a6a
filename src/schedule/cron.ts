import { Cron } from "croner";
import { ValidationError } from "../model/errors.js";
import type { StoredMissedPolicy } from "../model/schedule.js";

/** Most ticks one schedule fires at once when catching up. */
export const MAX_CATCH_UP_TICKS = 1000;
/** Bound on the instants examined when enumerating a catch-up window (a per-second cron over a day is 86,400). */
const MAX_ENUMERATED = 200_000;

/** Checks an IANA zone name; throws `ValidationError` naming it. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new ValidationError("tz", `tz: "${tz}" is not an IANA time zone (for example "UTC" or "Europe/Berlin")`);
  }
}

/**
 * Parses a cron expression of 5 fields (minute precision) or 6 (seconds first) read in `tz`.
 * Only used to compute ticks: croner follows Vixie cron across daylight-saving changes (a
 * fixed time in a skipped hour runs at the first valid time after the gap; a fixed time that
 * occurs twice runs once, at the first occurrence).
 */
export function parseCron(cron: string, tz: string): Cron {
  if (typeof cron !== "string" || cron.trim() === "") throw new ValidationError("cron", "cron: expected an expression such as \"*/5 * * * *\"");
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ValidationError("cron", `cron: "${cron}" has ${fields} field(s); use 5 (minute hour day month weekday) or 6 (with seconds first)`);
  }
  checkTimeZone(tz);
  try {
    const job = new Cron(cron, { timezone: tz, paused: true, mode: "5-or-6-parts" });
    if (job.nextRun(new Date()) === null) throw new ValidationError("cron", `cron: "${cron}" never fires`);
    return job;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError("cron", `cron: "${cron}" is invalid: ${(error as Error).message.replace(/^CronPattern: /, "")}`);
  }
}

/** The next `count` fire times strictly after `after`. */
export function nextFires(job: Cron, after: number, count: number): Date[] {
  return job.nextRuns(count, new Date(after));
}

/**
 * The ticks a schedule should fire now: those after `after` (its anchor or last fired tick) and
 * at or before `now`, by its missed-tick policy. `skip` fires only the latest; `catchUp` every
 * tick within the window, oldest first, at most `MAX_CATCH_UP_TICKS` (the latest ones).
 */
export function dueTicks(job: Cron, after: number, now: number, missed: StoredMissedPolicy): number[] {
  if (now <= after) return [];
  const first = job.nextRun(new Date(after));
  if (!first || first.getTime() > now) return [];
  if (missed.policy === "skip") {
    const [latest] = job.previousRuns(1, new Date(now + 1));
    const t = latest ? latest.getTime() : first.getTime();
    return t > after && t <= now ? [t] : [first.getTime()];
  }
  const from = Math.max(after, now - missed.windowMs);
  const ticks: number[] = [];
  let cursor = new Date(from);
  for (let examined = 0; examined < MAX_ENUMERATED; examined++) {
    const next = job.nextRun(cursor);
    if (!next || next.getTime() > now) break;
    ticks.push(next.getTime());
    if (ticks.length > MAX_CATCH_UP_TICKS) ticks.shift();
    cursor = next;
  }
  return ticks;
}
