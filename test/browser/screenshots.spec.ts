/**
 * Screenshots of every page for the README and docs/dashboard.md, taken from a real server with
 * real tasks (two nodes, tasks running, finished, failed, waiting, cancelled). Each shot waits
 * for the content it is meant to show, so the pictures are never of a loading state.
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { expect, logIn, test } from "./fixtures.js";
import { addSteps, api, startServer, type AddedTask, type TasklaneServer } from "./server.js";

const SHOTS = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
let server: TasklaneServer;
let exportTask: AddedTask;

test.beforeAll(async () => {
  test.setTimeout(60_000);
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ prefix: "tasklane-browser-shots-" });
  await server.startWorker("worker-b");
  const s = server;
  const t = s.adminToken;
  // Oldest first: the list shows the newest on top, so the running ones are added last.
  for (const n of [1041, 1042, 1043, 1044, 1045, 1046]) await addSteps(s, t, { steps: 3, stepMs: 40 }, { name: `Send invoice #${n}` });
  await addSteps(s, t, { steps: 5, stepMs: 40, failAt: 2 }, { name: "Import supplier feed" });
  await addSteps(s, t, { steps: 5, stepMs: 40, failAt: 4 }, { name: "Charge card for order 7731" });
  await addSteps(s, t, { steps: 10, stepMs: 100 }, { name: "Nightly cleanup", delay: "2h" });
  await addSteps(s, t, { steps: 10, stepMs: 100 }, { name: "Rebuild search index", delay: "45m" });
  const cancelled = await addSteps(s, t, { steps: 10, stepMs: 100 }, { name: "Resize product images", delay: "1h" });
  await addSteps(s, t, { steps: 500, stepMs: 200 }, { name: "Sync inventory from warehouse" });
  exportTask = await addSteps(s, t, { steps: 600, stepMs: 120 }, { name: "Export orders 2026-10", key: "export-2026-10" });
  await api(s, t, "POST", `/api/tasks/${cancelled.id}/cancel`);
});
test.afterAll(async () => {
  await server?.stop();
});

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  // Ages and spinners change every second; the picture is taken once the content is settled.
  await page.evaluate("document.fonts.ready.then(() => true)");
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage, animations: "disabled" });
}

test("screenshots: overview, tasks, task detail, nodes, schedules", async ({ page }) => {
  await logIn(page, server.loginUrl);
  await expect(page.getByTestId("count-succeeded")).toContainText("6");
  await expect(page.getByTestId("count-failed")).toContainText("2");
  await expect(page.getByTestId("count-running")).toContainText("2");
  await expect(page.getByTestId("nodes-online")).toContainText("2 / 2");
  // The hour's figures are the server's window totals (Stats.window), not recomputed or read at the top level.
  await expect(page.getByTestId("finished-hour")).toHaveText("8");
  await expect(page.getByTestId("failure-rate")).toHaveText("25.0%");
  await shot(page, "overview");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
  await expect(page.locator("tr[data-task-id]")).toHaveCount(13);
  await expect(page.getByRole("navigation", { name: "Status" }).getByRole("link", { name: /^all/ })).toContainText("13");
  await expect(page.locator(`tr[data-task-id="${exportTask.id}"] [role=progressbar]`)).not.toHaveAttribute("aria-valuenow", "0");
  await shot(page, "tasks");

  await page.goto(`${server.url}/tasks/${exportTask.id}`);
  await expect.poll(() => page.getByTestId("log-line").count(), { timeout: 20_000 }).toBeGreaterThan(40);
  await expect(page.getByTestId("log-state")).toHaveText("● live");
  await shot(page, "task-detail", true);

  await page.goto(`${server.url}/nodes`);
  await expect(page.locator("tr[data-node]")).toHaveCount(2);
  await expect(page.locator("tr[data-node='worker-b']")).toContainText("online");
  await shot(page, "nodes");

  // Schedules last: a tick could add a task, which would change the pictures above.
  const t = server.adminToken;
  const schedule = (body: Record<string, unknown>) => api(server, t, "POST", "/api/schedules", { type: "steps", params: { steps: 3, stepMs: 30 }, ...body });
  await schedule({ name: "nightly-export", cron: "30 2 * * *", tz: "Europe/Paris", missed: { catchUp: "6h" } });
  await schedule({ name: "invoice-reminders", cron: "0 9 * * 1-5", tz: "America/New_York" });
  await schedule({ name: "cache-warmup", cron: "*/15 * * * *", tz: "UTC" });
  await schedule({ name: "monthly-billing", cron: "0 6 1 * *", tz: "Europe/London", paused: true });
  await schedule({ name: "quarter-close", cron: "0 18 L 3,6,9,12 *", tz: "Asia/Tokyo" });
  await api(server, t, "POST", "/api/schedules/nightly-export/trigger");
  await api(server, t, "POST", "/api/schedules/invoice-reminders/trigger");
  await page.goto(`${server.url}/schedules`);
  await expect(page.locator("tr[data-schedule]")).toHaveCount(5);
  await expect(page.locator("tr[data-schedule='nightly-export']").getByText("succeeded")).toBeVisible();
  await expect(page.locator("tr[data-schedule='invoice-reminders']").getByText("succeeded")).toBeVisible();
  await shot(page, "schedules");
});

test("screenshot: the tasks page on a phone, dark theme", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark", deviceScaleFactor: 1 });
  const page = await context.newPage();
  await logIn(page, server.loginUrl);
  await page.goto(`${server.url}/tasks/${exportTask.id}`);
  await expect(page.getByTestId("log-line").first()).toBeVisible();
  await expect(page.getByTestId("progress-card").getByRole("progressbar")).not.toHaveAttribute("aria-valuenow", "0");
  await shot(page, "task-detail-phone-dark");
  await context.close();
});

test("screenshot: the task list on a phone (390 px): cards with their status, filters folded", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "light", deviceScaleFactor: 1 });
  const page = await context.newPage();
  await logIn(page, server.loginUrl);
  await page.goto(`${server.url}/tasks`);
  const rows = page.locator("tr[data-task-id]");
  // Every task of the server (the 13 seeded, and any that the tests before this one added).
  const listed = (await api<{ tasks: unknown[] }>(server, server.adminToken, "GET", "/api/tasks?limit=100")).tasks.length;
  expect(listed).toBeGreaterThanOrEqual(13);
  await expect(rows).toHaveCount(listed);
  await expect(page.locator(`tr[data-task-id="${exportTask.id}"] [role=progressbar]`)).not.toHaveAttribute("aria-valuenow", "0");
  // The filters are folded behind one line; the first card starts in the top half of the screen.
  await expect(page.getByTestId("filters-fold")).toBeVisible();
  await expect(page.getByRole("search", { name: "Filter tasks" })).toBeHidden();
  expect((await rows.first().boundingBox())!.y).toBeLessThan(844 / 2);
  // Every card shows its status badge on screen, and nothing scrolls sideways.
  for (let i = 0; i < listed; i++) {
    const badge = (await rows.nth(i).locator(".badge").boundingBox())!;
    expect(badge.x).toBeGreaterThanOrEqual(0);
    expect(badge.x + badge.width).toBeLessThanOrEqual(390);
  }
  expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
  await shot(page, "tasks-phone");
  // Unfolded on demand; with a filter applied the fold says so.
  await page.getByTestId("filters-fold").locator("summary").click();
  await page.getByRole("searchbox").fill("invoice");
  await page.getByRole("button", { name: "Apply" }).click();
  const invoices = (await api<{ tasks: unknown[] }>(server, server.adminToken, "GET", "/api/tasks?limit=100&q=invoice")).tasks.length;
  expect(invoices).toBeGreaterThanOrEqual(6);
  await expect(rows).toHaveCount(invoices);
  await expect(page.getByTestId("filters-fold").locator("summary")).toHaveText("Filters (1 active)");
  await context.close();
});
