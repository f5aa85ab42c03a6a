import { ValidationError } from "./errors.js";

/** A duration: milliseconds as a number, or a string such as `"500ms"`, `"10s"`, `"2m"`, `"1h"`, `"7d"`. */
export type Duration = number | string;

/** Longest duration accepted: anything longer is a mistake, and would overflow dates. */
const MAX_DURATION_MS = 100 * 365.25 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/;

/** Parses a {@link Duration} to whole milliseconds; `field` names the option in the error. */
export function parseDuration(value: Duration, field: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new ValidationError(field, `${field}: must be a non-negative number of milliseconds, got ${value}`);
    if (value > MAX_DURATION_MS) throw new ValidationError(field, `${field}: ${value} ms is longer than 100 years`);
    return Math.round(value);
  }
  if (typeof value !== "string") throw new ValidationError(field, `${field}: must be a duration like "10s" or a number of milliseconds`);
  const match = PATTERN.exec(value);
  if (!match) throw new ValidationError(field, `${field}: "${value}" is not a duration (use e.g. "500ms", "10s", "2m", "1h", "7d")`);
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!);
  if (ms > MAX_DURATION_MS) throw new ValidationError(field, `${field}: "${value}" is longer than 100 years`);
  return ms;
}

/** Formats milliseconds for people: `1.5s`, `2m 03s`, `3h 04m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Formats a bound for an error message in its largest whole unit: `1s`, `24h`, `10ms`, `0`. */
export function formatBound(ms: number): string {
  if (ms === 0) return "0";
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}
