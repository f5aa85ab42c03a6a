/** The schedules page's "cron in words": common shapes in English, anything else left to the expression. */
import { describe, expect, it } from "vitest";
import { describeCron } from "../../dashboard/src/lib/cron-words.js";

describe("describeCron", () => {
  it.each([
    ["* * * * *", "every minute"],
    ["*/5 * * * *", "every 5 minutes"],
    ["0/15 * * * *", "every 15 minutes"],
    ["7 * * * *", "hourly at :07"],
    ["30 */2 * * *", "every 2 hours at :30"],
    ["0 9 * * *", "daily at 09:00"],
    ["30 8 * * 1-5", "weekdays at 08:30"],
    ["0 10 * * 0,6", "weekends at 10:00"],
    ["0 6 * * 1", "every Monday at 06:00"],
    ["0 6 * * 7", "every Sunday at 06:00"],
    ["15 3 1 * *", "monthly on the 1st at 03:15"],
    ["0 0 22 * *", "monthly on the 22nd at 00:00"],
    ["0 0 11 * *", "monthly on the 11th at 00:00"],
    ["@hourly", "hourly at :00"],
    ["@daily", "daily at 00:00"],
    ["0 30 9 * * *", "daily at 09:30"],
    ["*/10 * * * * *", "every 10 seconds"],
  ])("%s → %s", (cron, words) => {
    expect(describeCron(cron)).toBe(words);
  });

  it.each(["0 9 * 1 *", "0 9 1-7 * 1", "5-10 * * * *", "0 9,17 * * *", "15 0 9 * * *", "0 0 L * *", "nonsense", ""])("%s → null (shown as written)", (cron) => {
    expect(describeCron(cron)).toBeNull();
  });
});
