/**
 * A plain user sees only its own tasks, everywhere, and has no admin pages: the page follows
 * `GET /api/me`, and the API refuses the rest anyway.
 */
import { expect, logIn, test, useTasklaneServer } from "./fixtures.js";
import { addSteps, cli } from "./server.js";

const server = useTasklaneServer();

test("a plain user does not see another user's task and has no admin pages", async ({ page }) => {
  const s = server();
  const bobToken = (await cli(s, "user", "add", "bob")).trim();
  expect(bobToken).toMatch(/^tl_/);
  const adminTask = await addSteps(s, s.adminToken, { steps: 1, stepMs: 10 }, { name: "admin payroll export" });
  const bobTask = await addSteps(s, bobToken, { steps: 1, stepMs: 10 }, { name: "bob weekly report" });

  await logIn(page, `${s.url}/?token=${bobToken}`);
  await expect(page.getByTestId("user")).toHaveText("bob");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Tasks" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Nodes" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Schedules" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Queues" })).toHaveCount(0);
  await expect(page.getByText("Nodes online")).toHaveCount(0);
  // The overview counts bob's tasks only.
  await expect(page.getByTestId("count-succeeded")).toContainText("1");

  await nav.getByRole("link", { name: "Tasks" }).click();
  await expect(page.locator(`tr[data-task-id="${bobTask.id}"]`)).toBeVisible();
  await expect(page.locator(`tr[data-task-id="${adminTask.id}"]`)).toHaveCount(0);
  await expect(page.getByText("admin payroll export")).toHaveCount(0);
  // No owner filter for users.
  await expect(page.getByLabel("Owner")).toHaveCount(0);

  // Deep links to another user's task or to admin pages show nothing of them.
  await page.goto(`${s.url}/tasks/${adminTask.id}`);
  await expect(page.getByRole("heading", { name: "Task not found" })).toBeVisible();
  await expect(page.getByText("admin payroll export")).toHaveCount(0);
  await page.goto(`${s.url}/nodes`);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.goto(`${s.url}/schedules`);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.goto(`${s.url}/queues`);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();

  // A task added for bob while he watches appears live; one added by the admin for itself does not.
  await page.goto(`${s.url}/tasks`);
  await expect(page.locator(`tr[data-task-id="${bobTask.id}"]`)).toBeVisible();
  const secret = await addSteps(s, s.adminToken, { steps: 1, stepMs: 10 }, { name: "admin second secret" });
  const mine = await addSteps(s, s.adminToken, { steps: 1, stepMs: 10 }, { name: "for bob from admin", owner: "bob" });
  await expect(page.locator(`tr[data-task-id="${mine.id}"]`)).toBeVisible();
  await expect(page.locator(`tr[data-task-id="${secret.id}"]`)).toHaveCount(0);
});

test("the admin sees every owner's tasks and can filter by owner", async ({ page }) => {
  const s = server();
  await logIn(page, s.loginUrl);
  await page.goto(`${s.url}/tasks`);
  await expect(page.getByText("bob weekly report")).toBeVisible();
  await expect(page.getByText("admin payroll export")).toBeVisible();
  await page.getByLabel("Owner").fill("bob");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/owner=bob/);
  await expect(page.getByText("admin payroll export")).toHaveCount(0);
  await expect(page.getByText("bob weekly report")).toBeVisible();
});
