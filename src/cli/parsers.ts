import { InvalidArgumentError } from "commander";
import { parseIsoDate } from "../model/iso-date.js";
import { formatBound, parseDuration } from "../model/duration.js";

/** Commander argument parsers; their messages end up as `tasklane: option '--x <n>' argument 'y' is invalid. <reason>`. */

export function intArg(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A duration (`500ms`, `10s`, `2m`, `1h`) or milliseconds; returns ms. */
export function durationArg(value: string): number {
  try {
    return parseDuration(value, "duration");
  } catch {
    throw new InvalidArgumentError(`expected a duration like 500ms, 10s, 2m, 1h or a number of milliseconds`);
  }
}

/** A duration within [min, max] ms; the message gives the range in the flag's own units. */
export function durationRangeArg(min: number, max: number) {
  return (value: string): number => {
    const ms = durationArg(value);
    if (ms < min || ms > max) throw new InvalidArgumentError(`expected a duration from ${formatBound(min)} to ${formatBound(max)}`);
    return ms;
  };
}

/** The calendar's reason for a well-formed date that does not exist, else what was expected. */
function calendarOr(expected: string, error: string): string {
  return /^is not an ISO/.test(error) ? expected : `the date ${error}`;
}

/** An ISO date-time (`2026-01-31T09:00:00Z`). */
export function isoArg(value: string): string {
  const date = parseIsoDate(value);
  if ("error" in date) throw new InvalidArgumentError(calendarOr(`expected an ISO date-time like 2026-01-31T09:00:00Z`, date.error));
  return value;
}

/** An ISO date-time or a duration from now (`10m`). */
export function instantArg(value: string): string {
  if (/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$/.test(value)) return value;
  const date = parseIsoDate(value);
  if ("ms" in date) return value;
  throw new InvalidArgumentError(calendarOr(`expected an ISO date-time or a duration from now like 10m`, date.error));
}

/** A comma-separated list, repeatable: `--status queued,running --status failed`. */
export function listArg(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...items];
}

export function nonEmptyArg(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty");
  return value;
}
