import { formatDuration } from "../model/duration.js";
import type { TaskStatus } from "../model/status.js";
import type { TaskProgress, TaskRow } from "../model/task-row.js";

/** Colour only on a TTY, never with NO_COLOR; FORCE_COLOR=1 forces it (for demos). */
export function useColor(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1, dim: 2 } as const;
export type Style = keyof typeof CODES;

export interface Paint {
  (style: Style | null, text: string): string;
  enabled: boolean;
}

export function painter(enabled: boolean): Paint {
  const paint = ((style: Style | null, text: string) =>
    enabled && style ? `\x1b[${CODES[style]}m${text}\x1b[0m` : text) as Paint;
  paint.enabled = enabled;
  return paint;
}

const STATUS_STYLE: Record<TaskStatus, Style> = {
  scheduled: "blue",
  queued: "cyan",
  running: "yellow",
  succeeded: "green",
  failed: "red",
  cancelled: "gray",
  expired: "magenta",
};

export function statusStyle(status: TaskStatus): Style {
  return STATUS_STYLE[status];
}

/** Visible length of a string with ANSI colour codes. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** A plain text table: header, then rows, columns padded to their widest cell. */
export function table(header: string[], rows: string[][], paint: Paint): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visibleLength(c))))
      .join("  ")
      .trimEnd();
  return [paint("bold", line(header)), ...rows.map(line)].join("\n") + "\n";
}

/** `1,234` */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/** Compact age: `12s`, `5m`, `3h`, `2d`. */
export function formatAge(from: Date, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - from.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function percentOf(progress: TaskProgress | null): number | null {
  if (!progress || progress.total === null || progress.total <= 0) return null;
  return Math.max(0, Math.min(100, (progress.current / progress.total) * 100));
}

/** `45%` or `-` for the progress column of a table. */
export function percentCell(task: TaskRow): string {
  if (task.status === "succeeded") return "100%";
  const pct = percentOf(task.progress);
  return pct === null ? (task.progress ? formatCount(task.progress.current) : "-") : `${Math.floor(pct)}%`;
}

/** `[#########...........]` of `width` cells. */
export function bar(pct: number | null, width: number): string {
  if (pct === null) return `[${"·".repeat(width)}]`;
  const filled = Math.round((pct / 100) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** ETA still left now, from the ETA the worker stored at `updatedAt`. */
export function etaNow(progress: TaskProgress, now: number = Date.now()): number | null {
  if (progress.etaMs === null) return null;
  return Math.max(0, progress.etaMs - Math.max(0, now - progress.updatedAt.getTime()));
}

/**
 * One progress line: `[####......]  45.0%  22,500/50,000  writing rows  12,000/s  ETA 2.3s`.
 * The bar only when a total is known.
 */
export function progressLine(task: TaskRow, barWidth = 24, now: number = Date.now()): string {
  const p = task.progress;
  if (!p) return task.status === "running" ? "started, no progress reported yet" : "no progress reported";
  const pct = task.status === "succeeded" && p.total !== null ? 100 : percentOf(p);
  const parts: string[] = [];
  if (pct !== null) parts.push(`${bar(pct, barWidth)} ${pct.toFixed(1).padStart(5)}%`);
  parts.push(p.total !== null ? `${formatCount(p.current)}/${formatCount(p.total)}` : formatCount(p.current));
  if (p.message) parts.push(p.message);
  if (task.status === "running") {
    if (p.ratePerSec !== null) parts.push(`${formatCount(p.ratePerSec >= 10 ? Math.round(p.ratePerSec) : Math.round(p.ratePerSec * 10) / 10)}/s`);
    const eta = etaNow(p, now);
    if (eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
  }
  return parts.join("  ");
}

/** Local-free ISO time for log lines and details. */
export function isoTime(date: Date | null): string {
  return date ? date.toISOString() : "-";
}

/** JSON for one line of output, tolerant of BigInt and cycles. */
export function compactJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Writes JSON for scripts: pretty when stdout is a TTY, one line otherwise. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, process.stdout.isTTY ? 2 : undefined) + "\n");
}
