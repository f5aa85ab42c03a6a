/**
 * "Cron in words" for the schedules page: the common shapes read as English, anything else
 * returns null and the page shows only the expression (a wrong description is worse than none).
 * Fields: [seconds] minute hour day-of-month month day-of-week, as croner accepts them.
 */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const isNum = (s: string) => /^\d{1,2}$/.test(s);
const step = (s: string) => /^(?:\*|0)\/(\d{1,2})$/.exec(s)?.[1];
const pad = (n: string) => n.padStart(2, "0");

function ordinal(n: number): string {
  const rem100 = n % 100;
  if (rem100 >= 11 && rem100 <= 13) return `${n}th`;
  return `${n}${["th", "st", "nd", "rd"][n % 10] ?? "th"}`;
}

function dayName(s: string): string | null {
  const n = Number(s);
  if (!isNum(s) || n > 7) return null;
  return DAYS[n % 7]!;
}

export function describeCron(expression: string): string | null {
  let fields = (NICKNAMES[expression.trim().toLowerCase()] ?? expression).trim().split(/\s+/);
  if (fields.length === 6) {
    const [sec, ...rest] = fields as [string, ...string[]];
    const everySec = step(sec);
    if (everySec && rest.every((f) => f === "*")) return Number(everySec) === 1 ? "every second" : `every ${everySec} seconds`;
    if (sec === "*" && rest.every((f) => f === "*")) return "every second";
    if (sec !== "0") return null;
    fields = rest;
  }
  if (fields.length !== 5) return null;
  const [min, hour, dom, mon, dow] = fields as [string, string, string, string, string];
  if (mon !== "*") return null;
  const time = isNum(min) && isNum(hour) ? `${pad(hour)}:${pad(min)}` : null;

  if (dom === "*" && dow === "*") {
    if (min === "*" && hour === "*") return "every minute";
    const everyMin = step(min);
    if (everyMin && hour === "*") return Number(everyMin) === 1 ? "every minute" : `every ${everyMin} minutes`;
    if (isNum(min) && hour === "*") return `hourly at :${pad(min)}`;
    const everyHour = step(hour);
    if (isNum(min) && everyHour) return `every ${everyHour} hours at :${pad(min)}`;
    if (time) return `daily at ${time}`;
    return null;
  }
  if (!time) return null;
  if (dom === "*") {
    if (dow === "1-5" || dow === "MON-FRI" || dow === "mon-fri") return `weekdays at ${time}`;
    if (dow === "0,6" || dow === "6,0" || dow === "6,7" || dow === "SAT,SUN") return `weekends at ${time}`;
    const day = dayName(dow);
    if (day) return `every ${day} at ${time}`;
    return null;
  }
  if (dow === "*" && isNum(dom) && Number(dom) >= 1 && Number(dom) <= 31) return `monthly on the ${ordinal(Number(dom))} at ${time}`;
  return null;
}
