/**
 * ISO 8601 dates and date-times, checked against the calendar: `Date.parse("2024-02-30")` rolls
 * over to March 1, and a task due on a day that does not exist is a mistake to refuse.
 */

const ISO = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Epoch ms of an ISO 8601 date (`2026-01-31`, UTC midnight) or date-time (`2026-01-31T09:00:00Z`,
 * with an offset, or local time without one), or a reason it is not one.
 */
export function parseIsoDate(text: string): { ms: number } | { error: string } {
  const m = ISO.exec(text.trim());
  if (!m) return { error: "is not an ISO 8601 date or date-time (like 2026-01-31 or 2026-01-31T09:00:00Z)" };
  const [, y, mo, d, h, mi, s, , zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) return { error: `has no month ${mo} (months are 01 to 12)` };
  const days = daysIn(year, month);
  if (day < 1 || day > days) return { error: `is not a day of the calendar: ${MONTHS[month - 1]} ${year} has ${days} days` };
  if (h !== undefined && Number(h) > 23) return { error: `has no hour ${h} (hours are 00 to 23)` };
  if (mi !== undefined && Number(mi) > 59) return { error: `has no minute ${mi} (minutes are 00 to 59)` };
  if (s !== undefined && Number(s) > 59) return { error: `has no second ${s} (seconds are 00 to 59)` };
  if (zone && !/^z$/i.test(zone)) {
    const [hh, mm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
    if (hh > 23 || mm > 59) return { error: `has no time zone offset ${zone}` };
  }
  // Valid parts: what remains is the engine's ISO parser, which agrees with them.
  const normalised = text.trim().replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  const ms = Date.parse(normalised);
  if (Number.isNaN(ms)) return { error: "is not an ISO 8601 date or date-time (like 2026-01-31 or 2026-01-31T09:00:00Z)" };
  return { ms };
}
