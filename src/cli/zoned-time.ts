/**
 * Instants shown in a schedule's own time zone. A schedule is read in its zone, so its fire
 * times are shown there too, with the UTC offset in force at that instant: across a
 * daylight-saving change the offset itself tells the reader which side of it a tick falls on
 * (Europe/Berlin shows `+01:00` in winter, `+02:00` in summer).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      timeZoneName: "longOffset",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** `2026-03-29T03:00:00+02:00`: ISO 8601 wall time of `date` in `tz`, with that zone's offset at that instant. */
export function zonedIso(date: Date, tz: string): string {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = formatter(tz).formatToParts(date);
  } catch {
    // A zone this Node.js does not know (stored by a newer one): UTC is still correct.
    return date.toISOString().replace(/\.\d{3}Z$/, "+00:00");
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  // `longOffset` is "GMT+02:00", or plain "GMT" for a zero offset.
  const offset = part("timeZoneName").replace(/^GMT/, "") || "+00:00";
  return `${part("year")}-${part("month")}-${part("day")}T${part("hour")}:${part("minute")}:${part("second")}${offset}`;
}
