/** Display helpers: durations, ages, numbers and dates, all in the browser's locale. */

const nf = new Intl.NumberFormat();
const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatNumber(n: number): string {
  return nf.format(n);
}

export function formatRate(perSec: number | null): string {
  if (perSec === null || !Number.isFinite(perSec)) return "–";
  return `${perSec >= 100 ? nf.format(Math.round(perSec)) : nf1.format(perSec)}/s`;
}

/** 850ms, 4.2s, 3m 05s, 2h 10m, 3d 4h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${nf1.format(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "12s ago", "in 3m 00s". */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  const delta = now - Date.parse(iso);
  return delta >= 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const tf = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function formatTime(iso: string | null | undefined): string {
  return iso ? dtf.format(new Date(iso)) : "–";
}

export function formatClock(iso: string): string {
  return tf.format(new Date(iso));
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${nf1.format(n)} ${units[i]}`;
}

/** JSON for reading: indented, `undefined` shown as nothing. */
export function prettyJson(value: unknown): string {
  if (value === undefined) return "";
  return JSON.stringify(value, null, 2);
}

/** The name a task is shown by: its name, else its key, else its type. */
export function taskLabel(t: { name: string | null; key: string | null; type: string }): string {
  return t.name ?? t.key ?? t.type;
}
