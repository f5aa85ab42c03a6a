/**
 * The queues page (admin): one row per task type with its counts, running against its limit and
 * throughput; pausing a type keeps its tasks waiting (the task says why) until it is resumed.
 * Also takes docs/screenshots/queues.png.
 */
import { fileURLToPath } from "node:url";
import { expect, logIn, test } from "./fixtures.js";
import { api, startServer, type AddedTask, type TasklaneServer } from "./server.js";

const SHOT = fileURLToPath(new URL("../../docs/screenshots/queues.png", import.meta.url));
const QUEUE_TASKS = fileURLToPath(new URL("./queue-tasks", import.meta.url));

let server: TasklaneServer;
test.beforeAll(async () => {
  server = await startServer({ prefix: "tasklane-browser-queues-", tasksDir: QUEUE_TASKS });
});
test.afterAll(async () => {
  await server?.stop();
});

const add = (type: string, params: Record<string, unknown> = {}, options: Record<string, unknown> = {}) =>
  api<AddedTask>(server, server.adminToken, "POST", "/api/tasks", { type, params, ...options });
const task = (id: string) => api<{ status: string; waitReason?: string | null }>(server, server.adminToken, "GET", `/api/tasks/${id}`);

test("the queues page pauses and resumes a type: its tasks wait, saying why, then run", async ({ page }) => {
  for (let i = 0; i < 3; i++) await add("send-email");
  await add("send-email", { fail: true });
  await logIn(page, server.loginUrl);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Queues" }).click();
  await expect(page.getByRole("heading", { name: "Queues" })).toBeVisible();
  const email = page.locator("tr[data-type='send-email']");
  await expect(email.locator("[data-count='succeeded']")).toHaveText("3");
  await expect(email.locator("[data-count='failed']")).toHaveText("1");
  await expect(email.locator("[data-throughput='hour']")).toContainText("3");
  // The node's concurrency bounds resize-image by its own limit of 2.
  await expect(page.locator("tr[data-type='resize-image'] [data-running]")).toContainText("0 of 2");

  // A failed count opens the failed list, which shows each task's error.
  await email.locator("[data-count='failed']").getByRole("link").click();
  await expect(page.locator("tr[data-task-id]")).toHaveCount(1);
  await expect(page.locator("tr[data-task-id] [data-error]")).toContainText("Error send-email failed: the upstream API answered 503");
  await page.goBack();

  const report = page.locator("tr[data-type='export-report']");
  page.once("dialog", (dialog) => void dialog.accept());
  await report.getByRole("button", { name: "Pause export-report" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Paused export-report" })).toBeVisible();
  await expect(report.locator("[data-paused]")).toHaveText("paused");
  const waiting = await add("export-report");
  const passing = await add("send-email");
  await expect.poll(async () => (await task(passing.id)).status).toBe("succeeded");
  expect(await task(waiting.id)).toMatchObject({ status: "queued", waitReason: 'type "export-report" is paused' });
  await expect(report.locator("[data-count='queued']")).toHaveText("1");
  // The task's own page says why it waits.
  await report.locator("[data-count='queued']").getByRole("link").click();
  await expect(page.locator("tr[data-task-id]")).toHaveCount(1);
  await expect(page.locator(`tr[data-task-id='${waiting.id}']`)).toContainText('type "export-report" is paused');
  await page.goBack();

  await report.getByRole("button", { name: "Resume export-report" }).click();
  await expect(report.locator("[data-paused]")).toHaveCount(0);
  await expect.poll(async () => (await task(waiting.id)).status).toBe("succeeded");
  await expect(report.locator("[data-count='succeeded']")).toHaveText("1");
  await expect(report.locator("[data-count='queued']")).toHaveText("0");
});

test("screenshot: the queues page", async ({ page }) => {
  // A busy afternoon: emails flowing, thumbnails running at their limit, a paused export backlog.
  for (let i = 0; i < 12; i++) await add("send-email", { fail: i % 6 === 5 });
  for (let i = 0; i < 5; i++) await add("sync-inventory", { ms: 30 });
  await api(server, server.adminToken, "POST", "/api/types/export-report/pause");
  for (let i = 0; i < 7; i++) await add("export-report");
  for (let i = 0; i < 6; i++) await add("resize-image", { ms: 60_000 });
  await add("sync-inventory", {}, { delay: "1h" });
  await logIn(page, server.loginUrl);
  await page.goto(`${server.url}/queues`);
  await expect(page.locator("tr[data-type='resize-image'] [data-running]")).toContainText("2 of 2");
  await expect(page.locator("tr[data-type='export-report'] [data-count='queued']")).toHaveText("7");
  await expect(page.locator("tr[data-type='send-email'] [data-count='succeeded']")).toHaveText(/1[0-9]/);
  await expect(page.locator("tr[data-type='sync-inventory'] [data-count='scheduled']")).toHaveText("1");
  await page.evaluate("document.fonts.ready.then(() => true)");
  await page.screenshot({ path: SHOT, animations: "disabled" });
});
