/**
 * The schedules page (admin): cron in words and as written, the zone, the next fire times, the
 * last result, pause / resume and trigger now, against schedules made through the HTTP API.
 */
import { expect, logIn, test, useTasklaneServer } from "./fixtures.js";
import { api } from "./server.js";

const server = useTasklaneServer();

test("schedules are listed with cron in words, next fires and last result, and are paused, resumed and triggered", async ({ page }) => {
  const s = server();
  await api(s, s.adminToken, "POST", "/api/schedules", {
    name: "nightly-report",
    cron: "30 2 * * *",
    tz: "Europe/Paris",
    type: "steps",
    params: { steps: 3, stepMs: 20 },
  });
  await api(s, s.adminToken, "POST", "/api/schedules", {
    name: "odd-hours",
    cron: "5 9,17 * * 1-5",
    tz: "UTC",
    type: "steps",
    params: { steps: 1, stepMs: 10 },
  });

  await logIn(page, s.loginUrl);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Schedules" }).click();
  const nightly = page.locator("tr[data-schedule='nightly-report']");
  await expect(nightly).toContainText("daily at 02:30");
  await expect(nightly).toContainText("30 2 * * *");
  await expect(nightly).toContainText("Europe/Paris");
  await expect(nightly.locator("time")).toHaveCount(3);
  await expect(nightly).toContainText("never");
  await expect(nightly.locator("time").first()).toContainText("02:30");
  // No words for a shape the describer does not know: the expression alone.
  const odd = page.locator("tr[data-schedule='odd-hours']");
  await expect(odd.locator("code")).toHaveText("5 9,17 * * 1-5");

  await nightly.getByRole("button", { name: "Pause" }).click();
  await expect(nightly.getByRole("button", { name: "Resume" })).toBeVisible();
  await expect(nightly.locator("time")).toHaveCount(0);
  expect((await api<{ schedules: Array<{ name: string; paused: boolean }> }>(s, s.adminToken, "GET", "/api/schedules")).schedules.find((x) => x.name === "nightly-report")?.paused).toBe(true);
  await nightly.getByRole("button", { name: "Resume" }).click();
  await expect(nightly.getByRole("button", { name: "Pause" })).toBeVisible();
  await expect(nightly.locator("time")).toHaveCount(3);

  // Trigger now adds a task at once and opens it.
  await nightly.getByRole("button", { name: "Trigger now" }).click();
  await expect(page.getByRole("heading", { name: "nightly-report" })).toBeVisible();
  await expect(page.locator(".detail-head").getByText("succeeded", { exact: true })).toBeVisible();
  await page.goBack();
  await expect(nightly.getByRole("link").filter({ hasText: "succeeded" })).toBeVisible();
});
